//! Fact gathering: Ansible's `setup` facts for a Linux host, in one round trip.
//!
//! One POSIX `sh` script (coreutils plus `grep`/`awk`, present on every Debian-family host)
//! prints the raw material in marked sections: `uname`, `id`, `/etc/os-release`,
//! `/etc/debian_version`, `lsb_release`, `date`, `/proc/cpuinfo`, `/proc/meminfo`, PID 1,
//! container and hypervisor evidence, `/etc/resolv.conf` and the environment. Everything is
//! parsed and decided on the controller, following the rules of Ansible's fact collectors
//! (distribution, service manager, virtualization), so the values match what `ansible -m
//! setup` reports on the same host. The script contains no user value, so it needs no quoting.

use serde_json::{Map, Value as Json, json};

use crate::connection::{Become, Connection, ConnectionError, ExecRequest};
use crate::vars::VarMap;

/// Marks the start of a section in the probe's output.
const MARK: &str = "@@jig-facts:";

/// The facts probe's lines that Ansible's `service_mgr` and `systemd` collectors read (the
/// `service` module runs them too, as Ansible's `service` action dispatches on the fact):
/// `systemctl` found where `get_bin_path` looks (PATH and the sbin directories), systemd's
/// canaries, `systemctl --version` where systemd runs, PID 1's name, `/sbin/init`'s link.
macro_rules! service_mgr_lines {
    () => {
        r#"echo '@@jig-facts:systemctl'; jig_sc=$(jig_p="$PATH:/sbin:/usr/sbin:/usr/local/sbin"; IFS=:; for d in $jig_p; do [ -f "$d/systemctl" ] && [ -x "$d/systemctl" ] && printf '%s\n' "$d/systemctl" && break; done); [ -n "$jig_sc" ] && echo yes
echo '@@jig-facts:systemd'; [ -n "$jig_sc" ] && for d in /run/systemd/system/ /dev/.run/systemd/ /dev/.systemd/; do [ -e "$d" ] && echo yes && break; done
echo '@@jig-facts:systemd_version'; [ -n "$jig_sc" ] && for d in /run/systemd/system/ /dev/.run/systemd/ /dev/.systemd/; do [ -e "$d" ] && { "$jig_sc" --version; break; }; done
echo '@@jig-facts:pid1'; c=$(cat /proc/1/comm) && case $c in *[![:space:]]*) printf '%s\n' "$c" ;; *) false ;; esac || ps -p 1 -o comm | tail -n 1
echo '@@jig-facts:sbin_init'; readlink /sbin/init
"#
    };
}

/// The probe: prints every section, each starting with a `MARK` line. Errors are silenced so a
/// missing file is an empty section; the environment comes last because it is NUL-separated.
const PROBE: &str = concat!(
    r#"exec 2>/dev/null
echo '@@jig-facts:uname'; uname -n; uname -s; uname -r; uname -v; uname -m
echo '@@jig-facts:user'; id -un; id -u; id -g; id -gn; echo "$HOME"; id -u -r; id -g -r
echo '@@jig-facts:passwd'; getent passwd "$(id -un)"
echo '@@jig-facts:fqdn'; a=$(getent hosts "$(uname -n)" | awk '{print $1; exit}'); [ -n "$a" ] && getent hosts "$a" | head -n 1
echo '@@jig-facts:os-release'; cat /etc/os-release || cat /usr/lib/os-release
echo '@@jig-facts:debian_version'; cat /etc/debian_version
echo '@@jig-facts:lsb_release'; command -v lsb_release >/dev/null && lsb_release -a
echo '@@jig-facts:lsb-release'; cat /etc/lsb-release
echo '@@jig-facts:date'; date '+%s %N %Y %m %A %w %W %d %H %M %S %Z %z'; date -d 2000-01-01 '+%Z %z'; date -d 2000-07-01 '+%Z %z'
echo '@@jig-facts:cpuinfo'; grep -E '^(processor|physical id|cpu cores|siblings|vendor_id|model name|machine|cpu)[[:space:]]*:' /proc/cpuinfo
echo '@@jig-facts:nproc'; nproc
echo '@@jig-facts:meminfo'; grep -E '^(MemTotal|MemFree|Buffers|Cached|SwapTotal|SwapFree|SwapCached):' /proc/meminfo
"#,
    service_mgr_lines!(),
    r#"echo '@@jig-facts:paths'; for p in /etc/init /sbin/openrc /etc/init.d /etc/dinit.d /.dockerenv /.dockerinit /run/.containerenv /proc/vz /proc/lve /proc/bc /proc/xen /dev/kvm /sys/fs/selinux/enforce /sys/kernel/security/apparmor; do [ -e "$p" ] && echo "$p"; done
echo '@@jig-facts:bins'; for b in initctl apt-get dnf5 dnf yum zypper apk pacman emerge pkg xbps-install; do command -v "$b" >/dev/null && echo "$b"; done
echo '@@jig-facts:cgroup'; cat /proc/1/cgroup
echo '@@jig-facts:pid1env'; tr '\000' '\n' < /proc/1/environ | grep '^container='
echo '@@jig-facts:systemd_container'; cat /run/systemd/container
echo '@@jig-facts:xencap'; cat /proc/xen/capabilities
echo '@@jig-facts:dmi'; (cd /sys/devices/virtual/dmi/id && grep -s -H '' product_name sys_vendor product_family bios_vendor product_version product_serial product_uuid bios_version bios_date board_asset_tag board_name board_serial board_vendor board_version chassis_asset_tag chassis_serial chassis_vendor chassis_version chassis_type) | sed 's/:/=/'
echo '@@jig-facts:modules'; cut -d' ' -f1 /proc/modules | grep -E '^(kvm|vboxdrv|virtio)$'
echo '@@jig-facts:selinux'; printf 'enforce=%s\n' "$(cat /sys/fs/selinux/enforce)"; printf 'policyvers=%s\n' "$(cat /sys/fs/selinux/policyvers)"; grep -E '^SELINUX(TYPE)?=' /etc/selinux/config
echo '@@jig-facts:libselinux'; r=no; for p in /lib/*/libselinux.so.1 /usr/lib/*/libselinux.so.1 /lib64/libselinux.so.1 /usr/lib64/libselinux.so.1 /lib/libselinux.so.1 /usr/lib/libselinux.so.1; do [ -e "$p" ] && r=yes && break; done; echo "$r"
echo '@@jig-facts:capsh'; command -v capsh >/dev/null && echo found && capsh --print
echo '@@jig-facts:fips'; cat /proc/sys/crypto/fips_enabled
echo '@@jig-facts:resolv'; cat /etc/resolv.conf
echo '@@jig-facts:misc'; printf 'uptime=%s\n' "$(cut -d' ' -f1 /proc/uptime)"; printf 'loadavg=%s\n' "$(cat /proc/loadavg)"; printf 'machine_id=%s\n' "$(cat /etc/machine-id)"; printf 'bits=%s\n' "$(getconf LONG_BIT)"
echo '@@jig-facts:net_dirs'; ls -U /sys/class/net
echo '@@jig-facts:net_sys'; for d in /sys/class/net/*; do n=${d##*/}; p=-; [ -e "$d/device" ] && p=$(readlink "$d/device") && p=${p##*/}; m=-; [ -e "$d/device/driver/module" ] && m=$(readlink -f "$d/device/driver/module") && m=${m##*/}; v=$(cat "$d/speed") || v=-; printf '%s %s %s %s\n' "$n" "$p" "${v:--}" "$m"; done
echo '@@jig-facts:cmdline'; cat /proc/cmdline
echo '@@jig-facts:ssh_keys'; for t in dsa rsa ecdsa ed25519; do for d in /etc/ssh /etc/openssh /etc; do [ -f "$d/ssh_host_${t}_key.pub" ] && printf '%s %s\n' "$t" "$(cat "$d/ssh_host_${t}_key.pub")" && break; done; done
echo '@@jig-facts:chroot'; printf 'debian_chroot=%s\n' "${debian_chroot:-}"; printf 'root=%s\n' "$(stat -c '%d %i' /)"; printf 'proc1=%s\n' "$(stat -c '%d %i' /proc/1/root/.)"; printf 'fstype=%s\n' "$(stat -f -c %T /)"
echo '@@jig-facts:ip_link'; ip -o link show
echo '@@jig-facts:ip_addr'; ip -o addr show
echo '@@jig-facts:local_routes'; command -v ip >/dev/null && echo found && ip -4 route show table local && ip -6 route show table local
echo '@@jig-facts:route4'; ip -4 route get 8.8.8.8
echo '@@jig-facts:route6'; ip -6 route get 2001:4860:4860::8888
echo '@@jig-facts:mounts'; while read -r dev mnt fs opts dump pass; do case "$dev" in /*|\\*|*:/*) ;; *) continue;; esac; [ "$fs" = none ] && continue; printf '%s %s %s %s %s %s|%s\n' "$dev" "$mnt" "$fs" "$opts" "$dump" "$pass" "$(timeout 5 stat -f -c '%S %s %b %a %c %d' "$(printf '%b' "$mnt")")"; done < /proc/mounts
echo '@@jig-facts:findmnt'; findmnt --list --noheadings --notruncate
echo '@@jig-facts:uuids'; for l in /dev/disk/by-uuid/*; do [ -e "$l" ] && echo "$(readlink -f "$l") ${l##*/}"; done
echo '@@jig-facts:python'; p=$(command -v python3 || command -v python) && echo "$p" && "$p" --version 2>&1
"#
);

/// The last section: the environment, NUL-separated, so nothing may follow it.
const ENV_SECTION: &str = "echo '@@jig-facts:env'; env -0 || cat /proc/$$/environ\n";

/// Gathers the host's facts as the connection's user.
pub async fn gather(conn: &Connection) -> Result<VarMap, ConnectionError> {
    gather_as(conn, None).await
}

/// Gathers the host's facts, under privilege escalation when `become_` is set (as `setup`
/// runs with the play's `become`).
pub async fn gather_as(
    conn: &Connection,
    become_: Option<Become>,
) -> Result<VarMap, ConnectionError> {
    gather_with(conn, become_, &GatherOptions::default()).await
}

/// Gathers the facts `options` selects (setup's `gather_subset` and `fact_path`), under
/// privilege escalation when `become_` is set.
pub async fn gather_with(
    conn: &Connection,
    become_: Option<Become>,
    options: &GatherOptions,
) -> Result<VarMap, ConnectionError> {
    let out = conn
        .exec(&ExecRequest::new(probe_script(&options.fact_path)).with_become(become_.clone()))
        .await?;
    let mut facts = from_probe_output_with(&out.stdout_str(), options);
    if conn.is_image() {
        let image = conn
            .exec(&ExecRequest::new(IMAGE_PROBE).with_become(become_))
            .await?;
        image_view(&mut facts, &image.stdout_str());
    }
    Ok(facts)
}

/// What an image (the `chroot` connection) says about itself where the probe, run in a chroot,
/// would describe the controller: its `/etc/hostname`, and its init system from its files.
const IMAGE_PROBE: &str = "exec 2>/dev/null; head -n 1 /etc/hostname; echo; \
    if [ -x /lib/systemd/systemd ] || [ -x /usr/lib/systemd/systemd ]; then echo systemd; \
    elif [ -d /etc/init.d ]; then echo sysvinit; else echo service; fi\n";

/// Replaces the facts a chroot would take from the controller with the image's own:
/// hostname/nodename/fqdn/domain from `/etc/hostname` (`localhost` when it has none),
/// `service_mgr` from the image's init (no PID 1 of its own runs), no network interfaces or
/// addresses, no mounts, no kernel command line, `is_chroot` true and no virtualization.
/// Still the controller's (documented): kernel, kernel_version, architecture, processor and
/// memory facts, uptime, date_time.
fn image_view(vars: &mut VarMap, probe: &str) {
    let mut lines = probe.lines();
    let hostname = lines.next().unwrap_or("").trim();
    let hostname = if hostname.is_empty() {
        "localhost"
    } else {
        hostname
    };
    let service_mgr = lines
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("service")
        .to_string();
    let short = hostname.split('.').next().unwrap_or(hostname).to_string();
    let domain = hostname.split('.').skip(1).collect::<Vec<_>>().join(".");
    let Some(Json::Object(f)) = vars.get_mut("ansible_facts") else {
        return;
    };
    let interfaces: Vec<String> = f
        .get("interfaces")
        .and_then(Json::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let mut set = |k: &str, v: Json| {
        if f.contains_key(k) {
            f.insert(k.to_string(), v);
        }
    };
    set("hostname", json!(short));
    set("nodename", json!(hostname));
    set("fqdn", json!(hostname));
    set("domain", json!(domain));
    set("service_mgr", json!(service_mgr));
    set("interfaces", json!([]));
    set("all_ipv4_addresses", json!([]));
    set("all_ipv6_addresses", json!([]));
    set("default_ipv4", json!({}));
    set("default_ipv6", json!({}));
    set("mounts", json!([]));
    set("is_chroot", json!(true));
    set("virtualization_type", json!("NA"));
    set("virtualization_role", json!("NA"));
    set("virtualization_tech_guest", json!([]));
    set("virtualization_tech_host", json!([]));
    for k in ["cmdline", "proc_cmdline"] {
        f.shift_remove(k);
    }
    for i in &interfaces {
        f.shift_remove(&i.replace(['-', ':', '.'], "_"));
    }
    let f = f.clone();
    vars.retain(|k, _| {
        k == "ansible_facts"
            || k == "module_setup"
            || k == "gather_subset"
            || k.strip_prefix("ansible_")
                .is_some_and(|n| f.contains_key(n))
    });
    for (k, v) in f {
        vars.insert(format!("ansible_{k}"), v);
    }
}

/// What to gather: setup's `gather_subset` and `fact_path` options.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GatherOptions {
    /// The collectors to report.
    pub subset: Subset,
    /// The directory of `*.fact` files for `ansible_local` (`/etc/ansible/facts.d`).
    pub fact_path: String,
}

impl Default for GatherOptions {
    fn default() -> Self {
        GatherOptions {
            subset: Subset::all(),
            fact_path: DEFAULT_FACT_PATH.to_string(),
        }
    }
}

impl GatherOptions {
    /// The options of a `setup` task or a play's `gather_subset` (already templated): the
    /// subset as a list or a comma-separated string, `fact_path` as a string; `None` for
    /// defaults. The error names the bad subset and the allowed ones.
    pub fn from_args(
        gather_subset: Option<&Json>,
        fact_path: Option<&Json>,
    ) -> Result<Self, String> {
        let items: Vec<String> = match gather_subset {
            None | Some(Json::Null) => Vec::new(),
            Some(Json::Array(a)) => a
                .iter()
                .map(|v| match v {
                    Json::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect(),
            Some(Json::String(s)) => s.split(',').map(|x| x.trim().to_string()).collect(),
            Some(other) => {
                return Err(format!(
                    "gather_subset must be a list or a comma-separated string, not {other}"
                ));
            }
        };
        let items: Vec<String> = items.into_iter().filter(|s| !s.is_empty()).collect();
        let fact_path = match fact_path {
            None | Some(Json::Null) => DEFAULT_FACT_PATH.to_string(),
            Some(Json::String(s)) => s.clone(),
            Some(other) => return Err(format!("fact_path must be a path, not {other}")),
        };
        Ok(GatherOptions {
            subset: Subset::parse(&items)?,
            fact_path,
        })
    }
}

/// setup's default `fact_path`.
pub const DEFAULT_FACT_PATH: &str = "/etc/ansible/facts.d";

/// Ansible's fact collectors that report something on Linux hosts jig gathers.
const COLLECTORS: &[&str] = &[
    "apparmor",
    "caps",
    "chroot",
    "cmdline",
    "date_time",
    "distribution",
    "dns",
    "env",
    "facter",
    "fips",
    "hardware",
    "local",
    "lsb",
    "network",
    "ohai",
    "pkg_mgr",
    "platform",
    "python",
    "selinux",
    "service_mgr",
    "ssh_pub_keys",
    "systemd",
    "user",
    "virtual",
];

/// Ansible's `minimal_gather_subset`: what `min` means, and what `!all` keeps.
const MINIMAL: &[&str] = &[
    "apparmor",
    "caps",
    "cmdline",
    "date_time",
    "distribution",
    "dns",
    "env",
    "fips",
    "local",
    "lsb",
    "pkg_mgr",
    "platform",
    "python",
    "selinux",
    "service_mgr",
    "ssh_pub_keys",
    "user",
];

/// A resolved `gather_subset`: which collectors report, and the list as written (echoed in
/// the `gather_subset` fact).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subset {
    requested: Vec<String>,
    collectors: std::collections::BTreeSet<&'static str>,
}

impl Subset {
    /// Every collector (`gather_subset: all`, the default).
    pub fn all() -> Subset {
        Subset {
            requested: vec!["all".to_string()],
            collectors: COLLECTORS.iter().copied().collect(),
        }
    }

    /// Resolves a `gather_subset` list as Ansible does: `min` always first, then each entry
    /// adds (`all`, `network`) or removes (`!all` keeps `min`, `!min`, `!hardware`) collectors;
    /// a collector named without `!` stays even when a `!` entry removes it. An empty list
    /// means `all`. Naming an unknown collector is an error (excluding one is not).
    pub fn parse(items: &[String]) -> Result<Subset, String> {
        if items.is_empty() {
            return Ok(Subset::all());
        }
        let canonical = |name: &str| COLLECTORS.iter().copied().find(|c| *c == name);
        let mut add: std::collections::BTreeSet<&'static str> = MINIMAL.iter().copied().collect();
        let mut exclude = std::collections::BTreeSet::new();
        let mut explicit = std::collections::BTreeSet::new();
        for item in items {
            let item = item.trim();
            match item {
                "min" => add.extend(MINIMAL),
                "all" => add.extend(COLLECTORS),
                "!min" => exclude.extend(MINIMAL),
                "!all" => exclude.extend(COLLECTORS.iter().filter(|c| !MINIMAL.contains(c))),
                _ => {
                    if let Some(name) = item.strip_prefix('!') {
                        if let Some(c) = canonical(alias(name)) {
                            exclude.insert(c);
                        }
                    } else if let Some(c) = canonical(alias(item)) {
                        explicit.insert(c);
                        add.insert(c);
                    } else {
                        let mut allowed: Vec<&str> = COLLECTORS.to_vec();
                        allowed.sort_unstable();
                        return Err(format!(
                            "Bad subset '{item}' given to Ansible. gather_subset options \
                             allowed: all, {}",
                            allowed.join(", ")
                        ));
                    }
                }
            }
        }
        let collectors = add
            .into_iter()
            .filter(|c| !exclude.contains(c) || explicit.contains(c))
            .collect();
        Ok(Subset {
            requested: items.iter().map(|s| s.trim().to_string()).collect(),
            collectors,
        })
    }

    /// Whether the collector named `name` reports.
    pub fn includes(&self, name: &str) -> bool {
        self.collectors.contains(name)
    }

    /// The list as written, for the `gather_subset` fact.
    pub fn requested(&self) -> &[String] {
        &self.requested
    }
}

/// Ansible's other names for collectors (the Linux hardware collector also answers to
/// `devices` and `dmi`; `proc_cmdline` is `cmdline`'s fact).
fn alias(name: &str) -> &str {
    match name {
        "devices" | "dmi" => "hardware",
        "proc_cmdline" => "cmdline",
        "virtualization" => "virtual",
        other => other,
    }
}

/// The collector that reports the fact `key` (without `ansible_`); `interfaces` are the
/// host's interface names, whose own facts belong to `network`.
fn collector_of(key: &str, interfaces: &[String]) -> Option<&'static str> {
    let c = match key {
        "system"
        | "kernel"
        | "kernel_version"
        | "machine"
        | "architecture"
        | "userspace_architecture"
        | "userspace_bits"
        | "fqdn"
        | "hostname"
        | "nodename"
        | "domain"
        | "machine_id"
        | "python_version" => "platform",
        "os_family" => "distribution",
        "date_time" => "date_time",
        "env" => "env",
        "dns" => "dns",
        "fips" => "fips",
        "selinux" | "selinux_python_present" => "selinux",
        "apparmor" => "apparmor",
        "lsb" => "lsb",
        "pkg_mgr" => "pkg_mgr",
        "service_mgr" => "service_mgr",
        "systemd" => "systemd",
        "python" => "python",
        "local" => "local",
        "cmdline" | "proc_cmdline" => "cmdline",
        "is_chroot" => "chroot",
        "interfaces"
        | "default_ipv4"
        | "default_ipv6"
        | "all_ipv4_addresses"
        | "all_ipv6_addresses"
        | "locally_reachable_ips" => "network",
        "memtotal_mb" | "memfree_mb" | "swaptotal_mb" | "swapfree_mb" | "memory_mb" | "mounts"
        | "uptime_seconds" | "loadavg" | "form_factor" | "system_vendor" | "devices"
        | "device_links" | "lvm" => "hardware",
        k if k.starts_with("distribution") => "distribution",
        k if k.starts_with("user_") || k.starts_with("effective_") || k.starts_with("real_") => {
            "user"
        }
        k if k.starts_with("virtualization_") => "virtual",
        k if k.starts_with("system_capabilities") => "caps",
        k if k.starts_with("ssh_host_") => "ssh_pub_keys",
        k if k.starts_with("processor")
            || k.starts_with("bios_")
            || k.starts_with("board_")
            || k.starts_with("chassis_")
            || k.starts_with("product_") =>
        {
            "hardware"
        }
        k if interfaces
            .iter()
            .any(|i| i.replace(['-', ':', '.'], "_") == k) =>
        {
            "network"
        }
        _ => return None,
    };
    Some(c)
}

/// The probe for a host, reading local facts from `fact_path`.
fn probe_script(fact_path: &str) -> String {
    // Each *.fact file: its exit status (0 when read, not run), path, output and error
    // output, base64-encoded on one line so no content can look like a section mark.
    let dir = crate::connection::quote(fact_path.trim_end_matches('/'));
    let dir = if dir.is_empty() || dir == "''" {
        "/".to_string()
    } else {
        dir
    };
    format!(
        "{PROBE}echo '@@jig-facts:local'; t=$(mktemp) && for f in {dir}/*.fact; do \
         [ -f \"$f\" ] || continue; r=0; \
         if [ -x \"$f\" ]; then o=$(\"$f\" 2>\"$t\" </dev/null); r=$?; else o=$(cat \"$f\"); fi; \
         printf '%s %s %s %s\\n' \"$r\" \"$(printf '%s' \"$f\" | base64 | tr -d '\\n')\" \
         \"$(printf '%s' \"$o\" | base64 | tr -d '\\n')\" \"$(base64 < \"$t\" | tr -d '\\n')\"; \
         done; rm -f \"$t\"\n{ENV_SECTION}"
    )
}

/// The facts for the probe's output: every fact as `ansible_<name>`, and all of them without
/// the prefix under `ansible_facts`.
pub fn from_probe_output(raw: &str) -> VarMap {
    from_probe_output_with(raw, &GatherOptions::default())
}

/// Like [`from_probe_output`], keeping only the facts `options.subset` selects.
pub fn from_probe_output_with(raw: &str, options: &GatherOptions) -> VarMap {
    let s = Sections::parse(raw);
    let mut f = Map::new();
    platform(&s, &mut f);
    user(&s, &mut f);
    distribution(&s, &mut f);
    date_time(&s, &mut f);
    hardware(&s, &mut f);
    service_mgr(&s, &mut f);
    virtualization(&s, &mut f);
    security(&s, &mut f);
    misc(&s, &mut f);
    network(&s, &mut f);
    mounts(&s, &mut f);
    python(&s, &mut f);
    host_identity(&s, &mut f);
    f.insert("local".into(), local_facts(&s));

    let interfaces: Vec<String> = f
        .get("interfaces")
        .and_then(Json::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    f.retain(|k, _| {
        collector_of(k, &interfaces)
            .map(|c| options.subset.includes(c))
            .unwrap_or(options.subset.includes("hardware"))
    });
    f.insert("gather_subset".into(), json!(options.subset.requested()));
    f.insert("module_setup".into(), json!(true));

    let mut vars = VarMap::new();
    for (k, v) in &f {
        if k == "module_setup" || k == "gather_subset" {
            vars.insert(k.clone(), v.clone());
        } else {
            vars.insert(format!("ansible_{k}"), v.clone());
        }
    }
    vars.insert("ansible_facts".into(), Json::Object(f));
    vars
}

/// The probe's output split into its sections.
struct Sections<'a> {
    parts: Vec<(&'a str, &'a str)>,
}

impl<'a> Sections<'a> {
    fn parse(raw: &'a str) -> Self {
        let mut parts: Vec<(&'a str, &'a str)> = Vec::new();
        // Byte offsets of every line that starts a section.
        let mut starts = Vec::new();
        let mut offset = 0;
        for line in raw.split_inclusive('\n') {
            if line.starts_with(MARK) {
                starts.push(offset);
                // The environment is last and may hold anything; stop looking for marks.
                if line.trim_end() == format!("{MARK}env") {
                    break;
                }
            }
            offset += line.len();
        }
        for (i, &at) in starts.iter().enumerate() {
            let end = starts.get(i + 1).copied().unwrap_or(raw.len());
            let text = &raw[at + MARK.len()..end];
            let (name, body) = text.split_once('\n').unwrap_or((text, ""));
            parts.push((name, body));
        }
        Sections { parts }
    }

    fn get(&self, name: &str) -> &'a str {
        self.parts
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, b)| *b)
            .unwrap_or("")
    }

    fn lines(&self, name: &str) -> Vec<&'a str> {
        self.get(name).lines().collect()
    }

    /// `key=value` lines of a section.
    fn kv(&self, name: &str) -> Vec<(&'a str, &'a str)> {
        self.get(name)
            .lines()
            .filter_map(|l| l.split_once('='))
            .collect()
    }

    fn kv_get(&self, name: &str, key: &str) -> &'a str {
        self.kv(name)
            .into_iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.trim())
            .unwrap_or("")
    }

    fn has_path(&self, path: &str) -> bool {
        self.lines("paths").contains(&path)
    }
}

fn platform(s: &Sections, f: &mut Map<String, Json>) {
    let u = s.lines("uname");
    let at = |i: usize| u.get(i).map(|x| x.trim()).unwrap_or("").to_string();
    let nodename = at(0);
    f.insert(
        "hostname".into(),
        json!(nodename.split('.').next().unwrap_or("")),
    );
    f.insert("nodename".into(), json!(nodename));
    f.insert("system".into(), json!(at(1)));
    f.insert("kernel".into(), json!(at(2)));
    f.insert("kernel_version".into(), json!(at(3)));
    let machine = at(4);
    // Ansible reports i686/i386 machines as architecture i386.
    let arch = if machine.len() == 4 && machine.starts_with('i') && machine.ends_with("86") {
        "i386".to_string()
    } else {
        machine.clone()
    };
    f.insert("machine".into(), json!(machine));
    f.insert("architecture".into(), json!(arch));
    f.insert("userspace_architecture".into(), json!(arch));

    // Python's socket.getfqdn(): the reverse lookup of the node name's address; the first of
    // its names containing a dot, else its canonical name; the node name if lookup fails.
    let names: Vec<&str> = s
        .get("fqdn")
        .lines()
        .next()
        .map(|l| l.split_whitespace().skip(1).collect())
        .unwrap_or_default();
    let fqdn = names
        .iter()
        .find(|n| n.contains('.'))
        .or(names.first())
        .map(|n| n.to_string())
        .unwrap_or_else(|| nodename.clone());
    let domain = fqdn.split('.').skip(1).collect::<Vec<_>>().join(".");
    f.insert("fqdn".into(), json!(fqdn));
    f.insert("domain".into(), json!(domain));
}

fn user(s: &Sections, f: &mut Map<String, Json>) {
    let u = s.lines("user");
    let at = |i: usize| u.get(i).map(|x| x.trim()).unwrap_or("").to_string();
    let num = |i: usize| at(i).parse::<i64>().map(Json::from).unwrap_or(Json::Null);
    f.insert("user_id".into(), json!(at(0)));
    f.insert("user_uid".into(), num(1));
    f.insert("user_gid".into(), num(2));
    f.insert("effective_user_id".into(), num(1));
    f.insert("effective_group_id".into(), num(2));
    f.insert("real_user_id".into(), num(5));
    f.insert("real_group_id".into(), num(6));
    let pw: Vec<&str> = s
        .get("passwd")
        .lines()
        .next()
        .unwrap_or("")
        .splitn(7, ':')
        .collect();
    let pwf = |i: usize| pw.get(i).copied().unwrap_or("").to_string();
    let home = if pw.len() == 7 { pwf(5) } else { at(4) };
    f.insert("user_dir".into(), json!(home));
    f.insert("user_shell".into(), json!(pwf(6)));
    f.insert("user_gecos".into(), json!(pwf(4)));
}

/// `KEY=value` pairs of an os-release style file, quotes removed.
fn shell_vars(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| {
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|x| x.strip_suffix('"'))
                .or_else(|| v.strip_prefix('\'').and_then(|x| x.strip_suffix('\'')))
                .unwrap_or(v);
            (k.trim().to_string(), v.to_string())
        })
        .collect()
}

/// Ansible's OS_FAMILY map (the distributions jig's users meet).
fn os_family(distribution: &str) -> &str {
    const FAMILIES: &[(&str, &[&str])] = &[
        (
            "RedHat",
            &[
                "RedHat",
                "Fedora",
                "CentOS",
                "Scientific",
                "SLC",
                "Ascendos",
                "CloudLinux",
                "PSBM",
                "OracleLinux",
                "OVS",
                "OEL",
                "Amazon",
                "Virtuozzo",
                "XenServer",
                "Alibaba",
                "EulerOS",
                "openEuler",
                "AlmaLinux",
                "Rocky",
                "TencentOS",
                "EuroLinux",
                "Kylin Linux Advanced Server",
                "MIRACLE",
            ],
        ),
        (
            "Debian",
            &[
                "Debian",
                "Ubuntu",
                "Raspbian",
                "Neon",
                "KDE neon",
                "Linux Mint",
                "SteamOS",
                "Devuan",
                "Kali",
                "Cumulus Linux",
                "Pop!_OS",
                "Parrot",
                "Pardus GNU/Linux",
                "Uos",
                "Deepin",
                "OSMC",
                "Linuxmint",
            ],
        ),
        (
            "Suse",
            &[
                "SuSE",
                "SLES",
                "SLED",
                "openSUSE",
                "openSUSE Tumbleweed",
                "SLES_SAP",
                "SUSE_LINUX",
                "openSUSE Leap",
                "ALP-Dolomite",
                "SL-Micro",
                "openSUSE MicroOS",
            ],
        ),
        ("Archlinux", &["Archlinux", "Antergos", "Manjaro"]),
        ("Alpine", &["Alpine"]),
        ("Gentoo", &["Gentoo", "Funtoo"]),
        ("Mandrake", &["Mandrake", "Mandriva", "Mageia"]),
    ];
    FAMILIES
        .iter()
        .find(|(_, members)| members.contains(&distribution))
        .map(|(fam, _)| *fam)
        .unwrap_or(distribution)
}

fn distribution(s: &Sections, f: &mut Map<String, Json>) {
    let osr = shell_vars(s.get("os-release"));
    let get = |k: &str| {
        osr.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let id = get("ID");
    let name = match id.as_str() {
        "debian" | "raspbian" => "Debian".to_string(),
        "ubuntu" => "Ubuntu".to_string(),
        "centos" => "CentOS".to_string(),
        "rhel" => "RedHat".to_string(),
        "fedora" => "Fedora".to_string(),
        "rocky" => "Rocky".to_string(),
        "almalinux" => "AlmaLinux".to_string(),
        "ol" => "OracleLinux".to_string(),
        "amzn" => "Amazon".to_string(),
        "alpine" => "Alpine".to_string(),
        "arch" => "Archlinux".to_string(),
        "manjaro" => "Manjaro".to_string(),
        "opensuse-leap" => "openSUSE Leap".to_string(),
        "opensuse-tumbleweed" => "openSUSE Tumbleweed".to_string(),
        "sles" => "SLES".to_string(),
        "linuxmint" => "Linux Mint".to_string(),
        "kali" => "Kali".to_string(),
        "devuan" => "Devuan".to_string(),
        "pop" => "Pop!_OS".to_string(),
        "gentoo" => "Gentoo".to_string(),
        "" => "NA".to_string(),
        _ => {
            let n = get("NAME");
            if n.is_empty() { id.clone() } else { n }
        }
    };
    let debian_version = s.get("debian_version").trim().to_string();
    let version = if name == "Debian"
        && debian_version
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_digit())
    {
        debian_version
    } else {
        let v = get("VERSION_ID");
        if v.is_empty() { "NA".to_string() } else { v }
    };
    let mut release = get("VERSION_CODENAME");
    if release.is_empty() {
        release = get("UBUNTU_CODENAME");
    }
    if release.is_empty() {
        // Ansible's Debian parser: the word in parentheses of PRETTY_NAME.
        let pretty = get("PRETTY_NAME");
        release = pretty
            .split_once('(')
            .and_then(|(_, r)| r.split_once(')'))
            .map(|(r, _)| r.to_string())
            .unwrap_or_else(|| "NA".to_string());
    }
    let major = version.split('.').next().unwrap_or("").to_string();
    f.insert("distribution".into(), json!(name));
    f.insert("distribution_version".into(), json!(version));
    f.insert("distribution_major_version".into(), json!(major));
    if let Some((_, minor)) = version.split_once('.') {
        f.insert(
            "distribution_minor_version".into(),
            json!(minor.split('.').next().unwrap_or(minor)),
        );
    }
    f.insert("distribution_release".into(), json!(release));
    f.insert("os_family".into(), json!(os_family(&name)));
    // Ansible found Debian in /etc/os-release (the other distributions' files are searched
    // by rules jig does not reproduce, so it reports these three only for Debian).
    if name == "Debian" && s.get("os-release").contains("Debian") {
        f.insert("distribution_file_path".into(), json!("/etc/os-release"));
        f.insert("distribution_file_variety".into(), json!("Debian"));
        f.insert("distribution_file_parsed".into(), json!(true));
    }

    let bins = s.lines("bins");
    let pkg_mgr = [
        ("apt-get", "apt"),
        ("dnf5", "dnf5"),
        ("dnf", "dnf"),
        ("yum", "yum"),
        ("zypper", "zypper"),
        ("apk", "apk"),
        ("pacman", "pacman"),
        ("emerge", "portage"),
        ("xbps-install", "xbps"),
        ("pkg", "pkgng"),
    ]
    .iter()
    .find(|(b, _)| bins.contains(b))
    .map(|(_, m)| *m)
    .unwrap_or("unknown");
    f.insert("pkg_mgr".into(), json!(pkg_mgr));

    f.insert("lsb".into(), lsb(s));
}

/// `lsb_release -a` when installed, else `/etc/lsb-release`; `{}` when neither exists.
fn lsb(s: &Sections) -> Json {
    let mut m = Map::new();
    let out = s.get("lsb_release");
    if !out.trim().is_empty() {
        for line in out.lines() {
            let Some((k, v)) = line.split_once(':') else {
                continue;
            };
            let v = v.trim().to_string();
            match k.trim() {
                "Distributor ID" => {
                    m.insert("id".into(), json!(v));
                }
                "Description" => {
                    m.insert("description".into(), json!(v));
                }
                "Release" => {
                    m.insert("release".into(), json!(v));
                }
                "Codename" => {
                    m.insert("codename".into(), json!(v));
                }
                _ => {}
            }
        }
    } else {
        for (k, v) in shell_vars(s.get("lsb-release")) {
            let key = match k.as_str() {
                "DISTRIB_ID" => "id",
                "DISTRIB_RELEASE" => "release",
                "DISTRIB_DESCRIPTION" => "description",
                "DISTRIB_CODENAME" => "codename",
                _ => continue,
            };
            m.insert(key.into(), json!(v));
        }
    }
    if let Some(r) = m.get("release").and_then(Json::as_str) {
        let major = r.split('.').next().unwrap_or("").to_string();
        m.insert("major_release".into(), json!(major));
    }
    Json::Object(m)
}

fn date_time(s: &Sections, f: &mut Map<String, Json>) {
    let lines = s.lines("date");
    let Some(first) = lines.first() else {
        return;
    };
    let w: Vec<&str> = first.split_whitespace().collect();
    if w.len() < 13 {
        return;
    }
    let epoch: i64 = w[0].parse().unwrap_or(0);
    let micros = w[1].get(..6).unwrap_or("000000");
    let (year, month, weekday, weekday_n, weeknum, day, hour, minute, second) =
        (w[2], w[3], w[4], w[5], w[6], w[7], w[8], w[9], w[10]);
    let (tz, tz_offset) = (w[11], w[12]);
    let (uy, um, ud, uh, umi, us) = utc_civil(epoch);
    let iso = format!("{uy:04}-{um:02}-{ud:02}T{uh:02}:{umi:02}:{us:02}");
    // time.tzname[1]: the zone's daylight-saving name; the standard name where there is none.
    let zone = |i: usize| {
        lines
            .get(i)
            .map(|l| l.split_whitespace().collect::<Vec<_>>())
            .unwrap_or_default()
    };
    let (jan, jul) = (zone(1), zone(2));
    let tz_dst = match (jan.as_slice(), jul.as_slice()) {
        ([jn, jo], [un, uo]) => {
            let off = |o: &str| o.parse::<i32>().unwrap_or(0);
            if off(uo) > off(jo) {
                un.to_string()
            } else {
                jn.to_string()
            }
        }
        _ => tz.to_string(),
    };
    let dt = json!({
        "date": format!("{year}-{month}-{day}"),
        "day": day,
        "epoch": w[0],
        "epoch_int": epoch.to_string(),
        "hour": hour,
        "iso8601": format!("{iso}Z"),
        "iso8601_basic": format!("{year}{month}{day}T{hour}{minute}{second}{micros}"),
        "iso8601_basic_short": format!("{year}{month}{day}T{hour}{minute}{second}"),
        "iso8601_micro": format!("{iso}.{micros}Z"),
        "minute": minute,
        "month": month,
        "second": second,
        "time": format!("{hour}:{minute}:{second}"),
        "tz": tz,
        "tz_dst": tz_dst,
        "tz_offset": tz_offset,
        "weekday": weekday,
        "weekday_number": weekday_n,
        "weeknumber": weeknum,
        "year": year,
    });
    f.insert("date_time".into(), dt);
}

/// UTC calendar fields of a Unix time (Howard Hinnant's days-to-civil algorithm).
fn utc_civil(epoch: i64) -> (i64, u32, u32, u32, u32, u32) {
    let days = epoch.div_euclid(86_400);
    let secs = epoch.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        y,
        m,
        d,
        (secs / 3600) as u32,
        ((secs % 3600) / 60) as u32,
        (secs % 60) as u32,
    )
}

fn hardware(s: &Sections, f: &mut Map<String, Json>) {
    // Ansible's Linux CPU collector: sockets from `physical id`, cores per socket from
    // `cpu cores`, threads from `siblings`.
    let mut processor = Vec::new();
    let mut entries = 0i64;
    let mut sockets: Vec<(String, i64, i64)> = Vec::new();
    let mut cur_phys: Option<String> = None;
    for line in s.lines("cpuinfo") {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        let (k, v) = (k.trim(), v.trim());
        match k {
            "processor" => {
                entries += 1;
                processor.push(json!(v));
                cur_phys = None;
            }
            "vendor_id" | "model name" | "cpu" | "machine" => processor.push(json!(v)),
            "physical id" => {
                cur_phys = Some(v.to_string());
                if !sockets.iter().any(|(p, _, _)| p == v) {
                    sockets.push((v.to_string(), 0, 0));
                }
            }
            "cpu cores" | "siblings" => {
                if let (Some(p), Ok(n)) = (&cur_phys, v.parse::<i64>())
                    && let Some(sock) = sockets.iter_mut().find(|(id, _, _)| id == p)
                {
                    if k == "cpu cores" {
                        sock.1 = n;
                    } else {
                        sock.2 = n;
                    }
                }
            }
            _ => {}
        }
    }
    let count = if sockets.is_empty() {
        entries
    } else {
        sockets.len() as i64
    };
    let cores = sockets.first().map(|s| s.1).filter(|&c| c > 0).unwrap_or(1);
    let threads = sockets
        .first()
        .map(|s| s.2 / cores)
        .filter(|&t| t > 0)
        .unwrap_or(1);
    f.insert("processor".into(), Json::Array(processor));
    f.insert("processor_count".into(), json!(count));
    f.insert("processor_cores".into(), json!(cores));
    f.insert("processor_threads_per_core".into(), json!(threads));
    f.insert("processor_vcpus".into(), json!(threads * cores * count));
    if let Ok(n) = s.get("nproc").trim().parse::<i64>() {
        f.insert("processor_nproc".into(), json!(n));
    }

    let mem = |key: &str| -> i64 {
        s.lines("meminfo")
            .iter()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                (k == key).then(|| v.split_whitespace().next()?.parse::<i64>().ok())?
            })
            .unwrap_or(0)
            / 1024
    };
    let (total, free) = (mem("MemTotal"), mem("MemFree"));
    let (buffers, cached) = (mem("Buffers"), mem("Cached"));
    let (swap_total, swap_free, swap_cached) =
        (mem("SwapTotal"), mem("SwapFree"), mem("SwapCached"));
    f.insert("memtotal_mb".into(), json!(total));
    f.insert("memfree_mb".into(), json!(free));
    f.insert("swaptotal_mb".into(), json!(swap_total));
    f.insert("swapfree_mb".into(), json!(swap_free));
    let nocache_free = free + buffers + cached;
    f.insert(
        "memory_mb".into(),
        json!({
            "nocache": {"free": nocache_free, "used": total - nocache_free},
            "real": {"free": free, "total": total, "used": total - free},
            "swap": {"cached": swap_cached, "free": swap_free, "total": swap_total,
                     "used": swap_total - swap_free},
        }),
    );
}

/// Ansible's `ServiceMgrFactCollector` for Linux: PID 1's name unless it cannot be trusted,
/// then systemd's canaries (with `systemctl` found as `get_bin_path` finds it), upstart,
/// OpenRC, `/sbin/init` linking to systemd, `/etc/init.d`, dinit; `service` when nothing
/// matched. Also `systemd` (`systemctl --version`) on a host that systemd runs, as Ansible's
/// `SystemdFactCollector`.
/// What the `service` module runs to learn the service manager: the facts probe's lines for
/// it, and the platform and paths the rule reads.
pub(crate) const SERVICE_MGR_PROBE: &str = concat!(
    service_mgr_lines!(),
    r#"echo '@@jig-facts:uname'; uname -n; uname -s
echo '@@jig-facts:paths'; for p in /etc/init /sbin/openrc /etc/init.d /etc/dinit.d; do [ -e "$p" ] && echo "$p"; done
echo '@@jig-facts:bins'; command -v initctl >/dev/null && echo initctl
"#
);

/// The host's service manager as the `service` module needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ServiceManager {
    /// Ansible's `service_mgr` fact.
    pub name: String,
    /// `is_systemd_managed` of Ansible's `module_utils.service` (what its `service` module
    /// checks): `systemctl` and a systemd canary, or PID 1 named `systemd`.
    pub systemd_managed: bool,
}

/// Reads the output of [`SERVICE_MGR_PROBE`].
pub(crate) fn service_manager(raw: &str) -> ServiceManager {
    let s = Sections::parse(raw);
    let mut f = Map::new();
    platform(&s, &mut f);
    let pid1 = s.get("pid1").lines().next().unwrap_or("").trim();
    ServiceManager {
        name: service_mgr_name(&s, &f),
        systemd_managed: s.get("systemctl").trim() == "yes"
            && (s.get("systemd").trim() == "yes" || pid1 == "systemd"),
    }
}

fn service_mgr(s: &Sections, f: &mut Map<String, Json>) {
    f.insert("service_mgr".into(), json!(service_mgr_name(s, f)));
    if let Some(v) = systemd_version(s.get("systemd_version")) {
        f.insert("systemd".into(), v);
    }
}

/// `{features, version}` from `systemctl --version`: the second line, and the number after
/// the first space (`None` where Ansible's parse would fail).
fn systemd_version(out: &str) -> Option<Json> {
    let features = out.split('\n').nth(1)?;
    let version: i64 = out.split(' ').nth(1)?.trim().parse().ok()?;
    Some(json!({"features": features, "version": version}))
}

fn service_mgr_name(s: &Sections, f: &Map<String, Json>) -> String {
    // PID 1's name from /proc/1/comm, or `ps` (unless it printed its header or a pid first,
    // as busybox's does), or /sbin/init's link.
    let mut proc_1 = s
        .get("pid1")
        .lines()
        .next()
        .map(str::trim)
        .filter(|p| !p.is_empty() && *p != "COMMAND" && !starts_with_pid(p))
        .map(str::to_string);
    let init_link = s.get("sbin_init").trim();
    if proc_1.is_none() && !init_link.is_empty() {
        proc_1 = Some(init_link.to_string());
    }
    let basename = |p: &str| p.rsplit('/').next().unwrap_or(p).trim().to_string();
    // `init` says nothing; a name ending in `sh` is a container's shell.
    let proc_1 = proc_1
        .map(|p| basename(&p))
        .filter(|p| p != "init" && !p.ends_with("sh"));
    let name = match proc_1 {
        Some(p) => match p.as_str() {
            "procd" => "openwrt_init".to_string(),
            "runit-init" => "runit".to_string(),
            "svscan" => "svc".to_string(),
            "openrc-init" => "openrc".to_string(),
            _ => p,
        },
        None => {
            let linux = f.get("system").and_then(Json::as_str) == Some("Linux");
            let systemctl = s.get("systemctl").trim() == "yes";
            if !linux {
                String::new()
            } else if s.get("systemd").trim() == "yes" {
                "systemd".to_string()
            } else if s.lines("bins").contains(&"initctl") && s.has_path("/etc/init") {
                "upstart".to_string()
            } else if s.has_path("/sbin/openrc") {
                "openrc".to_string()
            } else if systemctl && !init_link.is_empty() && basename(init_link) == "systemd" {
                "systemd".to_string()
            } else if s.has_path("/etc/init.d") {
                "sysvinit".to_string()
            } else if s.has_path("/etc/dinit.d") {
                "dinit".to_string()
            } else {
                String::new()
            }
        }
    };
    if name.is_empty() {
        "service".to_string()
    } else {
        name
    }
}

/// Whether `ps` output starts with a pid (` *[0-9]+ `): a `ps` that ignored `-o comm`.
fn starts_with_pid(line: &str) -> bool {
    let t = line.trim_start_matches(' ');
    let digits = t.len() - t.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    digits > 0 && t[digits..].starts_with(' ')
}

/// Ansible's Linux virtualization collector: containers first, then hypervisor evidence.
fn virtualization(s: &Sections, f: &mut Map<String, Json>) {
    let mut found: Option<(String, Option<String>)> = None;
    let mut guest: Vec<String> = Vec::new();
    let mut host: Vec<String> = Vec::new();
    let add = |v: &mut Vec<String>, t: &str| {
        if !v.iter().any(|x| x == t) {
            v.push(t.to_string());
        }
    };
    let set = |found: &mut Option<(String, Option<String>)>, t: &str, role: Option<&str>| {
        if found.is_none() {
            *found = Some((t.to_string(), role.map(str::to_string)));
        }
    };
    let docker_re = regex::Regex::new(r"/docker(/|-[0-9a-f]+\.scope)").ok();
    for line in s.lines("cgroup") {
        if docker_re.as_ref().is_some_and(|r| r.is_match(line)) {
            add(&mut guest, "docker");
            set(&mut found, "docker", Some("guest"));
        }
        if line.contains("/lxc/") || line.contains("/machine.slice/machine-lxc") {
            add(&mut guest, "lxc");
            set(&mut found, "lxc", Some("guest"));
        }
        if line.contains("/system.slice/containerd.service") {
            add(&mut guest, "containerd");
            set(&mut found, "containerd", Some("guest"));
        }
    }
    for line in s.lines("pid1env") {
        if line.contains("container=lxc") {
            add(&mut guest, "lxc");
            set(&mut found, "lxc", Some("guest"));
        }
        if line.contains("container=podman") {
            add(&mut guest, "podman");
            set(&mut found, "podman", Some("guest"));
        }
        if line.len() > "container=".len() {
            add(&mut guest, "container");
            set(&mut found, "container", Some("guest"));
        }
    }
    if s.has_path("/proc/vz") && !s.has_path("/proc/lve") {
        let role = if s.has_path("/proc/bc") {
            add(&mut host, "openvz");
            "host"
        } else {
            add(&mut guest, "openvz");
            "guest"
        };
        set(&mut found, "openvz", Some(role));
    }
    let systemd_container = s.get("systemd_container").trim().to_string();
    if !systemd_container.is_empty() {
        add(&mut guest, &systemd_container);
        set(&mut found, &systemd_container, Some("guest"));
    }
    if s.has_path("/.dockerenv") || s.has_path("/.dockerinit") {
        add(&mut guest, "docker");
        set(&mut found, "docker", Some("guest"));
    }
    if s.has_path("/run/.containerenv") {
        add(&mut guest, "podman");
        set(&mut found, "podman", Some("guest"));
    }
    if guest
        .iter()
        .any(|t| ["docker", "lxc", "podman", "openvz", "containerd"].contains(&t.as_str()))
        || !systemd_container.is_empty()
    {
        add(&mut guest, "container");
    }
    if s.has_path("/proc/xen") {
        if s.get("xencap").contains("control_d") {
            add(&mut host, "xen");
            set(&mut found, "xen", Some("host"));
        } else {
            set(&mut found, "xen", Some("guest"));
        }
    }
    let dmi = |k: &str| s.kv_get("dmi", k).to_string();
    let (product, vendor, family, bios) = (
        dmi("product_name"),
        dmi("sys_vendor"),
        dmi("product_family"),
        dmi("bios_vendor"),
    );
    let mut hv: Option<&str> = None;
    let mut hyper = |guest: &mut Vec<String>, t: &'static str| {
        add(guest, t);
        if hv.is_none() {
            hv = Some(t);
        }
    };
    if [
        "KVM",
        "KVM Server",
        "Bochs",
        "AHV",
        "CloudStack KVM Hypervisor",
    ]
    .contains(&product.as_str())
    {
        hyper(&mut guest, "kvm");
    }
    if vendor == "oVirt" {
        hyper(&mut guest, "oVirt");
    }
    if vendor == "Red Hat" {
        if family == "RHV" {
            hyper(&mut guest, "RHV");
        } else if product == "RHEV Hypervisor" {
            hyper(&mut guest, "RHEV");
        }
    }
    if product.starts_with("VMware") {
        hyper(&mut guest, "VMware");
    }
    if product == "OpenStack Compute" || product == "OpenStack Nova" {
        hyper(&mut guest, "openstack");
    }
    if bios == "Xen" {
        hyper(&mut guest, "xen");
    }
    if bios == "innotek GmbH" {
        hyper(&mut guest, "virtualbox");
    }
    if ["Amazon EC2", "DigitalOcean", "Hetzner", "Linode"].contains(&bios.as_str()) {
        hyper(&mut guest, "kvm");
    }
    if [
        "QEMU",
        "Amazon EC2",
        "DigitalOcean",
        "Google",
        "Scaleway",
        "Nutanix",
    ]
    .contains(&vendor.as_str())
    {
        hyper(&mut guest, "kvm");
    }
    if vendor == "KubeVirt" {
        hyper(&mut guest, "KubeVirt");
    }
    if vendor == "Microsoft Corporation" {
        hyper(&mut guest, "VirtualPC");
    }
    if vendor == "Parallels Software International Inc." {
        hyper(&mut guest, "parallels");
    }
    if vendor == "OpenStack Foundation" {
        hyper(&mut guest, "openstack");
    }
    if let Some(t) = hv {
        set(&mut found, t, Some("guest"));
    }
    for line in s.lines("cpuinfo") {
        if line.starts_with("model name") && line.contains("QEMU Virtual CPU") {
            add(&mut guest, "kvm");
            set(&mut found, "kvm", Some("guest"));
        }
    }
    let modules = s.lines("modules");
    if modules.contains(&"kvm") {
        add(&mut host, "kvm");
        set(&mut found, "kvm", Some("host"));
    }
    if modules.contains(&"vboxdrv") {
        add(&mut host, "virtualbox");
        set(&mut found, "virtualbox", Some("host"));
    }
    if modules.contains(&"virtio") {
        add(&mut host, "kvm");
        set(&mut found, "kvm", Some("guest"));
    }
    if s.has_path("/dev/kvm") {
        add(&mut host, "kvm");
        set(&mut found, "kvm", Some("host"));
    }
    let (vt, role) = found.unwrap_or(("NA".into(), Some("NA".into())));
    f.insert("virtualization_type".into(), json!(vt));
    f.insert(
        "virtualization_role".into(),
        json!(role.unwrap_or_else(|| "NA".into())),
    );
    f.insert("virtualization_tech_guest".into(), json!(guest));
    f.insert("virtualization_tech_host".into(), json!(host));
}

fn security(s: &Sections, f: &mut Map<String, Json>) {
    let selinux = if s.has_path("/sys/fs/selinux/enforce") {
        let mode = match s.kv_get("selinux", "enforce") {
            "1" => "enforcing",
            _ => "permissive",
        };
        let mut m = Map::new();
        m.insert("status".into(), json!("enabled"));
        m.insert("mode".into(), json!(mode));
        let cfg = s.kv_get("selinux", "SELINUX");
        if !cfg.is_empty() {
            m.insert("config_mode".into(), json!(cfg));
        }
        let ty = s.kv_get("selinux", "SELINUXTYPE");
        if !ty.is_empty() {
            m.insert("type".into(), json!(ty));
        }
        if let Ok(v) = s.kv_get("selinux", "policyvers").parse::<i64>() {
            m.insert("policyvers".into(), json!(v));
        }
        Json::Object(m)
    } else {
        json!({"status": "disabled"})
    };
    // Ansible reads SELinux through libselinux (its ctypes binding); without the library it
    // reports that instead of a status.
    let selinux = match s.get("libselinux").trim() {
        "no" => {
            f.insert("selinux_python_present".into(), json!(false));
            json!({"status": "Missing selinux Python library"})
        }
        "yes" => {
            f.insert("selinux_python_present".into(), json!(true));
            selinux
        }
        _ => selinux,
    };
    f.insert("selinux".into(), selinux);
    capabilities(s, f);
    let apparmor = if s.has_path("/sys/kernel/security/apparmor") {
        "enabled"
    } else {
        "disabled"
    };
    f.insert("apparmor".into(), json!({"status": apparmor}));
    dmi_facts(s, f);
    f.insert("fips".into(), json!(s.get("fips").trim() == "1"));
}

/// Ansible's DMI facts: the firmware's description of the machine, `NA` where unreadable.
fn dmi_facts(s: &Sections, f: &mut Map<String, Json>) {
    let get = |k: &str| {
        let v = s.kv_get("dmi", k);
        if v.is_empty() {
            "NA".to_string()
        } else {
            v.to_string()
        }
    };
    for (fact, file) in [
        ("bios_date", "bios_date"),
        ("bios_vendor", "bios_vendor"),
        ("bios_version", "bios_version"),
        ("board_asset_tag", "board_asset_tag"),
        ("board_name", "board_name"),
        ("board_serial", "board_serial"),
        ("board_vendor", "board_vendor"),
        ("board_version", "board_version"),
        ("chassis_asset_tag", "chassis_asset_tag"),
        ("chassis_serial", "chassis_serial"),
        ("chassis_vendor", "chassis_vendor"),
        ("chassis_version", "chassis_version"),
        ("product_name", "product_name"),
        ("product_serial", "product_serial"),
        ("product_uuid", "product_uuid"),
        ("product_version", "product_version"),
        ("system_vendor", "sys_vendor"),
    ] {
        f.insert(fact.into(), json!(get(file)));
    }
    // SMBIOS chassis types, as Ansible names them.
    const FORM_FACTORS: [&str; 37] = [
        "Unknown",
        "Other",
        "Unknown",
        "Desktop",
        "Low Profile Desktop",
        "Pizza Box",
        "Mini Tower",
        "Tower",
        "Portable",
        "Laptop",
        "Notebook",
        "Hand Held",
        "Docking Station",
        "All In One",
        "Sub Notebook",
        "Space-saving",
        "Lunch Box",
        "Main Server Chassis",
        "Expansion Chassis",
        "Sub Chassis",
        "Bus Expansion Chassis",
        "Peripheral Chassis",
        "RAID Chassis",
        "Rack Mount Chassis",
        "Sealed-case PC",
        "Multi-system",
        "CompactPCI",
        "AdvancedTCA",
        "Blade",
        "Blade Enclosure",
        "Tablet",
        "Convertible",
        "Detachable",
        "IoT Gateway",
        "Embedded PC",
        "Mini PC",
        "Stick PC",
    ];
    let form = s
        .kv_get("dmi", "chassis_type")
        .parse::<usize>()
        .ok()
        .and_then(|i| FORM_FACTORS.get(i).copied())
        .unwrap_or("NA");
    f.insert("form_factor".into(), json!(form));
}

fn misc(s: &Sections, f: &mut Map<String, Json>) {
    let mut dns = Map::new();
    let mut nameservers = Vec::new();
    let mut search = Vec::new();
    let mut options = Map::new();
    for line in s.lines("resolv") {
        let line = line.trim();
        if line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        let mut w = line.split_whitespace();
        match w.next() {
            Some("nameserver") => nameservers.extend(w.map(|x| json!(x))),
            Some("domain") => {
                if let Some(d) = w.next() {
                    dns.insert("domain".into(), json!(d));
                }
            }
            Some("search") => search.extend(w.map(|x| json!(x))),
            Some("sortlist") => {
                dns.insert(
                    "sortlist".into(),
                    Json::Array(w.map(|x| json!(x)).collect()),
                );
            }
            Some("options") => {
                for o in w {
                    match o.split_once(':') {
                        Some((k, v)) => options.insert(k.into(), json!(v)),
                        None => options.insert(o.into(), json!(true)),
                    };
                }
            }
            _ => {}
        }
    }
    if !nameservers.is_empty() {
        dns.insert("nameservers".into(), Json::Array(nameservers));
    }
    if !search.is_empty() {
        dns.insert("search".into(), Json::Array(search));
    }
    if !options.is_empty() {
        dns.insert("options".into(), Json::Object(options));
    }
    f.insert("dns".into(), Json::Object(dns));

    if let Ok(up) = s.kv_get("misc", "uptime").parse::<f64>() {
        f.insert("uptime_seconds".into(), json!(up as i64));
    }
    let load: Vec<f64> = s
        .kv_get("misc", "loadavg")
        .split_whitespace()
        .take(3)
        .filter_map(|x| x.parse().ok())
        .collect();
    if let [one, five, fifteen] = load[..] {
        f.insert(
            "loadavg".into(),
            json!({"1m": one, "5m": five, "15m": fifteen}),
        );
    }
    let mid = s.kv_get("misc", "machine_id");
    if !mid.is_empty() {
        f.insert("machine_id".into(), json!(mid));
    }
    let bits = s.kv_get("misc", "bits");
    if !bits.is_empty() {
        f.insert("userspace_bits".into(), json!(bits));
    }

    let mut env = Map::new();
    for entry in s.get("env").split('\0') {
        if let Some((k, v)) = entry.split_once('=')
            && !k.is_empty()
            && !k.contains('\n')
        {
            env.insert(k.to_string(), json!(v));
        }
    }
    f.insert("env".into(), Json::Object(env));
}

/// Interfaces, addresses and default routes from `ip -o link`, `ip -o addr` and
/// `ip route get`, shaped as Ansible's Linux network collector shapes them.
fn network(s: &Sections, f: &mut Map<String, Json>) {
    let mut ifaces: Vec<(String, Map<String, Json>)> = Vec::new();
    for line in s.lines("ip_link") {
        // `4: eth0@if5: <BROADCAST,UP> mtu 1400 ... \    link/ether 02:.. brd ff:..`
        let mut parts = line.splitn(3, ": ");
        let (Some(_), Some(name), Some(rest)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let name = name.split('@').next().unwrap_or(name).to_string();
        let flags: Vec<&str> = rest
            .split_once('<')
            .and_then(|(_, r)| r.split_once('>'))
            .map(|(fl, _)| fl.split(',').collect())
            .unwrap_or_default();
        let words: Vec<&str> = rest.split_whitespace().collect();
        let after = |key: &str| {
            words
                .iter()
                .position(|w| *w == key)
                .and_then(|i| words.get(i + 1))
                .copied()
        };
        let mut m = Map::new();
        m.insert("active".into(), json!(flags.contains(&"UP")));
        m.insert("device".into(), json!(name));
        if let Some(mtu) = after("mtu").and_then(|v| v.parse::<i64>().ok()) {
            m.insert("mtu".into(), json!(mtu));
        }
        m.insert("promisc".into(), json!(flags.contains(&"PROMISC")));
        if let Some(link) = words.iter().find(|w| w.starts_with("link/")) {
            let kind = &link["link/".len()..];
            m.insert("type".into(), json!(kind));
            if let Some(mac) = after(link).filter(|m| *m != "00:00:00:00:00:00" && m.contains(':'))
            {
                m.insert("macaddress".into(), json!(mac));
            }
        }
        ifaces.push((name, m));
    }
    let mut all4 = Vec::new();
    let mut all6 = Vec::new();
    for line in s.lines("ip_addr") {
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.len() < 4 {
            continue;
        }
        let name = words[1].split('@').next().unwrap_or(words[1]);
        let after = |key: &str| {
            words
                .iter()
                .position(|w| *w == key)
                .and_then(|i| words.get(i + 1))
                .copied()
        };
        let Some(entry) = ifaces
            .iter_mut()
            .find(|(n, _)| n.as_str() == name)
            .map(|(_, m)| m)
        else {
            continue;
        };
        match words[2] {
            "inet" => {
                let (addr, prefix) = words[3].split_once('/').unwrap_or((words[3], "32"));
                let plen: u32 = prefix.parse().unwrap_or(32).min(32);
                let mask = if plen == 0 {
                    0
                } else {
                    u32::MAX << (32 - plen)
                };
                let ip = addr
                    .parse::<std::net::Ipv4Addr>()
                    .map(u32::from)
                    .unwrap_or(0);
                let v4 = json!({
                    "address": addr,
                    "broadcast": after("brd").unwrap_or(""),
                    "netmask": std::net::Ipv4Addr::from(mask).to_string(),
                    "network": std::net::Ipv4Addr::from(ip & mask).to_string(),
                    "prefix": prefix,
                });
                if !addr.starts_with("127.") {
                    all4.push(json!(addr));
                }
                if entry.contains_key("ipv4") {
                    if let Json::Array(list) = entry
                        .entry("ipv4_secondaries")
                        .or_insert_with(|| Json::Array(Vec::new()))
                    {
                        list.push(v4);
                    }
                } else {
                    entry.insert("ipv4".into(), v4);
                }
            }
            "inet6" => {
                let (addr, prefix) = words[3].split_once('/').unwrap_or((words[3], "128"));
                if addr != "::1" {
                    all6.push(json!(addr));
                }
                let v6 = json!({"address": addr, "prefix": prefix,
                                "scope": after("scope").unwrap_or("")});
                if let Json::Array(list) = entry
                    .entry("ipv6")
                    .or_insert_with(|| Json::Array(Vec::new()))
                {
                    list.push(v6);
                }
            }
            _ => {}
        }
    }
    // Ansible lists interfaces in /sys/class/net directory order.
    let mut names: Vec<String> = s
        .lines("net_dirs")
        .into_iter()
        .flat_map(|l| l.split_whitespace())
        .map(str::to_string)
        .collect();
    if names.is_empty() {
        names = ifaces.iter().map(|(n, _)| n.clone()).collect();
    }
    let default = |section: &str, v6: bool| -> Json {
        let words: Vec<&str> = s
            .get(section)
            .lines()
            .next()
            .unwrap_or("")
            .split_whitespace()
            .collect();
        let after = |key: &str| {
            words
                .iter()
                .position(|w| *w == key)
                .and_then(|i| words.get(i + 1))
                .copied()
        };
        let Some(dev) = after("dev") else {
            return json!({});
        };
        let mut m = Map::new();
        m.insert("interface".into(), json!(dev));
        if let Some(gw) = after("via") {
            m.insert("gateway".into(), json!(gw));
        }
        if let Some(src) = after("src") {
            m.insert("address".into(), json!(src));
        }
        if let Some((_, iface)) = ifaces.iter().find(|(n, _)| n == dev) {
            for k in ["macaddress", "mtu", "type"] {
                if let Some(v) = iface.get(k) {
                    m.insert(k.into(), v.clone());
                }
            }
            if v6 {
                let src = after("src").unwrap_or("");
                if let Some(Json::Array(list)) = iface.get("ipv6")
                    && let Some(a) = list
                        .iter()
                        .find(|a| a["address"] == json!(src))
                        .or_else(|| list.first())
                {
                    for k in ["address", "prefix", "scope"] {
                        m.insert(k.into(), a[k].clone());
                    }
                }
            } else if let Some(Json::Object(v4)) = iface.get("ipv4") {
                m.insert("alias".into(), json!(dev));
                for (k, v) in v4 {
                    m.insert(k.clone(), v.clone());
                }
            }
        }
        Json::Object(m)
    };
    // Addresses the host answers on: `local` routes of the local table, as Ansible lists them.
    let routes = s.lines("local_routes");
    if routes.first().map(|l| l.trim()) == Some("found") {
        let (mut v4, mut v6): (Vec<String>, Vec<String>) = (Vec::new(), Vec::new());
        for line in &routes[1..] {
            let mut w = line.split_whitespace();
            if w.next() != Some("local") {
                continue;
            }
            let Some(addr) = w.next() else { continue };
            let list = if addr.contains(':') { &mut v6 } else { &mut v4 };
            if !list.iter().any(|a| a == addr) {
                list.push(addr.to_string());
            }
        }
        f.insert(
            "locally_reachable_ips".into(),
            json!({"ipv4": v4, "ipv6": v6}),
        );
    }
    f.insert("default_ipv4".into(), default("route4", false));
    f.insert("default_ipv6".into(), default("route6", true));
    f.insert("all_ipv4_addresses".into(), Json::Array(all4));
    f.insert("all_ipv6_addresses".into(), Json::Array(all6));
    f.insert("interfaces".into(), json!(names));
    // sysfs details Ansible adds: the device link's name, the driver module, the link speed.
    for line in s.lines("net_sys") {
        let w: Vec<&str> = line.split(' ').collect();
        let [name, pciid, speed, module] = w[..] else {
            continue;
        };
        let Some((_, m)) = ifaces.iter_mut().find(|(n, _)| n.as_str() == name) else {
            continue;
        };
        if pciid != "-" {
            m.insert("pciid".into(), json!(pciid));
        }
        if module != "-" {
            m.insert("module".into(), json!(module));
        }
        if let Ok(v) = speed.parse::<i64>() {
            m.insert("speed".into(), json!(v));
        }
    }
    for (name, m) in ifaces {
        // Interface facts are named with `-` and `:` turned into `_`, as Ansible names them.
        let key = name.replace(['-', ':', '.'], "_");
        f.insert(key, Json::Object(m));
    }
}

/// `ansible_python`: the host's Python, when it has one. jig never runs it, but roles choose
/// packages by its version (`python{{ ansible_python.version.major }}-apt`).
fn python(s: &Sections, f: &mut Map<String, Json>) {
    let lines = s.lines("python");
    let (Some(exe), Some(ver)) = (lines.first(), lines.get(1)) else {
        return;
    };
    let Some(v) = ver.trim().strip_prefix("Python ") else {
        return;
    };
    // `3.11.2`, or a pre-release such as `3.13.0rc1`.
    let split = v
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(v.len());
    let (nums, tail) = v.split_at(split);
    let n: Vec<i64> = nums.split('.').filter_map(|x| x.parse().ok()).collect();
    let (major, minor, micro) = (
        n.first().copied().unwrap_or(0),
        n.get(1).copied().unwrap_or(0),
        n.get(2).copied().unwrap_or(0),
    );
    let level_len = tail
        .find(|c: char| c.is_ascii_digit())
        .unwrap_or(tail.len());
    let (level, serial) = tail.split_at(level_len);
    let releaselevel = match level {
        "" => "final",
        "a" => "alpha",
        "b" => "beta",
        "rc" => "candidate",
        other => other,
    };
    let serial: i64 = serial.parse().unwrap_or(0);
    f.insert(
        "python".into(),
        json!({
            "executable": exe.trim(),
            "has_sslcontext": true,
            "type": "cpython",
            "version": {"major": major, "micro": micro, "minor": minor,
                        "releaselevel": releaselevel, "serial": serial},
            "version_info": [major, minor, micro, releaselevel, serial],
        }),
    );
    f.insert(
        "python_version".into(),
        json!(format!("{major}.{minor}.{micro}")),
    );
}

/// `system_capabilities(_enforced)` from `capsh --print`'s `Current:` line, split as Ansible
/// splits it (at the first `=`, then at commas); absent without `capsh`.
fn capabilities(s: &Sections, f: &mut Map<String, Json>) {
    let lines = s.lines("capsh");
    if lines.first().map(|l| l.trim()) != Some("found") {
        return;
    }
    let mut enforced = "NA";
    let mut caps: Vec<Json> = Vec::new();
    for line in &lines[1..] {
        if let Some(rest) = line.strip_prefix("Current:") {
            let value = rest.split(':').next().unwrap_or("").trim();
            if value == "=ep" {
                enforced = "False";
                caps.clear();
            } else {
                enforced = "True";
                caps = line
                    .split('=')
                    .nth(1)
                    .unwrap_or("")
                    .split(',')
                    .map(|c| json!(c.trim()))
                    .collect();
            }
        }
    }
    f.insert("system_capabilities_enforced".into(), json!(enforced));
    f.insert("system_capabilities".into(), Json::Array(caps));
}

/// `cmdline`/`proc_cmdline` (the kernel command line: the last value of a repeated key, or all
/// of them as a list; a bare word is `true`), the SSH host public keys, and `is_chroot`.
fn host_identity(s: &Sections, f: &mut Map<String, Json>) {
    let line = s.get("cmdline").trim();
    if !line.is_empty() {
        let mut cmdline = Map::new();
        let mut proc_cmdline = Map::new();
        for word in line.split_whitespace() {
            let (k, v) = match word.split_once('=') {
                Some((k, v)) => (k, json!(v)),
                None => (word, json!(true)),
            };
            cmdline.insert(k.to_string(), v.clone());
            match proc_cmdline.get_mut(k) {
                Some(Json::Array(list)) => list.push(v),
                Some(prev) => *prev = json!([prev.clone(), v]),
                None => {
                    proc_cmdline.insert(k.to_string(), v);
                }
            }
        }
        f.insert("cmdline".into(), Json::Object(cmdline));
        f.insert("proc_cmdline".into(), Json::Object(proc_cmdline));
    }
    for line in s.lines("ssh_keys") {
        let mut w = line.split_whitespace();
        let (Some(kind), Some(keytype), Some(key)) = (w.next(), w.next(), w.next()) else {
            continue;
        };
        f.insert(format!("ssh_host_key_{kind}_public"), json!(key));
        f.insert(
            format!("ssh_host_key_{kind}_public_keytype"),
            json!(keytype),
        );
    }
    // Ansible: `debian_chroot` set, else `/` differs from PID 1's root; when PID 1's root
    // cannot be seen, `/` is not the file system's root inode (2; 256 btrfs, 128 xfs).
    let root = s.kv_get("chroot", "root");
    if !root.is_empty() {
        let proc1 = s.kv_get("chroot", "proc1");
        let chroot = if !s.kv_get("chroot", "debian_chroot").is_empty() {
            true
        } else if !proc1.is_empty() {
            root != proc1
        } else {
            let fstype = s.kv_get("chroot", "fstype");
            let root_ino = if fstype.contains("btrfs") {
                256
            } else if fstype.contains("xfs") {
                128
            } else {
                2
            };
            root.split_whitespace().nth(1) != Some(&root_ino.to_string())
        };
        f.insert("is_chroot".into(), json!(chroot));
    }
}

/// `ansible_local`: each `*.fact` file of the fact path by name (without `.fact`), parsed as
/// JSON, else as INI (sections of lower-cased options, as Python's ConfigParser reads them),
/// else an error string, as setup reports it. Executable files were run by the probe.
fn local_facts(s: &Sections) -> Json {
    use base64::Engine;
    let b64 = |x: &str| {
        base64::engine::general_purpose::STANDARD
            .decode(x.trim())
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    };
    let mut files: Vec<(String, Json)> = Vec::new();
    for line in s.lines("local") {
        let mut w = line.split(' ');
        let (Some(rc), Some(path)) = (w.next(), w.next()) else {
            continue;
        };
        let path = b64(path);
        let out = b64(w.next().unwrap_or(""));
        let err = b64(w.next().unwrap_or(""));
        let base = path
            .rsplit('/')
            .next()
            .unwrap_or(&path)
            .replace(".fact", "");
        let value = if rc != "0" {
            json!(format!(
                "Failure executing fact script ({path}), rc: {rc}, err: {err}"
            ))
        } else {
            serde_json::from_str::<Json>(&out)
                .ok()
                .or_else(|| parse_ini(&out))
                .unwrap_or_else(|| {
                    json!(format!(
                        "error loading facts as JSON or ini - please check content: {path}"
                    ))
                })
        };
        files.push((base, value));
    }
    // Python's sorted(glob(...)) order.
    files.sort_by(|a, b| a.0.cmp(&b.0));
    Json::Object(files.into_iter().collect())
}

/// An INI text as Python's ConfigParser reads it: `{section: {option: value}}` with option
/// names lower-cased, `=` or `:` separators, `#`/`;` comment lines, indented continuation
/// lines and `[DEFAULT]` options copied into every section. `None` where ConfigParser fails
/// (an option before any section, a line that is not an option, a duplicate section).
fn parse_ini(text: &str) -> Option<Json> {
    let mut sections: Vec<(String, Vec<(String, String)>)> = Vec::new();
    let mut defaults: Vec<(String, String)> = Vec::new();
    // Which list the last option went to, for continuation lines.
    let mut in_default = false;
    let mut current: Option<usize> = None;
    let mut last_key: Option<String> = None;
    for raw in text.lines() {
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        let indented = raw.starts_with([' ', '\t']);
        if indented && last_key.is_some() {
            let list = if in_default {
                &mut defaults
            } else {
                &mut sections.get_mut(current?)?.1
            };
            if let Some(entry) = list.last_mut() {
                entry.1.push('\n');
                entry.1.push_str(trimmed);
            }
            continue;
        }
        if let Some(name) = trimmed.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
            last_key = None;
            if name == "DEFAULT" {
                in_default = true;
                continue;
            }
            if sections.iter().any(|(n, _)| n == name) {
                return None;
            }
            in_default = false;
            sections.push((name.to_string(), Vec::new()));
            current = Some(sections.len() - 1);
            continue;
        }
        let cut = trimmed.find(['=', ':'])?;
        let key = trimmed[..cut].trim().to_lowercase();
        let value = trimmed[cut + 1..].trim().to_string();
        if key.is_empty() {
            return None;
        }
        let list = if in_default {
            &mut defaults
        } else {
            &mut sections.get_mut(current?)?.1
        };
        if list.iter().any(|(k, _)| *k == key) {
            return None;
        }
        list.push((key.clone(), value));
        last_key = Some(key);
    }
    let mut out = Map::new();
    for (name, opts) in sections {
        let mut m = Map::new();
        for (k, v) in opts.iter().chain(defaults.iter()) {
            if !m.contains_key(k) {
                m.insert(k.clone(), json!(v));
            }
        }
        out.insert(name, Json::Object(m));
    }
    Some(Json::Object(out))
}

/// `findmnt -r` escapes spaces and other unsafe bytes as `\xHH`.
fn unescape_findmnt(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && b.get(i + 1) == Some(&b'x')
            && let Some(v) = s
                .get(i + 2..i + 4)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 4;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `/proc/mounts` escapes spaces, tabs, newlines and backslashes as `\ooo`.
fn unescape_mount(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..=i + 3].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let v = (b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0');
            out.push(v);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `ansible_mounts`: real (device-backed or network) filesystems with `statvfs` sizes, as
/// Ansible's Linux mount collector lists them.
fn mounts(s: &Sections, f: &mut Map<String, Json>) {
    let uuids: Vec<(&str, &str)> = s
        .lines("uuids")
        .into_iter()
        .filter_map(|l| l.split_once(' '))
        .collect();
    // Ansible marks bind mounts (findmnt shows their SOURCE as `dev[/dir]`) with `,bind`.
    let binds: Vec<String> = s
        .lines("findmnt")
        .into_iter()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            let (target, source) = (w.next()?, w.next()?);
            source.contains(']').then(|| unescape_findmnt(target))
        })
        .collect();
    let mut list = Vec::new();
    for line in s.lines("mounts") {
        let Some((fields, stats)) = line.rsplit_once('|') else {
            continue;
        };
        let w: Vec<&str> = fields.split(' ').collect();
        if w.len() < 6 {
            continue;
        }
        let n: Vec<i64> = stats
            .split_whitespace()
            .filter_map(|x| x.parse().ok())
            .collect();
        let device = unescape_mount(w[0]);
        let mount = unescape_mount(w[1]);
        let mut options = w[3].to_string();
        if binds.contains(&mount) && !options.contains("bind") {
            options.push_str(",bind");
        }
        let mut m = Map::new();
        if let [frsize, bsize, blocks, bavail, files, ffree] = n[..] {
            m.insert("block_available".into(), json!(bavail));
            m.insert("block_size".into(), json!(bsize));
            m.insert("block_total".into(), json!(blocks));
            m.insert("block_used".into(), json!(blocks - bavail));
            m.insert("inode_available".into(), json!(ffree));
            m.insert("inode_total".into(), json!(files));
            m.insert("inode_used".into(), json!(files - ffree));
            m.insert("size_available".into(), json!(frsize * bavail));
            m.insert("size_total".into(), json!(frsize * blocks));
        }
        m.insert("device".into(), json!(device));
        m.insert("dump".into(), json!(w[4].parse::<i64>().unwrap_or(0)));
        m.insert("fstype".into(), json!(w[2]));
        m.insert("mount".into(), json!(mount));
        m.insert("options".into(), json!(options));
        m.insert("passno".into(), json!(w[5].parse::<i64>().unwrap_or(0)));
        let uuid = uuids
            .iter()
            .find(|(dev, _)| *dev == device)
            .map(|(_, u)| *u)
            .unwrap_or("N/A");
        m.insert("uuid".into(), json!(uuid));
        list.push(Json::Object(m));
    }
    f.insert("mounts".into(), Json::Array(list));
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod image_tests {
    use super::*;

    #[test]
    fn an_image_describes_itself_not_the_controller() {
        let raw = "@@jig-facts:uname\nbuildhost.example\nLinux\n6.1\n#1\nx86_64\n\
                   @@jig-facts:ip_link\n1: eth-0: <UP> mtu 1500\n@@jig-facts:cmdline\nro quiet\n\
                   @@jig-facts:chroot\nroot=2049 2\nproc1=2049 2\n";
        let mut v = from_probe_output(raw);
        image_view(&mut v, "web.example.org\n\nsysvinit\n");
        let f = &v["ansible_facts"];
        assert_eq!(f["hostname"], json!("web"));
        assert_eq!(v["ansible_fqdn"], json!("web.example.org"));
        assert_eq!(v["ansible_domain"], json!("example.org"));
        assert_eq!(v["ansible_service_mgr"], json!("sysvinit"));
        assert_eq!(v["ansible_is_chroot"], json!(true));
        assert_eq!(v["ansible_interfaces"], json!([]));
        assert!(!v.contains_key("ansible_cmdline") && f.get("cmdline").is_none());
        assert!(!v.contains_key("ansible_eth_0"));
        assert_eq!(v["ansible_kernel"], json!("6.1"));
        let mut v = from_probe_output(raw);
        image_view(&mut v, "\n\nsystemd\n");
        assert_eq!(v["ansible_hostname"], json!("localhost"));
        assert_eq!(v["ansible_service_mgr"], json!("systemd"));
    }
}

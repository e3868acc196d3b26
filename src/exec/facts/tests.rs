//! Facts from recorded probe outputs (compared with what `ansible -m setup` 2.19 reported on
//! the same machine), and from a real local probe.

use serde_json::json;

use super::*;
use crate::connection::local::LocalConnection;

fn facts(fixture: &str) -> VarMap {
    from_probe_output(fixture)
}

/// Recorded on a Debian 12 container where `ansible -m setup` reported the values asserted.
#[test]
fn debian12_container_matches_ansible_setup() {
    let f = facts(include_str!("debian12-container.txt"));
    let expect = [
        ("ansible_hostname", json!("vm")),
        ("ansible_nodename", json!("vm")),
        ("ansible_fqdn", json!("localhost")),
        ("ansible_domain", json!("")),
        ("ansible_system", json!("Linux")),
        ("ansible_kernel", json!("6.18.44-fc-v657")),
        ("ansible_kernel_version", json!("#1 SMP PREEMPT_DYNAMIC @0")),
        ("ansible_architecture", json!("x86_64")),
        ("ansible_machine", json!("x86_64")),
        ("ansible_os_family", json!("Debian")),
        ("ansible_distribution", json!("Debian")),
        ("ansible_distribution_version", json!("12.11")),
        ("ansible_distribution_major_version", json!("12")),
        ("ansible_distribution_minor_version", json!("11")),
        ("ansible_distribution_release", json!("bookworm")),
        ("ansible_pkg_mgr", json!("apt")),
        ("ansible_service_mgr", json!("process_api")),
        ("ansible_user_id", json!("root")),
        ("ansible_user_uid", json!(0)),
        ("ansible_user_gid", json!(0)),
        ("ansible_user_dir", json!("/root")),
        ("ansible_user_shell", json!("/bin/bash")),
        ("ansible_user_gecos", json!("root")),
        ("ansible_processor_vcpus", json!(2)),
        ("ansible_processor_count", json!(1)),
        ("ansible_processor_cores", json!(2)),
        ("ansible_processor_threads_per_core", json!(1)),
        ("ansible_processor_nproc", json!(2)),
        (
            "ansible_processor",
            json!([
                "0",
                "GenuineIntel",
                "Intel(R) Xeon(R) Processor",
                "1",
                "GenuineIntel",
                "Intel(R) Xeon(R) Processor"
            ]),
        ),
        ("ansible_memtotal_mb", json!(24152)),
        ("ansible_swaptotal_mb", json!(0)),
        ("ansible_virtualization_type", json!("docker")),
        ("ansible_virtualization_role", json!("guest")),
        (
            "ansible_virtualization_tech_guest",
            json!(["docker", "container"]),
        ),
        ("ansible_virtualization_tech_host", json!(["kvm"])),
        (
            "ansible_lsb",
            json!({"codename": "bookworm", "description": "Debian GNU/Linux 12 (bookworm)",
                   "id": "Debian", "major_release": "12", "release": "12"}),
        ),
        ("ansible_local", json!({})),
        ("ansible_selinux", json!({"status": "disabled"})),
        ("ansible_apparmor", json!({"status": "disabled"})),
        ("ansible_fips", json!(false)),
        ("ansible_userspace_bits", json!("64")),
        ("ansible_dns", json!({"nameservers": ["10.255.255.53"]})),
        (
            "ansible_machine_id",
            json!("3d1219c7c4c5404aaa1f6d2a48adfda4"),
        ),
    ];
    for (k, v) in expect {
        assert_eq!(f.get(k), Some(&v), "{k}");
    }
    assert_eq!(
        f["ansible_env"],
        json!({"HOME": "/root", "PATH": "/usr/bin:/bin", "MULTI": "a\nb"})
    );
    let dt = &f["ansible_date_time"];
    for key in [
        "date",
        "day",
        "epoch",
        "epoch_int",
        "hour",
        "iso8601",
        "iso8601_basic",
        "iso8601_basic_short",
        "iso8601_micro",
        "minute",
        "month",
        "second",
        "time",
        "tz",
        "tz_dst",
        "tz_offset",
        "weekday",
        "weekday_number",
        "weeknumber",
        "year",
    ] {
        assert!(dt.get(key).is_some_and(Json::is_string), "date_time.{key}");
    }
    // Network facts, as `ansible -m setup` reported them on that machine.
    assert_eq!(
        f["ansible_default_ipv4"],
        json!({"address": "192.0.2.2", "alias": "eth0", "broadcast": "192.0.2.255",
               "gateway": "192.0.2.1", "interface": "eth0", "macaddress": "02:fc:00:00:00:01",
               "mtu": 1400, "netmask": "255.255.255.0", "network": "192.0.2.0", "prefix": "24",
               "type": "ether"})
    );
    assert_eq!(
        f["ansible_default_ipv6"],
        json!({"address": "fd00::2", "gateway": "fd00::1", "interface": "eth0",
               "macaddress": "02:fc:00:00:00:01", "mtu": 1400, "prefix": "64",
               "scope": "global", "type": "ether"})
    );
    assert_eq!(f["ansible_all_ipv4_addresses"], json!(["192.0.2.2"]));
    assert_eq!(
        f["ansible_all_ipv6_addresses"],
        json!(["fd00::2", "fe80::fc:ff:fe00:1"])
    );
    assert_eq!(
        f["ansible_interfaces"],
        json!(["eth0", "ifb0", "ifb1", "lo"])
    );
    assert_eq!(
        f["ansible_lo"],
        json!({"active": true, "device": "lo", "ipv4": {"address": "127.0.0.1",
               "broadcast": "", "netmask": "255.0.0.0", "network": "127.0.0.0", "prefix": "8"},
               "ipv6": [{"address": "::1", "prefix": "128", "scope": "host"}], "mtu": 65536,
               "promisc": false, "type": "loopback"})
    );
    assert_eq!(
        f["ansible_ifb0"],
        json!({"active": false, "device": "ifb0", "macaddress": "2e:69:d9:16:5b:0a",
               "mtu": 1500, "promisc": false, "type": "ether"})
    );
    // The python section was added by hand (Debian 12's /usr/bin/python3); Ansible reports
    // the interpreter it runs with instead.
    assert_eq!(f["ansible_python_version"], json!("3.11.2"));
    assert_eq!(f["ansible_python"]["version"]["major"], json!(3));
    // ansible_facts holds the same facts without the prefix.
    let af = &f["ansible_facts"];
    assert_eq!(af["os_family"], json!("Debian"));
    assert_eq!(
        af["distribution_release"],
        f["ansible_distribution_release"]
    );
    assert!(af.get("facts").is_none());
}

#[test]
fn ubuntu_on_kvm_with_systemd() {
    let f = facts(include_str!("ubuntu2204-kvm.txt"));
    assert_eq!(f["ansible_hostname"], json!("web01"));
    assert_eq!(f["ansible_nodename"], json!("web01.example.com"));
    assert_eq!(f["ansible_fqdn"], json!("web01.example.com"));
    assert_eq!(f["ansible_domain"], json!("example.com"));
    assert_eq!(f["ansible_distribution"], json!("Ubuntu"));
    assert_eq!(f["ansible_distribution_version"], json!("22.04"));
    assert_eq!(f["ansible_distribution_major_version"], json!("22"));
    assert_eq!(f["ansible_distribution_release"], json!("jammy"));
    assert_eq!(f["ansible_os_family"], json!("Debian"));
    assert_eq!(f["ansible_service_mgr"], json!("systemd"));
    assert_eq!(f["ansible_virtualization_type"], json!("kvm"));
    assert_eq!(f["ansible_virtualization_role"], json!("guest"));
    assert_eq!(f["ansible_processor_count"], json!(2));
    assert_eq!(f["ansible_processor_cores"], json!(1));
    assert_eq!(f["ansible_processor_vcpus"], json!(2));
    assert_eq!(f["ansible_memtotal_mb"], json!(3935));
    assert_eq!(
        f["ansible_memory_mb"]["swap"],
        json!({"cached": 0, "free": 1024, "total": 2047, "used": 1023})
    );
    assert_eq!(f["ansible_user_gecos"], json!("Deploy User,,,"));
    assert_eq!(
        f["ansible_lsb"],
        json!({"id": "Ubuntu", "release": "22.04", "codename": "jammy",
               "description": "Ubuntu 22.04.3 LTS", "major_release": "22"})
    );
    assert_eq!(f["ansible_apparmor"], json!({"status": "enabled"}));
    assert_eq!(f["ansible_system_vendor"], json!("QEMU"));
    assert_eq!(
        f["ansible_python"],
        json!({"executable": "/usr/bin/python3", "has_sslcontext": true, "type": "cpython",
               "version": {"major": 3, "micro": 0, "minor": 13, "releaselevel": "candidate",
                           "serial": 1},
               "version_info": [3, 13, 0, "candidate", 1]})
    );
    assert_eq!(f["ansible_python_version"], json!("3.13.0"));
    assert_eq!(f["ansible_bios_vendor"], json!("SeaBIOS"));
    assert_eq!(
        f["ansible_product_name"],
        json!("Standard PC (Q35 + ICH9, 2009)")
    );
    assert_eq!(
        f["ansible_loadavg"],
        json!({"1m": 0.5, "5m": 0.25, "15m": 0.125})
    );
    assert_eq!(
        f["ansible_dns"],
        json!({"nameservers": ["127.0.0.53"], "search": ["example.com"],
               "options": {"edns0": true, "trust-ad": true}})
    );
    assert_eq!(
        f["ansible_mounts"],
        json!([
            {"block_available": 250, "block_size": 4096, "block_total": 1000, "block_used": 750,
             "device": "/dev/vda1", "dump": 0, "fstype": "ext4", "inode_available": 4000,
             "inode_total": 5000, "inode_used": 1000, "mount": "/", "options": "rw,relatime",
             "passno": 1, "size_available": 1_024_000, "size_total": 4_096_000,
             "uuid": "1111-2222"},
            {"block_available": 40, "block_size": 8192, "block_total": 100, "block_used": 60,
             "device": "/dev/sdb1", "dump": 0, "fstype": "xfs", "inode_available": 900,
             "inode_total": 1000, "inode_used": 100, "mount": "/srv/my data",
             "options": "rw,noatime", "passno": 2, "size_available": 163_840,
             "size_total": 409_600, "uuid": "N/A"},
            {"device": "nas:/export", "dump": 0, "fstype": "nfs4", "mount": "/mnt/nas",
             "options": "rw", "passno": 0, "uuid": "N/A"},
        ])
    );
    let dt = &f["ansible_date_time"];
    assert_eq!(dt["iso8601"], json!("2023-11-14T22:13:20Z"));
    assert_eq!(dt["iso8601_micro"], json!("2023-11-14T22:13:20.123456Z"));
    assert_eq!(dt["iso8601_basic"], json!("20231114T231320123456"));
    assert_eq!(dt["time"], json!("23:13:20"));
    assert_eq!(dt["tz"], json!("CET"));
    assert_eq!(dt["tz_dst"], json!("CEST"));
    assert_eq!(dt["tz_offset"], json!("+0100"));
}

#[test]
fn service_manager_falls_back_like_ansible() {
    let base = include_str!("ubuntu2204-kvm.txt");
    // PID 1 is a shell (a container entry point): not trusted; /run/systemd/system decides.
    let shell_pid1 = base.replace("@@jig-facts:pid1\nsystemd\n", "@@jig-facts:pid1\nbash\n");
    assert_eq!(facts(&shell_pid1)["ansible_service_mgr"], json!("systemd"));
    let no_systemd = shell_pid1.replace(
        "@@jig-facts:systemd\nyes\n",
        "@@jig-facts:systemctl\nyes\n@@jig-facts:systemd\n",
    );
    // /sbin/init links to systemd: the offline check still says systemd.
    assert_eq!(facts(&no_systemd)["ansible_service_mgr"], json!("systemd"));
    // ... only with systemctl installed, and only for a link named exactly `systemd`.
    let no_systemctl = no_systemd.replace("@@jig-facts:systemctl\nyes\n", "");
    assert_eq!(
        facts(&no_systemctl)["ansible_service_mgr"],
        json!("sysvinit")
    );
    let other_link = no_systemd.replace("/lib/systemd/systemd", "/lib/not-systemd");
    assert_eq!(facts(&other_link)["ansible_service_mgr"], json!("sysvinit"));
    let sysv = no_systemd.replace("/lib/systemd/systemd", "");
    assert_eq!(facts(&sysv)["ansible_service_mgr"], json!("sysvinit"));
    // A `ps` that printed a pid first (busybox) is not PID 1's name: /sbin/init decides.
    let busybox = base.replace(
        "@@jig-facts:pid1\nsystemd\n",
        "@@jig-facts:pid1\n    1 root      0:01 init\n",
    );
    assert_eq!(facts(&busybox)["ansible_service_mgr"], json!("systemd"));
    // A PID 1 named after a custom init is its own service manager (the test bed's).
    let custom = base.replace(
        "@@jig-facts:pid1\nsystemd\n",
        "@@jig-facts:pid1\njig-init\n",
    );
    assert_eq!(facts(&custom)["ansible_service_mgr"], json!("jig-init"));
    // A path ending in `/` has an empty name: Ansible's fallback.
    let empty = base.replace("@@jig-facts:pid1\nsystemd\n", "@@jig-facts:pid1\n/odd/\n");
    assert_eq!(facts(&empty)["ansible_service_mgr"], json!("service"));
}

#[test]
fn systemd_version_fact_like_ansible() {
    let base = include_str!("ubuntu2204-kvm.txt");
    assert!(facts(base).get("ansible_systemd").is_none());
    let with = base.replace(
        "@@jig-facts:pid1\n",
        "@@jig-facts:systemd_version\nsystemd 252 (252.30-1~deb12u2)\n+PAM +AUDIT \
         default-hierarchy=unified\n@@jig-facts:pid1\n",
    );
    let f = facts(&with);
    assert_eq!(
        f["ansible_systemd"],
        json!({"features": "+PAM +AUDIT default-hierarchy=unified", "version": 252})
    );
    assert_eq!(f["ansible_facts"]["systemd"]["version"], json!(252));
    // One line only: the features are the empty second line, as in Python.
    let one = base.replace(
        "@@jig-facts:pid1\n",
        "@@jig-facts:systemd_version\nsystemd 252\n@@jig-facts:pid1\n",
    );
    assert_eq!(
        facts(&one)["ansible_systemd"],
        json!({"features": "", "version": 252})
    );
}

#[test]
fn garbage_and_empty_output_do_not_panic() {
    for raw in [
        "",
        "@@jig-facts:",
        "@@jig-facts:date\n1 2 3\n",
        "@@jig-facts:uname\n",
        "@@jig-facts:cpuinfo\nphysical id: 0\ncpu cores: 0\nsiblings: x\n",
        "@@jig-facts:meminfo\nMemTotal:\n",
        "@@jig-facts:passwd\n:::\n",
    ] {
        let f = facts(raw);
        assert!(f.contains_key("ansible_facts"), "{raw:?}");
    }
    assert_eq!(
        facts("")["ansible_virtualization_type"],
        json!("NA"),
        "nothing found means NA, as Ansible says"
    );
}

#[test]
fn utc_calendar_is_right() {
    assert_eq!(utc_civil(0), (1970, 1, 1, 0, 0, 0));
    assert_eq!(utc_civil(951_782_400), (2000, 2, 29, 0, 0, 0));
    assert_eq!(utc_civil(1_700_000_000), (2023, 11, 14, 22, 13, 20));
    assert_eq!(utc_civil(-1), (1969, 12, 31, 23, 59, 59));
}

/// The probe really runs, in one round trip, and agrees with the controller's own view.
#[tokio::test]
async fn gathers_this_machine_in_one_command() {
    let conn = Connection::Local(LocalConnection::new("localhost"));
    let f = gather(&conn).await.expect("local probe runs");
    let uname = |flag: &str| {
        let out = std::process::Command::new("uname")
            .arg(flag)
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    assert_eq!(f["ansible_nodename"], json!(uname("-n")));
    assert_eq!(f["ansible_kernel"], json!(uname("-r")));
    assert_eq!(f["ansible_machine"], json!(uname("-m")));
    assert_eq!(f["ansible_system"], json!("Linux"));
    let uid = unsafe { libc::geteuid() };
    assert_eq!(f["ansible_user_uid"], json!(uid));
    assert!(f["ansible_processor_vcpus"].as_i64().unwrap_or(0) >= 1);
    assert!(f["ansible_memtotal_mb"].as_i64().unwrap_or(0) > 0);
    assert_eq!(
        f["ansible_env"]["PATH"],
        json!(std::env::var("PATH").unwrap_or_default())
    );
    let epoch: i64 = f["ansible_date_time"]["epoch"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!((now - epoch).abs() < 60);
    if std::path::Path::new("/etc/debian_version").exists() {
        assert_eq!(f["ansible_os_family"], json!("Debian"));
        assert_eq!(f["ansible_pkg_mgr"], json!("apt"));
    }
    assert_eq!(f["ansible_facts"]["kernel"], f["ansible_kernel"]);
    // The root filesystem is device-backed here, so it is listed with its sizes.
    let mounts = f["ansible_mounts"].as_array().cloned().unwrap_or_default();
    if let Some(root) = mounts.iter().find(|m| m["mount"] == json!("/")) {
        assert!(root["size_total"].as_i64().unwrap_or(0) > 0);
    }
}

fn subset(items: &[&str]) -> Subset {
    let v: Vec<String> = items.iter().map(|s| s.to_string()).collect();
    Subset::parse(&v).unwrap()
}

#[test]
fn gather_subset_resolves_as_ansible_does() {
    let all = subset(&[]);
    assert_eq!(all.requested(), ["all"]);
    for c in COLLECTORS {
        assert!(all.includes(c), "{c}");
    }
    // `!all` keeps the minimal set; naming a collector brings it back.
    let min = subset(&["!all"]);
    assert!(min.includes("distribution") && min.includes("local") && min.includes("dns"));
    assert!(!min.includes("hardware") && !min.includes("network") && !min.includes("virtual"));
    let net = subset(&["!all", "network"]);
    assert!(net.includes("network") && net.includes("platform") && !net.includes("hardware"));
    // Without `all`, `min` is still implied first.
    let net_only = subset(&["network"]);
    assert!(net_only.includes("network") && net_only.includes("user"));
    assert!(!net_only.includes("hardware"));
    // `!all,!min` leaves nothing; an explicit name survives both.
    let none = subset(&["!all", "!min"]);
    assert!(COLLECTORS.iter().all(|c| !none.includes(c)));
    let dist = subset(&["!all", "!min", "distribution"]);
    assert!(dist.includes("distribution") && !dist.includes("platform"));
    // `!dmi` is the hardware collector; excluding an unknown name is ignored.
    let nohw = subset(&["all", "!dmi", "!nosuch"]);
    assert!(!nohw.includes("hardware") && nohw.includes("network"));
    let e = Subset::parse(&["hardwre".to_string()]).unwrap_err();
    assert!(
        e.contains("Bad subset 'hardwre'") && e.contains("network"),
        "{e}"
    );
}

#[test]
fn every_fact_belongs_to_a_collector() {
    for raw in [
        include_str!("debian12-container.txt"),
        include_str!("ubuntu2204-kvm.txt"),
    ] {
        let f = facts(raw);
        let facts = f["ansible_facts"].as_object().unwrap();
        let ifaces: Vec<String> = facts["interfaces"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
        for k in facts.keys() {
            if k == "gather_subset" || k == "module_setup" {
                continue;
            }
            assert!(collector_of(k, &ifaces).is_some(), "{k} has no collector");
        }
    }
}

#[test]
fn subsets_filter_the_facts_and_are_echoed() {
    let raw = include_str!("debian12-container.txt");
    let opts = |items: &[&str]| GatherOptions {
        subset: subset(items),
        ..GatherOptions::default()
    };
    let f = from_probe_output_with(raw, &opts(&["!all"]));
    assert_eq!(f["ansible_distribution"], json!("Debian"));
    assert!(f.contains_key("ansible_date_time") && f.contains_key("ansible_local"));
    for gone in [
        "ansible_memtotal_mb",
        "ansible_mounts",
        "ansible_interfaces",
        "ansible_default_ipv4",
        "ansible_virtualization_type",
        "ansible_processor_vcpus",
    ] {
        assert!(
            !f.contains_key(gone),
            "{gone} must not be gathered with !all"
        );
    }
    assert_eq!(f["gather_subset"], json!(["!all"]));
    assert_eq!(f["ansible_facts"]["gather_subset"], json!(["!all"]));

    let f = from_probe_output_with(raw, &opts(&["!all", "network"]));
    assert!(f.contains_key("ansible_default_ipv4") && f.contains_key("ansible_interfaces"));
    let first = f["ansible_interfaces"][0].as_str().unwrap().to_string();
    assert!(f.contains_key(&format!("ansible_{first}")), "{first}");
    assert!(!f.contains_key("ansible_memtotal_mb"));

    let f = from_probe_output_with(raw, &opts(&["!all", "!min"]));
    let keys: Vec<&String> = f["ansible_facts"].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["gather_subset", "module_setup"]);
}

#[test]
fn ini_local_facts_read_as_configparser_does() {
    let v = parse_ini(
        "# comment\n[General]\nName = web 1\nPort: 80\nmotd = line one\n  line two\n\
         ; another comment\n[DEFAULT]\nzone = eu\n[db]\nengine=pg\nzone = us\n",
    )
    .unwrap();
    assert_eq!(
        v,
        json!({
            "General": {"name": "web 1", "port": "80", "motd": "line one\nline two", "zone": "eu"},
            "db": {"engine": "pg", "zone": "us"}
        })
    );
    assert_eq!(parse_ini("").unwrap(), json!({}));
    assert!(
        parse_ini("key = value\n").is_none(),
        "option before any section"
    );
    assert!(parse_ini("[a]\nno separator\n").is_none());
    assert!(
        parse_ini("[a]\nx=1\n[a]\ny=2\n").is_none(),
        "duplicate section"
    );
}

/// Local facts from a real fact directory whose name needs quoting: JSON, INI, executable,
/// failing executable and unreadable content, each as setup reports it.
#[tokio::test]
async fn local_facts_are_read_and_run_from_the_fact_path() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("facts d 'q' $(touch pwned) é");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("app.fact"), r#"{"port": 8080, "name": "é \"x\""}"#).unwrap();
    std::fs::write(dir.join("site.fact"), "[main]\nRole = web\n").unwrap();
    std::fs::write(dir.join("broken.fact"), "not json nor ini\n").unwrap();
    std::fs::write(dir.join("ignored.txt"), "{}").unwrap();
    let run = dir.join("dyn.fact");
    std::fs::write(
        &run,
        "#!/bin/sh\necho '{\"pid\": '$$', \"args\": \"'\"$#\"'\"}'\n",
    )
    .unwrap();
    std::fs::set_permissions(&run, std::fs::Permissions::from_mode(0o755)).unwrap();
    let fail = dir.join("fail.fact");
    std::fs::write(&fail, "#!/bin/sh\necho oops >&2\nexit 3\n").unwrap();
    std::fs::set_permissions(&fail, std::fs::Permissions::from_mode(0o755)).unwrap();

    let conn = Connection::Local(LocalConnection::new("localhost"));
    let opts = GatherOptions {
        subset: subset(&["!all"]),
        fact_path: dir.display().to_string(),
    };
    let f = gather_with(&conn, None, &opts).await.expect("probe runs");
    let local = f["ansible_local"].as_object().unwrap();
    let names: Vec<&String> = local.keys().collect();
    assert_eq!(names, ["app", "broken", "dyn", "fail", "site"]);
    assert_eq!(local["app"], json!({"port": 8080, "name": "é \"x\""}));
    assert_eq!(local["site"], json!({"main": {"role": "web"}}));
    assert_eq!(local["dyn"]["args"], json!("0"));
    assert!(local["dyn"]["pid"].as_i64().is_some());
    let broken = dir.join("broken.fact");
    assert_eq!(
        local["broken"],
        json!(format!(
            "error loading facts as JSON or ini - please check content: {}",
            broken.display()
        ))
    );
    assert_eq!(
        local["fail"],
        json!(format!(
            "Failure executing fact script ({}), rc: 3, err: oops\n",
            fail.display()
        ))
    );
    assert!(!std::path::Path::new("pwned").exists());
    assert!(!f.contains_key("ansible_mounts"));

    // A fact path that does not exist gives an empty ansible_local.
    let opts = GatherOptions {
        fact_path: tmp.path().join("none").display().to_string(),
        ..GatherOptions::default()
    };
    let f = gather_with(&conn, None, &opts).await.unwrap();
    assert_eq!(f["ansible_local"], json!({}));
}

/// Ansible appends `,bind` to a bind mount's options (findmnt shows its source as
/// `dev[/dir]` in `findmnt --list`), names with spaces included; it never appends it twice.
#[test]
fn bind_mounts_are_marked_as_ansible_marks_them() {
    let raw = "@@jig-facts:mounts\n\
        /dev/vda /srv/a\\040b ext4 ro,relatime 0 0|4096 4096 10 5 100 50\n\
        /dev/vda / ext4 rw 0 0|4096 4096 10 5 100 50\n\
        /dev/vdb /mnt/x ext4 rw,bind 0 0|4096 4096 10 5 100 50\n\
        @@jig-facts:findmnt\n\
        / /dev/vda\n\
        /srv/a\\x20b /dev/vda[/srv/apt]\n\
        /mnt/x /dev/vdb[/x]\n";
    let f = facts(raw);
    let opts: Vec<(&str, &str)> = f["ansible_mounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["mount"].as_str().unwrap(), m["options"].as_str().unwrap()))
        .collect();
    assert_eq!(
        opts,
        [
            ("/srv/a b", "ro,relatime,bind"),
            ("/", "rw"),
            ("/mnt/x", "rw,bind")
        ]
    );
}

#[test]
fn cmdline_host_keys_chroot_and_sysfs_interface_details() {
    let raw = "@@jig-facts:cmdline\nro quiet console=ttyS0 console=tty0 root=/dev/vda1\n\
        @@jig-facts:ssh_keys\ned25519 ssh-ed25519 AAAAC3Nza host@x\nrsa ssh-rsa AAAAB3 \n\
        @@jig-facts:chroot\ndebian_chroot=\nroot=64769 2\nproc1=64769 2\nfstype=ext2/ext3\n\
        @@jig-facts:ip_link\n2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc fq state UP mode DEFAULT group default qlen 1000\\    link/ether 52:54:00:12:34:56 brd ff:ff:ff:ff:ff:ff\n\
        @@jig-facts:net_dirs\neth0\n\
        @@jig-facts:net_sys\neth0 0000:00:03.0 1000 virtio_net\nlo - - -\n";
    let f = facts(raw);
    assert_eq!(
        f["ansible_cmdline"],
        json!({"ro": true, "quiet": true, "console": "tty0", "root": "/dev/vda1"})
    );
    assert_eq!(
        f["ansible_proc_cmdline"]["console"],
        json!(["ttyS0", "tty0"])
    );
    assert_eq!(f["ansible_ssh_host_key_ed25519_public"], json!("AAAAC3Nza"));
    assert_eq!(
        f["ansible_ssh_host_key_ed25519_public_keytype"],
        json!("ssh-ed25519")
    );
    assert_eq!(f["ansible_ssh_host_key_rsa_public"], json!("AAAAB3"));
    assert_eq!(f["ansible_is_chroot"], json!(false));
    assert_eq!(f["ansible_eth0"]["pciid"], json!("0000:00:03.0"));
    assert_eq!(f["ansible_eth0"]["speed"], json!(1000));
    assert_eq!(f["ansible_eth0"]["module"], json!("virtio_net"));

    let chrooted = facts("@@jig-facts:chroot\nroot=2049 1234\nproc1=\nfstype=xfs\n");
    assert_eq!(chrooted["ansible_is_chroot"], json!(true));
    let xfs_root = facts("@@jig-facts:chroot\nroot=2049 128\nproc1=\nfstype=xfs\n");
    assert_eq!(xfs_root["ansible_is_chroot"], json!(false));
}

#[test]
fn capabilities_and_selinux_library_as_ansible_reports_them() {
    let f = facts(
        "@@jig-facts:libselinux\nno\n@@jig-facts:capsh\nfound\n\
         Current: =ep cap_sys_resource-ep\nBounding set =cap_chown,cap_kill\n",
    );
    assert_eq!(f["ansible_selinux_python_present"], json!(false));
    assert_eq!(
        f["ansible_selinux"],
        json!({"status": "Missing selinux Python library"})
    );
    assert_eq!(f["ansible_system_capabilities_enforced"], json!("True"));
    assert_eq!(
        f["ansible_system_capabilities"],
        json!(["ep cap_sys_resource-ep"])
    );
    let f = facts("@@jig-facts:libselinux\nyes\n@@jig-facts:capsh\nfound\nCurrent: =ep\n");
    assert_eq!(f["ansible_selinux_python_present"], json!(true));
    assert_eq!(f["ansible_selinux"], json!({"status": "disabled"}));
    assert_eq!(f["ansible_system_capabilities_enforced"], json!("False"));
    assert_eq!(f["ansible_system_capabilities"], json!([]));
    let f = facts("@@jig-facts:capsh\n");
    assert!(!f.contains_key("ansible_system_capabilities"));
}

#[test]
fn locally_reachable_ips_and_debian_distribution_file() {
    let f = facts(
        "@@jig-facts:os-release\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\n\
         VERSION_ID=\"12\"\n@@jig-facts:local_routes\nfound\n\
         local 10.0.0.5 dev eth0 proto kernel scope host src 10.0.0.5\n\
         broadcast 10.0.0.255 dev eth0 proto kernel scope link src 10.0.0.5\n\
         local 127.0.0.0/8 dev lo proto kernel scope host src 127.0.0.1\n\
         local 10.0.0.5 dev eth0 table local proto kernel\n\
         local ::1 dev lo proto kernel metric 0 pref medium\n\
         multicast ff00::/8 dev eth0 proto kernel metric 256 pref medium\n",
    );
    assert_eq!(
        f["ansible_locally_reachable_ips"],
        json!({"ipv4": ["10.0.0.5", "127.0.0.0/8"], "ipv6": ["::1"]})
    );
    assert_eq!(
        f["ansible_distribution_file_path"],
        json!("/etc/os-release")
    );
    assert_eq!(f["ansible_distribution_file_variety"], json!("Debian"));
    assert_eq!(f["ansible_distribution_file_parsed"], json!(true));
    assert!(!facts("@@jig-facts:local_routes\n").contains_key("ansible_locally_reachable_ips"));
}

#[test]
fn options_from_setup_args_and_play_keyword() {
    let o = GatherOptions::from_args(None, None).unwrap();
    assert_eq!(o, GatherOptions::default());
    let o =
        GatherOptions::from_args(Some(&json!("!all, network")), Some(&json!("/srv/f d"))).unwrap();
    assert_eq!(o.subset.requested(), ["!all", "network"]);
    assert!(o.subset.includes("network") && !o.subset.includes("hardware"));
    assert_eq!(o.fact_path, "/srv/f d");
    let o = GatherOptions::from_args(Some(&json!(["min"])), None).unwrap();
    assert!(!o.subset.includes("virtual"));
    assert!(
        GatherOptions::from_args(Some(&json!(["nope"])), None)
            .unwrap_err()
            .contains("Bad subset 'nope'")
    );
    assert!(GatherOptions::from_args(Some(&json!(3)), None).is_err());
    assert!(GatherOptions::from_args(None, Some(&json!([1]))).is_err());
}

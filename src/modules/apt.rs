//! The `apt` module: Debian packages with the host's own `apt-get`, `apt-cache`, `dpkg-query`
//! and `apt-mark` (no python3-apt).
//!
//! One round trip probes: it refreshes the package lists when `update_cache` asks and they are
//! older than `cache_valid_time` (skipped in check mode, as Ansible does), runs `apt-get clean`
//! when asked, then reports every named package's dpkg status, `apt-cache policy` and auto mark
//! (wildcards are expanded on the host), and each `deb:` file's control fields. The controller
//! plans with Ansible's rules (`package_status`, `install`, `remove` of ansible's apt.py), and
//! one more round trip runs the single `apt-get` command the plan needs, with `--simulate` in
//! check mode so a check run reports exactly what a real one would do. A run with nothing to do
//! costs one round trip.

use async_trait::async_trait;
use serde_json::{Value as Json, json};

use super::dpkg::{self, DpkgStatus, PackageSpec, Policy, VersionReq};
use super::remote::{self, Frames};
use super::{Diff, Module, ModuleArgs, ModuleContext, ModuleError, ModuleResult};
use crate::connection::Cmd;

/// The `apt` module.
pub struct Apt;

#[async_trait]
impl Module for Apt {
    fn name(&self) -> &'static str {
        "apt"
    }

    async fn run(
        &self,
        args: &ModuleArgs,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        let params = Params::from_args(args)?;
        match run_apt(&params, ctx).await? {
            Some(r) => Ok(r),
            None => Ok(ModuleResult::failed(format!(
                "apt-get was not found on {}: the apt module manages Debian and Ubuntu hosts",
                ctx.host
            ))),
        }
    }
}

/// Every argument the module accepts, aliases included.
pub(crate) const KNOWN: &[&str] = &[
    "state",
    "update_cache",
    "update-cache",
    "update_cache_retries",
    "update_cache_retry_max_delay",
    "cache_valid_time",
    "purge",
    "package",
    "pkg",
    "name",
    "deb",
    "default_release",
    "default-release",
    "install_recommends",
    "install-recommends",
    "force",
    "upgrade",
    "dpkg_options",
    "autoremove",
    "autoclean",
    "fail_on_autoremove",
    "policy_rc_d",
    "only_upgrade",
    "force_apt_get",
    "clean",
    "allow_unauthenticated",
    "allow-unauthenticated",
    "allow_downgrade",
    "allow-downgrade",
    "allow_downgrades",
    "allow-downgrades",
    "allow_change_held_packages",
    "lock_timeout",
    "auto_install_module_deps",
];

/// The desired package state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum State {
    Present,
    Absent,
    Latest,
    BuildDep,
    Fixed,
}

/// `upgrade:`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Upgrade {
    /// `yes`/`safe`: `apt-get upgrade --with-new-pkgs` (jig has no aptitude).
    Safe,
    /// `full`/`dist`: `apt-get dist-upgrade`.
    Dist,
}

/// The module's arguments, checked.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Params {
    pub state: State,
    pub packages: Vec<String>,
    pub debs: Vec<String>,
    pub update_cache: bool,
    pub cache_valid_time: i64,
    pub update_retries: i64,
    pub update_retry_max_delay: i64,
    pub purge: bool,
    pub default_release: Option<String>,
    pub install_recommends: Option<bool>,
    pub force: bool,
    pub upgrade: Option<Upgrade>,
    pub dpkg_options: Vec<String>,
    pub autoremove: bool,
    pub autoclean: bool,
    pub fail_on_autoremove: bool,
    pub policy_rc_d: Option<i64>,
    pub only_upgrade: bool,
    pub clean: bool,
    pub allow_unauthenticated: bool,
    pub allow_downgrade: bool,
    pub allow_change_held: bool,
    pub lock_timeout: i64,
}

impl Params {
    /// Reads and checks the arguments as Ansible's argument spec does.
    pub(crate) fn from_args(args: &ModuleArgs) -> Result<Params, super::ArgError> {
        args.check_known(KNOWN)?;
        let first_bool = |names: &[&str]| -> Result<Option<bool>, super::ArgError> {
            for n in names {
                if let Some(b) = args.bool(n)? {
                    return Ok(Some(b));
                }
            }
            Ok(None)
        };
        let first_str = |names: &[&str]| -> Result<Option<String>, super::ArgError> {
            for n in names {
                if let Some(s) = args.str(n)? {
                    return Ok(Some(s));
                }
            }
            Ok(None)
        };
        let state = match args.str("state")?.as_deref() {
            None | Some("present") => State::Present,
            Some("absent") => State::Absent,
            Some("latest") => State::Latest,
            Some("build-dep") => State::BuildDep,
            Some("fixed") => State::Fixed,
            Some(other) => {
                return Err(args.invalid(
                    "state",
                    format!(
                        "must be one of: absent, build-dep, fixed, latest, present, got: {other}"
                    ),
                ));
            }
        };
        let pkg_key = ["package", "pkg", "name"]
            .into_iter()
            .find(|k| args.get(k).is_some());
        let packages = match pkg_key {
            Some(k) => args.list(k)?.unwrap_or_default(),
            None => Vec::new(),
        };
        let upgrade_given = args.get("upgrade").is_some();
        let upgrade = match args.get("upgrade") {
            None => None,
            Some(v) => match super::args::parse_bool(v) {
                Some(true) => Some(Upgrade::Safe),
                Some(false) => None,
                None => match args.str("upgrade")?.as_deref() {
                    Some("safe") => Some(Upgrade::Safe),
                    Some("dist" | "full") => Some(Upgrade::Dist),
                    other => {
                        return Err(args.invalid(
                            "upgrade",
                            format!(
                                "must be one of: dist, full, no, safe, yes, got: {}",
                                other.unwrap_or_default()
                            ),
                        ));
                    }
                },
            },
        };
        let debs: Vec<String> = match args.str("deb")? {
            Some(d) => d.split(',').map(|s| s.trim().to_string()).collect(),
            None => Vec::new(),
        };
        let exclusive = [pkg_key.is_some(), !debs.is_empty(), upgrade_given]
            .iter()
            .filter(|b| **b)
            .count();
        if exclusive > 1 {
            return Err(args.error("parameters are mutually exclusive: deb|package|upgrade"));
        }
        let update_cache = first_bool(&["update_cache", "update-cache"])?;
        let autoremove = args.bool_or("autoremove", false)?;
        if pkg_key.is_none()
            && debs.is_empty()
            && !upgrade_given
            && update_cache.is_none()
            && !autoremove
            && args.get("autoremove").is_none()
        {
            return Err(args.error(
                "one of the following is required: autoremove, deb, package, update_cache, upgrade",
            ));
        }
        if debs.iter().any(|d| d.contains("://")) {
            return Err(args.invalid(
                "deb",
                "is a URL: jig installs .deb files already on the host; fetch it first with \
                 get_url and pass the path",
            ));
        }
        let dpkg_options = args
            .str("dpkg_options")?
            .unwrap_or_else(|| "force-confdef,force-confold".to_string())
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        Ok(Params {
            state,
            packages,
            debs,
            update_cache: update_cache.unwrap_or(false),
            cache_valid_time: args.int("cache_valid_time")?.unwrap_or(0),
            update_retries: args.int("update_cache_retries")?.unwrap_or(5),
            update_retry_max_delay: args.int("update_cache_retry_max_delay")?.unwrap_or(12),
            purge: args.bool_or("purge", false)?,
            default_release: first_str(&["default_release", "default-release"])?
                .filter(|s| !s.is_empty()),
            install_recommends: first_bool(&["install_recommends", "install-recommends"])?,
            force: args.bool_or("force", false)?,
            upgrade,
            dpkg_options,
            autoremove,
            autoclean: args.bool_or("autoclean", false)?,
            fail_on_autoremove: args.bool_or("fail_on_autoremove", false)?,
            policy_rc_d: args.int("policy_rc_d")?,
            only_upgrade: args.bool_or("only_upgrade", false)?,
            clean: args.bool_or("clean", false)?,
            allow_unauthenticated: first_bool(&["allow_unauthenticated", "allow-unauthenticated"])?
                .unwrap_or(false),
            allow_downgrade: first_bool(&[
                "allow_downgrade",
                "allow-downgrade",
                "allow_downgrades",
                "allow-downgrades",
            ])?
            .unwrap_or(false),
            allow_change_held: args.bool_or("allow_change_held_packages", false)?,
            lock_timeout: args.int("lock_timeout")?.unwrap_or(60),
        })
    }

    /// The package names without the `*` that means "every installed package".
    fn named(&self) -> Vec<String> {
        self.packages
            .iter()
            .filter(|p| p.as_str() != "*")
            .map(|p| p.trim().to_string())
            .collect()
    }

    /// `-o Dpkg::Options::=--X` for each dpkg option, and the lock wait.
    fn dpkg_opts(&self, c: &mut Cmd) {
        for o in &self.dpkg_options {
            c.arg("-o").arg(&format!("Dpkg::Options::=--{o}"));
        }
        c.arg("-o")
            .arg(&format!("DPkg::Lock::Timeout={}", self.lock_timeout));
    }
}

/// The probe: cache refresh, clean, then the state of every named package and deb file.
///
/// Positional parameters: update(0/1) valid_time check(0/1) lock release retries max_delay
/// clean(0/1) ndebs, then the deb paths, then the package names. Output records (NUL-framed):
/// `M<mtime> <now>`, `U-` (an update check mode skipped) or `U<rc>` + output + `N<mtime>`,
/// `C<rc>` + stdout + stderr for clean, `D<path>` + rc + control fields + dpkg status, and for
/// each name `S<name>` followed by `P<pkg>` + status + policy + auto + providers per package.
const PROBE: &str = r#"
command -v apt-get >/dev/null 2>&1 || { printf 'X\0'; exit 0; }
upd=$1 valid=$2 check=$3 lock=$4 rel=$5 retries=$6 maxd=$7 cln=$8 ndeb=$9; shift 9
jig_mtime() {
  if [ -e /var/lib/apt/periodic/update-success-stamp ]; then stat -c %Y /var/lib/apt/periodic/update-success-stamp
  elif [ -e /var/lib/apt/lists ]; then stat -c %Y /var/lib/apt/lists
  else echo 0; fi
}
if [ "$cln" = 1 ] && [ "$check" != 1 ]; then
  _e=$(mktemp) || exit 1
  _o=$(apt-get clean 2>"$_e"); _r=$?
  printf 'C%s\0%s\0%s\0' "$_r" "$_o" "$(cat "$_e")"; rm -f "$_e"
fi
_m=$(jig_mtime); _now=$(date +%s)
printf 'M%s %s\0' "$_m" "$_now"
if [ "$upd" = 1 ] && [ $((_m + valid)) -lt "$_now" ]; then
  if [ "$check" = 1 ]; then printf 'U-\0'
  else
    _n=0
    while :; do
      _o=$(apt-get update -q -o DPkg::Lock::Timeout="$lock" 2>&1); _r=$?
      [ "$_r" = 0 ] && break
      _n=$((_n + 1)); [ "$_n" -ge "$retries" ] && break
      _d=$((1 << (_n - 1))); [ "$_d" -gt "$maxd" ] && _d=$maxd
      sleep "$_d"
    done
    printf 'U%s\0%s\0' "$_r" "$_o"
    [ "$_r" = 0 ] || exit 0
    printf 'N%s\0' "$(jig_mtime)"
  fi
fi
jig_policy() {
  if [ -n "$rel" ]; then apt-cache -o "APT::Default-Release=$rel" policy -- "$@" 2>/dev/null
  else apt-cache policy -- "$@" 2>/dev/null; fi
}
jig_status() { dpkg-query -W -f '${db:Status-Abbrev} ${Version}\n' -- "$1" 2>/dev/null | head -n 1; }
_miss=
jig_pkg() {
  _st=$(jig_status "$1")
  printf 'P%s\0%s\0' "$1" "$_st"
  case $_st in ?i*) ;; *) _miss=1 ;; esac
}
set -f
_nargs=$#
_i=0
for _s in "$@"; do
  _i=$((_i + 1))
  if [ "$_i" -le "$ndeb" ]; then
    _o=$(dpkg-deb -f "$_s" Package Version Architecture 2>&1); _r=$?
    _pn=$(printf '%s\n' "$_o" | sed -n 's/^Package: //p')
    printf 'D%s\0%s\0%s\0' "$_s" "$_r" "$_o"
    if [ -n "$_pn" ]; then jig_status "$_pn"; fi
    printf '\0'
    continue
  fi
  printf 'S%s\0' "$_s"
  case $_s in
    *[][*?!]*)
      case $_s in *:*) _ma=1 ;; *) _ma= ;; esac
      for _n in $(apt-cache pkgnames 2>/dev/null | sort); do
        case $_n in *:*) [ -n "$_ma" ] || continue ;; esac
        case $_n in $_s) jig_pkg "$_n"; set -- "$@" "$_n" ;; esac
      done ;;
    *) jig_pkg "$_s"; set -- "$@" "$_s" ;;
  esac
done
shift "$_nargs"
# One apt-cache and one apt-mark for every package: each loads apt's whole cache.
if [ $# -gt 0 ]; then
  printf 'Q'; jig_policy "$@"; printf '\0'
  printf 'A'; apt-mark showauto -- "$@" 2>/dev/null; printf '\0'
  if [ -n "$_miss" ]; then
    printf 'V'; apt-cache showpkg -- "$@" 2>/dev/null; printf '\0'
    printf 'I'; dpkg-query -W -f '${Package} ${db:Status-Abbrev} ${Version}\n' 2>/dev/null; printf '\0'
  fi
fi
"#;

/// What the probe found about one package.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct PkgInfo {
    pub name: String,
    pub status: Option<DpkgStatus>,
    pub policy: Option<Policy>,
    pub auto: bool,
    /// Packages providing this (virtual) name, with their dpkg status.
    pub providers: Vec<(String, Option<DpkgStatus>)>,
}

/// What the probe found about one `deb:` file.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct DebInfo {
    pub path: String,
    pub rc: i32,
    pub fields: String,
    pub installed: Option<DpkgStatus>,
}

impl DebInfo {
    fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(": "))
    }
}

/// The cache refresh the probe did (or would do).
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Update {
    /// Not asked for, or the lists are fresh enough.
    NotDue,
    /// Due, but check mode does not refresh.
    Skipped,
    /// Ran: exit status, output, and the lists' mtime afterwards.
    Ran { rc: i32, output: String, mtime: i64 },
}

/// Everything the probe reports.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Probe {
    pub mtime: i64,
    pub update: Update,
    pub clean: Option<(i32, String, String)>,
    pub debs: Vec<DebInfo>,
    /// Each requested name (or pattern) with the packages it stands for.
    pub specs: Vec<(String, Vec<PkgInfo>)>,
}

/// The probe's command line for `params`.
pub(crate) fn probe_command(params: &Params, check: bool) -> String {
    let names: Vec<String> = params
        .named()
        .iter()
        .map(|s| PackageSpec::parse(s).name)
        .collect();
    let mut args: Vec<String> = vec![
        flag(params.update_cache || params.cache_valid_time > 0).into(),
        params.cache_valid_time.to_string(),
        flag(check).into(),
        params.lock_timeout.to_string(),
        params.default_release.clone().unwrap_or_default(),
        params.update_retries.max(1).to_string(),
        params.update_retry_max_delay.to_string(),
        flag(params.clean).into(),
        params.debs.len().to_string(),
    ];
    args.extend(params.debs.iter().cloned());
    if params.state != State::BuildDep {
        args.extend(names);
    }
    let mut c = Cmd::empty();
    c.raw(dpkg::APT_ENV)
        .raw(";\nset --")
        .args(&args)
        .raw(";")
        .raw(PROBE);
    c.into_string()
}

fn flag(b: bool) -> &'static str {
    if b { "1" } else { "0" }
}

/// Parses the probe's output; None when the host has no apt-get.
pub(crate) fn parse_probe(out: &[u8]) -> Result<Option<Probe>, String> {
    let mut f = Frames::new(out);
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let bad = |what: &str| format!("unexpected output from the apt probe ({what})");
    let mut policies = indexmap::IndexMap::new();
    let mut autos: Vec<String> = Vec::new();
    let mut provides: indexmap::IndexMap<String, Vec<String>> = indexmap::IndexMap::new();
    let mut installed: indexmap::IndexMap<String, String> = indexmap::IndexMap::new();
    let mut p = Probe {
        mtime: 0,
        update: Update::NotDue,
        clean: None,
        debs: Vec::new(),
        specs: Vec::new(),
    };
    while let Some(rec) = f.next_record() {
        let (tag, body) = match rec.split_first() {
            Some((t, b)) => (*t, text(b)),
            None => return Err(bad("empty record")),
        };
        match tag {
            b'X' => return Ok(None),
            b'C' => {
                let rc = body.parse().map_err(|_| bad("clean status"))?;
                let out = f.next_record().map(text).ok_or_else(|| bad("clean"))?;
                let err = f.next_record().map(text).ok_or_else(|| bad("clean"))?;
                p.clean = Some((rc, out, err));
            }
            b'M' => {
                let m = body.split(' ').next().unwrap_or("0");
                p.mtime = m.parse().map_err(|_| bad("mtime"))?;
            }
            b'U' if body == "-" => p.update = Update::Skipped,
            b'U' => {
                let rc = body.parse().map_err(|_| bad("update status"))?;
                let output = f.next_record().map(text).ok_or_else(|| bad("update"))?;
                p.update = Update::Ran {
                    rc,
                    output,
                    mtime: p.mtime,
                };
            }
            b'N' => {
                if let Update::Ran { mtime, .. } = &mut p.update {
                    *mtime = body.trim().parse().map_err(|_| bad("mtime"))?;
                }
            }
            b'D' => {
                let rc = f
                    .next_record()
                    .map(text)
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(|| bad("deb"))?;
                let fields = f.next_record().map(text).ok_or_else(|| bad("deb"))?;
                let st = f.next_record().map(text).ok_or_else(|| bad("deb"))?;
                p.debs.push(DebInfo {
                    path: body,
                    rc,
                    fields,
                    installed: dpkg::parse_status(&st),
                });
            }
            b'S' => p.specs.push((body, Vec::new())),
            b'P' => {
                let st = f.next_record().map(text).ok_or_else(|| bad("status"))?;
                let info = PkgInfo {
                    status: dpkg::parse_status(&st),
                    name: body,
                    ..PkgInfo::default()
                };
                match p.specs.last_mut() {
                    Some((_, pkgs)) => pkgs.push(info),
                    None => return Err(bad("package before name")),
                }
            }
            b'Q' => policies = dpkg::split_policies(&body),
            b'A' => autos = body.lines().map(|l| l.trim().to_string()).collect(),
            b'V' => provides = parse_provides(&body),
            b'I' => {
                for l in body.lines() {
                    if let Some((n, st)) = l.split_once(' ') {
                        installed.insert(n.to_string(), st.to_string());
                    }
                }
            }
            _ => return Err(bad("unknown record")),
        }
    }
    for (_, pkgs) in &mut p.specs {
        for info in pkgs {
            info.policy = policies
                .get(&info.name)
                .and_then(|t: &String| dpkg::parse_policy(t));
            info.auto = autos.contains(&info.name);
            info.providers = provides
                .get(&info.name)
                .map(|names| {
                    names
                        .iter()
                        .map(|n| {
                            let st = installed.get(n).and_then(|s| dpkg::parse_status(s));
                            (n.clone(), st)
                        })
                        .collect()
                })
                .unwrap_or_default();
        }
    }
    Ok(Some(p))
}

/// `apt-cache showpkg NAMES...`: each package's "Reverse Provides" (the packages providing it).
pub(crate) fn parse_provides(text: &str) -> indexmap::IndexMap<String, Vec<String>> {
    let mut out: indexmap::IndexMap<String, Vec<String>> = indexmap::IndexMap::new();
    let mut current: Option<String> = None;
    let mut in_provides = false;
    for line in text.lines() {
        if let Some(n) = line.strip_prefix("Package: ") {
            current = Some(n.trim().to_string());
            in_provides = false;
        } else if line.starts_with("Reverse Provides:") {
            in_provides = true;
        } else if in_provides
            && let Some(c) = &current
            && let Some(name) = line.split_whitespace().next()
        {
            let list = out.entry(c.clone()).or_default();
            if !list.iter().any(|n| n == name) {
                list.push(name.to_string());
            }
        }
    }
    out
}

/// What can be installed for a package (Ansible's `version_installable`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Installable {
    No,
    Version(String),
    /// A virtual package: apt chooses the provider.
    Virtual,
}

/// Ansible's `package_status`: installed, installed version matches, installable, has files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Status {
    pub installed: bool,
    pub version_ok: bool,
    pub installable: Installable,
    pub has_files: bool,
}

/// The status of `info` against the version requirement; Err when the name is unknown and
/// `for_install` (Ansible fails then; for removal an unknown name is simply absent).
pub(crate) fn package_status(
    info: &PkgInfo,
    req: &VersionReq,
    for_install: bool,
) -> Result<Status, String> {
    let real = info.policy.as_ref().filter(|p| !p.versions.is_empty());
    let Some(policy) = real else {
        // Installed but unknown to apt's sources (a local .deb) still counts as installed.
        if let Some(st) = info.status.as_ref().filter(|s| s.has_files()) {
            let installed = st.installed();
            return Ok(Status {
                installed,
                version_ok: installed && version_meets(&st.version, req),
                installable: Installable::No,
                has_files: true,
            });
        }
        if !for_install {
            return Ok(Status {
                installed: false,
                version_ok: false,
                installable: Installable::No,
                has_files: false,
            });
        }
        if info.providers.is_empty() {
            return Err(format!("No package matching '{}' is available", info.name));
        }
        let mut names: Vec<&str> = info.providers.iter().map(|(n, _)| n.as_str()).collect();
        names.dedup();
        if names.len() == 1
            && let Some((_, Some(st))) = info.providers.first()
            && st.installed()
        {
            return Ok(Status {
                installed: true,
                version_ok: version_meets(&st.version, req),
                installable: Installable::Virtual,
                has_files: true,
            });
        }
        return Ok(Status {
            installed: false,
            version_ok: false,
            installable: Installable::Virtual,
            has_files: false,
        });
    };
    let best = match req {
        VersionReq::Matches(pat) => policy
            .versions
            .iter()
            .find(|v| dpkg::fnmatch(&v.version, pat))
            .map(|v| v.version.clone()),
        _ => policy.candidate.clone(),
    };
    let st = info.status.clone().unwrap_or_default();
    let installed = st.installed();
    let mut installable = Installable::No;
    let mut version_ok = false;
    if installed {
        let iv = &st.version;
        version_ok = version_meets(iv, req);
        if let Some(b) = best.filter(|b| b != iv && version_meets(b, req)) {
            installable = Installable::Version(b);
        }
    } else if let Some(b) = best {
        installable = Installable::Version(b);
    }
    Ok(Status {
        installed,
        version_ok,
        installable,
        has_files: st.has_files(),
    })
}

fn version_meets(v: &str, req: &VersionReq) -> bool {
    match req {
        VersionReq::Any => true,
        VersionReq::Matches(p) => dpkg::fnmatch(v, p),
        VersionReq::AtLeast(min) => dpkg::compare_versions(v, min).is_ge(),
    }
}

/// The install plan: the words for `apt-get install`, and the named packages apt marks as
/// automatically installed (to mark manual, as Ansible's `mark_installed_manually` does).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct InstallPlan {
    pub install: Vec<String>,
    pub mark_manual: Vec<String>,
}

/// Why an install cannot be planned. Where Ansible fails decides the result's keys: a name
/// that matches nothing fails the module on the spot (`fail_json` in `package_status` or
/// `expand_pkgspec_from_fnmatches`: `changed` and `msg` only), while a version apt cannot
/// provide is what `install` returns, and the module adds `cache_updated` and
/// `cache_update_time` before failing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum InstallError {
    /// No package matches a name or pattern (or the spec is malformed).
    Unmatched(String),
    /// A matched package has no installable version meeting the spec.
    NoCandidate(String),
}

impl InstallError {
    /// The failure message, as Ansible words it.
    pub(crate) fn msg(&self) -> &str {
        match self {
            InstallError::Unmatched(m) | InstallError::NoCandidate(m) => m,
        }
    }
}

/// Ansible's `install` decision for every requested spec.
pub(crate) fn plan_install(params: &Params, probe: &Probe) -> Result<InstallPlan, InstallError> {
    let upgrade = params.state == State::Latest;
    let mut plan = InstallPlan::default();
    let specs = params.named();
    if params.state == State::BuildDep {
        plan.install = specs;
        return Ok(plan);
    }
    for (spec_text, (probed, pkgs)) in specs.iter().zip(&probe.specs) {
        if spec_text.matches('=').count() > 1 {
            return Err(InstallError::Unmatched(format!(
                "invalid package spec: {spec_text}"
            )));
        }
        let spec = PackageSpec::parse(spec_text);
        if pkgs.is_empty() {
            return Err(InstallError::Unmatched(if dpkg::is_pattern(probed) {
                format!("No package(s) matching '{probed}' available")
            } else {
                format!("No package matching '{probed}' is available")
            }));
        }
        for info in pkgs {
            let st = package_status(info, &spec.req, true).map_err(InstallError::Unmatched)?;
            if info.auto && st.installed {
                plan.mark_manual.push(info.name.clone());
            }
            if !st.installed && params.only_upgrade {
                continue;
            }
            if !st.version_ok && st.installable == Installable::No {
                return Err(InstallError::NoCandidate(format!(
                    "no available installation candidate for {spec_text}"
                )));
            }
            let wants = (!st.installed && !params.only_upgrade) || upgrade || !st.version_ok;
            match (&st.installable, spec.version()) {
                (Installable::Version(v), _) if wants => {
                    plan.install.push(format!("{}={v}", info.name))
                }
                (Installable::Virtual, Some(v)) if wants => {
                    plan.install.push(format!("{}={v}", info.name))
                }
                (Installable::Virtual, None) if wants => plan.install.push(info.name.clone()),
                (Installable::Version(_) | Installable::Virtual, _)
                    if st.version_ok && matches!(spec.req, VersionReq::Matches(_)) =>
                {
                    // Ansible's legacy behaviour: a wildcard version that matches both the
                    // installed and a newer version asks apt for the pattern again.
                    plan.install
                        .push(format!("{}={}", info.name, spec.version().unwrap_or("")))
                }
                _ => {}
            }
        }
    }
    Ok(plan)
}

/// Ansible's `remove` decision: the specs to pass to `apt-get remove`.
pub(crate) fn plan_remove(params: &Params, probe: &Probe) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for (spec_text, (_, pkgs)) in params.named().iter().zip(&probe.specs) {
        let spec = PackageSpec::parse(spec_text);
        for info in pkgs {
            let st = package_status(info, &spec.req, false)?;
            if st.version_ok || (st.has_files && params.purge) {
                if dpkg::is_pattern(&spec.name) {
                    out.push(info.name.clone());
                } else {
                    out.push(spec_text.clone());
                }
            }
        }
    }
    Ok(out)
}

/// The `apt-get` command that carries out an install plan.
pub(crate) fn install_command(params: &Params, words: &[String], check: bool) -> Cmd {
    let mut c = Cmd::new("apt-get");
    c.arg("-y");
    params.dpkg_opts(&mut c);
    if params.only_upgrade {
        c.arg("--only-upgrade");
    }
    if params.state == State::Fixed {
        c.arg("--fix-broken");
    }
    if params.force {
        c.arg("--force-yes");
    }
    if params.autoremove && params.state != State::BuildDep {
        c.arg("--auto-remove");
    }
    if params.fail_on_autoremove {
        c.arg("--no-remove");
    }
    if check {
        c.arg("--simulate");
    }
    c.arg(if params.state == State::BuildDep {
        "build-dep"
    } else {
        "install"
    });
    c.args(words);
    if let Some(r) = &params.default_release {
        c.arg("-t").arg(r);
    }
    match params.install_recommends {
        Some(false) => {
            c.arg("-o").arg("APT::Install-Recommends=no");
        }
        Some(true) => {
            c.arg("-o").arg("APT::Install-Recommends=yes");
        }
        None => {}
    }
    if params.allow_unauthenticated {
        c.arg("--allow-unauthenticated");
    }
    if params.allow_downgrade {
        c.arg("--allow-downgrades");
    }
    if params.allow_change_held {
        c.arg("--allow-change-held-packages");
    }
    c
}

/// The `apt-get remove` command.
pub(crate) fn remove_command(params: &Params, words: &[String], check: bool) -> Cmd {
    let mut c = Cmd::new("apt-get");
    c.arg("-q").arg("-y");
    params.dpkg_opts(&mut c);
    if params.purge {
        c.arg("--purge");
    }
    if params.force {
        c.arg("--force-yes");
    }
    if params.autoremove {
        c.arg("--auto-remove");
    }
    if check {
        c.arg("--simulate");
    }
    if params.allow_change_held {
        c.arg("--allow-change-held-packages");
    }
    c.arg("remove").args(words);
    c
}

/// `apt-get upgrade --with-new-pkgs` / `dist-upgrade`.
pub(crate) fn upgrade_command(params: &Params, mode: Upgrade, check: bool) -> Cmd {
    let mut c = Cmd::new("apt-get");
    c.arg("-y");
    params.dpkg_opts(&mut c);
    if params.force {
        c.arg("--force-yes");
    }
    if params.fail_on_autoremove {
        c.arg("--no-remove");
    }
    if params.allow_unauthenticated {
        c.arg("--allow-unauthenticated");
    }
    if params.allow_downgrade {
        c.arg("--allow-downgrades");
    }
    if check {
        c.arg("--simulate");
    }
    match mode {
        Upgrade::Dist => c.arg("dist-upgrade"),
        Upgrade::Safe => c.arg("upgrade").arg("--with-new-pkgs"),
    };
    if params.autoremove {
        c.arg("--auto-remove");
    }
    if let Some(r) = &params.default_release {
        c.arg("-t").arg(r);
    }
    c
}

/// `apt-get autoremove` / `autoclean`.
pub(crate) fn cleanup_command(params: &Params, op: &str, check: bool) -> Cmd {
    let mut c = Cmd::new("apt-get");
    c.arg("-y");
    params.dpkg_opts(&mut c);
    if params.purge {
        c.arg("--purge");
    }
    if params.force {
        c.arg("--force-yes");
    }
    c.arg(op);
    if check {
        c.arg("--simulate");
    }
    c
}

/// Installing `.deb` files: `apt-get install ./file.deb` resolves their dependencies as
/// Ansible's python-apt `DebPackage.missing_deps` + `dpkg -i` do, in one command.
pub(crate) fn plan_debs(params: &Params, probe: &Probe) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for deb in &probe.debs {
        if deb.rc != 0 {
            return Err(format!(
                "Unable to install package: {}: {}",
                deb.path,
                deb.fields.trim()
            ));
        }
        let version = deb.field("Version").unwrap_or_default();
        if let Some(st) = deb.installed.as_ref().filter(|s| s.installed()) {
            match dpkg::compare_versions(version, &st.version) {
                std::cmp::Ordering::Equal => continue,
                std::cmp::Ordering::Less if !params.allow_downgrade && !params.force => {
                    return Err(format!(
                        "A later version is already installed: {} {} is installed, {} has {}",
                        deb.field("Package").unwrap_or_default(),
                        st.version,
                        deb.path,
                        version
                    ));
                }
                _ => {}
            }
        }
        out.push(if deb.path.contains('/') {
            deb.path.clone()
        } else {
            format!("./{}", deb.path)
        });
    }
    Ok(out)
}

/// Ansible's `parse_diff`: apt's output between "Reading state information..." and the
/// "N upgraded, ..." summary, which lists the packages installed and removed.
pub(crate) fn parse_diff(output: &str) -> String {
    let lines: Vec<&str> = output.lines().collect();
    let start = lines
        .iter()
        .position(|l| *l == "Resolving dependencies...")
        .or_else(|| {
            lines
                .iter()
                .position(|l| *l == "Reading state information...")
        })
        .map(|i| i + 1)
        .unwrap_or(0);
    let end = lines
        .iter()
        .position(|l| {
            let t = l.trim_start_matches(|c: char| c.is_ascii_digit());
            t.len() < l.len() && (t.starts_with(" upgraded") || t.starts_with(" packages upgraded"))
        })
        .map(|i| i + 1)
        .unwrap_or(lines.len());
    lines
        .get(start..end.max(start))
        .unwrap_or_default()
        .join("\n")
}

/// Ansible's marker of an apt-get run that changed nothing.
const APT_GET_ZERO: &str = "\n0 upgraded, 0 newly installed, 0 to remove";

/// The apply script's exit status and last stderr line when `apt-mark manual` failed after a
/// successful apt-get (which exits 0 or 100).
const MARK_FAILED: i32 = 97;
const MARK_FAILED_TEXT: &str = "apt-mark manual failed";

/// Wraps an apt-get command with the environment, `policy_rc_d` and marking manual.
fn apply_script(params: &Params, main: &Cmd, mark_manual: &[String]) -> String {
    let mut c = Cmd::empty();
    c.raw(dpkg::APT_ENV).raw(";\n");
    if let Some(code) = params.policy_rc_d {
        // Ansible's PolicyRcD: move any existing policy-rc.d aside, write one exiting with
        // the code, restore afterwards.
        c.raw(&format!(
            "jig_prc=; if [ -e /usr/sbin/policy-rc.d ]; then jig_prc=$(mktemp -d) && \
             mv /usr/sbin/policy-rc.d \"$jig_prc\"/ || exit 1; fi\n\
             printf '#!/bin/sh\\nexit {code}\\n' > /usr/sbin/policy-rc.d && \
             chmod 0755 /usr/sbin/policy-rc.d || exit 1\n"
        ));
    }
    c.raw(main.as_str()).raw("; jig_rc=$?\n");
    if let Some(_code) = params.policy_rc_d {
        c.raw(
            "if [ -n \"$jig_prc\" ]; then mv \"$jig_prc\"/policy-rc.d /usr/sbin/policy-rc.d && \
             rmdir \"$jig_prc\"; else rm -f /usr/sbin/policy-rc.d; fi\n",
        );
    }
    if !mark_manual.is_empty() {
        let mut m = Cmd::new("apt-mark");
        m.arg("manual").arg("--").args(mark_manual);
        c.raw("[ \"$jig_rc\" = 0 ] && {")
            .raw(m.as_str())
            .raw(&format!(
                ">/dev/null || {{ echo '{MARK_FAILED_TEXT}' >&2; exit {MARK_FAILED}; }}; }}\n"
            ));
    }
    c.raw("exit $jig_rc");
    c.into_string()
}

/// Runs one apt-get command (or only `apt-mark`) and returns (rc, stdout, stderr).
async fn apply(
    ctx: &ModuleContext<'_>,
    params: &Params,
    main: Option<&Cmd>,
    mark_manual: &[String],
) -> Result<(i32, String, String), ModuleError> {
    let noop = Cmd::new("true");
    let script = apply_script(params, main.unwrap_or(&noop), mark_manual);
    let out = remote::run(ctx, script, None).await?;
    Ok((out.rc, out.stdout_str(), out.stderr_str()))
}

fn set_output(r: &mut ModuleResult, stdout: &str, stderr: &str) {
    r.set("stdout", stdout)
        .set("stderr", stderr)
        .set("stdout_lines", lines(stdout))
        .set("stderr_lines", lines(stderr));
}

fn lines(s: &str) -> Json {
    Json::Array(s.lines().map(|l| json!(l)).collect())
}

fn add_diff(r: &mut ModuleResult, ctx: &ModuleContext<'_>, stdout: &str) {
    if ctx.diff_mode && r.changed {
        r.diffs.push(Diff::Summary(parse_diff(stdout)));
    }
}

fn failed_cmd(what: &str, rc: i32, stdout: &str, stderr: &str) -> ModuleResult {
    let mut r = ModuleResult::failed(format!("'{what}' failed: {}", stderr.trim()));
    set_output(&mut r, stdout, stderr);
    r.set("rc", rc);
    r
}

/// Runs the apt module; None when the host has no apt-get (for `package` to say so).
pub(crate) async fn run_apt(
    params: &Params,
    ctx: &ModuleContext<'_>,
) -> Result<Option<ModuleResult>, ModuleError> {
    let check = ctx.check_mode;
    let out = remote::run(ctx, probe_command(params, check), None).await?;
    if out.rc != 0 {
        return Ok(Some(ModuleResult::failed(format!(
            "cannot read the package state: {}",
            out.stderr_str().trim()
        ))));
    }
    let probe = match parse_probe(&out.stdout) {
        Ok(Some(p)) => p,
        Ok(None) => return Ok(None),
        Err(e) => return Ok(Some(ModuleResult::failed(e))),
    };
    Ok(Some(decide(params, ctx, probe).await?))
}

async fn decide(
    params: &Params,
    ctx: &ModuleContext<'_>,
    probe: Probe,
) -> Result<ModuleResult, ModuleError> {
    let check = ctx.check_mode;
    let nothing_else = params.named().is_empty()
        && params.upgrade.is_none()
        && params.debs.is_empty()
        && !params.packages.iter().any(|p| p == "*");
    if params.clean {
        match &probe.clean {
            Some((rc, o, e)) if *rc != 0 || !e.is_empty() => {
                let mut r = ModuleResult::failed(format!("apt-get clean failed: {}", e.trim()));
                set_output(&mut r, o, e);
                r.set("rc", *rc);
                return Ok(r);
            }
            _ => {}
        }
        if nothing_else {
            let (o, e) = probe
                .clean
                .as_ref()
                .map(|(_, o, e)| (o.clone(), e.clone()))
                .unwrap_or_default();
            let mut r = ModuleResult::changed();
            r.msg = Some(o.clone());
            set_output(&mut r, &o, &e);
            add_diff(&mut r, ctx, &o);
            return Ok(r);
        }
    }
    let (cache_updated, cache_time) = match &probe.update {
        Update::NotDue => (false, probe.mtime),
        Update::Skipped => (true, probe.mtime),
        Update::Ran { rc, output, mtime } => {
            if *rc != 0 {
                return Ok(ModuleResult::failed(format!(
                    "Failed to update apt cache after {} retries: {}",
                    params.update_retries,
                    output.trim()
                )));
            }
            (*mtime != probe.mtime, *mtime)
        }
    };
    let with_cache = |mut r: ModuleResult| {
        r.set("cache_updated", cache_updated)
            .set("cache_update_time", cache_time);
        r
    };
    if (params.update_cache || params.cache_valid_time > 0) && nothing_else {
        let mut r = ModuleResult::ok();
        r.changed = cache_updated;
        return Ok(with_cache(r));
    }
    if let Some(mode) = params.upgrade {
        return run_upgrade(ctx, params, mode).await;
    }
    if !params.debs.is_empty() {
        if params.state != State::Present {
            return Ok(ModuleResult::failed("deb only supports state=present"));
        }
        let debs = match plan_debs(params, &probe) {
            Ok(d) => d,
            Err(e) => return Ok(ModuleResult::failed(e)),
        };
        if debs.is_empty() {
            return Ok(ModuleResult::ok());
        }
        let mut deb_params = params.clone();
        deb_params.state = State::Present;
        if params.install_recommends != Some(true) {
            // Ansible installs a deb's Recommends only when asked to.
            deb_params.install_recommends = Some(false);
        }
        let cmd = install_command(&deb_params, &debs, check);
        let (rc, o, e) = apply(ctx, params, Some(&cmd), &[]).await?;
        if rc != 0 {
            return Ok(failed_cmd(cmd.as_str(), rc, &o, &e));
        }
        let mut r = ModuleResult::changed();
        if check {
            predict_installed(ctx, &[], &o);
        }
        set_output(&mut r, &o, &e);
        add_diff(&mut r, ctx, &o);
        return Ok(r);
    }
    let all = params.packages.iter().any(|p| p == "*");
    if params.state == State::Latest && all {
        if !params.named().is_empty() {
            return Ok(ModuleResult::failed(
                "unable to install additional packages when upgrading all installed packages",
            ));
        }
        return run_upgrade(ctx, params, Upgrade::Safe).await;
    }
    if let Some(bad) = params.named().iter().find(|p| p.matches('=').count() > 1) {
        return Ok(ModuleResult::failed(format!("invalid package spec: {bad}")));
    }
    if params.named().is_empty() && (params.autoclean || params.autoremove) {
        let op = if params.autoclean {
            "autoclean"
        } else {
            "autoremove"
        };
        let cmd = cleanup_command(params, op, check);
        let (rc, o, e) = apply(ctx, params, Some(&cmd), &[]).await?;
        if rc != 0 {
            return Ok(failed_cmd(&format!("apt-get {op}"), rc, &o, &e));
        }
        let marker = if op == "autoremove" {
            "The following packages will be REMOVED"
        } else {
            "Del "
        };
        let mut r = ModuleResult::ok();
        r.changed = o.contains(marker);
        set_output(&mut r, &o, &e);
        add_diff(&mut r, ctx, &o);
        return Ok(r);
    }
    if params.state == State::Absent {
        let words = match plan_remove(params, &probe) {
            Ok(w) => w,
            Err(e) => return Ok(ModuleResult::failed(e)),
        };
        if words.is_empty() {
            return Ok(ModuleResult::ok());
        }
        let cmd = remove_command(params, &words, check);
        let (rc, o, e) = apply(ctx, params, Some(&cmd), &[]).await?;
        if rc != 0 {
            return Ok(failed_cmd(
                &format!("apt-get remove {}", words.join(" ")),
                rc,
                &o,
                &e,
            ));
        }
        let mut r = ModuleResult::changed();
        set_output(&mut r, &o, &e);
        add_diff(&mut r, ctx, &o);
        return Ok(r);
    }
    let mut plan = match plan_install(params, &probe) {
        Ok(p) => p,
        Err(e @ InstallError::Unmatched(_)) => return Ok(ModuleResult::failed(e.msg())),
        Err(e @ InstallError::NoCandidate(_)) => {
            return Ok(with_cache(ModuleResult::failed(e.msg())));
        }
    };
    if check && params.state == State::Present {
        // An earlier task of this check run would have installed these already.
        plan.install
            .retain(|w| !ctx.predicted.has_package(&PackageSpec::parse(w).name));
    }
    let marks = if check || params.state == State::BuildDep {
        Vec::new()
    } else {
        plan.mark_manual.clone()
    };
    if plan.install.is_empty() {
        if !marks.is_empty() {
            let (rc, o, e) = apply(ctx, params, None, &marks).await?;
            if rc != 0 {
                return Ok(failed_cmd("apt-mark manual", rc, &o, &e));
            }
        }
        return Ok(with_cache(ModuleResult::ok()));
    }
    let cmd = install_command(params, &plan.install, check);
    let (rc, o, e) = apply(ctx, params, Some(&cmd), &marks).await?;
    if rc == MARK_FAILED && e.trim_end().ends_with(MARK_FAILED_TEXT) {
        // Ansible marks inside `install` and fails there: no cache keys.
        let what = format!("apt-mark manual {}", marks.join(" "));
        return Ok(failed_cmd(&what, rc, &o, &e));
    }
    if rc != 0 {
        return Ok(with_cache(failed_cmd(cmd.as_str(), rc, &o, &e)));
    }
    let mut r = ModuleResult::changed();
    if params.state == State::BuildDep {
        r.changed = !o.contains(APT_GET_ZERO);
    }
    if check {
        predict_installed(ctx, &plan.install, &o);
    }
    set_output(&mut r, &o, &e);
    add_diff(&mut r, ctx, &o);
    Ok(with_cache(r))
}

/// Records as predicted (check mode) the packages an install would bring: the ones asked for
/// and every `Inst NAME ...` line of apt-get's simulation (dependencies included), so later
/// tasks can count on them (see [`super::predict`]).
fn predict_installed(ctx: &ModuleContext<'_>, asked: &[String], simulation: &str) {
    let names: Vec<String> = asked
        .iter()
        .map(|w| PackageSpec::parse(w).name)
        .chain(simulated_installs(simulation))
        .collect();
    ctx.predicted.put_packages(names.iter().map(String::as_str));
}

/// The package names of the `Inst` lines of `apt-get --simulate` output (without `:arch`).
fn simulated_installs(simulation: &str) -> impl Iterator<Item = String> + '_ {
    simulation.lines().filter_map(|l| {
        let name = l.strip_prefix("Inst ")?.split_whitespace().next()?;
        Some(name.split(':').next().unwrap_or(name).to_string())
    })
}

async fn run_upgrade(
    ctx: &ModuleContext<'_>,
    params: &Params,
    mode: Upgrade,
) -> Result<ModuleResult, ModuleError> {
    let cmd = upgrade_command(params, mode, ctx.check_mode);
    let (rc, o, e) = apply(ctx, params, Some(&cmd), &[]).await?;
    let what = match mode {
        Upgrade::Dist => "apt-get dist-upgrade",
        Upgrade::Safe => "apt-get upgrade --with-new-pkgs",
    };
    if rc != 0 {
        return Ok(failed_cmd(what, rc, &o, &e));
    }
    let mut r = ModuleResult::ok();
    r.changed = !o.contains(APT_GET_ZERO);
    r.msg = Some(o.clone());
    set_output(&mut r, &o, &e);
    add_diff(&mut r, ctx, &o);
    Ok(r)
}

/// Folds the items of a loop over `apt`/`package` whose `name` is the loop item into one call
/// with every item in `name`, as Ansible's old `squash_actions` did: one probe and one
/// `apt-get install` for the whole list. Returns None when the arguments differ between items
/// in anything but `name`/`pkg`/`package`, or `name` is not a plain string per item.
pub fn squash(items: &[ModuleArgs]) -> Option<ModuleArgs> {
    let first = items.first()?;
    let key = ["name", "pkg", "package"]
        .into_iter()
        .find(|k| first.get(k).is_some())?;
    let mut names = Vec::new();
    for it in items {
        if it.module() != first.module() {
            return None;
        }
        let same_rest = it.keys().filter(|k| *k != key).count()
            == first.keys().filter(|k| *k != key).count()
            && it
                .keys()
                .filter(|k| *k != key)
                .all(|k| it.get(k) == first.get(k));
        if !same_rest {
            return None;
        }
        match it.get(key)? {
            Json::String(s) if !s.contains(',') => names.push(json!(s)),
            _ => return None,
        }
    }
    let mut values: indexmap::IndexMap<String, Json> = first
        .keys()
        .filter(|k| *k != key)
        .filter_map(|k| first.get(k).map(|v| (k.to_string(), v.clone())))
        .collect();
    values.insert(key.to_string(), Json::Array(names));
    Some(ModuleArgs::new(first.module().to_string(), values))
}

/// Whether apt's output for a squashed loop names `spec`'s package among those it installs,
/// upgrades, downgrades or removes (the package lists under "The following ... packages will
/// be ..." headers), so each loop item reports its own change.
pub fn item_changed(stdout: &str, spec: &str) -> bool {
    let name = PackageSpec::parse(spec).name;
    let mut in_list = false;
    for line in stdout.lines() {
        if line.starts_with("The following") {
            // Suggested and recommended packages are listed, not acted on.
            in_list = !line.contains("Suggested")
                && !line.contains("Recommended")
                && !line.contains("held back");
        } else if line.starts_with("  ") {
            if in_list
                && line
                    .split_whitespace()
                    .any(|w| w == name || w.split(':').next() == Some(name.as_str()))
            {
                return true;
            }
        } else {
            in_list = false;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_simulated_install_predicts_every_package_it_brings() {
        let sim = "Reading package lists...\nThe following NEW packages will be installed:\n                     nginx nginx-common\nInst nginx-common (1.22.1-9 jig-testbed:localhost [all])\n\
                   Inst libfoo:amd64 (1.0 x [amd64])\nConf nginx-common (1.22.1-9 x [all])\n";
        let names: Vec<String> = simulated_installs(sim).collect();
        assert_eq!(names, vec!["nginx-common", "libfoo"]);
        let tmp = tempfile::tempdir().unwrap();
        let env = remote::testutil::Env::new(tmp.path());
        predict_installed(&env.ctx(true, false), &["nginx=1.22*".to_string()], sim);
        for p in ["nginx", "nginx-common", "libfoo"] {
            assert!(env.predicted.has_package(p), "{p}");
        }
        assert!(!env.predicted.has_package("Reading"));
    }

    fn params(v: Json) -> Params {
        let map = v.as_object().unwrap().clone().into_iter().collect();
        Params::from_args(&ModuleArgs::new("apt", map)).unwrap()
    }

    fn rec(parts: &[&str]) -> Vec<u8> {
        let mut out = Vec::new();
        for p in parts {
            out.extend_from_slice(p.as_bytes());
            out.push(0);
        }
        out
    }

    const HELLO_POLICY: &str = "hello:\n  Installed: (none)\n  Candidate: 2.10-3\n  Version table:\n     2.10-3 500\n        500 file:/srv/jig-apt ./ Packages\n     2.10-2 500\n        500 file:/srv/extra ./ Packages\n";

    fn probe_with(pkgs: &[(&str, &str, &str, &str)]) -> Probe {
        let mut parts = vec!["M100 200".to_string()];
        let mut policy = String::new();
        let mut autos = String::new();
        for (name, status, pol, auto) in pkgs {
            parts.push(format!("S{name}"));
            parts.push(format!("P{name}"));
            parts.push(status.to_string());
            policy.push_str(pol);
            if !auto.is_empty() {
                autos.push_str(&format!("{auto}\n"));
            }
        }
        parts.push(format!("Q{policy}"));
        parts.push(format!("A{autos}"));
        let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
        parse_probe(&rec(&refs)).unwrap().unwrap()
    }

    #[test]
    fn installs_missing_and_pins_versions() {
        let p = params(json!({"name": ["hello", "tree"]}));
        let tree = "tree:\n  Installed: 2.1.0-1\n  Candidate: 2.1.0-1\n  Version table:\n *** 2.1.0-1 500\n        500 file:/srv/jig-apt ./ Packages\n        100 /var/lib/dpkg/status\n";
        let probe = probe_with(&[
            ("hello", "", HELLO_POLICY, ""),
            ("tree", "ii  2.1.0-1", tree, "tree"),
        ]);
        let plan = plan_install(&p, &probe).unwrap();
        assert_eq!(plan.install, vec!["hello=2.10-3"]);
        assert_eq!(plan.mark_manual, vec!["tree"]);

        let p = params(json!({"name": "hello=2.10-2*", "allow_downgrade": true}));
        let probe = probe_with(&[("hello", "ii  2.10-3", HELLO_POLICY, "")]);
        assert_eq!(
            plan_install(&p, &probe).unwrap().install,
            vec!["hello=2.10-2"]
        );
        let cmd = install_command(&p, &["hello=2.10-2".into()], true);
        assert!(
            cmd.as_str().contains("--simulate install hello=2.10-2"),
            "{cmd}"
        );
        assert!(cmd.as_str().ends_with("--allow-downgrades"), "{cmd}");

        // Installed and wanted at any version: nothing to do; at latest: the candidate.
        let installed_old = probe_with(&[("hello", "ii  2.10-2", HELLO_POLICY, "")]);
        let p = params(json!({"name": "hello"}));
        assert!(plan_install(&p, &installed_old).unwrap().install.is_empty());
        let p = params(json!({"name": "hello", "state": "latest"}));
        assert_eq!(
            plan_install(&p, &installed_old).unwrap().install,
            vec!["hello=2.10-3"]
        );
        let p = params(json!({"name": "hello>=2.10-3"}));
        assert_eq!(
            plan_install(&p, &installed_old).unwrap().install,
            vec!["hello=2.10-3"]
        );
        let p = params(json!({"name": "hello=9*"}));
        assert_eq!(
            plan_install(&p, &installed_old).unwrap_err(),
            InstallError::NoCandidate("no available installation candidate for hello=9*".into())
        );
    }

    #[test]
    fn unknown_and_virtual_packages() {
        let p = params(json!({"name": "nosuch"}));
        let probe = probe_with(&[("nosuch", "", "", "")]);
        assert_eq!(
            plan_install(&p, &probe).unwrap_err(),
            InstallError::Unmatched("No package matching 'nosuch' is available".into())
        );
        let p = params(json!({"name": "nosuch", "state": "absent"}));
        assert!(plan_remove(&p, &probe).unwrap().is_empty());
        let out = rec(&[
            "M1 2",
            "Smail-transport-agent",
            "Pmail-transport-agent",
            "",
            "Qmail-transport-agent:\n  Installed: (none)\n  Candidate: (none)\n  Version table:\n",
            "A",
            "VPackage: mail-transport-agent\nVersions: \n\nReverse Provides: \nexim4-daemon-light 4.96-15 (= )\nexim4-daemon-light 4.96-14 (= )\n",
            "Iexim4-daemon-light ii  4.96\nbash ii  5.2\n",
        ]);
        let probe = parse_probe(&out).unwrap().unwrap();
        let p = params(json!({"name": "mail-transport-agent"}));
        assert!(plan_install(&p, &probe).unwrap().install.is_empty());
    }

    #[test]
    fn removes_installed_and_purges_config_files() {
        let probe = probe_with(&[
            ("hello", "ii  2.10-3", HELLO_POLICY, ""),
            ("tree", "rc  2.1.0-1", "", ""),
        ]);
        let p = params(json!({"name": ["hello", "tree"], "state": "absent"}));
        assert_eq!(plan_remove(&p, &probe).unwrap(), vec!["hello"]);
        let p = params(json!({"name": ["hello", "tree"], "state": "absent", "purge": true}));
        assert_eq!(plan_remove(&p, &probe).unwrap(), vec!["hello", "tree"]);
        let cmd = remove_command(&p, &["hello".into()], false);
        assert_eq!(
            cmd.as_str(),
            "apt-get -q -y -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
             -o DPkg::Lock::Timeout=60 --purge remove hello"
        );
    }

    #[test]
    fn probe_parses_updates_debs_and_hostile_names() {
        let hostile = "x $(touch PWNED) 'q'\nü";
        let out = rec(&[
            "C0",
            "",
            "",
            "M100 200",
            "U0",
            "Hit:1 file:/srv ./ InRelease",
            "N150",
            &format!("D/tmp/{hostile}.deb"),
            "0",
            "Package: hello\nVersion: 2.10-9\nArchitecture: amd64",
            "ii  2.10-3",
            &format!("S{hostile}"),
        ]);
        let probe = parse_probe(&out).unwrap().unwrap();
        assert_eq!(probe.clean, Some((0, String::new(), String::new())));
        assert_eq!(
            probe.update,
            Update::Ran {
                rc: 0,
                output: "Hit:1 file:/srv ./ InRelease".into(),
                mtime: 150
            }
        );
        assert_eq!(probe.debs[0].field("Version"), Some("2.10-9"));
        assert_eq!(probe.specs, vec![(hostile.to_string(), vec![])]);
        let p = params(json!({"deb": format!("/tmp/{hostile}.deb")}));
        assert_eq!(
            plan_debs(&p, &probe).unwrap(),
            vec![format!("/tmp/{hostile}.deb")]
        );
        assert_eq!(parse_probe(&rec(&["X"])).unwrap(), None);
    }

    #[test]
    fn deb_downgrades_need_permission() {
        let out = rec(&[
            "M1 2",
            "D/tmp/a.deb",
            "0",
            "Package: hello\nVersion: 2.10-1\nArchitecture: amd64",
            "ii  2.10-3",
            "D/tmp/b.deb",
            "0",
            "Package: tree\nVersion: 2.1.0-1\nArchitecture: amd64",
            "ii  2.1.0-1",
        ]);
        let probe = parse_probe(&out).unwrap().unwrap();
        let p = params(json!({"deb": "/tmp/a.deb,/tmp/b.deb"}));
        assert!(plan_debs(&p, &probe).unwrap_err().contains("later version"));
        let p = params(json!({"deb": "/tmp/a.deb,/tmp/b.deb", "allow_downgrade": true}));
        assert_eq!(plan_debs(&p, &probe).unwrap(), vec!["/tmp/a.deb"]);
    }

    #[test]
    fn probe_command_quotes_every_value() {
        let hostile = "$(touch /tmp/jig-apt-pwned) `id` 'q'\nü";
        let p = params(
            json!({"name": [hostile, "a b=1.0"], "default_release": hostile,
            "update_cache": true, "cache_valid_time": 3600}),
        );
        let cmd = probe_command(&p, false);
        let words = shlex::split(
            cmd.split_once("set --")
                .unwrap()
                .1
                .split_once(";")
                .unwrap()
                .0,
        )
        .unwrap();
        assert_eq!(
            words,
            vec![
                "1", "3600", "0", "60", hostile, "5", "12", "0", "0", hostile, "a b"
            ]
        );
        // Run the probe's argument handling through a real sh with a stub apt: nothing in the
        // values may execute.
        let status = std::process::Command::new("/bin/sh")
            .arg("-c")
            .arg(&cmd)
            .env("PATH", "/nonexistent")
            .output()
            .unwrap();
        assert_eq!(status.stdout, b"X\0");
        assert!(!std::path::Path::new("/tmp/jig-apt-pwned").exists());
    }

    #[test]
    fn diffs_list_the_packages() {
        let out = "Reading package lists...\nBuilding dependency tree...\nReading state information...\nThe following NEW packages will be installed:\n  hello\n1 upgraded, 1 newly installed, 0 to remove and 0 not upgraded.\nInst hello (2.10-3 ./)\n";
        assert_eq!(
            parse_diff(out),
            "The following NEW packages will be installed:\n  hello\n1 upgraded, 1 newly installed, 0 to remove and 0 not upgraded."
        );
    }

    #[test]
    fn arguments_are_checked_like_ansible() {
        let bad = |v: Json| {
            let map = v.as_object().unwrap().clone().into_iter().collect();
            Params::from_args(&ModuleArgs::new("apt", map))
                .unwrap_err()
                .to_string()
        };
        assert!(bad(json!({"name": "x", "state": "installed"})).contains("must be one of"));
        assert!(bad(json!({"name": "x", "deb": "/x.deb"})).contains("mutually exclusive"));
        assert!(bad(json!({"state": "present"})).contains("one of the following"));
        assert!(bad(json!({"deb": "https://x/y.deb"})).contains("get_url"));
        assert_eq!(
            params(json!({"upgrade": "dist"})).upgrade,
            Some(Upgrade::Dist)
        );
        assert_eq!(
            params(json!({"upgrade": "yes"})).upgrade,
            Some(Upgrade::Safe)
        );
        assert_eq!(params(json!({"pkg": "a,b"})).packages, vec!["a", "b"]);
    }

    /// On this (Debian) controller: a list of installed packages costs one round trip (the
    /// bed test covers installs, which add exactly one more).
    #[tokio::test]
    async fn round_trips_on_the_local_host() {
        use crate::modules::remote::testutil::{Env, take_execs};
        if !std::path::Path::new("/usr/bin/apt-get").exists() {
            eprintln!("skipping: no apt-get on this controller");
            return;
        }
        let tmp = tempfile::tempdir().unwrap();
        let env = Env::new(tmp.path());
        let ctx = env.ctx(true, true);
        take_execs();
        let r = Apt
            .run(
                &ModuleArgs::new(
                    "apt",
                    [("name".to_string(), json!(["bash", "coreutils", "dpkg"]))]
                        .into_iter()
                        .collect(),
                ),
                &ctx,
            )
            .await
            .unwrap();
        assert!(!r.failed && !r.changed, "{r:?}");
        assert_eq!(r.values["cache_updated"], json!(false));
        assert_eq!(take_execs(), 1);
    }

    /// Failed installs carry the keys Ansible 2.19 gives them (recorded on the bed with `-v`):
    /// `changed` + `msg` for a name nothing matches, with or without `update_cache`; the cache
    /// keys too when the package exists but not in the asked version. Check mode on this
    /// (Debian) controller, which changes nothing.
    async fn run_json(ctx: &ModuleContext<'_>, args: Json) -> ModuleResult {
        let args = ModuleArgs::new(
            "apt",
            args.as_object().unwrap().clone().into_iter().collect(),
        );
        Apt.run(&args, ctx).await.unwrap()
    }

    #[tokio::test]
    async fn failed_installs_have_ansibles_keys() {
        use crate::modules::remote::testutil::Env;
        if !std::path::Path::new("/usr/bin/apt-get").exists() {
            eprintln!("skipping: no apt-get on this controller");
            return;
        }
        let tmp = tempfile::tempdir().unwrap();
        let env = Env::new(tmp.path());
        let ctx = env.ctx(true, true);
        let keys = |r: &ModuleResult| {
            let mut k: Vec<String> = r.values.keys().cloned().collect();
            k.sort();
            k
        };
        for update in [false, true] {
            let args = json!({"name": ["bash", "no-such-package-jig"], "update_cache": update});
            let r = run_json(&ctx, args).await;
            assert!(r.failed && !r.changed, "{r:?}");
            assert_eq!(
                r.msg.as_deref(),
                Some("No package matching 'no-such-package-jig' is available")
            );
            assert!(keys(&r).is_empty(), "{r:?}");
        }
        let r = run_json(&ctx, json!({"name": "no-such-jig*"})).await;
        assert_eq!(
            r.msg.as_deref(),
            Some("No package(s) matching 'no-such-jig*' available")
        );
        assert!(keys(&r).is_empty(), "{r:?}");
        let r = run_json(&ctx, json!({"name": "bash=0.0-jig"})).await;
        assert!(r.failed, "{r:?}");
        assert_eq!(
            r.msg.as_deref(),
            Some("no available installation candidate for bash=0.0-jig")
        );
        assert_eq!(keys(&r), ["cache_update_time", "cache_updated"]);
    }

    #[test]
    fn items_find_their_packages_in_apt_output() {
        let out = "Reading state information...\nSuggested packages:\n  jq\nThe following NEW packages will be installed:\n  hello tree\nThe following packages will be REMOVED:\n  wget:amd64\n0 upgraded, 2 newly installed, 1 to remove and 0 not upgraded.\n";
        assert!(item_changed(out, "hello"));
        assert!(item_changed(out, "tree=2*"));
        assert!(item_changed(out, "wget"));
        assert!(!item_changed(out, "jq"));
        assert!(!item_changed(out, "hell"));
    }

    #[test]
    fn loops_squash_into_one_call() {
        let item = |n: &str| {
            ModuleArgs::new(
                "apt",
                [
                    ("name".to_string(), json!(n)),
                    ("state".to_string(), json!("present")),
                ]
                .into_iter()
                .collect(),
            )
        };
        let s = squash(&[item("hello"), item("tree")]).unwrap();
        assert_eq!(s.get("name"), Some(&json!(["hello", "tree"])));
        assert_eq!(s.get("state"), Some(&json!("present")));
        let mut other = item("jq");
        other = ModuleArgs::new(
            "apt",
            other
                .keys()
                .map(|k| (k.to_string(), other.get(k).cloned().unwrap()))
                .chain([("purge".to_string(), json!(true))])
                .collect(),
        );
        assert_eq!(squash(&[item("hello"), other]), None);
    }
}

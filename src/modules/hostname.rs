//! The `hostname` module: the host's name, the way ansible.builtin.hostname sets it.
//!
//! Two of Ansible's strategies, the ones Debian-family hosts get: **systemd** (`hostnamectl`
//! for the static and transient names; chosen by `use: systemd`/`use: debian`, or
//! automatically when systemd runs) and **file** (`/etc/hostname` only, as Ansible's
//! FileStrategy does on Debian, Ubuntu and their derivatives without systemd: the running
//! name is left alone). One probe reads what the choice needs; one apply sets the name.

use async_trait::async_trait;
use serde_json::json;

use super::remote::{self, Frames, WriteOptions};
use super::textfile::{Stop, finish};
use super::{Diff, Module, ModuleArgs, ModuleContext, ModuleError, ModuleResult};
use crate::connection::Cmd;

/// How the name is read and set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// `hostnamectl --static/--transient`.
    Systemd,
    /// `/etc/hostname` only.
    File,
}

/// What the probe found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Probed {
    /// systemd runs (`systemctl` and /run/systemd/system, Ansible's test).
    pub systemd: bool,
    /// `hostnamectl` is on the PATH.
    pub hostnamectl: bool,
    /// The PATH searched (for the message when `hostnamectl` is missing).
    pub path: String,
    /// `ID` and `ID_LIKE` of /etc/os-release.
    pub os_ids: Vec<String>,
    /// /etc/hostname stripped (`None` if it is not a file).
    pub file: Option<String>,
    /// `hostnamectl --static status` and `--transient status`, stripped (when `hostnamectl` exists).
    pub static_name: String,
    /// The transient name.
    pub transient_name: String,
    /// `hostname -f` (Ansible's `socket.getfqdn()`).
    pub fqdn: String,
}

const DEBIAN_LIKE: &[&str] = &[
    "debian",
    "ubuntu",
    "kali",
    "linuxmint",
    "raspbian",
    "devuan",
    "parrot",
    "pop",
    "elementary",
    "cumulus-linux",
    "kylin",
    "uos",
    "deepin",
];

/// The strategy Ansible would use, or why jig cannot manage this host's name (as Ansible,
/// the systemd strategy fails at once, check mode too, when `hostnamectl` is missing).
pub fn choose(use_: Option<&str>, p: &Probed) -> Result<Strategy, String> {
    let strategy = choose_strategy(use_, p)?;
    if strategy == Strategy::Systemd && !p.hostnamectl {
        return Err(format!(
            "Failed to find required executable \"hostnamectl\" in paths: {}",
            p.path
        ));
    }
    Ok(strategy)
}

fn choose_strategy(use_: Option<&str>, p: &Probed) -> Result<Strategy, String> {
    match use_ {
        Some("systemd" | "debian") => Ok(Strategy::Systemd),
        Some(other) => Err(format!(
            "use: {other} is not supported by jig (supported: debian, systemd, or none for \
             the host's default)"
        )),
        None if p.systemd => Ok(Strategy::Systemd),
        None if p.os_ids.iter().any(|id| DEBIAN_LIKE.contains(&id.as_str())) => Ok(Strategy::File),
        None => Err(format!(
            "hostname: jig manages the name on Debian-family hosts and hosts running systemd; \
             this host is {}",
            if p.os_ids.is_empty() {
                "unknown".to_string()
            } else {
                p.os_ids.join("/")
            }
        )),
    }
}

/// The probe script.
pub fn probe_script() -> String {
    r#"s=0 h=0
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then s=1; fi
if command -v hostnamectl >/dev/null 2>&1; then h=1; fi
ids=
if [ -r /etc/os-release ]; then ids=$(. /etc/os-release; printf '%s %s' "$ID" "$ID_LIKE"); fi
printf '%s%s\0%s\0%s\0' "$s" "$h" "$PATH" "$ids"
if [ -f /etc/hostname ]; then printf 'F'; cat /etc/hostname; fi; printf '\0'
if [ "$h" = 1 ]; then hostnamectl --static status; printf '\0'; hostnamectl --transient status; printf '\0'; else printf '\0\0'; fi
hostname -f 2>/dev/null || hostname 2>/dev/null || cat /proc/sys/kernel/hostname"#
        .to_string()
}

/// Parses the probe's output.
pub fn parse_probe(out: &[u8]) -> Option<Probed> {
    let mut f = Frames::new(out);
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let flags = f.next_record()?;
    let systemd = flags.first() == Some(&b'1');
    let hostnamectl = flags.get(1) == Some(&b'1');
    let path = text(f.next_record()?);
    let os_ids = text(f.next_record()?)
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let file_rec = f.next_record()?;
    let file = file_rec
        .strip_prefix(b"F")
        .map(|b| text(b).trim().to_string());
    let static_name = text(f.next_record()?).trim().to_string();
    let transient_name = text(f.next_record()?).trim().to_string();
    let fqdn = text(f.remainder()).trim().to_string();
    Some(Probed {
        systemd,
        hostnamectl,
        path,
        os_ids,
        file,
        static_name,
        transient_name,
        fqdn,
    })
}

/// What changes: (current name, permanent name, set current, set permanent).
pub fn plan(strategy: Strategy, name: &str, p: &Probed) -> (String, String, bool, bool) {
    match strategy {
        Strategy::Systemd => (
            p.transient_name.clone(),
            p.static_name.clone(),
            p.transient_name != name,
            p.static_name != name,
        ),
        Strategy::File => {
            let permanent = p.file.clone().unwrap_or_default();
            // FileStrategy's current name is the permanent one, and setting it does nothing.
            (
                permanent.clone(),
                permanent.clone(),
                false,
                permanent != name,
            )
        }
    }
}

/// The `hostname` module.
pub struct Hostname;

#[async_trait]
impl Module for Hostname {
    fn name(&self) -> &'static str {
        "hostname"
    }

    async fn run(
        &self,
        args: &ModuleArgs,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        finish(run(args, ctx).await)
    }
}

fn conn_err(e: crate::connection::ConnectionError) -> Stop {
    Stop::Module(ModuleError::Connection(e))
}

async fn run(args: &ModuleArgs, ctx: &ModuleContext<'_>) -> Result<ModuleResult, Stop> {
    args.check_known(&["name", "use"])?;
    let name = args.req_str("name")?;
    let use_ = args.str("use")?;
    let out = remote::run(ctx, probe_script(), None)
        .await
        .map_err(conn_err)?;
    let p = parse_probe(&out.stdout).ok_or_else(|| {
        Stop::Fail(format!(
            "cannot read the host name: {}",
            out.stderr_str().trim()
        ))
    })?;
    let strategy = choose(use_.as_deref(), &p).map_err(Stop::Fail)?;
    let (current, permanent, set_current, set_permanent) = plan(strategy, &name, &p);
    if strategy == Strategy::Systemd && (set_current || set_permanent) && name.len() > 64 {
        return Err(Stop::Fail(
            "name cannot be longer than 64 characters on systemd servers, try a shorter name"
                .into(),
        ));
    }
    let changed = set_current || set_permanent;
    if changed && !ctx.check_mode {
        match strategy {
            Strategy::File => {
                remote::write_file(
                    ctx,
                    "/etc/hostname",
                    format!("{name}\n").as_bytes(),
                    &remote::FileAttrs::default(),
                    &WriteOptions::default(),
                )
                .await?;
            }
            Strategy::Systemd => {
                let mut c = Cmd::empty();
                c.raw("true");
                if set_permanent {
                    c.raw("&& hostnamectl --pretty --static set-hostname")
                        .arg(&name);
                }
                if set_current {
                    c.raw("&& hostnamectl --transient set-hostname").arg(&name);
                }
                let out = remote::run(ctx, c.into_string(), None)
                    .await
                    .map_err(conn_err)?;
                if out.rc != 0 {
                    return Err(Stop::Fail(format!(
                        "Command failed rc={}, out={}, err={}",
                        out.rc,
                        out.stdout_str(),
                        out.stderr_str()
                    )));
                }
            }
        }
    }
    let before = if name != current { current } else { permanent };
    let mut result = ModuleResult {
        changed,
        ..ModuleResult::default()
    };
    let domain = p.fqdn.split('.').skip(1).collect::<Vec<_>>().join(".");
    result.set("name", name.clone()).set(
        "ansible_facts",
        json!({
            "ansible_hostname": name.split('.').next().unwrap_or_default(),
            "ansible_nodename": name,
            "ansible_fqdn": p.fqdn,
            "ansible_domain": domain,
        }),
    );
    if changed && ctx.diff_mode {
        result.diffs.push(Diff::Text {
            before_header: String::new(),
            after_header: String::new(),
            before: format!("hostname = {before}\n"),
            after: format!("hostname = {name}\n"),
        });
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strategies() {
        let mut p = Probed {
            os_ids: vec!["debian".into()],
            ..Probed::default()
        };
        assert_eq!(choose(None, &p), Ok(Strategy::File));
        // use: debian/systemd without hostnamectl fails like Ansible's get_bin_path.
        p.path = "/usr/sbin:/usr/bin".into();
        assert_eq!(
            choose(Some("debian"), &p),
            Err(
                "Failed to find required executable \"hostnamectl\" in paths: /usr/sbin:/usr/bin"
                    .into()
            )
        );
        p.hostnamectl = true;
        assert_eq!(choose(Some("systemd"), &p), Ok(Strategy::Systemd));
        assert_eq!(choose(Some("debian"), &p), Ok(Strategy::Systemd));
        assert!(choose(Some("redhat"), &p).is_err());
        p.systemd = true;
        assert_eq!(choose(None, &p), Ok(Strategy::Systemd));
        p.systemd = false;
        p.os_ids = vec!["fedora".into()];
        assert!(choose(None, &p).is_err());
    }

    #[test]
    fn probe_output() {
        let p = parse_probe(b"00\0/bin\0debian \0Fold-name\n\0\0\0old-name.example.org\n").unwrap();
        assert!(!p.systemd && !p.hostnamectl);
        assert_eq!(p.path, "/bin");
        assert_eq!(p.os_ids, ["debian"]);
        assert_eq!(p.file.as_deref(), Some("old-name"));
        assert_eq!(p.fqdn, "old-name.example.org");
        assert_eq!(
            plan(Strategy::File, "new", &p),
            ("old-name".into(), "old-name".into(), false, true)
        );
        assert!(!plan(Strategy::File, "old-name", &p).3);
        let p = parse_probe(b"11\0/bin\0ubuntu debian\0\0st\0tr\0x").unwrap();
        assert_eq!(p.file, None);
        assert!(p.systemd && p.hostnamectl);
        assert_eq!(
            plan(Strategy::Systemd, "st", &p),
            ("tr".into(), "st".into(), true, false)
        );
    }
}

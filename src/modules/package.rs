//! The `package` module: the generic front end that hands its arguments to the host's package
//! manager module, as Ansible's `package` action does.
//!
//! `use:` names the backend; `auto` (the default) tries apt directly — its probe says in the
//! same round trip whether the host has `apt-get` — and only on a host without it spends one
//! more round trip to name the package manager it does have, in the error.

use async_trait::async_trait;

use super::apt::{self, Params};
use super::remote;
use super::{Module, ModuleArgs, ModuleContext, ModuleError, ModuleResult};

/// The `package` module.
pub struct Package;

/// Package managers Ansible knows, by the tool that reveals each (Ansible's `PKG_MGRS` order,
/// the common ones).
const MANAGERS: &[(&str, &str)] = &[
    ("/usr/bin/rpm-ostree", "atomic_container"),
    ("/usr/bin/yum", "yum"),
    ("/usr/bin/dnf", "dnf"),
    ("/usr/bin/apt-get", "apt"),
    ("/usr/bin/zypper", "zypper"),
    ("/sbin/apk", "apk"),
    ("/usr/bin/pacman", "pacman"),
    ("/usr/sbin/pkg", "pkgng"),
    ("/usr/bin/emerge", "portage"),
    ("/usr/bin/xbps-install", "xbps"),
    ("/usr/bin/swupd", "swupd"),
    ("/usr/local/bin/brew", "homebrew"),
];

#[async_trait]
impl Module for Package {
    fn name(&self) -> &'static str {
        "package"
    }

    async fn run(
        &self,
        args: &ModuleArgs,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        let backend = args.str("use")?.unwrap_or_else(|| "auto".into());
        let values = args
            .keys()
            .filter(|k| *k != "use")
            .filter_map(|k| args.get(k).map(|v| (k.to_string(), v.clone())))
            .collect();
        let inner = ModuleArgs::new("package", values);
        match backend.as_str() {
            "auto" | "apt" => {}
            other => {
                return Ok(ModuleResult::failed(format!(
                    "package: use={other} is not available in jig; it manages packages with \
                     apt only (Debian and Ubuntu hosts)"
                )));
            }
        }
        let params = Params::from_args(&inner)?;
        if let Some(r) = apt::run_apt(&params, ctx).await? {
            return Ok(r);
        }
        let found = detect(ctx).await?;
        Ok(ModuleResult::failed(match found {
            Some(m) => format!(
                "package: {} uses the '{m}' package manager, which jig does not support yet; \
                 jig manages packages with apt (Debian and Ubuntu)",
                ctx.host
            ),
            None => format!(
                "package: could not find a package manager on {} (jig supports apt)",
                ctx.host
            ),
        }))
    }
}

/// The host's package manager, as Ansible's `pkg_mgr` fact names it.
async fn detect(ctx: &ModuleContext<'_>) -> Result<Option<String>, ModuleError> {
    let mut c = crate::connection::Cmd::empty();
    c.raw("for f in");
    c.args(MANAGERS.iter().map(|(p, _)| *p));
    c.raw("; do if [ -x \"$f\" ]; then printf '%s\\n' \"$f\"; exit 0; fi; done");
    let out = remote::run(ctx, c.into_string(), None).await?;
    let path = out.stdout_str();
    Ok(MANAGERS
        .iter()
        .find(|(p, _)| *p == path.trim())
        .map(|(_, n)| n.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::remote::testutil::Env;
    use serde_json::json;

    #[tokio::test]
    async fn other_backends_are_named_in_the_error() {
        let tmp = tempfile::tempdir().unwrap();
        let env = Env::new(tmp.path());
        let args = ModuleArgs::new(
            "package",
            [
                ("name".to_string(), json!("x")),
                ("use".to_string(), json!("dnf")),
            ]
            .into_iter()
            .collect(),
        );
        let r = Package.run(&args, &env.ctx(true, false)).await.unwrap();
        assert!(r.failed && r.msg.unwrap().contains("use=dnf"));
    }
}

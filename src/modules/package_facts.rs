//! The `package_facts` module: every installed package in `ansible_facts.packages`, in
//! Ansible's shape (name -> list of `{name, version, arch, category, origin, source}`), read
//! with `dpkg-query` and `apt-cache policy` in one round trip.
//!
//! Names are python-apt's (`Package.name`, what Ansible's apt backend keys by): plain for the
//! host's native architecture and `all`, `name:arch` only for a foreign architecture, where
//! `dpkg-query`'s `${binary:Package}` qualifies every `Multi-Arch: same` package
//! (`libc6:amd64`), so a role's `'libpam-modules' in ansible_facts.packages` would miss.

use async_trait::async_trait;
use indexmap::IndexMap;
use serde_json::{Map, Value as Json, json};

use super::remote::{self, Frames};
use super::{Module, ModuleArgs, ModuleContext, ModuleError, ModuleResult};

/// The `package_facts` module.
pub struct PackageFacts;

/// Installed packages (`dpkg-query`) after the native architecture, then `apt-cache policy` for
/// each of them (to find the installed version's first source), then the global policy
/// (source -> origin).
const SCRIPT: &str = r#"command -v dpkg-query >/dev/null 2>&1 || { printf 'X\0'; exit 0; }
LC_ALL=C; export LC_ALL
_l=$(dpkg-query -W -f '${db:Status-Abbrev}\t${binary:Package}\t${Version}\t${Architecture}\t${Section}\t${Package}\n' | awk -F '\t' 'substr($1, 2, 1) == "i"') || exit 1
printf '%s\0' "$(dpkg --print-architecture)"
printf '%s\0' "$_l"
set -f
apt-cache policy -- $(printf '%s\n' "$_l" | cut -f 2) 2>/dev/null; printf '\0'
apt-cache policy 2>/dev/null; printf '\0'"#;

/// One installed package.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Installed {
    /// python-apt's name: `name:arch` only for a foreign architecture.
    pub name: String,
    /// `dpkg-query`'s `${binary:Package}`, the name `apt-cache policy` was asked about.
    pub query: String,
    pub version: String,
    pub arch: String,
    pub section: String,
}

/// Parses the `dpkg-query` lines of a host whose native architecture is `native`.
pub(crate) fn parse_installed(text: &str, native: &str) -> Vec<Installed> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            if f.len() < 6 {
                return None;
            }
            let (query, arch, plain) = (f[1], f[3], f[5]);
            let name = if arch == native || arch == "all" {
                plain.to_string()
            } else {
                format!("{plain}:{arch}")
            };
            Some(Installed {
                name,
                query: query.to_string(),
                version: f[2].to_string(),
                arch: arch.to_string(),
                section: f[4].to_string(),
            })
        })
        .collect()
}

/// From the global `apt-cache policy`: each package file's line (`500 file:/srv ./ Packages`
/// without the priority) -> its release's origin (`o=`).
pub(crate) fn parse_origins(text: &str) -> IndexMap<String, String> {
    let mut out = IndexMap::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        let t = line.trim();
        if let Some(rel) = t.strip_prefix("release ") {
            if let Some(src) = current.take() {
                let origin = rel
                    .split(',')
                    .find_map(|kv| kv.strip_prefix("o="))
                    .unwrap_or("")
                    .to_string();
                out.insert(src, origin);
            }
        } else if line.starts_with(' ') && !line.starts_with("     ") {
            current = t.split_once(' ').map(|(_, s)| s.to_string());
        }
    }
    out
}

/// From `apt-cache policy NAMES...`: package -> the first source line of its installed version.
pub(crate) fn parse_installed_sources(text: &str) -> IndexMap<String, String> {
    let mut out = IndexMap::new();
    let mut pkg: Option<String> = None;
    let mut in_installed = false;
    for line in text.lines() {
        if !line.starts_with(' ') && line.ends_with(':') {
            pkg = Some(line.trim_end_matches(':').to_string());
            in_installed = false;
        } else if line.starts_with(" *** ") {
            in_installed = true;
        } else if line.starts_with("     ") && !line.starts_with("        ") {
            in_installed = false;
        } else if in_installed && line.starts_with("        ") {
            if let Some(p) = pkg.as_ref()
                && !out.contains_key(p)
            {
                let src = line.trim().split_once(' ').map(|(_, s)| s).unwrap_or("");
                out.insert(p.clone(), src.to_string());
            }
            in_installed = false;
        }
    }
    out
}

/// `ansible_facts.packages` from the three parts.
pub(crate) fn packages(
    installed: &[Installed],
    sources: &IndexMap<String, String>,
    origins: &IndexMap<String, String>,
) -> Map<String, Json> {
    let mut sorted: Vec<&Installed> = installed.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    let mut out = Map::new();
    for p in sorted {
        // apt-cache names native packages without the architecture.
        let origin = sources
            .get(&p.query)
            .or_else(|| sources.get(&p.name))
            .and_then(|s| origins.get(s))
            .cloned()
            .unwrap_or_default();
        let entry = json!({
            "name": p.name, "version": p.version, "arch": p.arch,
            "category": p.section, "origin": origin, "source": "apt",
        });
        match out.get_mut(&p.name) {
            Some(Json::Array(list)) => list.push(entry),
            _ => {
                out.insert(p.name.clone(), json!([entry]));
            }
        }
    }
    out
}

#[async_trait]
impl Module for PackageFacts {
    fn name(&self) -> &'static str {
        "package_facts"
    }

    async fn run(
        &self,
        args: &ModuleArgs,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        args.check_known(&["manager", "strategy"])?;
        let managers = args.list("manager")?.unwrap_or_else(|| vec!["auto".into()]);
        if let Some(m) = managers
            .iter()
            .find(|m| !matches!(m.as_str(), "auto" | "apt"))
        {
            return Ok(ModuleResult::failed(format!(
                "Unsupported package managers requested: {m} (jig reads apt/dpkg packages)"
            )));
        }
        if let Some(s) = args.str("strategy")?
            && s != "first"
            && s != "all"
        {
            return Err(args
                .invalid("strategy", format!("must be one of: first, all, got: {s}"))
                .into());
        }
        let out = remote::run(ctx, SCRIPT.to_string(), None).await?;
        if out.rc != 0 {
            return Ok(ModuleResult::failed(format!(
                "Failed to retrieve packages with apt: {}",
                out.stderr_str().trim()
            )));
        }
        let mut f = Frames::new(&out.stdout);
        let text = |b: Option<&[u8]>| String::from_utf8_lossy(b.unwrap_or_default()).into_owned();
        let native = text(f.next_record());
        if native == "X" {
            return Ok(ModuleResult::failed(
                "Could not auto detect a usable package manager, check warnings for details.",
            ));
        }
        let installed = parse_installed(&text(f.next_record()), native.trim());
        let sources = parse_installed_sources(&text(f.next_record()));
        let origins = parse_origins(&text(f.next_record()));
        let mut r = ModuleResult::ok();
        r.set(
            "ansible_facts",
            json!({ "packages": packages(&installed, &sources, &origins) }),
        );
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_have_ansibles_shape() {
        let installed = parse_installed(
            "ii \thello\t2.10-3\tamd64\tdevel\thello\n\
             ii \tlibfoo:i386\t1.0\ti386\tlibs\tlibfoo\n\
             ii \tlibpam-modules:amd64\t1.5.2-6\tamd64\tadmin\tlibpam-modules\n\
             ii \tdebconf\t1.5.82\tall\tadmin\tdebconf\n",
            "amd64",
        );
        let sources = parse_installed_sources(
            "hello:\n  Installed: 2.10-3\n  Candidate: 2.10-3\n  Version table:\n *** 2.10-3 500\n        500 file:/srv/jig-apt ./ Packages\n        100 /var/lib/dpkg/status\n",
        );
        let origins = parse_origins(
            "Package files:\n 100 /var/lib/dpkg/status\n     release a=now\n 500 file:/srv/jig-apt ./ Packages\n     release o=jig-testbed,l=jig-testbed,c=\nPinned packages:\n",
        );
        let p = packages(&installed, &sources, &origins);
        assert_eq!(
            p["hello"],
            json!([{"name": "hello", "version": "2.10-3", "arch": "amd64",
                    "category": "devel", "origin": "jig-testbed", "source": "apt"}])
        );
        assert_eq!(p["libfoo:i386"][0]["origin"], "");
        assert_eq!(p["libfoo:i386"][0]["name"], "libfoo:i386");
        // dpkg-query qualifies Multi-Arch: same packages of the native architecture too;
        // python-apt (and so Ansible) does not.
        assert_eq!(p["libpam-modules"][0]["name"], "libpam-modules");
        assert!(p.get("libpam-modules:amd64").is_none());
        assert_eq!(p["debconf"][0]["arch"], "all");
        assert_eq!(p.len(), 4);
    }
}

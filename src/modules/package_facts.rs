//! The `package_facts` module: every installed package in `ansible_facts.packages`, in
//! Ansible's shape (name -> list of `{name, version, arch, category, origin, source}`), read
//! with `dpkg-query` and `apt-cache policy` in one round trip.

use async_trait::async_trait;
use indexmap::IndexMap;
use serde_json::{Map, Value as Json, json};

use super::remote::{self, Frames};
use super::{Module, ModuleArgs, ModuleContext, ModuleError, ModuleResult};

/// The `package_facts` module.
pub struct PackageFacts;

/// Installed packages (`dpkg-query`), then `apt-cache policy` for each of them (to find the
/// installed version's first source), then the global policy (source -> origin).
const SCRIPT: &str = r#"command -v dpkg-query >/dev/null 2>&1 || { printf 'X\0'; exit 0; }
LC_ALL=C; export LC_ALL
_l=$(dpkg-query -W -f '${db:Status-Abbrev}\t${binary:Package}\t${Version}\t${Architecture}\t${Section}\n' | awk -F '\t' 'substr($1, 2, 1) == "i"') || exit 1
printf '%s\0' "$_l"
set -f
apt-cache policy -- $(printf '%s\n' "$_l" | cut -f 2) 2>/dev/null; printf '\0'
apt-cache policy 2>/dev/null; printf '\0'"#;

/// One installed package.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Installed {
    pub name: String,
    pub version: String,
    pub arch: String,
    pub section: String,
}

/// Parses the `dpkg-query` lines.
pub(crate) fn parse_installed(text: &str) -> Vec<Installed> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f.len() >= 5).then(|| Installed {
                name: f[1].to_string(),
                version: f[2].to_string(),
                arch: f[3].to_string(),
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
        let plain = p.name.split(':').next().unwrap_or(&p.name);
        let origin = sources
            .get(&p.name)
            .or_else(|| sources.get(plain))
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
        let list = text(f.next_record());
        if list == "X" {
            return Ok(ModuleResult::failed(
                "Could not auto detect a usable package manager, check warnings for details.",
            ));
        }
        let installed = parse_installed(&list);
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
            "ii \thello\t2.10-3\tamd64\tdevel\nii \tlibfoo:i386\t1.0\ti386\tlibs\n",
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
    }
}

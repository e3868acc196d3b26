//! The `debconf` module: pre-seeds debconf answers with `debconf-set-selections`, comparing
//! against `debconf-show` (and `debconf-get-selections` for passwords, which `debconf-show`
//! hides) in the same round trip.

use async_trait::async_trait;
use indexmap::IndexMap;
use serde_json::{Value as Json, json};

use super::remote::{self, Frames};
use super::{Diff, Module, ModuleArgs, ModuleContext, ModuleError, ModuleResult};
use crate::connection::Cmd;

/// The `debconf` module.
pub struct Debconf;

const VTYPES: &[&str] = &[
    "boolean",
    "error",
    "multiselect",
    "note",
    "password",
    "seen",
    "select",
    "string",
    "text",
    "title",
];

/// Prints `debconf-show PKG` (status, output, error) and, for a password question,
/// `debconf-get-selections`' lines for the package.
const PROBE: &str = r#"_e=$(mktemp) || exit 1
_o=$(debconf-show -- "$1" 2>"$_e"); _r=$?
printf '%s\0%s\0%s\0' "$_r" "$_o" "$(cat "$_e")"; rm -f -- "$_e"
if [ "$2" = password ]; then
  if command -v debconf-get-selections >/dev/null 2>&1; then
    debconf-get-selections | grep -F -- "$1"; printf '\0'
  else printf 'X\0'; fi
fi"#;

/// `debconf-show` output: question -> value (the `*` of seen questions stripped).
pub(crate) fn parse_show(out: &str) -> IndexMap<String, String> {
    out.lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| {
            (
                k.trim().trim_start_matches('*').trim().to_string(),
                v.trim().to_string(),
            )
        })
        .collect()
}

/// A password answer from `debconf-get-selections` lines (tab-separated).
pub(crate) fn password_value(lines: &str, pkg: &str, question: &str, vtype: &str) -> String {
    for line in lines.lines().filter(|l| l.starts_with(pkg)) {
        let fields: Vec<&str> = line.split('\t').collect();
        if fields.len() <= 3 {
            return String::new();
        }
        if fields[1] == question && fields[2] == vtype {
            return fields[3].to_string();
        }
    }
    String::new()
}

fn text_of(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        Json::Bool(b) => if *b { "True" } else { "False" }.to_string(),
        other => other.to_string(),
    }
}

#[async_trait]
impl Module for Debconf {
    fn name(&self) -> &'static str {
        "debconf"
    }

    async fn run(
        &self,
        args: &ModuleArgs,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        args.check_known(&[
            "name",
            "pkg",
            "question",
            "selection",
            "setting",
            "vtype",
            "value",
            "answer",
            "unseen",
        ])?;
        let pkg = match args.get_any(&["name", "pkg"]) {
            Some((n, _)) => args.req_str(n)?,
            None => args.req_str("name")?,
        };
        let question = match args.get_any(&["question", "selection", "setting"]) {
            Some((n, _)) => Some(args.req_str(n)?),
            None => None,
        };
        let vtype = args.str("vtype")?;
        if let Some(v) = &vtype
            && !VTYPES.contains(&v.as_str())
        {
            return Err(args
                .invalid(
                    "vtype",
                    format!("must be one of: {}, got: {v}", VTYPES.join(", ")),
                )
                .into());
        }
        let value = args.get_any(&["value", "answer"]).map(|(_, v)| v.clone());
        let unseen = args.bool_or("unseen", false)?;
        let given = [question.is_some(), vtype.is_some(), value.is_some()];
        if given.iter().any(|g| *g) && !given.iter().all(|g| *g) {
            return Err(args
                .error("parameters are required together: question, vtype, value")
                .into());
        }
        let vt = vtype.clone().unwrap_or_default();
        let mut c = Cmd::empty();
        c.raw("LC_ALL=C; export LC_ALL; set --")
            .arg(&pkg)
            .arg(&vt)
            .raw(";\n")
            .raw(PROBE);
        let out = remote::run(ctx, c.into_string(), None).await?;
        let mut f = Frames::new(&out.stdout);
        let text = |b: Option<&[u8]>| String::from_utf8_lossy(b.unwrap_or_default()).into_owned();
        let (rc, shown, err) = (
            text(f.next_record()),
            text(f.next_record()),
            text(f.next_record()),
        );
        if out.rc != 0 || rc != "0" {
            return Ok(ModuleResult::failed(if err.trim().is_empty() {
                format!("debconf-show {pkg} failed on {}", ctx.host)
            } else {
                err.trim().to_string()
            }));
        }
        let prev = parse_show(&shown);
        let Some(question) = question else {
            let mut r = ModuleResult::ok();
            r.set("msg", "").set("current", json!(prev));
            return Ok(r);
        };
        let raw = value.unwrap_or(Json::Null);
        let multi: Option<Vec<String>> = match (&raw, vt.as_str()) {
            (Json::Array(items), "multiselect") => {
                let mut v: Vec<String> = items.iter().map(text_of).collect();
                v.sort();
                Some(v)
            }
            _ => None,
        };
        let mut wanted = text_of(&raw);
        if vt == "boolean" {
            wanted = wanted.to_lowercase();
        }
        let changed = match prev.get(&question) {
            None => true,
            Some(existing) => match (vt.as_str(), &multi) {
                ("boolean", _) => existing.to_lowercase() != wanted,
                ("password", _) => {
                    let sel = text(f.next_record());
                    if sel == "X" {
                        return Ok(ModuleResult::failed(
                            "debconf-get-selections is needed to compare passwords: install \
                             debconf-utils",
                        ));
                    }
                    password_value(&sel, &pkg, &question, &vt) != wanted
                }
                ("multiselect", Some(items)) => {
                    let mut ex: Vec<String> =
                        existing.split(',').map(|s| s.trim().to_string()).collect();
                    ex.sort();
                    &ex != items
                }
                _ => existing != &wanted,
            },
        };
        let mut r = ModuleResult::ok();
        if !changed {
            r.set("msg", "").set("current", json!(prev));
            return Ok(r);
        }
        r.changed = true;
        if let Some(items) = &multi {
            wanted = items.join(", ");
        }
        let mut msg = String::new();
        if !ctx.check_mode {
            let mut c = Cmd::new("debconf-set-selections");
            if unseen {
                c.arg("-u");
            }
            let data = [pkg.as_str(), &question, &vt, &wanted].join(" ");
            let out = remote::run(ctx, c.into_string(), Some(data.into_bytes())).await?;
            if out.rc != 0 {
                return Ok(ModuleResult::failed(out.stderr_str().trim().to_string()));
            }
            msg = out.stdout_str();
        }
        let previous = prev.get(&question).cloned().unwrap_or_default();
        if ctx.diff_mode {
            r.diffs.push(Diff::Fields {
                path: pkg.clone(),
                before: [(question.clone(), previous.clone())].into_iter().collect(),
                after: [(question.clone(), wanted.clone())].into_iter().collect(),
            });
        }
        r.set("msg", msg)
            .set("current", json!({ question.clone(): wanted }))
            .set("previous", json!({ question: previous }));
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn show_and_passwords_parse() {
        let p = parse_show("* tzdata/Areas: Europe\n  tzdata/Zones/Europe: Paris\n");
        assert_eq!(p["tzdata/Areas"], "Europe");
        assert_eq!(p["tzdata/Zones/Europe"], "Paris");
        let sel = "mysql-server\tmysql-server/root_password\tpassword\ts3cr'et $(x)\n";
        assert_eq!(
            password_value(
                sel,
                "mysql-server",
                "mysql-server/root_password",
                "password"
            ),
            "s3cr'et $(x)"
        );
        assert_eq!(password_value("", "x", "q", "password"), "");
    }
}

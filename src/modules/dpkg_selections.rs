//! The `dpkg_selections` module: a package's dpkg selection (`install`, `hold`, `deinstall`,
//! `purge`), read with `dpkg --get-selections` and set with `dpkg --set-selections`.

use async_trait::async_trait;

use super::remote;
use super::{Diff, Module, ModuleArgs, ModuleContext, ModuleError, ModuleResult};
use crate::connection::Cmd;

/// The `dpkg_selections` module.
pub struct DpkgSelections;

const CHOICES: &[&str] = &["install", "hold", "deinstall", "purge"];

/// Reads the selection (`S<out>\0<err>\0`), and sets it when the third parameter is 1 and it
/// differs from the second.
const SCRIPT: &str = r#"_e=$(mktemp) || exit 1
_o=$(dpkg --get-selections -- "$1" 2>"$_e"); _r=$?
printf '%s\0%s\0' "$_o" "$(cat "$_e")"; rm -f -- "$_e"
[ "$_r" = 0 ] || exit 3
set -- "$1" "$2" "$3" "$(printf '%s\n' "$_o" | awk 'NR == 1 { print $NF }')"
[ -z "$4" ] && set -- "$1" "$2" "$3" 'not present'
if [ "$3" = 1 ] && [ "$4" != "$2" ]; then
  printf '%s %s\n' "$1" "$2" | dpkg --set-selections || exit 4
fi"#;

/// The current selection from `dpkg --get-selections` output; Err when dpkg knows no such
/// package.
pub(crate) fn current(out: &str, err: &str) -> Result<String, ()> {
    if err.contains("no packages found matching") {
        return Err(());
    }
    Ok(out
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().last())
        .filter(|_| out.split_whitespace().count() > 1)
        .unwrap_or("not present")
        .to_string())
}

#[async_trait]
impl Module for DpkgSelections {
    fn name(&self) -> &'static str {
        "dpkg_selections"
    }

    async fn run(
        &self,
        args: &ModuleArgs,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        args.check_known(&["name", "selection"])?;
        let name = args.req_str("name")?;
        let selection = args.req_str("selection")?;
        if !CHOICES.contains(&selection.as_str()) {
            return Err(args
                .invalid(
                    "selection",
                    format!("must be one of: {}, got: {selection}", CHOICES.join(", ")),
                )
                .into());
        }
        let mut c = Cmd::empty();
        c.raw("LC_ALL=C; export LC_ALL; set --")
            .arg(&name)
            .arg(&selection)
            .arg(if ctx.check_mode { "0" } else { "1" })
            .raw(";\n")
            .raw(SCRIPT);
        let out = remote::run(ctx, c.into_string(), None).await?;
        let mut f = remote::Frames::new(&out.stdout);
        let text = |b: Option<&[u8]>| String::from_utf8_lossy(b.unwrap_or_default()).into_owned();
        let (o, e) = (text(f.next_record()), text(f.next_record()));
        let before = match current(&o, &e) {
            Ok(c) => c,
            Err(()) => {
                return Ok(ModuleResult::failed(format!(
                    "Failed to find package '{name}' to perform selection '{selection}'."
                )));
            }
        };
        if out.rc != 0 {
            return Ok(ModuleResult::failed(format!(
                "dpkg --set-selections failed for {name}: {} {}",
                e.trim(),
                out.stderr_str().trim()
            )));
        }
        let mut r = ModuleResult::ok();
        r.changed = before != selection;
        if r.changed && ctx.diff_mode {
            r.diffs.push(Diff::Fields {
                path: name.clone(),
                before: [("selection".to_string(), before.clone())]
                    .into_iter()
                    .collect(),
                after: [("selection".to_string(), selection.clone())]
                    .into_iter()
                    .collect(),
            });
        }
        r.set("before", before).set("after", selection);
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selections_parse() {
        assert_eq!(current("hello\t\t\t\t\thold\n", ""), Ok("hold".into()));
        assert_eq!(current("", ""), Ok("not present".into()));
        assert_eq!(current("", "dpkg: no packages found matching x"), Err(()));
    }

    #[test]
    fn script_quotes_hostile_names() {
        // A fake dpkg on PATH records its arguments; the hostile name must arrive as one word.
        let tmp = tempfile::tempdir().unwrap();
        let bin = tmp.path().join("dpkg");
        std::fs::write(
            &bin,
            "#!/bin/sh\nif [ \"$1\" = --get-selections ]; then printf '%s\\tinstall\\n' \"$3\"; else cat > \"$(dirname \"$0\")/set\"; fi\n",
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        let name = "x $(touch /tmp/jig-sel-pwned) 'q'";
        let mut c = Cmd::empty();
        c.raw("set --")
            .arg(name)
            .arg("hold")
            .arg("1")
            .raw(";\n")
            .raw(SCRIPT);
        let out = std::process::Command::new("/bin/sh")
            .arg("-c")
            .arg(c.as_str())
            .env("PATH", format!("{}:/usr/bin:/bin", tmp.path().display()))
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        assert_eq!(
            std::fs::read_to_string(tmp.path().join("set")).unwrap(),
            format!("{name} hold\n")
        );
        assert!(!std::path::Path::new("/tmp/jig-sel-pwned").exists());
    }
}

//! The `replace` module: every match of a regular expression in a file replaced, Python
//! `re.sub` style.
//!
//! [`edit`] is the pure function and follows ansible.builtin.replace (2.19): the pattern is
//! compiled with MULTILINE; `replace` is a Python template (`\1`, `\g<1>`, `\g<name>`);
//! `after`/`before` limit the work to the text between the first match of `after` and the
//! next match of `before` (DOTALL); the file is decoded with `encoding`.

use async_trait::async_trait;

use super::pyregex::{Dollar, PyRegex, Template};
use super::textfile::{
    Decision, Edit, FILE_ARGS, FileArgs, Stop, Text, edit_file, expand_path, finish, text_diff,
};
use super::{Module, ModuleArgs, ModuleContext, ModuleError, ModuleResult};

/// What to replace.
#[derive(Debug)]
pub struct Spec {
    /// `regexp`, compiled with MULTILINE.
    pub regexp: PyRegex,
    /// `replace`, parsed against `regexp`'s groups.
    pub template: Template,
    /// `after`/`before` combined into Ansible's section pattern, if either was given.
    pub section: Option<PyRegex>,
}

impl Spec {
    /// Builds the patterns the way Ansible does (including the section pattern text it puts
    /// in its "did not match" message).
    pub fn new(
        regexp: &str,
        replace: &str,
        after: Option<&str>,
        before: Option<&str>,
    ) -> Result<Spec, String> {
        let regexp = PyRegex::compile(regexp, Dollar::Multiline, false)?;
        let template = Template::parse(replace, &regexp)?;
        let section = match (
            after.filter(|s| !s.is_empty()),
            before.filter(|s| !s.is_empty()),
        ) {
            (Some(a), Some(b)) => Some(format!("{a}(?P<subsection>.*?){b}")),
            (Some(a), None) => Some(format!("{a}(?P<subsection>.*)")),
            (None, Some(b)) => Some(format!("(?P<subsection>.*){b}")),
            (None, None) => None,
        };
        let section = section
            .map(|p| PyRegex::compile(&p, Dollar::Text, true))
            .transpose()?;
        Ok(Spec {
            regexp,
            template,
            section,
        })
    }
}

/// Applies the replacement to a file's text.
pub fn edit(contents: &str, spec: &Spec) -> Result<Edit, String> {
    let (start, end) = match &spec.section {
        None => (0, contents.len()),
        Some(section) => match section
            .search(contents)?
            .and_then(|caps| caps.name("subsection"))
        {
            Some(m) => (m.start(), m.end()),
            None => {
                return Ok(Edit {
                    msg: format!(
                        "Pattern for before/after params did not match the given file: {}",
                        section.as_str()
                    ),
                    ..Edit::unchanged(contents)
                });
            }
        },
    };
    let part = &contents[start..end];
    let (replaced, count) = spec.regexp.subn(&spec.template, part)?;
    if count == 0 || replaced == part {
        return Ok(Edit::unchanged(contents));
    }
    Ok(Edit {
        text: format!("{}{replaced}{}", &contents[..start], &contents[end..]),
        changed: true,
        msg: format!("{count} replacements made"),
        found: None,
    })
}

/// The `replace` module.
pub struct Replace;

const KNOWN: &[&str] = &["regexp", "replace", "after", "before", "encoding"];

#[async_trait]
impl Module for Replace {
    fn name(&self) -> &'static str {
        "replace"
    }

    async fn run(
        &self,
        args: &ModuleArgs,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        finish(run(args, ctx).await)
    }
}

async fn run(args: &ModuleArgs, ctx: &ModuleContext<'_>) -> Result<ModuleResult, Stop> {
    let known: Vec<&str> = KNOWN.iter().chain(FILE_ARGS).copied().collect();
    args.check_known(&known)?;
    let mut fa = FileArgs::from_args(args)?;
    fa.path = expand_path(ctx, &fa.path).await?;
    let regexp = args.req_str("regexp")?;
    let replace = args.str("replace")?.unwrap_or_default();
    let after = args.str("after")?;
    let before = args.str("before")?;
    let encoding = args.str("encoding")?.unwrap_or_else(|| "utf-8".into());

    let decide = |current: Option<&Text>| -> Result<Decision<()>, Stop> {
        let Some(text) = current else {
            let mut r = ModuleResult::failed(format!("Path {} does not exist !", fa.path));
            r.set("rc", 257);
            return Ok(Decision::Done(r));
        };
        let spec = Spec::new(
            &text.adapt(&regexp),
            &text.adapt(&replace),
            after.as_deref().map(|a| text.adapt(a)).as_deref(),
            before.as_deref().map(|b| text.adapt(b)).as_deref(),
        )
        .map_err(|e| Stop::Fail(format!("Unable to process replace due to error: {e}")))?;
        let edit = edit(&text.text, &spec).map_err(Stop::Fail)?;

        let mut result = ModuleResult {
            changed: edit.changed,
            msg: Some(edit.msg.clone()),
            ..ModuleResult::default()
        };
        result.set("rc", 0);
        if edit.changed && ctx.diff_mode {
            result
                .diffs
                .push(text_diff(fa.path.clone(), text, &edit.text));
        }
        let new_content = if edit.changed {
            Some(text.encode(&edit.text).map_err(Stop::Fail)?)
        } else {
            None
        };
        Ok(Decision::Commit {
            result,
            new_content,
            then: (),
        })
    };
    let decode = |b: &[u8]| Text::decode_as(b, &encoding);
    Ok(edit_file(ctx, &fa, false, decode, decide)
        .await?
        .into_result())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expected values were taken from ansible-core 2.19's replace on the same input.
    fn check(
        contents: &str,
        regexp: &str,
        replace: &str,
        range: (Option<&str>, Option<&str>),
        want: &str,
        msg: &str,
    ) {
        let spec = Spec::new(regexp, replace, range.0, range.1).unwrap();
        let e = edit(contents, &spec).unwrap();
        assert_eq!(e.text, want, "{regexp:?} on {contents:?}");
        assert_eq!(e.msg, msg, "{regexp:?} on {contents:?}");
    }

    #[test]
    fn documented_examples() {
        check(
            "old.host.name\nx old.host.name\n",
            r"(\s+)old\.host\.name(\s+.*)?$",
            r"\1new.host.name\2",
            (None, None),
            "old.host.name\nx new.host.name\n",
            "1 replacements made",
        );
        check(
            "HOSTS=a b\n",
            r"^(?P<k>HOSTS)=.*$",
            r"\g<k>='x y'",
            (None, None),
            "HOSTS='x y'\n",
            "1 replacements made",
        );
    }

    #[test]
    fn multiline_anchors_like_python() {
        check(
            "a\nb\n",
            "^",
            "# ",
            (None, None),
            "# a\n# b\n# ",
            "3 replacements made",
        );
        check(
            "a\nb\n",
            "$",
            "!",
            (None, None),
            "a!\nb!\n!",
            "3 replacements made",
        );
        check(
            "a  b\n",
            r"\s+",
            " ",
            (None, None),
            "a b ",
            "2 replacements made",
        );
        check(
            "ab\n",
            "x*",
            "-",
            (None, None),
            "-a-b-\n-",
            "4 replacements made",
        );
    }

    #[test]
    fn after_and_before_limit_the_section() {
        let f = "<VirtualHost>\nx=1\n</VirtualHost>\nx=1\n";
        let v = (Some("<VirtualHost>"), Some("</VirtualHost>"));
        let want = "<VirtualHost>\nx=2\n</VirtualHost>\nx=1\n";
        check(f, "x=1", "x=2", v, want, "1 replacements made");
        check(
            f,
            "x=1",
            "x=2",
            (Some("<VirtualHost>"), None),
            "<VirtualHost>\nx=2\n</VirtualHost>\nx=2\n",
            "2 replacements made",
        );
        check(
            f,
            "x=1",
            "x=2",
            (None, Some("</VirtualHost>")),
            want,
            "1 replacements made",
        );
        check(
            "a\n",
            "x",
            "y",
            (Some("zzz"), None),
            "a\n",
            "Pattern for before/after params did not match the given file: zzz(?P<subsection>.*)",
        );
    }

    #[test]
    fn no_change() {
        check("a\n", "a", "a", (None, None), "a\n", "");
        check("a\n", "b", "c", (None, None), "a\n", "");
    }

    #[test]
    fn bad_input_is_an_error() {
        assert!(Spec::new("(", "", None, None).is_err());
        assert!(Spec::new("(a)", r"\2", None, None).is_err());
    }

    mod module {
        //! The module on the local connection, in temporary directories.

        use serde_json::{Value as Json, json};

        use crate::modules::remote::testutil::{Env, HOSTILE, assert_not_pwned};
        use crate::modules::{Diff, Module, ModuleArgs, ModuleResult};

        use super::super::Replace;

        async fn rep(env: &Env, check: bool, args: Json) -> ModuleResult {
            let map = args.as_object().unwrap().clone().into_iter().collect();
            let args = ModuleArgs::new("replace", map);
            Replace.run(&args, &env.ctx(check, true)).await.unwrap()
        }

        #[tokio::test]
        async fn replaces_in_place_with_diff_and_backup() {
            let tmp = tempfile::tempdir().unwrap();
            let env = Env::new(tmp.path());
            let f = tmp.path().join(HOSTILE);
            std::fs::write(&f, "listen 80;\nlisten [::]:80;\n").unwrap();
            let args = json!({"path": f, "regexp": r"listen (\[::\]:)?80;",
                              "replace": r"listen \g<1>8080; # $(touch /tmp/jig-files-pwned) ✓"});
            let r = rep(&env, true, args.clone()).await;
            assert!(r.changed && !r.failed, "{r:?}");
            assert_eq!(
                std::fs::read_to_string(&f).unwrap(),
                "listen 80;\nlisten [::]:80;\n"
            );
            let mut with_backup = args.clone();
            with_backup["backup"] = json!(true);
            let r = rep(&env, false, with_backup).await;
            assert!(r.changed && !r.failed, "{r:?}");
            assert_eq!(r.msg.as_deref(), Some("2 replacements made"));
            assert_eq!(r.values["rc"], json!(0));
            let want = "listen 8080; # $(touch /tmp/jig-files-pwned) ✓\n\
                        listen [::]:8080; # $(touch /tmp/jig-files-pwned) ✓\n";
            assert_eq!(std::fs::read_to_string(&f).unwrap(), want);
            let backup = r.values["backup_file"].as_str().unwrap();
            assert_eq!(
                std::fs::read_to_string(backup).unwrap(),
                "listen 80;\nlisten [::]:80;\n"
            );
            match &r.diffs[0] {
                Diff::Text {
                    before_header,
                    after,
                    ..
                } => {
                    assert_eq!(before_header, &f.display().to_string());
                    assert_eq!(after, want);
                }
                other => panic!("{other:?}"),
            }
            assert_not_pwned();
        }

        #[tokio::test]
        async fn latin1_encoding_and_missing_file() {
            let tmp = tempfile::tempdir().unwrap();
            let env = Env::new(tmp.path());
            let f = tmp.path().join("l1");
            std::fs::write(&f, b"caf\xe9\n").unwrap();
            let r = rep(
                &env,
                false,
                json!({"path": f, "regexp": "é", "replace": "e", "encoding": "latin-1"}),
            )
            .await;
            assert!(r.changed, "{r:?}");
            assert_eq!(std::fs::read(&f).unwrap(), b"cafe\n");
            let r = rep(
                &env,
                false,
                json!({"path": tmp.path().join("nope"), "regexp": "x"}),
            )
            .await;
            assert!(r.failed);
            assert!(r.msg.unwrap().ends_with("does not exist !"));
            let r = rep(&env, false, json!({"path": f, "regexp": "("})).await;
            assert!(r.failed);
            assert!(
                r.msg
                    .unwrap()
                    .starts_with("Unable to process replace due to error")
            );
        }
    }
}

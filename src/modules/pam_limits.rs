//! The `pam_limits` module (community.general.pam_limits): one `domain type item value` line
//! of `/etc/security/limits.conf` (or `dest`).
//!
//! Written from the module's documentation and from what community.general 11.4.2 does to a
//! file (observed with ansible-core 2.19): lines of the same domain, type and item are
//! rewritten as `domain<TAB>type<TAB>item<TAB>value[<TAB>#comment]`, a missing one is appended,
//! a line whose value already satisfies `use_max`/`use_min` is left as it is, and a missing
//! file is created. community.general also carries a comment over from an earlier line that
//! had one; jig writes only the task's own comment (docs/differences.md). [`edit`] is the pure
//! part; probe, commit and backup are [`super::textfile`]'s.

use async_trait::async_trait;

use super::remote::{self, WriteOptions};
use super::textfile::{Decision, Edited, FileArgs, Stop, Text, edit_file, expand_path, finish};
use super::{Diff, Module, ModuleArgs, ModuleContext, ModuleError, ModuleResult};

/// The `limit_item` values.
pub const ITEMS: &[&str] = &[
    "core",
    "data",
    "fsize",
    "memlock",
    "nofile",
    "rss",
    "stack",
    "cpu",
    "nproc",
    "as",
    "maxlogins",
    "maxsyslogins",
    "priority",
    "locks",
    "sigpending",
    "msgqueue",
    "nice",
    "rtprio",
    "chroot",
];

/// How an existing value is compared with the task's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keep {
    /// The task's value replaces any other.
    Exact,
    /// The larger of the two is kept (`use_max`).
    Max,
    /// The smaller of the two is kept (`use_min`).
    Min,
}

/// The line the task is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limit {
    /// `domain`.
    pub domain: String,
    /// `limit_type`: `hard`, `soft` or `-`.
    pub kind: String,
    /// `limit_item`.
    pub item: String,
    /// `value`.
    pub value: String,
    /// `use_max` / `use_min`.
    pub keep: Keep,
    /// `comment` (without `#`).
    pub comment: String,
}

/// `unlimited`, `infinity` and `-1` are larger than any number.
fn magnitude(v: &str) -> Option<i128> {
    match v {
        "unlimited" | "infinity" | "-1" => Some(i128::MAX),
        _ => v.parse().ok(),
    }
}

/// The value a line with `old` should have.
pub fn wanted_value(old: &str, new: &str, keep: Keep) -> String {
    let pick = |prefer_old: bool| if prefer_old { old } else { new }.to_string();
    match (keep, magnitude(old), magnitude(new)) {
        (Keep::Max, Some(o), Some(n)) => pick(o >= n),
        (Keep::Min, Some(o), Some(n)) => pick(o <= n),
        _ => new.to_string(),
    }
}

impl Limit {
    fn line(&self, value: &str) -> String {
        if self.comment.is_empty() {
            format!("{}\t{}\t{}\t{}\n", self.domain, self.kind, self.item, value)
        } else {
            format!(
                "{}\t{}\t{}\t{}\t#{}\n",
                self.domain, self.kind, self.item, value, self.comment
            )
        }
    }
}

/// The result of [`edit`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LimitEdit {
    /// The new content.
    pub text: String,
    /// Ansible's `msg`: the line the file has for the limit.
    pub msg: String,
}

/// Sets the limit in `before`.
pub fn edit(before: &str, limit: &Limit) -> LimitEdit {
    let mut out = String::new();
    let mut msg = None;
    for line in before.split_inclusive('\n') {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            out.push_str(line);
            continue;
        }
        let fields_part = t.split('#').next().unwrap_or("");
        let comment = t.find('#').map(|i| t[i + 1..].trim()).unwrap_or("");
        let fields: Vec<&str> = fields_part.split_whitespace().collect();
        if fields.len() != 4
            || fields[0] != limit.domain
            || fields[1] != limit.kind
            || fields[2] != limit.item
        {
            out.push_str(line);
            continue;
        }
        let value = wanted_value(fields[3], &limit.value, limit.keep);
        let same_comment = limit.comment.is_empty() || comment == limit.comment;
        if value == fields[3] && same_comment {
            let mut kept = line.to_string();
            if !kept.ends_with('\n') {
                kept.push('\n');
            }
            msg.get_or_insert(kept.clone());
            out.push_str(&kept);
        } else {
            let new = limit.line(&value);
            msg.get_or_insert(new.clone());
            out.push_str(&new);
        }
    }
    let msg = match msg {
        Some(m) => m,
        None => {
            if !out.is_empty() && !out.ends_with('\n') {
                out.push('\n');
            }
            let new = limit.line(&limit.value);
            out.push_str(&new);
            new
        }
    };
    LimitEdit { text: out, msg }
}

/// The `pam_limits` module.
pub struct PamLimits;

const KNOWN: &[&str] = &[
    "domain",
    "limit_type",
    "limit_item",
    "value",
    "use_max",
    "use_min",
    "backup",
    "dest",
    "comment",
    "mode",
    "owner",
    "group",
    "unsafe_writes",
    "seuser",
    "serole",
    "setype",
    "selevel",
    "attributes",
];

fn valid_value(item: &str, value: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    matches!(value, "unlimited" | "infinity" | "-1")
        || digits(value)
        || (matches!(item, "nice" | "priority") && value.strip_prefix('-').is_some_and(digits))
}

#[async_trait]
impl Module for PamLimits {
    fn name(&self) -> &'static str {
        "pam_limits"
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
    args.check_known(KNOWN)?;
    let domain = args.req_str("domain")?;
    let kind = args.req_str("limit_type")?;
    if !matches!(kind.as_str(), "hard" | "soft" | "-") {
        return Err(args
            .invalid(
                "limit_type",
                format!("must be one of: hard, soft, -, got: {kind}"),
            )
            .into());
    }
    let item = args.req_str("limit_item")?;
    if !ITEMS.contains(&item.as_str()) {
        return Err(args
            .invalid(
                "limit_item",
                format!("must be one of: {}, got: {item}", ITEMS.join(", ")),
            )
            .into());
    }
    let value = args.req_str("value")?;
    let use_max = args.bool_or("use_max", false)?;
    let use_min = args.bool_or("use_min", false)?;
    if use_max && use_min {
        return Err(Stop::Fail(
            "Cannot use use_min and use_max at the same time.".into(),
        ));
    }
    if !valid_value(&item, &value) {
        return Err(Stop::Fail(format!(
            "Argument 'value' can be one of 'unlimited', 'infinity', '-1' or positive number. Refer to manual pages for more details. (got '{value}')"
        )));
    }
    for (name, v) in [("domain", &domain), ("value", &value)] {
        if v.is_empty() || v.chars().any(char::is_whitespace) || v.contains('#') {
            return Err(args.invalid(name, "must be one word without '#'").into());
        }
    }
    let comment = args.str("comment")?.unwrap_or_default();
    if comment.contains('\n') {
        return Err(args.invalid("comment", "must be one line").into());
    }
    let limit = Limit {
        domain,
        kind,
        item,
        value,
        keep: if use_max {
            Keep::Max
        } else if use_min {
            Keep::Min
        } else {
            Keep::Exact
        },
        comment,
    };
    let mut fa = FileArgs {
        path: args
            .str("dest")?
            .unwrap_or_else(|| "/etc/security/limits.conf".into()),
        attrs: remote::attrs_from_args(args)?,
        write: WriteOptions {
            backup: args.bool_or("backup", false)?,
            validate: None,
            unsafe_writes: args.bool_or("unsafe_writes", false)?,
        },
        warnings: Vec::new(),
    };
    fa.path = expand_path(ctx, &fa.path).await?;
    let decide = |current: Option<&Text>| -> Result<Decision<()>, Stop> {
        let before = current.map(|t| t.text.clone()).unwrap_or_default();
        let e = edit(&before, &limit);
        let changed = e.text != before;
        let mut result = ModuleResult {
            changed,
            msg: Some(e.msg),
            ..ModuleResult::default()
        };
        if ctx.diff_mode && changed {
            result.diffs.push(Diff::Text {
                // community.general's diff names no file: the console prints plain
                // "before"/"after".
                before_header: String::new(),
                after_header: String::new(),
                before: before.clone(),
                after: e.text.clone(),
            });
        }
        Ok(Decision::Commit {
            result,
            new_content: changed.then(|| e.text.into_bytes()),
            then: (),
        })
    };
    match edit_file(ctx, &fa, false, |b| Ok(Text::decode(b)), decide).await? {
        Edited::Done(r) => Ok(r),
        Edited::Committed {
            mut result, backup, ..
        } => {
            if let Some(backup) = backup {
                result.set("backup_file", backup);
            }
            Ok(result)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(domain: &str, kind: &str, item: &str, value: &str, keep: Keep, c: &str) -> Limit {
        Limit {
            domain: domain.into(),
            kind: kind.into(),
            item: item.into(),
            value: value.into(),
            keep,
            comment: c.into(),
        }
    }

    const FILE: &str = "# /etc/security/limits.conf\n#\n#*               soft    core            0\n\n*\t\tsoft\tnofile\t\t1024\n@dev hard nproc 50\n# End of file\n";

    /// Results community.general 11.4.2 gave on the same file.
    #[test]
    fn lines_are_rewritten_or_appended_like_community_general() {
        let e = edit(FILE, &limit("*", "soft", "nofile", "4096", Keep::Exact, ""));
        assert_eq!(e.msg, "*\tsoft\tnofile\t4096\n");
        assert_eq!(
            e.text,
            FILE.replace("*\t\tsoft\tnofile\t\t1024\n", "*\tsoft\tnofile\t4096\n")
        );
        // use_max keeps a larger value, line untouched.
        let e = edit(FILE, &limit("@dev", "hard", "nproc", "40", Keep::Max, ""));
        assert_eq!(
            (e.text.as_str(), e.msg.as_str()),
            (FILE, "@dev hard nproc 50\n")
        );
        let e = edit(
            FILE,
            &limit("@dev", "hard", "nproc", "60", Keep::Max, "new c"),
        );
        assert!(e.text.contains("@dev\thard\tnproc\t60\t#new c\n"));
        let e = edit(
            FILE,
            &limit(
                "ann",
                "soft",
                "memlock",
                "unlimited",
                Keep::Exact,
                "for ann",
            ),
        );
        assert!(
            e.text
                .ends_with("# End of file\nann\tsoft\tmemlock\tunlimited\t#for ann\n")
        );
        assert_eq!(
            edit(
                &e.text,
                &limit(
                    "ann",
                    "soft",
                    "memlock",
                    "unlimited",
                    Keep::Exact,
                    "for ann"
                )
            )
            .text,
            e.text
        );
        // use_min: unlimited is larger than any number.
        let e2 = edit(
            &e.text,
            &limit("ann", "soft", "memlock", "6", Keep::Min, ""),
        );
        assert!(e2.text.contains("ann\tsoft\tmemlock\t6\n"));
        // A new file.
        let e = edit("", &limit("ann", "hard", "nofile", "5", Keep::Exact, ""));
        assert_eq!(e.text, "ann\thard\tnofile\t5\n");
    }

    #[test]
    fn values_compare_as_numbers() {
        assert_eq!(wanted_value("50", "40", Keep::Max), "50");
        assert_eq!(wanted_value("9", "10", Keep::Max), "10");
        assert_eq!(wanted_value("unlimited", "10", Keep::Max), "unlimited");
        assert_eq!(wanted_value("-1", "10", Keep::Min), "10");
        assert_eq!(wanted_value("5", "6", Keep::Min), "5");
        assert!(valid_value("nice", "-5"));
        assert!(!valid_value("nofile", "-5"));
        assert!(!valid_value("nofile", "1 $(touch PWNED)"));
    }

    #[test]
    fn hostile_comments_stay_text() {
        let c = "it's \"$(touch PWNED)\" `id` ü";
        let e = edit("", &limit("@g", "-", "nofile", "1", Keep::Exact, c));
        assert_eq!(e.text, format!("@g\t-\tnofile\t1\t#{c}\n"));
        assert_eq!(
            edit(&e.text, &limit("@g", "-", "nofile", "1", Keep::Exact, c)).text,
            e.text
        );
    }
}

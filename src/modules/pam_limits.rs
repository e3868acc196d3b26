//! The `pam_limits` module (community.general.pam_limits): one `domain type item value` line
//! of `/etc/security/limits.conf` (or `dest`).
//!
//! Written from what community.general 11.4.2 does to a file (observed with ansible-core
//! 2.19; the cases are recorded in tests/fixtures/sysfiles2/comments_state.txt), quirks
//! included, because roles were written against them:
//! - lines starting with `#` and blank lines are kept; a commented-out limit is never edited;
//! - every other line of four fields is a limit, and one whose value is not valid fails the
//!   task ("Invalid configuration found in ...");
//! - the lines of the same domain, type and item are rewritten as
//!   `domain<TAB>type<TAB>item<TAB>value[<TAB>#comment]` when their value changes (a line
//!   whose value stays is kept as it is, whatever its comment), a missing one is appended;
//! - without a `comment`, the text after the first `#` of the first non-comment line that has
//!   one (an indented comment, another limit's comment...) becomes the comment, end of line
//!   included, so such a line ends with an empty line; each rewritten line prefixes the
//!   comment with another TAB and `#`;
//! - `use_max`/`use_min` compare numbers, `unlimited`, `infinity` and `-1` being larger than
//!   any; `backup` copies the file on every run, changed or not.
//!
//! [`edit`] is the pure part; probe, commit and backup are [`super::textfile`]'s.

use crate::pyfmt::str_repr;
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

fn is_unlimited(v: &str) -> bool {
    matches!(v, "unlimited" | "infinity" | "-1")
}

/// Python's `int()` of a valid value (digits, or a signed number for `nice`/`priority`).
fn int(v: &str) -> Option<i128> {
    v.trim().parse().ok()
}

/// The value a line holding `old` gets, as community.general computes it (`value == old` is
/// handled before: the line stays). `None` when a value is not a number it can compare.
pub fn wanted_value(old: &str, new: &str, keep: Keep) -> Option<String> {
    // community.general means to exempt nice/priority here but tests the limit type, so the
    // exemption never applies: "-1" is "unlimited" for every item.
    let (old_unl, new_unl) = (is_unlimited(old), is_unlimited(new));
    Some(match keep {
        Keep::Exact => new.to_string(),
        Keep::Max if old_unl => old.to_string(),
        Keep::Max if new_unl => new.to_string(),
        Keep::Max => int(new)?.max(int(old)?).to_string(),
        Keep::Min if old_unl && new_unl => old.to_string(),
        Keep::Min if old_unl => new.to_string(),
        Keep::Min if new_unl => old.to_string(),
        Keep::Min => int(new)?.min(int(old)?).to_string(),
    })
}

/// community.general's `_assert_is_valid_value`: `Err(msg)` for a value the item cannot take.
/// `prefix` names the file for values found in it ("" for the task's own).
pub fn check_value(item: &str, value: &str, prefix: &str) -> Result<(), String> {
    let (v, i) = (str_repr(value), str_repr(item));
    if matches!(item, "nice" | "priority") {
        if int(value).is_some_and(|n| (-20..=19).contains(&n)) {
            return Ok(());
        }
        return Err(format!(
            "{prefix} Value of {v} for item {i} is invalid. Value must be a number in the range \
             -20 to 19 inclusive. Refer to the limits.conf(5) manual pages for more details."
        ));
    }
    if is_unlimited(value) || (!value.is_empty() && value.bytes().all(|b| b.is_ascii_digit())) {
        return Ok(());
    }
    Err(format!(
        "{prefix} Value of {v} for item {i} is invalid. Value must either be 'unlimited', \
         'infinity' or -1, all of which indicate no limit, or a limit of 0 or larger. Refer to \
         the limits.conf(5) manual pages for more details."
    ))
}

/// The result of [`edit`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LimitEdit {
    /// The new content.
    pub text: String,
    /// Ansible's `msg`: the last line the file has for the limit.
    pub msg: String,
}

/// Sets the limit in `before` (the text of `dest`, named in errors); `Err` with
/// community.general's message when a line of the file has an invalid value.
pub fn edit(before: &str, limit: &Limit, dest: &str) -> Result<LimitEdit, String> {
    let mut out = String::new();
    let mut msg = String::new();
    let mut comment = limit.comment.clone();
    let mut new_value = limit.value.clone();
    let mut found = false;
    for line in before.split_inclusive('\n') {
        if line.starts_with('#') {
            out.push_str(line);
            continue;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.is_empty() {
            out.push_str(line);
            continue;
        }
        let joined = words.join(" ");
        let fields: Vec<&str> = joined
            .split('#')
            .next()
            .unwrap_or("")
            .trim_end()
            .split(' ')
            .collect();
        if comment.is_empty() {
            // Taken from any such line, before looking at its fields (community.general).
            comment = line
                .split_once('#')
                .map(|(_, c)| c)
                .unwrap_or("")
                .to_string();
        }
        if fields.len() != 4 {
            out.push_str(line);
            continue;
        }
        let (domain, kind, item, actual) = (fields[0], fields[1], fields[2], fields[3]);
        check_value(
            item,
            actual,
            &format!("Invalid configuration found in '{dest}'."),
        )?;
        if domain != limit.domain || kind != limit.kind || item != limit.item {
            out.push_str(line);
            continue;
        }
        found = true;
        if actual == limit.value {
            msg = line.to_string();
            out.push_str(line);
            continue;
        }
        if limit.keep != Keep::Exact {
            new_value = wanted_value(actual, &limit.value, limit.keep)
                .ok_or_else(|| format!("cannot compare '{actual}' with '{}'", limit.value))?;
        }
        if new_value != actual {
            if !comment.is_empty() {
                comment = format!("\t#{comment}");
            }
            let new = limit_line(limit, &new_value, &comment);
            out.push_str(&new);
            msg = new;
        } else {
            msg = line.to_string();
            out.push_str(line);
        }
    }
    if !found {
        // community.general would glue the line to a last line without a newline.
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        if !comment.is_empty() {
            comment = format!("\t#{comment}");
        }
        let new = limit_line(limit, &new_value, &comment);
        out.push_str(&new);
        msg = new;
    }
    Ok(LimitEdit { text: out, msg })
}

/// `domain<TAB>type<TAB>item<TAB>value` + the comment as it stands (`\t#...` or empty).
fn limit_line(limit: &Limit, value: &str, comment: &str) -> String {
    format!(
        "{}\t{}\t{}\t{value}{comment}\n",
        limit.domain, limit.kind, limit.item
    )
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
    check_value(&item, &value, "").map_err(Stop::Fail)?;
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
    let backup = fa.write.backup;
    let decide = |current: Option<&Text>| -> Result<Decision<()>, Stop> {
        let before = current.map(|t| t.text.clone()).unwrap_or_default();
        let e = edit(&before, &limit, &fa.path).map_err(Stop::Fail)?;
        let changed = e.text != before || current.is_none();
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
        // community.general backs the file up and rewrites it on every run.
        let rewrite = changed || (backup && current.is_some());
        Ok(Decision::Commit {
            result,
            new_content: rewrite.then(|| e.text.into_bytes()),
            then: (),
        })
    };
    match edit_file(ctx, &fa, false, |b| Ok(Text::decode(b)), decide).await? {
        Edited::Done(r) => Ok(r),
        Edited::Committed {
            mut result,
            backup: made,
            ..
        } => {
            if backup {
                // In check mode community.general names the backup it would make; jig, which
                // does not know the host's pid and clock ahead, leaves it empty.
                result.set("backup_file", made.unwrap_or_default());
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

    fn run(before: &str, l: &Limit) -> (String, String) {
        let e = edit(before, l, "/etc/security/limits.d/x.conf").unwrap();
        (e.text, e.msg)
    }

    const HOSTILE: &str = "new 'c' $(touch /tmp/PWNED) ü";

    /// The files and messages community.general 11.4.2 gave on the bed for the same files
    /// (tests/fixtures/sysfiles2/comments_state.txt).
    #[test]
    fn comments_are_carried_like_community_general() {
        // An indented comment line lends its text to the appended line, end of line included.
        let carry = "# limits\n#*\t\tsoft\tnofile\t\t1024\n   # indented note\n@dev hard nproc 50 # devs ü\n";
        let (text, msg) = run(
            carry,
            &limit("*", "soft", "nofile", "4096", Keep::Exact, ""),
        );
        assert_eq!(
            text,
            format!("{carry}*\tsoft\tnofile\t4096\t# indented note\n\n")
        );
        assert_eq!(msg, "*\tsoft\tnofile\t4096\t# indented note\n\n");
        // The second run finds the line and keeps it.
        let (again, msg) = run(
            &text,
            &limit("*", "soft", "nofile", "4096", Keep::Exact, ""),
        );
        assert_eq!(
            (again.as_str(), msg.as_str()),
            (text.as_str(), "*\tsoft\tnofile\t4096\t# indented note\n")
        );
        // Without comments anywhere, none.
        let plain = "# no comments here\n@dev hard nproc 50\n";
        let (text, _) = run(plain, &limit("*", "hard", "nofile", "10", Keep::Exact, ""));
        assert_eq!(text, format!("{plain}*\thard\tnofile\t10\n"));
        // The same value with another comment: the line stays as it is.
        let same = "joe soft core 0 # keep me\n";
        let (text, msg) = run(
            same,
            &limit("joe", "soft", "core", "0", Keep::Exact, HOSTILE),
        );
        assert_eq!((text.as_str(), msg.as_str()), (same, same));
        // A new value and comment replace the line.
        let (text, _) = run(
            "joe\tsoft\tcore\t0\t#old one\n",
            &limit("joe", "soft", "core", "unlimited", Keep::Exact, HOSTILE),
        );
        assert_eq!(text, format!("joe\tsoft\tcore\tunlimited\t#{HOSTILE}\n"));
        // A new value without a comment keeps the old one, its end of line too.
        let (text, msg) = run(
            "joe hard nofile 10 #old $(x) it's\n",
            &limit("joe", "hard", "nofile", "20", Keep::Exact, ""),
        );
        assert_eq!(text, "joe\thard\tnofile\t20\t#old $(x) it's\n\n");
        assert_eq!(msg, text);
        // Duplicates: both change, the second with the comment prefixed once more.
        let (text, msg) = run(
            "ann soft as 10 # first\nann soft as 20 # second\n",
            &limit("ann", "soft", "as", "30", Keep::Exact, ""),
        );
        assert_eq!(
            text,
            "ann\tsoft\tas\t30\t# first\n\nann\tsoft\tas\t30\t#\t# first\n\n"
        );
        assert_eq!(msg, "ann\tsoft\tas\t30\t#\t# first\n\n");
        // A new file.
        assert_eq!(
            run("", &limit("ann", "soft", "core", "1", Keep::Exact, "made")).0,
            "ann\tsoft\tcore\t1\t#made\n"
        );
        // A last line without a newline gets one before the appended line (a difference:
        // community.general glues them).
        assert_eq!(
            run(
                "a soft core 1",
                &limit("b", "soft", "core", "1", Keep::Exact, "")
            )
            .0,
            "a soft core 1\nb\tsoft\tcore\t1\n"
        );
    }

    #[test]
    fn use_max_and_use_min_like_community_general() {
        let file =
            "joe hard nofile 0100\njoe soft nofile infinity\njoe - nproc -1\njoe hard nice -5\n";
        // Numbers are compared as numbers and written as Python's str(int()).
        let (t, _) = run(file, &limit("joe", "hard", "nofile", "50", Keep::Max, ""));
        assert!(t.starts_with("joe\thard\tnofile\t100\njoe soft"), "{t}");
        // Both unlimited: the line's value stays.
        let (t, m) = run(
            file,
            &limit("joe", "soft", "nofile", "unlimited", Keep::Min, ""),
        );
        assert_eq!(
            (t.as_str(), m.as_str()),
            (file, "joe soft nofile infinity\n")
        );
        let (t, _) = run(file, &limit("joe", "-", "nproc", "300", Keep::Min, ""));
        assert!(t.contains("\njoe\t-\tnproc\t300\n"), "{t}");
        let (t, m) = run(file, &limit("joe", "hard", "nice", "-10", Keep::Max, ""));
        assert_eq!((t.as_str(), m.as_str()), (file, "joe hard nice -5\n"));
        let (t, _) = run(file, &limit("bob", "hard", "nproc", "7", Keep::Max, "bob"));
        assert_eq!(t, format!("{file}bob\thard\tnproc\t7\t#bob\n"));
        assert_eq!(wanted_value("9", "10", Keep::Max).as_deref(), Some("10"));
        assert_eq!(
            wanted_value("unlimited", "10", Keep::Max).as_deref(),
            Some("unlimited")
        );
        assert_eq!(wanted_value("-1", "10", Keep::Min).as_deref(), Some("10"));
        assert_eq!(wanted_value("5", "-1", Keep::Min).as_deref(), Some("5"));
        assert_eq!(wanted_value("5", "6", Keep::Min).as_deref(), Some("5"));
    }

    #[test]
    fn invalid_values_fail_with_community_generals_message() {
        let e = edit(
            "ann hard stack lots\n",
            &limit("ann", "soft", "core", "1", Keep::Exact, ""),
            "/etc/security/limits.d/invalid.conf",
        );
        assert_eq!(
            e.unwrap_err(),
            "Invalid configuration found in '/etc/security/limits.d/invalid.conf'. Value of 'lots' for item 'stack' is invalid. Value must either be 'unlimited', 'infinity' or -1, all of which indicate no limit, or a limit of 0 or larger. Refer to the limits.conf(5) manual pages for more details."
        );
        assert!(check_value("nice", "-5", "").is_ok());
        assert!(
            check_value("nice", "-21", "")
                .unwrap_err()
                .contains("range -20 to 19")
        );
        assert!(check_value("nofile", "-5", "").is_err());
        let e = check_value("nofile", "1 $(touch PWNED) it's", "").unwrap_err();
        assert!(
            e.starts_with(" Value of \"1 $(touch PWNED) it's\" for item 'nofile'"),
            "{e}"
        );
    }

    #[test]
    fn hostile_comments_stay_text() {
        let c = "it's \"$(touch PWNED)\" `id` ü";
        let (t, _) = run("", &limit("@g", "-", "nofile", "1", Keep::Exact, c));
        assert_eq!(t, format!("@g\t-\tnofile\t1\t#{c}\n"));
        assert_eq!(
            run(&t, &limit("@g", "-", "nofile", "1", Keep::Exact, c)).0,
            t
        );
    }
}

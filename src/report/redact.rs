//! Redaction: the run-wide set of secret strings, and their removal from events.
//!
//! [`Secrets`] collects every value jig knows to be secret while a run goes on: the plaintext of
//! each vault value or vaulted file it decrypts, and the values of the variables named with
//! `--secret-vars`. (`no_log` tasks need nothing here: their results are censored as a whole
//! before an event is built.) The executor passes every [`Event`] through
//! [`Secrets::redact_event`] before any renderer sees it, so the console, JSON lines and the
//! report files all show the same redacted story.
//!
//! What is matched: the plaintext itself, its JSON-escaped spelling (a secret inside JSON text
//! such as a command's output, with and without Python's `\uXXXX` escapes) and its
//! shell-quoted spellings (`connection::quote`, and the `quote` filter's), and each line of a multi-line secret (diffs are shown line by line).
//! Derived values (base64, hashes, a substring) are not recognised: docs/differences.md says
//! so. Secrets shorter than [`MIN_SECRET_LEN`] characters are ignored, because redacting every
//! `yes` or `80` in the output would hide everything and protect nothing.
//!
//! In a diff, a changed line holding a secret stays in the diff with the secret replaced, and
//! the line it replaces (which may hold the previous secret, one jig no longer knows) is
//! replaced too: the reader sees that the secret changed, never what it was or became.

use std::borrow::Cow;
use std::fmt;
use std::sync::{Arc, RwLock};

use serde_json::Value as Json;

use crate::modules::Diff;
use crate::report::{Event, TaskResult};

/// Secrets shorter than this many characters are not redacted (see the module docs).
pub const MIN_SECRET_LEN: usize = 4;
/// What a secret is replaced with in messages and results.
pub const REDACTED: &str = "<redacted>";
/// What replaces the old side of a changed line that held a secret, in a diff.
pub const DIFF_OLD: &str = "<redacted: secret changed>";
/// What replaces a secret on the new side of a changed line, in a diff.
pub const DIFF_NEW: &str = "<redacted: new secret>";

/// The secret strings of one run. Cheap to clone: clones share one set, so a secret found
/// while loading a file is redacted by every renderer from then on.
#[derive(Clone, Default)]
pub struct Secrets {
    forms: Arc<RwLock<Vec<String>>>,
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secrets({} forms)", self.read().len())
    }
}

impl Secrets {
    /// An empty set.
    pub fn new() -> Self {
        Secrets::default()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Vec<String>> {
        // A poisoned lock only means another thread panicked while adding; the set is fine.
        self.forms.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds a secret (and its spellings). Shorter than [`MIN_SECRET_LEN`]: ignored.
    pub fn add(&self, secret: &str) {
        let mut forms: Vec<String> = Vec::new();
        let mut push = |s: &str| {
            if s.chars().count() >= MIN_SECRET_LEN && !forms.iter().any(|f| f == s) {
                forms.push(s.to_string());
            }
        };
        push(secret);
        if let Ok(json) = serde_json::to_string(secret) {
            let inner = &json[1..json.len() - 1];
            push(inner);
            // Python's json.dumps (and so `to_json`/`to_nice_json`) escapes non-ASCII.
            push(&ascii_escaped(inner));
        }
        let quoted = crate::connection::quote(secret);
        push(&quoted);
        // The `quote` filter spells an embedded `'` as Python's shlex.quote does.
        push(&quoted.replace("'\\''", "'\"'\"'"));
        if secret.contains('\n') {
            for line in secret.lines() {
                push(line.trim_end_matches('\r'));
            }
        }
        if forms.is_empty() {
            return;
        }
        let mut set = self.forms.write().unwrap_or_else(|p| p.into_inner());
        let mut grew = false;
        for f in forms {
            if !set.contains(&f) {
                set.push(f);
                grew = true;
            }
        }
        if grew {
            // Longest first, so a secret that contains another is replaced whole.
            set.sort_by_key(|f| std::cmp::Reverse(f.len()));
        }
    }

    /// Adds every string (and number) inside a value: the value of a `--secret-vars` variable
    /// may be a mapping of passwords.
    pub fn add_value(&self, value: &Json) {
        match value {
            Json::String(s) => self.add(s),
            Json::Number(n) => self.add(&n.to_string()),
            Json::Array(items) => items.iter().for_each(|v| self.add_value(v)),
            Json::Object(map) => map.values().for_each(|v| self.add_value(v)),
            Json::Null | Json::Bool(_) => {}
        }
    }

    /// True if no secret is known.
    pub fn is_empty(&self) -> bool {
        self.read().is_empty()
    }

    /// True if `text` holds a known secret.
    pub fn contains_secret(&self, text: &str) -> bool {
        self.read().iter().any(|f| text.contains(f.as_str()))
    }

    /// `text` with every secret replaced by [`REDACTED`].
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        self.replace_with(text, REDACTED)
    }

    fn replace_with<'a>(&self, text: &'a str, with: &str) -> Cow<'a, str> {
        let forms = self.read();
        let mut out = Cow::Borrowed(text);
        for f in forms.iter() {
            if out.contains(f.as_str()) {
                out = Cow::Owned(out.replace(f.as_str(), with));
            }
        }
        out
    }

    fn redact_string(&self, s: &mut String) {
        if let Cow::Owned(r) = self.redact(s) {
            *s = r;
        }
    }

    /// Redacts every string (and mapping key) inside a JSON value, in place.
    pub fn redact_json(&self, value: &mut Json) {
        match value {
            Json::String(s) => self.redact_string(s),
            Json::Array(items) => items.iter_mut().for_each(|v| self.redact_json(v)),
            Json::Object(map) => self.redact_map(map),
            Json::Null | Json::Bool(_) | Json::Number(_) => {}
        }
    }

    fn redact_map(&self, map: &mut serde_json::Map<String, Json>) {
        if map.keys().any(|k| self.contains_secret(k)) {
            let old = std::mem::take(map);
            for (k, v) in old {
                map.insert(self.redact(&k).into_owned(), v);
            }
        }
        map.values_mut().for_each(|v| self.redact_json(v));
    }

    /// Redacts a diff in place. A text diff keeps every changed line, so it still shows that
    /// the content changed: a secret on a new line becomes [`DIFF_NEW`], and an old line it
    /// replaces is cut after the text the two share before the secret and ends in
    /// [`DIFF_OLD`] (the old line may hold the previous secret, which is no longer known).
    pub fn redact_diff(&self, diff: &mut Diff) {
        if self.is_empty() {
            return;
        }
        match diff {
            Diff::Text {
                before_header,
                after_header,
                before,
                after,
            } => {
                self.redact_string(before_header);
                self.redact_string(after_header);
                if self.contains_secret(before) || self.contains_secret(after) {
                    let (b, a) = self.redact_text_pair(before, after);
                    *before = b;
                    *after = a;
                }
            }
            Diff::Fields {
                path,
                before,
                after,
            } => {
                self.redact_string(path);
                for v in before.values_mut().chain(after.values_mut()) {
                    self.redact_string(v);
                }
            }
            Diff::Summary(s) => self.redact_string(s),
        }
    }

    fn redact_text_pair(&self, before: &str, after: &str) -> (String, String) {
        let old: Vec<&str> = before.split_inclusive('\n').collect();
        let new: Vec<&str> = after.split_inclusive('\n').collect();
        let ops = similar::capture_diff_slices(similar::Algorithm::Myers, &old, &new);
        let mut out_old = String::with_capacity(before.len());
        let mut out_new = String::with_capacity(after.len());
        let mut i = 0;
        while i < ops.len() {
            if ops[i].tag() == similar::DiffTag::Equal {
                for l in &old[ops[i].old_range()] {
                    out_old.push_str(&self.redact(l));
                }
                for l in &new[ops[i].new_range()] {
                    out_new.push_str(&self.redact(l));
                }
                i += 1;
                continue;
            }
            // One block of changed lines: the deletions and insertions up to the next equal run.
            let start = i;
            while i < ops.len() && ops[i].tag() != similar::DiffTag::Equal {
                i += 1;
            }
            let old_lines: Vec<&str> = ops[start..i]
                .iter()
                .flat_map(|op| old[op.old_range()].iter().copied())
                .collect();
            let new_lines: Vec<&str> = ops[start..i]
                .iter()
                .flat_map(|op| new[op.new_range()].iter().copied())
                .collect();
            let mut prefixes: Vec<&str> = Vec::new();
            for l in &new_lines {
                if let Some(at) = self.first_secret_at(l) {
                    prefixes.push(&l[..at]);
                }
                out_new.push_str(&self.replace_with(l, DIFF_NEW));
            }
            for l in old_lines {
                let ending = if l.ends_with('\n') { "\n" } else { "" };
                if let Some(at) = self.first_secret_at(l) {
                    out_old.push_str(&l[..at]);
                    out_old.push_str(DIFF_OLD);
                    out_old.push_str(ending);
                } else if let Some(p) = prefixes.iter().find(|p| l.starts_with(**p)) {
                    out_old.push_str(p);
                    out_old.push_str(DIFF_OLD);
                    out_old.push_str(ending);
                } else {
                    out_old.push_str(l);
                }
            }
        }
        (out_old, out_new)
    }

    /// A result's `{before, after}` diff mapping, redacted as [`Secrets::redact_diff`] does.
    fn redact_json_diff(&self, diff: &mut Json) {
        let Json::Object(m) = diff else { return };
        let (Some(Json::String(b)), Some(Json::String(a))) = (m.get("before"), m.get("after"))
        else {
            return;
        };
        if !self.contains_secret(b) && !self.contains_secret(a) {
            return;
        }
        let (b, a) = self.redact_text_pair(b, a);
        m.insert("before".into(), Json::String(b));
        m.insert("after".into(), Json::String(a));
    }

    /// The byte offset of the first secret in `line`.
    fn first_secret_at(&self, line: &str) -> Option<usize> {
        self.read()
            .iter()
            .filter_map(|f| line.find(f.as_str()))
            .min()
    }

    /// Redacts every text an event carries, in place.
    pub fn redact_event(&self, event: &mut Event) {
        if self.is_empty() {
            return;
        }
        match event {
            Event::PlayStart { name, hosts } => {
                self.redact_string(name);
                hosts.iter_mut().for_each(|h| self.redact_string(h));
            }
            Event::TaskStart { name, .. } => self.redact_string(name),
            Event::Result(r) | Event::LoopDone(r) => self.redact_result(r),
            Event::Retry { task, attempt, .. } => {
                self.redact_string(task);
                self.redact_result(attempt);
            }
            Event::NoHosts { reason } => self.redact_string(reason),
            Event::Included {
                file, item_label, ..
            } => {
                self.redact_string(file);
                if let Some(l) = item_label {
                    self.redact_string(l);
                }
            }
            Event::Warning { message } => self.redact_string(message),
            // A playbook's path and a recap's host names and counts are not secret.
            Event::PlaybookStart { .. } | Event::Recap { .. } => {}
        }
    }

    fn redact_result(&self, r: &mut TaskResult) {
        for s in [&mut r.item_label, &mut r.msg].into_iter().flatten() {
            self.redact_string(s);
        }
        r.diffs.iter_mut().for_each(|d| self.redact_diff(d));
        // The registered result carries the diffs again (`diff: {before, after}`, shown from
        // -vvv): their old side may hold a secret no longer known, so they get the diff rule.
        match r.result.get_mut("diff") {
            Some(Json::Array(items)) => items.iter_mut().for_each(|d| self.redact_json_diff(d)),
            Some(d @ Json::Object(_)) => self.redact_json_diff(d),
            _ => {}
        }
        self.redact_map(&mut r.result);
        if let Some(d) = &mut r.debug_output {
            self.redact_json(d);
        }
        if let Some(e) = &mut r.error
            && let Some(m) = &mut e.message
        {
            self.redact_string(m);
        }
    }
}

/// JSON text with every non-ASCII character written as `\uXXXX` (UTF-16), as Python's
/// `json.dumps` writes it by default.
fn ascii_escaped(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{u:04x}"));
            }
        }
    }
    out
}

/// A renderer that redacts every event before handing it to the one it wraps.
pub struct Redacting<'a> {
    inner: &'a mut dyn super::Renderer,
    secrets: Secrets,
}

impl<'a> Redacting<'a> {
    /// Wraps `inner`.
    pub fn new(inner: &'a mut dyn super::Renderer, secrets: Secrets) -> Self {
        Redacting { inner, secrets }
    }
}

impl super::Renderer for Redacting<'_> {
    fn event(&mut self, event: &Event) {
        if self.secrets.is_empty() {
            self.inner.event(event);
        } else {
            let mut e = event.clone();
            self.secrets.redact_event(&mut e);
            self.inner.event(&e);
        }
    }

    fn finish(&mut self) {
        self.inner.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SECRET: &str = "s3cr3t 'quoted' $(x) é";

    #[test]
    fn short_secrets_are_ignored_and_spellings_are_matched() {
        let s = Secrets::new();
        s.add("abc");
        assert!(s.is_empty());
        s.add(SECRET);
        s.add("pa\"ss\\word");
        assert_eq!(s.redact(&format!("pw={SECRET}!")), "pw=<redacted>!");
        let cmd = format!("echo {}", crate::connection::quote(SECRET));
        assert_eq!(s.redact(&cmd), "echo <redacted>");
        assert_eq!(
            s.redact(r#"{"p": "pa\"ss\\word"}"#),
            r#"{"p": "<redacted>"}"#
        );
        assert_eq!(
            s.redact(r#"["s3cr3t 'quoted' $(x) \u00e9"]"#),
            r#"["<redacted>"]"#
        );
        assert_eq!(s.redact("nothing here"), "nothing here");
    }

    #[test]
    fn json_values_and_keys_are_redacted() {
        let s = Secrets::new();
        s.add_value(&json!({"a": [SECRET, 12345]}));
        let mut v = json!({"msg": format!("x {SECRET}"), "n": [12345, "12345"], SECRET: 1});
        s.redact_json(&mut v);
        assert_eq!(
            v,
            json!({"msg": "x <redacted>", "n": [12345, "<redacted>"], "<redacted>": 1})
        );
    }

    #[test]
    fn a_changed_secret_line_stays_in_the_diff_without_either_secret() {
        let s = Secrets::new();
        s.add(SECRET);
        let mut d = Diff::Text {
            before_header: "/etc/app.conf".into(),
            after_header: "/etc/app.conf".into(),
            before: "user = app\npassword = old-unknown-secret\nport = 1\n".into(),
            after: format!("user = app\npassword = {SECRET}\nport = 2\n"),
        };
        s.redact_diff(&mut d);
        let Diff::Text { before, after, .. } = &d else {
            unreachable!()
        };
        assert_eq!(
            before,
            "user = app\npassword = <redacted: secret changed>\nport = 1\n"
        );
        assert_eq!(
            after,
            "user = app\npassword = <redacted: new secret>\nport = 2\n"
        );
        let shown = crate::report::console::render_diff(&d, false);
        assert!(
            shown.contains("-password = <redacted: secret changed>"),
            "{shown}"
        );
        assert!(
            shown.contains("+password = <redacted: new secret>"),
            "{shown}"
        );
        assert!(
            !shown.contains("old-unknown") && !shown.contains("s3cr3t"),
            "{shown}"
        );
    }

    #[test]
    fn multi_line_secrets_are_redacted_line_by_line() {
        let s = Secrets::new();
        s.add("line one of key\nline two of key\n");
        let mut d = Diff::Text {
            before_header: String::new(),
            after_header: String::new(),
            before: String::new(),
            after: "head\nline one of key\nline two of key\n".into(),
        };
        s.redact_diff(&mut d);
        let Diff::Text { after, .. } = &d else {
            unreachable!()
        };
        assert_eq!(
            after,
            "head\n<redacted: new secret>\n<redacted: new secret>\n"
        );
    }

    #[test]
    fn events_are_redacted_everywhere_they_carry_text() {
        struct Keep(Vec<Event>);
        impl super::super::Renderer for Keep {
            fn event(&mut self, e: &Event) {
                self.0.push(e.clone());
            }
        }
        let s = Secrets::new();
        s.add(SECRET);
        let mut keep = Keep(Vec::new());
        let mut r = Redacting::new(&mut keep, s.clone());
        let mut result = serde_json::Map::new();
        result.insert("stdout".into(), json!(SECRET));
        result.insert(
            "diff".into(),
            json!([{"before": "pw = unknown-old\n", "after": format!("pw = {SECRET}\n")}]),
        );
        use super::super::Renderer as _;
        r.event(&Event::Result(TaskResult {
            host: "h".into(),
            delegated_to: None,
            status: crate::report::Status::Failed,
            item_label: Some(SECRET.into()),
            msg: Some(SECRET.into()),
            diffs: vec![Diff::Summary(SECRET.into())],
            result,
            debug_output: Some(json!({"msg": SECRET})),
            error: Some(crate::report::TaskError {
                source: crate::report::FailureSource::Action,
                message: Some(SECRET.into()),
            }),
            ignore_unreachable: false,
        }));
        r.event(&Event::Warning {
            message: SECRET.into(),
        });
        r.event(&Event::TaskStart {
            name: SECRET.into(),
            pos: crate::yaml::Pos::unknown(),
            handler: false,
        });
        let shown = format!("{:?}", keep.0);
        assert!(
            !shown.contains("s3cr3t") && !shown.contains("unknown-old"),
            "{shown}"
        );
        assert!(shown.contains("pw = <redacted: secret changed>"), "{shown}");
        assert_eq!(shown.matches("<redacted>").count(), 8, "{shown}");
    }
}

//! Host patterns (`hosts:` and `--limit`), evaluated as Ansible's `InventoryManager` does.
//!
//! A pattern is split on `,` (or, when it is not a single address, on `:`); plain parts are
//! unions, `&` parts intersect and `!` parts exclude, applied in that order whatever order they
//! are written in. Each part matches group names first (a group brings all its hosts) and host
//! names when no group matched or the part is a glob or regex; `[i]`, `[a:b]` subscripts pick
//! from the result; `@file` reads one pattern per line (a retry file).

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::LazyLock;

use indexmap::IndexSet;
use regex::Regex;

use super::{Inventory, LOCALHOST_NAMES, range};

/// A host pattern that cannot be evaluated.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PatternError {
    /// The pattern is malformed (bad regex, empty).
    #[error("invalid host pattern '{pattern}': {reason}")]
    Invalid {
        /// The offending pattern.
        pattern: String,
        /// Why.
        reason: String,
    },
    /// A subscript such as `web[5]` that is past the end of what `web` matched.
    #[error(
        "no hosts matched the subscripted pattern '{0}': the index is past the end of the hosts it names"
    )]
    Subscript(String),
    /// An `@file` limit file that cannot be read.
    #[error("cannot read limit file '{}': {reason}", path.display())]
    LimitFile {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

static SUBSCRIPT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(.+)\[(?:(-?[0-9]+)|([0-9]+)([:-])([0-9]*))\]$").expect("static regex")
});
static COLON_PARTS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?:[^\s:\[\]]|\[[^\]]*\])+").expect("static regex"));

/// Splits a pattern into its parts, as Ansible's `split_host_pattern`.
pub(super) fn split_host_pattern(pattern: &str) -> Vec<String> {
    let parts: Vec<String> = if pattern.contains(',') {
        pattern.split(',').map(str::to_string).collect()
    } else if range::parse_address(pattern, true).is_some() {
        vec![pattern.to_string()]
    } else {
        COLON_PARTS
            .find_iter(pattern)
            .map(|m| m.as_str().to_string())
            .collect()
    };
    parts
        .into_iter()
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

/// Hosts selected by several patterns (a YAML list under `hosts:`): each is split on its own,
/// then all parts are applied together, as Ansible does for a list.
pub(super) fn select<S: AsRef<str>>(
    inv: &Inventory,
    patterns: &[S],
) -> Result<Vec<String>, PatternError> {
    let joined = patterns
        .iter()
        .map(AsRef::as_ref)
        .collect::<Vec<_>>()
        .join(",");
    let split: Vec<String> = patterns
        .iter()
        .flat_map(|p| split_host_pattern(p.as_ref()))
        .collect();
    if split.is_empty() {
        return Err(PatternError::Invalid {
            pattern: joined,
            reason: "the pattern is empty (use 'all' for every host)".into(),
        });
    }
    let mut parts = Vec::new();
    for p in split {
        match p.strip_prefix('@') {
            Some(file) => {
                let path = PathBuf::from(file);
                let text = std::fs::read_to_string(&path).map_err(|e| PatternError::LimitFile {
                    path: path.clone(),
                    reason: e.to_string(),
                })?;
                parts.extend(
                    text.split('\n')
                        .map(|l| l.trim().to_string())
                        .filter(|l| !l.is_empty()),
                );
            }
            None => parts.push(p),
        }
    }
    // Plain parts first, then intersections, then exclusions; only modifiers means `all`.
    let mut regular: Vec<String> = parts
        .iter()
        .filter(|p| !p.starts_with(['!', '&']))
        .cloned()
        .collect();
    if regular.is_empty() {
        regular.push("all".into());
    }
    let ordered = regular
        .into_iter()
        .chain(parts.iter().filter(|p| p.starts_with('&')).cloned())
        .chain(parts.iter().filter(|p| p.starts_with('!')).cloned());

    let mut hosts: Vec<String> = Vec::new();
    for p in ordered {
        if inv.hosts.contains_key(&p) {
            hosts.push(p);
            continue;
        }
        let that = match_one(inv, &p)?;
        if p.starts_with('!') {
            let that: HashSet<&String> = that.iter().collect();
            hosts.retain(|h| !that.contains(h));
        } else if p.starts_with('&') {
            let that: HashSet<&String> = that.iter().collect();
            hosts.retain(|h| that.contains(h));
        } else {
            let existing: HashSet<String> = hosts.iter().cloned().collect();
            hosts.extend(that.into_iter().filter(|h| !existing.contains(h)));
        }
    }
    let unique: IndexSet<String> = hosts.into_iter().collect();
    Ok(unique.into_iter().collect())
}

/// One part, without its `&`/`!`, with any subscript applied.
fn match_one(inv: &Inventory, part: &str) -> Result<Vec<String>, PatternError> {
    let bare = part.strip_prefix(['&', '!']).unwrap_or(part);
    let (expr, subscript) = split_subscript(bare);
    let hosts = enumerate(inv, expr)?;
    apply_subscript(hosts, subscript).ok_or_else(|| PatternError::Subscript(bare.to_string()))
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Subscript {
    Index(i64),
    Range(usize, Option<usize>),
}

fn split_subscript(pattern: &str) -> (&str, Option<Subscript>) {
    if pattern.starts_with('~') {
        return (pattern, None);
    }
    let Some(c) = SUBSCRIPT.captures(pattern) else {
        return (pattern, None);
    };
    let expr = c.get(1).map_or(pattern, |m| m.as_str());
    if let Some(idx) = c.get(2) {
        return match idx.as_str().parse() {
            Ok(i) => (expr, Some(Subscript::Index(i))),
            Err(_) => (pattern, None),
        };
    }
    let start = c.get(3).and_then(|m| m.as_str().parse().ok());
    let end = c.get(5).map(|m| m.as_str()).filter(|s| !s.is_empty());
    match (start, end.map(str::parse::<usize>)) {
        (Some(s), None) => (expr, Some(Subscript::Range(s, None))),
        (Some(s), Some(Ok(e))) => (expr, Some(Subscript::Range(s, Some(e)))),
        _ => (pattern, None),
    }
}

/// `None` when an index is out of range (Ansible raises there; slices just clamp).
fn apply_subscript(hosts: Vec<String>, sub: Option<Subscript>) -> Option<Vec<String>> {
    let Some(sub) = sub else {
        return Some(hosts);
    };
    if hosts.is_empty() {
        return Some(hosts);
    }
    let len = hosts.len();
    let index = |i: i64| -> Option<usize> {
        let i = if i < 0 { i + len as i64 } else { i };
        usize::try_from(i).ok().filter(|i| *i < len)
    };
    match sub {
        // Ansible treats an end of 0 (`[2:0]`) as "no end", picking the single host `start`.
        Subscript::Range(start, Some(0)) => {
            index(i64::try_from(start).ok()?).map(|i| vec![hosts[i].clone()])
        }
        Subscript::Range(start, end) => {
            let end = end.map_or(len, |e| (e + 1).min(len));
            Some(hosts.get(start.min(end)..end).unwrap_or_default().to_vec())
        }
        Subscript::Index(i) => index(i).map(|i| vec![hosts[i].clone()]),
    }
}

/// Hosts a single expression names: groups first, then hosts, then the implicit localhost.
fn enumerate(inv: &Inventory, expr: &str) -> Result<Vec<String>, PatternError> {
    let matcher = Matcher::new(expr)?;
    let mut results = Vec::new();
    let groups: Vec<&String> = inv.groups.keys().filter(|g| matcher.is_match(g)).collect();
    for g in &groups {
        results.extend(inv.group_hosts(g));
    }
    if groups.is_empty() || expr.starts_with('~') || expr.contains(['.', '?', '*', '[']) {
        results.extend(inv.hosts.keys().filter(|h| matcher.is_match(h)).cloned());
    }
    if results.is_empty() && LOCALHOST_NAMES.contains(&expr) {
        results.push(expr.to_string());
    }
    Ok(results)
}

/// A compiled glob or `~regex`.
enum Matcher {
    Glob(Regex),
    Regex(fancy_regex::Regex),
}

impl Matcher {
    fn new(expr: &str) -> Result<Matcher, PatternError> {
        let invalid = |reason: String| PatternError::Invalid {
            pattern: expr.to_string(),
            reason,
        };
        match expr.strip_prefix('~') {
            // Python's re.match anchors at the start only.
            Some(re) => fancy_regex::Regex::new(&format!("^(?:{re})"))
                .map(Matcher::Regex)
                .map_err(|e| invalid(format!("not a valid regular expression: {e}"))),
            None => Regex::new(&glob_to_regex(expr))
                .map(Matcher::Glob)
                .map_err(|e| invalid(format!("not a valid glob: {e}"))),
        }
    }

    fn is_match(&self, s: &str) -> bool {
        match self {
            Matcher::Glob(r) => r.is_match(s),
            Matcher::Regex(r) => r.is_match(s).unwrap_or(false),
        }
    }
}

/// Python's `fnmatch.translate`: `*`, `?`, `[seq]`, `[!seq]`; an unclosed `[` is literal.
fn glob_to_regex(glob: &str) -> String {
    let chars: Vec<char> = glob.chars().collect();
    let mut out = String::from("^(?s:");
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        match c {
            '*' => {
                while chars.get(i) == Some(&'*') {
                    i += 1;
                }
                out.push_str(".*");
            }
            '?' => out.push('.'),
            '[' => {
                let mut j = i;
                if chars.get(j) == Some(&'!') {
                    j += 1;
                }
                if chars.get(j) == Some(&']') {
                    j += 1;
                }
                while j < chars.len() && chars[j] != ']' {
                    j += 1;
                }
                if j >= chars.len() {
                    out.push_str("\\[");
                    continue;
                }
                let body: String = chars[i..j].iter().collect();
                i = j + 1;
                let (neg, body) = match body.strip_prefix('!') {
                    Some(rest) => (true, rest.to_string()),
                    None => (false, body),
                };
                let mut class = String::from(if neg { "[^" } else { "[" });
                for ch in body.chars() {
                    if matches!(ch, '\\' | '[' | ']' | '^' | '&' | '~') {
                        class.push('\\');
                    }
                    class.push(ch);
                }
                class.push(']');
                if body.is_empty() {
                    // `[!]` matches nothing special in Python; treat `[]`/`[!]` literally.
                    out.push_str(&regex::escape(&format!("[{}]", if neg { "!" } else { "" })));
                } else {
                    out.push_str(&class);
                }
            }
            c => out.push_str(&regex::escape(&c.to_string())),
        }
    }
    out.push_str(")$");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitting_follows_ansible() {
        assert_eq!(
            split_host_pattern("a,b[1], c[2:3] , d"),
            vec!["a", "b[1]", "c[2:3]", "d"]
        );
        assert_eq!(split_host_pattern("web:&db:!x"), vec!["web", "&db", "!x"]);
        assert_eq!(split_host_pattern("web[1:3]:db"), vec!["web[1:3]", "db"]);
        assert_eq!(split_host_pattern("::1"), vec!["::1"]);
        assert_eq!(split_host_pattern("web1:22"), vec!["web1:22"]);
    }

    #[test]
    fn globs_translate_like_fnmatch() {
        let m = |g: &str, s: &str| Regex::new(&glob_to_regex(g)).unwrap().is_match(s);
        assert!(m("web*", "web01"));
        assert!(!m("web*", "aweb"));
        assert!(m("*.example.com", "a.example.com"));
        assert!(!m("*.example.com", "a.exampleXcom"));
        assert!(m("db[12]", "db1"));
        assert!(m("db[!12]", "db3"));
        assert!(!m("db[!12]", "db1"));
        assert!(m("x[", "x["));
        assert!(m("w?b", "web"));
    }

    #[test]
    fn subscripts_parse() {
        assert_eq!(
            split_subscript("web[0]"),
            ("web", Some(Subscript::Index(0)))
        );
        assert_eq!(
            split_subscript("web[-1]"),
            ("web", Some(Subscript::Index(-1)))
        );
        assert_eq!(
            split_subscript("web[1:3]"),
            ("web", Some(Subscript::Range(1, Some(3))))
        );
        assert_eq!(
            split_subscript("web[1:]"),
            ("web", Some(Subscript::Range(1, None)))
        );
        assert_eq!(split_subscript("~web[0]"), ("~web[0]", None));
        let h: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        assert_eq!(
            apply_subscript(h.clone(), Some(Subscript::Index(-1))),
            Some(vec!["c".into()])
        );
        assert_eq!(apply_subscript(h.clone(), Some(Subscript::Index(3))), None);
        assert_eq!(
            apply_subscript(h.clone(), Some(Subscript::Range(1, None))),
            Some(vec!["b".into(), "c".into()])
        );
        assert_eq!(
            apply_subscript(h.clone(), Some(Subscript::Range(0, Some(9)))),
            Some(h.clone())
        );
        assert_eq!(
            apply_subscript(h, Some(Subscript::Range(2, Some(0)))),
            Some(vec!["c".into()])
        );
    }
}

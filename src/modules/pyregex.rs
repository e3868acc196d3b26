//! Python `re` compatibility for the text-editing modules (`lineinfile`, `blockinfile`,
//! `replace`).
//!
//! Playbooks carry Python regular expressions and Python replacement templates (`\1`,
//! `\g<name>`). This module owns the translation of both into what `fancy-regex` understands,
//! and Python's `re.sub` iteration rules, so that every edit module matches exactly what
//! Ansible would match. What differs from Python is listed on [`PyRegex::compile`].

use std::fmt;

/// How a pattern's `$` behaves, since Python and Rust disagree when MULTILINE is off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dollar {
    /// The pattern runs on one line at a time (a line holds at most one `\n`, at its end).
    /// Python's `$` then matches at the end or before that final newline, which is exactly
    /// Rust's multi-line `$` on such a line, and keeps the fast engine.
    Line,
    /// The pattern runs on a whole text without MULTILINE: `$` matches at the very end or
    /// before a final newline.
    Text,
    /// The caller compiles with MULTILINE (`replace`): `$` matches before every newline.
    Multiline,
}

/// A compiled Python regular expression.
#[derive(Clone)]
pub struct PyRegex {
    re: fancy_regex::Regex,
    source: String,
    multiline: bool,
}

impl fmt::Debug for PyRegex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PyRegex({:?})", self.source)
    }
}

/// One match with its groups.
pub type Captures<'t> = fancy_regex::Captures<'t>;

impl PyRegex {
    /// Compiles a Python pattern. `dotall` is Python's `re.DOTALL` (`replace`'s before/after).
    ///
    /// Translated: `\Z` (end of text), `\<`/`\>` (plain `<`/`>` in Python, word boundaries in
    /// Rust), `[` inside a class (literal in Python), `&&`/`~~`/`--` inside a class (set
    /// operations in Rust), `$` (see [`Dollar`]), the `a`/`L`/`u` global flags (dropped).
    /// Not reproduced: `\d`, `\w`, `\s` stay Unicode-aware where Ansible's byte patterns are
    /// ASCII-only.
    pub fn compile(pattern: &str, dollar: Dollar, dotall: bool) -> Result<PyRegex, String> {
        let (flags, body) = split_global_flags(pattern);
        let multiline = dollar == Dollar::Multiline || flags.contains('m');
        let mut rust_flags: String = flags.chars().filter(|c| "imsx".contains(*c)).collect();
        if dollar == Dollar::Multiline && !rust_flags.contains('m') {
            rust_flags.push('m');
        }
        if dotall && !rust_flags.contains('s') {
            rust_flags.push('s');
        }
        let mut source = String::with_capacity(pattern.len() + 8);
        if !rust_flags.is_empty() {
            source.push_str("(?");
            source.push_str(&rust_flags);
            source.push(')');
        }
        translate_body(
            body,
            if multiline { Dollar::Multiline } else { dollar },
            &mut source,
        )?;
        let re = fancy_regex::RegexBuilder::new(&source)
            .build()
            .map_err(|e| format!("invalid regular expression '{pattern}': {e}"))?;
        Ok(PyRegex {
            re,
            source: pattern.to_string(),
            multiline,
        })
    }

    /// The pattern as the user wrote it.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether Python would compile this pattern with MULTILINE (given by the caller or by a
    /// leading `(?m)`). `blockinfile` searches the whole file with such patterns.
    pub fn is_multiline(&self) -> bool {
        self.multiline
    }

    /// Python's `pattern.search(text)`.
    pub fn search<'t>(&self, text: &'t str) -> Result<Option<Captures<'t>>, String> {
        self.re.captures(text).map_err(|e| self.run_error(e))
    }

    /// Whether the pattern matches anywhere in `text`.
    pub fn is_match(&self, text: &str) -> Result<bool, String> {
        self.re.is_match(text).map_err(|e| self.run_error(e))
    }

    fn run_error(&self, e: fancy_regex::Error) -> String {
        format!(
            "regular expression '{}' could not be evaluated: {e}",
            self.source
        )
    }

    /// The group number for a name, if the pattern defines it.
    fn group_index(&self, name: &str) -> Option<usize> {
        self.re
            .capture_names()
            .enumerate()
            .find_map(|(i, n)| (n == Some(name)).then_some(i))
    }

    /// Number of groups including group 0.
    fn groups(&self) -> usize {
        self.re.captures_len()
    }

    /// Python's `re.subn(pattern, template, text)`: every non-overlapping match replaced, with
    /// Python 3.7+ empty-match rules. Returns the new text and the number of replacements.
    pub fn subn(&self, template: &Template, text: &str) -> Result<(String, usize), String> {
        let mut out = String::with_capacity(text.len());
        let mut copied = 0;
        let mut pos = 0;
        let mut count = 0;
        let mut last_empty_at: Option<usize> = None;
        while pos <= text.len() {
            let Some(caps) = self
                .re
                .captures_from_pos(text, pos)
                .map_err(|e| self.run_error(e))?
            else {
                break;
            };
            let Some(m) = caps.get(0) else { break };
            if m.start() == m.end() && last_empty_at == Some(m.start()) {
                // Python never reports two empty matches at the same place; move on one
                // character and search again.
                match text[m.start()..].chars().next() {
                    Some(c) => {
                        pos = m.start() + c.len_utf8();
                        continue;
                    }
                    None => break,
                }
            }
            out.push_str(&text[copied..m.start()]);
            out.push_str(&template.expand(&caps));
            copied = m.end();
            count += 1;
            if m.start() == m.end() {
                last_empty_at = Some(m.start());
                pos = m.end();
            } else {
                // An empty match right after a non-empty one is allowed (Python 3.7+).
                last_empty_at = None;
                pos = m.end();
            }
            if m.start() == m.end() && pos >= text.len() {
                break;
            }
        }
        out.push_str(&text[copied..]);
        Ok((out, count))
    }
}

/// Splits a leading global flag group such as `(?im)` off a pattern, returning the flag letters
/// and the rest.
fn split_global_flags(pattern: &str) -> (String, &str) {
    let mut flags = String::new();
    let mut rest = pattern;
    while let Some(after) = rest.strip_prefix("(?") {
        let letters: String = after
            .chars()
            .take_while(|c| "aiLmsux".contains(*c))
            .collect();
        if letters.is_empty() || !after[letters.len()..].starts_with(')') {
            break;
        }
        flags.push_str(&letters);
        rest = &after[letters.len() + 1..];
    }
    (flags, rest)
}

fn translate_body(body: &str, dollar: Dollar, out: &mut String) -> Result<(), String> {
    let chars: Vec<char> = body.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' => {
                let Some(&n) = chars.get(i + 1) else {
                    return Err(format!(
                        "invalid regular expression '{body}': bad escape (end of pattern)"
                    ));
                };
                match n {
                    'Z' => out.push_str("\\z"),
                    // Python reads these as the plain characters.
                    '<' | '>' => out.push(n),
                    _ => {
                        out.push('\\');
                        out.push(n);
                    }
                }
                i += 2;
            }
            '[' => {
                i = translate_class(&chars, i, out);
            }
            '(' if chars.get(i + 1) == Some(&'?') && chars.get(i + 2) == Some(&'#') => {
                // A comment: copied verbatim so its text is not translated.
                while i < chars.len() && chars[i] != ')' {
                    out.push(chars[i]);
                    i += 1;
                }
                if i < chars.len() {
                    out.push(')');
                    i += 1;
                }
            }
            '$' => {
                match dollar {
                    Dollar::Line => out.push_str("(?m:$)"),
                    Dollar::Text => out.push_str("(?:\\z|(?=\\n\\z))"),
                    Dollar::Multiline => out.push('$'),
                }
                i += 1;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(())
}

/// Translates a character class starting at `chars[start] == '['`; returns the index after it.
/// An unterminated class is copied as is so the regex engine reports it.
fn translate_class(chars: &[char], start: usize, out: &mut String) -> usize {
    let mut i = start + 1;
    out.push('[');
    if chars.get(i) == Some(&'^') {
        out.push('^');
        i += 1;
    }
    if chars.get(i) == Some(&']') {
        out.push_str("\\]");
        i += 1;
    }
    let mut prev = '\0';
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' => {
                out.push('\\');
                if let Some(&n) = chars.get(i + 1) {
                    out.push(n);
                }
                i += 2;
                prev = '\0';
                continue;
            }
            ']' => {
                out.push(']');
                return i + 1;
            }
            '[' => out.push_str("\\["),
            '&' | '~' => {
                out.push('\\');
                out.push(c);
            }
            '-' if prev == '-' => out.push_str("\\-"),
            _ => out.push(c),
        }
        prev = c;
        i += 1;
    }
    i
}

/// A parsed Python replacement template (`re.sub`'s `repl`, `match.expand`'s argument).
#[derive(Clone, Debug, PartialEq)]
pub struct Template {
    pieces: Vec<Piece>,
}

#[derive(Clone, Debug, PartialEq)]
enum Piece {
    Literal(String),
    Group(usize),
}

impl Template {
    /// Parses `template` against `re`'s groups, as Python does: `\1`..`\99`, `\g<1>`,
    /// `\g<name>`, octal escapes `\0`/`\123`, `\n \t \r \f \v \a \b \\`; other escaped
    /// punctuation keeps its backslash; other escaped ASCII letters are an error.
    pub fn parse(template: &str, re: &PyRegex) -> Result<Template, String> {
        let bad = |what: String| format!("invalid replacement '{template}': {what}");
        let chars: Vec<char> = template.chars().collect();
        let mut pieces = Vec::new();
        let mut lit = String::new();
        let mut i = 0;
        let group = |lit: &mut String, pieces: &mut Vec<Piece>, g: usize| {
            if !lit.is_empty() {
                pieces.push(Piece::Literal(std::mem::take(lit)));
            }
            pieces.push(Piece::Group(g));
        };
        while i < chars.len() {
            let c = chars[i];
            if c != '\\' {
                lit.push(c);
                i += 1;
                continue;
            }
            let Some(&n) = chars.get(i + 1) else {
                return Err(bad("bad escape (end of template)".into()));
            };
            i += 2;
            match n {
                'g' => {
                    if chars.get(i) != Some(&'<') {
                        return Err(bad("missing < after \\g".into()));
                    }
                    let close = chars[i..]
                        .iter()
                        .position(|&c| c == '>')
                        .ok_or_else(|| bad("missing > in \\g<...>".into()))?;
                    let name: String = chars[i + 1..i + close].iter().collect();
                    i += close + 1;
                    let index = if !name.is_empty() && name.chars().all(|c| c.is_ascii_digit()) {
                        name.parse::<usize>()
                            .ok()
                            .filter(|g| *g < re.groups())
                            .ok_or_else(|| bad(format!("invalid group reference {name}")))?
                    } else {
                        re.group_index(&name)
                            .ok_or_else(|| bad(format!("unknown group name '{name}'")))?
                    };
                    group(&mut lit, &mut pieces, index);
                }
                '0' => {
                    let mut value = 0u32;
                    let mut taken = 0;
                    while taken < 2 && chars.get(i).is_some_and(|c| ('0'..='7').contains(c)) {
                        value = value * 8 + chars[i].to_digit(8).unwrap_or(0);
                        i += 1;
                        taken += 1;
                    }
                    lit.push(char::from_u32(value).unwrap_or('\0'));
                }
                '1'..='9' => {
                    let d2 = chars.get(i).copied().filter(char::is_ascii_digit);
                    let d3 = chars.get(i + 1).copied().filter(char::is_ascii_digit);
                    let octal = |c: char| ('0'..='7').contains(&c);
                    if let (Some(a), Some(b)) = (d2, d3)
                        && octal(n)
                        && octal(a)
                        && octal(b)
                    {
                        let value = [n, a, b]
                            .iter()
                            .fold(0u32, |v, c| v * 8 + c.to_digit(8).unwrap_or(0));
                        if value > 0o377 {
                            return Err(bad(format!(
                                "octal escape value \\{n}{a}{b} outside of range 0-0o377"
                            )));
                        }
                        lit.push(char::from_u32(value).unwrap_or('\0'));
                        i += 2;
                    } else {
                        let mut number = n.to_digit(10).unwrap_or(0) as usize;
                        if let Some(a) = d2 {
                            number = number * 10 + a.to_digit(10).unwrap_or(0) as usize;
                            i += 1;
                        }
                        if number >= re.groups() {
                            return Err(bad(format!("invalid group reference {number}")));
                        }
                        group(&mut lit, &mut pieces, number);
                    }
                }
                'n' => lit.push('\n'),
                't' => lit.push('\t'),
                'r' => lit.push('\r'),
                'f' => lit.push('\x0c'),
                'v' => lit.push('\x0b'),
                'a' => lit.push('\x07'),
                'b' => lit.push('\x08'),
                '\\' => lit.push('\\'),
                c if c.is_ascii_alphabetic() => {
                    return Err(bad(format!("bad escape \\{c}")));
                }
                c => {
                    lit.push('\\');
                    lit.push(c);
                }
            }
        }
        if !lit.is_empty() {
            pieces.push(Piece::Literal(lit));
        }
        Ok(Template { pieces })
    }

    /// The template with the groups of one match filled in; a group that did not take part
    /// in the match expands to nothing, as in Python 3.5+.
    pub fn expand(&self, caps: &Captures<'_>) -> String {
        let mut out = String::new();
        for p in &self.pieces {
            match p {
                Piece::Literal(s) => out.push_str(s),
                Piece::Group(g) => {
                    if let Some(m) = caps.get(*g) {
                        out.push_str(m.as_str());
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn re(p: &str) -> PyRegex {
        PyRegex::compile(p, Dollar::Line, false).unwrap()
    }

    fn sub(p: &str, repl: &str, text: &str) -> (String, usize) {
        let r = PyRegex::compile(p, Dollar::Multiline, false).unwrap();
        let t = Template::parse(repl, &r).unwrap();
        r.subn(&t, text).unwrap()
    }

    #[test]
    fn python_syntax_that_rust_reads_differently() {
        // `\<` is a plain `<` in Python.
        assert!(re(r"\<tag\>").is_match("<tag>").unwrap());
        // `[` inside a class is literal; `[[:space:]]` is a class followed by `]` in Python.
        assert!(re(r"[[]x").is_match("[x").unwrap());
        assert!(re(r"a[[:space:]]").is_match("a:]").unwrap());
        assert!(!re(r"a[[:space:]]").is_match("a ").unwrap());
        // Set operators in Rust classes are plain characters in Python.
        assert!(re(r"[a&&b]").is_match("&").unwrap());
        assert!(re(r"[~~]").is_match("~").unwrap());
        // `\Z` is the end of the text.
        assert!(re(r"end\Z").is_match("the end").unwrap());
        // `{` that is not a repeat is literal; `{,3}` is a repeat.
        assert!(re(r"{mark}").is_match("# {mark} X").unwrap());
        assert!(re(r"^a{,3}$").is_match("aa").unwrap());
        // Named groups and named back-references.
        assert!(re(r"(?P<q>['x])a(?P=q)").is_match("'a'").unwrap());
        // Lookarounds.
        assert!(re(r"^(?!#)Port").is_match("Port 22").unwrap());
        assert!(!re(r"^(?!#)Port").is_match("#Port 22").unwrap());
        // Comments may hold brackets.
        assert!(re(r"a(?# [ )b").is_match("ab").unwrap());
        // Escaped punctuation.
        assert!(
            re(r"\/etc\/hosts\-x\ y\#")
                .is_match("/etc/hosts-x y#")
                .unwrap()
        );
    }

    #[test]
    fn dollar_matches_before_a_final_newline_like_python() {
        let r = re(r"^PermitRootLogin\s+yes$");
        assert!(r.is_match("PermitRootLogin yes\n").unwrap());
        assert!(r.is_match("PermitRootLogin yes").unwrap());
        assert!(!r.is_match("PermitRootLogin yes\r\n").unwrap());
        // `\s+$` may take the newline itself, as in Python.
        assert!(re(r"^foo\s+$").is_match("foo\n").unwrap());
        let t = PyRegex::compile(r"b$", Dollar::Text, false).unwrap();
        assert!(t.is_match("ab\n").unwrap());
        assert!(!t.is_match("ab\nc").unwrap());
    }

    #[test]
    fn global_flags_are_read() {
        let r = re(r"(?m)^b$");
        assert!(r.is_multiline());
        assert!(r.is_match("a\nb\nc").unwrap());
        let r = re(r"(?i)HELLO");
        assert!(!r.is_multiline());
        assert!(r.is_match("hello").unwrap());
        // Python-only flags are accepted and dropped.
        assert!(re(r"(?a)\w").is_match("x").unwrap());
    }

    #[test]
    fn bad_patterns_are_errors_not_panics() {
        for p in [r"(", r"[a", r"a\", r"*a", r"(?P<x>a)(?P=y)"] {
            assert!(PyRegex::compile(p, Dollar::Line, false).is_err(), "{p}");
        }
    }

    #[test]
    fn templates_follow_python() {
        assert_eq!(
            sub(r"(\w+)=(\w+)", r"\2=\1", "a=b c=d"),
            ("b=a d=c".into(), 2)
        );
        assert_eq!(sub(r"(?P<k>\w+)=", r"\g<k>:", "a=1"), ("a:1".into(), 1));
        assert_eq!(sub(r"(a)", r"\g<1>0", "a"), ("a0".into(), 1));
        assert_eq!(sub(r"x", r"\n\t\\", "x"), ("\n\t\\".into(), 1));
        // Escaped punctuation keeps its backslash.
        assert_eq!(sub(r"x", r"\.\&", "x"), ("\\.\\&".into(), 1));
        // Octal escapes.
        assert_eq!(sub(r"x", r"\101\0", "x"), ("A\0".into(), 1));
        // A group that did not match expands to nothing.
        assert_eq!(sub(r"(a)|(b)", r"[\1\2]", "ab"), ("[a][b]".into(), 2));
        let r = re(r"(a)");
        assert!(
            Template::parse(r"\2", &r)
                .unwrap_err()
                .contains("invalid group reference 2")
        );
        assert!(
            Template::parse(r"\g<nope>", &r)
                .unwrap_err()
                .contains("unknown group name")
        );
        assert!(
            Template::parse(r"\q", &r)
                .unwrap_err()
                .contains("bad escape \\q")
        );
        assert!(Template::parse("\\", &r).is_err());
    }

    #[test]
    fn empty_matches_follow_python_3_7() {
        // re.sub('x*', '-', 'abxd') == '-a-b--d-'
        assert_eq!(sub("x*", "-", "abxd"), ("-a-b--d-".into(), 5));
        // re.sub('$', '!', 'a\nb') with MULTILINE == 'a!\nb!'
        assert_eq!(sub("$", "!", "a\nb"), ("a!\nb!".into(), 2));
        assert_eq!(sub("^", "> ", "a\nb\n"), ("> a\n> b\n> ".into(), 3));
        assert_eq!(sub("", "-", "ü"), ("-ü-".into(), 2));
    }

    #[test]
    fn multiline_replace_on_non_ascii() {
        assert_eq!(
            sub(r"^(\s*)grüße = .*$", r"\1grüße = ✓", "  grüße = x\nother\n"),
            ("  grüße = ✓\nother\n".into(), 1)
        );
    }
}

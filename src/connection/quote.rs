//! The one quoting routine: every value that reaches a remote shell passes through here.
//!
//! jig never pastes a value into a shell line unquoted. [`quote`] turns any string into one
//! POSIX `sh` word, and [`Cmd`] builds a command line word by word so the quoting cannot be
//! forgotten. Values may contain spaces, quotes, `$(...)`, newlines or any UTF-8: single quotes
//! protect all of them, and an embedded `'` is written as `'\''`.

use std::fmt;

/// Quotes `s` as a single POSIX shell word.
///
/// Words made only of characters that the shell never interprets are left bare so commands
/// stay readable in `-vvv` output; everything else is single-quoted.
pub fn quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"@%+=:,./-_".contains(&b))
    {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        if c == '\'' {
            out.push_str("'\\''");
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    out
}

/// A shell command line built from words and literal shell syntax.
///
/// [`Cmd::arg`] quotes; [`Cmd::raw`] appends shell syntax written by jig itself (operators such
/// as `&&`, `;`, `2>/dev/null`), never a user value.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cmd {
    line: String,
}

impl Cmd {
    /// Starts a command with the program name (quoted like any other word).
    pub fn new(program: &str) -> Self {
        let mut c = Cmd::default();
        c.arg(program);
        c
    }

    /// An empty command line, to be filled with [`Cmd::raw`] and [`Cmd::arg`].
    pub fn empty() -> Self {
        Cmd::default()
    }

    /// Appends one quoted word.
    pub fn arg(&mut self, word: &str) -> &mut Self {
        if !self.line.is_empty() && !self.line.ends_with(' ') {
            self.line.push(' ');
        }
        self.line.push_str(&quote(word));
        self
    }

    /// Appends several quoted words.
    pub fn args<I, S>(&mut self, words: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        for w in words {
            self.arg(w.as_ref());
        }
        self
    }

    /// Appends literal shell syntax written by jig (an operator or redirection). Never pass a
    /// user-supplied value here.
    pub fn raw(&mut self, syntax: &str) -> &mut Self {
        if !self.line.is_empty() && !self.line.ends_with(' ') {
            self.line.push(' ');
        }
        self.line.push_str(syntax);
        self
    }

    /// The command line.
    pub fn as_str(&self) -> &str {
        &self.line
    }

    /// Consumes the builder, returning the command line.
    pub fn into_string(self) -> String {
        self.line
    }
}

impl fmt::Display for Cmd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    /// Round-trips a value through a real `sh`: `printf %s <quoted>` must print it unchanged.
    fn through_sh(value: &str) -> String {
        let mut cmd = Cmd::new("printf");
        cmd.arg("%s").arg(value);
        let out = Command::new("sh")
            .arg("-c")
            .arg(cmd.as_str())
            .output()
            .expect("sh runs");
        String::from_utf8(out.stdout).expect("utf8")
    }

    #[test]
    fn hostile_values_survive_the_shell() {
        for v in [
            "plain",
            "with space",
            "it's",
            "\"double\"",
            "$(touch /tmp/jig-pwned)",
            "`id`",
            "a\nb\n",
            "tab\there",
            "ünïcödé ✓",
            "*",
            "~",
            "-n",
            "a;b|c&d>e<f",
            "\\",
            "'",
            "''",
            "",
        ] {
            assert_eq!(through_sh(v), v, "value {v:?}");
        }
    }

    #[test]
    fn bare_words_stay_readable() {
        assert_eq!(quote("/etc/hosts"), "/etc/hosts");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), "'it'\\''s'");
        assert_eq!(quote(""), "''");
    }
}

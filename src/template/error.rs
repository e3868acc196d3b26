//! The templating error type, and its translation from minijinja's errors into messages that
//! say what went wrong, where (template name or text, line, the offending text) and what to do.

use std::fmt;
use std::path::PathBuf;

/// A template could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateError {
    /// A variable, attribute or key that is not defined was used.
    Undefined {
        /// The expression that was undefined (`foo`, `x.missing`, `x['k']`).
        name: String,
        /// The template (file name, or the template text itself).
        template: String,
        /// 1-based line inside the template, when known.
        line: Option<usize>,
    },
    /// The template text is not valid Jinja.
    Syntax {
        /// What the parser said.
        message: String,
        /// The template (file name, or the template text itself).
        template: String,
        /// 1-based line inside the template, when known.
        line: Option<usize>,
        /// The offending source text.
        snippet: String,
    },
    /// A variable refers to itself through templates (`a: "{{ b }}"`, `b: "{{ a }}"`).
    Recursion {
        /// The variables being resolved, outermost first, ending with the one seen twice.
        chain: Vec<String>,
    },
    /// A filter, test, lookup or operation failed while rendering.
    Render {
        /// What failed.
        message: String,
        /// The template (file name, or the template text itself).
        template: String,
        /// 1-based line inside the template, when known.
        line: Option<usize>,
        /// The offending source text, when known.
        snippet: String,
    },
    /// A value or option given to the templating layer is not usable.
    Invalid {
        /// What is wrong.
        message: String,
        /// The value or template concerned.
        template: String,
        /// What to do about it.
        hint: String,
    },
    /// A template file could not be read.
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        message: String,
    },
}

fn clip(s: &str) -> String {
    const MAX: usize = 200;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(MAX).collect();
        out.push('…');
        out
    }
}

fn at_line(line: &Option<usize>) -> String {
    match line {
        Some(l) => format!(", line {l}"),
        None => String::new(),
    }
}

/// Names a template: a file name as is; template text by its offending line when it has
/// several.
fn label(template: &str, line: &Option<usize>) -> String {
    if !template.contains('\n') {
        return format!("{}{}", clip(template), at_line(line));
    }
    match line.and_then(|l| template.lines().nth(l.saturating_sub(1))) {
        Some(text) => format!("`{}`{}", clip(text), at_line(line)),
        None => clip(&template.replace('\n', "\\n")),
    }
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TemplateError::Undefined {
                name,
                template,
                line,
            } => {
                match split_last_access(name) {
                    Some((parent, key)) => {
                        write!(f, "'{parent}' has no attribute or key '{key}'")?;
                    }
                    None => write!(f, "'{name}' is undefined")?,
                }
                write!(
                    f,
                    " (in template {}); define it, or guard it with `| default(...)` or \
                     `is defined`",
                    label(template, line)
                )
            }
            TemplateError::Syntax {
                message,
                template,
                line,
                snippet,
            } => {
                write!(
                    f,
                    "template syntax error: {message} (in template {})",
                    label(template, line)
                )?;
                if !snippet.is_empty() {
                    write!(f, " near `{}`", clip(snippet))?;
                }
                write!(f, "; fix the Jinja syntax there")
            }
            TemplateError::Recursion { chain } => write!(
                f,
                "recursive loop detected in template: {}; a variable must not refer to itself",
                chain.join(" -> ")
            ),
            TemplateError::Render {
                message,
                template,
                line,
                snippet,
            } => {
                write!(
                    f,
                    "template error: {message} (in template {})",
                    label(template, line)
                )?;
                if !snippet.is_empty() {
                    write!(f, " at `{}`", clip(snippet))?;
                }
                Ok(())
            }
            TemplateError::Invalid {
                message,
                template,
                hint,
            } => write!(f, "{message} (in {}); {hint}", clip(template)),
            TemplateError::Io { path, message } => write!(
                f,
                "cannot read template {}: {message}; check that the file exists and is readable",
                path.display()
            ),
        }
    }
}

impl std::error::Error for TemplateError {}

/// Splits `x.y.z` or `x['k']` into (`x.y`, `z`) / (`x`, `k`) when the last step is an
/// attribute or key access.
fn split_last_access(name: &str) -> Option<(&str, String)> {
    let name = name.trim();
    if let Some(stripped) = name.strip_suffix(']') {
        let open = stripped.rfind('[')?;
        let key = stripped[open + 1..].trim();
        let key = key.trim_matches(|c| c == '\'' || c == '"');
        return Some((&name[..open], key.to_string()));
    }
    let dot = name.rfind('.')?;
    let key = &name[dot + 1..];
    if key.is_empty() || !key.chars().all(|c| c.is_alphanumeric() || c == '_') {
        return None;
    }
    // A float literal like `1.5` is not an attribute access.
    if name[..dot].chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    Some((&name[..dot], key.to_string()))
}

/// Strips `{{ }}` / `{% %}` delimiters around an expression's text.
fn strip_delims(s: &str) -> &str {
    let t = s.trim();
    for (a, b) in [("{{", "}}"), ("{%", "%}")] {
        if let Some(inner) = t.strip_prefix(a).and_then(|x| x.strip_suffix(b)) {
            return inner.trim().trim_matches('-').trim();
        }
    }
    t
}

/// The operand of the filter whose name starts right after `before`: the text back to the
/// opening delimiter, bracket or comma at the same nesting level.
fn filter_operand(before: &str) -> &str {
    let t = before.trim_end();
    let t = t.strip_suffix('|').unwrap_or(t).trim_end();
    let bytes = t.as_bytes();
    let mut depth = 0i32;
    let mut i = bytes.len();
    while i > 0 {
        let c = bytes[i - 1];
        match c {
            b')' | b']' | b'}' => depth += 1,
            b'(' | b'[' | b'{' if depth > 0 => depth -= 1,
            b'(' | b'[' | b'{' | b',' if depth == 0 => break,
            b'%' if depth == 0 && i >= 2 && bytes[i - 2] == b'{' => break,
            _ => {}
        }
        i -= 1;
    }
    t[i..].trim().trim_start_matches(['{', '%', '-']).trim()
}

/// The variable at the root of a plain path (`x` of `x.y['k']`); `None` for anything that is
/// not a plain path.
pub(crate) fn root_name(path: &str) -> Option<&str> {
    let p = path.trim();
    let end = p
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(p.len());
    let root = &p[..end];
    if root.is_empty() || root.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let rest = &p[end..];
    let path_like = rest
        .chars()
        .all(|c| c.is_alphanumeric() || "_.[]'\"".contains(c));
    path_like.then_some(root)
}

/// The identifiers of an expression that are not attributes, filters, tests or strings.
/// The name an undefined error carries when minijinja gave no span to take it from.
pub(crate) const UNKNOWN_OPERAND: &str = "a value";

/// Dotted variable paths (`a.b`, `r_raw.rc`) outside string literals, in order.
pub(crate) fn dotted_paths(expr: &str) -> Vec<&str> {
    let b = expr.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'\'' || c == b'"' {
            let mut j = i + 1;
            while j < b.len() && b[j] != c {
                j += if b[j] == b'\\' { 2 } else { 1 };
            }
            i = j + 1;
            continue;
        }
        let starts_word = (c.is_ascii_alphabetic() || c == b'_')
            && (i == 0
                || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_' || b[i - 1] == b'.'));
        if starts_word {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'.') {
                i += 1;
            }
            let word = expr[start..i].trim_end_matches('.');
            if word.contains('.') {
                out.push(word);
            }
            continue;
        }
        i += 1;
    }
    out
}

pub(crate) fn identifiers(expr: &str) -> Vec<&str> {
    let b = expr.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let mut prev_sig: u8 = b' ';
    let mut prev_word = "";
    while i < b.len() {
        let c = b[i];
        if c == b'\'' || c == b'"' {
            let mut j = i + 1;
            while j < b.len() && b[j] != c {
                j += if b[j] == b'\\' { 2 } else { 1 };
            }
            i = j + 1;
            prev_sig = c;
            continue;
        }
        if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            let word = &expr[start..i];
            let after = expr[i..].trim_start();
            let is_call_kw = after.starts_with('=') && !after.starts_with("==");
            if prev_sig != b'.' && prev_sig != b'|' && prev_word != "is" && !is_call_kw {
                out.push(word);
            }
            prev_word = word;
            prev_sig = b'a';
            continue;
        }
        if !c.is_ascii_whitespace() {
            prev_sig = c;
            prev_word = "";
        }
        i += 1;
    }
    out
}

/// Names that are never variables: keywords, literals and global functions.
pub(crate) fn is_builtin_name(id: &str) -> bool {
    matches!(
        id,
        "and"
            | "or"
            | "not"
            | "in"
            | "is"
            | "if"
            | "else"
            | "true"
            | "false"
            | "none"
            | "True"
            | "False"
            | "None"
            | "loop"
            | "range"
            | "dict"
            | "namespace"
            | "lookup"
            | "query"
            | "q"
            | "lipsum"
            | "cycler"
            | "joiner"
            | "now"
            | "omit"
            | "vars"
            | "hostvars"
    )
}

impl TemplateError {
    /// Notes that this error happened while rendering variable `label`.
    pub(crate) fn in_variable(self, label: &str) -> TemplateError {
        let tag = |t: String| format!("{t} (the value of variable `{label}`)");
        match self {
            TemplateError::Undefined {
                name,
                template,
                line,
            } => TemplateError::Undefined {
                name,
                template: tag(template),
                line,
            },
            TemplateError::Render {
                message,
                template,
                line,
                snippet,
            } => TemplateError::Render {
                message,
                template: tag(template),
                line,
                snippet,
            },
            TemplateError::Syntax {
                message,
                template,
                line,
                snippet,
            } => TemplateError::Syntax {
                message,
                template: tag(template),
                line,
                snippet,
            },
            other => other,
        }
    }

    /// An undefined-variable error for expression `name` in template `template`.
    pub(crate) fn undefined(name: &str, template: &str) -> TemplateError {
        TemplateError::Undefined {
            name: name.to_string(),
            template: template.to_string(),
            line: None,
        }
    }

    /// Translates a minijinja error raised while rendering `source`.
    pub(crate) fn from_mj(err: minijinja::Error, source: &str) -> TemplateError {
        use minijinja::ErrorKind;
        let template = match err.name() {
            Some(n) if !n.starts_with('<') => n.to_string(),
            _ => source.to_string(),
        };
        let src = err.template_source().unwrap_or(source);
        let snippet = err
            .range()
            .and_then(|r| {
                // An attribute step (`.z`, `['k']`) is shown with the path leading to it.
                let mut start = r.start;
                let bytes = src.as_bytes();
                if matches!(bytes.get(start), Some(b'.') | Some(b'[')) {
                    while start > 0
                        && (bytes[start - 1].is_ascii_alphanumeric()
                            || matches!(bytes[start - 1], b'_' | b'.' | b'[' | b']' | b'\'' | b'"'))
                    {
                        start -= 1;
                    }
                }
                src.get(start..r.end)
            })
            .map(|s| s.to_string())
            .unwrap_or_default();
        let line = err.line();
        let mut message = match err.detail() {
            Some(d) => format!("{}: {d}", kind_text(err.kind())),
            None => kind_text(err.kind()).to_string(),
        };
        // A failure inside a filter or lookup often carries its cause as a source error.
        let mut cause = std::error::Error::source(&err);
        while let Some(c) = cause {
            message.push_str(&format!(": {c}"));
            cause = c.source();
        }
        match err.kind() {
            ErrorKind::SyntaxError | ErrorKind::BadEscape => TemplateError::Syntax {
                message,
                template,
                line,
                snippet,
            },
            ErrorKind::UndefinedError => {
                // A filter that got an undefined value points at the filter's name; the
                // undefined thing is the operand before the `|`.
                let operand = match (err.detail(), err.range()) {
                    (Some(d), Some(r)) if d.contains("filter got an undefined value") => {
                        src.get(..r.start).map(filter_operand)
                    }
                    _ => None,
                };
                let name = operand.unwrap_or_else(|| strip_delims(&snippet));
                let name = if name.is_empty() {
                    UNKNOWN_OPERAND.to_string()
                } else {
                    // `{{ x | lower }}`: the undefined value is the filtered operand.
                    name.split('|').next().unwrap_or(name).trim().to_string()
                };
                TemplateError::Undefined {
                    name,
                    template,
                    line,
                }
            }
            _ => TemplateError::Render {
                message,
                template,
                line,
                snippet,
            },
        }
    }
}

fn kind_text(kind: minijinja::ErrorKind) -> &'static str {
    use minijinja::ErrorKind::*;
    match kind {
        SyntaxError => "syntax error",
        UndefinedError => "undefined value",
        UnknownFilter => "unknown filter",
        UnknownTest => "unknown test",
        UnknownFunction => "unknown function",
        UnknownMethod => "unknown method",
        InvalidOperation => "invalid operation",
        MissingArgument => "missing argument",
        TooManyArguments => "too many arguments",
        BadEscape => "bad string escape",
        CannotDeserialize => "cannot convert value",
        BadSerialization => "cannot serialize value",
        TemplateNotFound => "template not found",
        NonPrimitive => "not a primitive value",
        NonKey => "not a valid key",
        _ => "error",
    }
}

//! The `#jinja2:` first-line header of template files (`#jinja2: trim_blocks: False,
//! lstrip_blocks: True, variable_start_string: '[%'`), which overrides the environment's
//! options for that one file, and the options themselves.

use minijinja::syntax::SyntaxConfig;

/// Environment options a template file may override.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct HeaderOptions {
    pub trim_blocks: bool,
    pub lstrip_blocks: bool,
    pub keep_trailing_newline: bool,
    pub block_start: String,
    pub block_end: String,
    pub variable_start: String,
    pub variable_end: String,
    pub comment_start: String,
    pub comment_end: String,
    pub line_statement_prefix: Option<String>,
    pub line_comment_prefix: Option<String>,
}

impl Default for HeaderOptions {
    /// Ansible's defaults: `trim_blocks` on, `lstrip_blocks` off; Jinja drops one final
    /// newline and Ansible then restores as many as the source ended with (see `scope`).
    fn default() -> Self {
        HeaderOptions {
            trim_blocks: true,
            lstrip_blocks: false,
            keep_trailing_newline: false,
            block_start: "{%".into(),
            block_end: "%}".into(),
            variable_start: "{{".into(),
            variable_end: "}}".into(),
            comment_start: "{#".into(),
            comment_end: "#}".into(),
            line_statement_prefix: None,
            line_comment_prefix: None,
        }
    }
}

impl HeaderOptions {
    /// The minijinja syntax for these options.
    pub(crate) fn syntax(&self) -> Result<SyntaxConfig, minijinja::Error> {
        let mut b = SyntaxConfig::builder();
        b.block_delimiters(self.block_start.clone(), self.block_end.clone())
            .variable_delimiters(self.variable_start.clone(), self.variable_end.clone())
            .comment_delimiters(self.comment_start.clone(), self.comment_end.clone())
            .trim_blocks(self.trim_blocks)
            .lstrip_blocks(self.lstrip_blocks)
            .keep_trailing_newline(self.keep_trailing_newline);
        if let Some(p) = &self.line_statement_prefix {
            b.line_statement_prefix(p.clone());
        }
        if let Some(p) = &self.line_comment_prefix {
            b.line_comment_prefix(p.clone());
        }
        b.build()
    }
}

fn parse_bool(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" => Some(true),
        "false" | "no" | "off" | "0" => Some(false),
        _ => None,
    }
}

fn unquote(v: &str) -> String {
    let v = v.trim();
    for q in ['\'', '"'] {
        if v.len() >= 2 && v.starts_with(q) && v.ends_with(q) {
            return v[1..v.len() - 1].to_string();
        }
    }
    v.to_string()
}

/// Splits `a: 1, b: 'x, y'` on commas outside quotes.
fn split_options(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut quote: Option<char> = None;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, ',') => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

/// Reads the header, if any; returns the options and the template body without the header
/// line. Unknown option names are an error naming them.
pub(crate) fn parse(source: &str) -> Result<(HeaderOptions, &str), String> {
    let mut opts = HeaderOptions::default();
    let Some(rest) = source.strip_prefix("#jinja2:") else {
        return Ok((opts, source));
    };
    let (line, body) = match rest.find('\n') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, ""),
    };
    for item in split_options(line.trim_end_matches('\r')) {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        let Some((key, value)) = item.split_once(':') else {
            return Err(format!("`#jinja2:` header option `{item}` has no value"));
        };
        let key = key.trim();
        let value = value.trim();
        let flag = |name: &str| {
            parse_bool(&unquote(value)).ok_or_else(|| {
                format!("`#jinja2:` header option {name} needs True or False, got `{value}`")
            })
        };
        match key {
            "trim_blocks" => opts.trim_blocks = flag(key)?,
            "lstrip_blocks" => opts.lstrip_blocks = flag(key)?,
            "keep_trailing_newline" => opts.keep_trailing_newline = flag(key)?,
            "block_start_string" => opts.block_start = unquote(value),
            "block_end_string" => opts.block_end = unquote(value),
            "variable_start_string" => opts.variable_start = unquote(value),
            "variable_end_string" => opts.variable_end = unquote(value),
            "comment_start_string" => opts.comment_start = unquote(value),
            "comment_end_string" => opts.comment_end = unquote(value),
            "line_statement_prefix" => opts.line_statement_prefix = Some(unquote(value)),
            "line_comment_prefix" => opts.line_comment_prefix = Some(unquote(value)),
            // Accepted by Ansible and meaningless for text output.
            "newline_sequence" | "autoescape" => {}
            other => return Err(format!("unknown `#jinja2:` header option `{other}`")),
        }
    }
    Ok((opts, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_overrides_and_is_removed() {
        let (o, body) = parse(
            "#jinja2: trim_blocks: False, lstrip_blocks: True, variable_start_string: '[%', variable_end_string: '%]'\nx [% a %]\n",
        )
        .unwrap();
        assert!(!o.trim_blocks);
        assert!(o.lstrip_blocks);
        assert_eq!(o.variable_start, "[%");
        assert_eq!(o.variable_end, "%]");
        assert_eq!(body, "x [% a %]\n");
    }

    #[test]
    fn no_header_keeps_defaults_and_text() {
        let (o, body) = parse("# comment\nx").unwrap();
        assert_eq!(o, HeaderOptions::default());
        assert_eq!(body, "# comment\nx");
    }

    #[test]
    fn bad_header_names_the_option() {
        let e = parse("#jinja2: bogus: 1\n").unwrap_err();
        assert!(e.contains("bogus"), "{e}");
        let e = parse("#jinja2: trim_blocks: maybe\n").unwrap_err();
        assert!(e.contains("trim_blocks"), "{e}");
    }
}

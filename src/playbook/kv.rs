//! Ansible's `key=value` argument text (`copy: src=a dest=b`, `shell: echo hi chdir=/tmp`).
//!
//! This owns splitting such text into words the way Ansible's splitter does (quotes and Jinja2
//! `{{ }}`, `{% %}`, `{# #}` blocks keep their spaces; runs of spaces and newlines survive in
//! free-form text) and turning the words into arguments. Words without an `=` are free-form and
//! are joined into `_raw_params`; for free-form modules (`command`, `shell`...) only the
//! documented options (`creates`, `chdir`...) are taken out of the text. Values are strings.

use serde_json::Value as Json;

use super::VarMap;

/// The `k=v` options that command-like modules accept inside their free-form text.
const FREE_FORM_OPTIONS: &[&str] = &[
    "creates",
    "removes",
    "chdir",
    "executable",
    "warn",
    "stdin",
    "stdin_add_newline",
    "strip_empty_ends",
];

/// Ansible's `k=v` argument text: quoting with ' and ", escapes, `_raw_params` for free-form
/// words.
///
/// With `free_form` (the text of `command`, `shell`, `raw`, `script`), every word stays part of
/// the command line except the options those modules take (`creates=`, `removes=`, `chdir=`,
/// `executable=`, `warn=`, `stdin=`...). Otherwise every `k=v` word is an argument and the
/// remaining words form `_raw_params`. Values are always strings, with one level of matching
/// quotes removed and `\n`, `\t`, `\uXXXX`... escapes decoded. The error names the problem (an
/// unclosed quote or Jinja2 block).
pub fn parse_kv(text: &str, free_form: bool) -> Result<VarMap, String> {
    let words = split_args(text)?;
    let mut options = VarMap::new();
    let mut raw: Vec<String> = Vec::new();
    for word in words {
        let decoded = decode_escapes(&word);
        if !decoded.contains('=') {
            raw.push(word);
            continue;
        }
        // The separator is the first `=` that is neither the first character nor escaped.
        let bytes = decoded.as_bytes();
        let sep = (1..bytes.len()).find(|&i| bytes[i] == b'=' && bytes[i - 1] != b'\\');
        let Some(sep) = sep else {
            raw.push(decoded.replace("\\=", "="));
            continue;
        };
        let key = &decoded[..sep];
        let value = &decoded[sep + 1..];
        if free_form && !FREE_FORM_OPTIONS.contains(&key) {
            raw.push(word);
        } else {
            options.insert(
                key.trim().to_string(),
                Json::String(unquote(value.trim()).to_string()),
            );
        }
    }
    if !raw.is_empty() {
        options.insert("_raw_params".to_string(), Json::String(join_args(&raw)));
    }
    Ok(options)
}

/// Splits argument text on spaces, keeping quoted strings and Jinja2 blocks together. Runs of
/// spaces are kept on the word before them and newlines at the end of the word before them, so
/// that [`join_args`] gives the original free-form text back.
pub(crate) fn split_args(text: &str) -> Result<Vec<String>, String> {
    let mut params: Vec<String> = Vec::new();
    let lines: Vec<&str> = text.split('\n').collect();
    let mut quote: Option<char> = None;
    let mut depths = [0usize; 3];
    const DELIMS: [(&str, &str); 3] = [("{{", "}}"), ("{%", "%}"), ("{#", "#}")];

    for (line_no, line) in lines.iter().enumerate() {
        let tokens: Vec<&str> = line.split(' ').collect();
        let mut continuation = false;
        for (idx, token) in tokens.iter().enumerate() {
            if token.is_empty() && idx != 0 {
                if let Some(last) = params.last_mut() {
                    last.push(' ');
                }
                continue;
            }
            let was_quoted = quote.is_some();
            if *token == "\\" && !was_quoted {
                continuation = true;
                continue;
            }
            quote = quote_state(token, quote);
            let quoted = quote.is_some();
            let in_jinja = depths.iter().any(|d| *d > 0);

            let mut appended = false;
            if quoted && !was_quoted && !in_jinja {
                params.push((*token).to_string());
                appended = true;
            } else if in_jinja || quoted || was_quoted {
                match params.last_mut() {
                    Some(last) => {
                        // A word continued on a new line follows its newline directly.
                        if idx > 0 {
                            last.push(' ');
                        }
                        last.push_str(token);
                    }
                    None => params.push((*token).to_string()),
                }
                appended = true;
            }

            for (depth, (open, close)) in depths.iter_mut().zip(DELIMS) {
                let before = *depth;
                let opened = token.matches(open).count();
                let closed = token.matches(close).count();
                if opened != closed {
                    *depth = (*depth + opened).saturating_sub(closed);
                }
                if *depth != before && !appended {
                    params.push((*token).to_string());
                    appended = true;
                }
            }

            if depths.iter().all(|d| *d == 0) && !quoted && !appended && !token.is_empty() {
                params.push((*token).to_string());
            }
        }
        if lines.len() > 1
            && line_no != lines.len() - 1
            && !continuation
            && let Some(last) = params.last_mut()
        {
            last.push('\n');
        }
    }

    if let Some(q) = quote {
        return Err(format!(
            "unbalanced quotes: a {q} is never closed in '{}'; quote the whole value or escape the quote",
            text.trim()
        ));
    }
    if depths.iter().any(|d| *d > 0) {
        return Err(format!(
            "unbalanced Jinja2 block ({{{{ }}}}, {{% %}} or {{# #}}) in '{}'",
            text.trim()
        ));
    }
    Ok(params)
}

/// The quote still open after `token`, given the one open before it.
fn quote_state(token: &str, mut quote: Option<char>) -> Option<char> {
    let mut prev: Option<char> = None;
    for c in token.chars() {
        if (c == '"' || c == '\'') && prev != Some('\\') {
            match quote {
                Some(q) if q == c => quote = None,
                Some(_) => {}
                None => quote = Some(c),
            }
        }
        prev = Some(c);
    }
    quote
}

/// Joins words back into text: a space between words, none after a newline.
pub(crate) fn join_args(words: &[String]) -> String {
    let mut out = String::new();
    for w in words {
        if !out.is_empty() && !out.ends_with('\n') {
            out.push(' ');
        }
        out.push_str(w);
    }
    out
}

/// Removes one level of matching quotes, unless the closing quote is escaped.
fn unquote(s: &str) -> &str {
    let chars: Vec<char> = s.chars().collect();
    if chars.len() > 1
        && (chars[0] == '"' || chars[0] == '\'')
        && chars[0] == chars[chars.len() - 1]
        && chars[chars.len() - 2] != '\\'
    {
        &s[1..s.len() - 1]
    } else {
        s
    }
}

/// Decodes the Python-style escapes Ansible decodes in `k=v` words: `\\`, `\'`, `\"`, `\a`,
/// `\b`, `\f`, `\n`, `\r`, `\t`, `\v`, `\xHH`, `\uHHHH`, `\UHHHHHHHH`. Anything else is kept.
fn decode_escapes(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c != '\\' || i + 1 >= chars.len() {
            out.push(c);
            i += 1;
            continue;
        }
        let next = chars[i + 1];
        let simple = match next {
            '\\' => Some('\\'),
            '\'' => Some('\''),
            '"' => Some('"'),
            'a' => Some('\u{7}'),
            'b' => Some('\u{8}'),
            'f' => Some('\u{c}'),
            'n' => Some('\n'),
            'r' => Some('\r'),
            't' => Some('\t'),
            'v' => Some('\u{b}'),
            _ => None,
        };
        if let Some(d) = simple {
            out.push(d);
            i += 2;
            continue;
        }
        let width = match next {
            'x' => 2,
            'u' => 4,
            'U' => 8,
            _ => 0,
        };
        if width > 0 && i + 2 + width <= chars.len() {
            let hex: String = chars[i + 2..i + 2 + width].iter().collect();
            if hex.chars().all(|h| h.is_ascii_hexdigit())
                && let Some(decoded) = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32)
            {
                out.push(decoded);
                i += 2 + width;
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn kv(text: &str, free: bool) -> VarMap {
        parse_kv(text, free).unwrap()
    }

    #[test]
    fn plain_pairs_and_quotes() {
        let m = kv(
            r#"src=a.conf dest="/etc/my app/a.conf" mode=0644 owner='root'"#,
            false,
        );
        assert_eq!(m["src"], json!("a.conf"));
        assert_eq!(m["dest"], json!("/etc/my app/a.conf"));
        assert_eq!(m["mode"], json!("0644"));
        assert_eq!(m["owner"], json!("root"));
        assert_eq!(m.len(), 4);
    }

    #[test]
    fn free_form_keeps_the_command_and_takes_options_out() {
        let m = kv(
            r#"echo "a  b" $(whoami) x=1 creates=/tmp/done chdir="/srv/my dir""#,
            true,
        );
        assert_eq!(m["_raw_params"], json!(r#"echo "a  b" $(whoami) x=1"#));
        assert_eq!(m["creates"], json!("/tmp/done"));
        assert_eq!(m["chdir"], json!("/srv/my dir"));
    }

    #[test]
    fn jinja_blocks_stay_one_word() {
        let m = kv(
            "msg={{ a | default('x y') }} other={% if x %}1{% endif %}",
            false,
        );
        assert_eq!(m["msg"], json!("{{ a | default('x y') }}"));
        assert_eq!(m["other"], json!("{% if x %}1{% endif %}"));
    }

    #[test]
    fn escapes_and_non_ascii() {
        let m = kv(r#"msg="line1\nline2 \u00e9 \"q\"" name=héllo"#, false);
        assert_eq!(m["msg"], json!("line1\nline2 é \"q\""));
        assert_eq!(m["name"], json!("héllo"));
    }

    #[test]
    fn free_words_in_non_free_form_go_to_raw_params() {
        let m = kv("tasks/setup.yml", false);
        assert_eq!(m["_raw_params"], json!("tasks/setup.yml"));
        let m = kv("flush_handlers", false);
        assert_eq!(m["_raw_params"], json!("flush_handlers"));
    }

    #[test]
    fn newlines_and_spaces_in_free_form_text_survive() {
        let m = kv("echo one\necho  two\n", true);
        assert_eq!(m["_raw_params"], json!("echo one\necho  two\n"));
    }

    #[test]
    fn escaped_equals_only_is_a_free_word() {
        let m = kv(r"a\=b", false);
        assert_eq!(m["_raw_params"], json!("a=b"));
        let m = kv(r"key=a\=b", false);
        assert_eq!(m["key"], json!(r"a\=b"));
    }

    #[test]
    fn unbalanced_input_is_an_error_not_a_panic() {
        assert!(parse_kv(r#"msg="never closed"#, false).is_err());
        assert!(parse_kv("msg={{ x ", false).is_err());
        for odd in [
            "", " ", "\n", "=", "==", "\\", " a", "a  ", "\n\nb", "'", "x='", "\\u12",
        ] {
            let _ = parse_kv(odd, true);
            let _ = parse_kv(odd, false);
        }
        assert!(kv("", false).is_empty());
    }

    #[test]
    fn split_keeps_quoted_spaces() {
        assert_eq!(
            split_args(r#"a="b c" 'd e' f"#).unwrap(),
            vec![r#"a="b c""#, "'d e'", "f"]
        );
        assert_eq!(split_args("a \\\nb").unwrap(), vec!["a", "b"]);
    }
}

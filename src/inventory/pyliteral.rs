//! Python literals, as INI inventories' values are read.
//!
//! Ansible passes every INI variable value through Python's `ast.literal_eval` and keeps the
//! text as a string when that fails: `n=5` is an integer, `t=True` a boolean, `l=[1, 'x']` a
//! list, but `y=yes`, `o=0644` and `s=a b` stay strings. This module evaluates that same subset
//! (numbers, strings, `True`/`False`/`None`, lists, tuples, dicts, sets, comments) into JSON,
//! and answers `None` wherever `literal_eval` would raise.

use serde_json::{Map, Number, Value};

/// Evaluates `text` as `ast.literal_eval` would; `None` if it is not a Python literal (or is one
/// JSON cannot hold, like a complex number).
pub fn literal_eval(text: &str) -> Option<Value> {
    // literal_eval strips leading spaces and tabs before parsing.
    let text = text.trim_start_matches([' ', '\t']);
    let mut p = Parser {
        s: text.as_bytes(),
        src: text,
        i: 0,
        depth: 0,
    };
    let v = p.expr()?;
    p.skip_ws();
    if p.i == p.s.len() { Some(v) } else { None }
}

struct Parser<'a> {
    s: &'a [u8],
    src: &'a str,
    i: usize,
    /// Nesting of brackets, bounded so hostile input cannot overflow the stack.
    depth: usize,
}

/// Deeper nesting than this is not a literal anyone writes in an inventory.
const MAX_DEPTH: usize = 64;

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn skip_ws(&mut self) {
        while let Some(c) = self.peek() {
            match c {
                b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' => self.i += 1,
                b'#' => {
                    while let Some(c) = self.peek() {
                        if c == b'\n' {
                            break;
                        }
                        self.i += 1;
                    }
                }
                b'\\' if self.s.get(self.i + 1) == Some(&b'\n') => self.i += 2,
                _ => break,
            }
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        self.skip_ws();
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn expr(&mut self) -> Option<Value> {
        self.depth += 1;
        let v = if self.depth > MAX_DEPTH {
            None
        } else {
            self.expr_inner()
        };
        self.depth -= 1;
        v
    }

    fn expr_inner(&mut self) -> Option<Value> {
        self.skip_ws();
        match self.peek()? {
            b'-' | b'+' => {
                let neg = self.peek() == Some(b'-');
                self.i += 1;
                self.skip_ws();
                let v = self.number()?;
                if !neg {
                    return Some(v);
                }
                match v {
                    Value::Number(n) => {
                        if let Some(i) = n.as_i64() {
                            Some(Value::from(i.checked_neg()?))
                        } else if let Some(u) = n.as_u64() {
                            let i = i64::try_from(u).ok()?;
                            Some(Value::from(-i))
                        } else {
                            Number::from_f64(-n.as_f64()?).map(Value::Number)
                        }
                    }
                    _ => None,
                }
            }
            b'[' => {
                self.i += 1;
                self.sequence(b']').map(Value::Array)
            }
            b'(' => {
                self.i += 1;
                if self.eat(b')') {
                    return Some(Value::Array(Vec::new()));
                }
                let first = self.expr()?;
                if self.eat(b')') {
                    return Some(first);
                }
                if !self.eat(b',') {
                    return None;
                }
                let mut rest = self.sequence(b')')?;
                rest.insert(0, first);
                Some(Value::Array(rest))
            }
            b'{' => {
                self.i += 1;
                self.braces()
            }
            b'0'..=b'9' | b'.' => self.number(),
            b'\'' | b'"' => self.strings(),
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let start = self.i;
                while self
                    .peek()
                    .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_')
                {
                    self.i += 1;
                }
                let word = &self.src[start..self.i];
                match word {
                    "True" => Some(Value::Bool(true)),
                    "False" => Some(Value::Bool(false)),
                    "None" => Some(Value::Null),
                    _ if is_string_prefix(word) && matches!(self.peek(), Some(b'\'' | b'"')) => {
                        self.i = start;
                        self.strings()
                    }
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// Items up to `close`, with an optional trailing comma.
    fn sequence(&mut self, close: u8) -> Option<Vec<Value>> {
        let mut items = Vec::new();
        loop {
            if self.eat(close) {
                return Some(items);
            }
            items.push(self.expr()?);
            if self.eat(close) {
                return Some(items);
            }
            if !self.eat(b',') {
                return None;
            }
        }
    }

    /// A dict or a set, after the opening brace.
    fn braces(&mut self) -> Option<Value> {
        if self.eat(b'}') {
            return Some(Value::Object(Map::new()));
        }
        let first = self.expr()?;
        if self.eat(b':') {
            let mut map = Map::new();
            let v = self.expr()?;
            map.insert(key_string(&first)?, v);
            loop {
                if self.eat(b'}') {
                    return Some(Value::Object(map));
                }
                if !self.eat(b',') {
                    return None;
                }
                if self.eat(b'}') {
                    return Some(Value::Object(map));
                }
                let k = self.expr()?;
                if !self.eat(b':') {
                    return None;
                }
                let v = self.expr()?;
                map.insert(key_string(&k)?, v);
            }
        }
        // A set: JSON has no sets, a list is the nearest.
        let mut items = vec![first];
        loop {
            if self.eat(b'}') {
                return Some(Value::Array(items));
            }
            if !self.eat(b',') {
                return None;
            }
            if self.eat(b'}') {
                return Some(Value::Array(items));
            }
            let v = self.expr()?;
            if !items.contains(&v) {
                items.push(v);
            }
        }
    }

    fn number(&mut self) -> Option<Value> {
        let start = self.i;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'.')
            || (matches!(self.peek(), Some(b'+' | b'-'))
                && matches!(self.s.get(self.i - 1), Some(b'e' | b'E'))
                && !self.src[start..self.i].starts_with("0x")
                && !self.src[start..self.i].starts_with("0X"))
        {
            self.i += 1;
        }
        parse_number(&self.src[start..self.i])
    }

    /// One or more adjacent string literals, concatenated as Python does.
    fn strings(&mut self) -> Option<Value> {
        let mut out = String::new();
        let mut any = false;
        loop {
            self.skip_ws();
            let start = self.i;
            while self.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
                self.i += 1;
            }
            let prefix = &self.src[start..self.i];
            if !matches!(self.peek(), Some(b'\'' | b'"')) || !is_string_prefix(prefix) {
                self.i = start;
                break;
            }
            let raw = prefix.contains(['r', 'R']);
            out.push_str(&self.string_body(raw)?);
            any = true;
        }
        any.then_some(Value::String(out))
    }

    fn string_body(&mut self, raw: bool) -> Option<String> {
        let q = self.peek()?;
        let triple = self.s.get(self.i + 1) == Some(&q) && self.s.get(self.i + 2) == Some(&q);
        self.i += if triple { 3 } else { 1 };
        let mut out = String::new();
        loop {
            let rest = &self.src[self.i..];
            let c = rest.chars().next()?;
            if c as u32 == u32::from(q) {
                if !triple {
                    self.i += 1;
                    return Some(out);
                }
                if rest.as_bytes().get(1) == Some(&q) && rest.as_bytes().get(2) == Some(&q) {
                    self.i += 3;
                    return Some(out);
                }
            }
            if c == '\n' && !triple {
                return None;
            }
            if c == '\\' {
                let next = rest[1..].chars().next()?;
                if raw {
                    out.push('\\');
                    out.push(next);
                    self.i += 1 + next.len_utf8();
                    continue;
                }
                self.i += 1;
                out.push_str(&self.escape()?);
                continue;
            }
            out.push(c);
            self.i += c.len_utf8();
        }
    }

    /// After a backslash: one escape sequence.
    fn escape(&mut self) -> Option<String> {
        let c = self.src[self.i..].chars().next()?;
        self.i += c.len_utf8();
        let simple = match c {
            '\n' => Some(""),
            '\\' => Some("\\"),
            '\'' => Some("'"),
            '"' => Some("\""),
            'a' => Some("\x07"),
            'b' => Some("\x08"),
            'f' => Some("\x0c"),
            'n' => Some("\n"),
            'r' => Some("\r"),
            't' => Some("\t"),
            'v' => Some("\x0b"),
            _ => None,
        };
        if let Some(s) = simple {
            return Some(s.to_string());
        }
        let hex = |p: &mut Self, n: usize| -> Option<String> {
            let digits = p.src.get(p.i..p.i + n)?;
            let code = u32::from_str_radix(digits, 16).ok()?;
            p.i += n;
            char::from_u32(code).map(String::from)
        };
        match c {
            'x' => hex(self, 2),
            'u' => hex(self, 4),
            'U' => hex(self, 8),
            '0'..='7' => {
                let start = self.i - 1;
                while self.i < start + 3 && matches!(self.peek(), Some(b'0'..=b'7')) {
                    self.i += 1;
                }
                let code = u32::from_str_radix(&self.src[start..self.i], 8).ok()?;
                char::from_u32(code).map(String::from)
            }
            // \N{NAME} needs the Unicode name table; treat it as not a literal.
            'N' => None,
            other => Some(format!("\\{other}")),
        }
    }
}

fn is_string_prefix(p: &str) -> bool {
    matches!(
        p.to_ascii_lowercase().as_str(),
        "" | "r" | "u" | "b" | "br" | "rb"
    )
}

/// JSON object keys from Python dict keys, spelled as `json.dumps` spells them.
fn key_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null => Some("null".to_string()),
        _ => None,
    }
}

fn parse_number(t: &str) -> Option<Value> {
    if t.is_empty() || t.ends_with(['j', 'J']) {
        return None;
    }
    // Underscores may only separate digits.
    if t.starts_with('_') || t.ends_with('_') || t.contains("__") {
        return None;
    }
    let lower = t.to_ascii_lowercase();
    for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] {
        if let Some(digits) = lower.strip_prefix(prefix) {
            let digits = digits.strip_prefix('_').unwrap_or(digits);
            if digits.is_empty() || digits.starts_with('_') {
                return None;
            }
            let d = digits.replace('_', "");
            return u64::from_str_radix(&d, radix).ok().map(Value::from);
        }
    }
    let plain = lower.replace('_', "");
    if plain.bytes().all(|b| b.is_ascii_digit()) {
        // Python 3 refuses leading zeros on non-zero decimals (`0644`).
        if plain.len() > 1 && plain.starts_with('0') && plain.bytes().any(|b| b != b'0') {
            return None;
        }
        return match plain.parse::<u64>() {
            Ok(u) => Some(Value::from(u)),
            Err(_) => None,
        };
    }
    let valid_float = {
        let (mant, exp) = match plain.split_once('e') {
            Some((m, e)) => (m, Some(e)),
            None => (plain.as_str(), None),
        };
        let mant_ok = !mant.is_empty()
            && mant != "."
            && mant.bytes().filter(|b| *b == b'.').count() <= 1
            && mant.bytes().all(|b| b.is_ascii_digit() || b == b'.');
        let exp_ok = exp.is_none_or(|e| {
            let e = e.strip_prefix(['+', '-']).unwrap_or(e);
            !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit())
        });
        mant_ok && exp_ok
    };
    if !valid_float {
        return None;
    }
    let f: f64 = plain.parse().ok()?;
    Number::from_f64(f).map(Value::Number)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn literals_evaluate_like_python() {
        assert_eq!(literal_eval("5"), Some(json!(5)));
        assert_eq!(literal_eval("-5"), Some(json!(-5)));
        assert_eq!(literal_eval("1.5"), Some(json!(1.5)));
        assert_eq!(literal_eval("1e3"), Some(json!(1000.0)));
        assert_eq!(literal_eval("0x1F"), Some(json!(31)));
        assert_eq!(literal_eval("0o17"), Some(json!(15)));
        assert_eq!(literal_eval("1_000"), Some(json!(1000)));
        assert_eq!(literal_eval("True"), Some(json!(true)));
        assert_eq!(literal_eval("None"), Some(json!(null)));
        assert_eq!(literal_eval("'quoted'"), Some(json!("quoted")));
        assert_eq!(literal_eval(r#""a\tb\u00e9""#), Some(json!("a\tbé")));
        assert_eq!(literal_eval(r"r'a\tb'"), Some(json!("a\\tb")));
        assert_eq!(literal_eval("'a' \"b\""), Some(json!("ab")));
        assert_eq!(literal_eval("[1, 'x',]"), Some(json!([1, "x"])));
        assert_eq!(literal_eval("(1, 2)"), Some(json!([1, 2])));
        assert_eq!(literal_eval("(1)"), Some(json!(1)));
        assert_eq!(
            literal_eval("{'a': 1, 2: [None]}"),
            Some(json!({"a": 1, "2": [null]}))
        );
        assert_eq!(literal_eval("1 # comment"), Some(json!(1)));
        assert_eq!(literal_eval(" 7"), Some(json!(7)));
    }

    #[test]
    fn non_literals_stay_strings() {
        for text in [
            "yes",
            "true",
            "0644",
            "a b",
            "yes # trailing",
            "1+2j",
            "3j",
            "f'x'",
            "[1, 2",
            "--5",
            "$(reboot)",
            "1.2.3",
            "",
            "'unterminated",
            "__import__('os')",
            &"[".repeat(100_000),
        ] {
            assert_eq!(literal_eval(text), None, "{text}");
        }
    }
}

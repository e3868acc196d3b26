//! `to_yaml` and `to_nice_yaml`: a YAML emitter that reproduces PyYAML's output as Ansible
//! configures it (sorted keys, `allow_unicode`, width 80, flow style for collections of plain
//! scalars in `to_yaml`, block style with indent 4 in `to_nice_yaml`), so that rendered files
//! are byte-identical to what Ansible writes.

use std::sync::OnceLock;

use minijinja::value::{Kwargs, Value, ValueKind};
use minijinja::{Environment, Error};
use serde_json::Value as Json;

use super::fail;
use crate::template::convert::{py_float, value_to_json};

pub(super) fn register(env: &mut Environment<'static>) {
    super::strict(env, "to_yaml", to_yaml);
    super::strict(env, "to_nice_yaml", to_nice_yaml);
}

fn opts(kw: &Kwargs, indent: usize, flow: Option<bool>) -> Result<Opts, Error> {
    let indent = kw.get::<Option<usize>>("indent")?.unwrap_or(indent);
    let flow = match kw.get::<Option<Value>>("default_flow_style")? {
        Some(v) if v.is_none() => None,
        Some(v) => Some(v.is_true()),
        None => flow,
    };
    let width = kw.get::<Option<usize>>("width")?.unwrap_or(80);
    let sort_keys = kw.get::<Option<bool>>("sort_keys")?.unwrap_or(true);
    let _ = kw.get::<Option<bool>>("allow_unicode")?;
    let explicit_start = kw.get::<Option<bool>>("explicit_start")?.unwrap_or(false);
    kw.assert_all_used()?;
    if !(2..=9).contains(&indent) {
        return Err(fail("to_yaml: indent must be between 2 and 9"));
    }
    Ok(Opts {
        indent,
        flow,
        width,
        sort_keys,
        explicit_start,
    })
}

/// Marks a mapping key that was not a string (`{1: 'a'}`): the rest is the key's JSON, so
/// that it is written as PyYAML writes an int, float, bool or null key.
const NON_STRING_KEY: char = '\u{0}';

/// `value_to_json`, except that mapping keys keep their kind (see `NON_STRING_KEY`).
fn yaml_json(v: &Value) -> Result<Json, Error> {
    match v.kind() {
        ValueKind::Map => {
            let mut out = serde_json::Map::new();
            for key in v.try_iter()? {
                let item = yaml_json(&v.get_item(&key)?)?;
                let k = match key.as_str() {
                    Some(s) => s.to_string(),
                    None => format!("{NON_STRING_KEY}{}", value_to_json(&key)?),
                };
                out.insert(k, item);
            }
            Ok(Json::Object(out))
        }
        ValueKind::Seq | ValueKind::Iterable => Ok(Json::Array(
            v.try_iter()?
                .map(|x| yaml_json(&x))
                .collect::<Result<_, _>>()?,
        )),
        _ => value_to_json(v),
    }
}

/// A mapping key as the scalar to write.
fn key_json(k: &str) -> Json {
    match k.strip_prefix(NON_STRING_KEY) {
        Some(raw) => serde_json::from_str(raw).unwrap_or_else(|_| Json::String(k.to_string())),
        None => Json::String(k.to_string()),
    }
}

/// Python's ordering of sorted keys: numbers (and bools) by value, strings by code point;
/// Python cannot order a number against a string, so numbers go first.
fn key_order(a: &str, b: &str) -> std::cmp::Ordering {
    let num = |j: &Json| match j {
        Json::Number(n) => n.as_f64(),
        Json::Bool(b) => Some(f64::from(u8::from(*b))),
        _ => None,
    };
    let (ja, jb) = (key_json(a), key_json(b));
    match (num(&ja), num(&jb)) {
        (Some(x), Some(y)) => x.total_cmp(&y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.cmp(b),
    }
}

fn to_yaml(v: Value, kw: Kwargs) -> Result<String, Error> {
    let o = opts(&kw, 2, None)?;
    let j = yaml_json(&v)?;
    Ok(document(&j, dump_yaml(&j, &o), &o))
}

fn to_nice_yaml(v: Value, indent: Option<usize>, kw: Kwargs) -> Result<String, Error> {
    let o = opts(&kw, indent.unwrap_or(4), Some(false))?;
    let j = yaml_json(&v)?;
    Ok(document(&j, dump_yaml(&j, &o), &o))
}

/// PyYAML's `explicit_start`: `---` on its own line before a block collection, followed by
/// a space before a scalar or flow collection.
fn document(v: &Json, body: String, o: &Opts) -> String {
    if !o.explicit_start {
        return body;
    }
    let collection = matches!(v, Json::Array(a) if !a.is_empty())
        || matches!(v, Json::Object(m) if !m.is_empty());
    let block = collection && !body.starts_with('[') && !body.starts_with('{');
    if block {
        format!("---\n{body}")
    } else {
        format!("--- {body}")
    }
}

/// Emitter options (PyYAML's `indent`, `default_flow_style`, `width`, `sort_keys`).
pub(crate) struct Opts {
    pub indent: usize,
    pub flow: Option<bool>,
    pub width: usize,
    pub sort_keys: bool,
    /// Start the document with `---`.
    pub explicit_start: bool,
}

/// PyYAML's `yaml.dump` of a JSON value.
pub(crate) fn dump_yaml(v: &Json, o: &Opts) -> String {
    let mut e = Emitter {
        out: String::new(),
        o,
    };
    match v {
        Json::Array(_) | Json::Object(_) if !v_is_empty(v) && !e.is_flow(v) => {
            e.block(v, 0, false);
        }
        _ => {
            let s = e.flow_or_scalar(v, None, 0);
            e.out.push_str(&s);
            e.out.push('\n');
        }
    }
    e.out
}

fn v_is_empty(v: &Json) -> bool {
    match v {
        Json::Array(a) => a.is_empty(),
        Json::Object(m) => m.is_empty(),
        _ => false,
    }
}

struct Emitter<'a> {
    out: String,
    o: &'a Opts,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Style {
    Plain,
    Single,
    Double,
}

fn is_collection(v: &Json) -> bool {
    matches!(v, Json::Array(_) | Json::Object(_))
}

impl Emitter<'_> {
    /// Whether PyYAML would emit this collection in flow style.
    fn is_flow(&self, v: &Json) -> bool {
        if v_is_empty(v) {
            return true;
        }
        match self.o.flow {
            Some(f) => f,
            // PyYAML's best_style: flow when no item is itself a collection.
            None => match v {
                Json::Array(a) => a.iter().all(|x| !is_collection(x)),
                Json::Object(m) => m.values().all(|x| !is_collection(x)),
                _ => false,
            },
        }
    }

    fn entries<'b>(&self, m: &'b serde_json::Map<String, Json>) -> Vec<(&'b String, &'b Json)> {
        let mut e: Vec<_> = m.iter().collect();
        if self.o.sort_keys {
            e.sort_by(|a, b| key_order(a.0, b.0));
        }
        e
    }

    /// A scalar or a flow collection as text starting at column `col`. `parent` is PyYAML's
    /// indent of the enclosing node (`None` at the document root): a flow collection indents
    /// one step more, its scalars one more again, and an item that would start beyond the
    /// width goes on a new line at the collection's indent, as PyYAML's emitter does.
    fn flow_or_scalar(&self, v: &Json, parent: Option<usize>, col: usize) -> String {
        let step = self.o.indent;
        let here = parent.map_or(step, |p| p + step);
        let column = |out: &str| match out.rfind('\n') {
            Some(i) => out[i + 1..].chars().count(),
            None => col + out.chars().count(),
        };
        let (open, close, items): (char, char, Vec<(Option<&String>, &Json)>) = match v {
            Json::Array(a) => ('[', ']', a.iter().map(|x| (None, x)).collect()),
            Json::Object(m) => (
                '{',
                '}',
                self.entries(m)
                    .into_iter()
                    .map(|(k, x)| (Some(k), x))
                    .collect(),
            ),
            _ => return scalar_text(v, false, here, self.o.width, col),
        };
        let mut out = String::new();
        out.push(open);
        for (i, (key, x)) in items.into_iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            if column(&out) > self.o.width {
                out.push('\n');
                out.push_str(&" ".repeat(here));
            } else if i > 0 {
                out.push(' ');
            }
            if let Some(k) = key {
                let c = column(&out);
                out.push_str(&scalar_text(
                    &key_json(k),
                    true,
                    here + step,
                    self.o.width,
                    c,
                ));
                out.push_str(": ");
            }
            let c = column(&out);
            if is_collection(x) {
                out.push_str(&self.flow_or_scalar(x, Some(here), c));
            } else {
                out.push_str(&scalar_text(x, true, here + step, self.o.width, c));
            }
        }
        out.push(close);
        out
    }

    fn column(&self) -> usize {
        match self.out.rfind('\n') {
            Some(i) => self.out[i + 1..].chars().count(),
            None => self.out.chars().count(),
        }
    }

    /// Writes a value that follows `key: ` or `- ` on the current line.
    fn inline_value(&mut self, v: &Json, indent: usize) {
        if is_collection(v) && self.is_flow(v) {
            let col = self.column();
            let s = self.flow_or_scalar(v, Some(indent), col);
            self.out.push_str(&s);
            self.out.push('\n');
        } else {
            let col = self.column();
            let s = scalar_text(v, false, indent + self.o.indent, self.o.width, col);
            self.out.push_str(&s);
            self.out.push('\n');
        }
    }

    /// Writes a block collection whose entries start at column `indent`. When `inline` is
    /// set, the first entry continues the current line (after `- `).
    fn block(&mut self, v: &Json, indent: usize, inline: bool) {
        let pad = " ".repeat(indent);
        match v {
            Json::Array(a) => {
                for (i, item) in a.iter().enumerate() {
                    if !(inline && i == 0) {
                        self.out.push_str(&pad);
                    }
                    self.out.push('-');
                    self.seq_item(item, indent);
                }
            }
            Json::Object(m) => {
                for (i, (k, item)) in self.entries(m).into_iter().enumerate() {
                    if !(inline && i == 0) {
                        self.out.push_str(&pad);
                    }
                    let col = self.column();
                    let key = scalar_text(
                        &key_json(k),
                        false,
                        indent + self.o.indent,
                        self.o.width,
                        col,
                    );
                    self.out.push_str(&key);
                    self.out.push(':');
                    if is_collection(item) && !self.is_flow(item) {
                        self.out.push('\n');
                        match item {
                            // PyYAML writes sequences inside mappings without extra indent.
                            Json::Array(_) => self.block(item, indent, false),
                            _ => self.block(item, indent + self.o.indent, false),
                        }
                    } else {
                        self.out.push(' ');
                        self.inline_value(item, indent);
                    }
                }
            }
            _ => self.inline_value(v, indent),
        }
    }

    /// Writes what follows a `-` of a block sequence at column `indent`.
    fn seq_item(&mut self, item: &Json, indent: usize) {
        if is_collection(item) && !self.is_flow(item) {
            // The nested collection starts on the dash's line, padded to the indent width.
            self.out.push_str(&" ".repeat(self.o.indent - 1));
            self.block(item, indent + self.o.indent, true);
        } else {
            self.out.push(' ');
            self.inline_value(item, indent);
        }
    }
}

fn resolver_regexes() -> &'static [regex::Regex] {
    static RES: OnceLock<Vec<regex::Regex>> = OnceLock::new();
    RES.get_or_init(|| {
        [
            r"^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$",
            r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
            r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$",
            r"^(?:<<)$",
            r"^(?:~|null|Null|NULL)$",
            r"^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$",
            r"^(?:=)$",
        ]
        .iter()
        .filter_map(|r| regex::Regex::new(r).ok())
        .collect()
    })
}

fn is_printable(c: char) -> bool {
    c == '\n'
        || c == '\t'
        || (' '..='~').contains(&c)
        || c == '\u{85}'
        || (('\u{a0}'..='\u{d7ff}').contains(&c))
        || (('\u{e000}'..='\u{fffd}').contains(&c) && c != '\u{feff}')
        || ('\u{10000}'..='\u{10ffff}').contains(&c)
}

/// The style PyYAML picks for a scalar; `None` for collections.
fn scalar_style(v: &Json, flow: bool) -> Option<Style> {
    let s = match v {
        Json::String(s) => s,
        Json::Array(_) | Json::Object(_) => return None,
        _ => return Some(Style::Plain),
    };
    if s.is_empty() {
        return Some(Style::Single);
    }
    if resolver_regexes().iter().any(|r| r.is_match(s)) {
        return Some(Style::Single);
    }
    if s.chars().any(|c| !is_printable(c)) {
        return Some(Style::Double);
    }
    let chars: Vec<char> = s.chars().collect();
    let multiline = s.contains('\n');
    let mut flow_ind = false;
    let mut block_ind = false;
    if s.starts_with("---") || s.starts_with("...") {
        flow_ind = true;
        block_ind = true;
    }
    let mut preceded_by_ws = true;
    for (i, &c) in chars.iter().enumerate() {
        let followed_by_ws = chars
            .get(i + 1)
            .is_none_or(|n| *n == ' ' || *n == '\n' || *n == '\t');
        if i == 0 {
            if "#,[]{}&*!|>'\"%@`".contains(c) {
                flow_ind = true;
                block_ind = true;
            }
            if c == '?' || c == ':' {
                flow_ind = true;
                if followed_by_ws {
                    block_ind = true;
                }
            }
            if c == '-' && followed_by_ws {
                flow_ind = true;
                block_ind = true;
            }
        } else {
            if ",?[]{}".contains(c) {
                flow_ind = true;
            }
            if c == ':' {
                flow_ind = true;
                if followed_by_ws {
                    block_ind = true;
                }
            }
            if c == '#' && preceded_by_ws {
                flow_ind = true;
                block_ind = true;
            }
        }
        preceded_by_ws = c == ' ' || c == '\n' || c == '\t';
    }
    let leading_space = chars[0] == ' ' || chars[0] == '\n';
    let trailing_space = matches!(chars[chars.len() - 1], ' ' | '\n');
    if leading_space || trailing_space || multiline {
        return Some(Style::Single);
    }
    if (flow && flow_ind) || (!flow && block_ind) {
        return Some(Style::Single);
    }
    Some(Style::Plain)
}

/// The text of a scalar; long plain and single-quoted text folds at spaces past `width`,
/// continuing at column `indent`. `column` is where the scalar starts.
fn scalar_text(v: &Json, flow: bool, indent: usize, width: usize, column: usize) -> String {
    match v {
        Json::Null => "null".into(),
        Json::Bool(b) => if *b { "true" } else { "false" }.into(),
        Json::Number(n) if n.is_f64() => {
            let f = n.as_f64().unwrap_or(0.0);
            if f.is_nan() {
                ".nan".into()
            } else if f.is_infinite() {
                if f > 0.0 {
                    ".inf".into()
                } else {
                    "-.inf".into()
                }
            } else {
                let r = py_float(f);
                if !r.contains('.') && r.contains('e') {
                    r.replacen('e', ".0e", 1)
                } else {
                    r
                }
            }
        }
        Json::Number(n) => n.to_string(),
        Json::String(s) => match scalar_style(v, flow).unwrap_or(Style::Single) {
            Style::Plain => fold(s, indent, width, column, false),
            Style::Single => fold(s, indent, width, column, true),
            Style::Double => double_quoted(s),
        },
        Json::Array(_) | Json::Object(_) => String::new(),
    }
}

/// PyYAML's `write_plain` / `write_single_quoted`: single spaces past the width become line
/// breaks; in quoted text a line break is written twice.
fn fold(s: &str, indent: usize, width: usize, start_col: usize, quoted: bool) -> String {
    let mut out = String::new();
    let mut col = start_col;
    if quoted {
        out.push('\'');
        col += 1;
    }
    let chars: Vec<char> = s.chars().collect();
    let n = chars.len();
    let mut i = 0;
    let newline_indent = |out: &mut String, col: &mut usize| {
        out.push('\n');
        out.push_str(&" ".repeat(indent));
        *col = indent;
    };
    while i < n {
        let c = chars[i];
        if c == ' ' {
            let mut j = i;
            while j < n && chars[j] == ' ' {
                j += 1;
            }
            if j == i + 1 && col > width && i != 0 && j != n {
                newline_indent(&mut out, &mut col);
            } else {
                for _ in i..j {
                    out.push(' ');
                }
                col += j - i;
            }
            i = j;
        } else if c == '\n' && quoted {
            let mut j = i;
            while j < n && chars[j] == '\n' {
                j += 1;
            }
            out.push('\n');
            for _ in i..j {
                out.push('\n');
            }
            out.push_str(&" ".repeat(indent));
            col = indent;
            i = j;
        } else {
            if c == '\'' && quoted {
                out.push('\'');
                col += 1;
            }
            out.push(c);
            col += 1;
            i += 1;
        }
    }
    if quoted {
        out.push('\'');
    }
    out
}

fn double_quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\0' => out.push_str("\\0"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{b}' => out.push_str("\\v"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            '\u{1b}' => out.push_str("\\e"),
            '\u{85}' => out.push_str("\\N"),
            '\u{a0}' => out.push_str("\\_"),
            '\u{2028}' => out.push_str("\\L"),
            '\u{2029}' => out.push_str("\\P"),
            c if !is_printable(c) => {
                let n = c as u32;
                if n <= 0xff {
                    out.push_str(&format!("\\x{n:02X}"));
                } else if n <= 0xffff {
                    out.push_str(&format!("\\u{n:04X}"));
                } else {
                    out.push_str(&format!("\\U{n:08X}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

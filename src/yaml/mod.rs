//! YAML loading with the YAML 1.1 semantics Ansible content relies on, and source positions.
//!
//! This module owns turning YAML text into a [`Node`] tree: every node knows the file, line and
//! column it came from, so errors further down (playbook parsing, templating, module arguments)
//! can point at the exact place in the user's file. Scalars follow YAML 1.1 as Ansible (PyYAML)
//! reads them: unquoted `0644` is octal 420, `yes`/`no`/`on`/`off` are booleans, and `<<` merge
//! keys are expanded. Parsing is done by `serde-saphyr`; this module only chooses its options and
//! builds the tree.
//!
//! Ansible Vault is opened here, because every loader reads YAML through this module: a file
//! that is a vault envelope is decrypted before it is parsed ([`load_file`]), and an inline
//! `!vault |` scalar becomes its plaintext, with the keyring [`crate::vault::install`]ed for the
//! run; each plaintext is added to the run's secrets so no output shows it. An inline value no
//! password opens becomes a template that fails when (and only if) it is used, naming where the
//! value is written: Ansible too fails only on use.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

/// Where a node starts in its source file. Lines and columns are 1-based.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Pos {
    /// The file the node was read from; `None` for text that came from no file (e.g. `-e`).
    pub file: Option<Arc<PathBuf>>,
    /// 1-based line; 0 when unknown.
    pub line: u32,
    /// 1-based column; 0 when unknown.
    pub column: u32,
}

impl Pos {
    /// A position in no file, for values made up by jig itself.
    pub fn unknown() -> Self {
        Pos::default()
    }
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.file {
            Some(file) if self.line > 0 => {
                write!(f, "{}:{}:{}", file.display(), self.line, self.column)
            }
            Some(file) => write!(f, "{}", file.display()),
            None if self.line > 0 => write!(f, "<input>:{}:{}", self.line, self.column),
            None => write!(f, "<input>"),
        }
    }
}

/// One YAML value with its position.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// The value.
    pub value: NodeValue,
    /// Where it starts.
    pub pos: Pos,
}

/// The value of a [`Node`]. Mapping keys are kept as strings (Ansible content uses string keys;
/// integer or boolean keys are converted with their YAML spelling resolved, e.g. `1` -> `"1"`).
#[derive(Clone, Debug, PartialEq)]
pub enum NodeValue {
    /// `~`, `null` or an empty value.
    Null,
    /// A boolean, including YAML 1.1 `yes`/`no`/`on`/`off`.
    Bool(bool),
    /// An integer, including YAML 1.1 octal (`0644`).
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// A string.
    Str(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in source order.
    Map(Vec<(Key, Node)>),
}

/// A mapping key with its position.
#[derive(Clone, Debug, PartialEq)]
pub struct Key {
    /// The key as a string.
    pub name: String,
    /// Where the key is written.
    pub pos: Pos,
}

impl Node {
    /// Looks a key up in a mapping node; `None` if this is not a mapping or the key is absent.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            NodeValue::Map(entries) => entries.iter().find(|(k, _)| k.name == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The string value, if this node is a string.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            NodeValue::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The entries, if this node is a mapping.
    pub fn as_map(&self) -> Option<&[(Key, Node)]> {
        match &self.value {
            NodeValue::Map(entries) => Some(entries),
            _ => None,
        }
    }

    /// The items, if this node is a sequence.
    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            NodeValue::Seq(items) => Some(items),
            _ => None,
        }
    }

    /// A short name for the node's kind, for error messages ("a mapping", "a string").
    pub fn kind(&self) -> &'static str {
        match &self.value {
            NodeValue::Null => "null",
            NodeValue::Bool(_) => "a boolean",
            NodeValue::Int(_) => "an integer",
            NodeValue::Float(_) => "a number",
            NodeValue::Str(_) => "a string",
            NodeValue::Seq(_) => "a list",
            NodeValue::Map(_) => "a mapping",
        }
    }

    /// Converts to a plain JSON value, dropping positions. Order of mapping keys is kept.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match &self.value {
            NodeValue::Null => Value::Null,
            NodeValue::Bool(b) => Value::Bool(*b),
            NodeValue::Int(i) => Value::from(*i),
            NodeValue::Float(f) => serde_json::Number::from_f64(*f)
                .map(Value::Number)
                .unwrap_or_else(|| Value::String(f.to_string())),
            NodeValue::Str(s) => Value::String(s.clone()),
            NodeValue::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            NodeValue::Map(entries) => {
                let mut map = serde_json::Map::new();
                for (k, v) in entries {
                    map.insert(k.name.clone(), v.to_json());
                }
                Value::Object(map)
            }
        }
    }

    /// Builds a node from a JSON value, every node at `pos`.
    pub fn from_json(value: &serde_json::Value, pos: &Pos) -> Node {
        use serde_json::Value;
        let value = match value {
            Value::Null => NodeValue::Null,
            Value::Bool(b) => NodeValue::Bool(*b),
            Value::Number(n) => match n.as_i64() {
                Some(i) => NodeValue::Int(i),
                None => NodeValue::Float(n.as_f64().unwrap_or(0.0)),
            },
            Value::String(s) => NodeValue::Str(s.clone()),
            Value::Array(items) => {
                NodeValue::Seq(items.iter().map(|v| Node::from_json(v, pos)).collect())
            }
            Value::Object(map) => NodeValue::Map(
                map.iter()
                    .map(|(k, v)| {
                        (
                            Key {
                                name: k.clone(),
                                pos: pos.clone(),
                            },
                            Node::from_json(v, pos),
                        )
                    })
                    .collect(),
            ),
        };
        Node {
            value,
            pos: pos.clone(),
        }
    }
}

/// A YAML document that could not be read or parsed.
#[derive(Debug, thiserror::Error)]
pub enum YamlError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is vault-encrypted and could not be decrypted.
    #[error("{location}: cannot decrypt this file: {message}")]
    Vault {
        /// `file:1:1`.
        location: String,
        /// Why, and which flag gives the password.
        message: String,
    },
    /// The text is not valid YAML.
    #[error("{location}: invalid YAML: {message}\n{snippet}")]
    Syntax {
        /// `file:line:column`.
        location: String,
        /// What the parser said.
        message: String,
        /// The offending line with a caret under the column.
        snippet: String,
    },
}

/// Reads and parses one YAML file. An empty file gives a `Null` node. A vault-encrypted file is
/// decrypted first; one that cannot be is an error naming the file.
pub fn load_file(path: &Path) -> Result<Node, YamlError> {
    load_file_with(path, &crate::vault::current())
}

fn load_file_with(path: &Path, vault: &crate::vault::Context) -> Result<Node, YamlError> {
    let bytes = std::fs::read(path).map_err(|source| YamlError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    if !crate::vault::is_vaulted(&bytes) {
        let text = String::from_utf8(bytes).map_err(|e| YamlError::Io {
            path: path.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
        })?;
        return parse_str_with(&text, Some(path), vault);
    }
    let text = vault
        .decrypt_text(&String::from_utf8_lossy(&bytes))
        .map_err(|e| YamlError::Vault {
            location: format!("{}:1:1", path.display()),
            message: e.to_string(),
        })?;
    let node = parse_str_with(&text, Some(path), vault)?;
    // Every value of a vaulted file is secret; its YAML spelling (keys, punctuation) is not.
    vault.secrets.add_value(&node.to_json());
    Ok(node)
}

/// Parses YAML text; `file` is used for positions and messages.
pub fn parse_str(text: &str, file: Option<&Path>) -> Result<Node, YamlError> {
    parse_str_with(text, file, &crate::vault::current())
}

/// [`parse_str`] with an explicit vault context instead of the run's.
pub(crate) fn parse_str_with(
    text: &str,
    file: Option<&Path>,
    vault: &crate::vault::Context,
) -> Result<Node, YamlError> {
    let file_arc = file.map(|p| Arc::new(p.to_path_buf()));
    if text.trim().is_empty()
        || text.lines().all(|l| {
            let t = l.trim();
            t.is_empty() || t.starts_with('#') || t == "---" || t == "..."
        })
    {
        return Ok(Node {
            value: NodeValue::Null,
            pos: Pos {
                file: file_arc,
                line: 1,
                column: 1,
            },
        });
    }
    let options = serde_saphyr::options! {
        legacy_octal_numbers: true,
        // serde-saphyr's YAML 1.1 booleans also take `y`/`n` and any case; PyYAML (and so
        // Ansible) takes only yes/Yes/YES, no, on, off in three spellings. Booleans beyond
        // true/false are resolved in `convert`, where the source text shows whether the
        // scalar was quoted.
        strict_booleans: true,
        merge_keys: serde_saphyr::MergeKeyPolicy::Merge,
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::LastWins,
        with_snippet: false,
        non_finite_float_policy: serde_saphyr::options::NonFiniteFloatPolicy::PassThrough,
    };
    let raw: Spanned<RawValue> = serde_saphyr::from_str_with_options(text, options)
        .map_err(|e| syntax_error(&e, text, file))?;
    let cx = Convert {
        file: &file_arc,
        text,
        vault,
    };
    Ok(cx.convert(raw))
}

/// PyYAML's YAML 1.1 booleans beyond `true`/`false`.
fn yaml11_bool(s: &str) -> Option<bool> {
    match s {
        "yes" | "Yes" | "YES" | "on" | "On" | "ON" => Some(true),
        "no" | "No" | "NO" | "off" | "Off" | "OFF" => Some(false),
        _ => None,
    }
}

/// The source text of a plain (unquoted, untagged, single-line) scalar at `loc`, after any
/// anchor; `None` for quoted, block, tagged or multi-line scalars, whose type is not resolved
/// from their spelling.
fn plain_source<'t>(loc: &serde_saphyr::Location, text: &'t str) -> Option<&'t str> {
    let span = loc.span();
    let start = usize::try_from(span.byte_offset()?).ok()?;
    let len = usize::try_from(span.byte_len()?).ok()?;
    let mut src = text.get(start..start.checked_add(len)?)?;
    if let Some(rest) = src.strip_prefix('&') {
        // `&anchor value`: the value follows the anchor name and a space.
        src = rest.split_once([' ', '\t'])?.1.trim_start();
    }
    let first = src.chars().next()?;
    if matches!(first, '\'' | '"' | '|' | '>' | '!' | '*' | '[' | '{') || src.contains('\n') {
        return None;
    }
    Some(src.trim_end())
}

/// Resolves a plain scalar as PyYAML's YAML 1.1 resolver does (the rules Ansible content is
/// written against): null, booleans, ints (binary, legacy octal, hex, base 60), floats (with a
/// dot, base 60, .inf, .nan), and everything else a string. `08`, `1e3` and `0o10` are strings.
fn resolve_plain(src: &str) -> NodeValue {
    use std::sync::OnceLock;
    static INT: OnceLock<regex::Regex> = OnceLock::new();
    static FLOAT: OnceLock<regex::Regex> = OnceLock::new();
    match src {
        "" | "~" | "null" | "Null" | "NULL" => return NodeValue::Null,
        "true" | "True" | "TRUE" => return NodeValue::Bool(true),
        "false" | "False" | "FALSE" => return NodeValue::Bool(false),
        _ => {}
    }
    if let Some(b) = yaml11_bool(src) {
        return NodeValue::Bool(b);
    }
    let int = INT.get_or_init(|| {
        regex::Regex::new(
            r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$",
        )
        .expect("static regex")
    });
    let float = FLOAT.get_or_init(|| {
        regex::Regex::new(
            r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        )
        .expect("static regex")
    });
    if int.is_match(src) {
        if let Some(i) = parse_yaml11_int(src) {
            return NodeValue::Int(i);
        }
    } else if let Some(f) = float
        .is_match(src)
        .then(|| parse_yaml11_float(src))
        .flatten()
    {
        return NodeValue::Float(f);
    }
    NodeValue::Str(src.to_string())
}

fn parse_yaml11_int(src: &str) -> Option<i64> {
    let cleaned: String = src.chars().filter(|c| *c != '_').collect();
    let (neg, digits) = match cleaned.as_bytes().first() {
        Some(b'-') => (true, &cleaned[1..]),
        Some(b'+') => (false, &cleaned[1..]),
        _ => (false, cleaned.as_str()),
    };
    let magnitude: i64 = if let Some(b) = digits.strip_prefix("0b") {
        i64::from_str_radix(b, 2).ok()?
    } else if let Some(h) = digits.strip_prefix("0x") {
        i64::from_str_radix(h, 16).ok()?
    } else if digits.contains(':') {
        digits.split(':').try_fold(0i64, |acc, part| {
            acc.checked_mul(60)?.checked_add(part.parse::<i64>().ok()?)
        })?
    } else if digits.len() > 1 && digits.starts_with('0') {
        i64::from_str_radix(&digits[1..], 8).ok()?
    } else {
        digits.parse().ok()?
    };
    Some(if neg { -magnitude } else { magnitude })
}

fn parse_yaml11_float(src: &str) -> Option<f64> {
    let cleaned: String = src.chars().filter(|c| *c != '_').collect();
    let lower = cleaned.to_ascii_lowercase();
    let (neg, body) = match lower.as_bytes().first() {
        Some(b'-') => (true, &lower[1..]),
        Some(b'+') => (false, &lower[1..]),
        _ => (false, lower.as_str()),
    };
    let value = if body == ".inf" {
        f64::INFINITY
    } else if body == ".nan" {
        f64::NAN
    } else if body.contains(':') {
        let mut parts = body.rsplitn(2, ':');
        let last: f64 = parts.next()?.parse().ok()?;
        let head = parts.next()?;
        let whole = head
            .split(':')
            .try_fold(0f64, |acc, p| Some(acc * 60.0 + p.parse::<f64>().ok()?))?;
        whole * 60.0 + last
    } else {
        body.parse().ok()?
    };
    Some(if neg { -value } else { value })
}

fn syntax_error(err: &serde_saphyr::Error, text: &str, file: Option<&Path>) -> YamlError {
    let (line, column) = err
        .location()
        .map(|l| (l.line() as usize, l.column() as usize))
        .unwrap_or((0, 0));
    let name = file
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "<input>".to_string());
    let mut message = err.to_string();
    // serde-saphyr may prefix its own location; keep the message readable on one line.
    if let Some(first) = message.lines().next() {
        message = first.to_string();
    }
    let snippet = if line > 0 {
        let src = text.lines().nth(line - 1).unwrap_or("");
        format!(
            "{:>5} | {}\n      | {}^",
            line,
            src,
            " ".repeat(column.saturating_sub(1))
        )
    } else {
        String::new()
    };
    YamlError::Syntax {
        location: format!("{name}:{line}:{column}"),
        message,
        snippet,
    }
}

fn pos_of(loc: &serde_saphyr::Location, file: &Option<Arc<PathBuf>>) -> Pos {
    Pos {
        file: file.clone(),
        line: u32::try_from(loc.line()).unwrap_or(u32::MAX),
        column: u32::try_from(loc.column()).unwrap_or(u32::MAX),
    }
}

/// True if the scalar at `loc` is tagged `!vault`. serde-saphyr's span may start at the tag, at
/// the block indicator (`|`) or at the content, so both sides of its start are read.
fn is_vault_tagged(loc: &serde_saphyr::Location, text: &str) -> bool {
    let Some(start) = loc
        .span()
        .byte_offset()
        .and_then(|o| usize::try_from(o).ok())
    else {
        return false;
    };
    let (Some(before), Some(after)) = (text.get(..start), text.get(start..)) else {
        return false;
    };
    let tag_word = |s: &str| {
        s.strip_prefix("!vault")
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(char::is_whitespace))
    };
    if tag_word(after) {
        return true;
    }
    let mut head = before.trim_end();
    // A block scalar's indicator with its chomping/indentation marks: `|`, `|-`, `>+2`...
    if let Some(i) = head.rfind(['|', '>'])
        && head[i + 1..]
            .chars()
            .all(|c| matches!(c, '-' | '+' | '1'..='9'))
    {
        head = head[..i].trim_end();
    }
    head.strip_suffix("!vault").is_some_and(|rest| {
        rest.is_empty() || rest.ends_with(|c: char| c.is_whitespace() || c == ':' || c == '-')
    })
}

/// The name no variable has, behind the template an undecryptable `!vault` value becomes.
const UNDECRYPTABLE: &str = "__jig_vault_value_not_decrypted__";

/// The state of one conversion: the file, its text (to read spellings and tags) and the vault.
struct Convert<'a> {
    file: &'a Option<Arc<PathBuf>>,
    text: &'a str,
    vault: &'a crate::vault::Context,
}

impl Convert<'_> {
    fn convert(&self, raw: Spanned<RawValue>) -> Node {
        let (file, text) = (self.file, self.text);
        let pos = pos_of(&raw.referenced, file);
        if let RawValue::Str(s) = &raw.value
            && is_vault_tagged(&raw.defined, text)
        {
            let value = self.open_inline(s, &pos);
            return Node {
                value: NodeValue::Str(value),
                pos,
            };
        }
        let value = match raw.value {
            // Plain scalars are typed from their spelling by PyYAML's rules; quoted, block and
            // tagged ones keep what the parser made of them.
            RawValue::Null
            | RawValue::Bool(_)
            | RawValue::Int(_)
            | RawValue::Float(_)
            | RawValue::Str(_)
                if plain_source(&raw.defined, text).is_some() =>
            {
                resolve_plain(plain_source(&raw.defined, text).unwrap_or_default())
            }
            RawValue::Null => NodeValue::Null,
            RawValue::Bool(b) => NodeValue::Bool(b),
            RawValue::Int(i) => NodeValue::Int(i),
            RawValue::Float(f) => NodeValue::Float(f),
            RawValue::Str(s) => NodeValue::Str(s),
            RawValue::Seq(items) => {
                NodeValue::Seq(items.into_iter().map(|i| self.convert(i)).collect())
            }
            RawValue::Map(entries) => {
                let mut out: Vec<(Key, Node)> = Vec::with_capacity(entries.len());
                for (k, v) in entries {
                    let key = Key {
                        name: k.value.into_key_string(),
                        pos: pos_of(&k.referenced, file),
                    };
                    let node = self.convert(v);
                    // Later keys win, as in PyYAML.
                    if let Some(slot) = out
                        .iter_mut()
                        .find(|(existing, _)| existing.name == key.name)
                    {
                        *slot = (key, node);
                    } else {
                        out.push((key, node));
                    }
                }
                NodeValue::Map(out)
            }
        };
        Node { value, pos }
    }

    /// The plaintext of an inline `!vault` value, or a template that fails with the reason
    /// when the value is used (values are templated when read, so an unused one never fails).
    fn open_inline(&self, ciphertext: &str, pos: &Pos) -> String {
        match self.vault.open_text(ciphertext) {
            Ok(plain) => plain,
            Err(e) => {
                let why = format!("{pos}: cannot decrypt this !vault value: {e}");
                let literal = serde_json::to_string(&why).unwrap_or_else(|_| "\"\"".into());
                format!("{{{{ {UNDECRYPTABLE} | mandatory({literal}) }}}}")
            }
        }
    }
}

/// The tree as serde-saphyr hands it over, before positions are converted.
enum RawValue {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Spanned<RawValue>>),
    Map(Vec<(Spanned<RawValue>, Spanned<RawValue>)>),
}

impl RawValue {
    fn into_key_string(self) -> String {
        match self {
            RawValue::Null => String::new(),
            RawValue::Bool(b) => if b { "True" } else { "False" }.to_string(),
            RawValue::Int(i) => i.to_string(),
            RawValue::Float(f) => f.to_string(),
            RawValue::Str(s) => s,
            // Complex keys do not occur in Ansible content; keep something readable.
            RawValue::Seq(_) => "[...]".to_string(),
            RawValue::Map(_) => "{...}".to_string(),
        }
    }
}

impl<'de> Deserialize<'de> for RawValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(RawVisitor)
    }
}

struct RawVisitor;

impl<'de> Visitor<'de> for RawVisitor {
    type Value = RawValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<RawValue, E> {
        Ok(RawValue::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<RawValue, E> {
        Ok(RawValue::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<RawValue, D::Error> {
        RawValue::deserialize(d)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<RawValue, E> {
        Ok(RawValue::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawValue, E> {
        Ok(RawValue::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawValue, E> {
        Ok(match i64::try_from(v) {
            Ok(i) => RawValue::Int(i),
            Err(_) => RawValue::Float(v as f64),
        })
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<RawValue, E> {
        Ok(match i64::try_from(v) {
            Ok(i) => RawValue::Int(i),
            Err(_) => RawValue::Str(v.to_string()),
        })
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<RawValue, E> {
        Ok(match i64::try_from(v) {
            Ok(i) => RawValue::Int(i),
            Err(_) => RawValue::Str(v.to_string()),
        })
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<RawValue, E> {
        Ok(RawValue::Float(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<RawValue, E> {
        Ok(RawValue::Str(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<RawValue, E> {
        Ok(RawValue::Str(v))
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<RawValue, E> {
        Ok(RawValue::Str(String::from_utf8_lossy(v).into_owned()))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawValue, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Spanned<RawValue>>()? {
            items.push(item);
        }
        Ok(RawValue::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawValue, A::Error> {
        let mut entries = Vec::new();
        while let Some((k, v)) = map.next_entry::<Spanned<RawValue>, Spanned<RawValue>>()? {
            entries.push((k, v));
        }
        Ok(RawValue::Map(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Node {
        parse_str(text, Some(Path::new("t.yml"))).expect("valid yaml")
    }

    #[test]
    fn yaml11_scalars_follow_ansible() {
        let n = parse(
            "a: 0644\nb: '0644'\nc: yes\nd: off\ne: 'yes'\nf: 1.5\ng: ~\nh: 0o17\ni: 010\nj: On\n",
        );
        let j = n.to_json();
        assert_eq!(j["a"], 420);
        assert_eq!(j["b"], "0644");
        assert_eq!(j["c"], true);
        assert_eq!(j["d"], false);
        assert_eq!(j["e"], "yes");
        assert_eq!(j["f"], 1.5);
        assert!(j["g"].is_null());
        assert_eq!(j["i"], 8);
        assert_eq!(j["j"], true);
        assert_eq!(j["h"], "0o17");
    }

    #[test]
    fn plain_scalars_resolve_like_pyyaml() {
        let j = parse(
            "a: 08\nb: 1e3\nc: 1.0e+3\nd: 1:20\ne: 12:30:00\nf: 0x1F\ng: 0b101\nh: 1_000\n\
             i: .inf\nj: -.5\nk: 'o8'\nl: &x 0755\nm: *x\nn: 3.\no: y\np: NULL\nq: '12'\n",
        )
        .to_json();
        assert_eq!(j["a"], "08");
        assert_eq!(j["b"], "1e3");
        assert_eq!(j["c"], 1000.0);
        assert_eq!(j["d"], 80);
        assert_eq!(j["e"], 45000);
        assert_eq!(j["f"], 31);
        assert_eq!(j["g"], 5);
        assert_eq!(j["h"], 1000);
        assert_eq!(j["i"], "inf");
        assert_eq!(j["j"], "-.5");
        assert_eq!(j["k"], "o8");
        assert_eq!(j["l"], 493);
        assert_eq!(j["m"], 493);
        assert_eq!(j["n"], 3.0);
        assert_eq!(j["o"], "y");
        assert!(j["p"].is_null());
        assert_eq!(j["q"], "12");
    }

    #[test]
    fn merge_keys_and_anchors_expand() {
        let n = parse("k:\n  y: 1\n  n: 'no'\n  m: \"on\"\n  o: YeS\n");
        let j = n.to_json();
        assert_eq!(j["k"]["y"], 1);
        assert_eq!(j["k"]["n"], "no");
        assert_eq!(j["k"]["m"], "on");
        assert_eq!(j["k"]["o"], "YeS");
        let n = parse("base: &b\n  x: 1\n  y: 2\nchild:\n  <<: *b\n  y: 3\nlist: [*b]\n");
        let j = n.to_json();
        assert_eq!(j["child"]["x"], 1);
        assert_eq!(j["child"]["y"], 3);
        assert_eq!(j["list"][0]["y"], 2);
    }

    #[test]
    fn positions_are_one_based_lines_and_columns() {
        let n = parse("- name: first\n  debug: msg=hi\n- name: second\n  command: echo\n");
        let items = n.as_seq().expect("seq");
        assert_eq!(items[1].pos.line, 3);
        let (k, v) = &items[1].as_map().expect("map")[1];
        assert_eq!(k.name, "command");
        assert_eq!(k.pos.line, 4);
        assert_eq!(k.pos.column, 3);
        assert_eq!(v.pos.line, 4);
    }

    #[test]
    fn syntax_errors_name_file_line_and_column() {
        let err = parse_str("a: 1\nb: [1, 2\nc: 3\n", Some(Path::new("bad.yml"))).unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("bad.yml:"), "{msg}");
    }

    fn vault_context(password: &str) -> crate::vault::Context {
        let mut keyring = crate::vault::Keyring::new();
        keyring.add("default", crate::vault::Password::new(password.as_bytes()));
        crate::vault::Context {
            keyring,
            secrets: crate::report::redact::Secrets::new(),
        }
    }

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/vault")
            .join(name)
    }

    #[test]
    fn inline_vault_values_are_decrypted_and_become_secrets() {
        let text = std::fs::read_to_string(fixture("inline.yml")).unwrap();
        let text = format!("before: 1\n{text}after: &a !vault x\nlist:\n  - {}\n", "ok");
        let ctx = vault_context("correct horse é");
        let n = parse_str_with(&text, Some(Path::new("v.yml")), &ctx).unwrap();
        let j = n.to_json();
        assert_eq!(j["api_key"], "s3cr3t 'quoted' $(x) é");
        // A block scalar's position is its content's, the line after `!vault |`.
        assert_eq!(n.get("api_key").unwrap().pos.line, 3);
        assert!(ctx.secrets.contains_secret("s3cr3t 'quoted' $(x) é"));
        assert_eq!(j["before"], 1);
        // A damaged or unopenable value fails on use only, naming where it is written.
        assert!(j["after"].as_str().unwrap().contains("v.yml:9:"), "{j}");
        let wrong =
            parse_str_with(&text, Some(Path::new("v.yml")), &vault_context("nope")).unwrap();
        let lazy = wrong.to_json()["api_key"].as_str().unwrap().to_string();
        let err = crate::template::Templar::new()
            .render_str(&lazy, &crate::vars::VarScope::new())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("v.yml:3:11: cannot decrypt this !vault value"),
            "{err}"
        );
        assert!(!err.contains("s3cr3t"), "{err}");
    }

    #[test]
    fn vaulted_files_are_decrypted_before_parsing() {
        let ctx = vault_context("correct horse é");
        let n = load_file_with(&fixture("v11.yml"), &ctx).unwrap();
        assert_eq!(n.to_json()["port"], 5432);
        assert_eq!(n.get("port").unwrap().pos.line, 2);
        assert!(ctx.secrets.contains_secret("port 5432"));
        assert!(!ctx.secrets.contains_secret("db_password"));
        let err = load_file_with(&fixture("v11.yml"), &vault_context("nope"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("v11.yml:1:1: cannot decrypt this file: decryption failed"),
            "{err}"
        );
        let err = load_file_with(&fixture("v11.yml"), &crate::vault::Context::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("--vault-password-file"), "{err}");
    }

    #[test]
    fn empty_documents_are_null() {
        assert_eq!(parse("---\n# nothing\n").value, NodeValue::Null);
    }
}

//! File modes as Ansible accepts them, resolved on the controller.
//!
//! This module owns the `mode:` argument of every file-touching module: parsing (YAML integers,
//! octal strings, symbolic `u=rw,g=r`, `preserve`), applying a symbolic mode to a current mode
//! exactly as Ansible's `AnsibleModule._symbolic_mode_to_octal` does, and rendering modes the
//! way Ansible reports them (`"0644"`).
//!
//! An integer is used as it is: YAML 1.1 reads an unquoted `0644` as octal (420), and a plain
//! `644` stays decimal 644 (= `0o1204`), which is what Ansible does too, surprising as it is.

use serde_json::Value as Json;

/// Every permission bit a mode may carry (rwx for u/g/o plus setuid, setgid, sticky).
pub const PERM_BITS: u32 = 0o7777;

const S_ISUID: u32 = 0o4000;
const S_ISGID: u32 = 0o2000;
const S_ISVTX: u32 = 0o1000;
const EXEC_BITS: u32 = 0o111;

/// The umask assumed for symbolic modes without a `who` part (`+x`) when the host's is unknown.
pub const DEFAULT_UMASK: u32 = 0o022;

/// A `mode:` argument.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Absolute permission bits (`0644`, `"0755"`, `420`).
    Octal(u32),
    /// A symbolic mode, applied relative to the file's current mode.
    Symbolic(Symbolic),
    /// `preserve` (copy/template): keep the source file's mode.
    Preserve,
}

/// A parsed symbolic mode such as `u=rw,g=r,o=r` or `u+x,g-w`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Symbolic {
    text: String,
    clauses: Vec<Clause>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Clause {
    /// Which of `u`, `g`, `o` the clause changes, in order.
    who: Vec<Class>,
    /// No `who` was written: the umask limits r/w/x, as chmod does.
    use_umask: bool,
    /// Each operator with the permission letters that follow it (`u=rw-x+X`).
    ops: Vec<(Op, String)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Class {
    User,
    Group,
    Other,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Add,
    Remove,
    Set,
}

/// A mode that cannot be used; the message says what Ansible expects.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ModeError(String);

impl Mode {
    /// Parses a `mode:` value as it comes out of YAML and templating.
    pub fn from_json(v: &Json) -> Result<Mode, ModeError> {
        match v {
            Json::Number(n) => match n.as_u64() {
                Some(bits) if bits <= u64::from(PERM_BITS) => Ok(Mode::Octal(bits as u32)),
                _ => Err(ModeError(format!(
                    "invalid mode {n}: only permission bits (at most 0o7777 = 4095) are allowed"
                ))),
            },
            Json::String(s) => Mode::parse(s),
            other => Err(ModeError(format!(
                "mode must be in octal or symbolic form, got {other}"
            ))),
        }
    }

    /// Parses a mode written as text: `"0644"`, `"644"`, `"0o644"`, `"u=rw,g=r"`, `"preserve"`.
    pub fn parse(s: &str) -> Result<Mode, ModeError> {
        let t = s.trim();
        if t == "preserve" {
            return Ok(Mode::Preserve);
        }
        // Python's int(s, 8): an optional 0o prefix, then octal digits.
        let digits = t
            .strip_prefix("0o")
            .or_else(|| t.strip_prefix("0O"))
            .unwrap_or(t);
        if !digits.is_empty() && digits.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
            return match u32::from_str_radix(digits, 8) {
                Ok(bits) if bits <= PERM_BITS => Ok(Mode::Octal(bits)),
                _ => Err(ModeError(format!(
                    "invalid mode '{s}': only permission bits (at most 07777) are allowed"
                ))),
            };
        }
        Symbolic::parse(t).map(Mode::Symbolic)
    }

    /// The resulting permission bits for a file whose current bits are `current`.
    ///
    /// `is_dir` matters for `X`; `umask` for symbolic clauses without a `who` part. Returns
    /// `None` for [`Mode::Preserve`], which the caller resolves from the source file.
    pub fn resolve(&self, current: u32, is_dir: bool, umask: u32) -> Option<u32> {
        match self {
            Mode::Octal(bits) => Some(*bits),
            Mode::Symbolic(sym) => Some(sym.apply(current & PERM_BITS, is_dir, umask)),
            Mode::Preserve => None,
        }
    }

    /// The mode as a `chmod` argument that sets exactly these bits (also clearing setgid on
    /// directories, which a 4-digit octal `chmod` would keep), or the symbolic text. `None` for
    /// [`Mode::Preserve`].
    pub fn chmod_arg(&self) -> Option<String> {
        match self {
            Mode::Octal(bits) => Some(format!("{bits:05o}")),
            Mode::Symbolic(sym) => Some(sym.text.clone()),
            Mode::Preserve => None,
        }
    }
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Mode::Octal(bits) => f.write_str(&render(*bits)),
            Mode::Symbolic(sym) => f.write_str(&sym.text),
            Mode::Preserve => f.write_str("preserve"),
        }
    }
}

/// Renders permission bits as Ansible reports them: `"0644"`, `"0755"`, `"04755"`, `"01777"`.
pub fn render(bits: u32) -> String {
    format!("0{:03o}", bits & PERM_BITS)
}

impl Symbolic {
    /// Parses comma-separated clauses `[ugoa]*([-+=][rwxXstugo]*)+`.
    pub fn parse(text: &str) -> Result<Symbolic, ModeError> {
        let bad = |why: &str| {
            ModeError(format!(
                "mode must be in octal or symbolic form: '{text}' ({why}); \
                 use e.g. '0644' or 'u=rw,g=r,o=r'"
            ))
        };
        let mut clauses = Vec::new();
        for part in text.split(',') {
            let op_at = part
                .find(['+', '-', '='])
                .ok_or_else(|| bad(&format!("'{part}' has no operator +, - or =")))?;
            let (who_text, rest) = part.split_at(op_at);
            let use_umask = who_text.is_empty();
            let who: Vec<Class> = if who_text.is_empty() || who_text == "a" {
                vec![Class::User, Class::Group, Class::Other]
            } else {
                who_text
                    .chars()
                    .map(|c| match c {
                        'u' => Ok(Class::User),
                        'g' => Ok(Class::Group),
                        'o' => Ok(Class::Other),
                        _ => Err(bad(&format!("'{c}' is not one of u, g, o, a"))),
                    })
                    .collect::<Result<_, _>>()?
            };
            let mut ops = Vec::new();
            let mut chars = rest.chars().peekable();
            while let Some(c) = chars.next() {
                let op = match c {
                    '+' => Op::Add,
                    '-' => Op::Remove,
                    '=' => Op::Set,
                    _ => return Err(bad(&format!("unexpected '{c}'"))),
                };
                let mut perms = String::new();
                while let Some(&p) = chars.peek() {
                    if matches!(p, '+' | '-' | '=') {
                        break;
                    }
                    if !"rwxXstugo".contains(p) {
                        return Err(bad(&format!("'{p}' is not a permission letter")));
                    }
                    perms.push(p);
                    chars.next();
                }
                ops.push((op, perms));
            }
            clauses.push(Clause {
                who,
                use_umask,
                ops,
            });
        }
        Ok(Symbolic {
            text: text.to_string(),
            clauses,
        })
    }

    /// Applies the clauses to `current`. As in Ansible, `X`, and the copy letters `u`/`g`/`o`,
    /// look at the mode the file had before the whole symbolic mode, not the running result.
    fn apply(&self, current: u32, is_dir: bool, umask: u32) -> u32 {
        let original = current;
        let mut mode = current;
        for clause in &self.clauses {
            for (op, perms) in &clause.ops {
                for &class in &clause.who {
                    let bits = perm_bits(original, is_dir, class, perms, clause.use_umask, umask);
                    mode = match op {
                        Op::Add => mode | bits,
                        Op::Remove => mode & !bits,
                        Op::Set => (mode & !class_mask(class)) | bits,
                    };
                }
            }
        }
        mode & PERM_BITS
    }
}

/// The bits of `class` (including its special bit) that `=` replaces.
fn class_mask(class: Class) -> u32 {
    match class {
        Class::User => 0o700 | S_ISUID,
        Class::Group => 0o070 | S_ISGID,
        Class::Other => 0o007 | S_ISVTX,
    }
}

/// The bits that the permission letters `perms` mean for `class`.
fn perm_bits(
    original: u32,
    is_dir: bool,
    class: Class,
    perms: &str,
    use_umask: bool,
    umask: u32,
) -> u32 {
    let shift = match class {
        Class::User => 6,
        Class::Group => 3,
        Class::Other => 0,
    };
    let allowed = if use_umask { !umask & 0o777 } else { 0o777 };
    let apply_x = is_dir || original & EXEC_BITS != 0;
    let mut bits = 0;
    for p in perms.chars() {
        bits |= match p {
            'r' => (0o4 << shift) & allowed,
            'w' => (0o2 << shift) & allowed,
            'x' => (0o1 << shift) & allowed,
            'X' if apply_x => 0o1 << shift,
            'X' => 0,
            's' => match class {
                Class::User => S_ISUID,
                Class::Group => S_ISGID,
                Class::Other => 0,
            },
            't' => match class {
                Class::Other => S_ISVTX,
                _ => 0,
            },
            // Copy another class's rwx bits into this class's position.
            'u' => ((original >> 6) & 0o7) << shift,
            'g' => ((original >> 3) & 0o7) << shift,
            'o' => (original & 0o7) << shift,
            _ => 0,
        };
    }
    bits
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sym(s: &str, current: u32, is_dir: bool) -> u32 {
        Mode::parse(s)
            .unwrap()
            .resolve(current, is_dir, DEFAULT_UMASK)
            .unwrap()
    }

    #[test]
    fn integers_are_used_as_they_are() {
        // YAML 1.1 `mode: 0644` arrives as 420.
        assert_eq!(Mode::from_json(&json!(420)), Ok(Mode::Octal(0o644)));
        // An unquoted decimal 644 is 0o1204, as in Ansible.
        assert_eq!(Mode::from_json(&json!(644)), Ok(Mode::Octal(0o1204)));
        assert!(Mode::from_json(&json!(99999)).is_err());
        assert!(Mode::from_json(&json!(-1)).is_err());
        assert!(Mode::from_json(&json!(true)).is_err());
    }

    #[test]
    fn strings_are_octal_or_symbolic() {
        assert_eq!(Mode::parse("0644"), Ok(Mode::Octal(0o644)));
        assert_eq!(Mode::parse("644"), Ok(Mode::Octal(0o644)));
        assert_eq!(Mode::parse("0o750"), Ok(Mode::Octal(0o750)));
        assert_eq!(Mode::parse("02775"), Ok(Mode::Octal(0o2775)));
        assert_eq!(Mode::parse("preserve"), Ok(Mode::Preserve));
        assert!(Mode::parse("0888").is_err());
        assert!(Mode::parse("77777").is_err());
        assert!(Mode::parse("").is_err());
        assert!(Mode::parse("u=rwz").is_err());
        assert!(Mode::parse("q+x").is_err());
        assert!(Mode::parse("rw").is_err());
    }

    #[test]
    fn symbolic_modes_follow_ansible() {
        assert_eq!(sym("u=rw,g=r,o=r", 0o777, false), 0o644);
        assert_eq!(sym("u+x,g-w", 0o664, false), 0o744);
        assert_eq!(sym("a+x", 0o644, false), 0o755);
        assert_eq!(sym("go-rwx", 0o755, false), 0o700);
        assert_eq!(sym("u=rw-x+X", 0o644, false), 0o644);
        assert_eq!(sym("a+X", 0o644, false), 0o644);
        assert_eq!(sym("a+X", 0o744, false), 0o755);
        assert_eq!(sym("a+X", 0o644, true), 0o755);
        assert_eq!(sym("g=u", 0o640, false), 0o660);
        assert_eq!(sym("u+s,g+s,o+t", 0o755, true), 0o7755);
        assert_eq!(sym("u=rwx", 0o4755, false), 0o755);
        assert_eq!(sym("u+t", 0o755, false), 0o755);
        assert_eq!(sym("o=", 0o1777, true), 0o770);
        // Without a `who`, the umask limits r/w/x as chmod does.
        assert_eq!(sym("+w", 0o444, false), 0o644);
        assert_eq!(sym("=rw", 0o777, false), 0o644);
    }

    #[test]
    fn rendering_matches_ansible() {
        assert_eq!(render(0o644), "0644");
        assert_eq!(render(0o4755), "04755");
        assert_eq!(render(0o1777), "01777");
        assert_eq!(render(0), "0000");
        assert_eq!(Mode::Octal(0o755).chmod_arg().as_deref(), Some("00755"));
        assert_eq!(Mode::Octal(0o644).to_string(), "0644");
    }
}

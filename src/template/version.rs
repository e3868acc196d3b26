//! Version comparison for the `version`/`version_compare` test: the four schemes Ansible
//! offers (`loose` — Python's LooseVersion, `strict` — StrictVersion, `semver`/`semantic`,
//! `pep440`), each parsed and ordered as the Python class does, with the same failures
//! (LooseVersion cannot order a number against a word; the others reject what they cannot
//! parse).

use std::cmp::Ordering;
use std::sync::LazyLock;

use regex::Regex;

/// A comparison operator of the `version` test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

impl Op {
    /// The operator for one of Ansible's spellings (`<`, `lt`, `==`, `=`, `eq`, `<>`...).
    pub(crate) fn parse(s: &str) -> Result<Op, String> {
        Ok(match s {
            "==" | "=" | "eq" => Op::Eq,
            "<" | "lt" => Op::Lt,
            "<=" | "le" => Op::Le,
            ">" | "gt" => Op::Gt,
            ">=" | "ge" => Op::Ge,
            "!=" | "<>" | "ne" => Op::Ne,
            other => {
                return Err(format!(
                    "Invalid operator type ({other}). Must be one of '==', '=', 'eq', '<', \
                     'lt', '<=', 'le', '>', 'gt', '>=', 'ge', '!=', '<>', 'ne'"
                ));
            }
        })
    }

    fn holds(self, o: Ordering) -> bool {
        match self {
            Op::Lt => o == Ordering::Less,
            Op::Le => o != Ordering::Greater,
            Op::Gt => o == Ordering::Greater,
            Op::Ge => o != Ordering::Less,
            Op::Eq => o == Ordering::Equal,
            Op::Ne => o != Ordering::Equal,
        }
    }
}

/// The version scheme a comparison uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scheme {
    Loose,
    Strict,
    Semver,
    Pep440,
}

impl Scheme {
    /// The scheme for a `version_type=` name.
    pub(crate) fn parse(s: &str) -> Result<Scheme, String> {
        Ok(match s {
            "loose" => Scheme::Loose,
            "strict" => Scheme::Strict,
            "semver" | "semantic" => Scheme::Semver,
            "pep440" => Scheme::Pep440,
            other => {
                return Err(format!(
                    "Invalid version type ({other}). Must be one of 'loose', 'strict', \
                     'semver', 'semantic', 'pep440'"
                ));
            }
        })
    }
}

/// Whether `a op b` holds under `scheme`; `Err` carries Python's reason (without Ansible's
/// "Version comparison failed: " prefix).
pub(crate) fn compare(scheme: Scheme, a: &str, b: &str, op: Op) -> Result<bool, String> {
    let ord = match scheme {
        Scheme::Loose => return loose_compare(a, b, op),
        Scheme::Strict => strict(a)?.cmp(&strict(b)?),
        Scheme::Semver => semver(a)?.cmp(&semver(b)?),
        Scheme::Pep440 => pep440(a)?.cmp(&pep440(b)?),
    };
    Ok(op.holds(ord))
}

/// A LooseVersion component.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Part {
    /// Digits, without leading zeros, so that length then text orders them as numbers.
    Num(String),
    Word(String),
}

impl Part {
    fn type_name(&self) -> &'static str {
        match self {
            Part::Num(_) => "int",
            Part::Word(_) => "str",
        }
    }
}

/// LooseVersion's components: runs of digits, runs of lowercase letters, and whatever lies
/// between them; dots separate and vanish.
pub(crate) fn loose_parts(v: &str) -> Vec<Part> {
    #[derive(PartialEq, Clone, Copy)]
    enum Class {
        Digit,
        Lower,
        Other,
    }
    let class = |c: char| {
        if c.is_ascii_digit() {
            Class::Digit
        } else if c.is_ascii_lowercase() {
            Class::Lower
        } else {
            Class::Other
        }
    };
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut cur_class = Class::Other;
    let flush = |cur: &mut String, cls: Class, out: &mut Vec<Part>| {
        if cur.is_empty() {
            return;
        }
        if cls == Class::Digit {
            let t = cur.trim_start_matches('0');
            out.push(Part::Num(if t.is_empty() { "0".into() } else { t.into() }));
        } else {
            out.push(Part::Word(cur.clone()));
        }
        cur.clear();
    };
    for c in v.chars() {
        if c == '.' {
            flush(&mut cur, cur_class, &mut out);
            continue;
        }
        let cls = class(c);
        // Digits and lowercase runs are matches of their own; other text runs between them.
        if cls != cur_class {
            flush(&mut cur, cur_class, &mut out);
        }
        cur_class = cls;
        cur.push(c);
    }
    flush(&mut cur, cur_class, &mut out);
    out
}

fn num_cmp(a: &str, b: &str) -> Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// LooseVersion's `_cmp`: equal component lists are equal; otherwise Python's list `<`
/// decides, which cannot order an int against a str (whatever the operator asked).
fn loose_compare(a: &str, b: &str, op: Op) -> Result<bool, String> {
    let (pa, pb) = (loose_parts(a), loose_parts(b));
    let ord = match pa.iter().zip(&pb).find(|(x, y)| x != y) {
        None => pa.len().cmp(&pb.len()),
        Some((Part::Num(x), Part::Num(y))) => num_cmp(x, y),
        Some((Part::Word(x), Part::Word(y))) => x.cmp(y),
        Some((x, y)) => {
            return Err(format!(
                "'<' not supported between instances of '{}' and '{}'",
                x.type_name(),
                y.type_name()
            ));
        }
    };
    Ok(op.holds(ord))
}

/// A total LooseVersion order for sorting (numbers before words where Python would fail).
pub(crate) fn loose_cmp(a: &str, b: &str) -> Ordering {
    let (pa, pb) = (loose_parts(a), loose_parts(b));
    for (x, y) in pa.iter().zip(&pb) {
        let o = match (x, y) {
            (Part::Num(m), Part::Num(n)) => num_cmp(m, n),
            (Part::Word(m), Part::Word(n)) => m.cmp(n),
            (Part::Num(_), Part::Word(_)) => Ordering::Less,
            (Part::Word(_), Part::Num(_)) => Ordering::Greater,
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    pa.len().cmp(&pb.len())
}

fn big(s: &str) -> u128 {
    s.parse().unwrap_or(u128::MAX)
}

/// StrictVersion: `N.N[.N][{a|b}N]`, as an ordering key: the release numbers, then
/// whether it is final (a release sorts after its pre-releases), then the pre-release.
type StrictKey = ((u128, u128, u128), bool, Option<(char, u128)>);

fn strict(v: &str) -> Result<StrictKey, String> {
    static RE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^([0-9]+)\.([0-9]+)(\.([0-9]+))?(([ab])([0-9]+))?$").expect("static regex")
    });
    let c = RE
        .captures(v)
        .ok_or_else(|| format!("invalid version number '{v}'"))?;
    let n = |i: usize| c.get(i).map(|m| big(m.as_str())).unwrap_or(0);
    let pre = c
        .get(6)
        .map(|l| (l.as_str().chars().next().unwrap_or('a'), n(7)));
    Ok(((n(1), n(2), n(4)), pre.is_none(), pre))
}

/// A semver pre-release identifier: numeric ones sort before alphanumeric ones.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Ident {
    Num(u128),
    Alpha(String),
}

/// SemanticVersion's key: major, minor, patch, whether it is a release (no pre-release),
/// and the pre-release identifiers; build metadata does not take part.
type SemverKey = ((u128, u128, u128), bool, Vec<Ident>);

fn semver(v: &str) -> Result<SemverKey, String> {
    static RE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(concat!(
            r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)",
            r"(?:-((?:0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*)",
            r"(?:\.(?:0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*))*))?",
            r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
        ))
        .expect("static regex")
    });
    let c = RE
        .captures(v)
        .ok_or_else(|| format!("invalid semantic version '{v}'"))?;
    let n = |i: usize| c.get(i).map(|m| big(m.as_str())).unwrap_or(0);
    let pre: Vec<Ident> = c
        .get(4)
        .map(|p| {
            p.as_str()
                .split('.')
                .map(|id| {
                    if id.bytes().all(|b| b.is_ascii_digit()) {
                        Ident::Num(big(id))
                    } else {
                        Ident::Alpha(id.to_string())
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(((n(1), n(2), n(3)), pre.is_empty(), pre))
}

/// A value with the infinities `packaging` pads its version keys with.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Inf<T> {
    Neg,
    Val(T),
    Pos,
}

/// `packaging.version.Version`'s key: epoch, release without trailing zeros, pre, post,
/// dev, local.
type Pep440Key = (
    u128,
    Vec<u128>,
    Inf<(u8, u128)>,
    Inf<u128>,
    Inf<u128>,
    Inf<Vec<(Inf<u128>, String)>>,
);

fn pep440(v: &str) -> Result<Pep440Key, String> {
    static RE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(concat!(
            r"(?i)^v?(?:([0-9]+)!)?([0-9]+(?:\.[0-9]+)*)",
            r"([-_.]?(a|b|c|rc|alpha|beta|pre|preview)[-_.]?([0-9]+)?)?",
            r"((?:-([0-9]+))|(?:[-_.]?(post|rev|r)[-_.]?([0-9]+)?))?",
            r"([-_.]?(dev)[-_.]?([0-9]+)?)?",
            r"(?:\+([a-z0-9]+(?:[-_.][a-z0-9]+)*))?$"
        ))
        .expect("static regex")
    });
    let c = RE
        .captures(v.trim())
        .ok_or_else(|| format!("Invalid version: '{v}'"))?;
    let n = |i: usize| c.get(i).map(|m| big(m.as_str()));
    let mut release: Vec<u128> = c
        .get(2)
        .map(|m| m.as_str().split('.').map(big).collect())
        .unwrap_or_default();
    while release.len() > 1 && release.last() == Some(&0) {
        release.pop();
    }
    if release == [0] {
        release.clear();
    }
    let pre = c.get(4).map(|l| {
        let rank = match l.as_str().to_lowercase().as_str() {
            "a" | "alpha" => 0,
            "b" | "beta" => 1,
            _ => 2,
        };
        (rank, n(5).unwrap_or(0))
    });
    let post = if c.get(6).is_some() {
        Some(n(7).or(n(9)).unwrap_or(0))
    } else {
        None
    };
    let dev = c.get(11).map(|_| n(12).unwrap_or(0));
    let pre_key = match (pre, post, dev) {
        (None, None, Some(_)) => Inf::Neg,
        (None, _, _) => Inf::Pos,
        (Some(p), _, _) => Inf::Val(p),
    };
    let local = match c.get(13) {
        None => Inf::Neg,
        Some(l) => Inf::Val(
            l.as_str()
                .split(['-', '_', '.'])
                .map(|part| {
                    if part.bytes().all(|b| b.is_ascii_digit()) {
                        (Inf::Val(big(part)), String::new())
                    } else {
                        (Inf::Neg, part.to_lowercase())
                    }
                })
                .collect(),
        ),
    };
    Ok((
        n(1).unwrap_or(0),
        release,
        pre_key,
        post.map_or(Inf::Neg, Inf::Val),
        dev.map_or(Inf::Pos, Inf::Val),
        local,
    ))
}

//! Shared Debian package knowledge for the apt family of modules: version ordering, package
//! specs (`name=1.2*`, `name>=1.0`), `fnmatch` patterns, and parsers for what `dpkg-query` and
//! `apt-cache policy` print.
//!
//! Everything here is pure: the modules run the host's own tools in their probe scripts and
//! hand the text to these parsers, so the controller decides without Python on the host.

use std::cmp::Ordering;

/// Environment every apt/dpkg command runs in: no prompts, and the C locale so the output the
/// controller parses (and Ansible's markers such as `0 upgraded, 0 newly installed`) is stable.
pub const APT_ENV: &str = "DEBIAN_FRONTEND=noninteractive DEBIAN_PRIORITY=critical \
LC_ALL=C LANG=C LANGUAGE=C LC_MESSAGES=C LC_CTYPE=C; export DEBIAN_FRONTEND DEBIAN_PRIORITY \
LC_ALL LANG LANGUAGE LC_MESSAGES LC_CTYPE";

/// Compares two Debian versions as `dpkg --compare-versions` does (epoch, upstream, revision;
/// `~` sorts before everything, letters before other characters).
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    let (ea, ua, ra) = split_version(a);
    let (eb, ub, rb) = split_version(b);
    ea.cmp(&eb)
        .then_with(|| compare_part(ua, ub))
        .then_with(|| compare_part(ra, rb))
}

fn split_version(v: &str) -> (u64, &str, &str) {
    let (epoch, rest) = match v.split_once(':') {
        Some((e, r)) if e.bytes().all(|b| b.is_ascii_digit()) && !e.is_empty() => {
            (e.parse().unwrap_or(0), r)
        }
        _ => (0, v),
    };
    match rest.rfind('-') {
        Some(i) => (epoch, &rest[..i], &rest[i + 1..]),
        None => (epoch, rest, ""),
    }
}

/// dpkg's character order in the non-digit parts: `~` first, then the end of the string, then
/// letters, then everything else.
fn order(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(b'~') => -1,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => c as i32,
        Some(c) => c as i32 + 256,
    }
}

fn compare_part(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        // The non-digit prefix, character by character.
        while (i < a.len() && !a[i].is_ascii_digit()) || (j < b.len() && !b[j].is_ascii_digit()) {
            let ca = a.get(i).copied().filter(|c| !c.is_ascii_digit());
            let cb = b.get(j).copied().filter(|c| !c.is_ascii_digit());
            let (oa, ob) = (order(ca), order(cb));
            if oa != ob {
                return oa.cmp(&ob);
            }
            if ca.is_some() {
                i += 1;
            }
            if cb.is_some() {
                j += 1;
            }
        }
        // Then the numeric part, compared as a number (leading zeros do not count).
        while i < a.len() && a[i] == b'0' {
            i += 1;
        }
        while j < b.len() && b[j] == b'0' {
            j += 1;
        }
        let si = i;
        while i < a.len() && a[i].is_ascii_digit() {
            i += 1;
        }
        let sj = j;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        let (da, db) = (&a[si..i], &b[sj..j]);
        let ord = da.len().cmp(&db.len()).then_with(|| da.cmp(db));
        if ord != Ordering::Equal {
            return ord;
        }
    }
    Ordering::Equal
}

/// Python's `fnmatch.fnmatch` on POSIX (case-sensitive): `*`, `?`, `[seq]`, `[!seq]`.
pub fn fnmatch(name: &str, pattern: &str) -> bool {
    let n: Vec<char> = name.chars().collect();
    let p: Vec<char> = pattern.chars().collect();
    fn go(n: &[char], p: &[char]) -> bool {
        match p.first() {
            None => n.is_empty(),
            Some('*') => (0..=n.len()).any(|k| go(&n[k..], &p[1..])),
            Some('?') => !n.is_empty() && go(&n[1..], &p[1..]),
            Some('[') => match class(p) {
                Some((matches, used)) => !n.is_empty() && matches(n[0]) && go(&n[1..], &p[used..]),
                None => n.first() == Some(&'[') && go(&n[1..], &p[1..]),
            },
            Some(c) => n.first() == Some(c) && go(&n[1..], &p[1..]),
        }
    }
    type Matcher = Box<dyn Fn(char) -> bool>;
    fn class(p: &[char]) -> Option<(Matcher, usize)> {
        let mut i = 1;
        let negate = matches!(p.get(i), Some('!'));
        if negate {
            i += 1;
        }
        let start = i;
        // A `]` right after the opening bracket is literal.
        if p.get(i) == Some(&']') {
            i += 1;
        }
        while i < p.len() && p[i] != ']' {
            i += 1;
        }
        if i >= p.len() {
            return None;
        }
        let body: Vec<char> = p[start..i].to_vec();
        let m = move |c: char| {
            let mut k = 0;
            let mut hit = false;
            while k < body.len() {
                if k + 2 < body.len() && body[k + 1] == '-' {
                    hit |= body[k] <= c && c <= body[k + 2];
                    k += 3;
                } else {
                    hit |= body[k] == c;
                    k += 1;
                }
            }
            hit != negate
        };
        Some((Box::new(m), i + 1))
    }
    go(&n, &p)
}

/// Whether a package name is a pattern (`apt*`): none of these characters may appear in a
/// Debian package name.
pub fn is_pattern(name: &str) -> bool {
    name.contains(['*', '?', '[', ']', '!'])
}

/// How a package spec constrains the version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VersionReq {
    /// Any version.
    Any,
    /// `name=1.2*`: an `fnmatch` pattern on the version.
    Matches(String),
    /// `name>=1.2`: at least this version.
    AtLeast(String),
}

/// A package spec split as Ansible's `package_split` does: on the first `=` or `>=`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackageSpec {
    /// The package name (may be a pattern, may carry `:arch`).
    pub name: String,
    /// The version constraint.
    pub req: VersionReq,
}

impl PackageSpec {
    /// Splits `spec`.
    pub fn parse(spec: &str) -> PackageSpec {
        let spec = spec.trim();
        if let Some(i) = spec.find('=') {
            let (name, ver) = (&spec[..i], &spec[i + 1..]);
            if let Some(n) = name.strip_suffix('>') {
                return PackageSpec {
                    name: n.to_string(),
                    req: VersionReq::AtLeast(ver.to_string()),
                };
            }
            return PackageSpec {
                name: name.to_string(),
                req: VersionReq::Matches(ver.to_string()),
            };
        }
        PackageSpec {
            name: spec.to_string(),
            req: VersionReq::Any,
        }
    }

    /// The version text after `=` or `>=`, if any.
    pub fn version(&self) -> Option<&str> {
        match &self.req {
            VersionReq::Any => None,
            VersionReq::Matches(v) | VersionReq::AtLeast(v) => Some(v),
        }
    }
}

/// What `dpkg-query -W -f '${db:Status-Abbrev}...'` says about a package.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DpkgStatus {
    /// The desired action letter (`i` install, `h` hold, `r` remove, `p` purge, `u` unknown).
    pub want: char,
    /// The current state letter (`n` not installed, `i` installed, `c` config files only,
    /// `u` unpacked, `f` half-configured, `h` half-installed, `W`/`t` trigger states).
    pub state: char,
    /// The version dpkg records (empty when none).
    pub version: String,
}

impl DpkgStatus {
    /// Fully installed.
    pub fn installed(&self) -> bool {
        self.state == 'i'
    }

    /// Something of the package is on disk (installed, or config files left after removal).
    pub fn has_files(&self) -> bool {
        !matches!(self.state, 'n' | '\0')
    }
}

/// Parses one line `<Status-Abbrev> <Version>` (e.g. `ii  2.10-3`, `rc  1.0-1`, `un  `).
pub fn parse_status(text: &str) -> Option<DpkgStatus> {
    let line = text.lines().find(|l| !l.trim().is_empty())?;
    let mut chars = line.chars();
    let want = chars.next()?;
    let state = chars.next()?;
    let version = line.get(3..).unwrap_or("").trim().to_string();
    Some(DpkgStatus {
        want,
        state,
        version,
    })
}

/// One version of a package that apt knows, from `apt-cache policy`'s version table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AptVersion {
    /// The version string.
    pub version: String,
    /// Whether some source other than `/var/lib/dpkg/status` offers it (so apt can fetch it).
    pub downloadable: bool,
}

/// What `apt-cache policy NAME` says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Policy {
    /// `Installed:` (None for `(none)`).
    pub installed: Option<String>,
    /// `Candidate:` (None for `(none)`).
    pub candidate: Option<String>,
    /// The version table, highest version first as apt prints it.
    pub versions: Vec<AptVersion>,
}

/// Parses `apt-cache policy` output for one package; None when apt does not know the name
/// (the output is empty).
pub fn parse_policy(text: &str) -> Option<Policy> {
    let mut p = Policy::default();
    let mut seen = false;
    let none = |v: &str| (v != "(none)").then(|| v.to_string());
    for line in text.lines() {
        let t = line.trim();
        if let Some(v) = t.strip_prefix("Installed:") {
            p.installed = none(v.trim());
            seen = true;
        } else if let Some(v) = t.strip_prefix("Candidate:") {
            p.candidate = none(v.trim());
        } else if line.starts_with(" *** ") || (line.starts_with("     ") && line.len() > 5) {
            let rest = line.trim_start().trim_start_matches("*** ");
            let indent = line.len() - line.trim_start().len();
            // Version rows are indented 5 (or ` *** `); their source rows 8.
            if indent <= 5 {
                if let Some(v) = rest.split_whitespace().next() {
                    p.versions.push(AptVersion {
                        version: v.to_string(),
                        downloadable: false,
                    });
                }
            } else if let Some(last) = p.versions.last_mut()
                && !t.ends_with("/var/lib/dpkg/status")
            {
                last.downloadable = true;
            }
        }
    }
    seen.then_some(p)
}

/// Splits `apt-cache policy A B ...` output into each package's block (header `name:`).
pub fn split_policies(text: &str) -> indexmap::IndexMap<String, String> {
    let mut out: indexmap::IndexMap<String, String> = indexmap::IndexMap::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        if !line.starts_with(' ') && line.ends_with(':') {
            let name = line.trim_end_matches(':').to_string();
            out.insert(name.clone(), format!("{line}\n"));
            current = Some(name);
        } else if let Some(c) = &current
            && let Some(block) = out.get_mut(c)
        {
            block.push_str(line);
            block.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_order_like_dpkg() {
        use Ordering::*;
        for (a, b, o) in [
            ("1.0", "1.0", Equal),
            ("1.0-1", "1.0-2", Less),
            ("1.0~rc1", "1.0", Less),
            ("1:0.1", "2.0", Greater),
            ("2.10-3", "2.9-1", Greater),
            ("1.0a", "1.0", Greater),
            ("1.0a", "1.0+", Less),
            ("5.2.15-2+b8", "5.2.15-2+b13", Less),
            ("1.01", "1.1", Equal),
            ("0:1.0", "1.0", Equal),
            ("1.0-1~bpo1", "1.0-1", Less),
        ] {
            assert_eq!(compare_versions(a, b), o, "{a} vs {b}");
        }
    }

    #[test]
    fn fnmatch_like_python() {
        assert!(fnmatch("1.2-3", "1.2*"));
        assert!(!fnmatch("1.3-1", "1.2*"));
        assert!(fnmatch("hello", "h?llo"));
        assert!(fnmatch("apt-utils", "apt[-_]*"));
        assert!(!fnmatch("aptx", "apt[!x]"));
        assert!(fnmatch("a[", "a["));
        assert!(fnmatch("", "*"));
    }

    #[test]
    fn specs_split_like_ansible() {
        assert_eq!(
            PackageSpec::parse("hello=2.10*"),
            PackageSpec {
                name: "hello".into(),
                req: VersionReq::Matches("2.10*".into())
            }
        );
        assert_eq!(
            PackageSpec::parse(" jq>=1.6 "),
            PackageSpec {
                name: "jq".into(),
                req: VersionReq::AtLeast("1.6".into())
            }
        );
        assert_eq!(PackageSpec::parse("tree").req, VersionReq::Any);
    }

    #[test]
    fn policies_split_per_package() {
        let text = "hello:\n  Installed: (none)\n  Candidate: 2.10-3\n  Version table:\n     2.10-3 500\n        500 file:/srv/jig-apt ./ Packages\nlibfoo:i386:\n  Installed: 1.0\n  Candidate: 1.0\n  Version table:\n *** 1.0 100\n        100 /var/lib/dpkg/status\n";
        let blocks = split_policies(text);
        assert_eq!(blocks.len(), 2);
        assert_eq!(
            parse_policy(&blocks["hello"]).unwrap().candidate.as_deref(),
            Some("2.10-3")
        );
        assert_eq!(
            parse_policy(&blocks["libfoo:i386"])
                .unwrap()
                .installed
                .as_deref(),
            Some("1.0")
        );
    }

    #[test]
    fn policy_and_status_parse() {
        let text = "bash:\n  Installed: 5.2.15-2+b8\n  Candidate: 5.2.15-2+b13\n  Version table:\n     5.2.15-2+b13 500\n        500 http://deb.debian.org/debian bookworm/main amd64 Packages\n *** 5.2.15-2+b8 100\n        100 /var/lib/dpkg/status\n";
        let p = parse_policy(text).unwrap();
        assert_eq!(p.installed.as_deref(), Some("5.2.15-2+b8"));
        assert_eq!(p.candidate.as_deref(), Some("5.2.15-2+b13"));
        assert_eq!(
            p.versions,
            vec![
                AptVersion {
                    version: "5.2.15-2+b13".into(),
                    downloadable: true
                },
                AptVersion {
                    version: "5.2.15-2+b8".into(),
                    downloadable: false
                }
            ]
        );
        assert_eq!(parse_policy(""), None);
        let none = parse_policy("x:\n  Installed: (none)\n  Candidate: (none)\n  Version table:\n")
            .unwrap();
        assert_eq!(none.candidate, None);
        let s = parse_status("rc  1.0-1\n").unwrap();
        assert!(!s.installed() && s.has_files());
        assert_eq!(s.version, "1.0-1");
        let s = parse_status("ii  2.10-3").unwrap();
        assert!(s.installed());
        assert!(!parse_status("un  ").unwrap().has_files());
    }
}

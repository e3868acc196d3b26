//! Host names as inventories write them: `name:port` addresses and `[a:b:step]` ranges.
//!
//! This mirrors Ansible's `parse_address` (which decides whether a string is a host with an
//! optional port) and `expand_hostname_range` (which turns `web[01:03]` into three names),
//! because both the inventory parsers and the host-pattern splitter depend on exactly where
//! Ansible draws those lines.

use std::sync::LazyLock;

use regex::Regex;

/// More hosts than this in one range is surely a typo (and would exhaust memory).
const MAX_RANGE: u64 = 1_000_000;

const NUMERIC_RANGE: &str = r"\[(?:[0-9]+:[0-9]+)(?::[0-9]+)?\]";
const HEX_RANGE: &str = r"\[(?:[0-9a-f]+:[0-9a-f]+)(?::[0-9]+)?\]";
const ALNUM_RANGE: &str = r"\[(?:[a-z]:[a-z]|[0-9]+:[0-9]+)(?::[0-9]+)?\]";

static BRACKETED_HOSTPORT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\[(.+)\]:([0-9]+)$").expect("static regex"));
static HOSTPORT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^((?:[^:\[\]]|\[[^\]]*\])*):([0-9]+)$").expect("static regex"));
static IPV4: LazyLock<Regex> = LazyLock::new(|| {
    let c = format!(r"(?:[01]?[0-9]{{1,2}}|2[0-4][0-9]|25[0-5]|{NUMERIC_RANGE})");
    Regex::new(&format!(r"(?i)^(?:{c}\.){{3}}{c}$")).expect("static regex")
});
static IPV6: LazyLock<Regex> = LazyLock::new(|| {
    let c = format!(r"(?:[0-9a-f]{{1,4}}|{HEX_RANGE})");
    let alts = [
        format!(r"(?:{c}:){{7}}{c}"),
        format!(r"(?:{c}:){{1,6}}:"),
        format!(r"(?:{c}:)(?::{c}){{1,6}}"),
        format!(r"(?:{c}:){{2}}(?::{c}){{1,5}}"),
        format!(r"(?:{c}:){{3}}(?::{c}){{1,4}}"),
        format!(r"(?:{c}:){{4}}(?::{c}){{1,3}}"),
        format!(r"(?:{c}:){{5}}(?::{c}){{1,2}}"),
        format!(r"(?:{c}:){{6}}(?::{c})"),
        format!(r":(?::{c}){{1,6}}"),
        format!(r"{c}?::"),
        format!(r"(?:0:){{6}}(?:{c}\.){{3}}{c}"),
        format!(r"::(?:ffff:)?(?:{c}\.){{3}}{c}"),
        format!(r"(?:0:){{5}}ffff:(?:{c}\.){{3}}{c}"),
    ];
    Regex::new(&format!(r"(?i)^(?:{})$", alts.join("|"))).expect("static regex")
});
static HOSTNAME: LazyLock<Regex> = LazyLock::new(|| {
    // A label starts with a word character or a range and may not end with `_` or `-`
    // (Ansible uses a look-behind, which this regex engine lacks, hence the two branches).
    let r = ALNUM_RANGE;
    let label = format!(r"(?:(?:[^\W_]|{r})|(?:(?:\w|{r})(?:[\w-]|{r})*(?:[^\W_]|{r})))");
    Regex::new(&format!(r"(?i)^{label}(?:\.{label})*$")).expect("static regex")
});

/// Splits `host`, `host:port`, `[v6addr]:port` into the host and port, as Ansible's
/// `parse_address` does. `None` when the text is not a recognisable host identifier.
pub fn parse_address(address: &str, allow_ranges: bool) -> Option<(String, Option<u16>)> {
    let mut address = address.to_string();
    let mut port = None;
    for re in [&*BRACKETED_HOSTPORT, &*HOSTPORT] {
        if let Some(c) = re.captures(&address) {
            let p: u16 = c[2].parse().ok()?;
            port = Some(p);
            address = c[1].to_string();
        }
    }
    let valid = IPV4.is_match(&address) || IPV6.is_match(&address) || HOSTNAME.is_match(&address);
    if !valid || (!allow_ranges && address.contains('[')) {
        return None;
    }
    Some((address, port))
}

/// A host pattern from an inventory split into names and an optional port: the address is
/// parsed if it can be, otherwise the whole text is the (single) name, as Ansible does.
pub fn expand_host_pattern(pattern: &str) -> Result<(Vec<String>, Option<u16>), String> {
    let (name, port) = parse_address(pattern, true).unwrap_or_else(|| (pattern.to_string(), None));
    let names = if name.contains('[') {
        expand_hostname_range(&name)?
    } else {
        vec![name]
    };
    Ok((names, port))
}

/// Expands every `[begin:end]` / `[begin:end:step]` range in a host name, left to right.
/// Numeric ranges keep the zero padding of `begin`; `[a:f]` ranges step through letters.
pub fn expand_hostname_range(line: &str) -> Result<Vec<String>, String> {
    let Some(open) = line.find('[') else {
        return Ok(vec![line.to_string()]);
    };
    let Some(close_rel) = line[open + 1..].find(']') else {
        return Err(format!("host range in '{line}' has no closing ']'"));
    };
    let head = &line[..open];
    let inner = &line[open + 1..open + 1 + close_rel];
    let tail = &line[open + 2 + close_rel..];
    let bounds: Vec<&str> = inner.split(':').collect();
    if bounds.len() != 2 && bounds.len() != 3 {
        return Err(format!(
            "host range '[{inner}]' in '{line}' must be begin:end or begin:end:step"
        ));
    }
    let beg = if bounds[0].is_empty() { "0" } else { bounds[0] };
    let end = bounds[1];
    if end.is_empty() {
        return Err(format!(
            "host range '[{inner}]' in '{line}' must specify an end"
        ));
    }
    let step_text = bounds.get(2).copied().unwrap_or("1");
    let step: usize = match step_text.parse() {
        Ok(0) | Err(_) => {
            return Err(format!(
                "host range '[{inner}]' in '{line}' has an invalid step '{step_text}'"
            ));
        }
        Ok(s) => s,
    };
    let pad = if beg.len() > 1 && beg.starts_with('0') {
        if beg.len() != end.len() {
            return Err(format!(
                "host range '[{inner}]' in '{line}' must have begin and end of equal length"
            ));
        }
        beg.len()
    } else {
        0
    };
    const LETTERS: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let single_letter = |s: &str| s.len() == 1 && LETTERS.contains(s);
    let items: Vec<String> = if single_letter(beg) && single_letter(end) {
        let (b, e) = (
            LETTERS.find(beg).unwrap_or(0),
            LETTERS.find(end).unwrap_or(0),
        );
        if b > e {
            return Err(format!(
                "host range '[{inner}]' in '{line}' must have begin <= end"
            ));
        }
        LETTERS[b..=e]
            .chars()
            .step_by(step)
            .map(String::from)
            .collect()
    } else {
        let parse = |s: &str| {
            s.parse::<u64>()
                .map_err(|_| format!("host range '[{inner}]' in '{line}': '{s}' is not a number"))
        };
        let (b, e) = (parse(beg)?, parse(end)?);
        if e >= b && (e - b) / step as u64 >= MAX_RANGE {
            return Err(format!(
                "host range '[{inner}]' in '{line}' names more than {MAX_RANGE} hosts"
            ));
        }
        (b..=e)
            .step_by(step)
            .map(|n| format!("{n:0pad$}"))
            .collect()
    };
    let mut out = Vec::new();
    for item in items {
        let name = format!("{head}{item}{tail}");
        if name.contains('[') {
            out.extend(expand_hostname_range(&name)?);
        } else {
            out.push(name);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_ranges_keep_padding_and_stride() {
        assert_eq!(
            expand_hostname_range("web[01:03].example.com").unwrap(),
            vec![
                "web01.example.com",
                "web02.example.com",
                "web03.example.com"
            ]
        );
        assert_eq!(
            expand_hostname_range("s[1:10:4]").unwrap(),
            vec!["s1", "s5", "s9"]
        );
        assert_eq!(
            expand_hostname_range("db-[a:c]-[1:2]").unwrap(),
            vec!["db-a-1", "db-a-2", "db-b-1", "db-b-2", "db-c-1", "db-c-2"]
        );
        assert_eq!(
            expand_hostname_range("h[:2]").unwrap(),
            vec!["h0", "h1", "h2"]
        );
    }

    #[test]
    fn bad_ranges_are_errors() {
        assert!(expand_hostname_range("h[1:]").is_err());
        assert!(expand_hostname_range("h[01:100]").is_err());
        assert!(expand_hostname_range("h[c:a]").is_err());
        assert!(expand_hostname_range("h[1:3").is_err());
        assert!(expand_hostname_range("h[1:3:0]").is_err());
        assert!(expand_hostname_range("h[x:99]").is_err());
        assert!(expand_hostname_range("h[0:99999999999]").is_err());
    }

    #[test]
    fn addresses_split_ports_like_ansible() {
        assert_eq!(
            parse_address("web1:2222", false),
            Some(("web1".into(), Some(2222)))
        );
        assert_eq!(
            parse_address("[::1]:22", false),
            Some(("::1".into(), Some(22)))
        );
        assert_eq!(parse_address("::1", false), Some(("::1".into(), None)));
        assert_eq!(
            parse_address("10.0.0.1:22", false),
            Some(("10.0.0.1".into(), Some(22)))
        );
        assert_eq!(
            parse_address("web[1:3]:22", true),
            Some(("web[1:3]".into(), Some(22)))
        );
        assert_eq!(parse_address("web[1:3]", false), None);
        assert_eq!(parse_address("web:db", true), None);
        assert_eq!(parse_address("web-", true), None);
        assert_eq!(
            parse_address("wéb.example", true),
            Some(("wéb.example".into(), None))
        );
        assert_eq!(
            expand_host_pattern("we!b:22").unwrap(),
            (vec!["we!b:22".to_string()], None)
        );
    }
}

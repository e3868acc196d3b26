//! Chained undefined lookups. Ansible's undefined values can be chained: `a.b.c | default(x)`
//! and `a.b.c is defined` work when `a` or `a.b` is missing. minijinja's strict mode (which
//! jig needs so that a typo is an error) fails on the attribute of an undefined value, so a
//! path of two or more steps that is directly followed by `| default`, `| d`, `is defined` or
//! `is undefined` is rewritten into `__jig_chain(a, 'b', 'c')`, which stops at the first
//! missing step and yields undefined. Nothing else is rewritten.

use minijinja::value::{Rest, Value};

/// The name of the helper function the rewrite calls.
pub(crate) const CHAIN_FN: &str = "__jig_chain";

/// `__jig_chain(base, k1, k2, ...)`: `base[k1][k2]...`, undefined as soon as a step is.
pub(crate) fn chain(base: Value, keys: Rest<Value>) -> Value {
    let mut cur = base;
    for k in keys.iter() {
        if cur.is_undefined() || cur.is_none() {
            return Value::UNDEFINED;
        }
        cur = match k.as_str() {
            Some(name) => cur.get_attr(name).unwrap_or(Value::UNDEFINED),
            None => cur.get_item(k).unwrap_or(Value::UNDEFINED),
        };
    }
    cur
}

fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_'
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// Rewrites guarded chains inside one expression (the text between delimiters).
pub(crate) fn rewrite_expr(expr: &str) -> Option<String> {
    let b = expr.as_bytes();
    let mut out = String::with_capacity(expr.len() + 16);
    let mut i = 0;
    let mut last = 0;
    let mut changed = false;
    while i < b.len() {
        let c = b[i];
        if c == b'\'' || c == b'"' {
            i = skip_string(b, i);
            continue;
        }
        let prev_ok = i == 0 || !(is_ident(b[i - 1]) || b[i - 1] == b'.');
        if is_ident_start(c) && prev_ok {
            if let Some((end, base, keys)) = parse_path(expr, i) {
                if (keys.len() >= 2 && guarded(expr, end))
                    || (!keys.is_empty() && default_argument(expr, i, end))
                {
                    out.push_str(&expr[last..i]);
                    out.push_str(CHAIN_FN);
                    out.push('(');
                    out.push_str(base);
                    for k in &keys {
                        out.push_str(", ");
                        out.push_str(k);
                    }
                    out.push(')');
                    last = end;
                    changed = true;
                }
                i = end.max(i + 1);
                continue;
            }
            while i < b.len() && is_ident(b[i]) {
                i += 1;
            }
            continue;
        }
        i += 1;
    }
    if !changed {
        return None;
    }
    out.push_str(&expr[last..]);
    Some(out)
}

fn skip_string(b: &[u8], start: usize) -> usize {
    let q = b[start];
    let mut i = start + 1;
    while i < b.len() {
        if b[i] == b'\\' {
            i += 2;
            continue;
        }
        if b[i] == q {
            return i + 1;
        }
        i += 1;
    }
    b.len()
}

/// Parses `ident(.ident | [literal-or-ident])*` at `start`; returns the end, the base name
/// and the keys as expressions.
fn parse_path(s: &str, start: usize) -> Option<(usize, &str, Vec<String>)> {
    let b = s.as_bytes();
    let mut i = start;
    while i < b.len() && is_ident(b[i]) {
        i += 1;
    }
    let base = &s[start..i];
    if matches!(
        base,
        "not"
            | "and"
            | "or"
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
    ) {
        return None;
    }
    let mut keys = Vec::new();
    loop {
        if i < b.len() && b[i] == b'.' && i + 1 < b.len() && is_ident_start(b[i + 1]) {
            let k0 = i + 1;
            let mut j = k0;
            while j < b.len() && is_ident(b[j]) {
                j += 1;
            }
            // A method call (`x.y.get(...)`) is not a plain path.
            if j < b.len() && b[j] == b'(' {
                break;
            }
            keys.push(format!("'{}'", &s[k0..j]));
            i = j;
        } else if i < b.len() && b[i] == b'[' {
            let k0 = i + 1;
            let close = if k0 < b.len() && (b[k0] == b'\'' || b[k0] == b'"') {
                let e = skip_string(b, k0);
                (e < b.len() && b[e] == b']').then_some(e)
            } else {
                let mut j = k0;
                while j < b.len() && (is_ident(b[j]) || b[j] == b'-') {
                    j += 1;
                }
                if j > k0 && j < b.len() && b[j] == b']' {
                    Some(j)
                } else {
                    // A key that is itself a lookup: `m[ansible_facts['os_family']]`.
                    matching_bracket(b, k0).filter(|e| *e > k0)
                }
            };
            let Some(e) = close else { break };
            keys.push(s[k0..e].to_string());
            i = e + 1;
        } else {
            break;
        }
    }
    Some((i, base, keys))
}

/// The `]` closing the `[` before `start`, over nested brackets and strings, if the key between
/// them is a plain lookup (names, dots, strings, digits and brackets only).
fn matching_bracket(b: &[u8], start: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = start;
    while i < b.len() {
        match b[i] {
            b'\'' | b'"' => {
                i = skip_string(b, i);
                continue;
            }
            b'[' => depth += 1,
            b']' if depth == 0 => return Some(i),
            b']' => depth -= 1,
            c if is_ident(c) || c == b'.' || c == b'-' => {}
            _ => return None,
        }
        i += 1;
    }
    None
}

/// Whether the path between `start` and `end` is the whole argument of a `| default(...)` or
/// `| d(...)`: Ansible's chained undefined passes through `default` (the next `default` in
/// the pipe replaces it), as in `m[os][ver] | default(m[os]['default']) | default(m['x'])`.
fn default_argument(s: &str, start: usize, end: usize) -> bool {
    let Some(before) = s[..start].trim_end().strip_suffix('(') else {
        return false;
    };
    let before = before.trim_end();
    let name_ok = ["default", "d"].iter().any(|n| {
        before.strip_suffix(n).is_some_and(|b| {
            !b.as_bytes().last().is_some_and(|c| is_ident(*c)) && b.trim_end().ends_with('|')
        })
    });
    name_ok && s[end..].trim_start().starts_with([')', ','])
}

/// Whether the text at `end` is `| default`, `| d`, `is [not] defined` or `is [not] undefined`.
fn guarded(s: &str, end: usize) -> bool {
    let rest = s[end..].trim_start();
    if let Some(r) = rest.strip_prefix('|') {
        let r = r.trim_start();
        for name in ["default", "d"] {
            if let Some(after) = r.strip_prefix(name)
                && !after.as_bytes().first().is_some_and(|c| is_ident(*c))
            {
                return true;
            }
        }
        return false;
    }
    if let Some(r) = rest.strip_prefix("is") {
        if !r.starts_with(|c: char| c.is_whitespace()) {
            return false;
        }
        let r = r.trim_start();
        let r = r.strip_prefix("not").map(str::trim_start).unwrap_or(r);
        for name in ["defined", "undefined"] {
            if let Some(after) = r.strip_prefix(name)
                && !after.as_bytes().first().is_some_and(|c| is_ident(*c))
            {
                return true;
            }
        }
    }
    false
}

/// Rewrites guarded chains inside every block of a template with the given delimiters,
/// leaving text, comments and `{% raw %}` sections alone.
pub(crate) fn rewrite_template(src: &str, delims: &[(&str, &str); 2]) -> Option<String> {
    if !src.contains('.') && !src.contains('[') {
        return None;
    }
    let mut out = String::with_capacity(src.len() + 32);
    let mut rest = src;
    let mut changed = false;
    loop {
        let next = delims
            .iter()
            .filter_map(|(open, close)| rest.find(open).map(|p| (p, *open, *close)))
            .min_by_key(|(p, _, _)| *p);
        let Some((p, open, close)) = next else { break };
        out.push_str(&rest[..p + open.len()]);
        let body = &rest[p + open.len()..];
        let Some(end) = body.find(close) else {
            out.push_str(body);
            rest = "";
            break;
        };
        let inner = &body[..end];
        if inner
            .trim()
            .trim_start_matches('-')
            .trim_start()
            .starts_with("raw")
        {
            // Copy everything up to the matching endraw untouched.
            let after = &body[end..];
            let stop = after.find("endraw").unwrap_or(after.len());
            out.push_str(inner);
            out.push_str(&after[..stop]);
            rest = &after[stop..];
            continue;
        }
        match rewrite_expr(inner) {
            Some(r) => {
                out.push_str(&r);
                changed = true;
            }
            None => out.push_str(inner),
        }
        rest = &body[end..];
    }
    out.push_str(rest);
    changed.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_only_guarded_chains() {
        assert_eq!(
            rewrite_expr(" a.b.c | default(1) ").as_deref(),
            Some(" __jig_chain(a, 'b', 'c') | default(1) ")
        );
        assert_eq!(
            rewrite_expr("x['k'][0].y is not defined").as_deref(),
            Some("__jig_chain(x, 'k', 0, 'y') is not defined")
        );
        assert_eq!(rewrite_expr("a.b | default(1)"), None);
        assert_eq!(rewrite_expr("a.b.c | lower"), None);
        assert_eq!(rewrite_expr("'a.b.c | default(1)'"), None);
        assert_eq!(rewrite_expr("a.b.get('c') | default(1)"), None);
        assert_eq!(
            rewrite_expr("a.b.c|d('x') and e.f.g is undefined").as_deref(),
            Some("__jig_chain(a, 'b', 'c')|d('x') and __jig_chain(e, 'f', 'g') is undefined")
        );
    }

    #[test]
    fn chains_with_lookup_keys_and_as_default_arguments() {
        // robertdebock.logrotate's service name, in our own words.
        assert_eq!(
            rewrite_expr("m[f['os']][f['v']] | default(m[f['os']]['default']) | default(m['x'])")
                .as_deref(),
            Some(
                "__jig_chain(m, f['os'], f['v']) | default(__jig_chain(m, f['os'], 'default')) \
                 | default(__jig_chain(m, 'x'))"
            )
        );
        assert_eq!(rewrite_expr("x | lower(a.b)"), None);
        assert_eq!(rewrite_expr("x | default(a.b ~ 'c')"), None);
        assert_eq!(rewrite_expr("x | default(a[b + 1].c)"), None);
    }

    #[test]
    fn template_rewrite_skips_text_and_raw() {
        let d = [("{{", "}}"), ("{%", "%}")];
        assert_eq!(
            rewrite_template("a.b.c | default {{ a.b.c | default(1) }}", &d).as_deref(),
            Some("a.b.c | default {{ __jig_chain(a, 'b', 'c') | default(1) }}")
        );
        assert_eq!(
            rewrite_template("{% raw %}{{ a.b.c | d }}{% endraw %}", &d),
            None
        );
    }
}

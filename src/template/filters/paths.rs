//! Path filters, evaluated on the controller with Python `os.path` semantics: `basename`,
//! `dirname`, `realpath`, `expanduser`, `expandvars`, `splitext`, `path_join`, `relpath`,
//! `fileglob`.

use std::path::{Component, Path, PathBuf};

use minijinja::value::Value;
use minijinja::{Environment, Error};

use super::{fail, items_of};
use crate::template::convert::to_text;

pub(super) fn register(env: &mut Environment<'static>) {
    super::strict(env, "basename", |v: Value| {
        py_basename(&to_text(&v)).to_string()
    });
    super::strict(env, "dirname", |v: Value| {
        py_dirname(&to_text(&v)).to_string()
    });
    super::strict(env, "expanduser", |v: Value| expanduser(&to_text(&v)));
    super::strict(env, "expandvars", |v: Value| expandvars(&to_text(&v)));
    super::strict(env, "realpath", |v: Value| realpath(&to_text(&v)));
    super::strict(env, "splitext", splitext);
    super::strict(env, "path_join", path_join);
    super::strict(env, "relpath", relpath);
    super::strict(env, "fileglob", fileglob);
}

/// `os.path.basename`: the text after the last `/`.
pub(crate) fn py_basename(p: &str) -> &str {
    match p.rfind('/') {
        Some(i) => &p[i + 1..],
        None => p,
    }
}

/// `os.path.dirname`: the text before the last `/`, trailing slashes removed unless root.
pub(crate) fn py_dirname(p: &str) -> &str {
    match p.rfind('/') {
        Some(i) => {
            let head = &p[..=i];
            let trimmed = head.trim_end_matches('/');
            if trimmed.is_empty() {
                &head[..head.len().min(i + 1)]
            } else {
                trimmed
            }
        }
        None => "",
    }
}

fn expanduser(p: &str) -> String {
    if (p == "~" || p.starts_with("~/"))
        && let Ok(home) = std::env::var("HOME")
    {
        return format!("{}{}", home.trim_end_matches('/'), &p[1..]);
    }
    p.to_string()
}

fn expandvars(p: &str) -> String {
    let re = regex::Regex::new(r"\$(\w+|\{[^}]*\})").ok();
    let Some(re) = re else { return p.to_string() };
    re.replace_all(p, |c: &regex::Captures| {
        let name = c[1].trim_start_matches('{').trim_end_matches('}');
        std::env::var(name).unwrap_or_else(|_| c[0].to_string())
    })
    .into_owned()
}

/// Lexically normalises a path like `os.path.normpath`.
fn normpath(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// `os.path.realpath`: symlinks resolved as far as the path exists, the rest normalised.
fn realpath(p: &str) -> String {
    let path = Path::new(p);
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(path)
    };
    let abs = normpath(&abs);
    if let Ok(c) = abs.canonicalize() {
        return c.display().to_string();
    }
    // Resolve the longest existing prefix, then append the rest.
    let mut existing = abs.clone();
    let mut rest = Vec::new();
    while !existing.exists() {
        match (
            existing.file_name().map(|n| n.to_os_string()),
            existing.parent(),
        ) {
            (Some(n), Some(parent)) => {
                rest.push(n);
                existing = parent.to_path_buf();
            }
            _ => break,
        }
    }
    let mut out = existing.canonicalize().unwrap_or(existing);
    for n in rest.into_iter().rev() {
        out.push(n);
    }
    out.display().to_string()
}

fn splitext(v: Value) -> Value {
    let p = to_text(&v);
    let base = py_basename(&p);
    let stem_start = p.len() - base.len();
    let leading_dots = base.chars().take_while(|c| *c == '.').count();
    match base[leading_dots..].rfind('.') {
        Some(i) => {
            let cut = stem_start + leading_dots + i;
            Value::from(vec![Value::from(&p[..cut]), Value::from(&p[cut..])])
        }
        None => Value::from(vec![Value::from(p.as_str()), Value::from("")]),
    }
}

fn path_join(v: Value) -> Result<String, Error> {
    if let Some(s) = v.as_str() {
        return Ok(s.to_string());
    }
    let mut out = String::new();
    for part in items_of("path_join", &v)? {
        let part = to_text(&part);
        if part.starts_with('/') || out.is_empty() {
            out = part;
        } else if out.ends_with('/') {
            out.push_str(&part);
        } else {
            out.push('/');
            out.push_str(&part);
        }
    }
    Ok(out)
}

fn relpath(v: Value, start: Option<String>) -> Result<String, Error> {
    let cwd = std::env::current_dir().unwrap_or_default();
    let absolute = |p: &str| normpath(&cwd.join(p));
    let target = absolute(&to_text(&v));
    let base = absolute(&start.unwrap_or_else(|| ".".into()));
    let t: Vec<_> = target.components().collect();
    let b: Vec<_> = base.components().collect();
    let common = t.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut out = PathBuf::new();
    for _ in common..b.len() {
        out.push("..");
    }
    for c in &t[common..] {
        out.push(c.as_os_str());
    }
    let s = out.display().to_string();
    if s.is_empty() { Ok(".".into()) } else { Ok(s) }
}

/// Regular files matching a glob pattern, sorted (Python's `glob` order is the directory's).
pub(crate) fn glob_files(pattern: &str) -> Result<Vec<String>, Error> {
    let glob = globset::GlobBuilder::new(pattern)
        .literal_separator(true)
        .build()
        .map_err(|e| fail(format!("invalid glob '{pattern}': {e}")))?
        .compile_matcher();
    // Walk from the longest directory prefix without wildcards.
    let wild = pattern.find(['*', '?', '[']).unwrap_or(pattern.len());
    let dir = match pattern[..wild].rfind('/') {
        Some(i) => &pattern[..=i],
        None => "",
    };
    let depth = pattern[dir.len()..].matches('/').count() + 1;
    let mut out = Vec::new();
    let root = if dir.is_empty() {
        Path::new(".")
    } else {
        Path::new(dir)
    };
    walk(root, dir, depth, &mut |p: &str, path: &Path| {
        if path.is_file() && glob.is_match(p) {
            out.push(p.to_string());
        }
    });
    out.sort();
    Ok(out)
}

fn walk(dir: &Path, prefix: &str, depth: usize, f: &mut dyn FnMut(&str, &Path)) {
    if depth == 0 {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        let shown = format!("{prefix}{name}");
        let path = e.path();
        f(&shown, &path);
        if path.is_dir() {
            walk(&path, &format!("{shown}/"), depth - 1, f);
        }
    }
}

fn fileglob(v: Value) -> Result<Value, Error> {
    Ok(Value::from(glob_files(&to_text(&v))?))
}

//! The `find` module: files matching conditions under some directories, with Ansible's stat
//! keys for each.
//!
//! One round trip runs find(1) over every path and prints each entry's lstat fields
//! (`-printf`, NUL-framed so any name survives); the controller applies ansible-core's filters
//! (patterns as `fnmatch` globs or Python regexes on the base name, excludes, `file_type`,
//! `hidden`, `depth`, `age`, `size`, `mode`) and counts `examined` the way its `os.walk` does.
//! Only `contains` and `get_checksum` need a second round trip, on the candidates alone
//! (`grep -P` per line, or on the whole file with `read_whole_file`; the coreutils digest).
//! The host is never changed.

use async_trait::async_trait;
use serde_json::{Map, Value as Json};

use super::get_url::digest_tool;
use super::pyregex::{Dollar, PyRegex};
use super::remote::{self, Frames};
use super::{Module, ModuleArgs, ModuleContext, ModuleError, ModuleResult};

/// The `find` module.
pub struct Find;

const KNOWN: &[&str] = &[
    "paths",
    "path",
    "name",
    "patterns",
    "pattern",
    "excludes",
    "exclude",
    "contains",
    "read_whole_file",
    "file_type",
    "age",
    "age_stamp",
    "size",
    "recurse",
    "hidden",
    "follow",
    "get_checksum",
    "checksum_algorithm",
    "checksum",
    "checksum_algo",
    "use_regex",
    "depth",
    "mode",
    "exact_mode",
    "encoding",
    "limit",
];

/// One entry as find(1) printed it.
#[derive(Clone, Debug, PartialEq)]
struct Entry {
    /// Its path (`root/...`, normalised like `os.path.normpath`).
    path: String,
    /// Depth below the root (1 for the root's own entries).
    depth: usize,
    /// `f`, `d`, `l`, `c`, `b`, `p`, `s`.
    kind: char,
    mode: u32,
    uid: u32,
    gid: u32,
    owner: String,
    group: String,
    size: u64,
    inode: u64,
    dev: u64,
    nlink: u64,
    atime: f64,
    mtime: f64,
    ctime: f64,
}

impl Entry {
    fn name(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or(&self.path)
    }

    /// Ansible's `statinfo` plus `path`.
    fn to_json(&self) -> Map<String, Json> {
        let mut m = Map::new();
        let m_ = self.mode;
        let mut put = |k: &str, v: Json| {
            m.insert(k.to_string(), v);
        };
        put("path", self.path.clone().into());
        put("mode", format!("{:04o}", m_ & 0o7777).into());
        put("isdir", (self.kind == 'd').into());
        put("ischr", (self.kind == 'c').into());
        put("isblk", (self.kind == 'b').into());
        put("isreg", (self.kind == 'f').into());
        put("isfifo", (self.kind == 'p').into());
        put("islnk", (self.kind == 'l').into());
        put("issock", (self.kind == 's').into());
        put("uid", self.uid.into());
        put("gid", self.gid.into());
        put("size", self.size.into());
        put("inode", self.inode.into());
        put("dev", self.dev.into());
        put("nlink", self.nlink.into());
        put("atime", self.atime.into());
        put("mtime", self.mtime.into());
        put("ctime", self.ctime.into());
        put("gr_name", self.group.clone().into());
        put("pw_name", self.owner.clone().into());
        for (k, bit) in super::stat::MODE_BITS {
            put(k, (m_ & bit != 0).into());
        }
        m
    }
}

/// The listing script: for each path ($3...), `P<path>\0` then, if it is a directory, one
/// `F<path>\0<fields>\0` per entry and `E\0` at the end; `X<path>\0<error>\0` when it is not. $1 is `-L` to follow links or
/// empty, $2 the max depth.
const LIST: &str = r#"f=$1 d=$2
shift 2
for p in "$@"; do
  if [ ! -d "$p" ]; then printf 'X%s\0%s\0' "$p" "'$p' is not a directory"; continue; fi
  printf 'P%s\0' "$p"
  LC_ALL=C find $f "$p" -mindepth 1 -maxdepth "$d" -printf 'F%p\0%d %y %m %U %G %s %i %D %n %A@ %T@ %C@\n%u\n%g\0' 2>/dev/null
  printf 'E\0'
done"#;

fn parse_entries(out: &[u8]) -> (Vec<Entry>, Vec<(String, String)>) {
    let mut fr = Frames::new(out);
    let mut entries = Vec::new();
    let mut skipped = Vec::new();
    while let Some(rec) = fr.next_record() {
        let text = String::from_utf8_lossy(rec).into_owned();
        if let Some(p) = text.strip_prefix('X') {
            let err = fr
                .next_record()
                .map(|e| String::from_utf8_lossy(e).into_owned())
                .unwrap_or_default();
            skipped.push((p.to_string(), err));
            continue;
        }
        if text.starts_with('P') {
            continue;
        }
        let Some(path) = text.strip_prefix('F') else {
            continue;
        };
        let Some(fields) = fr.next_record() else {
            break;
        };
        let fields = String::from_utf8_lossy(fields);
        let mut lines = fields.splitn(3, '\n');
        let nums: Vec<&str> = lines.next().unwrap_or("").split(' ').collect();
        let owner = lines.next().unwrap_or("").to_string();
        let group = lines.next().unwrap_or("").to_string();
        if nums.len() != 12 {
            continue;
        }
        let n = |i: usize| nums[i].parse::<u64>().unwrap_or(0);
        let f = |i: usize| nums[i].parse::<f64>().unwrap_or(0.0);
        let uid = n(3) as u32;
        let gid = n(4) as u32;
        entries.push(Entry {
            path: normpath(path),
            depth: n(0) as usize,
            kind: nums[1].chars().next().unwrap_or('f'),
            mode: u32::from_str_radix(nums[2], 8).unwrap_or(0),
            uid,
            gid,
            owner: if owner == uid.to_string() {
                String::new()
            } else {
                owner
            },
            group: if group == gid.to_string() {
                String::new()
            } else {
                group
            },
            size: n(5),
            inode: n(6),
            dev: n(7),
            nlink: n(8),
            atime: f(9),
            mtime: f(10),
            ctime: f(11),
        });
    }
    (entries, skipped)
}

/// `os.path.normpath` for the paths find prints (double slashes, `.` segments).
fn normpath(p: &str) -> String {
    let abs = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." if parts.last().is_some_and(|l| *l != "..") => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    let joined = parts.join("/");
    match (abs, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

/// A name filter: fnmatch globs or Python regexes matched at the start.
enum Matcher {
    Glob(globset::GlobMatcher),
    Regex(PyRegex),
}

impl Matcher {
    fn new(p: &str, regex: bool) -> Result<Matcher, String> {
        if regex {
            PyRegex::compile(p, Dollar::Text, false)
                .map(Matcher::Regex)
                .map_err(|e| format!("invalid regular expression '{p}': {e}"))
        } else {
            globset::GlobBuilder::new(p)
                .literal_separator(false)
                .backslash_escape(false)
                .empty_alternates(true)
                .build()
                .map(|g| Matcher::Glob(g.compile_matcher()))
                .map_err(|e| format!("invalid pattern '{p}': {e}"))
        }
    }

    fn is_match(&self, name: &str) -> bool {
        match self {
            Matcher::Glob(g) => g.is_match(name),
            Matcher::Regex(r) => r
                .search(name)
                .ok()
                .flatten()
                .and_then(|c| c.get(0).map(|m| m.start() == 0))
                .unwrap_or(false),
        }
    }
}

/// ansible-core's `pfilter`: a pattern must match, then no exclude may.
fn pfilter(name: &str, patterns: &[Matcher], excludes: &[Matcher]) -> bool {
    patterns.iter().any(|p| p.is_match(name)) && !excludes.iter().any(|e| e.is_match(name))
}

/// `age`/`size` with their units (`-2d`, `10m`).
fn with_unit(value: &str, units: &[(char, i64)]) -> Option<i64> {
    let v = value.trim().to_ascii_lowercase();
    let (num, mult) = match v.chars().last() {
        Some(c) if c.is_ascii_alphabetic() => {
            let m = units.iter().find(|(u, _)| *u == c)?.1;
            (&v[..v.len() - 1], m)
        }
        _ => (v.as_str(), 1),
    };
    num.parse::<i64>().ok().map(|n| n * mult)
}

/// The candidates' checks: `contains` with grep -P and the checksum. Parameters: 1 regex or
/// empty, 2 whole file (1/0), 3 digest tool or empty, then the files. Prints, per file,
/// `<1|0>\0<digest output>\0`.
const CHECK: &str = r#"re=$1 whole=$2 tool=$3
shift 3
for p in "$@"; do
  if [ -z "$re" ]; then printf 1
  elif [ "$whole" = 1 ]; then if grep -qzP -- "$re" "$p" 2>/dev/null; then printf 1; else printf 0; fi
  elif grep -qP -- "^(?:$re)" "$p" 2>/dev/null; then printf 1; else printf 0; fi
  printf '\0'
  if [ -n "$tool" ]; then "$tool" < "$p" 2>/dev/null; fi
  printf '\0'
done"#;

#[async_trait]
impl Module for Find {
    fn name(&self) -> &'static str {
        "find"
    }

    async fn run(
        &self,
        args: &ModuleArgs,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        args.check_known(KNOWN)?;
        let paths = match args.get_any(&["paths", "path", "name"]) {
            Some((n, _)) => args.list(n)?.unwrap_or_default(),
            None => {
                return Err(super::ArgError::Missing {
                    module: args.module().to_string(),
                    name: "paths".into(),
                }
                .into());
            }
        };
        let use_regex = args.bool_or("use_regex", false)?;
        let mut pattern_texts = match args.get_any(&["patterns", "pattern"]) {
            Some((n, _)) => args.list(n)?.unwrap_or_default(),
            None => Vec::new(),
        };
        if pattern_texts.is_empty() {
            pattern_texts.push(if use_regex { ".*" } else { "*" }.to_string());
        }
        let exclude_texts = match args.get_any(&["excludes", "exclude"]) {
            Some((n, _)) => args.list(n)?.unwrap_or_default(),
            None => Vec::new(),
        };
        let build = |texts: &[String]| -> Result<Vec<Matcher>, String> {
            texts.iter().map(|t| Matcher::new(t, use_regex)).collect()
        };
        let patterns = build(&pattern_texts).map_err(|e| args.invalid("patterns", e))?;
        let excludes = build(&exclude_texts).map_err(|e| args.invalid("excludes", e))?;
        let file_type = args.str("file_type")?.unwrap_or_else(|| "file".into());
        if !["any", "directory", "file", "link"].contains(&file_type.as_str()) {
            return Err(args
                .invalid(
                    "file_type",
                    format!("must be one of any, directory, file, link; got '{file_type}'"),
                )
                .into());
        }
        let age = match args.str("age")? {
            None => None,
            Some(a) => Some(
                with_unit(
                    &a,
                    &[
                        ('s', 1),
                        ('m', 60),
                        ('h', 3600),
                        ('d', 86400),
                        ('w', 604800),
                    ],
                )
                .ok_or_else(|| args.invalid("age", format!("failed to process age '{a}'")))?,
            ),
        };
        let age_stamp = args.str("age_stamp")?.unwrap_or_else(|| "mtime".into());
        if !["atime", "ctime", "mtime"].contains(&age_stamp.as_str()) {
            return Err(args
                .invalid("age_stamp", "must be one of atime, ctime, mtime")
                .into());
        }
        let size = match args.str("size")? {
            None => None,
            Some(s) => Some(
                with_unit(
                    &s,
                    &[
                        ('b', 1),
                        ('k', 1024),
                        ('m', 1 << 20),
                        ('g', 1 << 30),
                        ('t', 1 << 40),
                    ],
                )
                .ok_or_else(|| args.invalid("size", format!("failed to process size '{s}'")))?,
            ),
        };
        let recurse = args.bool_or("recurse", false)?;
        let hidden = args.bool_or("hidden", false)?;
        let follow = args.bool_or("follow", false)?;
        let depth = args.int("depth")?.filter(|d| *d > 0).map(|d| d as usize);
        let limit = args.int("limit")?;
        if let Some(l) = limit
            && l <= 0
        {
            return Err(args
                .error(format!("limit cannot be {l} (use None for unlimited)"))
                .into());
        }
        let mode = match args.get("mode") {
            None => None,
            Some(Json::String(s)) => Some(
                super::mode::Mode::parse(s)
                    .ok()
                    .and_then(|m| m.resolve(0, false, 0))
                    .ok_or_else(|| args.invalid("mode", format!("is not a valid mode: '{s}'")))?,
            ),
            Some(other) => {
                return Err(args
                    .invalid(
                        "mode",
                        format!("is not a string and conversion is not allowed, got {other}"),
                    )
                    .into());
            }
        };
        let exact_mode = args.bool_or("exact_mode", true)?;
        let contains = args.str("contains")?;
        let whole = args.bool_or("read_whole_file", false)?;
        let get_checksum = args.bool_or("get_checksum", false)?;
        let algorithm = match args.get_any(&["checksum_algorithm", "checksum", "checksum_algo"]) {
            Some((n, _)) => args.req_str(n)?,
            None => "sha1".into(),
        };
        let tool = digest_tool(&algorithm).ok_or_else(|| {
            args.invalid(
                "checksum_algorithm",
                "must be one of md5, sha1, sha224, sha256, sha384, sha512",
            )
        })?;

        // What os.walk visits: the root's entries, and below only when recursing (depth + 1
        // levels, since the entries of the deepest kept directory are still examined).
        let max_depth = match (recurse, depth) {
            (false, _) => 1,
            (true, Some(d)) => d + 1,
            (true, None) => 100_000,
        };
        let mut script_args: Vec<String> = vec![
            remote::follow_flag(follow).to_string(),
            max_depth.to_string(),
        ];
        script_args.extend(paths.iter().cloned());
        let refs: Vec<&str> = script_args.iter().map(String::as_str).collect();
        let out = remote::run(ctx, remote::script(&refs, LIST), None).await?;
        if out.rc != 0 {
            return Ok(ModuleResult::failed(
                remote::host_error("cannot list the paths", &out).to_string(),
            ));
        }
        let (entries, skipped) = parse_entries(&out.stdout);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        let examined = entries.len();
        let mut candidates: Vec<&Entry> = Vec::new();
        for e in &entries {
            if depth.is_some_and(|d| e.depth > d) {
                continue;
            }
            if e.name().starts_with('.') && !hidden {
                continue;
            }
            let kind_ok = match file_type.as_str() {
                "any" => true,
                "directory" => e.kind == 'd',
                "file" => e.kind == 'f',
                _ => e.kind == 'l',
            };
            if !kind_ok || !pfilter(e.name(), &patterns, &excludes) {
                continue;
            }
            if let Some(a) = age {
                let stamp = match age_stamp.as_str() {
                    "atime" => e.atime,
                    "ctime" => e.ctime,
                    _ => e.mtime,
                };
                let elapsed = now - stamp;
                let ok = if a >= 0 {
                    elapsed >= a as f64
                } else {
                    elapsed <= a.unsigned_abs() as f64
                };
                if !ok {
                    continue;
                }
            }
            // size applies to regular files only.
            if let Some(s) = size
                && e.kind == 'f'
            {
                let ok = if s >= 0 {
                    e.size >= s as u64
                } else {
                    e.size <= s.unsigned_abs()
                };
                if !ok {
                    continue;
                }
            }
            if let Some(m) = mode {
                let bits = e.mode & 0o7777;
                let ok = if exact_mode { bits == m } else { bits & m != 0 };
                if !ok {
                    continue;
                }
            }
            candidates.push(e);
        }

        // contains (regular files, file_type file only) and checksums: one more round trip.
        let content_check = contains.is_some() && file_type == "file";
        let mut sums: Vec<Option<String>> = vec![None; candidates.len()];
        if content_check || get_checksum {
            let regs: Vec<usize> = (0..candidates.len())
                .filter(|i| candidates[*i].kind == 'f')
                .collect();
            let mut a: Vec<String> = vec![
                if content_check {
                    contains.clone().unwrap_or_default()
                } else {
                    String::new()
                },
                if whole { "1".into() } else { "0".into() },
                if get_checksum {
                    tool.to_string()
                } else {
                    String::new()
                },
            ];
            a.extend(regs.iter().map(|i| candidates[*i].path.clone()));
            let refs: Vec<&str> = a.iter().map(String::as_str).collect();
            let out = remote::run(ctx, remote::script(&refs, CHECK), None).await?;
            let mut fr = Frames::new(&out.stdout);
            let mut keep = vec![true; candidates.len()];
            for i in regs {
                let hit = fr.next_record() == Some(b"1");
                let sum = fr.next_record().and_then(remote::parse_sum);
                keep[i] = hit;
                sums[i] = sum;
            }
            let mut k = keep.iter();
            let mut s_iter = std::mem::take(&mut sums).into_iter();
            let mut new_sums = Vec::new();
            candidates.retain(|_| {
                let kept = *k.next().unwrap_or(&true);
                let s = s_iter.next().flatten();
                if kept {
                    new_sums.push(s);
                }
                kept
            });
            sums = new_sums;
        }
        let mut files = Vec::new();
        let mut limited = false;
        for (e, sum) in candidates.iter().zip(sums) {
            let mut m = e.to_json();
            if get_checksum && let Some(s) = sum {
                m.insert("checksum".into(), s.into());
            }
            files.push(Json::Object(m));
            if limit.is_some_and(|l| files.len() as i64 == l) {
                limited = true;
                break;
            }
        }
        let mut r = ModuleResult::ok();
        r.msg = Some(
            if !skipped.is_empty() {
                "Not all paths examined, check warnings for details"
            } else if limited {
                "Limit of matches reached"
            } else {
                "All paths examined"
            }
            .into(),
        );
        r.set("matched", files.len())
            .set("examined", examined)
            .set("files", Json::Array(files))
            .set(
                "skipped_paths",
                Json::Object(
                    skipped
                        .into_iter()
                        .map(|(p, e)| (p, Json::String(e)))
                        .collect(),
                ),
            );
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::remote::testutil::{Env, HOSTILE, assert_not_pwned};
    use serde_json::json;
    use std::os::unix::fs::PermissionsExt;

    fn margs(v: Json) -> ModuleArgs {
        ModuleArgs::new("find", v.as_object().unwrap().clone().into_iter().collect())
    }

    async fn run(env: &Env, v: Json) -> ModuleResult {
        Find.run(&margs(v), &env.ctx(true, false)).await.unwrap()
    }

    fn paths(r: &ModuleResult, root: &str) -> Vec<String> {
        let mut v: Vec<String> = r.values["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                f["path"]
                    .as_str()
                    .unwrap()
                    .strip_prefix(root)
                    .unwrap()
                    .to_string()
            })
            .collect();
        v.sort();
        v
    }

    #[tokio::test]
    async fn filters_like_ansible() {
        let tmp = tempfile::tempdir().unwrap();
        let env = Env::new(tmp.path());
        let root = tmp.path().join("root $(x)");
        let t = |p: &str| root.join(p);
        std::fs::create_dir_all(t("a/b/c")).unwrap();
        std::fs::create_dir_all(t(".hid")).unwrap();
        std::fs::write(t("one.conf"), "port=80\nname=x\n").unwrap();
        std::fs::write(t("two.txt"), "hello\n").unwrap();
        std::fs::write(t(".dot.conf"), "x\n").unwrap();
        std::fs::write(t("a/three.conf"), "listen 443\n").unwrap();
        std::fs::write(t("a/b/four.conf"), vec![b'z'; 5000]).unwrap();
        std::fs::write(t("a/b/c/five.conf"), "deep\n").unwrap();
        std::fs::write(t(HOSTILE), "hostile\n").unwrap();
        std::os::unix::fs::symlink("one.conf", t("link.conf")).unwrap();
        std::fs::set_permissions(t("two.txt"), std::fs::Permissions::from_mode(0o600)).unwrap();
        let r0 = root.to_str().unwrap();
        let prefix = format!("{r0}/");
        let p = prefix.as_str();

        // Default: files at the top, no hidden ones.
        let r = run(&env, json!({"paths": r0})).await;
        assert!(!r.changed && !r.failed);
        assert_eq!(paths(&r, p), vec!["one.conf", "two.txt", HOSTILE]);
        assert_eq!(r.values["matched"], 3);
        // examined: every entry of the root, hidden and directories included.
        assert_eq!(r.values["examined"], 7);
        let f = &r.values["files"].as_array().unwrap()[0];
        for k in [
            "mode", "isreg", "uid", "gid", "size", "inode", "mtime", "pw_name", "gr_name", "xoth",
        ] {
            assert!(f.get(k).is_some(), "{k} missing in {f}");
        }
        // Globs, recursion, depth.
        let r = run(
            &env,
            json!({"paths": [r0], "patterns": "*.conf", "recurse": true}),
        )
        .await;
        assert_eq!(
            paths(&r, p),
            vec![
                "a/b/c/five.conf",
                "a/b/four.conf",
                "a/three.conf",
                "one.conf"
            ]
        );
        let r = run(
            &env,
            json!({"paths": r0, "patterns": ["*.conf"], "recurse": true, "depth": 2}),
        )
        .await;
        assert_eq!(paths(&r, p), vec!["a/three.conf", "one.conf"]);
        let r = run(
            &env,
            json!({"paths": r0, "patterns": "*.conf", "hidden": true}),
        )
        .await;
        assert_eq!(paths(&r, p), vec![".dot.conf", "one.conf"]);
        // Regexes match at the start of the name; excludes drop matches.
        let r = run(
            &env,
            json!({"paths": r0, "patterns": ["f\\w+\\.conf$", "t"], "use_regex": true,
                   "excludes": ["two"], "recurse": true}),
        )
        .await;
        assert_eq!(
            paths(&r, p),
            vec!["a/b/c/five.conf", "a/b/four.conf", "a/three.conf"]
        );
        // Types, size, mode, contains, checksums.
        let r = run(
            &env,
            json!({"paths": r0, "file_type": "directory", "recurse": true}),
        )
        .await;
        assert_eq!(paths(&r, p), vec!["a", "a/b", "a/b/c"]);
        let r = run(&env, json!({"paths": r0, "file_type": "link"})).await;
        assert_eq!(paths(&r, p), vec!["link.conf"]);
        let r = run(&env, json!({"paths": r0, "size": "4k", "recurse": true})).await;
        assert_eq!(paths(&r, p), vec!["a/b/four.conf"]);
        let r = run(&env, json!({"paths": r0, "size": "-6"})).await;
        assert_eq!(paths(&r, p), vec!["two.txt"]);
        let r = run(&env, json!({"paths": r0, "mode": "0600"})).await;
        assert_eq!(paths(&r, p), vec!["two.txt"]);
        let r = run(
            &env,
            json!({"paths": r0, "contains": "(port|listen) ", "recurse": true}),
        )
        .await;
        assert_eq!(paths(&r, p), vec!["a/three.conf"]);
        let r = run(
            &env,
            json!({"paths": r0, "contains": "name=x", "read_whole_file": true}),
        )
        .await;
        assert_eq!(paths(&r, p), vec!["one.conf"]);
        let r = run(
            &env,
            json!({"paths": r0, "patterns": "two.txt", "get_checksum": true, "checksum_algorithm": "sha256"}),
        )
        .await;
        assert_eq!(
            r.values["files"][0]["checksum"],
            "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
        );
        // age: nothing is a week old; everything is younger than a day.
        let r = run(&env, json!({"paths": r0, "age": "1w"})).await;
        assert_eq!(r.values["matched"], 0);
        let r = run(&env, json!({"paths": r0, "age": "-1d"})).await;
        assert_eq!(r.values["matched"], 3);
        // limit, and a path that is not a directory.
        let r = run(&env, json!({"paths": [r0, "/nonexistent"], "limit": 1})).await;
        assert_eq!(r.values["matched"], 1);
        assert!(
            r.values["skipped_paths"]["/nonexistent"]
                .as_str()
                .unwrap()
                .contains("not a directory")
        );
        assert_eq!(
            r.msg.as_deref(),
            Some("Not all paths examined, check warnings for details")
        );
        assert_not_pwned();
    }

    #[test]
    fn units_and_paths() {
        assert_eq!(with_unit("2d", &[('d', 86400)]), Some(172800));
        assert_eq!(with_unit("-3", &[('d', 86400)]), Some(-3));
        assert_eq!(with_unit("3x", &[('d', 86400)]), None);
        assert_eq!(normpath("/a//b/./c"), "/a/b/c");
        assert_eq!(normpath("rel/"), "rel");
    }
}

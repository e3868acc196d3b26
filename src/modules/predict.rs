//! A host's predicted state in check mode: what earlier tasks of the run would have changed.
//!
//! In `--check` nothing is applied, so a later task that depends on an earlier change (a file
//! in a directory that would be created, an edit of a file that would be templated, a service
//! whose package would be installed) would plan against a host that never got the change and
//! fail or mispredict. Modules therefore record each change they plan in check mode here, and
//! consult this record before (or instead of) what they probed: a path recorded here wins over
//! the host. This module owns that per-host, per-run record: paths (file with its content when
//! known, directory, link, absent), packages, users and groups. The executor owns one per host
//! for the run and hands it to modules in [`super::ModuleContext::predicted`]; it is only
//! written in check mode (a task that really runs forgets what it touched).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use indexmap::{IndexMap, IndexSet};

use super::mode::DEFAULT_UMASK;
use super::remote::{FileAttrs, FileKind, RemoteStat};

/// A path as predicted to exist.
#[derive(Clone, Debug, PartialEq)]
pub struct PredictedPath {
    /// Its stat as it would be (owner and group by name; uid and gid 0 when only a name is
    /// known; times of the prediction).
    pub stat: RemoteStat,
    /// The whole content of a regular file, when jig knows it (it would write these bytes).
    pub content: Option<Arc<[u8]>>,
}

/// What the prediction says about a path.
#[derive(Clone, Debug, PartialEq)]
pub enum Predicted {
    /// An earlier task would have removed it (or a directory above it).
    Absent,
    /// An earlier task would have created or changed it.
    Present(PredictedPath),
}

/// The predicted state of one host (see the module header). Shared by the tasks of a run,
/// hence the interior mutability.
#[derive(Debug, Default)]
pub struct Prediction {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    paths: HashMap<String, Predicted>,
    packages: IndexSet<String>,
    users: HashSet<String>,
    groups: HashSet<String>,
}

/// The content kept for a predicted file at most; larger files keep only their stat.
pub const CONTENT_MAX: usize = 256 * 1024;

/// Removes trailing slashes (but keeps `/`), so `a/` and `a` are one path.
fn norm(path: &str) -> &str {
    let t = path.trim_end_matches('/');
    if t.is_empty() && path.starts_with('/') {
        "/"
    } else {
        t
    }
}

/// The parent directory of an absolute path (`None` for `/` or a relative path).
fn parent(path: &str) -> Option<&str> {
    match path.rfind('/') {
        Some(0) if path.len() > 1 => Some("/"),
        Some(0) | None => None,
        Some(i) => Some(&path[..i]),
    }
}

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// A new stat of `kind` with Ansible's defaults for a path that does not exist yet: created by
/// root with the default umask.
fn fresh_stat(kind: FileKind) -> RemoteStat {
    let base = match kind {
        FileKind::Directory => 0o777,
        _ => 0o666,
    };
    let t = now();
    RemoteStat {
        kind,
        mode: base & !DEFAULT_UMASK,
        uid: 0,
        gid: 0,
        owner: "root".into(),
        group: "root".into(),
        size: 0,
        mtime: t,
        atime: t,
        ctime: t,
        inode: 0,
        dev: 0,
        nlink: 1,
        link_target: None,
    }
}

/// `stat` with `attrs` applied as a write would apply them.
fn with_attrs(mut stat: RemoteStat, attrs: &FileAttrs) -> RemoteStat {
    let is_dir = stat.kind == FileKind::Directory;
    if let Some(m) = attrs
        .mode
        .as_ref()
        .and_then(|m| m.resolve(stat.mode, is_dir, DEFAULT_UMASK))
    {
        stat.mode = m;
    }
    if let Some(o) = &attrs.owner {
        if let Ok(uid) = o.parse::<u32>() {
            stat.uid = uid;
        }
        stat.owner = o.clone();
    }
    if let Some(g) = &attrs.group {
        if let Ok(gid) = g.parse::<u32>() {
            stat.gid = gid;
        }
        stat.group = g.clone();
    }
    stat
}

impl Prediction {
    /// What is predicted of `path` (links not followed), if anything: an entry for the path
    /// itself, else [`Predicted::Absent`] when a directory above it would be removed.
    pub fn path(&self, path: &str) -> Option<Predicted> {
        let inner = self.lock();
        let path = norm(path);
        if let Some(p) = inner.paths.get(path) {
            return Some(p.clone());
        }
        let mut up = parent(path);
        while let Some(dir) = up {
            match inner.paths.get(dir) {
                Some(Predicted::Absent) => return Some(Predicted::Absent),
                // A directory that would be created holds nothing else yet, unless the host
                // already had it (then the host answers).
                Some(Predicted::Present(_)) | None => {}
            }
            up = parent(dir);
        }
        None
    }

    /// [`Prediction::path`] following symbolic links that the prediction made (up to a few
    /// levels); a link to a path the prediction knows nothing of answers `None`.
    pub fn follow(&self, path: &str) -> Option<Predicted> {
        let mut cur = norm(path).to_string();
        for _ in 0..8 {
            match self.path(&cur)? {
                Predicted::Present(p) if p.stat.kind == FileKind::Link => {
                    let target = p.stat.link_target.clone().unwrap_or_default();
                    cur = match parent(&cur) {
                        _ if target.starts_with('/') => target,
                        Some("/") => format!("/{target}"),
                        Some(dir) => format!("{dir}/{target}"),
                        None => target,
                    };
                }
                other => return Some(other),
            }
        }
        None
    }

    /// Whether `dir` is predicted to be a directory.
    pub fn is_dir(&self, dir: &str) -> bool {
        matches!(self.follow(dir), Some(Predicted::Present(p)) if p.stat.kind == FileKind::Directory)
    }

    /// Records that `path` would be a regular file holding `content` (`None`: content jig
    /// cannot know, such as a copy made on the host) of `size` bytes, with `attrs` applied to
    /// `before` (the current stat, if it exists).
    pub fn put_file(
        &self,
        path: &str,
        content: Option<&[u8]>,
        size: u64,
        attrs: &FileAttrs,
        before: Option<&RemoteStat>,
    ) {
        let base = match before {
            Some(s) if s.kind == FileKind::File => s.clone(),
            _ => fresh_stat(FileKind::File),
        };
        let mut stat = with_attrs(base, attrs);
        stat.size = size;
        stat.mtime = now();
        let content = content
            .filter(|c| c.len() <= CONTENT_MAX)
            .map(Arc::<[u8]>::from);
        self.insert(path, Predicted::Present(PredictedPath { stat, content }));
    }

    /// Records that `path` would be a directory with `attrs` applied to `before`.
    pub fn put_dir(&self, path: &str, attrs: &FileAttrs, before: Option<&RemoteStat>) {
        let base = match before {
            Some(s) if s.kind == FileKind::Directory => s.clone(),
            _ => fresh_stat(FileKind::Directory),
        };
        let mut stat = with_attrs(base, attrs);
        stat.size = 4096;
        self.insert(
            path,
            Predicted::Present(PredictedPath {
                stat,
                content: None,
            }),
        );
    }

    /// Records that `path` would be a symbolic link to `target` (as written in the link).
    pub fn put_link(&self, path: &str, target: &str) {
        let mut stat = fresh_stat(FileKind::Link);
        stat.mode = 0o777;
        stat.size = target.len() as u64;
        stat.link_target = Some(target.to_string());
        self.insert(
            path,
            Predicted::Present(PredictedPath {
                stat,
                content: None,
            }),
        );
    }

    /// Records that `path` (and everything below it) would be gone.
    pub fn put_absent(&self, path: &str) {
        let path = norm(path).to_string();
        let mut inner = self.lock();
        let below = format!("{}/", path.trim_end_matches('/'));
        inner.paths.retain(|k, _| !k.starts_with(&below));
        inner.paths.insert(path, Predicted::Absent);
    }

    /// Forgets what was predicted of `path` and below: a task that really ran there made the
    /// host the truth again.
    pub fn forget(&self, path: &str) {
        let path = norm(path).to_string();
        let mut inner = self.lock();
        if inner.paths.is_empty() {
            return;
        }
        let below = format!("{}/", path.trim_end_matches('/'));
        inner
            .paths
            .retain(|k, _| k != &path && !k.starts_with(&below));
    }

    fn insert(&self, path: &str, entry: Predicted) {
        let path = norm(path).to_string();
        let mut inner = self.lock();
        // A path that would exist has its parents: any predicted removal above it is undone
        // by the creation (`file state=directory` and `create: true` make parents).
        let mut up = parent(&path).map(str::to_string);
        while let Some(dir) = up {
            let next = parent(&dir).map(str::to_string);
            if matches!(inner.paths.get(&dir), Some(Predicted::Absent)) {
                inner.paths.insert(
                    dir.clone(),
                    Predicted::Present(PredictedPath {
                        stat: fresh_stat(FileKind::Directory),
                        content: None,
                    }),
                );
            }
            up = next;
        }
        inner.paths.insert(path, entry);
    }

    /// Records packages that would be installed.
    pub fn put_packages<'a>(&self, names: impl IntoIterator<Item = &'a str>) {
        let mut inner = self.lock();
        for n in names {
            inner.packages.insert(n.to_string());
        }
    }

    /// Whether the package `name` would have been installed by an earlier task.
    pub fn has_package(&self, name: &str) -> bool {
        self.lock().packages.contains(name)
    }

    /// The packages predicted to be installed this run, in the order they were planned.
    pub fn packages(&self) -> Vec<String> {
        self.lock().packages.iter().cloned().collect()
    }

    /// Records a user that would be added.
    pub fn put_user(&self, name: &str) {
        self.lock().users.insert(name.to_string());
    }

    /// Whether a user of that name would be added.
    pub fn has_user(&self, name: &str) -> bool {
        self.lock().users.contains(name)
    }

    /// Records a group that would be added.
    pub fn put_group(&self, name: &str) {
        self.lock().groups.insert(name.to_string());
    }

    /// Whether a group of that name would be added.
    pub fn has_group(&self, name: &str) -> bool {
        self.lock().groups.contains(name)
    }

    /// Nothing is predicted (the common case outside check mode): callers skip their lookups.
    pub fn is_empty(&self) -> bool {
        let inner = self.lock();
        inner.paths.is_empty()
            && inner.packages.is_empty()
            && inner.users.is_empty()
            && inner.groups.is_empty()
    }

    /// The note a module adds to a result planned against a package predicted this run, when
    /// the thing it manages (`what`: a service, a directory) is not on the host yet; `None`
    /// when no package is predicted, so the thing cannot come from one.
    pub fn from_packages_note(&self, what: &str) -> Option<String> {
        let pkgs = self.packages();
        if pkgs.is_empty() {
            return None;
        }
        Some(format!(
            "{what} is not on the host yet; check mode assumes it comes with the package(s) \
             an earlier task would install ({})",
            pkgs.join(", ")
        ))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // The record holds plain data; one left by a panicking thread is still consistent.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The predictions of every host of a run, created on first use per host.
#[derive(Debug, Default)]
pub struct PredictedHosts {
    hosts: Mutex<IndexMap<String, Arc<Prediction>>>,
}

impl PredictedHosts {
    /// The prediction of `host` (the inventory name).
    pub fn for_host(&self, host: &str) -> Arc<Prediction> {
        let mut hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
        hosts.entry(host.to_string()).or_default().clone()
    }
}

/// The stat module's checksum of predicted content, for the algorithms jig computes locally.
pub fn checksum(algorithm: &str, content: &[u8]) -> Option<String> {
    use sha1::Digest as _;
    Some(match algorithm {
        "sha1" => hex::encode(sha1::Sha1::digest(content)),
        "sha224" => hex::encode(sha2::Sha224::digest(content)),
        "sha256" => hex::encode(sha2::Sha256::digest(content)),
        "sha384" => hex::encode(sha2::Sha384::digest(content)),
        "sha512" => hex::encode(sha2::Sha512::digest(content)),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::mode::Mode;

    fn attrs(mode: &str, owner: &str) -> FileAttrs {
        FileAttrs {
            mode: Some(Mode::Octal(u32::from_str_radix(mode, 8).unwrap())),
            owner: Some(owner.into()),
            group: None,
        }
    }

    #[test]
    fn files_directories_links_and_removals() {
        let p = Prediction::default();
        assert!(p.is_empty());
        assert_eq!(p.path("/srv/x"), None);
        p.put_file(
            "/srv/a b/$(x) é",
            Some(b"hi\n"),
            3,
            &attrs("640", "web op"),
            None,
        );
        let Some(Predicted::Present(f)) = p.path("/srv/a b/$(x) é") else {
            panic!("predicted file")
        };
        assert_eq!(f.stat.kind, FileKind::File);
        assert_eq!(f.stat.mode, 0o640);
        assert_eq!(f.stat.owner, "web op");
        assert_eq!(f.stat.group, "root");
        assert_eq!(f.stat.size, 3);
        assert_eq!(f.content.as_deref(), Some(&b"hi\n"[..]));
        // The host answers for the parent: it was not predicted.
        assert_eq!(p.path("/srv/a b"), None);

        p.put_dir("/d/", &FileAttrs::default(), None);
        assert!(p.is_dir("/d"));
        let Some(Predicted::Present(d)) = p.path("/d") else {
            panic!("predicted directory")
        };
        assert_eq!(d.stat.mode, 0o755);
        p.put_link("/l", "d");
        assert!(p.is_dir("/l"), "a relative link is followed");
        assert!(
            matches!(p.path("/l"), Some(Predicted::Present(l)) if l.stat.kind == FileKind::Link)
        );

        p.put_file("/d/in", None, 9, &FileAttrs::default(), None);
        p.put_absent("/d");
        assert_eq!(p.path("/d/in"), Some(Predicted::Absent));
        assert_eq!(p.path("/d/other/deeper"), Some(Predicted::Absent));
        assert!(!p.is_dir("/l"));
        // Creating below a removed directory brings the directory back.
        p.put_file("/d/new", Some(b""), 0, &FileAttrs::default(), None);
        assert!(p.is_dir("/d"));
        p.forget("/d");
        assert_eq!(p.path("/d/new"), None);
        assert_eq!(p.path("/d"), None);
    }

    #[test]
    fn existing_stat_keeps_what_attrs_leave() {
        let p = Prediction::default();
        let mut before = fresh_stat(FileKind::File);
        before.mode = 0o600;
        before.owner = "alice".into();
        before.uid = 1000;
        p.put_file("/f", Some(b"x"), 1, &FileAttrs::default(), Some(&before));
        let Some(Predicted::Present(f)) = p.path("/f") else {
            panic!()
        };
        assert_eq!(
            (f.stat.mode, f.stat.uid, f.stat.owner.as_str()),
            (0o600, 1000, "alice")
        );
        // Too large to keep: only the stat.
        p.put_file(
            "/big",
            Some(&vec![0; CONTENT_MAX + 1]),
            1,
            &FileAttrs::default(),
            None,
        );
        let Some(Predicted::Present(b)) = p.path("/big") else {
            panic!()
        };
        assert_eq!(b.content, None);
    }

    #[test]
    fn packages_users_groups_and_hosts() {
        let hosts = PredictedHosts::default();
        let p = hosts.for_host("a");
        assert_eq!(p.from_packages_note("service nginx"), None);
        p.put_packages(["nginx", "curl"]);
        p.put_user("webop");
        p.put_group("webops");
        assert!(p.has_user("webop") && !p.has_user("root"));
        assert!(p.has_group("webops"));
        let note = p.from_packages_note("service nginx").unwrap();
        assert!(note.contains("nginx, curl"), "{note}");
        assert!(hosts.for_host("b").is_empty());
        assert!(!hosts.for_host("a").is_empty());
    }

    #[test]
    fn checksums_of_predicted_content() {
        assert_eq!(
            checksum("sha1", b"hello\n").as_deref(),
            Some("f572d396fae9206628714fb2ce00f72e94f2258f")
        );
        assert_eq!(checksum("md5", b"x"), None);
    }
    /// The modules planning against predictions, on the controller itself (a local
    /// connection into a temporary directory): every task runs in check mode, so nothing but
    /// the prediction knows what the earlier ones would have done.
    mod modules {
        use super::super::*;
        use crate::modules::remote::testutil::{Env, HOSTILE};
        use crate::modules::{ModuleArgs, ModuleResult};
        use serde_json::{Value as Json, json};

        fn margs(module: &str, v: Json) -> ModuleArgs {
            ModuleArgs::new(module, v.as_object().unwrap().clone().into_iter().collect())
        }

        async fn check(env: &Env, module: &str, v: Json) -> ModuleResult {
            let m = crate::modules::lookup(module).unwrap();
            m.run(&margs(module, v), &env.ctx(true, true))
                .await
                .unwrap()
        }

        fn stat_of(r: &ModuleResult) -> &serde_json::Map<String, Json> {
            r.values["stat"].as_object().unwrap()
        }

        #[tokio::test]
        async fn file_copy_stat_slurp_and_edits_plan_against_the_prediction() {
            let tmp = tempfile::tempdir().unwrap();
            let env = Env::new(tmp.path());
            let dir = tmp.path().join(HOSTILE).join("new dir");
            let dir = dir.to_str().unwrap();
            let page = format!("{dir}/index.html");

            // file: a directory that would be created.
            let r = check(
                &env,
                "file",
                json!({"path": dir, "state": "directory", "mode": "0750"}),
            )
            .await;
            assert!(r.changed && !r.failed, "{r:?}");
            assert!(env.predicted.is_dir(dir));
            // stat of it: predicted, not absent.
            let r = check(&env, "stat", json!({"path": dir})).await;
            let st = stat_of(&r);
            assert_eq!(
                (st["exists"].clone(), st["isdir"].clone()),
                (json!(true), json!(true))
            );
            assert_eq!(st["mode"], json!("0750"));

            // copy into it, then the same copy again: unchanged, as in the real run.
            let content = "héllo $(x) 'q'\nline two\n";
            let args = json!({"content": content, "dest": page, "mode": "0640", "owner": "nobody"});
            let r = check(&env, "copy", args.clone()).await;
            assert!(r.changed && !r.failed, "{r:?}");
            let r = check(&env, "copy", args).await;
            assert!(
                !r.changed && !r.failed,
                "the second copy finds the predicted file: {r:?}"
            );
            // Only the mode differs: an attribute change.
            let r = check(
                &env,
                "copy",
                json!({"content": content, "dest": page, "mode": "0644"}),
            )
            .await;
            assert!(r.changed && !r.failed, "{r:?}");
            assert_eq!(r.values["mode"], json!("0644"));

            // stat: the predicted file with its checksum; slurp: its content.
            let r = check(&env, "stat", json!({"path": page})).await;
            let st = stat_of(&r);
            assert_eq!(st["isreg"], json!(true));
            assert_eq!(st["size"], json!(content.len()));
            assert_eq!(st["pw_name"], json!("nobody"));
            assert_eq!(
                st["checksum"],
                json!(checksum("sha1", content.as_bytes()).unwrap())
            );
            let r = check(&env, "slurp", json!({"src": page})).await;
            use base64::Engine as _;
            let got = base64::engine::general_purpose::STANDARD
                .decode(r.values["content"].as_str().unwrap())
                .unwrap();
            assert_eq!(got, content.as_bytes());

            // lineinfile / replace / blockinfile edit the predicted content.
            let r = check(
                &env,
                "lineinfile",
                json!({"path": page, "line": "line two"}),
            )
            .await;
            assert!(
                !r.changed && !r.failed,
                "the line is in the predicted file: {r:?}"
            );
            let r = check(&env, "lineinfile", json!({"path": page, "line": "added"})).await;
            assert!(r.changed && !r.failed, "{r:?}");
            let r = check(&env, "lineinfile", json!({"path": page, "line": "added"})).await;
            assert!(!r.changed, "the edit itself is predicted: {r:?}");
            let r = check(
                &env,
                "replace",
                json!({"path": page, "regexp": "two", "replace": "2"}),
            )
            .await;
            assert!(r.changed && !r.failed, "{r:?}");
            let r = check(&env, "blockinfile", json!({"path": page, "block": "b"})).await;
            assert!(r.changed && !r.failed, "{r:?}");
            let Some(Predicted::Present(p)) = env.predicted.path(&page) else {
                panic!()
            };
            let text = String::from_utf8(p.content.unwrap().to_vec()).unwrap();
            assert!(
                text.starts_with(
                    "héllo $(x) 'q'\nline 2\nadded\n# BEGIN ANSIBLE MANAGED BLOCK\nb\n"
                ),
                "{text}"
            );

            // A link to the predicted file plans (the source exists in the prediction).
            let link = format!("{dir}/link");
            let r = check(
                &env,
                "file",
                json!({"src": page, "dest": link, "state": "link"}),
            )
            .await;
            assert!(r.changed && !r.failed, "{r:?}");
            let r = check(&env, "stat", json!({"path": link, "follow": true})).await;
            assert_eq!(stat_of(&r)["isreg"], json!(true));

            // absent: later tasks see it gone.
            let r = check(&env, "file", json!({"path": dir, "state": "absent"})).await;
            assert!(r.changed, "the directory would be there by then: {r:?}");
            let r = check(&env, "stat", json!({"path": page})).await;
            assert_eq!(
                stat_of(&r)["exists"],
                json!(false),
                "gone with its directory"
            );
            let r = check(&env, "lineinfile", json!({"path": page, "line": "x"})).await;
            assert!(r.failed, "{r:?}");
            std::fs::create_dir_all(tmp.path().join("real")).unwrap();
            std::fs::write(tmp.path().join("real/f"), "x").unwrap();
            let real = tmp.path().join("real");
            let real = real.to_str().unwrap();
            let r = check(&env, "file", json!({"path": real, "state": "absent"})).await;
            assert!(r.changed, "{r:?}");
            let r = check(&env, "stat", json!({"path": format!("{real}/f")})).await;
            assert_eq!(stat_of(&r)["exists"], json!(false));
            let r = check(&env, "slurp", json!({"src": format!("{real}/f")})).await;
            assert!(r.failed, "{r:?}");
            assert!(
                tmp.path().join("real/f").exists(),
                "check mode never changes the host"
            );
            assert!(!std::path::Path::new(dir).exists());
        }

        #[tokio::test]
        async fn commands_decide_creates_and_removes_from_the_prediction() {
            let tmp = tempfile::tempdir().unwrap();
            let env = Env::new(tmp.path());
            let made = tmp.path().join("made $(x)");
            let made = made.to_str().unwrap();
            // Nothing known: the host decides (absent there), the command would run and its
            // `creates` is then predicted.
            let r = check(
                &env,
                "command",
                json!({"_raw_params": "touch x", "creates": made}),
            )
            .await;
            assert!(r.changed && !r.skipped, "{r:?}");
            assert!(matches!(
                env.predicted.path(made),
                Some(Predicted::Present(_))
            ));
            let r = check(
                &env,
                "shell",
                json!({"_raw_params": "touch x", "creates": made}),
            )
            .await;
            assert!(!r.changed, "{r:?}");
            assert_eq!(
                r.msg.as_deref(),
                Some(format!("Would not run command since '{made}' exists").as_str())
            );
            // removes of a predicted path would run, and the path is then predicted gone.
            let r = check(
                &env,
                "command",
                json!({"_raw_params": "rm x", "removes": made}),
            )
            .await;
            assert!(r.changed, "{r:?}");
            let r = check(
                &env,
                "command",
                json!({"_raw_params": "rm x", "removes": made}),
            )
            .await;
            assert!(!r.changed, "{r:?}");
            assert_eq!(
                r.msg.as_deref(),
                Some(format!("Would not run command since '{made}' does not exist").as_str())
            );
            // Without a guard: skipped as Ansible does, with the message the recap counts.
            let r = check(&env, "command", json!({"_raw_params": "echo hi"})).await;
            assert!(r.skipped && !r.changed);
            assert_eq!(r.values["msg"], json!(crate::modules::command::WOULD_RUN));
        }

        #[tokio::test]
        async fn services_from_predicted_packages_and_accounts() {
            let tmp = tempfile::tempdir().unwrap();
            let env = Env::new(tmp.path());
            let ctx = env.ctx(true, false);
            use crate::modules::systemd::{Manager, Wanted, from_predicted_package};
            assert_eq!(
                from_predicted_package(&ctx, "nginx", Some(Wanted::Started), None, Manager::Sysv),
                None
            );
            env.predicted.put_packages(["nginx"]);
            let r = from_predicted_package(
                &ctx,
                "nginx",
                Some(Wanted::Started),
                Some(true),
                Manager::Sysv,
            )
            .unwrap();
            assert!(r.changed && !r.failed);
            assert!(r.msg.unwrap().contains("(nginx)"));
            let r = from_predicted_package(
                &ctx,
                "nginx",
                Some(Wanted::Stopped),
                Some(true),
                Manager::Sysv,
            )
            .unwrap();
            assert!(
                !r.changed,
                "a fresh package's service is enabled and stopped"
            );
            let r =
                from_predicted_package(&ctx, "nginx", None, Some(false), Manager::Sysv).unwrap();
            assert!(r.changed);
            assert_eq!(
                from_predicted_package(
                    &env.ctx(false, false),
                    "nginx",
                    None,
                    Some(false),
                    Manager::Systemd
                ),
                None
            );

            // Without systemd a unit name is never found, even when its package is coming;
            // with systemctl the package's unit file is.
            env.predicted.put_packages(["logrotate"]);
            for unit in ["logrotate.timer", "nginx.service", "x.socket"] {
                let r =
                    from_predicted_package(&ctx, unit, Some(Wanted::Started), None, Manager::Sysv);
                assert_eq!(r, None, "{unit}");
            }
            let r = from_predicted_package(
                &ctx,
                "logrotate.timer",
                Some(Wanted::Started),
                None,
                Manager::Systemd,
            );
            assert!(r.is_some_and(|r| r.changed));

            // group and user added in check mode are predicted, with the user's home.
            let r = check(&env, "group", json!({"name": "jig-pred-group"})).await;
            assert!(r.changed && !r.failed, "{r:?}");
            assert!(env.predicted.has_group("jig-pred-group"));
            let r = check(
                &env,
                "user",
                json!({"name": "jig-pred-user", "group": "jig-pred-group"}),
            )
            .await;
            assert!(r.changed && !r.failed, "{r:?}");
            assert!(env.predicted.has_user("jig-pred-user"));
            assert!(env.predicted.is_dir("/home/jig-pred-user"));
            // An existing user put into a group check mode would add: planned, not failed.
            let me = String::from_utf8(
                std::process::Command::new("id")
                    .arg("-un")
                    .output()
                    .unwrap()
                    .stdout,
            )
            .unwrap();
            let r = check(
                &env,
                "user",
                json!({"name": me.trim(), "groups": ["jig-pred-group"], "append": true}),
            )
            .await;
            assert!(r.changed && !r.failed, "{r:?}");
            let r = check(
                &env,
                "user",
                json!({"name": me.trim(), "groups": ["jig-no-such-group"], "append": true}),
            )
            .await;
            assert!(r.failed, "{r:?}");
        }
    }
}

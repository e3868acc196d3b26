//! Files whose whole content jig knows on a host because it wrote (or read) them this run.
//!
//! The common role pattern is "template a config, then lineinfile it". The edit modules must
//! read a file before they can edit it, which costs a round trip of its own; when jig wrote
//! the file an earlier task ago it already has the bytes. This module owns that per-host,
//! per-run record: path -> (sha256, content). It is only a hint: a module that uses it must
//! check on the host that the file's sha256 still equals the recorded one (a command or a
//! handler may have changed it) and fall back to reading the file when it does not.
//!
//! The record is capped so a run over many large files does not grow without bound: files
//! over [`FILE_MAX`] are not kept, and past [`HOST_MAX`] bytes per host the oldest entries
//! are dropped first.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use indexmap::IndexMap;
use sha2::{Digest, Sha256};

/// The largest file whose content is kept.
pub const FILE_MAX: usize = 256 * 1024;
/// The most content kept for one host.
pub const HOST_MAX: usize = 4 * 1024 * 1024;

/// A file's content as jig last wrote or read it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Known {
    /// Lowercase hex sha256 of [`Known::content`], as `sha256sum` prints it.
    pub sha256: String,
    /// The whole content.
    pub content: Arc<[u8]>,
}

/// The record of one host's known files (see the module header). Shared by the tasks of a
/// run, hence the interior mutability.
#[derive(Debug, Default)]
pub struct KnownFiles {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// In recording order, so the oldest is dropped first.
    files: IndexMap<String, Known>,
    bytes: usize,
}

impl Inner {
    fn remove(&mut self, path: &str) {
        if let Some(old) = self.files.shift_remove(path) {
            self.bytes -= old.content.len();
        }
    }
}

impl KnownFiles {
    /// Records that the file at `path` now holds exactly `content`. Content over
    /// [`FILE_MAX`] is not kept (and forgets what was known of `path`).
    pub fn record(&self, path: &str, content: &[u8]) {
        let mut inner = self.lock();
        inner.remove(path);
        if content.len() > FILE_MAX {
            return;
        }
        while inner.bytes + content.len() > HOST_MAX {
            let Some((_, oldest)) = inner.files.shift_remove_index(0) else {
                break;
            };
            inner.bytes -= oldest.content.len();
        }
        inner.bytes += content.len();
        inner.files.insert(
            path.to_string(),
            Known {
                sha256: hex::encode(Sha256::digest(content)),
                content: Arc::from(content),
            },
        );
    }

    /// Forgets `path` (its content is no longer known).
    pub fn forget(&self, path: &str) {
        self.lock().remove(path);
    }

    /// What is known of `path`, if anything.
    pub fn get(&self, path: &str) -> Option<Known> {
        self.lock().files.get(path).cloned()
    }

    /// The bytes of content kept.
    pub fn bytes(&self) -> usize {
        self.lock().bytes
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // The record is a hint checked on the host before use, so one left by a panicking
        // thread is still safe to use.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The known files of every host of a run, created on first use per host.
#[derive(Debug, Default)]
pub struct KnownHosts {
    hosts: Mutex<HashMap<String, Arc<KnownFiles>>>,
}

impl KnownHosts {
    /// The record of `host` (the inventory name).
    pub fn for_host(&self, host: &str) -> Arc<KnownFiles> {
        let mut hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
        hosts.entry(host.to_string()).or_default().clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_replaces_and_forgets() {
        let k = KnownFiles::default();
        assert_eq!(k.get("/a"), None);
        k.record("/a", b"hello\n");
        let a = k.get("/a").unwrap();
        assert_eq!(&*a.content, b"hello\n");
        // sha256sum of "hello\n".
        assert_eq!(
            a.sha256,
            "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
        );
        k.record("/a", b"x");
        assert_eq!(&*k.get("/a").unwrap().content, b"x");
        assert_eq!(k.bytes(), 1);
        k.forget("/a");
        assert_eq!(k.get("/a"), None);
        assert_eq!(k.bytes(), 0);
    }

    #[test]
    fn the_cap_keeps_small_files_and_drops_the_oldest() {
        let k = KnownFiles::default();
        k.record("/big", &vec![b'x'; FILE_MAX + 1]);
        assert_eq!(k.get("/big"), None);
        k.record("/f", &vec![b'y'; FILE_MAX]);
        assert!(k.get("/f").is_some());
        // A file grown past the cap is forgotten, not left with its old content.
        k.record("/f", &vec![b'y'; FILE_MAX + 1]);
        assert_eq!(k.get("/f"), None);
        let n = HOST_MAX / FILE_MAX;
        for i in 0..=n {
            k.record(&format!("/{i}"), &vec![b'z'; FILE_MAX]);
        }
        assert!(k.bytes() <= HOST_MAX);
        assert_eq!(k.get("/0"), None, "the oldest went first");
        assert!(k.get(&format!("/{n}")).is_some());
        assert!(k.get("/1").is_some());
    }

    #[test]
    fn hosts_have_their_own_records() {
        let hosts = KnownHosts::default();
        hosts.for_host("a").record("/f", b"1");
        assert!(hosts.for_host("a").get("/f").is_some());
        assert!(hosts.for_host("b").get("/f").is_none());
    }
}

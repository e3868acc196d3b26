//! The `chroot` connection: tasks run inside a root file system tree on the controller.
//!
//! `ansible_connection=chroot` with the inventory host (or `ansible_host`) naming the tree.
//! Every command is `chroot ROOT /bin/sh -c LINE`, LINE being the same
//! [`ExecRequest::shell_line`] the SSH transport sends, under a clean environment (`PATH`,
//! `HOME=/root`, `LANG=C.UTF-8`, and the controller's `SOURCE_DATE_EPOCH` when set), so every
//! module works unchanged.
//!
//! Become: jig runs as root, so becoming `root` is a no-op; becoming another user runs the
//! line with the image's own `su USER -s /bin/sh -c` (root needs no password), whatever
//! `become_method` says, because the image need not have sudo.
//!
//! This module owns the mounts a tree needs while tasks run in it: `/proc` (proc), `/sys`
//! (sysfs, read-only), `/dev` (a private tmpfs with the usual device nodes, never the
//! controller's own `/dev`, so nothing done in the tree can reach the controller's devices)
//! and `/dev/pts` (a new devpts instance), plus the read-only bind mounts the host's
//! `jig_chroot_binds` ask for. They are mounted when the first connection to a tree opens and
//! unmounted when the last one closes (drop: the end of a run, an error, a panic unwinding).
//! A mount point that was already mounted is left alone: jig unmounts only what it mounted.
//!
//! It also owns interruption: the first chroot connection (or [`on_interrupt_remove`]) installs
//! a SIGINT/SIGTERM handler that unmounts everything jig mounted, removes the paths registered
//! with [`on_interrupt_remove`] (a bake's partial output and work tree), and exits with 130.

use std::ffi::CString;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Mutex, MutexGuard, Once};

use super::local::LocalConnection;
use super::{Become, BecomeMethod, Cmd, ConnectionError, ExecOutput, ExecRequest};

/// The `PATH` commands in the tree run with.
const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// One read-only bind mount into the tree for the connection's lifetime (e.g. a local apt
/// repository the image's sources point at).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bind {
    /// The controller's directory or file.
    pub source: PathBuf,
    /// Where it appears inside the tree (absolute, as seen from inside).
    pub target: PathBuf,
}

impl Bind {
    /// Parses `SOURCE:TARGET` (TARGET absolute inside the tree).
    pub fn parse(s: &str) -> Result<Bind, String> {
        let (src, dst) = s
            .split_once(':')
            .ok_or_else(|| format!("bind mount '{s}' is not SOURCE:TARGET"))?;
        if src.is_empty() || !dst.starts_with('/') {
            return Err(format!(
                "bind mount '{s}': SOURCE must be set and TARGET absolute (as seen in the tree)"
            ));
        }
        Ok(Bind {
            source: PathBuf::from(src),
            target: PathBuf::from(dst),
        })
    }
}

/// Runs commands inside a root file system tree with `chroot`.
#[derive(Debug)]
pub struct ChrootConnection {
    host: String,
    root: PathBuf,
    local: LocalConnection,
}

impl ChrootConnection {
    /// Opens a connection to the tree at `root` for inventory host `host`: checks the tree has
    /// a shell, then mounts what it needs (see the module docs). Errors say what is wrong.
    pub fn open(host: &str, root: &Path, binds: &[Bind]) -> Result<Self, ConnectionError> {
        let fail = |message: String| ConnectionError::Connect {
            host: host.to_string(),
            message,
        };
        let root = std::fs::canonicalize(root).map_err(|e| {
            fail(format!(
                "the chroot tree {} cannot be used: {e} (set ansible_host to the root file \
                 system's directory)",
                root.display()
            ))
        })?;
        if root == Path::new("/") {
            return Err(fail(
                "refusing to chroot into / (the controller itself): use ansible_connection=local"
                    .into(),
            ));
        }
        if std::fs::symlink_metadata(root.join("bin/sh")).is_err() {
            return Err(fail(format!(
                "{} has no /bin/sh: it is not a root file system",
                root.display()
            )));
        }
        if unsafe { libc::geteuid() } != 0 {
            return Err(fail(
                "the chroot connection needs root (chroot and mount): run jig as root".into(),
            ));
        }
        install_interrupt_handler();
        acquire(&root, binds).map_err(fail)?;
        Ok(ChrootConnection {
            host: host.to_string(),
            local: LocalConnection::new(host),
            root,
        })
    }

    /// The tree this connection runs in.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Runs `req` inside the tree.
    pub async fn exec(&self, req: &ExecRequest) -> Result<ExecOutput, ConnectionError> {
        let mut inner = req.clone();
        inner.become_ = chroot_become(req.become_.as_ref());
        let line = inner.shell_line();
        let mut cmd = Cmd::new("env");
        cmd.arg("-i")
            .arg(&format!("PATH={PATH}"))
            .arg("HOME=/root")
            .arg("LANG=C.UTF-8");
        // Tools that stamp dates (shadow's last password change...) honour it: reproducible.
        if let Ok(v) = std::env::var("SOURCE_DATE_EPOCH") {
            cmd.arg(&format!("SOURCE_DATE_EPOCH={v}"));
        }
        cmd.arg("chroot")
            .arg(&self.root.to_string_lossy())
            .arg("/bin/sh")
            .arg("-c")
            .arg(&line);
        let outer = ExecRequest {
            command: cmd.into_string(),
            stdin: req.stdin.clone(),
            become_: None,
            timeout: None,
        };
        self.local.exec(&outer).await.map_err(|e| match e {
            ConnectionError::Spawn { source, .. } => ConnectionError::Spawn {
                host: self.host.clone(),
                source,
            },
            other => other,
        })
    }
}

impl Drop for ChrootConnection {
    fn drop(&mut self) {
        release(&self.root);
    }
}

/// Becoming root is a no-op (jig is root); another user goes through the image's `su`.
fn chroot_become(b: Option<&Become>) -> Option<Become> {
    let b = b?;
    if b.user == "root" || b.user == "0" {
        return None;
    }
    Some(Become {
        user: b.user.clone(),
        method: BecomeMethod::Su,
        flags: Vec::new(),
    })
}

/// What jig mounted in one tree, and how many open connections use it.
struct TreeMounts {
    root: PathBuf,
    users: usize,
    /// Mount points jig mounted, in mount order (unmounted in reverse).
    mounted: Vec<PathBuf>,
}

/// Every tree with live chroot connections.
static TREES: Mutex<Vec<TreeMounts>> = Mutex::new(Vec::new());
/// Paths removed when the process is interrupted.
static ON_INTERRUPT: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves the data consistent (plain pushes/removals).
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn acquire(root: &Path, binds: &[Bind]) -> Result<(), String> {
    let mut trees = lock(&TREES);
    if let Some(t) = trees.iter_mut().find(|t| t.root == root) {
        t.users += 1;
        return Ok(());
    }
    let mut mounted = Vec::new();
    match mount_all(root, binds, &mut mounted) {
        Ok(()) => {
            trees.push(TreeMounts {
                root: root.to_path_buf(),
                users: 1,
                mounted,
            });
            Ok(())
        }
        Err(e) => {
            unmount_all(&mounted);
            Err(e)
        }
    }
}

fn release(root: &Path) {
    let mut trees = lock(&TREES);
    let Some(i) = trees.iter().position(|t| t.root == root) else {
        return;
    };
    trees[i].users -= 1;
    if trees[i].users == 0 {
        let t = trees.remove(i);
        unmount_all(&t.mounted);
    }
}

/// True when some tree has live chroot mounts (for tests and the bake's sanity checks).
pub fn mounts_active_under(dir: &Path) -> bool {
    mount_points()
        .iter()
        .any(|m| m.starts_with(dir) && m != dir)
}

/// The mount points of this process's mount namespace, from `/proc/self/mountinfo`.
pub fn mount_points() -> Vec<PathBuf> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    text.lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(|m| PathBuf::from(unescape_mountinfo(m)))
        .collect()
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo`.
fn unescape_mountinfo(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() && b[i + 1..i + 4].iter().all(u8::is_ascii_digit) {
            let v = (b[i + 1] - b'0') as u32 * 64
                + (b[i + 2] - b'0') as u32 * 8
                + (b[i + 3] - b'0') as u32;
            out.push(v as u8);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn is_mount_point(p: &Path) -> bool {
    mount_points().iter().any(|m| m == p)
}

fn mount_all(root: &Path, binds: &[Bind], mounted: &mut Vec<PathBuf>) -> Result<(), String> {
    use libc::{MS_BIND, MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_RDONLY, MS_REC, MS_REMOUNT};
    let nse = MS_NOSUID | MS_NODEV | MS_NOEXEC;
    let step = |what: &str, at: &Path, e: io::Error| {
        format!("cannot mount {what} on {}: {e}", at.display())
    };
    let mut plain = |rel: &str, fstype: &str, flags: libc::c_ulong, data: &str| {
        let at = root.join(rel);
        if is_mount_point(&at) {
            return Ok(false);
        }
        std::fs::create_dir_all(&at).map_err(|e| step(fstype, &at, e))?;
        mount(fstype, &at, Some(fstype), flags, Some(data)).map_err(|e| step(fstype, &at, e))?;
        mounted.push(at);
        Ok::<bool, String>(true)
    };
    plain("proc", "proc", nse, "")?;
    plain("sys", "sysfs", nse | MS_RDONLY, "")?;
    if plain(
        "dev",
        "tmpfs",
        MS_NOSUID | MS_NOEXEC,
        "mode=755,size=65536k",
    )? {
        populate_dev(&root.join("dev"))
            .map_err(|e| format!("cannot fill {}/dev: {e}", root.display()))?;
    }
    plain(
        "dev/pts",
        "devpts",
        MS_NOSUID | MS_NOEXEC,
        "newinstance,ptmxmode=0666,mode=620",
    )?;
    for b in binds {
        let rel = b.target.strip_prefix("/").unwrap_or(&b.target);
        let at = root.join(rel);
        if !b.source.exists() {
            return Err(format!(
                "bind mount source {} does not exist",
                b.source.display()
            ));
        }
        if b.source.is_dir() {
            std::fs::create_dir_all(&at).map_err(|e| step("bind", &at, e))?;
        } else {
            if let Some(parent) = at.parent() {
                std::fs::create_dir_all(parent).map_err(|e| step("bind", &at, e))?;
            }
            if !at.exists() {
                std::fs::write(&at, b"").map_err(|e| step("bind", &at, e))?;
            }
        }
        let src = b.source.to_string_lossy();
        mount(&src, &at, None, MS_BIND | MS_REC, None).map_err(|e| step(&src, &at, e))?;
        mounted.push(at.clone());
        // A bind mount takes MS_RDONLY only on a remount.
        mount(&src, &at, None, MS_BIND | MS_REMOUNT | MS_RDONLY, None)
            .map_err(|e| step(&src, &at, e))?;
    }
    Ok(())
}

/// The device nodes and links a program expects in `/dev`.
fn populate_dev(dev: &Path) -> io::Result<()> {
    for (name, major, minor) in [
        ("null", 1, 3),
        ("zero", 1, 5),
        ("full", 1, 7),
        ("random", 1, 8),
        ("urandom", 1, 9),
        ("tty", 5, 0),
    ] {
        let p = cstr(&dev.join(name))?;
        let rc = unsafe {
            libc::mknod(
                p.as_ptr(),
                libc::S_IFCHR | 0o666,
                libc::makedev(major, minor),
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        // mknod honours the umask; the nodes must be usable by every user.
        let rc = unsafe { libc::chmod(p.as_ptr(), 0o666) };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    for d in ["pts", "shm"] {
        std::fs::create_dir_all(dev.join(d))?;
    }
    std::fs::set_permissions(
        dev.join("shm"),
        std::os::unix::fs::PermissionsExt::from_mode(0o1777),
    )?;
    for (name, target) in [
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
        ("ptmx", "pts/ptmx"),
    ] {
        std::os::unix::fs::symlink(target, dev.join(name))?;
    }
    Ok(())
}

fn cstr(p: &Path) -> io::Result<CString> {
    CString::new(p.as_os_str().as_encoded_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))
}

fn mount(
    source: &str,
    target: &Path,
    fstype: Option<&str>,
    flags: libc::c_ulong,
    data: Option<&str>,
) -> io::Result<()> {
    let src = CString::new(source).map_err(|_| io::ErrorKind::InvalidInput)?;
    let tgt = cstr(target)?;
    let fs = fstype
        .map(CString::new)
        .transpose()
        .map_err(|_| io::ErrorKind::InvalidInput)?;
    let data = data
        .filter(|d| !d.is_empty())
        .map(CString::new)
        .transpose()
        .map_err(|_| io::ErrorKind::InvalidInput)?;
    let rc = unsafe {
        libc::mount(
            src.as_ptr(),
            tgt.as_ptr(),
            fs.as_ref().map_or(std::ptr::null(), |f| f.as_ptr()),
            flags,
            data.as_ref()
                .map_or(std::ptr::null(), |d| d.as_ptr().cast()),
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Unmounts `mounted` in reverse order; a busy mount (a process left running in the tree) is
/// detached instead, so it disappears from the namespace now and is freed when unused.
fn unmount_all(mounted: &[PathBuf]) {
    for at in mounted.iter().rev() {
        let Ok(p) = cstr(at) else { continue };
        let rc = unsafe { libc::umount2(p.as_ptr(), 0) };
        if rc != 0 {
            unsafe { libc::umount2(p.as_ptr(), libc::MNT_DETACH) };
        }
    }
}

/// A path removed if the process is interrupted while this guard lives (a partial output, a
/// work tree); dropping the guard forgets it (the path is kept).
#[derive(Debug)]
pub struct RemoveOnInterrupt {
    path: PathBuf,
}

/// Registers `path` for removal on SIGINT/SIGTERM (after every chroot mount is gone) and
/// installs the handler.
pub fn on_interrupt_remove(path: &Path) -> RemoveOnInterrupt {
    install_interrupt_handler();
    lock(&ON_INTERRUPT).push(path.to_path_buf());
    RemoveOnInterrupt {
        path: path.to_path_buf(),
    }
}

impl Drop for RemoveOnInterrupt {
    fn drop(&mut self) {
        let mut list = lock(&ON_INTERRUPT);
        if let Some(i) = list.iter().rposition(|p| *p == self.path) {
            list.remove(i);
        }
    }
}

/// The write end of the self-pipe the signal handler writes to.
static SIGNAL_PIPE: AtomicI32 = AtomicI32::new(-1);

extern "C" fn on_signal(sig: libc::c_int) {
    // Only async-signal-safe work here: one write(2); the cleanup thread does the rest.
    let fd = SIGNAL_PIPE.load(Ordering::SeqCst);
    if fd >= 0 {
        let b = sig as u8;
        unsafe { libc::write(fd, (&b as *const u8).cast(), 1) };
    }
}

/// Installs the SIGINT/SIGTERM handler once per process.
pub fn install_interrupt_handler() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let mut fds = [0 as libc::c_int; 2];
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
            return;
        }
        let read_fd = fds[0];
        let spawned = std::thread::Builder::new()
            .name("jig-interrupt".into())
            .spawn(move || {
                let mut b = 0u8;
                loop {
                    let n = unsafe { libc::read(read_fd, (&mut b as *mut u8).cast(), 1) };
                    if n == 1 {
                        break;
                    }
                    if n < 0 && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                        continue;
                    }
                    return;
                }
                cleanup_after_interrupt();
                std::process::exit(130);
            });
        if spawned.is_err() {
            return;
        }
        SIGNAL_PIPE.store(fds[1], Ordering::SeqCst);
        for sig in [libc::SIGINT, libc::SIGTERM] {
            unsafe {
                let mut act: libc::sigaction = std::mem::zeroed();
                act.sa_sigaction = on_signal as *const () as libc::sighandler_t;
                act.sa_flags = libc::SA_RESTART;
                libc::sigemptyset(&mut act.sa_mask);
                libc::sigaction(sig, &act, std::ptr::null_mut());
            }
        }
    });
}

/// Unmounts every tree's mounts, then removes the registered paths (never one with a mount
/// left below it: removing through a mount would delete what it shows).
fn cleanup_after_interrupt() {
    let trees: Vec<TreeMounts> = std::mem::take(&mut *lock(&TREES));
    for t in &trees {
        unmount_all(&t.mounted);
    }
    let paths: Vec<PathBuf> = std::mem::take(&mut *lock(&ON_INTERRUPT));
    for p in paths.iter().rev() {
        if mounts_active_under(p) {
            eprintln!(
                "jig: interrupted: {} still has mounts below it; left in place",
                p.display()
            );
            continue;
        }
        let _ = if p.is_dir() && !p.is_symlink() {
            std::fs::remove_dir_all(p)
        } else {
            std::fs::remove_file(p)
        };
    }
    eprintln!("jig: interrupted: chroot mounts removed, partial output deleted");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binds_parse_and_become_maps_to_su() {
        assert_eq!(
            Bind::parse("/srv/a b:/srv/jig-apt").unwrap(),
            Bind {
                source: "/srv/a b".into(),
                target: "/srv/jig-apt".into()
            }
        );
        assert!(Bind::parse("/x").is_err());
        assert!(Bind::parse("/x:rel").is_err());
        assert_eq!(chroot_become(Some(&Become::default())), None);
        let b = chroot_become(Some(&Become {
            user: "www data".into(),
            method: BecomeMethod::Sudo,
            flags: vec!["-E".into()],
        }))
        .unwrap();
        assert_eq!(b.method, BecomeMethod::Su);
        assert!(b.flags.is_empty());
    }

    #[test]
    fn mountinfo_escapes_are_decoded() {
        assert_eq!(unescape_mountinfo("/a\\040b\\134c"), "/a b\\c");
        assert_eq!(unescape_mountinfo("/plain"), "/plain");
        assert!(mount_points().contains(&PathBuf::from("/")));
    }

    #[test]
    fn a_tree_without_a_shell_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let e = ChrootConnection::open("img", d.path(), &[]).unwrap_err();
        assert!(e.to_string().contains("no /bin/sh"), "{e}");
        let e = ChrootConnection::open("img", Path::new("/"), &[]).unwrap_err();
        assert!(e.to_string().contains("refusing"), "{e}");
    }
}

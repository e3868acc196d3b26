//! A reproducible tar writer for a root file system tree.
//!
//! Written here rather than with the `tar` crate because every byte of the header must be a
//! pure function of the tree and `SOURCE_DATE_EPOCH`: entries in byte order of their paths,
//! mtimes clamped, numeric uid/gid with empty user/group names, no atime/ctime, device numbers
//! only for devices, hard links as links to the first path seen, extended attributes
//! (`security.capability` of ping and friends) as PAX `SCHILY.xattr.*` records, and PAX
//! `path`/`linkpath`/`size` records exactly when ustar cannot hold a value. The format is
//! POSIX pax (ustar headers), which GNU tar, bsdtar, umoci, podman and docker read.

use std::collections::HashMap;
use std::ffi::CString;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

const BLOCK: usize = 512;

/// Writes the tree at `root` (its contents, not the root entry) as a tar stream to `out`,
/// with mtimes clamped to `epoch`. Returns the number of entries written.
pub fn write_tree(root: &Path, epoch: i64, out: &mut dyn Write) -> io::Result<u64> {
    let mut w = TarWriter {
        out,
        epoch,
        links: HashMap::new(),
        count: 0,
    };
    w.dir(root, b"")?;
    // End of archive: two zero blocks.
    w.out.write_all(&[0u8; BLOCK * 2])?;
    Ok(w.count)
}

struct TarWriter<'a> {
    out: &'a mut dyn Write,
    epoch: i64,
    /// (dev, ino) of multiply-linked files already written, to their archive path.
    links: HashMap<(u64, u64), Vec<u8>>,
    count: u64,
}

/// What a header describes.
enum Kind<'a> {
    File(u64),
    HardLink(&'a [u8]),
    Symlink(Vec<u8>),
    Char(u64),
    Block(u64),
    Dir,
    Fifo,
}

impl TarWriter<'_> {
    fn dir(&mut self, dir: &Path, prefix: &[u8]) -> io::Result<()> {
        let mut names: Vec<Vec<u8>> = std::fs::read_dir(dir)?
            .map(|e| e.map(|e| e.file_name().as_bytes().to_vec()))
            .collect::<io::Result<_>>()?;
        names.sort();
        for name in names {
            let path = dir.join(std::ffi::OsStr::from_bytes(&name));
            let mut arc = prefix.to_vec();
            arc.extend_from_slice(&name);
            let md = std::fs::symlink_metadata(&path)?;
            let ft = md.file_type();
            if ft.is_dir() {
                let mut d = arc.clone();
                d.push(b'/');
                self.entry(&path, &md, &d, Kind::Dir)?;
                self.dir(&path, &d)?;
            } else if ft.is_symlink() {
                let target = std::fs::read_link(&path)?.as_os_str().as_bytes().to_vec();
                self.entry(&path, &md, &arc, Kind::Symlink(target))?;
            } else if ft.is_file() {
                let key = (md.dev(), md.ino());
                if md.nlink() > 1 {
                    if let Some(first) = self.links.get(&key).cloned() {
                        self.entry(&path, &md, &arc, Kind::HardLink(&first))?;
                        continue;
                    }
                    self.links.insert(key, arc.clone());
                }
                self.entry(&path, &md, &arc, Kind::File(md.size()))?;
                let mut f = File::open(&path)?;
                let copied = io::copy(&mut (&mut f).take(md.size()), &mut self.out)?;
                if copied != md.size() {
                    return Err(io::Error::other(format!(
                        "{} changed size while being archived",
                        path.display()
                    )));
                }
                pad(self.out, md.size())?;
            } else if ft.is_char_device() {
                self.entry(&path, &md, &arc, Kind::Char(md.rdev()))?;
            } else if ft.is_block_device() {
                self.entry(&path, &md, &arc, Kind::Block(md.rdev()))?;
            } else if ft.is_fifo() {
                self.entry(&path, &md, &arc, Kind::Fifo)?;
            }
            // Sockets have no place in an archive (tar cannot hold them either).
        }
        Ok(())
    }

    fn entry(
        &mut self,
        path: &Path,
        md: &std::fs::Metadata,
        name: &[u8],
        kind: Kind<'_>,
    ) -> io::Result<()> {
        self.count += 1;
        let mtime = md.mtime().clamp(0, self.epoch.max(0)) as u64;
        let (typeflag, size, link, rdev): (u8, u64, Vec<u8>, u64) = match &kind {
            Kind::File(n) => (b'0', *n, Vec::new(), 0),
            Kind::HardLink(first) => (b'1', 0, first.to_vec(), 0),
            Kind::Symlink(t) => (b'2', 0, t.clone(), 0),
            Kind::Char(d) => (b'3', 0, Vec::new(), *d),
            Kind::Block(d) => (b'4', 0, Vec::new(), *d),
            Kind::Dir => (b'5', 0, Vec::new(), 0),
            Kind::Fifo => (b'6', 0, Vec::new(), 0),
        };
        let mut pax: Vec<(String, Vec<u8>)> = Vec::new();
        let split = split_name(name);
        if split.is_none() {
            pax.push(("path".into(), name.to_vec()));
        }
        if link.len() > 100 {
            pax.push(("linkpath".into(), link.clone()));
        }
        if size >= 0o77777777777 {
            pax.push(("size".into(), size.to_string().into_bytes()));
        }
        let (uid, gid) = (md.uid() as u64, md.gid() as u64);
        if uid > 0o7777777 {
            pax.push(("uid".into(), uid.to_string().into_bytes()));
        }
        if gid > 0o7777777 {
            pax.push(("gid".into(), gid.to_string().into_bytes()));
        }
        if !matches!(kind, Kind::HardLink(_)) {
            for (k, v) in xattrs(path)? {
                pax.push((format!("SCHILY.xattr.{k}"), v));
            }
        }
        if !pax.is_empty() {
            let body = pax_records(&pax);
            let mut pname = b"PaxHeaders/".to_vec();
            let base = name
                .rsplit(|b| *b == b'/')
                .find(|s| !s.is_empty())
                .unwrap_or(b"x");
            pname.extend_from_slice(&base[..base.len().min(80)]);
            let h = header(&Header {
                name: (Vec::new(), pname),
                mode: 0o644,
                uid: 0,
                gid: 0,
                size: body.len() as u64,
                mtime,
                typeflag: b'x',
                link: Vec::new(),
                rdev: 0,
            });
            self.out.write_all(&h)?;
            self.out.write_all(&body)?;
            pad(self.out, body.len() as u64)?;
        }
        let (prefix, short) = split.unwrap_or_else(|| (Vec::new(), truncate(name, 100)));
        let h = header(&Header {
            name: (prefix, short),
            mode: md.mode() & 0o7777,
            uid: uid.min(0o7777777),
            gid: gid.min(0o7777777),
            size: size.min(0o77777777777),
            mtime,
            typeflag,
            link: truncate(&link, 100),
            rdev,
        });
        self.out.write_all(&h)
    }
}

struct Header {
    /// (prefix, name) as ustar splits a path.
    name: (Vec<u8>, Vec<u8>),
    mode: u32,
    uid: u64,
    gid: u64,
    size: u64,
    mtime: u64,
    typeflag: u8,
    link: Vec<u8>,
    rdev: u64,
}

fn truncate(b: &[u8], n: usize) -> Vec<u8> {
    b[..b.len().min(n)].to_vec()
}

/// Splits a path into ustar's (prefix ≤155, name ≤100) at a `/`, or `None` if impossible.
fn split_name(path: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    if path.len() <= 100 {
        return Some((Vec::new(), path.to_vec()));
    }
    // The name part may not be empty, so a trailing '/' stays with the name.
    let search_end = path.len() - 1;
    for i in (0..search_end).rev() {
        if path[i] == b'/' && i <= 155 && path.len() - i - 1 <= 100 {
            return Some((path[..i].to_vec(), path[i + 1..].to_vec()));
        }
    }
    None
}

fn octal(field: &mut [u8], v: u64) {
    let digits = field.len() - 1;
    let s = format!("{v:0digits$o}");
    field[..digits].copy_from_slice(&s.as_bytes()[s.len() - digits..]);
    field[digits] = 0;
}

fn header(h: &Header) -> [u8; BLOCK] {
    let mut b = [0u8; BLOCK];
    b[..h.name.1.len()].copy_from_slice(&h.name.1);
    octal(&mut b[100..108], h.mode as u64);
    octal(&mut b[108..116], h.uid);
    octal(&mut b[116..124], h.gid);
    octal(&mut b[124..136], h.size);
    octal(&mut b[136..148], h.mtime);
    b[156] = h.typeflag;
    b[157..157 + h.link.len()].copy_from_slice(&h.link);
    b[257..263].copy_from_slice(b"ustar\0");
    b[263..265].copy_from_slice(b"00");
    if matches!(h.typeflag, b'3' | b'4') {
        octal(&mut b[329..337], libc::major(h.rdev) as u64);
        octal(&mut b[337..345], libc::minor(h.rdev) as u64);
    }
    b[345..345 + h.name.0.len()].copy_from_slice(&h.name.0);
    // The checksum is computed with its own field as spaces.
    b[148..156].copy_from_slice(b"        ");
    let sum: u64 = b.iter().map(|&x| x as u64).sum();
    let s = format!("{sum:06o}\0 ");
    b[148..156].copy_from_slice(s.as_bytes());
    b
}

/// PAX records: `LEN KEY=VALUE\n`, LEN counting itself.
fn pax_records(recs: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (k, v) in recs {
        let rest = k.len() + v.len() + 3; // ' ' '=' '\n'
        let mut len = rest + 1;
        while len != rest + len.to_string().len() {
            len = rest + len.to_string().len();
        }
        out.extend_from_slice(format!("{len} {k}=").as_bytes());
        out.extend_from_slice(v);
        out.push(b'\n');
    }
    out
}

fn pad(out: &mut dyn Write, size: u64) -> io::Result<()> {
    let rem = (size % BLOCK as u64) as usize;
    if rem != 0 {
        out.write_all(&[0u8; BLOCK][..BLOCK - rem])?;
    }
    Ok(())
}

/// The extended attributes of `path` (not following symlinks), sorted by name.
fn xattrs(path: &Path) -> io::Result<Vec<(String, Vec<u8>)>> {
    let c = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in path"))?;
    let n = unsafe { libc::llistxattr(c.as_ptr(), std::ptr::null_mut(), 0) };
    if n <= 0 {
        // ENOTSUP and friends: a file system without xattrs has none to keep.
        return Ok(Vec::new());
    }
    let mut names = vec![0u8; n as usize];
    let n = unsafe { libc::llistxattr(c.as_ptr(), names.as_mut_ptr().cast(), names.len()) };
    if n <= 0 {
        return Ok(Vec::new());
    }
    names.truncate(n as usize);
    let mut out = Vec::new();
    for name in names.split(|b| *b == 0).filter(|n| !n.is_empty()) {
        let Ok(cn) = CString::new(name) else { continue };
        let size = unsafe { libc::lgetxattr(c.as_ptr(), cn.as_ptr(), std::ptr::null_mut(), 0) };
        if size < 0 {
            continue;
        }
        let mut val = vec![0u8; size as usize];
        let got =
            unsafe { libc::lgetxattr(c.as_ptr(), cn.as_ptr(), val.as_mut_ptr().cast(), val.len()) };
        if got < 0 {
            continue;
        }
        val.truncate(got as usize);
        out.push((String::from_utf8_lossy(name).into_owned(), val));
    }
    out.sort();
    Ok(out)
}

/// Writes a tar of in-memory and on-disk files at the archive's top level, in the order
/// given (the OCI archive's `oci-layout`, `index.json` and blobs).
pub fn write_entries(
    entries: &[(String, Content)],
    epoch: i64,
    out: &mut dyn Write,
) -> io::Result<()> {
    for (name, content) in entries {
        let name = name.as_bytes();
        let (prefix, short) =
            split_name(name).ok_or_else(|| io::Error::other("archive member name too long"))?;
        let (typeflag, size, mode) = match content {
            Content::Dir => (b'5', 0, 0o755),
            Content::Bytes(b) => (b'0', b.len() as u64, 0o644),
            Content::File(p) => (b'0', std::fs::metadata(p)?.len(), 0o644),
        };
        out.write_all(&header(&Header {
            name: (prefix, short),
            mode,
            uid: 0,
            gid: 0,
            size,
            mtime: epoch.max(0) as u64,
            typeflag,
            link: Vec::new(),
            rdev: 0,
        }))?;
        match content {
            Content::Dir => {}
            Content::Bytes(b) => out.write_all(b)?,
            Content::File(p) => {
                let n = io::copy(&mut File::open(p)?, out)?;
                if n != size {
                    return Err(io::Error::other(format!("{} changed size", p.display())));
                }
            }
        }
        pad(out, size)?;
    }
    out.write_all(&[0u8; BLOCK * 2])
}

/// The content of one member written by [`write_entries`].
pub enum Content {
    /// A directory.
    Dir,
    /// A file from memory.
    Bytes(Vec<u8>),
    /// A file copied from disk.
    File(PathBuf),
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn trees_archive_sorted_clamped_and_readable_by_gnu_tar() {
        let d = tempfile::tempdir().unwrap();
        let t = d.path().join("tree");
        std::fs::create_dir_all(t.join("b dir/sub")).unwrap();
        std::fs::write(t.join("b dir/sub/f 'q' $(x) ü.txt"), b"hello\n").unwrap();
        std::fs::write(t.join("a"), vec![7u8; 1000]).unwrap();
        std::fs::set_permissions(t.join("a"), std::fs::Permissions::from_mode(0o4750)).unwrap();
        std::fs::hard_link(t.join("a"), t.join("c")).unwrap();
        std::os::unix::fs::symlink("a", t.join("link")).unwrap();
        let long = "x".repeat(120);
        std::fs::create_dir_all(t.join(&long)).unwrap();
        std::fs::write(t.join(&long).join("y".repeat(90)), b"deep").unwrap();
        let mut a = Vec::new();
        let n = write_tree(&t, 1_000_000, &mut a).unwrap();
        assert_eq!(n, 8);
        let mut b = Vec::new();
        write_tree(&t, 1_000_000, &mut b).unwrap();
        assert_eq!(a, b, "same tree, same bytes");
        let f = d.path().join("t.tar");
        std::fs::write(&f, &a).unwrap();
        let out = std::process::Command::new("tar")
            .env("TZ", "UTC")
            .args(["--numeric-owner", "--full-time", "-tvf"])
            .arg(&f)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let list = String::from_utf8_lossy(&out.stdout);
        let names: Vec<&str> = list
            .lines()
            .map(|l| l.split(" 1970-01-12 13:46:40 ").nth(1).unwrap_or(l))
            .collect();
        assert_eq!(names[0], "a", "{list}");
        assert!(
            list.lines().next().unwrap().starts_with("-rwsr-x---"),
            "{list}"
        );
        assert_eq!(names[1], "b dir/");
        assert_eq!(names[3], "b dir/sub/f 'q' $(x) ü.txt");
        assert_eq!(names[4], "c link to a");
        assert_eq!(names[5], "link -> a");
        assert_eq!(names[7], format!("{long}/{}", "y".repeat(90)));
        let x = d.path().join("x");
        std::fs::create_dir(&x).unwrap();
        let st = std::process::Command::new("tar")
            .arg("-xf")
            .arg(&f)
            .arg("-C")
            .arg(&x)
            .status()
            .unwrap();
        assert!(st.success());
        assert_eq!(
            std::fs::read(x.join("b dir/sub/f 'q' $(x) ü.txt")).unwrap(),
            b"hello\n"
        );
        assert_eq!(
            std::fs::read(x.join(&long).join("y".repeat(90))).unwrap(),
            b"deep"
        );
    }

    #[test]
    fn pax_lengths_count_themselves() {
        let r = pax_records(&[("path".into(), vec![b'a'; 93])]);
        assert_eq!(r.len(), 103);
        assert!(r.starts_with(b"103 path="));
        let r = pax_records(&[("path".into(), vec![b'a'; 1])]);
        // 9 bytes in all: the length field counts its own one digit.
        assert_eq!(r, b"9 path=a\n");
    }
}

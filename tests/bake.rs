//! `jig bake` and the chroot connection, for real: playbooks/image.yml baked from the test
//! bed's cached root file system (its local apt repository bind-mounted as the image's only
//! source, so no network), twice, into tar, OCI, raw and qcow2; the outputs checked with
//! skopeo, umoci, qemu-img and debugfs; `jig check --connection chroot` against the baked
//! tree (exit 0, then exit 2 naming the file after a hand edit); `jig bake --check`; and a
//! SIGINT in the middle of a bake.
//!
//! Needs root, the test bed's caches (tests/testbed/rootfs.sh, aptrepo.sh) and skopeo, umoci,
//! e2fsprogs and qemu-utils: skipped with the reason printed when missing, unless
//! `JIG_TESTBED_REQUIRED=1`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const EPOCH: &str = "1700000000";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn jig_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_jig"))
}

fn on_path(cmd: &str) -> bool {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/sbin".into()])
        .any(|d| d.join(cmd).is_file())
}

/// The base rootfs and apt repository, or `None` (reason printed) when this machine cannot
/// bake.
fn bed() -> Option<(PathBuf, PathBuf)> {
    let why = (|| {
        if unsafe { libc::geteuid() } != 0 {
            return Err("not root".to_string());
        }
        for t in [
            "skopeo",
            "umoci",
            "mkfs.ext4",
            "debugfs",
            "qemu-img",
            "debootstrap",
        ] {
            if !on_path(t) {
                return Err(format!("{t} is not installed"));
            }
        }
        let script = |s: &str| -> Result<PathBuf, String> {
            let out = Command::new(repo().join("tests/testbed").join(s))
                .output()
                .map_err(|e| format!("{s}: {e}"))?;
            if !out.status.success() {
                return Err(format!("{s}: {}", String::from_utf8_lossy(&out.stderr)));
            }
            Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
        };
        Ok((script("rootfs.sh")?, script("aptrepo.sh")?))
    })();
    match why {
        Ok(v) => Some(v),
        Err(why) => {
            if std::env::var("JIG_TESTBED_REQUIRED").is_ok_and(|v| v == "1") {
                panic!("bake tests are required (JIG_TESTBED_REQUIRED=1) but {why}");
            }
            eprintln!("skipping: {why}");
            None
        }
    }
}

fn jig(args: &[&str]) -> Command {
    let mut c = Command::new(jig_bin());
    c.args(args)
        .current_dir(repo())
        .env("SOURCE_DATE_EPOCH", EPOCH)
        .env("NO_COLOR", "1")
        .env_remove("ANSIBLE_INVENTORY");
    c
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\n{}\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn sha256(p: &Path) -> String {
    let out = Command::new("sha256sum").arg(p).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

/// Mount points below `dir` in this mount namespace.
fn mounts_under(dir: &Path) -> Vec<String> {
    let d = dir.to_string_lossy().to_string();
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter_map(|l| l.split(' ').nth(4).map(str::to_string))
        .filter(|m| m.starts_with(&d))
        .collect()
}

fn bake(dir: &Path, base: &Path, apt: &Path, to: &[String], extra: &[&str]) -> Output {
    let from = format!("dir:{}", base.display());
    let bind = format!("{}:/srv/jig-apt", apt.display());
    let mut args = vec![
        "bake",
        "playbooks/image.yml",
        "--from",
        &from,
        "--bind",
        &bind,
    ];
    for t in to {
        args.push("--to");
        args.push(t);
    }
    args.extend_from_slice(extra);
    let out = jig(&args).output().unwrap();
    assert!(
        mounts_under(dir).is_empty(),
        "mounts left: {:?}",
        mounts_under(dir)
    );
    out
}

#[test]
fn baked_images_are_reproducible_valid_and_checkable() {
    let Some((base, apt)) = bed() else { return };
    let tmp = tempfile::Builder::new()
        .prefix("jig-bake-test")
        .tempdir_in("/var/tmp")
        .unwrap();
    let d = tmp.path();
    // A directory name with a space and a quote: every path reaches a shell or a file.
    let out_a = d.join("out a'1");
    let out_b = d.join("out b");
    std::fs::create_dir_all(&out_a).unwrap();
    std::fs::create_dir_all(&out_b).unwrap();
    let outs = |o: &Path| {
        vec![
            format!("tar:{}", o.join("web.tar").display()),
            format!("oci:{}:v1", o.join("web.oci").display()),
            format!("raw:{}", o.join("web.raw").display()),
            format!("qcow2:{}", o.join("web.qcow2").display()),
        ]
    };
    let mut to_a = outs(&out_a);
    to_a.push(format!("dir:{}", out_a.join("tree").display()));
    let started = Instant::now();
    let a = bake(d, &base, &apt, &to_a, &[]);
    assert!(a.status.success(), "{}", text(&a));
    let a_text = text(&a);
    assert!(a_text.contains("changed=7"), "{a_text}");
    assert!(
        a_text.contains("nginx: state=restarted deferred to boot"),
        "{a_text}"
    );
    eprintln!("first bake: {:?}", started.elapsed());
    let b = bake(d, &base, &apt, &outs(&out_b), &[]);
    assert!(b.status.success(), "{}", text(&b));

    // Byte-identical outputs.
    for f in ["web.tar", "web.oci", "web.raw", "web.qcow2"] {
        assert_eq!(
            sha256(&out_a.join(f)),
            sha256(&out_b.join(f)),
            "{f} differs between two bakes"
        );
    }
    // Only the finished outputs: no partial files, no work tree.
    let mut names: Vec<String> = std::fs::read_dir(&out_b)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["web.oci", "web.qcow2", "web.raw", "web.tar"]);

    // The OCI archive: skopeo reads it, umoci unpacks it with the right modes and owners.
    let oci = out_a.join("web.oci");
    let ins = Command::new("skopeo")
        .arg("inspect")
        .arg(format!("oci-archive:{}:v1", oci.display()))
        .output()
        .unwrap();
    assert!(ins.status.success(), "{}", text(&ins));
    let ins: serde_json::Value = serde_json::from_slice(&ins.stdout).unwrap();
    assert_eq!(ins["Created"], "2023-11-14T22:13:20Z");
    assert_eq!(ins["Layers"].as_array().unwrap().len(), 1);
    let layout = d.join("layout");
    std::fs::create_dir(&layout).unwrap();
    assert!(
        Command::new("tar")
            .arg("-xf")
            .arg(&oci)
            .arg("-C")
            .arg(&layout)
            .status()
            .unwrap()
            .success()
    );
    let bundle = d.join("bundle");
    let un = Command::new("umoci")
        .arg("unpack")
        .arg("--image")
        .arg(format!("{}:v1", layout.display()))
        .arg(&bundle)
        .output()
        .unwrap();
    assert!(un.status.success(), "{}", text(&un));
    let rootfs = bundle.join("rootfs");
    use std::os::unix::fs::MetadataExt;
    let passwd = std::fs::read_to_string(rootfs.join("etc/passwd")).unwrap();
    let deploy = passwd
        .lines()
        .find(|l| l.starts_with("deploy:"))
        .expect("the deploy user");
    let uid: u32 = deploy.split(':').nth(2).unwrap().parse().unwrap();
    let md = std::fs::metadata(rootfs.join("srv/www/example/index.html")).unwrap();
    assert_eq!((md.mode() & 0o7777, md.uid(), md.gid()), (0o644, uid, uid));
    let md = std::fs::metadata(rootfs.join("etc/nginx/sites-available/example")).unwrap();
    assert_eq!((md.mode() & 0o7777, md.uid(), md.gid()), (0o640, 0, 0));
    let site = std::fs::read_to_string(rootfs.join("etc/nginx/sites-available/example")).unwrap();
    assert!(site.contains("listen 80 default_server;"), "{site}");
    assert!(
        std::fs::symlink_metadata(rootfs.join("etc/rc2.d/S01nginx")).is_ok(),
        "nginx enabled at boot"
    );
    assert!(!rootfs.join("usr/sbin/policy-rc.d").exists());
    assert!(!rootfs.join("var/log/dpkg.log").exists());
    assert!(!rootfs.join("var/log/apt/history.log").exists());
    assert!(std::fs::read_dir(rootfs.join("etc/ssh")).unwrap().all(|e| {
        !e.unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with("ssh_host_")
    }));
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(rootfs.join("etc/jig/image.json")).unwrap()).unwrap();
    assert_eq!(record["source_date_epoch"], 1_700_000_000);
    assert_eq!(record["playbook"], "playbooks/image.yml");
    assert!(
        record["base_digest"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );

    // Disk images: qemu-img knows the qcow2; debugfs reads a file back from the raw one.
    let info = Command::new("qemu-img")
        .args(["info", "--output=json"])
        .arg(out_a.join("web.qcow2"))
        .output()
        .unwrap();
    assert!(info.status.success(), "{}", text(&info));
    let info: serde_json::Value = serde_json::from_slice(&info.stdout).unwrap();
    assert_eq!(info["format"], "qcow2");
    let cat = Command::new("debugfs")
        .arg("-R")
        .arg("cat /etc/nginx/sites-available/example")
        .arg(out_a.join("web.raw"))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&cat.stdout), site);

    // The baked tree, over the chroot connection: no drift, then drift naming the file.
    let tree = out_a.join("tree");
    let inv = format!("{},", tree.display());
    let binds = format!(
        r#"{{"jig_chroot_binds": ["{}:/srv/jig-apt"]}}"#,
        apt.display()
    );
    let check = || {
        jig(&[
            "check",
            "-c",
            "chroot",
            "-i",
            &inv,
            "-e",
            &binds,
            "playbooks/image.yml",
        ])
        .output()
        .unwrap()
    };
    let c = check();
    let c_text = text(&c);
    assert_eq!(c.status.code(), Some(0), "in compliance: {c_text}");
    assert!(c_text.contains("changed=0"), "{c_text}");
    assert!(mounts_under(d).is_empty());
    let conf = tree.join("etc/nginx/sites-available/example");
    let edited = std::fs::read_to_string(&conf)
        .unwrap()
        .replace("listen 80", "listen 8080");
    std::fs::write(&conf, edited).unwrap();
    let c = check();
    let c_text = text(&c);
    assert_eq!(c.status.code(), Some(2), "drift: {c_text}");
    assert!(c_text.contains("changed=1"), "{c_text}");
    assert!(
        c_text.contains("/etc/nginx/sites-available/example"),
        "{c_text}"
    );
    assert!(
        c_text.contains("+    listen 80 default_server;"),
        "{c_text}"
    );

    // Facts through the chroot describe the image.
    std::fs::write(tree.join("etc/hostname"), "web-7.example.org\n").unwrap();
    let inv_file = d.join("image-inventory.yml");
    let inv_yaml = serde_json::json!({"all": {"hosts": {"img": {
        "ansible_connection": "chroot",
        "ansible_host": tree.display().to_string(),
    }}}});
    std::fs::write(&inv_file, inv_yaml.to_string()).unwrap();
    let f = jig(&["facts", "all", "-i", &inv_file.display().to_string()])
        .output()
        .unwrap();
    assert!(f.status.success(), "{}", text(&f));
    let facts: serde_json::Value = serde_json::from_slice(&f.stdout).unwrap();
    let host = facts
        .as_object()
        .and_then(|m| m.values().next())
        .unwrap_or(&facts);
    let get = |k: &str| {
        host.get(k)
            .or_else(|| host["ansible_facts"].get(k))
            .cloned()
    };
    assert_eq!(
        get("ansible_hostname").or(get("hostname")).unwrap(),
        "web-7"
    );
    assert_eq!(
        get("ansible_fqdn").or(get("fqdn")).unwrap(),
        "web-7.example.org"
    );
    assert_eq!(get("ansible_is_chroot").or(get("is_chroot")).unwrap(), true);
    assert_eq!(
        get("ansible_distribution_release")
            .or(get("distribution_release"))
            .unwrap(),
        "bookworm"
    );
    assert!(mounts_under(d).is_empty());
}

#[test]
fn bake_check_shows_changes_and_writes_nothing() {
    let Some((base, _)) = bed() else { return };
    let tmp = tempfile::Builder::new()
        .prefix("jig-bake-check")
        .tempdir_in("/var/tmp")
        .unwrap();
    // Not playbooks/image.yml: the base has no apt lists, and apt cannot plan an install in
    // check mode without them (as with Ansible: check mode does not update the cache).
    let pb = tmp.path().join("check.yml");
    std::fs::write(
        &pb,
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - user:\n        name: \"app\"\n    - copy:\n        dest: /etc/motd\n        content: \"baked 'image' $(x) ü\\n\"\n    - file:\n        path: /srv/app data\n        state: directory\n        mode: \"0750\"\n",
    )
    .unwrap();
    let out = tmp.path().join("web.tar");
    let o = jig(&[
        "bake",
        &pb.display().to_string(),
        "--from",
        &format!("dir:{}", base.display()),
        "--to",
        &format!("tar:{}", out.display()),
        "--check",
    ])
    .output()
    .unwrap();
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(t.contains("changed=3"), "{t}");
    assert!(
        t.contains("+baked 'image' $(x) ü"),
        "diff of /etc/motd: {t}"
    );
    assert!(!t.contains("baked /"), "{t}");
    assert!(mounts_under(tmp.path()).is_empty());
    let left: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(left, [std::ffi::OsString::from("check.yml")], "{t}");
    // The base is untouched.
    assert!(!base.join("srv/app data").exists());
}

#[test]
fn an_interrupted_bake_leaves_no_mounts_and_no_partial_output() {
    let Some((base, _)) = bed() else { return };
    let tmp = tempfile::Builder::new()
        .prefix("jig-bake-int")
        .tempdir_in("/var/tmp")
        .unwrap();
    let d = tmp.path();
    let pb = d.join("slow.yml");
    std::fs::write(
        &pb,
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - copy:\n        dest: /etc/slow\n        content: x\n    - command: sleep 120\n",
    )
    .unwrap();
    let outdir = d.join("out");
    std::fs::create_dir(&outdir).unwrap();
    let mut child = jig(&[
        "bake",
        &pb.display().to_string(),
        "--from",
        &format!("dir:{}", base.display()),
        "--to",
        &format!("tar:{}", outdir.join("slow.tar").display()),
    ])
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    // Wait until the slow task runs: the chroot mounts exist and the copy task is done.
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let ready = !mounts_under(&outdir).is_empty()
            && std::fs::read_dir(&outdir)
                .unwrap()
                .flatten()
                .any(|e| e.path().join("etc/slow").exists());
        if ready {
            break;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "bake ended early: {}",
            text(&child.wait_with_output().unwrap())
        );
        assert!(Instant::now() < deadline, "the slow task never started");
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_millis(500));
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", text(&out));
    assert!(
        mounts_under(&outdir).is_empty(),
        "mounts left: {:?}",
        mounts_under(&outdir)
    );
    let left: Vec<_> = std::fs::read_dir(&outdir).unwrap().flatten().collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

//! The package modules on real hosts next to ansible-core: the same playbooks converge one
//! test-bed host with jig and its twin with ansible-playbook. Packages come from the bed's
//! local repository and from a second flat repository built here (`jig-demo` and `jig-pin` in
//! two versions each, for `latest`, pins and downgrades), which `apt_repository` adds. Check
//! mode predicts the real run, the second run changes nothing, and both hosts end up with the
//! same packages, selections, debconf answers and sources files.

#[path = "support/testbed.rs"]
mod testbed;

#[path = "support/converge.rs"]
mod converge;

use std::path::Path;
use std::process::Command;

/// Builds `name_version_all.deb` in `dir` with `dpkg-deb`.
fn build_deb(dir: &Path, name: &str, version: &str) {
    let root = tempfile::tempdir().unwrap();
    let debian = root.path().join("DEBIAN");
    std::fs::create_dir_all(&debian).unwrap();
    std::fs::write(
        debian.join("control"),
        format!(
            "Package: {name}\nVersion: {version}\nArchitecture: all\nMaintainer: jig <jig@example.org>\n\
             Section: misc\nPriority: optional\nDescription: jig test package {version}\n"
        ),
    )
    .unwrap();
    let share = root.path().join("usr/share").join(name);
    std::fs::create_dir_all(&share).unwrap();
    std::fs::write(share.join("VERSION"), format!("{version}\n")).unwrap();
    let out = Command::new("dpkg-deb")
        .args(["--root-owner-group", "--build"])
        .arg(root.path())
        .arg(dir.join(format!("{name}_{version}_all.deb")))
        .output()
        .expect("dpkg-deb runs");
    assert!(out.status.success(), "dpkg-deb: {out:?}");
}

/// A flat repository (`Packages` from `dpkg-scanpackages`) and a lone .deb, copied into both
/// hosts at /srv/extra and /srv/debs.
fn seed_repos(pair: &converge::Pair) -> bool {
    if Command::new("dpkg-scanpackages")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipping: dpkg-scanpackages (dpkg-dev) is not installed on the controller");
        return false;
    }
    let repo = pair.dir().join("extra");
    let debs = pair.dir().join("debs");
    std::fs::create_dir_all(&repo).unwrap();
    std::fs::create_dir_all(&debs).unwrap();
    for (n, v) in [
        ("jig-demo", "1.0"),
        ("jig-demo", "2.0"),
        ("jig-pin", "1.0"),
        ("jig-pin", "2.0"),
    ] {
        build_deb(&repo, n, v);
    }
    build_deb(&debs, "jig-solo", "1.0");
    let out = Command::new("dpkg-scanpackages")
        .args(["--multiversion", "."])
        .current_dir(&repo)
        .output()
        .unwrap();
    assert!(out.status.success(), "dpkg-scanpackages: {out:?}");
    std::fs::write(repo.join("Packages"), &out.stdout).unwrap();
    for host in [pair.jig_host(), pair.ansible_host()] {
        let root = pair.bed().root(host);
        for (from, to) in [(&repo, "srv/extra"), (&debs, "srv/debs")] {
            let dest = root.join(to);
            std::fs::create_dir_all(&dest).unwrap();
            for e in std::fs::read_dir(from).unwrap() {
                let e = e.unwrap();
                std::fs::copy(e.path(), dest.join(e.file_name())).unwrap();
            }
        }
    }
    // Fresh hosts have no package lists: check mode (which never refreshes them, in Ansible
    // either) could not see a single package.
    pair.on_both("apt-get update -q >/dev/null");
    true
}

const SOURCES: &str = r#"
- hosts: all
  gather_facts: false
  tasks:
    - name: a second repository (the lists are refreshed when it is added)
      apt_repository:
        repo: "deb [trusted=yes] file:/srv/extra ./"
        mode: "0640"
    - name: a source added then removed leaves no file
      apt_repository:
        repo: "deb [trusted=yes] file:/srv/nowhere ./"
        filename: gone
        state: absent
"#;

const PACKAGES: &str = r#"
- hosts: all
  gather_facts: false
  tasks:
    - name: a list in one call, with a cache that is fresh enough
      apt:
        name: [hello, tree]
        update_cache: true
        cache_valid_time: 86400
    - name: a loop over names runs as one apt call
      apt:
        name: "{{ item }}"
        state: present
      loop: [wget, unzip]
      register: lp
    - name: whether the loop ran as one call (jig) or one call per item (ansible-core)
      debug:
        msg: "squashed={{ lp.results[0].stdout is search('unzip') }}"
    - name: without recommends
      apt:
        pkg: jq
        install_recommends: false
    - name: a pinned version of a package that has a newer one
      apt:
        name: "jig-pin=1.0*"
    - name: the newest version
      apt:
        name: jig-demo
        state: latest
    - name: a .deb file on the host
      apt:
        deb: /srv/debs/jig-solo_1.0_all.deb
    - name: through the generic package module
      package:
        name: cron
        state: present
    - name: hold a package the host already has
      dpkg_selections:
        name: sudo
        selection: hold
    - name: a debconf answer
      debconf:
        name: tzdata
        question: tzdata/Areas
        vtype: select
        value: Europe
    - name: nothing left to remove automatically
      apt:
        autoremove: true
    - name: the installed packages as facts
      package_facts:
      register: pf
    - name: what the facts say about two packages
      copy:
        dest: /root/facts.json
        content: "{{ {'demo': pf.ansible_facts.packages['jig-demo'] | default([]), 'hello': pf.ansible_facts.packages['hello'] | default([])} | to_nice_json }}\n"
"#;

const DOWNGRADE: &str = r#"
- hosts: all
  gather_facts: false
  tasks:
    - name: back to the old version
      apt:
        name: jig-demo=1.0
        allow_downgrade: true
      register: down
    - name: hold the downgraded and the pinned package
      dpkg_selections:
        name: "{{ item }}"
        selection: hold
      loop: [jig-demo, jig-pin]
    - name: upgrade the rest
      apt:
        upgrade: dist
    - name: removed with its configuration
      apt:
        name: tree
        state: absent
        purge: true
    - name: the result keys roles read
      copy:
        dest: /root/down.json
        content: "{{ {'changed': down.changed, 'cache_updated': down.cache_updated, 'has_stdout': down.stdout is defined} | to_json }}\n"
"#;

/// Why apt's check-mode summary differs from the real run's in its last line.
const NOT_UPGRADED: &str =
    "the \"not upgraded\" count includes packages earlier tasks installed for real";

/// What both hosts must agree on.
const STATE: &str = "dpkg-query -W -f '${Package} ${Version} ${db:Status-Abbrev}\\n' \
hello tree jq cron jig-demo jig-pin jig-solo wget unzip 2>&1; \
dpkg --get-selections sudo; debconf-show tzdata | sort; \
for f in /etc/apt/sources.list.d/*; do echo \"== $f\"; stat -c '%a %U %G' \"$f\"; cat \"$f\"; done; \
apt-mark showmanual hello jq jig-pin jig-demo cron; cat /root/facts.json";

/// deb822_repository and apt_key: ansible-core cannot run them on the bed (it needs
/// python3-debian and gpg there), so these run with jig alone: check mode predicts the real
/// run, the second run changes nothing, and the files are what apt reads.
const KEYS: &str = r#"
- hosts: all
  gather_facts: false
  vars:
    key: "{{ lookup('file', 'key.asc') }}"
  tasks:
    - name: a key from data, in its own keyring under trusted.gpg.d
      apt_key:
        data: "{{ key }}"
        id: C014CB0D
    - name: the same key in a named keyring
      apt_key:
        data: "{{ key }}"
        keyring: /etc/apt/keyrings/jig test.gpg
    - name: a deb822 source with its key inline
      deb822_repository:
        name: "Jig Debs_local"
        uris: file:/srv/debs
        suites: ["./"]
        trusted: true
        enabled: false
        signed_by: "{{ key }}"
    - name: a deb822 source that is not there stays absent
      deb822_repository:
        name: never
        state: absent
"#;

const KEYS_GONE: &str = r#"
- hosts: all
  gather_facts: false
  tasks:
    - apt_key:
        id: 3348BAE7AACE051B18B43DB7B9D5BB8AC014CB0D
        state: absent
    - deb822_repository:
        name: "Jig Debs_local"
        state: absent
"#;

#[test]
fn package_modules_converge_like_ansible() {
    let Some(pair) = converge::Pair::up() else {
        return;
    };
    if !seed_repos(&pair) {
        return;
    }
    pair.write("sources.yml", SOURCES);
    let r = pair.converge("sources.yml", &[]);
    r.assert_counts(1).assert_same_diffs(&[]);
    assert!(
        r.check
            .stdout
            .contains("+deb [trusted=yes] file:/srv/extra ./"),
        "{}",
        r.check.stdout
    );
    assert_eq!(
        pair.on_jig("cat /etc/apt/sources.list.d/file_srv_extra.list"),
        "deb [trusted=yes] file:/srv/extra ./\n"
    );

    pair.write("packages.yml", PACKAGES);
    let r = pair.converge("packages.yml", &[]);
    // hello+tree, the loop, jq, jig-pin, jig-demo, jig-solo, cron, hold, debconf, the facts.
    r.assert_counts(10).assert_same_diffs(&[
        // apt's summary ends with "N not upgraded", which counts the upgradable packages
        // installed so far: in the real run jig-pin 1.0 (2.0 available) is installed by then,
        // in check mode only predicted (ansible-core's `apt-get -s` diff says the same).
        ("a .deb file on the host", NOT_UPGRADED),
        ("the newest version", NOT_UPGRADED),
        ("through the generic package module", NOT_UPGRADED),
        // package_facts reads the host's package database: in check mode nothing is installed
        // yet, so the file written from the facts differs (as in ansible-core).
        (
            "what the facts say about two packages",
            "package facts in check mode are the host's before the installs",
        ),
    ]);
    assert!(
        r.first.stdout.contains("squashed=True"),
        "{}",
        r.first.stdout
    );
    assert!(
        r.ansible.stdout.contains("squashed=False"),
        "{}",
        r.ansible.stdout
    );
    for item in ["wget", "unzip"] {
        assert!(
            r.first.stdout.contains(&format!(
                "changed: [{}] => (item={item})",
                pair.jig_host().name
            )),
            "each item of the squashed loop reports its own change:\n{}",
            r.first.stdout
        );
    }
    assert!(
        r.check.stdout.contains("hello"),
        "the check diff lists the packages:\n{}",
        r.check.stdout
    );
    let state = pair.assert_same(STATE);
    assert!(state.contains("jig-demo 2.0 ii"), "{state}");
    assert!(state.contains("jig-pin 1.0 ii"), "{state}");
    assert!(state.contains("jig-solo 1.0 ii"), "{state}");
    assert!(state.contains("\thold\n"), "{state}");
    assert!(state.contains("\"origin\": \"\""), "{state}");

    pair.write("downgrade.yml", DOWNGRADE);
    let ours = pair.jig("downgrade.yml", &[]);
    ours.assert_ok("jig downgrade");
    let theirs = pair.ansible("downgrade.yml", &[]);
    theirs.assert_ok("ansible downgrade");
    // downgrade, two holds (one task), the upgrade, the removal, the result file.
    assert_eq!(ours.recap.changed, 5, "{}", ours.stdout);
    assert_eq!(ours.recap.changed, theirs.recap.changed);
    let state = pair.assert_same(
        "dpkg-query -W -f '${Package} ${Version} ${db:Status-Abbrev}\\n' jig-demo jig-pin tree 2>&1; \
         dpkg-query -W -f '${Package} ${Version}\\n' | sort; cat /root/down.json",
    );
    assert!(
        state.contains("jig-demo 1.0 hi \njig-pin 1.0 hi \n"),
        "{state}"
    );
    assert!(state.contains("no packages found matching tree"), "{state}");

    // The key and deb822 modules, with jig alone (see KEYS).
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/apt/key.asc"),
        pair.dir().join("key.asc"),
    )
    .unwrap();
    pair.write("keys.yml", KEYS);
    pair.converge_jig("keys.yml", &[])
        .assert_counts(3)
        .assert_same_diffs(&[]);
    let gpg =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/apt/key.gpg"))
            .unwrap();
    let root = pair.bed().root(pair.jig_host());
    for keyring in [
        "etc/apt/trusted.gpg.d/B9D5BB8AC014CB0D.gpg",
        "etc/apt/keyrings/jig test.gpg",
    ] {
        assert_eq!(std::fs::read(root.join(keyring)).unwrap(), gpg, "{keyring}");
    }
    let sources = pair.on_jig("cat /etc/apt/sources.list.d/jig-debs-local.sources; stat -c %a /etc/apt/sources.list.d/jig-debs-local.sources");
    assert!(
        sources.starts_with("Enabled: no\nX-Repolib-Name: Jig Debs_local\nSigned-By:\n    -----BEGIN PGP PUBLIC KEY BLOCK-----\n    .\n"),
        "{sources}"
    );
    assert!(
        sources.ends_with("Suites: ./\nTrusted: yes\nTypes: deb\nURIs: file:/srv/debs\n644\n"),
        "{sources}"
    );
    // apt reads the file it wrote.
    pair.on_jig("apt-get -q update >/dev/null");
    pair.write("keys-gone.yml", KEYS_GONE);
    pair.converge_jig("keys-gone.yml", &[])
        .assert_counts(2)
        .assert_same_diffs(&[]);
    assert_eq!(
        pair.on_jig("ls /etc/apt/trusted.gpg.d/B9D5BB8AC014CB0D.gpg /etc/apt/sources.list.d/jig-debs-local.sources 2>&1 | wc -l; ls /etc/apt/trusted.gpg.d | grep -c B9D5 || true"),
        "2\n0\n"
    );
}

//! The transfer modules on real hosts next to ansible-core: one playbook downloads with
//! `get_url`, unpacks with `unarchive`, searches with `find` and runs a pushed `script`; jig
//! converges one test-bed host and ansible-playbook its twin. Check mode predicts the real run, the second run changes nothing, and both hosts
//! end up the same. A tiny HTTP server in this process (support/http.rs), on the bridge
//! address, serves the downloads and records who asked.

#[path = "support/testbed.rs"]
mod testbed;

#[path = "support/converge.rs"]
mod converge;

#[path = "support/http.rs"]
mod http;

use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};

/// Serves the files under `root` (404 for anything else).
fn serve(addr: &str, root: &Path) -> (String, Arc<Mutex<Vec<http::Seen>>>) {
    let root = root.to_path_buf();
    http::serve(addr, move |r| {
        let file = root.join(r.path.trim_start_matches('/'));
        let (status, body) = match std::fs::read(&file) {
            Ok(b) if !r.path.contains("..") => ("200 OK", b),
            _ => ("404 Not Found", b"not found\n".to_vec()),
        };
        http::Response {
            status,
            content_type: None,
            headers: vec![],
            body,
        }
    })
}

fn sha256(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

/// Packs `tree/` of the project into `files/NAME` with `argv`.
fn pack(dir: &Path, name: &str, argv: &[&str]) {
    let out = Command::new(argv[0])
        .args(&argv[1..])
        .arg(dir.join("files").join(name))
        .arg("app")
        .current_dir(dir.join("tree"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
}

const PLAYBOOK: &str = r#"
- hosts: all
  gather_facts: false
  vars:
    odd: "it's a \"name\" $(touch PWNED) é"
  tasks:
    - name: directories
      file:
        path: "{{ item }}"
        state: directory
      loop: [/srv/dl, "/srv/{{ odd }}"]

    - name: a download to a file
      get_url:
        url: "{{ base }}/files/app.tar.gz"
        dest: /srv/dl/app.tar.gz
        mode: "0640"
    - name: a download into a directory, checked by a checksum file
      get_url:
        url: "{{ base }}/files/app.zip"
        dest: "/srv/{{ odd }}/"
        checksum: "sha256:{{ base }}/files/SHA256SUMS"
    - name: a download with a checksum the file already has (only its mode changes)
      get_url:
        url: "{{ base }}/files/hello.txt"
        dest: /srv/pre/hello.txt
        checksum: "sha256:5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
        mode: "0640"

    - name: an archive pushed from the controller
      unarchive:
        src: app.tar.gz
        dest: /srv/app
    - name: a zip pushed from the controller, one member left out
      unarchive:
        src: app.zip
        dest: /srv/zip
        exclude: ["app/logs/*"]
        mode: "u=rwX,g=rX,o="
    - name: an archive on the host, unless it is unpacked already
      unarchive:
        src: /srv/pre.tgz
        remote_src: true
        dest: /srv/pre
        creates: /srv/pre/x/a
    - name: an archive on the host, owned by nobody
      unarchive:
        src: /srv/pre.tgz
        remote_src: true
        dest: /srv/zip
        owner: nobody
        list_files: true
      register: pre
    - name: an archive the host downloads
      unarchive:
        src: "{{ base }}/files/app.tar.gz"
        remote_src: true
        dest: /srv/url
    - name: what unarchive listed
      copy:
        dest: /srv/listed
        content: "{{ pre.files | sort | join('\n') }}\n"

    - name: find configuration files
      find:
        paths: [/srv/app, /srv/zip]
        patterns: "*.conf"
        recurse: true
        contains: "^port="
      register: found
    - name: find directories by regex, and hidden files
      find:
        paths: /srv
        file_type: any
        use_regex: true
        patterns: ["^(app|pre|x)$", '.*\.txt$']
        hidden: true
        recurse: true
        depth: 2
      register: found2
    - name: what find found
      copy:
        dest: /srv/found
        content: |
          {{ found.files | map(attribute='path') | sort | join('\n') }}
          {{ found.matched }} {{ found.examined }}
          {{ found2.files | map(attribute='path') | sort | join('\n') }}
          {{ found2.matched }}
          {{ found.files | map(attribute='pw_name') | list }} {{ found.files | map(attribute='mode') | list }}

    - name: a script from the controller, once
      script: "'set up.sh' 'one arg' two"
      args:
        creates: /srv/script-ran
        chdir: /srv/pre
      environment:
        GREETING: "hi $(touch /PWNED) é"
"#;

#[test]
fn transfer_modules_converge_like_ansible() {
    let Some(pair) = converge::Pair::up() else {
        return;
    };
    let dir = pair.dir();
    pair.write("tree/app/conf/main.conf", "port=80\nname=it's \"q\" $(x)\n");
    pair.write("tree/app/conf/extra.conf", "extra=1\n");
    // Non-ASCII member names: unzip mangles them and ansible-core then fails, so ASCII here.
    pair.write("tree/app/bin/it's run.sh", "#!/bin/sh\necho ünï\n");
    pair.write("tree/app/logs/a.log", "log\n");
    std::fs::create_dir_all(dir.join("files")).unwrap();
    pack(dir, "app.tar.gz", &["tar", "czf"]);
    pack(dir, "app.zip", &["zip", "-qry"]);
    let tgz = sha256(&dir.join("files/app.tar.gz"));
    let zip = sha256(&dir.join("files/app.zip"));
    pair.write(
        "files/SHA256SUMS",
        &format!("{tgz}  app.tar.gz\n{zip}  app.zip\n"),
    );
    // The bridge: the controller's side of the test-bed network.
    let o = pair.jig_host().address.octets();
    let (base, seen) = serve(&format!("{}.{}.{}.254:0", o[0], o[1], o[2]), dir);
    pair.write("play.yml", PLAYBOOK);
    pair.write("files/hello.txt", "hello\n");
    pair.write(
        "files/set up.sh",
        "#!/bin/sh\nprintf '%s|' \"$#\" \"$1\" \"$2\" \"$PWD\" \"$GREETING\" > /srv/script-ran\n",
    );
    // unzip is what both tools need for zip archives; unarchive wants existing directories,
    // and a host archive that check mode can read before anything ran.
    pair.on_both(
        "apt-get update -qq >/dev/null && apt-get install -y -qq unzip >/dev/null && \
         mkdir -p /srv/app /srv/zip /srv/url /srv/pre/x && printf 'a\\n' > /srv/pre/x/a && \
         tar --mtime=@0 --owner=0 --group=0 -cf - -C /srv/pre x | gzip -n > /srv/pre.tgz && rm -r /srv/pre/x && \
         printf 'hello\\n' > /srv/pre/hello.txt",
    );
    let base_var = format!("base={base}");
    let sum_var = format!("tgz_sha256={tgz}");
    let extra = ["-e", &base_var, "-e", &sum_var];
    let r = pair.converge("play.yml", &extra);
    r.assert_counts(12).assert_same_diffs(&[(
        "what find found",
        // find reads the host, in check mode too (as in ansible-core): the archives the
        // earlier tasks would unpack are not there yet, so the file written from its result
        // differs.
        "find in check mode does not see what earlier tasks would unpack",
    )]);
    pair.assert_same(
        "cd /srv && find . -printf '%p %y %m %u %g %s %l\\n' | sort && \
         find . -type f -print0 | sort -z | xargs -0 sha256sum",
    );
    pair.assert_same("test -z \"$(find / -xdev -name 'PWNED*' 2>/dev/null)\" && echo clean");
    // The jig host has neither curl nor wget: the controller downloaded for it.
    let jig_addr = pair.jig_host().address.to_string();
    let from_jig = |path: &str| {
        seen.lock()
            .unwrap()
            .iter()
            .filter(|s| s.peer == jig_addr && s.path == path)
            .count()
    };
    assert_eq!(
        from_jig("/files/app.tar.gz") + from_jig("/files/app.zip"),
        0,
        "the jig host has no curl, yet it downloaded"
    );

    // With curl on the host, the host downloads itself.
    pair.on_jig("apt-get install -y -qq curl >/dev/null");
    pair.write(
        "curl.yml",
        r#"
- hosts: all
  gather_facts: false
  tasks:
    - get_url:
        url: "{{ base }}/files/app.zip"
        dest: /srv/dl/by-curl.zip
"#,
    );
    let out = pair.jig("curl.yml", &extra);
    out.assert_ok("jig with curl on the host");
    assert_eq!(out.recap.changed, 1, "{}", out.stdout);
    assert_eq!(from_jig("/files/app.zip"), 1);
    assert_eq!(
        pair.on_jig("sha256sum < /srv/dl/by-curl.zip")
            .split_whitespace()
            .next(),
        Some(zip.as_str())
    );
}

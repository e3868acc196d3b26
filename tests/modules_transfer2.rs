//! git, fetch, uri, wait_for, tempfile, pause and hostname on real hosts next to ansible-core.
//!
//! One playbook clones a repository made on each host, fetches files to the controller, asks
//! an HTTP server in this process (on the bridge address) with `uri`, waits for a port, files
//! and file content, pauses, and names the host; jig converges one test-bed host and
//! ansible-playbook its twin. Check mode predicts the real run, the second run changes
//! nothing, and the hosts end up the same, as do the registered results of the first run
//! (written to the hosts as JSON once, `force: false`, minus what is only timing) and the fetched trees on the controller. A second
//! playbook follows a commit that lands between runs and makes temporary files, which change
//! on every run in both tools.

#[path = "support/testbed.rs"]
mod testbed;

#[path = "support/converge.rs"]
mod converge;

#[path = "support/http.rs"]
mod http;

use std::path::Path;
use std::sync::{Arc, Mutex};

fn json_str(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

/// The server's answer to one request: status line, content type, extra headers, body.
fn reply(
    method: &str,
    path: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> (&'static str, &'static str, Vec<String>, Vec<u8>) {
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    match path {
        "/json" => (
            "200 OK",
            "application/json",
            vec!["X-Served-By: jig-test".into()],
            format!(
                "{{\"name\": \"jig\", \"list\": [1, 2], \"text\": \"\u{e9}t\u{e9}\", \"echo\": {}}}",
                json_str(&header("x-echo"))
            )
            .into_bytes(),
        ),
        "/echo" => (
            if method == "POST" { "201 Created" } else { "200 OK" },
            "application/json; charset=utf-8",
            vec![],
            format!(
                "{{\"method\": {}, \"type\": {}, \"body\": {}}}",
                json_str(method),
                json_str(&header("content-type")),
                json_str(&String::from_utf8_lossy(body))
            )
            .into_bytes(),
        ),
        "/text" => (
            "200 OK",
            "text/plain; charset=utf-8",
            vec![],
            "plain \u{fc}\n".as_bytes().to_vec(),
        ),
        "/old" => (
            "302 Found",
            "text/plain",
            vec!["Location: /text".into()],
            Vec::new(),
        ),
        _ => ("404 Not Found", "text/plain", vec![], b"not here\n".to_vec()),
    }
}

/// Serves [`reply`] on `addr` until the process ends, recording every request.
fn serve(addr: &str) -> (String, Arc<Mutex<Vec<http::Seen>>>) {
    http::serve(addr, |r| {
        let (status, ctype, headers, body) = reply(&r.method, &r.path, &r.headers, &r.body);
        http::Response {
            status,
            content_type: Some(ctype),
            headers,
            body,
        }
    })
}

/// Every file and directory below `dir` with its content, `host` replaced by `HOST`.
fn tree(dir: &Path, host: &str) -> String {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            let rel = p.strip_prefix(base).unwrap().to_string_lossy().into_owned();
            if p.is_dir() {
                out.push(format!("{rel}/"));
                walk(base, &p, out);
            } else {
                let content = std::fs::read(&p).unwrap();
                out.push(format!("{rel}: {:?}", String::from_utf8_lossy(&content)));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out.join("\n").replace(host, "HOST")
}

/// The hostile value the playbooks put in paths, names and bodies.
const ODD_SH: &str = r#"ODD='it'\''s "q" $(touch PWNED) é'"#;

/// Set-up on each host: git and a repository with fixed dates (so both hosts' commits have
/// the same ids), two clones with a local edit, files to fetch and to wait for, a listener.
const SETUP: &str = r#"
set -e
apt-get update -qq >/dev/null
apt-get install -y -qq git >/dev/null
export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@e GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@e
export GIT_AUTHOR_DATE=2020-01-01T00:00:00Z GIT_COMMITTER_DATE=2020-01-01T00:00:00Z
mkdir -p /srv/out /srv/git /srv/fetch /srv/wait /srv/tmp
git init -q -b main /srv/src.git
cd /srv/src.git
echo one > f
mkdir d
printf 'ü $(x)\n' > "d/it's é"
git add -A
git commit -qm one
git tag v1
git tag -a v1a -m annotated
echo two > f
git commit -qam two
git checkout -qb dev
echo dev > f
git commit -qam dev
git checkout -q main
git clone -q /srv/src.git /srv/git/edited
echo local > /srv/git/edited/f
git clone -q /srv/src.git /srv/git/kept
echo local > /srv/git/kept/f
printf 'plain\n' > /srv/fetch/plain.txt
printf 'ünï %s\n' "$ODD" > "/srv/fetch/$ODD.txt"
printf 'x\n' > /srv/wait/ready
printf 'waiting\nready: yes 42\n' > "/srv/wait/$ODD"
setsid python3 -m http.server 8123 --bind 127.0.0.1 --directory /srv/fetch >/dev/null 2>&1 </dev/null &
"#;

const PLAYBOOK: &str = r#"
- hosts: all
  gather_facts: false
  vars:
    odd: "it's \"q\" $(touch PWNED) é"
    header_odd: "it's \"q\" $(touch PWNED)"
    git_keys: [before, after, remote_url_changed, changed, failed, msg]
    fetch_keys: [changed, failed, msg, file, dest, checksum, remote_checksum, md5sum, remote_md5sum]
    uri_keys: [changed, failed, msg, status, url, redirected, json, content, content_type, path, location, x_served_by]
    wait_keys: [changed, failed, msg, state, port, path, search_regex, match_groups, match_groupdict]
    pause_keys: [changed, failed, rc, stderr, echo, user_input]
    host_keys: [changed, failed, name, ansible_facts]
  tasks:
    - name: clone the default branch
      git:
        repo: /srv/src.git
        dest: /srv/git/head
      register: g_head
    - name: clone at a tag
      git:
        repo: /srv/src.git
        dest: /srv/git/tag
        version: v1
      register: g_tag
    - name: clone at an annotated tag, by URL
      git:
        repo: file:///srv/src.git
        dest: /srv/git/atag
        version: v1a
      register: g_atag
    - name: a shallow clone of a branch
      git:
        repo: file:///srv/src.git
        dest: /srv/git/branch
        version: dev
        depth: 1
      register: g_branch
    - name: a commit, into an awkward directory
      git:
        repo: /srv/src.git
        dest: "/srv/git/{{ odd }}"
        version: "{{ sha }}"
      register: g_sha
    - name: force over a local edit
      git:
        repo: /srv/src.git
        dest: /srv/git/edited
        force: true
      register: g_force
    - name: a local edit stops the task without force
      git:
        repo: /srv/src.git
        dest: /srv/git/kept
      register: g_kept
      ignore_errors: true
    - name: a bare clone
      git:
        repo: /srv/src.git
        dest: /srv/git/bare.git
        bare: true
      register: g_bare

    - name: fetch into per-host directories
      fetch:
        src: "/srv/fetch/{{ odd }}.txt"
        dest: fetched
      register: f_tree
    - name: fetch flat into a directory
      fetch:
        src: /srv/fetch/plain.txt
        dest: "flat/{{ inventory_hostname }}/"
        flat: true
      register: f_flat
    - name: fetch flat to a file name, unchecked
      fetch:
        src: /srv/fetch/plain.txt
        dest: "flat/{{ inventory_hostname }}/renamed.txt"
        flat: true
        validate_checksum: false
      register: f_renamed
    - name: a missing file, ignored
      fetch:
        src: /srv/fetch/missing
        dest: fetched
        fail_on_missing: false
      register: f_missing
    - name: a missing file fails
      fetch:
        src: /srv/fetch/missing
        dest: fetched
      register: f_fails
      ignore_errors: true

    - name: GET JSON with a header
      uri:
        url: "{{ base }}/json"
        return_content: true
        headers:
          X-Echo: "{{ header_odd }}"
      register: u_json
    - name: POST a JSON body
      uri:
        url: "{{ base }}/echo"
        method: POST
        body_format: json
        body:
          name: "{{ odd }}"
          n: [1, 2]
        status_code: [200, 201]
      register: u_post
    - name: follow a redirect
      uri:
        url: "{{ base }}/old"
        return_content: true
      register: u_redirect
    - name: a 404 fails
      uri:
        url: "{{ base }}/missing"
      register: u_404
      ignore_errors: true
    - name: a 404 that was expected
      uri:
        url: "{{ base }}/missing"
        return_content: true
      register: u_404b
      failed_when: u_404b.status | default(404) != 404
    - name: download to a file, once
      uri:
        url: "{{ base }}/json"
        dest: /srv/out/got.json
        creates: /srv/out/got.json
      register: u_dest

    - name: a port the host listens on
      wait_for:
        port: 8123
        timeout: 10
      register: w_port
    - name: a file that is there
      wait_for:
        path: /srv/wait/ready
        timeout: 10
      register: w_path
    - name: content in a file, after a delay
      wait_for:
        path: "/srv/wait/{{ odd }}"
        search_regex: 'ready: (?P<answer>\w+) (\d+)'
        delay: 1
        timeout: 10
      register: w_regex
    - name: a file that is absent
      wait_for:
        path: /srv/wait/never
        state: absent
        timeout: 5
      register: w_absent
    - name: a file that never comes
      wait_for:
        path: /srv/wait/never
        timeout: 1
        msg: "gave up on {{ odd }}"
      register: w_timeout
      ignore_errors: true
    - name: a port nobody listens on
      wait_for:
        port: 8124
        timeout: 1
      register: w_closed
      ignore_errors: true

    - name: pause a second
      pause:
        seconds: 1
      register: p_seconds
    - name: a prompt nobody answers
      pause:
        prompt: "Continue?"
      register: p_prompt

    - name: name the host
      hostname:
        name: "{{ inventory_hostname }}-web"
      register: h_default
    - name: the systemd strategy needs hostnamectl
      hostname:
        name: "{{ inventory_hostname }}-web"
        use: debian
      register: h_debian
      ignore_errors: true

    - name: what the modules said
      copy:
        dest: "/srv/out/{{ item.n }}.json"
        force: false
        content: "{{ item.r | dict2items | selectattr('key', 'in', item.k) | items2dict | to_nice_json }}\n"
      changed_when: false
      when: not ansible_check_mode
      loop:
        - {n: g_head, r: "{{ g_head }}", k: "{{ git_keys }}"}
        - {n: g_tag, r: "{{ g_tag }}", k: "{{ git_keys }}"}
        - {n: g_atag, r: "{{ g_atag }}", k: "{{ git_keys }}"}
        - {n: g_branch, r: "{{ g_branch }}", k: "{{ git_keys }}"}
        - {n: g_sha, r: "{{ g_sha }}", k: "{{ git_keys }}"}
        - {n: g_force, r: "{{ g_force }}", k: "{{ git_keys }}"}
        - {n: g_kept, r: "{{ g_kept }}", k: "{{ git_keys }}"}
        - {n: g_bare, r: "{{ g_bare }}", k: "{{ git_keys }}"}
        - {n: f_tree, r: "{{ f_tree }}", k: "{{ fetch_keys }}"}
        - {n: f_flat, r: "{{ f_flat }}", k: "{{ fetch_keys }}"}
        - {n: f_renamed, r: "{{ f_renamed }}", k: "{{ fetch_keys }}"}
        - {n: f_missing, r: "{{ f_missing }}", k: "{{ fetch_keys }}"}
        - {n: f_fails, r: "{{ f_fails }}", k: "{{ fetch_keys }}"}
        - {n: u_json, r: "{{ u_json }}", k: "{{ uri_keys }}"}
        - {n: u_post, r: "{{ u_post }}", k: "{{ uri_keys }}"}
        - {n: u_redirect, r: "{{ u_redirect }}", k: "{{ uri_keys }}"}
        - {n: u_404, r: "{{ u_404 }}", k: "{{ uri_keys }}"}
        - {n: u_404b, r: "{{ u_404b }}", k: "{{ uri_keys }}"}
        - {n: u_dest, r: "{{ u_dest }}", k: "{{ uri_keys }}"}
        - {n: w_port, r: "{{ w_port }}", k: "{{ wait_keys }}"}
        - {n: w_path, r: "{{ w_path }}", k: "{{ wait_keys }}"}
        - {n: w_regex, r: "{{ w_regex }}", k: "{{ wait_keys }}"}
        - {n: w_absent, r: "{{ w_absent }}", k: "{{ wait_keys }}"}
        - {n: w_timeout, r: "{{ w_timeout }}", k: "{{ wait_keys }}"}
        - {n: w_closed, r: "{{ w_closed }}", k: "{{ wait_keys }}"}
        - {n: p_seconds, r: "{{ p_seconds }}", k: "{{ pause_keys + ['delta'] }}"}
        - {n: p_prompt, r: "{{ p_prompt }}", k: "{{ pause_keys }}"}
        - {n: h_default, r: "{{ h_default }}", k: "{{ host_keys }}"}
        - {n: h_debian, r: "{{ h_debian }}", k: "[changed, failed]"}
    - name: how the systemd strategy failed
      copy:
        dest: /srv/out/h_debian_msg
        force: false
        content: "{{ h_debian.msg | regex_replace(' in paths.*$', '') }}\n"
      changed_when: false
      when: not ansible_check_mode
"#;

/// Runs after a commit lands in the origin: the clone follows it; temporary files.
const AGAIN: &str = r#"
- hosts: all
  gather_facts: false
  tasks:
    - name: the clone follows the new commit
      git:
        repo: /srv/src.git
        dest: /srv/git/head
      register: g_update
    - name: a temporary file
      tempfile:
      register: t_default
    - name: a temporary directory with an awkward name
      tempfile:
        state: directory
        prefix: "it's "
        suffix: ".d é"
        path: /srv/tmp
      register: t_dir
    - name: a temporary file with a suffix
      tempfile:
        suffix: .conf
        path: /srv/tmp
      register: t_file
    - name: what they said
      copy:
        dest: /srv/out/again.json
        force: false
        content: |
          {{ g_update | dict2items | selectattr('key', 'in', ['before', 'after', 'remote_url_changed', 'changed']) | items2dict | to_nice_json }}
          {{ [t_default, t_dir, t_file] | map(attribute='changed') | list }}
      changed_when: false
      when: not ansible_check_mode
    - name: where they are
      copy:
        dest: /srv/out/tempfiles
        force: false
        content: "{{ [t_default, t_dir, t_file] | map(attribute='path') | join('\n') }}\n"
      changed_when: false
      when: not ansible_check_mode
"#;

/// What the registered results and the host's state look like, for comparison.
/// The server's address is left out: it is the bridge's, which assert_same's normalisation
/// could mangle (the jig host's address may be a prefix of it).
const STATE: &str = r#"cd /srv/out && for f in *.json h_debian_msg; do echo "== $f"; sed -E 's#http://[0-9.]+:[0-9]+#BASE#g' "$f"; done
cd /srv/git && for d in *; do echo "== $d"; git -C "$d" rev-parse HEAD; git -C "$d" status --porcelain 2>&1;
  git -C "$d" for-each-ref --format='%(refname) %(objectname)'; git -C "$d" config --local --list | sort;
  git -C "$d" rev-list --count HEAD; git -C "$d" rev-parse --is-shallow-repository; done
find /srv/git -path '*/.git' -prune -o -path '/srv/git/bare.git/*' -prune -o -printf '%p %y %m %s\n' | sort
hostname; cat /etc/hostname"#;

#[test]
fn transfer2_modules_converge_like_ansible() {
    let Some(pair) = converge::Pair::up() else {
        return;
    };
    let dir = pair.dir();
    let o = pair.jig_host().address.octets();
    let (base, seen) = serve(&format!("{}.{}.{}.254:0", o[0], o[1], o[2]));
    let setup = format!("{ODD_SH}\n{SETUP}");
    for host in [pair.jig_host(), pair.ansible_host()] {
        pair.bed().ssh_ok(host, &setup);
    }
    let sha = pair.on_jig("git -C /srv/src.git rev-parse v1^{commit}");
    assert_eq!(
        sha,
        pair.on_ansible("git -C /srv/src.git rev-parse v1^{commit}"),
        "the set-up should make the same commits on both hosts"
    );
    pair.write("play.yml", PLAYBOOK);
    let base_var = format!("base={base}");
    let sha_var = format!("sha={}", sha.trim());
    let extra = ["-e", &base_var, "-e", &sha_var];
    let r = pair.converge("play.yml", &extra);
    assert_eq!(
        r.check.recap.changed, r.first.recap.changed,
        "check:\n{}\nfirst:\n{}",
        r.check.stdout, r.first.stdout
    );
    assert_eq!(r.second.recap.changed, 0, "{}", r.second.stdout);
    assert_eq!(
        (r.first.recap.changed, r.first.recap.ignored),
        (r.ansible.recap.changed, r.ansible.recap.ignored),
        "ansible:\n{}\njig:\n{}",
        r.ansible.stdout,
        r.first.stdout
    );
    // Check mode's diffs are the real run's (git's and fetch's summaries, uri's file, hostname).
    r.assert_same_diffs(&[]);
    pair.assert_same(STATE);
    pair.assert_same("test -z \"$(find / -xdev -name 'PWNED*' 2>/dev/null)\" && echo clean");
    // The controller's side of fetch: the same trees, per host and flat.
    for d in ["fetched", "flat"] {
        let jig = tree(
            &dir.join(d).join(&pair.jig_host().name),
            &pair.jig_host().name,
        );
        let ansible = tree(
            &dir.join(d).join(&pair.ansible_host().name),
            &pair.ansible_host().name,
        );
        assert!(!jig.is_empty(), "nothing fetched into {d}");
        assert_eq!(jig, ansible, "{d} differs (jig left, ansible right)");
    }
    // The jig host has neither curl nor wget: the controller asked for it; the ansible host
    // asked itself.
    let jig_addr = pair.jig_host().address.to_string();
    let ansible_addr = pair.ansible_host().address.to_string();
    let count = |peer: &str, path: &str| {
        seen.lock()
            .unwrap()
            .iter()
            .filter(|s| s.peer == peer && s.path == path)
            .count()
    };
    assert_eq!(count(&jig_addr, "/json"), 0);
    assert!(count(&ansible_addr, "/json") >= 1);

    // With curl on the host, the host asks itself.
    pair.on_jig("apt-get install -y -qq curl >/dev/null");
    pair.write(
        "curl.yml",
        r#"
- hosts: all
  gather_facts: false
  tasks:
    - uri:
        url: "{{ base }}/echo"
        method: POST
        body: "raw body é"
        status_code: 201
        return_content: true
      register: r
    - assert:
        that:
          - r.json.body == 'raw body é'
          - r.json.method == 'POST'
          - r.status == 201
"#,
    );
    let before = count(&jig_addr, "/echo");
    pair.jig("curl.yml", &extra)
        .assert_ok("jig with curl on the host");
    assert_eq!(count(&jig_addr, "/echo"), before + 1);
    assert!(
        seen.lock()
            .unwrap()
            .iter()
            .any(|s| s.peer == jig_addr && s.method == "POST")
    );

    // A commit lands in the origin; temporary files change on every run.
    let commit = "cd /srv/src.git && echo three > f && GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@e \
                  GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@e GIT_AUTHOR_DATE=2020-01-02T00:00:00Z \
                  GIT_COMMITTER_DATE=2020-01-02T00:00:00Z git commit -qam three";
    pair.on_jig(commit);
    pair.on_ansible(commit);
    pair.write("again.yml", AGAIN);
    let check = pair.jig("again.yml", &["--check", "--diff"]);
    check.assert_ok("jig --check (again)");
    let first = pair.jig("again.yml", &[]);
    first.assert_ok("jig (again)");
    let ansible = pair.ansible("again.yml", &[]);
    ansible.assert_ok("ansible-playbook (again)");
    let second = pair.jig("again.yml", &[]);
    second.assert_ok("jig (again, second run)");
    assert_eq!(check.recap.changed, 4, "{}", check.stdout);
    assert_eq!(first.recap.changed, 4, "{}", first.stdout);
    assert_eq!(ansible.recap.changed, 4, "{}", ansible.stdout);
    assert_eq!(
        second.recap.changed, 3,
        "only the temporary files: {}",
        second.stdout
    );
    pair.assert_same(
        "cat /srv/out/again.json; git -C /srv/git/head rev-parse HEAD; cat /srv/git/head/f",
    );
    // Each temporary file: type, mode, owner, and the name's shape with the random part out.
    let shape = pair.assert_same(
        r#"while IFS= read -r p; do stat -c '%F %a %U %G' "$p"; printf '%s\n' "$p" | sed -E 's/[A-Za-z0-9_]{8}(\.conf|\.d é)?$/XXXXXXXX\1/'; done < /srv/out/tempfiles"#,
    );
    assert!(shape.contains("/srv/tmp/it's XXXXXXXX.d é"), "{shape}");
}

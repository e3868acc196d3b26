//! Services and accounts on real hosts next to ansible-core: the same playbook converges one
//! test-bed host with jig and its twin with ansible-playbook; check mode predicts the real
//! run, the second run changes nothing, and both hosts end up with the same accounts, homes
//! and service state.

#[path = "support/testbed.rs"]
mod testbed;

#[path = "support/converge.rs"]
mod converge;

const ACCOUNTS: &str = r#"
- hosts: all
  gather_facts: false
  vars:
    odd: "Ödön 'q' \"d\" $(touch /tmp/PWNED) `touch /tmp/PWNED2`"
    hash: "$6$jigsalt$SajQiNeGi8lGvpsi3816ZfpLOxW7jpyHeyfSDDw3ovMvpNTjlct77PO/JKQ4jdg2SuXTVQ4iMOv.LWWeBxPD31"
  tasks:
    - name: groups with fixed and system ids
      group: {name: devs, gid: 2500}
    - group: {name: ops, system: true}
    - group: {name: web, gid: 2600}
    - name: renumber an existing group
      group: {name: voice, gid: 2722}
    - name: remove a group
      group: {name: floppy, state: absent}
    - name: a user with everything
      user:
        name: alice
        uid: 2001
        comment: "{{ odd }}"
        shell: /bin/bash
        groups: [devs, web, ops]
        password: "{{ hash }}"
        password_lock: true
    - name: a system user without home in an existing group
      user: {name: bob, group: devs, create_home: false, system: true, shell: /usr/sbin/nologin}
    - name: a home whose parent is missing, an expiry, password ageing
      user:
        name: carol
        home: /srv/people/carol
        groups: ops
        expires: 1893456000
        password_expire_max: 90
    - name: modify an existing user (comment, shell, lock, append a group, make its missing home)
      user:
        name: www-data
        comment: "{{ odd }}"
        shell: /bin/sh
        password_lock: true
        groups: [staff]
        append: true
    - name: an ssh key
      user: {name: alice, generate_ssh_key: true, ssh_key_type: ed25519, ssh_key_comment: "{{ odd }}"}
      register: key
    - assert:
        that:
          - key.ssh_public_key is match('ssh-ed25519 ')
          - key.ssh_key_file == '/home/alice/.ssh/id_ed25519'
      when: not ansible_check_mode
    - name: remove users
      user: {name: jig, state: absent, remove: true, force: true}
    - user: {name: games, state: absent}
    - name: getent
      getent: {database: passwd, key: root}
      register: pw
    - getent: {database: group, key: nope, fail_key: false}
      register: nope
    - assert:
        that:
          - pw.ansible_facts.getent_passwd.root[1] == '0'
          - pw.ansible_facts.getent_passwd.root[4] == '/root'
          - nope.ansible_facts.getent_group.nope is none
"#;

const KEYS: &str = r#"
- hosts: all
  gather_facts: false
  tasks:
    - authorized_key:
        user: alice
        key: |
          ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKeyOne one@example
          # a comment line in the source is skipped
          ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQKeyTwo
        key_options: 'no-pty,from="10.0.0.1,10.0.0.2"'
    - authorized_key:
        user: alice
        key: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKeyThree
        comment: "it's $(touch /tmp/PWNED) ü"
    - authorized_key:
        user: alice
        key: ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQNotThere
        state: absent
"#;

#[test]
fn accounts_converge_like_ansible() {
    let Some(pair) = converge::Pair::up() else {
        return;
    };
    pair.write("accounts.yml", ACCOUNTS);
    pair.converge("accounts.yml", &[])
        .assert_counts(12)
        .assert_same_diffs(&[]);
    // Accounts: passwd and group as they are; shadow without the last-change day.
    pair.assert_same(
        "getent passwd alice bob carol www-data jig games; \
         getent group devs ops web voice floppy alice carol staff jig games; \
         getent shadow alice bob carol www-data | cut -d: -f1,2,4-",
    );
    pair.assert_same(
        "cd / && find /home /srv/people /var/www -printf '%p %y %m %u %g\\n' | sort; \
         cat /home/alice/.ssh/id_ed25519.pub | cut -d' ' -f1,3-",
    );
    pair.assert_same("test -z \"$(find / -xdev -name 'PWNED*' 2>/dev/null)\" && echo clean");

    // authorized_key (ansible.posix is not part of ansible-core: compared with the bytes
    // Ansible's module writes, documented in its source).
    pair.write("keys.yml", KEYS);
    let r = pair.converge_jig("keys.yml", &[]);
    r.assert_counts(2).assert_same_diffs(&[]);
    assert!(
        r.check
            .stdout
            .contains("+no-pty,from=\"10.0.0.1,10.0.0.2\" ssh-rsa"),
        "{}",
        r.check.stdout
    );
    assert_eq!(
        pair.on_jig("cat /home/alice/.ssh/authorized_keys"),
        "no-pty,from=\"10.0.0.1,10.0.0.2\" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKeyOne one@example\n\
         no-pty,from=\"10.0.0.1,10.0.0.2\" ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQKeyTwo \n\
         ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKeyThree it's $(touch /tmp/PWNED) ü\n"
    );
    assert_eq!(
        pair.on_jig("stat -c '%a %U %G' /home/alice/.ssh /home/alice/.ssh/authorized_keys"),
        "700 alice alice\n600 alice alice\n"
    );
    assert_eq!(
        pair.on_jig("test -z \"$(find / -xdev -name 'PWNED*' 2>/dev/null)\" && echo clean"),
        "clean\n"
    );
}

const SERVICES: &str = r#"
- hosts: all
  gather_facts: false
  tasks:
    - name: start and keep enabled
      service: {name: cron, state: started, enabled: true}
    - name: start but disable
      service: {name: memcached, state: started, enabled: false}
    - name: disable a boot script
      service: {name: procps, enabled: false}
    - name: already stopped
      service: {name: ssh-nonexistent-pattern, pattern: "no process looks like this 'q' $(x)", state: stopped, use: sysvinit}
      ignore_errors: true
      register: nope
    - name: a status by pattern (sshd runs on every bed host)
      service: {name: ssh, pattern: /usr/sbin/sshd, state: started}
    - service_facts:
      register: sf
    - assert:
        that:
          - sf.ansible_facts.services.cron.state == 'running'
          - sf.ansible_facts.services.cron.source == 'sysv'
          - sf.ansible_facts.services.memcached.state == 'running'
      when: not ansible_check_mode
"#;

const RESTARTS: &str = r#"
- hosts: all
  gather_facts: false
  tasks:
    - service: {name: memcached, state: restarted, sleep: 1}
    - service: {name: cron, state: reloaded}
    - service: {name: memcached, state: stopped}
    - service: {name: memcached, state: stopped}
    - service: {name: nope-no-such-service, state: started}
      ignore_errors: true
      register: missing
    - assert:
        that:
          - missing is failed
          - "missing.msg == 'Could not find the requested service nope-no-such-service: host'"
"#;

#[test]
fn services_converge_like_ansible() {
    let Some(pair) = converge::Pair::up() else {
        return;
    };
    // Package scripts in the bed do not start services; both hosts get the same packages.
    let install = "apt-get update -qq >/dev/null && \
                   DEBIAN_FRONTEND=noninteractive apt-get install -y -qq cron memcached >/dev/null && echo ok";
    assert_eq!(pair.on_both(install), "ok\n");
    pair.write("services.yml", SERVICES);
    // cron started; memcached started and disabled; procps disabled.
    pair.converge("services.yml", &[])
        .assert_counts(3)
        .assert_same_diffs(&[]);
    pair.assert_same(
        "for s in cron memcached procps; do service $s status >/dev/null 2>&1; echo $s=$?; done; \
         ls /etc/rc0.d /etc/rc1.d /etc/rc2.d /etc/rc3.d /etc/rc4.d /etc/rc5.d /etc/rc6.d /etc/rcS.d",
    );

    pair.write("restarts.yml", RESTARTS);
    let before = pair.on_jig("pidof memcached");
    let run = pair.jig("restarts.yml", &[]);
    run.assert_ok("jig restarts");
    // restarted, reloaded (always a change, as in Ansible), stopped; the second stop changes
    // nothing.
    assert_eq!(run.recap.changed, 3, "{}", run.stdout);
    assert_ne!(before.trim(), "", "memcached ran before the restart");
    assert_eq!(
        pair.on_jig("service memcached status >/dev/null 2>&1; echo $?"),
        "3\n"
    );
}

/// The passphrase of the keys below: spaces, quotes, a command substitution, non-ASCII.
const KEY_PASSPHRASE: &str = "pass phrase 'q' \"d\" $(touch /tmp/PWNED) `id` Ödön ✓";

const PASSPHRASE_KEYS: &str = r#"
- hosts: all
  gather_facts: false
  vars:
    pp: "pass phrase 'q' \"d\" $(touch /tmp/PWNED) `id` Ödön ✓"
  tasks:
    - name: a new user and its key (RSA 4096 takes long enough for the watcher to see it)
      user:
        name: keyed
        generate_ssh_key: true
        ssh_key_bits: 4096
        ssh_key_passphrase: "{{ pp }}"
      register: rsa
    - name: a second key, at a path with a space, with a hostile comment
      user:
        name: keyed
        generate_ssh_key: true
        ssh_key_type: ed25519
        ssh_key_file: .ssh/other key
        ssh_key_comment: "Ödön 'q' $(touch /tmp/PWNED2)"
        ssh_key_passphrase: "{{ pp }}"
      register: ed
    - assert:
        that:
          - rsa.ssh_public_key is match('ssh-rsa ')
          - ed.ssh_key_file == '/home/keyed/.ssh/other key'
      when: not ansible_check_mode
"#;

/// Single-quotes `s` for a POSIX shell (test commands only).
fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Every distinct argv of the processes in the PID namespace `ns` (a `pid:[…]` link), read
/// from this machine's /proc every 2 ms until `stop` is set.
fn watch_argvs(
    ns: &str,
    stop: &std::sync::atomic::AtomicBool,
) -> std::collections::HashSet<Vec<u8>> {
    let mut seen = std::collections::HashSet::new();
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let dir = entry.path();
            let in_host =
                std::fs::read_link(dir.join("ns/pid")).is_ok_and(|l| l.to_string_lossy() == ns);
            if let (true, Ok(argv)) = (in_host, std::fs::read(dir.join("cmdline"))) {
                seen.insert(argv);
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    seen
}

/// Paths of regular files under `dir` (not following links) that contain `needle`.
fn files_containing(dir: &std::path::Path, needle: &[u8], found: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let Ok(ft) = entry.file_type() else { continue };
        let path = entry.path();
        if ft.is_dir() {
            files_containing(&path, needle, found);
        } else if ft.is_file()
            && let Ok(data) = std::fs::read(&path)
            && data.windows(needle.len()).any(|w| w == needle)
        {
            found.push(path);
        }
    }
}

#[test]
fn key_passphrases_never_show_on_the_host() {
    let Some(pair) = converge::Pair::up() else {
        return;
    };
    let root = pair.bed().root(pair.jig_host());
    let ns = std::fs::read_link(root.with_file_name("ns").join("pid"))
        .expect("the jig host's PID namespace")
        .to_string_lossy()
        .into_owned();
    pair.write("keys.yml", PASSPHRASE_KEYS);
    let stop = std::sync::atomic::AtomicBool::new(false);
    let (r, argvs) = std::thread::scope(|s| {
        let watcher = s.spawn(|| watch_argvs(&ns, &stop));
        let r = pair.converge("keys.yml", &["-v"]);
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        (r, watcher.join().expect("the watcher thread"))
    });
    assert_eq!(r.first.recap.changed, 2, "{}", r.first.stdout);
    assert_eq!(
        r.check.recap.changed, r.first.recap.changed,
        "{}",
        r.check.stdout
    );
    assert_eq!(r.second.recap.changed, 0, "{}", r.second.stdout);
    assert_eq!(
        r.ansible.recap.changed, r.first.recap.changed,
        "{}",
        r.ansible.stdout
    );

    // The watcher saw ssh-keygen make the key, and the passphrase in no argv.
    let pp = KEY_PASSPHRASE.as_bytes();
    let shown = |a: &Vec<u8>| String::from_utf8_lossy(a).replace('\0', " ");
    assert!(
        argvs
            .iter()
            .any(|a| shown(a).contains("ssh-keygen -t rsa -b 4096 -C ansible-generated on ")),
        "the watcher saw no ssh-keygen: {:?}",
        argvs.iter().map(shown).collect::<Vec<_>>()
    );
    for a in &argvs {
        for part in ["pass phrase", "Ödön ✓"] {
            assert!(
                !shown(a).contains(part),
                "the passphrase in an argv: {}",
                shown(a)
            );
        }
        assert!(!a.windows(pp.len()).any(|w| w == pp));
    }
    // Nor in jig's output or any file the run could have written.
    for out in [&r.check, &r.first, &r.second] {
        assert!(!out.stdout.contains("pass phrase") && !out.stderr.contains("pass phrase"));
    }
    let mut found = Vec::new();
    for dir in ["tmp", "var/tmp", "root", "home", "run", "etc"] {
        files_containing(&root.join(dir), pp, &mut found);
    }
    assert!(found.is_empty(), "the passphrase in files: {found:?}");

    // Both hosts' keys open with the passphrase (and not without); same files, modes,
    // owners, types and comments.
    let q = sh_quote(KEY_PASSPHRASE);
    let opens = format!(
        "for k in /home/keyed/.ssh/id_rsa '/home/keyed/.ssh/other key'; do \
           ssh-keygen -y -P {q} -f \"$k\" | cut -d' ' -f1; \
           ssh-keygen -y -P '' -f \"$k\" >/dev/null 2>&1 && echo OPENS WITHOUT; \
         done; true"
    );
    assert_eq!(pair.assert_same(&opens), "ssh-rsa\nssh-ed25519\n");
    pair.assert_same(
        "cd / && find /home/keyed/.ssh -printf '%p %y %m %u %g\\n' | sort; \
         cut -d' ' -f1,3- /home/keyed/.ssh/id_rsa.pub '/home/keyed/.ssh/other key.pub'",
    );
    pair.assert_same("test -z \"$(find / -xdev -name 'PWNED*' 2>/dev/null)\" && echo clean");
}

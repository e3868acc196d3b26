//! The remaining system-file modules on real hosts next to ansible-core: `cron` and
//! `known_hosts` (ansible.builtin, compared live), `ini_file`, `pam_limits` and `pamd`
//! (community.general). One pair of hosts, one playbook per family: check mode predicts the
//! real run, the second run changes nothing, and both hosts end up with the same files.
//!
//! When ansible-playbook cannot load community.general (CI's venv has ansible-core only), the
//! files jig leaves are compared with tests/fixtures/sysfiles2/expected_state.txt, which
//! ansible-core 2.19 with community.general 11.4.2 left on a twin host for the same playbook
//! (recorded with `JIG_SYSFILES2_RECORD=PATH` and `ANSIBLE_COLLECTIONS_PATH` set).

#[path = "support/testbed.rs"]
mod testbed;

#[path = "support/converge.rs"]
mod converge;

const ED1: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOUqPfdiwQ6mZqF4gohIEN3Tl/9Qb/ICEDN1mK8rATJR";
const ED2: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIC8tR3MQPfwu2OikzjRL5ZNMz8A4jMu0EyaMLMY0ew82";
const EC: &str = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBLsUX3c967lMUkylZcGvGqjyZjRnvd5/lFU6eCtwXrXX7BGnevayFf+mD2zB2TEOagURsKLK7RqF/pZOYvU4lb4=";

fn builtin_playbook() -> String {
    format!(
        r#"
- hosts: all
  gather_facts: false
  tasks:
    - name: a job whose command has quotes, a substitution and non-ASCII
      cron:
        name: "backup 'db' ü"
        minute: "5"
        hour: "2"
        job: "/usr/local/bin/backup 'a b' \"$(touch /tmp/PWNED)\" % ü"
    - cron: {{name: boot, special_time: reboot, job: "echo hi"}}
    - cron: {{name: "off", job: /bin/true, weekday: "1-5", disabled: true}}
    - cron: {{name: PATH, env: true, job: "/usr/bin:/bin"}}
    - cron: {{name: MAILTO, env: true, job: "root@example.com", insertafter: PATH}}
    - cron: {{name: SHELL, env: true, job: /bin/sh, insertbefore: PATH}}
    - name: a job that was there is removed
      cron: {{name: old job, state: absent}}
    - name: a job that is there changes in place
      cron: {{name: kept, minute: "7", job: "echo kept 2"}}
    - cron: {{name: jig job, user: jig, job: "echo jig", minute: "*/10", backup: true}}
    - cron: {{name: in file, cron_file: jig-app, user: root, job: "echo f", minute: "*/5"}}
    - cron: {{name: APP, env: true, job: "1", cron_file: jig-app, user: root}}
    - name: the last job of a cron file goes with the file
      cron: {{name: gone, cron_file: jig-gone, user: root, state: absent}}
    - known_hosts: {{name: example.com, key: "example.com {ED1}"}}
    - known_hosts:
        name: "[git.example]:2222"
        key: "[git.example]:2222 {EC}"
        path: "/etc/ssh/jig known_hosts"
    - name: a key of the same type is replaced
      known_hosts: {{name: replaced.org, key: "replaced.org,10.9.9.9 {ED2} a comment"}}
    - known_hosts: {{name: removed.org, state: absent}}
    - known_hosts: {{name: hashed.org, key: "hashed.org {ED1}", path: /root/kh_hashed, hash_host: true}}
"#
    )
}

/// The same starting state on both hosts: a user crontab with a variable and jobs to keep,
/// change and remove, a cron file to empty, and known_hosts lines to remove and replace.
fn builtin_seed() -> String {
    format!(
        "apt-get update -q >/dev/null 2>&1 && apt-get install -y -q cron >/dev/null 2>&1 && \
         printf 'PATH=\"/bin\"\\n#Ansible: old job\\n* * * * * echo old\\n#Ansible: kept\\n* * * * * echo kept\\n' | crontab - && \
         printf '#Ansible: gone\\n* * * * * root echo gone\\n' > /etc/cron.d/jig-gone && \
         mkdir -p /root/.ssh && \
         printf 'removed.org {ED1}\\nreplaced.org {ED1}\\n' > /root/.ssh/known_hosts && \
         chmod 600 /root/.ssh/known_hosts && echo ok"
    )
}

const BUILTIN_STATE: &str = "crontab -l; echo ---; crontab -u jig -l; echo ---; \
    ls /etc/cron.d; cat /etc/cron.d/jig-app; stat -c '%n %a %U' /etc/cron.d/jig-app; echo ---; \
    cat /root/.ssh/known_hosts; ls /root/.ssh; cat '/etc/ssh/jig known_hosts'; \
    stat -c '%n %a %U' '/etc/ssh/jig known_hosts' /root/.ssh/known_hosts; \
    ssh-keygen -F hashed.org -f /root/kh_hashed | grep -c ssh-ed25519; wc -l < /root/kh_hashed; \
    grep -c '^|1|' /root/kh_hashed";

#[test]
fn cron_and_known_hosts_converge_like_ansible() {
    let Some(pair) = converge::Pair::up() else {
        return;
    };
    assert_eq!(pair.on_both(&builtin_seed()).trim(), "ok");
    pair.write("builtin.yml", &builtin_playbook());
    pair.converge("builtin.yml", &[])
        .assert_counts(17)
        .assert_same_diffs(&[]);
    let state = pair.assert_same(BUILTIN_STATE);
    assert!(
        state.contains("#Ansible: backup 'db' ü\n5 2 * * * /usr/local/bin/backup"),
        "{state}"
    );
    // The backup of jig's crontab is a file like Ansible's.
    assert_eq!(
        pair.on_jig("ls /tmp | grep -c '^crontab'").trim(),
        pair.on_ansible("ls /tmp | grep -c '^crontab'").trim()
    );
    pair.assert_same("test ! -e /tmp/PWNED && echo clean");
}

const GENERAL_PLAYBOOK: &str = r#"
- hosts: all
  gather_facts: false
  tasks:
    - community.general.ini_file: {path: /etc/jig/app.ini, section: peers, option: host, values: [a, c]}
    - community.general.ini_file:
        path: /etc/jig/app.ini
        section: mysqld
        option: skip-name-resolve
        allow_no_value: true
    - name: an option before the first section, with a hostile value
      community.general.ini_file:
        path: /etc/jig/app.ini
        section: null
        option: top
        value: "it's \"$(touch /tmp/PWNED)\" ü"
        no_extra_spaces: true
    - community.general.ini_file: {path: /etc/jig/old.ini, section: mysqld, state: absent}
    - community.general.ini_file:
        path: "/etc/jig/new dir/new.ini"
        section: "s p"
        option: k
        value: v
        mode: "0600"
    - community.general.pam_limits: {domain: "*", limit_type: soft, limit_item: nofile, value: 4096}
    - community.general.pam_limits:
        domain: "@dev"
        limit_type: hard
        limit_item: nproc
        value: 100
        use_max: true
        comment: for dev
    - community.general.pam_limits:
        domain: joe
        limit_type: "-"
        limit_item: memlock
        value: unlimited
        dest: /etc/security/limits.d/jig.conf
    - name: a pamd edit
      community.general.pamd: {name: jig, type: auth, control: required, module_path: pam_env.so, new_control: sufficient}
    - name: a pamd edit
      community.general.pamd:
        name: jig
        type: auth
        control: "[success=1 default=ignore]"
        module_path: pam_unix.so
        new_type: auth
        new_control: required
        new_module_path: pam_faillock.so
        module_arguments: preauth silent
        state: before
    - name: a pamd edit
      community.general.pamd:
        name: jig
        type: session
        control: optional
        module_path: pam_motd.so
        module_arguments: "motd=/etc/motd noupdate"
        state: args_present
    - name: a pamd edit
      community.general.pamd: {name: jig, type: account, control: required, module_path: pam_unix.so, state: absent}
"#;

const GENERAL_SEED: &str = "mkdir -p /etc/jig /etc/security/limits.d && \
    printf '[peers]\\nhost = a\\nold = x\\nhost = b\\nold = y\\n[mysqld]\\nport = 3306\\n' > /etc/jig/app.ini && \
    printf '[a]\\nx = 1\\n[mysqld]\\nport = 3306\\n\\n[b]\\n' > /etc/jig/old.ini && \
    printf '#%%PAM-1.0\\n# comment\\nauth       required   pam_env.so readenv=1\\nauth\\t[success=1 default=ignore]\\tpam_unix.so nullok try_first_pass\\naccount required pam_unix.so\\nsession optional pam_motd.so motd=/run/motd.dynamic\\n@include common-session\\n' > /etc/pam.d/jig && \
    echo ok";

const GENERAL_STATE: &str = "cat /etc/jig/app.ini; echo ---; cat /etc/jig/old.ini; echo ---; \
    cat '/etc/jig/new dir/new.ini'; stat -c '%n %a %U' '/etc/jig/new dir/new.ini' /etc/jig/app.ini; \
    echo ---; grep -v '^#' /etc/security/limits.conf; cat /etc/security/limits.d/jig.conf; \
    echo ---; grep -v '^# Updated by Ansible' /etc/pam.d/jig; grep -c '^# Updated by Ansible' /etc/pam.d/jig";

/// Whether ansible-playbook on this machine can load community.general.
fn collections_available(pair: &converge::Pair) -> bool {
    pair.write(
        "probe.yml",
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - community.general.ini_file:\n        path: /tmp/jig-probe.ini\n        option: a\n        value: b\n      check_mode: true\n",
    );
    pair.ansible("probe.yml", &[]).code == 0
}

#[test]
fn ini_file_pam_limits_pamd_converge_like_community_general() {
    let Some(pair) = converge::Pair::up() else {
        return;
    };
    assert_eq!(pair.on_both(GENERAL_SEED).trim(), "ok");
    pair.write("general.yml", GENERAL_PLAYBOOK);
    let r = pair.converge_jig("general.yml", &[]);
    // community.general's pamd stamps the file with the time (`# Updated by Ansible - ...`),
    // which no check run can know; jig's pamd (another helper's) also plans each task against
    // the host's file in check mode, not the one the earlier check-mode tasks would write.
    r.assert_counts(12).assert_same_diffs(&[(
        "a pamd edit",
        "the time stamp, and check mode ignores the predicted file",
    )]);
    let first = &r.first;
    let jig_state = pair.on_jig(GENERAL_STATE);
    if collections_available(&pair) {
        let ansible = pair.ansible("general.yml", &[]);
        assert_eq!(
            ansible.recap.changed, first.recap.changed,
            "{}",
            ansible.stdout
        );
        let same = pair.assert_same(GENERAL_STATE);
        if let Ok(path) = std::env::var("JIG_SYSFILES2_RECORD") {
            std::fs::write(path, pair.on_ansible(GENERAL_STATE)).unwrap();
        }
        assert_eq!(jig_state.replace(&pair.jig_host().name, "HOST"), same);
    } else {
        println!(
            "community.general is not installed: comparing with the state ansible-core left \
             (tests/fixtures/sysfiles2/expected_state.txt)"
        );
        let expected = include_str!("fixtures/sysfiles2/expected_state.txt");
        assert_eq!(jig_state, expected);
    }
    assert_eq!(
        pair.on_jig("test ! -e /tmp/PWNED && echo clean").trim(),
        "clean"
    );
}

/// Files with comments in every place community.general's pam_limits and pamd look at (the
/// same on both hosts). Tabs are real tabs.
const COMMENTS_SEED: &str = r#"set -e
d=/etc/security/limits.d
mkdir -p $d
rm -f $d/*
printf '# limits\n#*\t\tsoft\tnofile\t\t1024\n   # indented note\n@dev hard nproc 50 # devs ü\n' > $d/carry.conf
printf '# no comments here\n@dev hard nproc 50\n' > $d/plain.conf
printf 'joe soft core 0 # keep me\n' > $d/same.conf
printf 'joe\tsoft\tcore\t0\t#old one\n' > $d/replace.conf
printf 'joe hard nofile 10 #old $(x) it'"'"'s\n' > $d/inherit.conf
printf 'joe hard nofile 0100\njoe soft nofile infinity\njoe - nproc -1\njoe hard nice -5\n' > $d/minmax.conf
printf 'ann soft as 10 # first\nann soft as 20 # second\n' > $d/dups.conf
printf 'ann hard stack 8\n' > $d/backup.conf
printf 'ann hard stack lots\n' > $d/invalid.conf
cat > /etc/pam.d/jig-trailing <<'EOF'
#%PAM-1.0
auth       required   pam_env.so readenv=1 # env ü
auth	sufficient	pam_rootok.so	# root is fine
account required pam_unix.so # accounts

session optional pam_motd.so motd=/run/motd.dynamic
EOF
cat > /etc/pam.d/jig-commented <<'EOF'
#%PAM-1.0
#auth required pam_wheel.so
auth required pam_unix.so
#session optional pam_motd.so
EOF
cat > /etc/pam.d/jig-around <<'EOF'
#%PAM-1.0
auth required pam_env.so
# before unix
auth required pam_unix.so
# after unix

# still after unix
account required pam_unix.so
session required pam_limits.so
# trailing comment
EOF
cat > /etc/pam.d/jig-indented <<'EOF'
auth required pam_unix.so
  # an indented comment
 @include common-auth
EOF
cat > /etc/pam.d/jig-bad <<'EOF'
auth required pam_unix.so
auth [success=ok new_authtok_reqd=done default=bogus] pam_x.so
EOF
cat > /etc/pam.d/jig-first <<'EOF'
auth required pam_unix.so
# the end
EOF
cat > /etc/pam.d/jig-absent <<'EOF'
#%PAM-1.0
# keep 1
auth required pam_deny.so
# keep 2
auth optional pam_deny.so # with a comment
account required pam_deny.so
EOF
echo ok
"#;

/// pam_limits and pamd around comments, commented-out lines, `use_min`/`use_max`, `backup`,
/// and files community.general refuses; the results go to /root/results1.txt (first run)
/// and results2.txt (second).
const COMMENTS_PLAYBOOK: &str = r#"- hosts: all
  gather_facts: false
  vars:
    d: /etc/security/limits.d
  tasks:
    - stat: {path: /root/results1.txt}
      register: earlier
    - name: a comment from an unrelated line is carried to an appended line
      community.general.pam_limits: {dest: "{{ d }}/carry.conf", domain: "*", limit_type: soft, limit_item: nofile, value: 4096}
      register: l1
    - name: no comment anywhere
      community.general.pam_limits: {dest: "{{ d }}/plain.conf", domain: "*", limit_type: hard, limit_item: nofile, value: 10}
      register: l2
    - name: same value and another comment, the line stays
      community.general.pam_limits: {dest: "{{ d }}/same.conf", domain: joe, limit_type: soft, limit_item: core, value: 0, comment: "new 'c' $(touch /tmp/PWNED) ü"}
      register: l3
    - name: new value and comment replace the line
      community.general.pam_limits: {dest: "{{ d }}/replace.conf", domain: joe, limit_type: soft, limit_item: core, value: unlimited, comment: "new 'c' $(touch /tmp/PWNED) ü"}
      register: l4
    - name: new value, no comment keeps the old one
      community.general.pam_limits: {dest: "{{ d }}/inherit.conf", domain: joe, limit_type: hard, limit_item: nofile, value: 20}
      register: l5
    - community.general.pam_limits: {dest: "{{ d }}/minmax.conf", domain: joe, limit_type: hard, limit_item: nofile, value: 50, use_max: true}
      register: l6
    - community.general.pam_limits: {dest: "{{ d }}/minmax.conf", domain: joe, limit_type: soft, limit_item: nofile, value: unlimited, use_min: true}
      register: l7
    - community.general.pam_limits: {dest: "{{ d }}/minmax.conf", domain: joe, limit_type: "-", limit_item: nproc, value: 300, use_min: true}
      register: l8
    - community.general.pam_limits: {dest: "{{ d }}/minmax.conf", domain: joe, limit_type: hard, limit_item: nice, value: -10, use_max: true}
      register: l9
    - community.general.pam_limits: {dest: "{{ d }}/minmax.conf", domain: bob, limit_type: hard, limit_item: nproc, value: 7, use_max: true, comment: bob}
      register: l10
    - name: both duplicates change
      community.general.pam_limits: {dest: "{{ d }}/dups.conf", domain: ann, limit_type: soft, limit_item: as, value: 30}
      register: l11
    - name: backup
      community.general.pam_limits: {dest: "{{ d }}/backup.conf", domain: ann, limit_type: hard, limit_item: stack, value: 16, backup: true}
      register: l12
    - name: an invalid line fails the task
      community.general.pam_limits: {dest: "{{ d }}/invalid.conf", domain: ann, limit_type: soft, limit_item: core, value: 1}
      register: l13
      ignore_errors: true
    - name: a new file
      community.general.pam_limits: {dest: "{{ d }}/new.conf", domain: ann, limit_type: soft, limit_item: core, value: 1, comment: made}
      register: l14
    - name: pamd, a trailing comment is arguments
      community.general.pamd: {name: jig-trailing, type: auth, control: required, module_path: pam_env.so, module_arguments: debug, state: args_present}
      register: p1
    - community.general.pamd: {name: jig-trailing, type: auth, control: sufficient, module_path: pam_rootok.so, module_arguments: [root], state: args_absent}
      register: p2
    - community.general.pamd: {name: jig-trailing, type: account, control: required, module_path: pam_unix.so, module_arguments: [silent], state: updated}
      register: p3
    - name: commented-out rules are not rules
      community.general.pamd: {name: jig-commented, type: auth, control: required, module_path: pam_wheel.so, state: absent}
      register: p4
    - community.general.pamd: {name: jig-commented, type: session, control: optional, module_path: pam_motd.so, new_control: required}
      register: p5
    - community.general.pamd:
        name: jig-commented
        type: auth
        control: required
        module_path: pam_unix.so
        new_type: auth
        new_control: required
        new_module_path: pam_env.so
        module_arguments: "user_readenv=1 conffile=/etc/jig env.conf"
        state: before
      register: p6
    - name: before a rule with comments above it
      community.general.pamd:
        name: jig-around
        type: auth
        control: required
        module_path: pam_unix.so
        new_type: auth
        new_control: requisite
        new_module_path: pam_faillock.so
        module_arguments: preauth
        state: before
      register: p7
    - name: after a rule with comments below it
      community.general.pamd:
        name: jig-around
        type: auth
        control: required
        module_path: pam_unix.so
        new_type: auth
        new_control: "[default=die]"
        new_module_path: pam_faillock.so
        module_arguments: authfail
        state: after
      register: p8
    - name: after the last rule, before a trailing comment
      community.general.pamd:
        name: jig-around
        type: session
        control: required
        module_path: pam_limits.so
        new_type: session
        new_control: optional
        new_module_path: pam_umask.so
        state: after
      register: p9
    - name: before the first line
      community.general.pamd:
        name: jig-first
        type: auth
        control: required
        module_path: pam_unix.so
        new_type: auth
        new_control: required
        new_module_path: pam_env.so
        state: before
      register: p10
    - community.general.pamd: {name: jig-absent, type: auth, control: required, module_path: pam_deny.so, state: absent}
      register: p11
    - community.general.pamd: {name: jig-absent, type: auth, control: optional, module_path: pam_deny.so, state: absent}
      register: p12
    - name: an indented comment is not valid
      community.general.pamd: {name: jig-indented, type: auth, control: required, module_path: pam_unix.so, new_control: requisite}
      register: p13
      ignore_errors: true
    - name: an invalid control action
      community.general.pamd: {name: jig-bad, type: auth, control: required, module_path: pam_unix.so, new_control: requisite}
      register: p14
      ignore_errors: true
    - name: the results
      copy:
        dest: "/root/results{{ '2' if earlier.stat.exists else '1' }}.txt"
        content: |
          {% for r in [l1, l2, l3, l4, l5, l6, l7, l8, l9, l10, l11, l12, l13, l14] %}
          {{ r.changed }} {{ r.msg | default('') }} {{ 'backup_file' in r }}
          {% endfor %}
          {% for r in [p1, p2, p3, p4, p5, p6, p7, p8, p9, p10, p11, p12, p13, p14] %}
          {{ r.changed }} {{ r.change_count | default('') }} {{ r.backupdest | default('') }} {{ r.msg | default('') }}
          {% endfor %}
      when: not ansible_check_mode
      changed_when: false
"#;

/// The files (tabs and line ends shown by `cat -A`, backups and stamps normalised) and the
/// results.
const COMMENTS_STATE: &str = r#"cd /etc/security/limits.d && for f in *; do echo "== $f"; case $f in *~) ;; *) cat -A "$f";; esac; done | sed 's/\.[0-9]*\.[0-9-]*@[0-9:]*~$/.BACKUP~/'
for f in /etc/pam.d/jig-*; do echo "== $f"; sed 's/^# Updated by Ansible - [0-9T:.-]*$/# Updated by Ansible - STAMP/' "$f" | cat -A; done
for f in /root/results1.txt /root/results2.txt; do echo "== $f"; cat -A "$f"; done
test ! -e /tmp/PWNED && echo clean
"#;

#[test]
fn pam_comments_like_community_general() {
    let Some(pair) = converge::Pair::up() else {
        return;
    };
    assert_eq!(pair.on_jig(COMMENTS_SEED).trim(), "ok");
    pair.write("comments.yml", COMMENTS_PLAYBOOK);
    let check = pair.jig("comments.yml", &["-C", "-D"]);
    let first = pair.jig("comments.yml", &[]);
    let second = pair.jig("comments.yml", &[]);
    // 10 pam_limits and 10 pamd tasks change the files; two pamd tasks and one pam_limits
    // task fail on the files (ignored).
    assert_eq!(first.recap.changed, 20, "{}", first.stdout);
    assert_eq!(first.recap.ignored, 3, "{}", first.stdout);
    assert_eq!(check.recap.changed, first.recap.changed, "{}", check.stdout);
    assert_eq!(second.recap.changed, 0, "{}", second.stdout);
    let jig_state = pair.on_jig(COMMENTS_STATE);
    if collections_available(&pair) {
        assert_eq!(pair.on_ansible(COMMENTS_SEED).trim(), "ok");
        let ansible = pair.ansible("comments.yml", &[]);
        assert_eq!(
            ansible.recap.changed, first.recap.changed,
            "{}",
            ansible.stdout
        );
        pair.ansible("comments.yml", &[])
            .assert_ok("ansible-playbook (second run)");
        if let Ok(path) = std::env::var("JIG_SYSFILES2_COMMENTS_RECORD") {
            std::fs::write(path, pair.on_ansible(COMMENTS_STATE)).unwrap();
        }
        pair.assert_same(COMMENTS_STATE);
    }
    // Recorded with ansible-core 2.19 and community.general 11.4.2 on a twin host
    // (JIG_SYSFILES2_COMMENTS_RECORD=PATH with ANSIBLE_COLLECTIONS_PATH set).
    let expected = include_str!("fixtures/sysfiles2/comments_state.txt");
    assert_eq!(jig_state, expected);
}

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

/// The same starting state on both hosts. Check mode on a fresh host cannot see what an
/// earlier task would have written, so the variable the others are placed beside is there.
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

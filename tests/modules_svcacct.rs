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

//! The system-file modules on real hosts next to ansible-core: one playbook per module family
//! converges a test-bed host with jig and its twin with ansible-playbook; check mode predicts
//! the real run, the second run changes nothing, and both hosts end up with the same files.
//!
//! `sysctl`, `mount` (ansible.posix) and `dpkg_divert` (community.general) are not in
//! ansible-core: when ansible-playbook can load those collections (an
//! `ANSIBLE_COLLECTIONS_PATH` that has them) they are compared live too; otherwise the files
//! jig leaves are compared with tests/fixtures/sysfiles/expected/*, which ansible-core 2.19 with
//! ansible.posix and community.general 11.4.2 left on a twin host for the same playbook.

#[path = "support/testbed.rs"]
mod testbed;

#[path = "support/converge.rs"]
mod converge;

const FILES_PLAYBOOK: &str = r#"
- hosts: all
  gather_facts: false
  tasks:
    - name: forwarding on, set at once and in /etc/sysctl.conf
      ansible.posix.sysctl:
        name: net.ipv4.ip_forward
        value: "1"
        sysctl_set: true
    - name: a two-word value in a file of its own, reloaded
      ansible.posix.sysctl:
        name: net.ipv4.ip_local_port_range
        value: "20000   40000"
        sysctl_file: /etc/sysctl.d/60-jig.conf
    - name: a boolean value
      ansible.posix.sysctl:
        name: net.ipv4.tcp_timestamps
        value: false
        sysctl_file: /etc/sysctl.d/60-jig.conf
        reload: false
    - name: a key removed from the file
      ansible.posix.sysctl:
        name: net.ipv4.tcp_syncookies
        state: absent
        sysctl_file: /etc/sysctl.d/60-jig.conf
        reload: false
    - name: a local diversion of a file that does not exist
      community.general.dpkg_divert:
        path: "/usr/bin/jig tool"
    - name: a diversion renaming the file away
      community.general.dpkg_divert:
        path: /etc/jig/div.conf
        divert: /etc/jig/div.conf.orig
        rename: true
    - name: a diversion removed
      community.general.dpkg_divert:
        path: /etc/jig-old
        state: absent
    - name: a tmpfs in fstab and mounted (hosts have their own mount namespace)
      ansible.posix.mount:
        path: /mnt/jig data
        src: tmpfs
        fstype: tmpfs
        opts: size=2m,mode=0750
        state: mounted
    - name: an fstab line only, not at boot
      ansible.posix.mount:
        path: /mnt/jig-later
        src: tmpfs
        fstype: tmpfs
        boot: false
        state: present
    - name: unmounted
      ansible.posix.mount:
        path: /mnt/jig-old
        state: unmounted
    - name: a line removed from fstab
      ansible.posix.mount:
        path: /mnt/jig-gone
        state: absent_from_fstab
"#;

/// The same starting files on both hosts: check mode on a fresh host cannot see what an
/// earlier task would have written, so what the removals remove is there before.
const FILES_SEED: &str = "mkdir -p /etc/jig && \
    printf '# jig test\\nnet.ipv4.tcp_syncookies = 1\\n' > /etc/sysctl.d/60-jig.conf && \
    printf '[peers]\\nhost = a\\nold = x\\nhost = b\\nold = y\\n[mysqld]\\nport = 3306\\n' > /etc/jig/app.ini && \
    printf '[a]\\nx = 1\\n[mysqld]\\nport = 3306\\n\\n[b]\\n' > /etc/jig/old.ini && \
    chmod 644 /etc/jig/app.ini && echo original > /etc/jig/div.conf && \
    dpkg-divert --local --no-rename --add /etc/jig-old >/dev/null && \
    mkdir -p /mnt/jig-old && mount -t tmpfs -o size=1m tmpfs /mnt/jig-old && \
    printf 'tmpfs /mnt/jig-gone tmpfs defaults 0 0\\n' >> /etc/fstab && echo ok";

/// Files both hosts' state is read from.
const FILES_STATE: &str = "cat /etc/sysctl.conf | grep -v '^#' ; echo ---; \
    cat /etc/sysctl.d/60-jig.conf; echo ---; \
    sysctl -n net.ipv4.ip_forward net.ipv4.ip_local_port_range net.ipv4.tcp_timestamps; echo ---; \
    dpkg-divert --list | sort; ls /etc/jig; \
    cat /etc/fstab; grep ' /mnt/jig' /proc/mounts | cut -d' ' -f1-4; ls -d /mnt/jig*; \
    stat -c '%n %a %U %G' /etc/sysctl.d/60-jig.conf";

/// Whether ansible-playbook on this machine can load ansible.posix and community.general.
fn collections_available(pair: &converge::Pair) -> bool {
    pair.write(
        "probe.yml",
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - community.general.ini_file:\n        path: /tmp/jig-probe.ini\n        option: a\n        value: b\n      check_mode: true\n    - ansible.posix.sysctl:\n        name: net.ipv4.ip_forward\n        value: '1'\n      check_mode: true\n",
    );
    let out = pair.ansible("probe.yml", &[]);
    out.code == 0
}

#[test]
fn sysctl_dpkg_divert_mount_converge_like_ansible() {
    let Some(pair) = converge::Pair::up() else {
        return;
    };
    assert_eq!(pair.on_both(FILES_SEED).trim(), "ok");
    pair.write("play.yml", FILES_PLAYBOOK);
    let r = pair.converge_jig("play.yml", &[]);
    r.assert_counts(11).assert_same_diffs(&[]);
    let first = &r.first;
    let jig_state = pair.on_jig(FILES_STATE);
    if collections_available(&pair) {
        let ansible = pair.ansible("play.yml", &[]);
        assert_eq!(
            ansible.recap.changed, first.recap.changed,
            "{}",
            ansible.stdout
        );
        let same = pair.assert_same(FILES_STATE);
        // Recording the fixture used where the collections are missing.
        if let Ok(path) = std::env::var("JIG_SYSFILES_RECORD") {
            std::fs::write(path, pair.on_ansible(FILES_STATE)).unwrap();
        }
        assert_eq!(jig_state.replace(&pair.jig_host().name, "HOST"), same);
    } else {
        println!(
            "ansible.posix/community.general are not installed: comparing with the state \
             ansible-core left (tests/fixtures/sysfiles/expected/files_state.txt)"
        );
        let expected = include_str!("fixtures/sysfiles/expected/files_state.txt");
        assert_eq!(jig_state, expected);
    }
    pair.assert_same("test -z \"$(find / -xdev -name 'PWNED*' 2>/dev/null)\" && echo clean");
}

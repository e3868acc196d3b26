//! The system modules of issue 5, part B, on real hosts next to ansible-core: `timezone`,
//! `locale_gen` and `alternatives` (community.general) in one playbook, `reboot`
//! (ansible.builtin) in another, `modprobe` on the jig host alone: this machine's kernel has
//! no module support (no `/proc/modules`), where community.general's modprobe fails on every
//! task, so its files are compared with what its code writes (module unit tests) instead.
//!
//! Check mode predicts the real run, the second run changes nothing, and the host ends up as
//! ansible-core leaves its twin. community.general is not in ansible-core: when
//! ansible-playbook can load it (an `ANSIBLE_COLLECTIONS_PATH` that has it) the twin is
//! converged live; otherwise the state jig leaves is compared with
//! tests/fixtures/sysfiles3/system_state.txt, which ansible-core 2.19.14 with
//! community.general 11.4.2 left on a twin host for the same playbook (recorded with
//! `JIG_SYSFILES3_RECORD=PATH`).
//!
//! `modprobe` never runs the real tool here (the hosts share this machine's kernel): the seed
//! puts a stand-in in `/usr/local/sbin` that logs its words and fails for `jigmissing`, and a
//! `modules.builtin` naming `jigbuiltin`.

#[path = "support/testbed.rs"]
mod testbed;

#[path = "support/converge.rs"]
mod converge;

const SYSTEM_PLAYBOOK: &str = r#"
- hosts: all
  gather_facts: false
  tasks:
    - name: a time zone (Debian without systemd, the file strategy)
      community.general.timezone:
        name: Europe/Paris
    - name: two locales generated
      community.general.locale_gen:
        name: [en_US.UTF-8, fr_FR.UTF-8]
    - name: a generated locale removed
      community.general.locale_gen:
        name: de_DE.UTF-8
        state: absent
    - name: a new alternatives group with a subcommand, selected
      community.general.alternatives:
        name: jig-editor
        link: /usr/local/bin/jig-editor
        path: /usr/local/lib/jig/ed one
        priority: 20
        subcommands:
          - name: jig-editor.1
            link: /usr/local/share/man/jig-editor.1
            path: /usr/local/lib/jig/ed-one.1
    - name: a second alternative, not selected
      community.general.alternatives:
        name: jig-editor
        link: /usr/local/bin/jig-editor
        path: /usr/local/lib/jig/ed-two
        priority: 10
        state: present
    - name: a priority changed (link given, Ansible misreads it for names with a dash)
      community.general.alternatives:
        name: jig-pager
        link: /usr/local/bin/jig-pager
        path: /usr/local/lib/jig/pager-c
        priority: 40
        state: present
    - name: a manual group back to auto
      community.general.alternatives:
        name: jig-pager
        path: /usr/local/lib/jig/pager-a
        state: auto
    - name: an alternative removed
      community.general.alternatives:
        name: jig-pager
        path: /usr/local/lib/jig/pager-b
        state: absent
"#;

/// The same starting state on both hosts.
const SYSTEM_SEED: &str = r#"set -e
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null && apt-get install -y -qq locales >/dev/null 2>&1
sed -i 's/^# de_DE.UTF-8 UTF-8/de_DE.UTF-8 UTF-8/' /etc/locale.gen && locale-gen >/dev/null
mkdir -p /usr/local/lib/jig /usr/local/share/man /etc/modules-load.d /etc/modprobe.d "/lib/modules/$(uname -r)"
for f in 'ed one' ed-two ed-one.1 pager-a pager-b pager-c; do printf '#!/bin/sh\n' >"/usr/local/lib/jig/$f"; chmod 755 "/usr/local/lib/jig/$f"; done
update-alternatives --install /usr/local/bin/jig-pager jig-pager /usr/local/lib/jig/pager-a 10 >/dev/null
update-alternatives --install /usr/local/bin/jig-pager jig-pager /usr/local/lib/jig/pager-b 20 >/dev/null
update-alternatives --install /usr/local/bin/jig-pager jig-pager /usr/local/lib/jig/pager-c 5 >/dev/null
update-alternatives --set jig-pager /usr/local/lib/jig/pager-a >/dev/null
echo kernel/drivers/net/jigbuiltin.ko >"/lib/modules/$(uname -r)/modules.builtin"
printf 'jig-old\n# keep me\n' >/etc/modules-load.d/jig-old.conf
printf 'options jig-old speed=3\noptions jig-old a=1 b=2\n' >/etc/modprobe.d/jig-old.conf
printf 'options jigbuiltin old=1 # from before\nblacklist jigother\n' >/etc/modprobe.d/legacy.conf
cat >/usr/local/sbin/modprobe <<'EOF'
#!/bin/sh
printf '[%s]' "$@" >>/var/log/jig-modprobe.log; echo >>/var/log/jig-modprobe.log
case " $* " in *' jigmissing '*) echo 'modprobe: FATAL: Module jigmissing not found.' >&2; exit 1 ;; esac
exit 0
EOF
chmod 755 /usr/local/sbin/modprobe
echo ok"#;

/// What both hosts' state is read from.
const SYSTEM_STATE: &str = "cat /etc/timezone; readlink /etc/localtime; echo ---; \
    grep -v '^#' /etc/locale.gen | grep .; locale -a; echo ---; \
    update-alternatives --query jig-editor; echo; update-alternatives --query jig-pager; \
    readlink /etc/alternatives/jig-editor /etc/alternatives/jig-pager /etc/alternatives/jig-editor.1";

/// Whether ansible-playbook here can load community.general.
fn collections_available(pair: &converge::Pair) -> bool {
    pair.write(
        "probe.yml",
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - community.general.alternatives:\n        name: jig-probe\n        path: /bin/true\n        link: /usr/local/bin/jig-probe\n      check_mode: true\n",
    );
    pair.ansible("probe.yml", &[]).code == 0
}

#[test]
fn timezone_locale_gen_alternatives_modprobe_converge_like_ansible() {
    let Some(pair) = converge::Pair::up() else {
        return;
    };
    let live = collections_available(&pair);
    assert_eq!(pair.on_jig(SYSTEM_SEED).trim(), "ok");
    if live {
        assert_eq!(pair.on_ansible(SYSTEM_SEED).trim(), "ok");
    }
    pair.write("play.yml", SYSTEM_PLAYBOOK);
    let r = pair.converge_jig("play.yml", &[]);
    r.assert_counts(8).assert_same_diffs(&[]);
    let (check, first) = (&r.check, &r.first);
    // The diffs say what changed: the zone before and after, the locale.gen lines.
    assert!(
        check
            .stdout
            .contains("-    \"name\": \"Etc/UTC\"\n+    \"name\": \"Europe/Paris\""),
        "{}",
        check.stdout
    );
    assert!(
        check.stdout.contains("+en_US.UTF-8 UTF-8"),
        "{}",
        check.stdout
    );
    let jig_state = pair.on_jig(SYSTEM_STATE);
    let jig_state = jig_state.replace(&pair.jig_host().name, "HOST");
    if live {
        let ansible = pair.ansible("play.yml", &[]);
        assert_eq!(
            ansible.recap.changed, first.recap.changed,
            "{}",
            ansible.stdout
        );
        let theirs = pair
            .on_ansible(SYSTEM_STATE)
            .replace(&pair.ansible_host().name, "HOST");
        if let Ok(path) = std::env::var("JIG_SYSFILES3_RECORD") {
            std::fs::write(path, &theirs).unwrap();
        }
        assert_eq!(jig_state, theirs);
    } else {
        println!(
            "community.general is not installed: comparing with the state ansible-core left \
             (tests/fixtures/sysfiles3/system_state.txt)"
        );
        assert_eq!(
            jig_state,
            include_str!("fixtures/sysfiles3/system_state.txt")
        );
    }

    modprobe_persists_and_runs_the_planned_commands(&pair);

    // The hardware clock mode, jig only (Ansible fails without a hardware clock): recorded in
    // /etc/default/rcS and /etc/adjtime, with a warning that hwclock did not run.
    pair.write(
        "rtc.yml",
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - community.general.timezone:\n        hwclock: local\n",
    );
    let rtc = pair.jig("rtc.yml", &[]);
    assert_eq!(rtc.recap.changed, 1, "{}", rtc.stdout);
    let said = format!("{}{}", rtc.stdout, rtc.stderr);
    assert!(said.contains("no hardware clock"), "{said}");
    assert_eq!(pair.jig("rtc.yml", &[]).recap.changed, 0);
    assert_eq!(
        pair.on_jig("grep ^UTC= /etc/default/rcS; tail -n 1 /etc/adjtime"),
        "UTC=no\nLOCAL\n"
    );
}

const MODPROBE_PLAYBOOK: &str = r#"
- hosts: all
  gather_facts: false
  tasks:
    - name: a built-in module loaded at boot with parameters
      community.general.modprobe:
        name: jigbuiltin
        params: numdummies=2 flag=on
        persistent: present
    - name: a module no longer loaded at boot
      community.general.modprobe:
        name: jig-old
        state: absent
        persistent: absent
"#;

const MODPROBE_LOAD_PLAYBOOK: &str = r#"
- hosts: all
  gather_facts: false
  tasks:
    - name: a module modprobe loads
      community.general.modprobe:
        name: jigdummy
        params: "a=1 'b=two words'"
    - name: a module modprobe cannot find
      community.general.modprobe:
        name: jigmissing
      ignore_errors: true
"#;

/// `modprobe` on the jig host (seeded by [`SYSTEM_SEED`]): the persistence files converge and
/// match community.general's content, and loading runs the stand-in with the words planned.
fn modprobe_persists_and_runs_the_planned_commands(pair: &converge::Pair) {
    pair.write("modprobe.yml", MODPROBE_PLAYBOOK);
    let r = pair.converge_jig("modprobe.yml", &[]);
    r.assert_counts(2).assert_same_diffs(&[]);
    let first = &r.first;
    assert!(
        first.stdout.contains("+options jigbuiltin numdummies=2"),
        "{}",
        first.stdout
    );
    assert_eq!(
        pair.on_jig(
            "for f in /etc/modules-load.d/* /etc/modprobe.d/*; do echo \"== $f\"; cat \"$f\"; done"
        ),
        "== /etc/modules-load.d/jig-old.conf\n#jig-old\n# keep me\n\
         == /etc/modules-load.d/jigbuiltin.conf\njigbuiltin\n\
         == /etc/modprobe.d/jig-old.conf\n#options jig-old speed=3\noptions jig-old a=1 b=2\n\
         == /etc/modprobe.d/jigbuiltin.conf\noptions jigbuiltin numdummies=2\noptions jigbuiltin flag=on\n\
         == /etc/modprobe.d/legacy.conf\n#options jigbuiltin old=1 # from before\nblacklist jigother\n"
    );
    // Not loadable on this kernel: modprobe runs (dry in check mode), its failure is the
    // task's, and nothing is reported changed when the module did not appear.
    pair.write("load.yml", MODPROBE_LOAD_PLAYBOOK);
    pair.on_jig("rm -f /var/log/jig-modprobe.log");
    let check = pair.jig("load.yml", &["--check"]);
    let real = pair.jig("load.yml", &[]);
    assert_eq!(real.recap.ignored, 1, "{}", real.stdout);
    assert_eq!(check.recap.ignored, 1, "{}", check.stdout);
    assert_eq!(real.recap.changed, 0, "{}", real.stdout);
    assert!(
        real.stdout
            .contains("modprobe: FATAL: Module jigmissing not found."),
        "{}",
        real.stdout
    );
    assert_eq!(
        pair.on_jig("cat /var/log/jig-modprobe.log"),
        "[-n][jigdummy][a=1][b=two words]\n[-n][jigmissing]\n\
         [jigdummy][a=1][b=two words]\n[-n][--first-time][jigdummy][a=1][b=two words]\n\
         [jigmissing]\n"
    );
}

const REBOOT_PLAYBOOK: &str = r#"
- hosts: all
  gather_facts: false
  tasks:
    - name: the boot id before
      command: cat /proc/sys/kernel/random/boot_id
      register: before
      changed_when: false
    - name: reboot, with a message a shell must not run
      reboot:
        msg: "jig's test reboot $(touch /tmp/jig-reboot-pwned)"
        test_command: test -s /etc/hostname
        connect_timeout: 5
        reboot_timeout: 120
      register: rebooted
    - name: the boot id after
      command: cat /proc/sys/kernel/random/boot_id
      register: after
      changed_when: false
    - name: a new boot, and the results Ansible gives
      assert:
        that:
          - rebooted.rebooted
          - rebooted.elapsed >= 0
          - before.stdout != after.stdout
      when: not ansible_check_mode
"#;

#[test]
fn reboot_waits_for_the_new_boot_like_ansible() {
    let Some(pair) = converge::Pair::up() else {
        return;
    };
    pair.write("reboot.yml", REBOOT_PLAYBOOK);
    let boot_id = "cat /proc/sys/kernel/random/boot_id";
    let (jig_id, ansible_id) = (pair.on_jig(boot_id), pair.on_ansible(boot_id));
    // Live against ansible-playbook 2.19 on the twin (its `/sbin/shutdown -r 0 "msg"` over
    // `ssh -tt`, then `cat /proc/sys/kernel/random/boot_id` until it changes, then the
    // test_command); the bed's shutdown survives the hang-up of that terminal (init.sh).
    let r = pair.converge("reboot.yml", &[]);
    r.assert_same_diffs(&[]);
    // Check mode reports the reboot without doing it; every real run reboots (Ansible's
    // reboot always changes).
    assert_eq!(r.check.recap.changed, 1, "{}", r.check.stdout);
    assert_eq!(r.first.recap.changed, 1, "{}", r.first.stdout);
    assert_eq!(r.second.recap.changed, 1, "{}", r.second.stdout);
    assert_eq!(r.first.recap.ok, 4, "{}", r.first.stdout);
    assert_eq!(
        (r.ansible.recap.ok, r.ansible.recap.changed),
        (r.first.recap.ok, r.first.recap.changed),
        "{}",
        r.ansible.stdout
    );
    assert_ne!(pair.on_jig(boot_id), jig_id);
    assert_ne!(pair.on_ansible(boot_id), ansible_id);
    pair.assert_same("test -s /etc/hostname && pgrep -x sshd >/dev/null && echo up");
    // Ansible puts the message in double quotes for the host's shell, which runs the
    // substitution; jig's quoting does not.
    assert_eq!(
        pair.on_jig("test -e /tmp/jig-reboot-pwned || echo clean")
            .trim(),
        "clean"
    );
}

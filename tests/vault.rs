//! Ansible Vault end to end: `jig run` with a vaulted group_vars file and an inline `!vault`
//! value used in a template, on the local connection, with the secret changed between runs; and
//! `jig vault` against ansible-vault/ansible-playbook 2.19 in both directions (when
//! `JIG_ANSIBLE` names ansible-core's `ansible`; skipped with a printed reason otherwise, unless
//! `JIG_TESTBED_REQUIRED=1`).

use std::path::{Path, PathBuf};

use assert_cmd::Command;

const OLD: &str = "s3cr3t 'quoted' $(x) é";
const NEW: &str = "n3w-s3cr3t \"dq\" $(y) é";
const OLD_KEY: &str = "k3y-0ld 'x' $(z) ü";
const NEW_KEY: &str = "k3y-n3w 'y' `w` ü";

fn jig(dir: &Path) -> Command {
    let mut c = Command::cargo_bin("jig").expect("the jig binary is built");
    c.current_dir(dir)
        .env_remove("ANSIBLE_INVENTORY")
        .env_remove("ANSIBLE_ROLES_PATH")
        .env_remove("ANSIBLE_VAULT_PASSWORD_FILE")
        .env("NO_COLOR", "1");
    c
}

/// Runs jig; returns (exit code, stdout + stderr).
fn run(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = jig(dir).args(args).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

/// No spelling of any of the secrets appears in `text`.
fn assert_no_secret(text: &str, what: &str) {
    for needle in ["s3cr3t", "k3y-0ld", "k3y-n3w", "\\u00e9", "quoted"] {
        assert!(!text.contains(needle), "{what} shows {needle:?}:\n{text}");
    }
}

/// Writes group_vars/all/vault.yml (whole-file vault) and vars/key.yml (an inline value),
/// both encrypted by `jig vault`.
fn set_secrets(dir: &Path, password: &str, key: &str) {
    let gv = dir.join("group_vars/all");
    std::fs::create_dir_all(&gv).unwrap();
    let file = gv.join("vault.yml");
    let yaml = format!(
        "db_password: {}\n",
        serde_json::to_string(password).unwrap()
    );
    std::fs::write(&file, yaml).unwrap();
    let (code, out) = run(
        dir,
        &[
            "vault",
            "encrypt",
            "--vault-password-file",
            "pw",
            "group_vars/all/vault.yml",
        ],
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Encryption successful"), "{out}");
    let out = jig(dir)
        .args([
            "vault",
            "encrypt_string",
            "--vault-password-file",
            "pw",
            "--stdin-name",
            "api_key",
        ])
        .write_stdin(key)
        .output()
        .unwrap();
    assert!(out.status.success());
    std::fs::create_dir_all(dir.join("vars")).unwrap();
    std::fs::write(dir.join("vars/key.yml"), &out.stdout).unwrap();
}

#[test]
fn a_changed_vault_secret_never_shows_yet_the_diff_says_the_file_changed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join("pw"), "vault pass word\n").unwrap();
    std::fs::write(dir.join("hosts"), "[app]\nlocal ansible_connection=local\n").unwrap();
    std::fs::write(
        dir.join("app.conf.j2"),
        "user = app\npassword = {{ db_password }}\napi_key = {{ api_key }}\nport = 80\n",
    )
    .unwrap();
    // An inline value no password given opens: never used, so the run must not fail.
    let other = {
        let mut ring = jig::vault::Keyring::new();
        ring.add("default", jig::vault::Password::new(b"another".to_vec()));
        ring.encrypt(b"unused value", None).unwrap()
    };
    let unused: String = other.lines().map(|l| format!("        {l}\n")).collect();
    let out_dir = dir.join("out");
    std::fs::create_dir(&out_dir).unwrap();
    std::fs::write(
        dir.join("site.yml"),
        format!(
            "- hosts: app\n  gather_facts: false\n  vars_files:\n    - vars/key.yml\n  vars:\n    \
             unused: !vault |\n{unused}  tasks:\n    \
             - name: render config\n      template:\n        src: app.conf.j2\n        \
             dest: {dest}/app.conf\n    \
             - name: show the password\n      debug:\n        msg: \"db is {{{{ db_password }}}}\"\n    \
             - debug:\n        var: api_key\n    \
             - name: echo it\n      command: echo {{{{ db_password | quote }}}} {{{{ api_key | to_json }}}}\n      \
             changed_when: false\n",
            dest = out_dir.display()
        ),
    )
    .unwrap();

    set_secrets(dir, OLD, OLD_KEY);
    let base = [
        "run",
        "site.yml",
        "-i",
        "hosts",
        "--vault-password-file",
        "pw",
    ];
    let (code, out) = run(dir, &base);
    assert_eq!(code, 0, "{out}");
    assert_no_secret(&out, "run");
    assert!(out.contains("db is <redacted>"), "{out}");
    let conf = std::fs::read_to_string(out_dir.join("app.conf")).unwrap();
    assert_eq!(
        conf,
        format!("user = app\npassword = {OLD}\napi_key = {OLD_KEY}\nport = 80\n")
    );

    let mut args = base.to_vec();
    args.extend(["--diff", "-vvvv"]);
    let (code, out) = run(dir, &args);
    assert_eq!(code, 0, "{out}");
    assert_no_secret(&out, "run --diff -vvvv (unchanged)");
    assert!(out.contains("changed=0"), "{out}");

    // The secrets change: the diff says so without showing either side, in check mode first.
    set_secrets(dir, NEW, NEW_KEY);
    let mut check = base.to_vec();
    check.extend(["--check", "--diff"]);
    let (code, out) = run(dir, &check);
    assert_eq!(code, 0, "{out}");
    assert_no_secret(&out, "run --check --diff");
    assert!(
        !out.contains("n3w-s3cr3t") && !out.contains("k3y-n3w"),
        "{out}"
    );
    assert!(
        out.contains("-password = <redacted: secret changed>"),
        "{out}"
    );
    assert!(out.contains("changed=1"), "{out}");

    // The same change seen by `jig check` (JSON lines on stdout, the four report files) and
    // recorded by `jig plan`: no output of any kind carries either secret.
    let (code, out) = run(
        dir,
        &[
            "check",
            "site.yml",
            "-i",
            "hosts",
            "--vault-password-file",
            "pw",
            "--output",
            "json",
            "-vvvv",
            "--report",
            "report",
        ],
    );
    assert_eq!(code, 2, "drift expected:\n{out}");
    assert!(out.contains("<redacted: secret changed>"), "{out}");
    let (code, plan_out) = run(
        dir,
        &[
            "plan",
            "site.yml",
            "-i",
            "hosts",
            "--vault-password-file",
            "pw",
            "-o",
            "plan.json",
        ],
    );
    assert_eq!(code, 0, "{plan_out}");
    let mut outputs = vec![
        ("check --output json".to_string(), out),
        ("plan".into(), plan_out),
    ];
    let plan = dir.join("plan.json");
    let reports = ["report.json", "junit.xml", "report.html", "metrics.prom"];
    let files = reports
        .iter()
        .map(|f| dir.join("report").join(f))
        .chain([plan.clone()]);
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        outputs.push((file.display().to_string(), text));
    }
    for (what, text) in &outputs {
        assert_no_secret(text, what);
        for needle in ["n3w-s3cr3t", "k3y-n3w"] {
            assert!(!text.contains(needle), "{what} shows {needle}:\n{text}");
        }
    }
    let report = &outputs[2].1;
    assert!(
        report.contains("app.conf"),
        "the report names the file: {report}"
    );

    let (code, out) = run(dir, &args);
    assert_eq!(code, 0, "{out}");
    assert_no_secret(&out, "run --diff -vvvv (changed)");
    for needle in ["n3w-s3cr3t", "k3y-n3w"] {
        assert!(!out.contains(needle), "shows {needle}:\n{out}");
    }
    assert!(
        out.contains("-password = <redacted: secret changed>"),
        "{out}"
    );
    assert!(out.contains("+password = <redacted: new secret>"), "{out}");
    assert!(
        out.contains("-api_key = <redacted: secret changed>"),
        "{out}"
    );
    assert!(out.contains("changed=1"), "{out}");
    let conf = std::fs::read_to_string(out_dir.join("app.conf")).unwrap();
    assert!(conf.contains(NEW) && conf.contains(NEW_KEY), "{conf}");

    // --secret-vars: a plain variable's value is redacted too.
    let mut args = base.to_vec();
    args.extend([
        "-e",
        "plain_token=t0k3n-plain",
        "--secret-vars",
        "plain_token",
        "-v",
    ]);
    std::fs::write(
        dir.join("plain.yml"),
        "- hosts: app\n  gather_facts: false\n  tasks:\n    - debug:\n        msg: \"{{ plain_token }}\"\n",
    )
    .unwrap();
    args[1] = "plain.yml";
    let (code, out) = run(dir, &args);
    assert_eq!(code, 0, "{out}");
    assert!(
        !out.contains("t0k3n-plain") && out.contains("<redacted>"),
        "{out}"
    );

    // A wrong password is an error naming the file; no password names the flags.
    std::fs::write(dir.join("bad-pw"), "wrong\n").unwrap();
    let (code, out) = run(
        dir,
        &[
            "run",
            "site.yml",
            "-i",
            "hosts",
            "--vault-password-file",
            "bad-pw",
        ],
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("vault.yml:1:1: cannot decrypt this file: decryption failed"),
        "{out}"
    );
    let (code, out) = run(dir, &["run", "site.yml", "-i", "hosts"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("--vault-password-file"), "{out}");
}

#[test]
fn an_inline_value_that_cannot_be_opened_fails_the_task_that_uses_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mut ring = jig::vault::Keyring::new();
    ring.add("default", jig::vault::Password::new(b"another".to_vec()));
    let text = ring.encrypt(OLD.as_bytes(), None).unwrap();
    let body: String = text.lines().map(|l| format!("        {l}\n")).collect();
    std::fs::write(dir.join("pw"), "vault pass word\n").unwrap();
    std::fs::write(
        dir.join("use.yml"),
        format!(
            "- hosts: localhost\n  gather_facts: false\n  vars:\n    token: !vault |\n{body}  tasks:\n    \
             - debug:\n        msg: fine\n    - debug:\n        msg: \"{{{{ token }}}}\"\n"
        ),
    )
    .unwrap();
    let (code, out) = run(dir, &["run", "use.yml", "--vault-password-file", "pw"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("\"msg\": \"fine\""), "{out}");
    assert!(
        out.contains("use.yml:5:9: cannot decrypt this !vault value"),
        "{out}"
    );
    assert_no_secret(&out, "failed run");
}

#[test]
fn every_loader_opens_vaulted_files() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join("pw"), "vault pass word\n").unwrap();
    let mut ring = jig::vault::Keyring::new();
    ring.add(
        "default",
        jig::vault::Password::new(b"vault pass word".to_vec()),
    );
    let vaulted = |path: &str, plain: &str| {
        let p = dir.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, ring.encrypt(plain.as_bytes(), None).unwrap()).unwrap();
    };
    vaulted("extra.yml", "from_extra: s3cr3t-extra\n");
    vaulted("inc.yml", "from_include: s3cr3t-include\n");
    vaulted(
        "roles/r/defaults/main.yml",
        "from_defaults: s3cr3t-defaults\n",
    );
    vaulted("roles/r/vars/main.yml", "from_role_vars: s3cr3t-rolevars\n");
    vaulted(
        "files/key.txt",
        "s3cr3t-file line one\nline two of the file\n",
    );
    std::fs::create_dir_all(dir.join("roles/r/tasks")).unwrap();
    std::fs::write(
        dir.join("roles/r/tasks/main.yml"),
        "- debug:\n    msg: \"{{ from_defaults }} {{ from_role_vars }}\"\n",
    )
    .unwrap();
    let dest = dir.join("copied.txt");
    std::fs::write(
        dir.join("site.yml"),
        format!(
            "- hosts: localhost\n  gather_facts: false\n  roles: [r]\n  tasks:\n    \
             - include_vars: inc.yml\n    \
             - assert:\n        that:\n          - from_extra == 's3cr3t-extra'\n          \
             - from_include == 's3cr3t-include'\n          - from_defaults == 's3cr3t-defaults'\n          \
             - from_role_vars == 's3cr3t-rolevars'\n    \
             - copy:\n        src: key.txt\n        dest: {}\n",
            dest.display()
        ),
    )
    .unwrap();
    let (code, out) = run(
        dir,
        &[
            "run",
            "site.yml",
            "-e",
            "@extra.yml",
            "--vault-password-file",
            "pw",
            "--diff",
            "-vvv",
        ],
    );
    assert_eq!(code, 0, "{out}");
    assert_no_secret(&out, "run");
    assert!(!out.contains("line two of the file"), "{out}");
    assert_eq!(
        std::fs::read_to_string(&dest).unwrap(),
        "s3cr3t-file line one\nline two of the file\n"
    );
}

/// A play whose vars are `encrypt_string`'s output for `k`, asserting that `k` is [`OLD`].
fn asserting_play(vars: &str) -> String {
    let vars: String = vars.lines().map(|l| format!("    {l}\n")).collect();
    format!(
        "- hosts: localhost\n  gather_facts: false\n  vars:\n{vars}  tasks:\n    - assert:\n        \
         that: k == {}\n",
        serde_json::to_string(OLD).unwrap()
    )
}

/// ansible-vault/ansible-playbook beside the `ansible` that JIG_ANSIBLE names.
fn ansible_tool(name: &str) -> Option<PathBuf> {
    let ansible = PathBuf::from(std::env::var_os("JIG_ANSIBLE")?);
    let tool = ansible.parent()?.join(name);
    tool.is_file().then_some(tool)
}

fn skip(why: &str) {
    if std::env::var("JIG_TESTBED_REQUIRED").is_ok_and(|v| v == "1") {
        panic!("{why}");
    }
    eprintln!("skipped: {why}");
}

#[test]
fn jig_vault_and_ansible_vault_read_each_other() {
    let (Some(av), Some(ap)) = (
        ansible_tool("ansible-vault"),
        ansible_tool("ansible-playbook"),
    ) else {
        return skip("no ansible-core (set JIG_ANSIBLE=/path/to/ansible)");
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join("pw"), "vault pass é\n").unwrap();
    std::fs::write(dir.join("prod-pw"), "prod pass\n").unwrap();
    std::fs::write(dir.join("new-pw"), "new pass\n").unwrap();
    let ansible = |args: &[&str]| {
        let out = std::process::Command::new(&av)
            .current_dir(dir)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };

    // jig encrypts (1.1 and 1.2 with an id), ansible-vault decrypts.
    let plain = format!("secret: {}\n", serde_json::to_string(OLD).unwrap());
    std::fs::write(dir.join("a.yml"), &plain).unwrap();
    std::fs::write(dir.join("b.yml"), &plain).unwrap();
    assert_eq!(
        run(
            dir,
            &["vault", "encrypt", "--vault-password-file", "pw", "a.yml"]
        )
        .0,
        0
    );
    assert_eq!(
        run(
            dir,
            &[
                "vault",
                "encrypt",
                "--vault-id",
                "prod@prod-pw",
                "--encrypt-vault-id",
                "prod",
                "b.yml"
            ]
        )
        .0,
        0
    );
    assert!(
        std::fs::read_to_string(dir.join("b.yml"))
            .unwrap()
            .starts_with("$ANSIBLE_VAULT;1.2;AES256;prod")
    );
    assert_eq!(
        ansible(&["view", "--vault-password-file", "pw", "a.yml"]),
        plain
    );
    assert_eq!(
        ansible(&["view", "--vault-id", "prod@prod-pw", "b.yml"]),
        plain
    );

    // jig rekeys, ansible-vault opens with the new password.
    let (code, out) = run(
        dir,
        &[
            "vault",
            "rekey",
            "--vault-password-file",
            "pw",
            "--new-vault-password-file",
            "new-pw",
            "a.yml",
        ],
    );
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        ansible(&["view", "--vault-password-file", "new-pw", "a.yml"]),
        plain
    );

    // ansible-vault encrypts (1.1 and 1.2), jig decrypts.
    std::fs::write(dir.join("c.yml"), &plain).unwrap();
    ansible(&[
        "encrypt",
        "--vault-id",
        "dev@pw",
        "--encrypt-vault-id",
        "dev",
        "c.yml",
    ]);
    let (code, out) = run(dir, &["vault", "view", "--vault-id", "dev@pw", "c.yml"]);
    assert_eq!((code, out.as_str()), (0, plain.as_str()));
    let s = ansible(&[
        "encrypt_string",
        "--vault-password-file",
        "pw",
        "--name",
        "k",
        OLD,
    ]);
    std::fs::write(dir.join("d.yml"), asserting_play(&s)).unwrap();
    let (code, out) = run(dir, &["run", "d.yml", "--vault-password-file", "pw"]);
    assert_eq!(code, 0, "{out}");

    // jig's encrypt_string is accepted by ansible-playbook.
    let out = jig(dir)
        .args([
            "vault",
            "encrypt_string",
            "--vault-password-file",
            "pw",
            "-n",
            "k",
            OLD,
        ])
        .output()
        .unwrap();
    let s = String::from_utf8(out.stdout).unwrap();
    std::fs::write(dir.join("e.yml"), asserting_play(&s)).unwrap();
    let out = std::process::Command::new(&ap)
        .current_dir(dir)
        .args([
            "e.yml",
            "--vault-password-file",
            "pw",
            "-i",
            "localhost,",
            "-c",
            "local",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

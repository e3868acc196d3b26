//! Role machinery end to end: argument specs validated before a role runs (compared with
//! ansible-core 2.19's output when it is available, and with messages recorded from it
//! otherwise), roles found through `ANSIBLE_ROLES_PATH` and `--roles-path`, and
//! docs/compatibility.md kept in step with what jig registers.

use std::path::{Path, PathBuf};
use std::process::Command;

use jig::template::Templar;
use jig::vars::VarScope;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/roles")
}

struct Out {
    code: Option<i32>,
    stdout: String,
}

fn jig(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Out {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_jig"));
    cmd.current_dir(dir)
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("ANSIBLE_ROLES_PATH");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let o = cmd.output().expect("jig starts");
    let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        !stdout.contains("panicked at") && !String::from_utf8_lossy(&o.stderr).contains("panicked"),
        "jig panicked\n{stdout}"
    );
    Out {
        code: o.status.code(),
        stdout,
    }
}

/// `ansible-playbook` beside the `ansible` that `JIG_ANSIBLE` names, or on PATH.
fn ansible_playbook() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("JIG_ANSIBLE") {
        return Some(PathBuf::from(p).with_file_name("ansible-playbook"));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("ansible-playbook"))
        .find(|p| p.is_file())
}

/// ansible-playbook's output, or `None` (with the reason printed) when there is none.
fn ansible_run(dir: &Path, playbook: &str) -> Option<String> {
    let Some(ap) = ansible_playbook() else {
        eprintln!("no ansible-core to compare with (set JIG_ANSIBLE): recorded messages only");
        return None;
    };
    let cfg = tempfile::tempdir().expect("temp dir");
    let cfg_file = cfg.path().join("ansible.cfg");
    std::fs::write(&cfg_file, "").expect("empty ansible.cfg");
    let o = Command::new(ap)
        .current_dir(dir)
        .args(["-i", "hosts.ini", playbook])
        .env("ANSIBLE_CONFIG", &cfg_file)
        .env("ANSIBLE_NOCOLOR", "1")
        .env("ANSIBLE_PYTHON_INTERPRETER", "/usr/bin/python3")
        .env_remove("ANSIBLE_ROLES_PATH")
        .output()
        .expect("ansible-playbook starts");
    Some(String::from_utf8_lossy(&o.stdout).into_owned())
}

/// The output with the title of an `include_role` task made uniform: Ansible names it
/// `TASK [include_role : r1]`, jig `TASK [include_role]` (a report-layer difference outside
/// role validation).
fn comparable(out: &str) -> Vec<String> {
    out.lines()
        .map(|l| {
            if l.starts_with("TASK [include_role") {
                "TASK [include_role ...]".to_string()
            } else {
                l.trim_end().to_string()
            }
        })
        .collect()
}

#[test]
fn valid_arguments_pass_and_entry_points_are_validated_like_ansible() {
    let dir = fixtures().join("argspec");
    let run = jig(&dir, &["run", "-i", "hosts.ini", "ok.yml"], &[]);
    assert_eq!(run.code, Some(0), "{}", run.stdout);
    let titles: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("TASK [r1 : Validating"))
        .collect();
    assert_eq!(
        titles,
        vec![
            "TASK [r1 : Validating arguments against arg spec 'main' - The main entry] ******",
            "TASK [r1 : Validating arguments against arg spec 'other'] **********************",
        ],
        "import_role with rolespec_validate: false and tasks_from: other.yml are not validated\n{}",
        run.stdout
    );
    // Validation converts nothing: `i` stays the string it was, the spec's default is unset.
    assert!(
        run.stdout
            .contains("\"msg\": \"s=1 i=42 str dflt=UNDEF l=['1', 2] d={'x': 3}\""),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("\"msg\": \"o=not a number\""));
    if let Some(ansible) = ansible_run(&dir, "ok.yml") {
        pretty_assertions::assert_eq!(comparable(&ansible), comparable(&run.stdout));
    }
}

/// The error list ansible-core 2.19 printed for bad.yml (its `<class '..._AnsibleTaggedStr'>`
/// spelled as the plain `<class 'str'>`).
const RECORDED_ERRORS: &[&str] = &[
    "missing required arguments: s",
    "argument 'i' is of type str and we were unable to convert to int: \\\"'forty'\\\" cannot be converted to an int",
    "argument 'f' is of type str and we were unable to convert to float: <class 'str'> cannot be converted to a float",
    "argument 'b' is of type str and we were unable to convert to bool: The value 'maybe' is not a valid boolean. Valid booleans include: 0, 't', 1, '0', '1', 'n', 'yes', 'true', 'off', 'no', 'false', 'y', 'on', 'f'",
    "Elements value for option 'l' is of type str and we were unable to convert to int: \\\"'a'\\\" cannot be converted to an int",
    "value of c must be one of: a, b, got: q",
    "missing required arguments: x found in d",
    "d.z, extra. Supported parameters include: b, c, d, dflt, f, i, l, p, r, s.",
];

#[test]
fn invalid_arguments_fail_the_host_with_ansibles_messages() {
    let dir = fixtures().join("argspec");
    let run = jig(&dir, &["run", "-i", "hosts.ini", "bad.yml"], &[]);
    assert_eq!(run.code, Some(2), "{}", run.stdout);
    assert!(
        run.stdout.contains(
            "TASK [r1 : Validating arguments against arg spec 'main' - The main entry] ******"
        ),
        "{}",
        run.stdout
    );
    let fatal = run
        .stdout
        .lines()
        .find(|l| l.starts_with("fatal: [localhost]: FAILED! => "))
        .unwrap_or_else(|| panic!("no fatal line\n{}", run.stdout));
    let expected = format!(
        "\"argument_errors\": [{}]",
        RECORDED_ERRORS
            .iter()
            .map(|e| format!("\"{e}\""))
            .collect::<Vec<_>>()
            .join(", ")
    );
    assert!(fatal.contains(&expected), "{fatal}\nwant {expected}");
    assert!(
        fatal.contains("\"validate_args_context\": {\"argument_spec_name\": \"main\", \"name\": \"r1\", \"path\": "),
        "{fatal}"
    );
    assert!(
        !run.stdout.contains("never reached"),
        "the play stops for the host"
    );
    if let Some(ansible) = ansible_run(&dir, "bad.yml") {
        let theirs = ansible
            .lines()
            .find(|l| l.starts_with("fatal: [localhost]: FAILED! => "))
            .expect("ansible's fatal line")
            .replace(
                "<class 'ansible.module_utils._internal._datatag._AnsibleTaggedStr'>",
                "<class 'str'>",
            );
        // Python lists the valid booleans in its set order, which differs from run to run, and
        // names the options supported beside whichever unsupported name its set yields last
        // (`d.z` or `extra` here, by run).
        let booleans = regex::Regex::new(r#"Valid booleans include: [^\\"]*"#).expect("regex");
        let supported = regex::Regex::new(r"Supported parameters include: [^.]*\.").expect("regex");
        let same = |s: &str| {
            let s = booleans.replace_all(s, "Valid booleans include: ...");
            supported
                .replace_all(&s, "Supported parameters include: ...")
                .into_owned()
        };
        assert_eq!(same(&theirs), same(fatal));
    }
}

#[test]
fn roles_are_found_through_ansible_roles_path_and_the_roles_path_flag() {
    let base = fixtures().join("roles_path");
    let play = base.join("play");
    let extra = base.join("extra");
    let extra = extra.to_str().expect("UTF-8 path");
    let args = ["run", "-i", "hosts.ini", "site.yml"];
    let missing = jig(&play, &args, &[]);
    assert_eq!(missing.code, Some(1), "{}", missing.stdout);

    let by_env = jig(
        &play,
        &args,
        &[("ANSIBLE_ROLES_PATH", &format!("/nonexistent:{extra}"))],
    );
    let by_flag = jig(
        &play,
        &["run", "-i", "hosts.ini", "site.yml", "--roles-path", extra],
        &[],
    );
    for run in [&by_env, &by_flag] {
        assert_eq!(run.code, Some(0), "{}", run.stdout);
        assert!(
            run.stdout.contains("\"msg\": \"faraway from faraway\""),
            "{}",
            run.stdout
        );
    }
}

/// The status docs/compatibility.md gives each name of one of its tables.
fn doc_rows(doc: &str, heading: &str) -> Vec<(String, String)> {
    let start = doc
        .find(heading)
        .unwrap_or_else(|| panic!("docs/compatibility.md has no '{heading}'"));
    let rest = &doc[start + heading.len()..];
    let end = rest.find("\n## ").unwrap_or(rest.len());
    rest[..end]
        .lines()
        .filter_map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            let name = cells.get(1)?.strip_prefix('`')?.strip_suffix('`')?;
            Some((name.to_string(), cells.get(2)?.to_string()))
        })
        .collect()
}

fn renders(template: &str) -> Result<(), String> {
    let mut scope = VarScope::new();
    let mut vars = jig::vars::VarMap::new();
    vars.insert("x".into(), serde_json::json!("1"));
    scope.push(jig::vars::Layer::PlayVars, std::sync::Arc::new(vars));
    Templar::new()
        .render_str(template, &scope)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Whether jig knows the filter / test / lookup (a failure for the probe's arguments is fine;
/// what counts is that the name is registered).
fn known(kind: &str, name: &str) -> bool {
    match kind {
        "filter" => {
            !renders(&format!("{{{{ x | {name} }}}}")).is_err_and(|e| e.contains("unknown filter"))
        }
        "test" => {
            !renders(&format!("{{{{ x is {name} }}}}")).is_err_and(|e| e.contains("unknown test"))
        }
        "lookup" => {
            // A term inside a temporary directory: some lookups (password) create their file.
            let dir = tempfile::tempdir().expect("temp dir");
            let term = dir.path().join("probe");
            let term = term.to_string_lossy().replace('\'', "");
            !renders(&format!("{{{{ lookup('{name}', '{term}') }}}}"))
                .is_err_and(|e| e.contains("is not supported by jig"))
        }
        _ => unreachable!("kinds are fixed here"),
    }
}

#[test]
fn the_compatibility_report_matches_what_jig_registers() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/compatibility.md");
    let doc = std::fs::read_to_string(&path).expect("docs/compatibility.md");
    let mut problems = Vec::new();

    // Every module jig implements is listed as done or partial; every module listed as done
    // or partial is one jig implements (or a controller action of the executor's).
    let modules = doc_rows(&doc, "## Modules");
    let registered = jig::modules::names();
    for m in &registered {
        match modules.iter().find(|(n, _)| n == m) {
            Some((_, s)) if s.starts_with("done") || s.starts_with("partial") => {}
            Some((_, s)) => problems.push(format!("module {m} is registered but listed as {s}")),
            None => problems.push(format!("module {m} is registered but not listed")),
        }
    }
    for (name, status) in &modules {
        let is_module = registered.contains(&name.as_str());
        if status.starts_with("not yet") && is_module {
            problems.push(format!(
                "module {name} is listed as not yet but is registered"
            ));
        }
    }

    for (kind, heading) in [
        ("filter", "## Filters"),
        ("test", "## Tests"),
        ("lookup", "## Lookups"),
    ] {
        let rows = doc_rows(&doc, heading);
        assert!(!rows.is_empty(), "no rows under {heading}");
        for (name, status) in rows {
            let is_known = known(kind, &name);
            let listed_known = !status.starts_with("not yet");
            if is_known != listed_known {
                problems.push(format!(
                    "{kind} {name}: listed as '{status}', but jig {} it",
                    if is_known { "knows" } else { "does not know" }
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "docs/compatibility.md is out of date:\n{}",
        problems.join("\n")
    );
}

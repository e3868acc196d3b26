//! `jig facts` against ansible-core's `setup` on the same test-bed host: the facts roles read
//! (COMPAT.md's list) must be equal. Needs root for the test bed and ansible-core 2.19 (the
//! `ansible` on PATH, or the one `JIG_ANSIBLE` names); without either it prints why and
//! returns, unless `JIG_TESTBED_REQUIRED=1`.

#[path = "support/testbed.rs"]
mod testbed;

use std::path::PathBuf;
use std::process::Command;

use serde_json::{Value as Json, json};
use testbed::{Image, Testbed};

/// The `ansible` ad-hoc command to compare with, if there is one.
fn ansible() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("JIG_ANSIBLE") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("ansible"))
        .find(|p| p.is_file())
}

/// What `ansible HOST -m setup` printed after `HOST | SUCCESS => `.
fn ansible_setup(ansible: &PathBuf, bed: &Testbed, host: &str) -> Json {
    let out = Command::new(ansible)
        .args([host, "-i"])
        .arg(bed.inventory())
        .args([
            "-m",
            "setup",
            "-e",
            "ansible_python_interpreter=/usr/bin/python3",
        ])
        .env("ANSIBLE_HOST_KEY_CHECKING", "False")
        .env("ANSIBLE_NOCOLOR", "1")
        .output()
        .expect("ansible runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "ansible failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json = stdout
        .split_once("=> ")
        .map(|(_, j)| j)
        .unwrap_or_else(|| panic!("no result in ansible's output: {stdout}"));
    let v: Json = serde_json::from_str(json).expect("ansible printed JSON");
    assert!(
        v.get("ansible_facts").is_some(),
        "no ansible_facts from ansible: {stdout}"
    );
    v
}

/// `jig facts HOST -i INV` as JSON.
fn jig_facts(bed: &Testbed, host: &str) -> Json {
    let out = Command::new(env!("CARGO_BIN_EXE_jig"))
        .args(["facts", host, "-i"])
        .arg(bed.inventory())
        .output()
        .expect("jig runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "jig facts failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&stdout).expect("jig printed JSON")
}

/// A mount as compared: what does not change between two gatherings a second apart.
fn mount_key(m: &Json) -> Json {
    json!([
        m["mount"],
        m["device"],
        m["fstype"],
        m["options"],
        m["block_size"],
        m["uuid"]
    ])
}

#[test]
fn facts_equal_ansible_setup_on_a_test_bed_host() {
    let Some(ansible) = ansible() else {
        eprintln!("skipped: no ansible-core (set JIG_ANSIBLE=/path/to/ansible or put it on PATH)");
        assert!(
            std::env::var_os("JIG_TESTBED_REQUIRED").is_none(),
            "JIG_TESTBED_REQUIRED is set but there is no ansible to compare with"
        );
        return;
    };
    let Some(bed) = Testbed::up_image(1, Image::Python) else {
        return;
    };
    let host = bed.hosts()[0].name.clone();
    let theirs = ansible_setup(&ansible, &bed, &host);
    let ours = jig_facts(&bed, &host);
    let theirs = &theirs["ansible_facts"];
    let ours = &ours[&host]["ansible_facts"];

    let same = [
        "os_family",
        "distribution",
        "distribution_version",
        "distribution_major_version",
        "distribution_release",
        "architecture",
        "system",
        "kernel",
        "hostname",
        "fqdn",
        "domain",
        "service_mgr",
        "virtualization_type",
        "virtualization_role",
        "default_ipv4",
        "all_ipv4_addresses",
        "memtotal_mb",
        "processor_count",
        "processor_cores",
        "processor_vcpus",
        "processor_threads_per_core",
        "user_id",
        "pkg_mgr",
        "lsb",
        "dns",
        "selinux",
        "selinux_python_present",
        "system_capabilities",
        "system_capabilities_enforced",
        "cmdline",
        "proc_cmdline",
        "is_chroot",
        "locally_reachable_ips",
        "distribution_file_path",
        "distribution_file_variety",
        "distribution_file_parsed",
        "ssh_host_key_ed25519_public",
        "ssh_host_key_ecdsa_public",
        "ssh_host_key_rsa_public",
        "python",
        "local",
    ];
    // Equal must not mean "both missing" for the facts every host has.
    for k in [
        "distribution",
        "default_ipv4",
        "interfaces",
        "mounts",
        "python",
        "cmdline",
        "ssh_host_key_ed25519_public",
        "selinux_python_present",
    ] {
        let k = format!("ansible_{k}");
        assert!(
            theirs.get(&k).is_some() && ours.get(&k).is_some(),
            "{k} missing: jig {:?} ansible {:?}",
            ours.get(&k),
            theirs.get(&k)
        );
    }
    assert!(ours["ansible_default_ipv4"]["address"].is_string());
    let mut diffs = Vec::new();
    for k in same {
        let k = format!("ansible_{k}");
        if ours.get(&k) != theirs.get(&k) {
            diffs.push(format!(
                "{k}:\n  jig:     {}\n  ansible: {}",
                ours.get(&k).unwrap_or(&Json::Null),
                theirs.get(&k).unwrap_or(&Json::Null)
            ));
        }
    }
    // Interfaces in any order, each interface's addresses and MAC.
    let sorted = |v: &Json| {
        let mut a: Vec<String> = v
            .as_array()
            .map(|a| a.iter().map(|x| x.to_string()).collect())
            .unwrap_or_default();
        a.sort();
        a
    };
    if sorted(&ours["ansible_interfaces"]) != sorted(&theirs["ansible_interfaces"]) {
        diffs.push(format!(
            "interfaces: jig {} ansible {}",
            ours["ansible_interfaces"], theirs["ansible_interfaces"]
        ));
    }
    for name in theirs["ansible_interfaces"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let key =
            "ansible_".to_string() + &name.as_str().unwrap_or("").replace(['-', ':', '.'], "_");
        for field in ["ipv4", "macaddress", "mtu", "active", "type"] {
            if ours[&key][field] != theirs[&key][field] {
                diffs.push(format!(
                    "{key}.{field}: jig {} ansible {}",
                    ours[&key][field], theirs[&key][field]
                ));
            }
        }
    }
    let mounts = |v: &Json| {
        let mut a: Vec<String> = v
            .as_array()
            .map(|a| a.iter().map(|m| mount_key(m).to_string()).collect())
            .unwrap_or_default();
        a.sort();
        a
    };
    if mounts(&ours["ansible_mounts"]) != mounts(&theirs["ansible_mounts"]) {
        diffs.push(format!(
            "mounts:\n  jig:     {:?}\n  ansible: {:?}",
            mounts(&ours["ansible_mounts"]),
            mounts(&theirs["ansible_mounts"])
        ));
    }
    for field in ["tz", "tz_offset", "date", "year"] {
        if ours["ansible_date_time"][field] != theirs["ansible_date_time"][field] {
            diffs.push(format!(
                "date_time.{field}: jig {} ansible {}",
                ours["ansible_date_time"][field], theirs["ansible_date_time"][field]
            ));
        }
    }
    assert!(
        diffs.is_empty(),
        "jig facts differ from ansible's:\n{}",
        diffs.join("\n")
    );
}

#[test]
fn unreachable_host_exits_4_with_json_saying_why() {
    let dir = tempfile::tempdir().unwrap();
    let inv = dir.path().join("hosts.ini");
    // Port 1 on loopback refuses at once: no waiting for a timeout.
    std::fs::write(
        &inv,
        "gone ansible_host=127.0.0.1 ansible_port=1\nctl ansible_connection=local\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_jig"))
        .args(["facts", "all", "-i"])
        .arg(&inv)
        .args(["--ssh-config", "/dev/null", "-T", "5"])
        .output()
        .expect("jig runs");
    assert_eq!(out.status.code(), Some(4), "{out:?}");
    let v: Json = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(v["gone"]["unreachable"], json!(true));
    assert!(v["gone"]["msg"].as_str().is_some_and(|m| !m.is_empty()));
    assert_eq!(v["ctl"]["ansible_facts"]["ansible_system"], json!("Linux"));
    let keys: Vec<&String> = v["ctl"]["ansible_facts"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "keys are printed sorted");
}

#[test]
fn gather_subset_flag_limits_the_facts_and_bad_names_are_usage_errors() {
    let out = Command::new(env!("CARGO_BIN_EXE_jig"))
        .args(["facts", "localhost", "--gather-subset", "!all,network"])
        .output()
        .expect("jig runs");
    assert!(out.status.success(), "{out:?}");
    let v: Json = serde_json::from_slice(&out.stdout).unwrap();
    let f = &v["localhost"]["ansible_facts"];
    assert_eq!(f["gather_subset"], json!(["!all", "network"]));
    assert!(f.get("ansible_interfaces").is_some() && f.get("ansible_distribution").is_some());
    assert!(f.get("ansible_memtotal_mb").is_none() && f.get("ansible_mounts").is_none());

    let out = Command::new(env!("CARGO_BIN_EXE_jig"))
        .args(["facts", "localhost", "--gather-subset", "hardwre"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(5));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Bad subset 'hardwre'"));
}

/// inventories/vagrant's connection settings (Vagrant's insecure key, host keys neither
/// checked nor recorded) log in to a Debian 12 host: the test-bed host stands in for node1.
/// Needs the key Vagrant writes to `~/.vagrant.d/insecure_private_key` on first use.
#[test]
fn vagrant_inventory_settings_reach_a_debian_12_host() {
    let Some(home) = std::env::var_os("HOME") else {
        return;
    };
    let key = PathBuf::from(home).join(".vagrant.d/insecure_private_key");
    if !key.is_file() {
        eprintln!(
            "skipped: {} does not exist (install vagrant and run it once)",
            key.display()
        );
        return;
    }
    let Some(bed) = Testbed::up(1) else {
        return;
    };
    let host = &bed.hosts()[0];
    let public = Command::new("ssh-keygen")
        .arg("-y")
        .arg("-f")
        .arg(&key)
        .output()
        .expect("ssh-keygen runs");
    assert!(public.status.success(), "{public:?}");
    let public = String::from_utf8_lossy(&public.stdout).trim().to_string();
    bed.ssh_ok(
        host,
        &format!(
            "printf '%s\\n' {} >> /root/.ssh/authorized_keys",
            jig::connection::quote(&public)
        ),
    );
    let ini = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("inventories/vagrant/hosts.ini"),
    )
    .unwrap();
    assert!(ini.contains("ansible_host=192.168.56.11") && ini.contains("ansible_user=vagrant"));
    // Only the address and the user (the bed has no `vagrant` account) change.
    let ini = ini
        .replace("192.168.56.11", &host.address.to_string())
        .replace("ansible_user=vagrant", "ansible_user=root");
    let inv = bed.dir().join("vagrant-hosts.ini");
    std::fs::write(&inv, ini).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_jig"))
        .args(["facts", "node1", "-i"])
        .arg(&inv)
        .args(["--gather-subset", "!all"])
        .env("HOME", std::env::var_os("HOME").unwrap())
        .output()
        .expect("jig runs");
    assert!(out.status.success(), "{out:?}");
    let v: Json = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["node1"]["ansible_facts"]["ansible_hostname"],
        json!(host.name)
    );
    assert_eq!(
        v["node1"]["ansible_facts"]["ansible_distribution_major_version"],
        json!("12")
    );
}

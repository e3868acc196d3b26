//! The `user` module: local accounts with `useradd`, `usermod`, `userdel` and `chage`, the
//! home directory, and an SSH key pair made with `ssh-keygen`, as Ansible's `user` module
//! does on Linux.
//!
//! One round trip probes everything the plan needs: the user's `passwd` and `shadow`
//! records, the whole group database (existence and membership), `HOME_MODE`/`UMASK` from
//! `/etc/login.defs`, whether the home and the key files exist, the key's fingerprint and
//! public half, and the host name (the default key comment). The controller plans the exact
//! command lines (pure functions, unit-tested); one more round trip runs them and reads the
//! account back for the result. Supplementary groups are probed and changed with the rest.

use async_trait::async_trait;
use serde_json::{Value as Json, json};

use super::accounts::{self, GroupEnt, Passwd, Shadow};
use super::textfile::add_warnings;
use super::{Module, ModuleArgs, ModuleContext, ModuleError, ModuleResult};
use crate::connection::quote;

/// The `user` module.
pub struct User;

const KNOWN: &[&str] = &[
    "name",
    "user",
    "state",
    "uid",
    "non_unique",
    "group",
    "groups",
    "append",
    "comment",
    "home",
    "shell",
    "password",
    "password_lock",
    "update_password",
    "create_home",
    "createhome",
    "move_home",
    "system",
    "skeleton",
    "expires",
    "generate_ssh_key",
    "ssh_key_bits",
    "ssh_key_type",
    "ssh_key_file",
    "ssh_key_comment",
    "ssh_key_passphrase",
    "remove",
    "force",
    "local",
    "seuser",
    "umask",
    "uid_min",
    "uid_max",
    "password_expire_max",
    "password_expire_min",
    "password_expire_warn",
    "password_expire_account_disable",
    "login_class",
    "hidden",
    "profile",
    "authorization",
    "role",
];

/// The account the task asks for.
#[derive(Clone, Debug, Default, PartialEq)]
struct Spec {
    name: String,
    present: bool,
    uid: Option<i64>,
    non_unique: bool,
    group: Option<String>,
    /// `None`: leave supplementary groups alone; `Some([])`: remove them all (unless append).
    groups: Option<Vec<String>>,
    append: bool,
    comment: Option<String>,
    home: Option<String>,
    shell: Option<String>,
    password: Option<String>,
    password_lock: Option<bool>,
    update_always: bool,
    create_home: bool,
    move_home: bool,
    system: bool,
    skeleton: Option<String>,
    /// Seconds since the epoch, as Ansible's float `expires`.
    expires: Option<f64>,
    inactive: Option<i64>,
    generate_ssh_key: bool,
    ssh_key_bits: i64,
    ssh_key_type: String,
    /// As given, or `.ssh/id_<type>`; relative paths are under the home.
    ssh_key_file: String,
    ssh_key_comment: Option<String>,
    ssh_key_passphrase: Option<String>,
    remove: bool,
    force: bool,
    seuser: Option<String>,
    umask: Option<String>,
    uid_min: Option<i64>,
    uid_max: Option<i64>,
    expire_min: Option<i64>,
    expire_max: Option<i64>,
    expire_warn: Option<i64>,
}

fn float_arg(args: &ModuleArgs, name: &str) -> Result<Option<f64>, ModuleError> {
    match args.get(name) {
        None => Ok(None),
        Some(Json::Number(n)) => Ok(n.as_f64()),
        Some(Json::String(s)) => s.trim().parse().map(Some).map_err(|_| {
            args.invalid(name, format!("must be a float, got '{s}'"))
                .into()
        }),
        Some(other) => Err(args
            .invalid(name, format!("must be a float, got {other}"))
            .into()),
    }
}

impl Spec {
    fn from_args(args: &ModuleArgs) -> Result<Spec, ModuleError> {
        args.check_known(KNOWN)?;
        let name = match args.get_any(&["name", "user"]) {
            Some((n, _)) => args.req_str(n)?,
            None => args.req_str("name")?,
        };
        let present = match args.str("state")?.as_deref() {
            None | Some("present") => true,
            Some("absent") => false,
            Some(other) => {
                return Err(args
                    .invalid(
                        "state",
                        format!("must be one of: absent, present, got '{other}'"),
                    )
                    .into());
            }
        };
        let update_always = match args.str("update_password")?.as_deref() {
            None | Some("always") => true,
            Some("on_create") => false,
            Some(other) => {
                return Err(args
                    .invalid(
                        "update_password",
                        format!("must be one of: always, on_create, got '{other}'"),
                    )
                    .into());
            }
        };
        if args.bool_or("local", false)? {
            return Err(args
                .error(
                    "'local: true' needs libuser's luseradd/lusermod, which jig does not drive; \
                     drop 'local' to use useradd/usermod",
                )
                .into());
        }
        let ssh_key_type = args.str("ssh_key_type")?.unwrap_or_else(|| "rsa".into());
        let create_home = match args.get_any(&["create_home", "createhome"]) {
            Some((n, _)) => args.bool_or(n, true)?,
            None => true,
        };
        Ok(Spec {
            present,
            uid: args.int("uid")?,
            non_unique: args.bool_or("non_unique", false)?,
            group: args.str("group")?,
            groups: args
                .list("groups")?
                .map(|g| g.into_iter().filter(|g| !g.is_empty()).collect()),
            append: args.bool_or("append", false)?,
            comment: args.str("comment")?,
            home: args.str("home")?,
            shell: args.str("shell")?,
            password: args.str("password")?,
            password_lock: args.bool("password_lock")?,
            update_always,
            create_home,
            move_home: args.bool_or("move_home", false)?,
            system: args.bool_or("system", false)?,
            skeleton: args.str("skeleton")?,
            expires: float_arg(args, "expires")?,
            inactive: args.int("password_expire_account_disable")?,
            generate_ssh_key: args.bool_or("generate_ssh_key", false)?,
            ssh_key_bits: args.int("ssh_key_bits")?.unwrap_or(0),
            ssh_key_file: args
                .str("ssh_key_file")?
                .unwrap_or_else(|| format!(".ssh/id_{ssh_key_type}")),
            ssh_key_type,
            ssh_key_comment: args.str("ssh_key_comment")?,
            ssh_key_passphrase: match args.str("ssh_key_passphrase")? {
                Some(p) if p.contains(['\n', '\r']) => {
                    return Err(args
                        .invalid(
                            "ssh_key_passphrase",
                            "cannot contain a line break: ssh-keygen reads a passphrase up to \
                             the first one",
                        )
                        .into());
                }
                p => p,
            },
            remove: args.bool_or("remove", false)?,
            force: args.bool_or("force", false)?,
            seuser: args.str("seuser")?,
            umask: args.str("umask")?,
            uid_min: args.int("uid_min")?,
            uid_max: args.int("uid_max")?,
            expire_min: args.int("password_expire_min")?,
            expire_max: args.int("password_expire_max")?,
            expire_warn: args.int("password_expire_warn")?,
            name,
        })
    }

    /// The supplementary groups as Ansible's `','.join(groups)`.
    fn groups_joined(&self) -> Option<String> {
        self.groups.as_ref().map(|g| g.join(","))
    }
}

/// Everything the probe found.
#[derive(Clone, Debug, Default, PartialEq)]
struct Probe {
    user: Option<Passwd>,
    shadow: Option<Shadow>,
    groups: Vec<GroupEnt>,
    hostname: String,
    /// `/etc/login.defs` lines `HOME_MODE n` / `UMASK n`, `None` if the file is missing.
    login_defs: Option<String>,
    /// The home to check (the `home` argument or the current one) exists.
    home_exists: bool,
    /// Key path (absolute), and whether the key, its `.pub` and its directory exist.
    key_path: String,
    key_exists: bool,
    pub_exists: bool,
    fingerprint: Option<String>,
    public_key: Option<String>,
}

/// The probe script; `spec.home` and the key file reach it only quoted.
fn probe_script(spec: &Spec) -> String {
    let mut s = accounts::export_name(&spec.name);
    s.push_str(&format!("jig_pw=$({})\n", accounts::record_of("passwd")));
    s.push_str("printf '%s\\0' \"$jig_pw\"\n");
    s.push_str(&format!(
        "{{ {}; }} 2>/dev/null; printf '\\0'\n",
        accounts::record_of("shadow")
    ));
    s.push_str("getent group; printf '\\0'\n");
    s.push_str("hostname 2>/dev/null || cat /proc/sys/kernel/hostname; printf '\\0'\n");
    s.push_str(
        "if [ -e /etc/login.defs ]; then printf L; grep -E '^(HOME_MODE|UMASK)[[:space:]]' /etc/login.defs; fi; printf '\\0'\n",
    );
    s.push_str(&format!(
        "jig_h={}\n",
        quote(spec.home.as_deref().unwrap_or(""))
    ));
    s.push_str("jig_ph=$(printf '%s' \"$jig_pw\" | cut -d: -f6)\n");
    s.push_str("[ -n \"$jig_h\" ] || jig_h=$jig_ph\n");
    s.push_str("if [ -n \"$jig_pw\" ] && [ -e \"$jig_h\" ]; then printf E; fi; printf '\\0'\n");
    s.push_str(&format!("jig_k={}\n", quote(&spec.ssh_key_file)));
    s.push_str(KEY_PATH_SH);
    s.push_str(
        r#"printf '%s\0' "$jig_k"
for jig_f in "$jig_k" "$jig_k.pub"; do if [ -e "$jig_f" ]; then printf E; fi; printf '\0'; done
if [ -e "$jig_k" ]; then ssh-keygen -l -f "$jig_k" 2>/dev/null; fi; printf '\0'
if [ -e "$jig_k.pub" ]; then printf P; cat -- "$jig_k.pub"; fi; printf '\0'
"#,
    );
    s
}

/// Makes `$jig_k` absolute under the passwd home `$jig_ph`, as Ansible's `get_ssh_key_path`.
const KEY_PATH_SH: &str = "case $jig_k in /*) ;; *) jig_k=${jig_ph%/}/$jig_k ;; esac\n";

fn parse_probe(data: &[u8]) -> Option<Probe> {
    let r = accounts::records(data);
    if r.len() < 11 {
        return None;
    }
    let fp = r[9].trim();
    Some(Probe {
        user: accounts::parse_passwd(r[0].trim_end()),
        shadow: accounts::parse_shadow(r[1].trim_end()),
        groups: accounts::parse_groups(&r[2]),
        hostname: r[3].trim().to_string(),
        login_defs: r[4].strip_prefix('L').map(str::to_string),
        home_exists: r[5] == "E",
        key_path: r[6].clone(),
        key_exists: r[7] == "E",
        pub_exists: r[8] == "E",
        fingerprint: (!fp.is_empty()).then(|| fp.to_string()),
        public_key: r[10].strip_prefix('P').map(|k| k.trim().to_string()),
    })
}

/// The mode Ansible gives a home it creates itself: `HOME_MODE`, else `0777 & ~UMASK` (the
/// last `UMASK` line), else 0755; `None` without `/etc/login.defs`.
fn home_mode(login_defs: Option<&str>) -> Option<u32> {
    let defs = login_defs?;
    let mut mode = 0o755;
    for line in defs.lines() {
        let mut f = line.split_whitespace();
        let (Some(k), Some(v), None) = (f.next(), f.next(), f.next()) else {
            continue;
        };
        if !v.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(n) = u32::from_str_radix(v, 8) else {
            continue;
        };
        match k {
            "HOME_MODE" => return Some(n),
            "UMASK" => mode = 0o777 & !n,
            _ => {}
        }
    }
    Some(mode)
}

/// A day number (days since 1970-01-01) as `YYYY-MM-DD` (proleptic Gregorian, UTC).
fn ymd(days: i64) -> String {
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

fn expire_day(expires: f64) -> i64 {
    (expires / 86_400.0).floor() as i64
}

/// What the apply step runs, planned from the probe.
#[derive(Clone, Debug, Default, PartialEq)]
struct Plan {
    /// `useradd`/`usermod`/`userdel` argv.
    command: Option<Vec<String>>,
    /// The user is created (the home, key and `chage` steps are decided on the host).
    create: bool,
    /// Create the home before `useradd` (its parent is missing) and chown it after.
    home_first: bool,
    /// An existing user's home is missing and will be created.
    make_home: bool,
    /// An SSH key will be generated.
    keygen: bool,
    /// `chage` argv for password ageing.
    chage: Option<Vec<String>>,
    /// Failure found while planning (a missing group).
    error: Option<String>,
}

impl Plan {
    fn changes(&self) -> bool {
        self.command.is_some() || self.make_home || self.keygen || self.chage.is_some()
    }
}

fn s(v: &str) -> String {
    v.to_string()
}

fn plan(spec: &Spec, probe: &Probe) -> Plan {
    let mut p = Plan::default();
    let Some(user) = &probe.user else {
        if spec.present {
            p.create = true;
            match useradd(spec, probe) {
                Ok(argv) => p.command = Some(argv),
                Err(e) => p.error = Some(e),
            }
            // Whether the home's parent is missing is decided on the host (Ansible makes the
            // home itself then, before useradd).
            p.home_first = spec.create_home && spec.home.is_some();
        }
        return p;
    };
    if !spec.present {
        let mut argv = vec![s("userdel")];
        if spec.force {
            argv.push(s("-f"));
        }
        if spec.remove {
            argv.push(s("-r"));
        }
        argv.push(spec.name.clone());
        p.command = Some(argv);
        return p;
    }
    match usermod(spec, user, probe) {
        Ok(argv) => p.command = argv,
        Err(e) => {
            p.error = Some(e);
            return p;
        }
    }
    p.make_home = !probe.home_exists && spec.create_home;
    p.keygen = spec.generate_ssh_key && (spec.force || (!probe.key_exists && !probe.pub_exists));
    p.chage = chage(spec, probe.shadow.as_ref());
    p
}

/// Records a user check mode would add, and the home directory `useradd -m` would make
/// (owned by the user), for later tasks (see [`super::predict`]).
fn predict_added(ctx: &ModuleContext<'_>, spec: &Spec, probe: &Probe) {
    ctx.predicted.put_user(&spec.name);
    if spec.group.is_none() {
        // USERGROUPS_ENAB: useradd makes a group of the user's name.
        ctx.predicted.put_group(&spec.name);
    }
    if spec.create_home && !spec.system && !probe.home_exists {
        let home = spec
            .home
            .clone()
            .unwrap_or_else(|| format!("/home/{}", spec.name));
        let attrs = super::remote::FileAttrs {
            mode: Some(super::mode::Mode::Octal(0o755)),
            owner: Some(spec.name.clone()),
            group: Some(spec.group.clone().unwrap_or_else(|| spec.name.clone())),
        };
        ctx.predicted.put_dir(&home, &attrs, None);
    }
}

fn group_error(g: &str) -> String {
    format!("Group {g} does not exist")
}

fn useradd(spec: &Spec, probe: &Probe) -> Result<Vec<String>, String> {
    let mut argv = vec![s("useradd")];
    if let Some(uid) = spec.uid {
        argv.extend([s("-u"), uid.to_string()]);
        if spec.non_unique {
            argv.push(s("-o"));
        }
    }
    if let Some(se) = &spec.seuser {
        argv.extend([s("-Z"), se.clone()]);
    }
    if let Some(g) = &spec.group {
        if accounts::find_group(&probe.groups, g).is_none() {
            return Err(group_error(g));
        }
        argv.extend([s("-g"), g.clone()]);
    } else if accounts::find_group(&probe.groups, &spec.name).is_some() {
        // useradd would try to create a group of the user's name (USERGROUPS_ENAB) and fail.
        argv.push(s("-N"));
    }
    if let Some(groups) = spec.groups.as_ref().filter(|g| !g.is_empty()) {
        for g in groups {
            if accounts::find_group(&probe.groups, g).is_none() {
                return Err(group_error(g));
            }
        }
        argv.extend([s("-G"), dedup(groups).join(",")]);
    }
    if let Some(c) = &spec.comment {
        argv.extend([s("-c"), c.clone()]);
    }
    if let Some(h) = &spec.home {
        argv.extend([s("-d"), h.clone()]);
    }
    if let Some(sh) = &spec.shell {
        argv.extend([s("-s"), sh.clone()]);
    }
    if let Some(e) = spec.expires {
        argv.push(s("-e"));
        argv.push(if e < 0.0 {
            String::new()
        } else {
            ymd(expire_day(e))
        });
    }
    if let Some(i) = spec.inactive {
        argv.extend([s("-f"), i.to_string()]);
    }
    if let Some(pw) = &spec.password {
        argv.push(s("-p"));
        argv.push(if spec.password_lock == Some(true) {
            format!("!{pw}")
        } else {
            pw.clone()
        });
    }
    if spec.create_home {
        argv.push(s("-m"));
        if let Some(k) = &spec.skeleton {
            argv.extend([s("-k"), k.clone()]);
        }
        if let Some(u) = &spec.umask {
            argv.extend([s("-K"), format!("UMASK={u}")]);
        }
    } else {
        argv.push(s("-M"));
    }
    if spec.system {
        argv.push(s("-r"));
    }
    if let Some(m) = spec.uid_min {
        argv.extend([s("-K"), format!("UID_MIN={m}")]);
    }
    if let Some(m) = spec.uid_max {
        argv.extend([s("-K"), format!("UID_MAX={m}")]);
    }
    argv.push(spec.name.clone());
    Ok(argv)
}

fn dedup(items: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for i in items {
        if !out.contains(i) {
            out.push(i.clone());
        }
    }
    out
}

fn usermod(spec: &Spec, user: &Passwd, probe: &Probe) -> Result<Option<Vec<String>>, String> {
    let mut argv = vec![s("usermod")];
    let shadow_hash = probe
        .shadow
        .as_ref()
        .map(|sh| sh.hash.clone())
        .unwrap_or_default();
    // Ansible's user_info: a one-character passwd field ("x") means "look in shadow".
    let hash = if user.passwd.chars().count() <= 1 {
        shadow_hash
    } else {
        user.passwd.clone()
    };
    if let Some(uid) = spec.uid
        && i64::from(user.uid) != uid
    {
        argv.extend([s("-u"), uid.to_string()]);
        if spec.non_unique {
            argv.push(s("-o"));
        }
    }
    if let Some(g) = &spec.group {
        let Some(ge) = accounts::find_group(&probe.groups, g) else {
            return Err(group_error(g));
        };
        if ge.gid != user.gid {
            argv.extend([s("-g"), ge.gid.to_string()]);
        }
    }
    if let Some(wanted) = &spec.groups {
        let current: Vec<&str> = probe
            .groups
            .iter()
            .filter(|g| g.members.contains(&spec.name))
            .map(|g| g.name.as_str())
            .collect();
        let mut need = false;
        let mut names: Vec<String> = Vec::new();
        if wanted.is_empty() {
            need = !current.is_empty() && !spec.append;
        } else {
            for g in wanted {
                let Some(ge) = accounts::find_group(&probe.groups, g) else {
                    return Err(group_error(g));
                };
                if !names.contains(&ge.name) {
                    names.push(ge.name.clone());
                }
            }
            let missing = names.iter().any(|n| !current.contains(&n.as_str()));
            let extra = current.iter().any(|c| !names.iter().any(|n| n == c));
            if spec.append {
                if missing {
                    argv.push(s("-a"));
                    need = true;
                }
            } else {
                need = missing || extra;
            }
        }
        if need {
            argv.extend([s("-G"), names.join(",")]);
        }
    }
    if let Some(c) = &spec.comment
        && *c != user.gecos
    {
        argv.extend([s("-c"), c.clone()]);
    }
    if let Some(h) = &spec.home
        && *h != user.home
    {
        argv.extend([s("-d"), h.clone()]);
        if spec.move_home {
            argv.push(s("-m"));
        }
    }
    if let Some(sh) = &spec.shell
        && *sh != user.shell
    {
        argv.extend([s("-s"), sh.clone()]);
    }
    if let Some(e) = spec.expires {
        let current = probe.shadow.as_ref().and_then(|sh| sh.expire).unwrap_or(-1);
        if e < 0.0 {
            if current >= 0 {
                argv.extend([s("-e"), String::new()]);
            }
        } else if current < 0 || current != expire_day(e) {
            argv.extend([s("-e"), ymd(expire_day(e))]);
        }
    }
    if let Some(i) = spec.inactive {
        argv.extend([s("-f"), i.to_string()]);
    }
    match spec.password_lock {
        Some(true) if !hash.starts_with('!') => argv.push(s("-L")),
        Some(false) if hash.starts_with('!') => argv.push(s("-U")),
        _ => {}
    }
    if let Some(pw) = &spec.password
        && spec.update_always
        && hash.trim_start_matches('!') != pw.trim_start_matches('!')
    {
        argv.retain(|a| a != "-U" && a != "-L");
        argv.push(s("-p"));
        argv.push(if spec.password_lock == Some(true) {
            format!("!{pw}")
        } else {
            pw.clone()
        });
    }
    if argv.len() == 1 {
        return Ok(None);
    }
    argv.push(spec.name.clone());
    Ok(Some(argv))
}

fn chage(spec: &Spec, shadow: Option<&Shadow>) -> Option<Vec<String>> {
    let mut argv = vec![s("chage")];
    let cur = |f: fn(&Shadow) -> Option<i64>| shadow.and_then(f);
    for (flag, want, have) in [
        ("-m", spec.expire_min, cur(|s| s.min)),
        ("-M", spec.expire_max, cur(|s| s.max)),
        ("-W", spec.expire_warn, cur(|s| s.warn)),
    ] {
        if let Some(w) = want
            && (shadow.is_none() || Some(w) != have)
        {
            argv.extend([s(flag), w.to_string()]);
        }
    }
    (argv.len() > 1).then(|| {
        argv.push(spec.name.clone());
        argv
    })
}

/// Shell functions of the apply script. Constant text: values arrive as parameters.
///
/// `jig_mkhome PATH SKEL MODE` copies the skeleton (or makes an empty directory) to a home
/// that does not exist and gives it MODE (empty: leave it), as Ansible's `create_homedir`.
const APPLY_PRELUDE: &str = r#"jig_mkhome() {
  [ -e "$1" ] && return 0
  if [ -n "$2" ] && [ -e "$2" ] && [ "$2" != /dev/null ]; then
    mkdir -p -- "$(dirname -- "$1")" && cp -a -- "$2" "$1" || return 1
  else
    mkdir -p -- "$1" || return 1
  fi
  if [ -n "$3" ]; then chmod -- "$3" "$1" || return 1; fi
}
jig_fail() { printf '%s\0' "$1"; exit "${2:-1}"; }
"#;

/// The apply script. It prints `R<rc>\0` for the main command (with its error text on stderr),
/// then, for a present user, `U<passwd>\0`, `H\0` if it made the home, `G\0` if it made a key,
/// `K<path>\0`, `F<fingerprint>\0`, `P<public key>\0`.
fn apply_script(spec: &Spec, probe: &Probe, plan: &Plan) -> String {
    let mut sc = String::from(APPLY_PRELUDE);
    if apply_stdin(spec).is_some() {
        // Only ssh-keygen may read the passphrase: the other commands get an empty stdin.
        sc.push_str("exec 3<&0 </dev/null\n");
    }
    sc.push_str(&accounts::export_name(&spec.name));
    let mode = home_mode(probe.login_defs.as_deref())
        .map(|m| format!("{m:o}"))
        .unwrap_or_default();
    let skel = spec.skeleton.as_deref().unwrap_or("/etc/skel");
    let mkhome = |home_var: &str| {
        format!(
            "jig_mkhome \"{home_var}\" {} {} || jig_fail \"cannot create home $jig_h\"\n",
            quote(skel),
            quote(&mode)
        )
    };
    if plan.home_first {
        sc.push_str(&format!(
            "jig_h={}\nif [ ! -d \"$(dirname -- \"$jig_h\")\" ]; then jig_first=1; {}; fi\n",
            quote(spec.home.as_deref().unwrap_or("")),
            mkhome("$jig_h").trim_end()
        ));
    }
    if let Some(argv) = &plan.command {
        sc.push_str(&format!(
            "{} >&2; jig_rc=$?\nprintf 'R%s\\0' \"$jig_rc\"\n[ \"$jig_rc\" = 0 ] || exit 0\n",
            accounts::render(argv)
        ));
    }
    if !spec.present {
        return sc;
    }
    sc.push_str(&format!("jig_pw=$({})\n", accounts::record_of("passwd")));
    sc.push_str("[ -n \"$jig_pw\" ] || jig_fail \"failed to look up user name\"\n");
    sc.push_str("printf 'U%s\\0' \"$jig_pw\"\n");
    sc.push_str("jig_ph=$(printf '%s' \"$jig_pw\" | cut -d: -f6)\n");
    sc.push_str("jig_ug=$(printf '%s' \"$jig_pw\" | cut -d: -f3,4)\n");
    if plan.home_first {
        sc.push_str(
            "if [ -n \"${jig_first-}\" ]; then chown -R -- \"$jig_ug\" \"$jig_h\" || jig_fail \"cannot chown $jig_h\"; fi\n",
        );
    }
    sc.push_str(&format!(
        "jig_h={}\n",
        quote(spec.home.as_deref().unwrap_or(""))
    ));
    sc.push_str("[ -n \"$jig_h\" ] || jig_h=$jig_ph\n");
    if spec.create_home {
        sc.push_str(&format!(
            "if [ ! -e \"$jig_h\" ]; then {} chown -R -- \"$jig_ug\" \"$jig_h\" || jig_fail \"cannot chown $jig_h\"; printf 'H\\0'; fi\n",
            mkhome("$jig_h").trim_end().to_string() + ";"
        ));
    }
    if let Some(argv) = &plan.chage {
        sc.push_str(&format!(
            "{} >&2 || jig_fail \"chage failed\" $?\n",
            accounts::render(argv)
        ));
    } else if plan.create && (spec.expire_min.or(spec.expire_max).or(spec.expire_warn)).is_some() {
        // A new account's ageing fields come from login.defs; set the asked ones.
        if let Some(argv) = chage(spec, None) {
            sc.push_str(&format!(
                "{} >&2 || jig_fail \"chage failed\" $?\n",
                accounts::render(&argv)
            ));
        }
    }
    if spec.generate_ssh_key {
        sc.push_str(&format!("jig_k={}\n", quote(&spec.ssh_key_file)));
        sc.push_str(KEY_PATH_SH);
        sc.push_str(
            r#"jig_kd=$(dirname -- "$jig_k")
jig_gen=1
if [ ! -e "$jig_kd" ]; then
  mkdir -m 700 -- "$jig_kd" && chown -- "$jig_ug" "$jig_kd" || jig_fail "Failed to create $jig_kd"
fi
"#,
        );
        if spec.force {
            sc.push_str("rm -f -- \"$jig_k\" \"$jig_k.pub\"\n");
        } else {
            sc.push_str("if [ -e \"$jig_k\" ] || [ -e \"$jig_k.pub\" ]; then jig_gen=; fi\n");
        }
        sc.push_str("if [ -n \"$jig_gen\" ]; then\n");
        sc.push_str(&keygen_sh(spec, &probe.hostname));
        sc.push_str(
            "  chown -- \"$jig_ug\" \"$jig_k\" \"$jig_k.pub\" || jig_fail \"cannot chown $jig_k\"\n  printf 'G\\0'\nfi\n",
        );
        sc.push_str(
            r#"printf 'K%s\0' "$jig_k"
if [ -e "$jig_k" ]; then printf F; ssh-keygen -l -f "$jig_k" 2>&1; fi; printf '\0'
if [ -e "$jig_k.pub" ]; then printf P; cat -- "$jig_k.pub"; printf '\0'; fi
"#,
        );
    }
    sc
}

/// The passphrase to give the new key, `None` for none (an empty one is none, as for
/// ssh-keygen).
fn passphrase(spec: &Spec) -> Option<&str> {
    spec.ssh_key_passphrase.as_deref().filter(|p| !p.is_empty())
}

/// The bytes the apply script needs on stdin: the key's passphrase twice (ssh-keygen asks
/// for it and for its confirmation), one line each.
fn apply_stdin(spec: &Spec) -> Option<Vec<u8>> {
    let pp = passphrase(spec).filter(|_| spec.generate_ssh_key)?;
    Some(format!("{pp}\n{pp}\n").into_bytes())
}

/// The `ssh-keygen` step of the apply script, for `$jig_k`.
///
/// A passphrase never reaches an argv (every user can read `/proc/PID/cmdline`) nor a file:
/// it arrives on the apply script's stdin, saved on fd 3 (see [`apply_script`]), and
/// ssh-keygen reads it there. ssh-keygen only reads a passphrase from stdin when it has no
/// terminal, hence `setsid` (a new session without a controlling terminal: `/dev/tty`
/// cannot be opened, even with `-c local` from a terminal) and no askpass program (`DISPLAY`
/// empty, `SSH_ASKPASS_REQUIRE=never`). Its prompts go to stderr, kept for the error message
/// only. Should ssh-keygen ever ask more than twice (it read the lines differently), it
/// would read end-of-file as an empty passphrase: a key that opens without the passphrase is
/// removed and the task fails rather than leave an unprotected key.
fn keygen_sh(spec: &Spec, hostname: &str) -> String {
    let mut kg = vec![s("ssh-keygen"), s("-t"), spec.ssh_key_type.clone()];
    if spec.ssh_key_bits > 0 {
        kg.extend([s("-b"), spec.ssh_key_bits.to_string()]);
    }
    let comment = spec
        .ssh_key_comment
        .clone()
        .unwrap_or_else(|| format!("ansible-generated on {hostname}"));
    kg.extend([s("-C"), comment]);
    let kg = accounts::render(&kg);
    if passphrase(spec).is_none() {
        return format!(
            "  {kg} -f \"$jig_k\" -N '' </dev/null >/dev/null || jig_fail \"ssh-keygen failed\" $?\n"
        );
    }
    format!(
        r#"  jig_ss=; if command -v setsid >/dev/null 2>&1; then jig_ss='setsid -w'; fi
  jig_ke=$(DISPLAY= WAYLAND_DISPLAY= SSH_ASKPASS_REQUIRE=never $jig_ss {kg} -f "$jig_k" <&3 2>&1 >/dev/null) || jig_fail "ssh-keygen failed: $jig_ke" $?
  if ssh-keygen -y -P '' -f "$jig_k" >/dev/null 2>&1; then
    rm -f -- "$jig_k" "$jig_k.pub"; jig_fail "ssh-keygen did not take the passphrase: $jig_ke"
  fi
"#
    )
}

/// What the apply script reported.
#[derive(Debug, Default, PartialEq)]
struct Applied {
    rc: Option<i32>,
    user: Option<Passwd>,
    made_home: bool,
    made_key: bool,
    key_path: Option<String>,
    fingerprint: Option<String>,
    public_key: Option<String>,
}

fn parse_applied(data: &[u8]) -> Applied {
    let mut a = Applied::default();
    for rec in accounts::records(data) {
        let (tag, rest) = rec.split_at(rec.len().min(1));
        match tag {
            "R" => a.rc = rest.trim().parse().ok(),
            "U" => a.user = accounts::parse_passwd(rest.trim_end()),
            "H" => a.made_home = true,
            "G" => a.made_key = true,
            "K" => a.key_path = Some(rest.to_string()),
            "F" => a.fingerprint = Some(rest.trim().to_string()),
            "P" => a.public_key = Some(rest.trim().to_string()),
            _ => {}
        }
    }
    a
}

/// Ansible's warning for a password that does not look like a crypt hash.
fn password_warning(pw: &str) -> Option<&'static str> {
    if pw.is_empty() || ["*", "!", "*************"].contains(&pw) {
        return None;
    }
    let fields: Vec<&str> = pw.split('$').collect();
    let last = fields.last().copied().unwrap_or("");
    let bad_len = |id: &str, n: usize| fields.get(1) == Some(&id) && last.len() != n;
    let invalid = pw.contains([':', '*', '!'])
        || !pw.contains('$')
        || fields.len() < 3
        || !last
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'/')
        || bad_len("1", 22)
        || bad_len("5", 43)
        || bad_len("6", 86)
        || bad_len("y", 43);
    invalid.then_some(
        "The input password appears not to have been hashed. The 'password' argument must be \
         encrypted for this module to work properly.",
    )
}

fn set_user_info(r: &mut ModuleResult, spec: &Spec, u: &Passwd) {
    r.set("uid", json!(u.uid))
        .set("group", json!(u.gid))
        .set("comment", u.gecos.clone())
        .set("home", u.home.clone())
        .set("shell", u.shell.clone());
    if let Some(g) = spec.groups_joined() {
        r.set("groups", g);
    }
}

#[async_trait]
impl Module for User {
    fn name(&self) -> &'static str {
        "user"
    }

    async fn run(
        &self,
        args: &ModuleArgs,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        let spec = Spec::from_args(args)?;
        let out = accounts::exec(ctx, probe_script(&spec)).await?;
        let Some(probe) = parse_probe(&out.stdout).filter(|_| out.rc == 0) else {
            return Ok(ModuleResult::failed(format!(
                "cannot read the account databases: {}",
                accounts::error_text(&out)
            )));
        };
        let plan = plan(&spec, &probe);
        let exists = probe.user.is_some();
        if ctx.check_mode && exists != spec.present {
            // Ansible exits with a bare `changed` before creating or removing, before it
            // looks at the groups (which may be created by an earlier task).
            if spec.present {
                predict_added(ctx, &spec, &probe);
            }
            return Ok(ModuleResult::changed());
        }
        if ctx.check_mode && plan.error.is_some() {
            // Groups an earlier task would add: the change is planned, not failed.
            let missing: Vec<&String> = spec
                .group
                .iter()
                .chain(spec.groups.iter().flatten())
                .filter(|g| accounts::find_group(&probe.groups, g).is_none())
                .collect();
            if !missing.is_empty() && missing.iter().all(|g| ctx.predicted.has_group(g)) {
                let mut r = ModuleResult::changed();
                r.set("name", spec.name.clone()).set("state", "present");
                return Ok(r);
            }
        }
        if let Some(e) = plan.error {
            return Ok(ModuleResult::failed(e));
        }
        let mut r = ModuleResult::ok();
        r.set("name", spec.name.clone())
            .set("state", if spec.present { "present" } else { "absent" });
        if let Some(w) = spec.password.as_deref().and_then(password_warning) {
            add_warnings(&mut r, &[w.to_string()]);
        }
        if spec.generate_ssh_key && exists && spec.present {
            let w = match (spec.force, probe.key_exists, probe.pub_exists) {
                (true, true, _) => Some(format!(
                    "Overwriting existing ssh key private file \"{}\"",
                    probe.key_path
                )),
                (false, true, _) => Some(format!(
                    "Found existing ssh key private file \"{}\", no force, so skipping ssh-keygen generation",
                    probe.key_path
                )),
                (false, false, true) => Some(format!(
                    "Found existing ssh key public file \"{}.pub\", no force, so skipping ssh-keygen generation",
                    probe.key_path
                )),
                _ => None,
            };
            add_warnings(&mut r, &w.into_iter().collect::<Vec<_>>());
        }
        if !spec.present && !exists {
            return Ok(r);
        }
        if spec.present && exists {
            r.set("append", spec.append)
                .set("move_home", spec.move_home);
        }
        if ctx.check_mode {
            r.changed = plan.changes();
            if spec.password.is_some() {
                r.set("password", "NOT_LOGGING_PASSWORD");
            }
            if let Some(u) = &probe.user {
                set_user_info(&mut r, &spec, u);
            }
            if spec.generate_ssh_key {
                r.set(
                    "ssh_fingerprint",
                    probe.fingerprint.clone().unwrap_or_default(),
                )
                .set("ssh_key_file", probe.key_path.clone())
                .set("ssh_public_key", json!(probe.public_key));
            }
            return Ok(r);
        }
        let out =
            super::remote::run(ctx, apply_script(&spec, &probe, &plan), apply_stdin(&spec)).await?;
        let applied = parse_applied(&out.stdout);
        let err = out.stderr_str();
        if out.rc != 0 || applied.rc.is_some_and(|rc| rc != 0) {
            let msg = if applied.rc.is_some_and(|rc| rc != 0) {
                err.trim().to_string()
            } else {
                // jig_fail's message is the last record.
                let last = accounts::records(&out.stdout).pop().unwrap_or_default();
                if err.trim().is_empty() {
                    last
                } else {
                    format!("{last}: {}", err.trim())
                }
            };
            let mut f = ModuleResult::failed(msg);
            f.set("name", spec.name.clone());
            f.set("rc", json!(applied.rc.unwrap_or(out.rc)));
            return Ok(f);
        }
        r.changed = applied.rc.is_some() || applied.made_home || applied.made_key;
        if plan.chage.is_some() {
            r.changed = true;
        }
        if !err.trim().is_empty() {
            r.set("stderr", err.clone());
        }
        if !spec.present {
            r.set("force", spec.force).set("remove", spec.remove);
            return Ok(r);
        }
        if !exists {
            r.set("system", spec.system)
                .set("create_home", spec.create_home);
        }
        if spec.password.is_some() {
            r.set("password", "NOT_LOGGING_PASSWORD");
        }
        if let Some(u) = &applied.user {
            set_user_info(&mut r, &spec, u);
        }
        if spec.generate_ssh_key {
            r.set("ssh_fingerprint", applied.fingerprint.unwrap_or_default())
                .set("ssh_key_file", applied.key_path.unwrap_or_default())
                .set("ssh_public_key", json!(applied.public_key));
        }
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTILE: &str = "Al 'q' \"d\" $(touch PWNED) `id` ü ✓";

    fn spec(v: Json) -> Spec {
        Spec::from_args(&ModuleArgs::new(
            "user",
            v.as_object().unwrap().clone().into_iter().collect(),
        ))
        .unwrap()
    }

    fn argv(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    /// A probe of host `h1` where `al` exists with a locked password and group memberships.
    fn probe(user: bool) -> Probe {
        let mut out = Vec::new();
        let mut rec = |s: &str| {
            out.extend_from_slice(s.as_bytes());
            out.push(0);
        };
        rec(if user {
            "al:x:1001:1001:Al:/home/al:/bin/sh"
        } else {
            ""
        });
        rec(if user {
            "al:!$6$salt$hash:19000:0:99999:7:::\n"
        } else {
            ""
        });
        rec("root:x:0:\nal:x:1001:\nadm:x:4:al\nstaff:x:50:\nweb ✓:x:1200:al\nsudo:x:27:\n");
        rec("h1\n");
        rec("LUMASK\t\t022\nHOME_MODE\t0750\n");
        rec(if user { "E" } else { "" });
        rec("/home/al/.ssh/id_rsa");
        rec("");
        rec("");
        rec("");
        rec("");
        parse_probe(&out).unwrap()
    }

    #[test]
    fn probe_output_parses() {
        let p = probe(true);
        assert_eq!(p.user.as_ref().unwrap().uid, 1001);
        assert_eq!(p.shadow.as_ref().unwrap().hash, "!$6$salt$hash");
        assert_eq!(p.groups.len(), 6);
        assert_eq!(p.hostname, "h1");
        assert_eq!(home_mode(p.login_defs.as_deref()), Some(0o750));
        assert_eq!(home_mode(Some("UMASK 027\n")), Some(0o750));
        assert_eq!(home_mode(Some("UMASK 022 # c\n")), Some(0o755));
        assert_eq!(home_mode(None), None);
        assert!(p.home_exists && !p.key_exists && p.public_key.is_none());
    }

    #[test]
    fn create_plans_useradd_like_ansible() {
        let sp = spec(json!({
            "name": "bob", "uid": 2001, "group": "staff", "groups": ["adm", "web ✓", "adm"],
            "comment": HOSTILE, "shell": "/bin/bash", "system": false, "expires": 1_893_456_000.5,
            "password": "$6$x$y", "password_lock": true
        }));
        let p = plan(&sp, &probe(false));
        assert!(p.create && p.error.is_none());
        assert_eq!(
            p.command.unwrap(),
            argv(&[
                "useradd",
                "-u",
                "2001",
                "-g",
                "staff",
                "-G",
                "adm,web ✓",
                "-c",
                HOSTILE,
                "-s",
                "/bin/bash",
                "-e",
                "2030-01-01",
                "-p",
                "!$6$x$y",
                "-m",
                "bob"
            ])
        );
        // A group named like the user exists: -N keeps useradd from making one.
        let p = plan(
            &spec(json!({"name": "staff", "create_home": false, "system": true})),
            &probe(false),
        );
        assert_eq!(
            p.command.unwrap(),
            argv(&["useradd", "-N", "-M", "-r", "staff"])
        );
        let p = plan(
            &spec(json!({"name": "bob", "groups": "nope"})),
            &probe(false),
        );
        assert_eq!(p.error.as_deref(), Some("Group nope does not exist"));
    }

    #[test]
    fn modify_plans_only_the_differences() {
        let p = probe(true);
        // Same as the host: nothing to do.
        let same = spec(
            json!({"name": "al", "uid": 1001, "group": "al", "comment": "Al",
            "groups": ["web ✓", "adm"], "shell": "/bin/sh", "password_lock": true}),
        );
        assert!(!plan(&same, &p).changes(), "{:?}", plan(&same, &p));
        let m = plan(
            &spec(
                json!({"name": "al", "group": "50", "groups": ["sudo"], "append": true,
                "comment": HOSTILE, "home": "/srv/al", "move_home": true,
                "password": "$6$new$h", "password_lock": false, "expires": -1}),
            ),
            &p,
        );
        assert_eq!(
            m.command.unwrap(),
            argv(&[
                "usermod", "-g", "50", "-a", "-G", "sudo", "-c", HOSTILE, "-d", "/srv/al", "-m",
                "-p", "$6$new$h", "al"
            ])
        );
        // Without append, extra memberships are removed: -G lists exactly the wanted ones.
        let m = plan(&spec(json!({"name": "al", "groups": ["adm"]})), &p);
        assert_eq!(m.command.unwrap(), argv(&["usermod", "-G", "adm", "al"]));
        let m = plan(&spec(json!({"name": "al", "groups": []})), &p);
        assert_eq!(m.command.unwrap(), argv(&["usermod", "-G", "", "al"]));
        let m = plan(
            &spec(json!({"name": "al", "groups": [], "append": true})),
            &p,
        );
        assert!(m.command.is_none());
        // The same hash (lock marker ignored) is not a change; unlock is -U.
        let m = plan(
            &spec(json!({"name": "al", "password": "$6$salt$hash", "password_lock": false})),
            &p,
        );
        assert_eq!(m.command.unwrap(), argv(&["usermod", "-U", "al"]));
        let m = plan(
            &spec(json!({"name": "al", "password": "$6$other", "update_password": "on_create"})),
            &p,
        );
        assert!(m.command.is_none());
        let m = plan(
            &spec(
                json!({"name": "al", "expires": 1_640_995_200, "password_expire_max": 99999,
                "password_expire_min": 3}),
            ),
            &p,
        );
        assert_eq!(
            m.command.unwrap(),
            argv(&["usermod", "-e", "2022-01-01", "al"])
        );
        assert_eq!(m.chage.unwrap(), argv(&["chage", "-m", "3", "al"]));
        let r = plan(
            &spec(json!({"name": "al", "state": "absent", "remove": true, "force": true})),
            &p,
        );
        assert_eq!(r.command.unwrap(), argv(&["userdel", "-f", "-r", "al"]));
    }

    #[test]
    fn home_and_key_are_planned_from_the_probe() {
        let mut p = probe(true);
        p.home_exists = false;
        let pl = plan(&spec(json!({"name": "al", "generate_ssh_key": true})), &p);
        assert!(pl.make_home && pl.keygen && pl.command.is_none());
        p.home_exists = true;
        p.key_exists = true;
        let pl = plan(&spec(json!({"name": "al", "generate_ssh_key": true})), &p);
        assert!(!pl.changes());
        let pl = plan(
            &spec(json!({"name": "al", "generate_ssh_key": true, "force": true})),
            &p,
        );
        assert!(pl.keygen);
        let mut q = probe(true);
        q.home_exists = false;
        let pl = plan(&spec(json!({"name": "al", "create_home": false})), &q);
        assert!(!pl.changes());
    }

    #[test]
    fn apply_script_quotes_every_value() {
        let sp = spec(
            json!({"name": "bob", "comment": HOSTILE, "home": "/srv/h $(x)/bob",
            "generate_ssh_key": true, "ssh_key_comment": HOSTILE, "ssh_key_passphrase": "p 'w'"}),
        );
        let pr = probe(false);
        let pl = plan(&sp, &pr);
        let sc = apply_script(&sp, &pr, &pl);
        assert!(sc.contains(&format!("-c {}", quote(HOSTILE))), "{sc}");
        assert!(sc.contains("jig_h='/srv/h $(x)/bob'"), "{sc}");
        // The passphrase travels on stdin only.
        assert!(
            !sc.contains("p 'w'") && !sc.contains(r#"p '\''w'\''"#),
            "{sc}"
        );
        assert!(sc.starts_with(APPLY_PRELUDE) && sc.contains("exec 3<&0 </dev/null\n"));
        assert!(sc.contains("<&3 2>&1 >/dev/null"), "{sc}");
        assert_eq!(apply_stdin(&sp).unwrap(), b"p 'w'\np 'w'\n");
        assert!(sc.contains("jig_mkhome \"$jig_h\" /etc/skel 750"), "{sc}");
        for script in [sc, probe_script(&sp)] {
            let st = std::process::Command::new("sh")
                .arg("-n")
                .arg("-c")
                .arg(&script)
                .status()
                .unwrap();
            assert!(st.success(), "{script}");
        }
    }

    #[test]
    fn a_passphrase_reaches_ssh_keygen_on_stdin_only() {
        // Without a passphrase (or an empty one) nothing is sent and -N '' is used.
        let none = spec(json!({"name": "al", "generate_ssh_key": true, "ssh_key_passphrase": ""}));
        assert!(apply_stdin(&none).is_none());
        assert!(keygen_sh(&none, "h1").contains("-N '' </dev/null"));
        let no_key = spec(json!({"name": "al", "ssh_key_passphrase": "secret"}));
        assert!(apply_stdin(&no_key).is_none());
        let bad = Spec::from_args(&ModuleArgs::new(
            "user",
            json!({"name": "al", "ssh_key_passphrase": "a\nb"})
                .as_object()
                .unwrap()
                .clone()
                .into_iter()
                .collect(),
        ));
        assert!(format!("{:?}", bad.unwrap_err()).contains("line break"));
        // The real thing, on this machine: the key opens with the passphrase only.
        if std::process::Command::new("ssh-keygen")
            .arg("-?")
            .output()
            .is_err()
        {
            eprintln!("skipped: no ssh-keygen here");
            return;
        }
        let pp = "pass 'q' \"d\" $(touch PWNED) `id` ü ✓";
        let dir = tempfile::tempdir().unwrap();
        let sp = spec(
            json!({"name": "al", "generate_ssh_key": true, "ssh_key_type": "ed25519",
            "ssh_key_comment": HOSTILE, "ssh_key_passphrase": pp}),
        );
        let key = dir.path().join("id $(x)");
        let script = format!(
            "{APPLY_PRELUDE}exec 3<&0 </dev/null\njig_k={}\n{}",
            quote(key.to_str().unwrap()),
            keygen_sh(&sp, "h1")
        );
        let mut child = std::process::Command::new("sh")
            .arg("-c")
            .arg(&script)
            .current_dir(dir.path())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(&apply_stdin(&sp).unwrap())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{out:?}");
        assert!(!String::from_utf8_lossy(&out.stdout).contains("pass"));
        assert!(!dir.path().join("PWNED").exists());
        let open = |p: &str| {
            std::process::Command::new("ssh-keygen")
                .args(["-y", "-P", p, "-f"])
                .arg(&key)
                .output()
                .unwrap()
        };
        let opened = open(pp);
        assert!(opened.status.success(), "{opened:?}");
        assert!(String::from_utf8_lossy(&opened.stdout).starts_with("ssh-ed25519 "));
        assert!(!open("").status.success());
        let public = std::fs::read_to_string(format!("{}.pub", key.display())).unwrap();
        assert!(public.trim_end().ends_with(HOSTILE), "{public}");
    }

    #[test]
    fn probe_script_reads_a_real_account() {
        // Read-only: root exists on every machine this runs on.
        let run = |v: Json| {
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(probe_script(&spec(v)))
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            parse_probe(&out.stdout).unwrap()
        };
        let p = run(json!({"name": "root", "generate_ssh_key": true}));
        let u = p.user.unwrap();
        assert_eq!((u.uid, u.gid), (0, 0));
        assert!(p.key_path.ends_with("/.ssh/id_rsa"), "{}", p.key_path);
        assert!(p.groups.iter().any(|g| g.name == "root"));
        // A name that is a uid is not looked up as one.
        assert!(run(json!({"name": "0"})).user.is_none());
    }

    #[test]
    fn applied_output_and_helpers() {
        let a = parse_applied(
            b"R0\0Ubob:x:1002:100:c:/home/bob:/bin/sh\0H\0G\0K/home/bob/.ssh/id_rsa\0F3072 SHA256:x c (RSA)\n\0Pssh-rsa AAA c\n\0",
        );
        assert_eq!(a.rc, Some(0));
        assert_eq!(a.user.unwrap().uid, 1002);
        assert!(a.made_home && a.made_key);
        assert_eq!(a.public_key.as_deref(), Some("ssh-rsa AAA c"));
        assert_eq!(ymd(0), "1970-01-01");
        assert_eq!(ymd(19_000), "2022-01-08");
        assert_eq!(ymd(-1), "1969-12-31");
        assert!(password_warning("secret").is_some());
        assert!(password_warning(&format!("$6$salt${}", "a".repeat(86))).is_none());
        assert!(password_warning("!").is_none());
    }
}

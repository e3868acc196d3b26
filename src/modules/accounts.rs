//! The account databases as the host's own tools see them: `getent passwd/group/shadow`
//! records parsed on the controller, and the small shell vocabulary the `user`, `group`,
//! `authorized_key` and `getent` modules share to probe and change them.
//!
//! Probes print the whole `group` database (membership and existence checks need it) and only
//! the one `passwd`/`shadow` record asked for, matched by exact name on the host with `awk`
//! reading the name from the environment, so a name is never interpreted (`getent passwd 1000`
//! would look a uid up; Ansible's `pwd.getpwnam` never does).

use crate::connection::{Cmd, ConnectionError, ExecOutput};
use crate::modules::ModuleContext;
use crate::modules::remote;

/// One `passwd` record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Passwd {
    pub name: String,
    pub passwd: String,
    pub uid: u32,
    pub gid: u32,
    pub gecos: String,
    pub home: String,
    pub shell: String,
}

/// One `group` record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct GroupEnt {
    pub name: String,
    pub gid: u32,
    pub members: Vec<String>,
}

/// One `shadow` record (the fields the modules compare).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Shadow {
    pub hash: String,
    pub min: Option<i64>,
    pub max: Option<i64>,
    pub warn: Option<i64>,
    /// Days since the epoch; `None` when the field is empty (never expires).
    pub expire: Option<i64>,
}

/// Parses a `passwd` line (`name:x:uid:gid:gecos:home:shell`).
pub(crate) fn parse_passwd(line: &str) -> Option<Passwd> {
    let f: Vec<&str> = line.trim_end_matches('\n').splitn(7, ':').collect();
    if f.len() != 7 {
        return None;
    }
    Some(Passwd {
        name: f[0].to_string(),
        passwd: f[1].to_string(),
        uid: f[2].parse().ok()?,
        gid: f[3].parse().ok()?,
        gecos: f[4].to_string(),
        home: f[5].to_string(),
        shell: f[6].to_string(),
    })
}

/// Parses a `group` line (`name:x:gid:a,b`).
pub(crate) fn parse_group(line: &str) -> Option<GroupEnt> {
    let f: Vec<&str> = line.trim_end_matches('\n').splitn(4, ':').collect();
    if f.len() != 4 {
        return None;
    }
    Some(GroupEnt {
        name: f[0].to_string(),
        gid: f[2].parse().ok()?,
        members: f[3]
            .split(',')
            .filter(|m| !m.is_empty())
            .map(str::to_string)
            .collect(),
    })
}

/// Parses the whole group database, skipping malformed lines.
pub(crate) fn parse_groups(text: &str) -> Vec<GroupEnt> {
    text.lines().filter_map(parse_group).collect()
}

/// Parses a `shadow` line (`name:hash:lastchg:min:max:warn:inactive:expire:`).
pub(crate) fn parse_shadow(line: &str) -> Option<Shadow> {
    let f: Vec<&str> = line.trim_end_matches('\n').split(':').collect();
    if f.len() < 8 {
        return None;
    }
    let num = |s: &str| s.trim().parse::<i64>().ok();
    Some(Shadow {
        hash: f[1].to_string(),
        min: num(f[3]),
        max: num(f[4]),
        warn: num(f[5]),
        expire: num(f[7]),
    })
}

/// A group by gid (when `key` is a number that names one) or by name, as Ansible's
/// `group_exists`/`group_info` look it up.
pub(crate) fn find_group<'a>(groups: &'a [GroupEnt], key: &str) -> Option<&'a GroupEnt> {
    if let Ok(gid) = key.trim().parse::<u32>()
        && let Some(g) = groups.iter().find(|g| g.gid == gid)
    {
        return Some(g);
    }
    groups.iter().find(|g| g.name == key)
}

/// Shell text that prints the `DB` record (passwd or shadow) whose first field is exactly
/// `$JIG_NAME`, or nothing. `JIG_NAME` must be exported by the caller's script.
pub(crate) fn record_of(db: &str) -> String {
    // `db` is a constant chosen by jig (passwd, shadow, group), never a user value.
    format!("getent {db} | awk -F: '$1 == ENVIRON[\"JIG_NAME\"] {{ print; exit }}'")
}

/// `JIG_NAME=<quoted name>; export JIG_NAME;` for [`record_of`].
pub(crate) fn export_name(name: &str) -> String {
    format!(
        "JIG_NAME={}; export JIG_NAME\n",
        crate::connection::quote(name)
    )
}

/// Runs a script built by an accounts module (already quoted) with the task's become.
pub(crate) async fn exec(
    ctx: &ModuleContext<'_>,
    script: String,
) -> Result<ExecOutput, ConnectionError> {
    remote::run(ctx, script, None).await
}

/// Splits NUL-terminated records; a trailing part without NUL is returned too.
pub(crate) fn records(data: &[u8]) -> Vec<String> {
    let mut out: Vec<String> = data
        .split(|&b| b == 0)
        .map(|r| String::from_utf8_lossy(r).into_owned())
        .collect();
    if out.last().is_some_and(String::is_empty) {
        out.pop();
    }
    out
}

/// An argv as one shell command line, every word quoted.
pub(crate) fn render(argv: &[String]) -> String {
    let mut c = Cmd::empty();
    c.args(argv);
    c.into_string()
}

/// The host's error text for a failed command, or its exit status.
pub(crate) fn error_text(out: &ExecOutput) -> String {
    let err = out.stderr_str();
    let err = err.trim();
    if err.is_empty() {
        format!("exit status {}", out.rc)
    } else {
        err.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_records() {
        let p = parse_passwd("al:x:1001:1001:Al 'q' $(x) ü:/home/al:/bin/sh\n").unwrap();
        assert_eq!(p.uid, 1001);
        assert_eq!(p.gecos, "Al 'q' $(x) ü");
        assert_eq!(p.home, "/home/al");
        assert_eq!(p.shell, "/bin/sh");
        let g = parse_group("adm:x:4:syslog,al").unwrap();
        assert_eq!(g.members, vec!["syslog", "al"]);
        assert!(parse_group("empty:x:5:").unwrap().members.is_empty());
        let s = parse_shadow("al:!$6$x:19000:0:99999:7:::").unwrap();
        assert_eq!(s.hash, "!$6$x");
        assert_eq!(s.max, Some(99999));
        assert_eq!(s.expire, None);
        let groups = parse_groups("root:x:0:\n1000:x:5:\nstaff:x:50:\n");
        assert_eq!(find_group(&groups, "50").unwrap().name, "staff");
        assert_eq!(find_group(&groups, "1000").unwrap().gid, 5);
        assert!(find_group(&groups, "nope").is_none());
    }

    #[test]
    fn names_reach_awk_only_through_the_environment() {
        let s = format!("{}{}", export_name("a'b $(touch x)"), record_of("passwd"));
        assert!(
            s.starts_with("JIG_NAME='a'\\''b $(touch x)'; export JIG_NAME\n"),
            "{s}"
        );
        assert!(s.contains("ENVIRON[\"JIG_NAME\"]"));
    }
}

//! The `alternatives` module (community.general.alternatives): a Debian alternatives group
//! (`update-alternatives`), its alternatives, their priorities and subcommands (slaves), and
//! which one is selected.
//!
//! The group is read with `update-alternatives --query` (the stable, machine-readable form)
//! in one probe, together with whether `path` exists; the decisions are community.general's:
//! an alternative is (re)installed when it is missing or its priority or subcommands differ,
//! `selected` sets it unless it is already the current one, `auto` returns a manual group to
//! automatic mode, `absent` removes it. The commands run in one more round trip. `family` is
//! a RHEL-only option (Debian's tool has no families) and is refused.

use async_trait::async_trait;
use indexmap::IndexMap;
use serde_json::{Map, Value as Json, json};

use super::predict::{Predicted, PredictedPath};
use super::remote::{self, Frames};
use super::textfile::{Stop, finish};
use super::timezone::dict_diff;
use super::{Module, ModuleArgs, ModuleContext, ModuleError, ModuleResult};
use crate::connection::Cmd;

/// A subcommand (slave) of an alternative.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subcommand {
    /// The generic name (`editor.1.gz`).
    pub name: String,
    /// What it points to for this alternative.
    pub path: String,
    /// The generic link (`/usr/share/man/man1/editor.1.gz`); unknown when the group does not
    /// list it.
    pub link: Option<String>,
}

impl Subcommand {
    fn to_json(&self) -> Json {
        json!({"name": self.name, "path": self.path, "link": self.link})
    }
}

/// One alternative of a group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Alternative {
    /// Its priority.
    pub priority: i64,
    /// Its subcommands.
    pub subcommands: Vec<Subcommand>,
}

/// A group as `update-alternatives --query` shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Group {
    /// `auto` or `manual`.
    pub mode: String,
    /// The selected alternative (`Value:`), if any.
    pub current: Option<String>,
    /// The group's link (`Link:`).
    pub link: Option<String>,
    /// Alternatives by path, in the tool's order.
    pub alternatives: IndexMap<String, Alternative>,
}

/// An alternative as `--query` lists it: path, priority, (slave name, slave path).
type RawAlternative = (String, i64, Vec<(String, String)>);

/// Parses `update-alternatives --query NAME`.
pub fn parse_query(text: &str) -> Group {
    let mut g = Group::default();
    let mut slave_links: IndexMap<String, String> = IndexMap::new();
    let mut raw: Vec<RawAlternative> = Vec::new();
    for (i, stanza) in text.split("\n\n").enumerate() {
        let mut in_slaves = false;
        let mut alt: Option<RawAlternative> = None;
        for line in stanza.lines() {
            if let Some(rest) = line.strip_prefix(' ') {
                if in_slaves && let Some((name, target)) = rest.split_once(' ') {
                    if i == 0 {
                        slave_links.insert(name.into(), target.into());
                    } else if let Some(a) = alt.as_mut() {
                        a.2.push((name.into(), target.into()));
                    }
                }
                continue;
            }
            in_slaves = false;
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim_start().to_string();
            match (i, key) {
                (_, "Slaves") => in_slaves = true,
                (0, "Link") => g.link = Some(value),
                (0, "Status") => g.mode = value,
                (0, "Value") => g.current = Some(value).filter(|v| v != "none" && !v.is_empty()),
                (_, "Alternative") => alt = Some((value, 0, Vec::new())),
                (_, "Priority") => {
                    if let Some(a) = alt.as_mut() {
                        a.1 = value.trim().parse().unwrap_or(0);
                    }
                }
                _ => {}
            }
        }
        raw.extend(alt);
    }
    for (path, priority, slaves) in raw {
        let subcommands = slaves
            .into_iter()
            .map(|(name, path)| Subcommand {
                link: slave_links.get(&name).cloned(),
                name,
                path,
            })
            .collect();
        g.alternatives.insert(
            path,
            Alternative {
                priority,
                subcommands,
            },
        );
    }
    g
}

/// update-alternatives' administrative file of the group `name` (what check mode predicts).
fn admin_file(name: &str) -> String {
    format!("/var/lib/dpkg/alternatives/{name}")
}

/// The link naming the group's current choice.
fn choice_link(name: &str) -> String {
    format!("/etc/alternatives/{name}")
}

/// The administrative file dpkg's update-alternatives keeps for `g`: mode, link, the slaves'
/// names and links, a blank line, then each alternative's path, priority and one line per
/// slave (empty when it has none), and a closing blank line.
pub fn render_admin(g: &Group) -> String {
    let mut slaves: IndexMap<&str, &str> = IndexMap::new();
    for a in g.alternatives.values() {
        for s in &a.subcommands {
            slaves
                .entry(s.name.as_str())
                .or_insert(s.link.as_deref().unwrap_or(""));
        }
    }
    let mut out = format!("{}\n{}\n", g.mode, g.link.as_deref().unwrap_or(""));
    for (name, link) in &slaves {
        out.push_str(&format!("{name}\n{link}\n"));
    }
    out.push('\n');
    for (path, a) in &g.alternatives {
        out.push_str(&format!("{path}\n{}\n", a.priority));
        for name in slaves.keys() {
            let sub = a.subcommands.iter().find(|s| s.name == *name);
            out.push_str(sub.map_or("", |s| s.path.as_str()));
            out.push('\n');
        }
    }
    out.push('\n');
    out
}

/// Reads an administrative file written by [`render_admin`] (or the tool), with `current` the
/// choice its link names; `None` when it is not one.
pub fn parse_admin(text: &str, current: Option<String>) -> Option<Group> {
    let mut lines = text.lines();
    let mode = lines.next()?.to_string();
    let link = lines.next()?.to_string();
    let mut slaves = Vec::new();
    loop {
        let name = lines.next()?;
        if name.is_empty() {
            break;
        }
        slaves.push((name, lines.next()?));
    }
    let mut g = Group {
        mode,
        current,
        link: Some(link),
        alternatives: IndexMap::new(),
    };
    loop {
        let path = lines.next()?;
        if path.is_empty() {
            break;
        }
        let priority = lines.next()?.trim().parse().ok()?;
        let mut subcommands = Vec::new();
        for (name, link) in &slaves {
            let p = lines.next()?;
            if !p.is_empty() {
                subcommands.push(Subcommand {
                    name: name.to_string(),
                    path: p.to_string(),
                    link: Some(link.to_string()),
                });
            }
        }
        g.alternatives.insert(
            path.to_string(),
            Alternative {
                priority,
                subcommands,
            },
        );
    }
    Some(g)
}

/// The alternative automatic mode picks: the first of the highest priority (dpkg's order).
fn best(g: &Group) -> Option<String> {
    let mut top: Option<(&String, i64)> = None;
    for (path, a) in &g.alternatives {
        if top.is_none_or(|(_, p)| a.priority > p) {
            top = Some((path, a.priority));
        }
    }
    top.map(|(p, _)| p.clone())
}

/// What update-alternatives makes of `g` running `commands` (planned by [`plan`]): the group
/// check mode predicts, `None` when its last alternative is removed.
pub fn simulate(mut g: Group, commands: &[Vec<String>]) -> Option<Group> {
    for c in commands {
        match c.first().map(String::as_str) {
            Some("--install") => {
                let (Some(link), Some(path), Some(priority)) = (c.get(1), c.get(3), c.get(4))
                else {
                    continue;
                };
                let subcommands = c[5..]
                    .chunks(4)
                    .filter(|s| s.len() == 4)
                    .map(|s| Subcommand {
                        name: s[2].clone(),
                        path: s[3].clone(),
                        link: Some(s[1].clone()),
                    })
                    .collect();
                g.link = Some(link.clone());
                g.alternatives.insert(
                    path.clone(),
                    Alternative {
                        priority: priority.parse().unwrap_or(0),
                        subcommands,
                    },
                );
                if g.mode != "manual" {
                    g.mode = "auto".into();
                    g.current = best(&g);
                }
            }
            Some("--set") => {
                g.mode = "manual".into();
                g.current = c.get(2).cloned();
            }
            Some("--auto") => {
                g.mode = "auto".into();
                g.current = best(&g);
            }
            Some("--remove") => {
                let Some(path) = c.get(2) else { continue };
                g.alternatives.shift_remove(path);
                if g.alternatives.is_empty() {
                    return None;
                }
                // Removing the manual choice returns the group to automatic mode.
                if g.current.as_ref() == Some(path) || g.mode == "auto" {
                    g.mode = "auto".into();
                    g.current = best(&g);
                }
            }
            _ => {}
        }
    }
    Some(g)
}

/// The state asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Installed, selection untouched.
    Present,
    /// Installed and selected (the default).
    Selected,
    /// Installed, group in automatic mode.
    Auto,
    /// Removed.
    Absent,
}

/// The module's arguments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Wanted {
    /// The group.
    pub name: String,
    /// The alternative.
    pub path: String,
    /// The group's link, when given.
    pub link: Option<String>,
    /// The priority, when given.
    pub priority: Option<i64>,
    /// The state.
    pub state: State,
    /// The subcommands, when given (links always known).
    pub subcommands: Option<Vec<Subcommand>>,
}

/// What to run and report.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Plan {
    /// `update-alternatives` argument lists, in order.
    pub commands: Vec<Vec<String>>,
    /// `msg` parts.
    pub messages: Vec<String>,
    /// The diff's before side.
    pub before: Map<String, Json>,
    /// The diff's after side.
    pub after: Map<String, Json>,
}

fn same_set(a: &[Subcommand], b: &[Subcommand]) -> bool {
    a.iter().all(|x| b.contains(x)) && b.iter().all(|x| a.contains(x))
}

/// community.general's decisions for the group `g` (`None`: unknown to the host).
pub fn plan(g: Option<&Group>, w: &Wanted, path_exists: bool) -> Result<Plan, String> {
    let empty = Group::default();
    let g = g.unwrap_or(&empty);
    let mut p = Plan::default();
    // The group's slave links are known only from the group; the arguments' links fill in
    // for a group that lists none.
    let current = g.alternatives.get(&w.path);
    if let Some(a) = current {
        p.before.insert("state".into(), json!("present"));
        p.before.insert("path".into(), json!(w.path));
        p.before.insert("priority".into(), json!(a.priority));
        p.before.insert("link".into(), json!(g.link));
        if !a.subcommands.is_empty() {
            p.before.insert(
                "subcommands".into(),
                Json::Array(a.subcommands.iter().map(Subcommand::to_json).collect()),
            );
        }
        if g.mode == "manual" && g.current.as_deref() != Some(w.path.as_str()) {
            p.before.insert("state".into(), json!("selected"));
        }
    } else {
        p.before.insert("state".into(), json!("absent"));
    }
    if w.state == State::Absent {
        if current.is_some() {
            p.commands
                .push(vec!["--remove".into(), w.name.clone(), w.path.clone()]);
            p.messages.push(format!(
                "Remove alternative '{}' from '{}'.",
                w.path, w.name
            ));
            p.after = Map::new();
            p.after.insert("state".into(), json!("absent"));
        }
        return Ok(p);
    }
    let needs_install = match current {
        None => true,
        Some(a) => {
            w.priority.is_some_and(|pr| pr != a.priority)
                || w.subcommands
                    .as_ref()
                    .is_some_and(|s| !same_set(&a.subcommands, s))
        }
    };
    if needs_install {
        if !path_exists {
            return Err(format!("Specified path {} does not exist", w.path));
        }
        let link = w.link.clone().or_else(|| g.link.clone()).ok_or_else(|| {
            "Needed to install the alternative, but unable to do so as we are missing the link"
                .to_string()
        })?;
        let priority = w.priority.or(current.map(|a| a.priority)).unwrap_or(50);
        let mut cmd = vec![
            "--install".to_string(),
            link.clone(),
            w.name.clone(),
            w.path.clone(),
            priority.to_string(),
        ];
        for s in w.subcommands.iter().flatten() {
            cmd.push("--slave".into());
            cmd.push(s.link.clone().unwrap_or_default());
            cmd.push(s.name.clone());
            cmd.push(s.path.clone());
        }
        p.commands.push(cmd);
        p.messages.push(format!(
            "Install alternative '{}' for '{}'.",
            w.path, w.name
        ));
        p.after.insert("state".into(), json!("present"));
        p.after.insert("path".into(), json!(w.path));
        p.after.insert("family".into(), Json::Null);
        p.after.insert("priority".into(), json!(priority));
        p.after.insert("link".into(), json!(link));
        let subs = match &w.subcommands {
            Some(s) => s.clone(),
            None => current.map(|a| a.subcommands.clone()).unwrap_or_default(),
        };
        if !subs.is_empty() {
            p.after.insert(
                "subcommands".into(),
                Json::Array(subs.iter().map(Subcommand::to_json).collect()),
            );
        }
    }
    if w.state == State::Selected && g.current.as_deref() != Some(w.path.as_str()) {
        p.commands
            .push(vec!["--set".into(), w.name.clone(), w.path.clone()]);
        p.messages
            .push(format!("Set alternative '{}' for '{}'.", w.path, w.name));
        p.after.insert("state".into(), json!("selected"));
    }
    if w.state == State::Auto && g.mode == "manual" {
        p.commands.push(vec!["--auto".into(), w.name.clone()]);
        p.messages
            .push(format!("Set alternative to auto for '{}'.", w.name));
        p.after.insert("state".into(), json!("present"));
    }
    Ok(p)
}

/// The probe: the tool's path, the group (`--query`), and whether `path` exists. `$1` is the
/// group, `$2` the path.
pub fn probe_script(name: &str, path: &str) -> String {
    remote::script(
        &[name, path],
        r#"u=$(command -v update-alternatives 2>/dev/null) || { echo 'Failed to find required executable "update-alternatives"' >&2; exit 127; }
printf '%s\0' "$u"
if _q=$(LC_ALL=C "$u" --query "$1" 2>/dev/null); then printf '0\0%s\0' "$_q"; else printf '1\0\0'; fi
[ -e "$2" ] && printf 1; printf '\0'"#,
    )
}

/// The apply script: each planned command, stopping at the first failure.
pub fn apply_script(tool: &str, commands: &[Vec<String>]) -> String {
    let lines: Vec<String> = commands
        .iter()
        .map(|args| {
            let mut c = Cmd::new(tool);
            c.args(args);
            c.raw("|| exit $?");
            c.into_string()
        })
        .collect();
    format!("export LC_ALL=C\n{}", lines.join("\n"))
}

fn subcommands_arg(args: &ModuleArgs) -> Result<Option<Vec<Subcommand>>, Stop> {
    let Some((key, value)) = args.get_any(&["subcommands", "slaves"]) else {
        return Ok(None);
    };
    let Json::Array(items) = value else {
        return Err(args.invalid(key, "must be a list of dicts").into());
    };
    let mut out = Vec::new();
    for item in items {
        let Json::Object(m) = item else {
            return Err(args
                .invalid(key, format!("must be a list of dicts, got {item}"))
                .into());
        };
        if let Some(k) = m
            .keys()
            .find(|k| !["name", "path", "link"].contains(&k.as_str()))
        {
            return Err(args
                .invalid(
                    key,
                    format!("has an unsupported parameter '{k}' (supported: link, name, path)"),
                )
                .into());
        }
        let field = |f: &str| -> Result<String, Stop> {
            match m.get(f) {
                Some(Json::String(s)) => Ok(s.clone()),
                Some(Json::Number(n)) => Ok(n.to_string()),
                _ => Err(args
                    .invalid(key, format!("missing required argument '{f}' in an item"))
                    .into()),
            }
        };
        out.push(Subcommand {
            name: field("name")?,
            path: field("path")?,
            link: Some(field("link")?),
        });
    }
    Ok(Some(out))
}

/// The `alternatives` module.
pub struct Alternatives;

#[async_trait]
impl Module for Alternatives {
    fn name(&self) -> &'static str {
        "alternatives"
    }

    async fn run(
        &self,
        args: &ModuleArgs,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        finish(run(args, ctx).await)
    }
}

fn conn_err(e: crate::connection::ConnectionError) -> Stop {
    Stop::Module(ModuleError::Connection(e))
}

async fn run(args: &ModuleArgs, ctx: &ModuleContext<'_>) -> Result<ModuleResult, Stop> {
    args.check_known(&[
        "name",
        "path",
        "family",
        "link",
        "priority",
        "state",
        "subcommands",
        "slaves",
    ])?;
    let name = args.req_str("name")?;
    if args.get("family").is_some() {
        return Err(Stop::Fail(
            "family is only supported by the alternatives tool of RHEL-based distributions; \
             Debian's update-alternatives has no families"
                .into(),
        ));
    }
    let path = args
        .str("path")?
        .ok_or_else(|| args.error("one of the following is required: path, family"))?;
    let state = match args.str("state")?.as_deref().unwrap_or("selected") {
        "present" => State::Present,
        "selected" => State::Selected,
        "auto" => State::Auto,
        "absent" => State::Absent,
        other => {
            return Err(args
                .invalid(
                    "state",
                    format!("must be one of: present, selected, auto, absent, got: {other}"),
                )
                .into());
        }
    };
    let w = Wanted {
        name: name.clone(),
        path: path.clone(),
        link: args.str("link")?,
        priority: args.int("priority")?,
        state,
        subcommands: subcommands_arg(args)?,
    };
    let out = remote::run(ctx, probe_script(&name, &path), None)
        .await
        .map_err(conn_err)?;
    if out.rc != 0 {
        return Err(Stop::Fail(out.stderr_str().trim().to_string()));
    }
    let mut f = Frames::new(&out.stdout);
    let bad = || {
        Stop::Fail(format!(
            "unexpected output querying the alternatives of {name}"
        ))
    };
    let tool = String::from_utf8_lossy(f.next_record().ok_or_else(bad)?).into_owned();
    let known = f.next_record().ok_or_else(bad)? == b"0";
    let query = String::from_utf8_lossy(f.next_record().ok_or_else(bad)?).into_owned();
    let path_exists = f.next_record().ok_or_else(bad)? == b"1";
    let mut group = known.then(|| parse_query(&query));
    // In check mode the group as earlier check-mode tasks would leave it is the one planned
    // against, so the diff and the changed flag are the real run's.
    if ctx.check_mode {
        match ctx.predicted.path(&admin_file(&name)) {
            Some(Predicted::Absent) => group = None,
            Some(Predicted::Present(PredictedPath {
                content: Some(bytes),
                ..
            })) => {
                let current = match ctx.predicted.path(&choice_link(&name)) {
                    Some(Predicted::Present(p)) => p.stat.link_target,
                    _ => None,
                };
                if let Some(g) = parse_admin(&String::from_utf8_lossy(&bytes), current) {
                    group = Some(g);
                }
            }
            Some(Predicted::Present(_)) | None => {}
        }
    }
    // A group that lists no slave links: the arguments' links stand in, as in Ansible.
    if let (Some(g), Some(subs)) = (group.as_mut(), &w.subcommands) {
        for a in g.alternatives.values_mut() {
            for s in a.subcommands.iter_mut().filter(|s| s.link.is_none()) {
                s.link = subs
                    .iter()
                    .find(|x| x.name == s.name)
                    .and_then(|x| x.link.clone());
            }
        }
    }
    let p = plan(group.as_ref(), &w, path_exists).map_err(Stop::Fail)?;
    let mut result = ModuleResult {
        changed: !p.commands.is_empty(),
        ..ModuleResult::default()
    };
    if result.changed && ctx.check_mode {
        let (admin, link) = (admin_file(&name), choice_link(&name));
        match simulate(group.clone().unwrap_or_default(), &p.commands) {
            Some(g) => {
                let text = render_admin(&g);
                let attrs = remote::FileAttrs::default();
                ctx.predicted.put_file(
                    &admin,
                    Some(text.as_bytes()),
                    text.len() as u64,
                    &attrs,
                    None,
                );
                match &g.current {
                    Some(current) => ctx.predicted.put_link(&link, current),
                    None => ctx.predicted.put_absent(&link),
                }
            }
            None => {
                ctx.predicted.put_absent(&admin);
                ctx.predicted.put_absent(&link);
            }
        }
    }
    if result.changed && !ctx.check_mode {
        ctx.predicted.forget(&admin_file(&name));
        ctx.predicted.forget(&choice_link(&name));
        let out = remote::run(ctx, apply_script(&tool, &p.commands), None)
            .await
            .map_err(conn_err)?;
        if out.rc != 0 {
            return Err(Stop::Fail(format!(
                "update-alternatives failed (rc {}): {}",
                out.rc,
                format!("{}{}", out.stderr_str(), out.stdout_str()).trim()
            )));
        }
    }
    if result.changed && ctx.diff_mode {
        result.diffs.push(dict_diff(
            &Json::Object(p.before.clone()),
            &Json::Object(p.after.clone()),
        ));
    }
    if !p.messages.is_empty() {
        result.msg = Some(p.messages.join(" "));
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::remote::testutil::HOSTILE;

    const QUERY: &str = "Name: editor\nLink: /usr/bin/editor\nSlaves:\n editor.1.gz /usr/share/man/man1/editor.1.gz\nStatus: manual\nBest: /bin/nano\nValue: /usr/bin/vim.tiny\n\nAlternative: /bin/nano\nPriority: 40\nSlaves:\n editor.1.gz /usr/share/man/man1/nano.1.gz\n\nAlternative: /usr/bin/vim.tiny\nPriority: 15\n";

    fn wanted(path: &str, state: State) -> Wanted {
        Wanted {
            name: "editor".into(),
            path: path.into(),
            link: None,
            priority: None,
            state,
            subcommands: None,
        }
    }

    /// Check mode's prediction of a group: the administrative file round-trips, and the
    /// commands planned change the group as update-alternatives does (the system test's
    /// sequence: a priority raised, back to auto, an alternative removed).
    #[test]
    fn the_predicted_group_follows_the_commands() {
        let g = parse_query(QUERY);
        let text = render_admin(&g);
        assert_eq!(
            text,
            "manual\n/usr/bin/editor\neditor.1.gz\n/usr/share/man/man1/editor.1.gz\n\n\
             /bin/nano\n40\n/usr/share/man/man1/nano.1.gz\n/usr/bin/vim.tiny\n15\n\n\n"
        );
        assert_eq!(parse_admin(&text, g.current.clone()).as_ref(), Some(&g));
        let w = |path: &str, priority: Option<i64>, state: State| Wanted {
            name: "editor".into(),
            path: path.into(),
            link: Some("/usr/bin/editor".into()),
            priority,
            state,
            subcommands: None,
        };
        let step = |g: &Group, w: &Wanted| {
            let p = plan(Some(g), w, true).unwrap();
            (p.before.clone(), simulate(g.clone(), &p.commands))
        };
        // vim raised above nano: the group stays manual on vim.
        let (_, g1) = step(&g, &w("/usr/bin/vim.tiny", Some(60), State::Present));
        let g1 = g1.unwrap();
        assert_eq!(
            (g1.mode.as_str(), g1.current.as_deref()),
            ("manual", Some("/usr/bin/vim.tiny"))
        );
        // Back to auto: the best (vim, 60) is chosen.
        let (_, g2) = step(&g1, &w("/bin/nano", None, State::Auto));
        let g2 = g2.unwrap();
        assert_eq!(
            (g2.mode.as_str(), g2.current.as_deref()),
            ("auto", Some("/usr/bin/vim.tiny"))
        );
        // nano's state before its removal is "present" (an auto group), as the real run says.
        let (before, g3) = step(&g2, &w("/bin/nano", None, State::Absent));
        assert_eq!(before["state"], "present");
        assert_eq!(g3.unwrap().alternatives.len(), 1);
        // Setting a new alternative makes the group manual; removing it returns to auto.
        let (_, g4) = step(&g2, &w("/opt/ed", Some(1), State::Selected));
        let g4 = g4.unwrap();
        assert_eq!(
            (g4.mode.as_str(), g4.current.as_deref()),
            ("manual", Some("/opt/ed"))
        );
        let (_, g5) = step(&g4, &w("/opt/ed", None, State::Absent));
        let g5 = g5.unwrap();
        assert_eq!(
            (g5.mode.as_str(), g5.current.as_deref()),
            ("auto", Some("/usr/bin/vim.tiny"))
        );
        // The last alternative removed: the group is gone.
        let single =
            parse_admin("auto\n/usr/bin/x\n\n/opt/x\n5\n\n", Some("/opt/x".into())).unwrap();
        assert_eq!(
            simulate(
                single,
                &[vec!["--remove".into(), "x".into(), "/opt/x".into()]]
            ),
            None
        );
    }

    #[test]
    fn the_query_is_parsed() {
        let g = parse_query(QUERY);
        assert_eq!(g.mode, "manual");
        assert_eq!(g.current.as_deref(), Some("/usr/bin/vim.tiny"));
        assert_eq!(g.link.as_deref(), Some("/usr/bin/editor"));
        assert_eq!(g.alternatives.len(), 2);
        let nano = &g.alternatives["/bin/nano"];
        assert_eq!(nano.priority, 40);
        assert_eq!(
            nano.subcommands,
            [Subcommand {
                name: "editor.1.gz".into(),
                path: "/usr/share/man/man1/nano.1.gz".into(),
                link: Some("/usr/share/man/man1/editor.1.gz".into()),
            }]
        );
        assert!(g.alternatives["/usr/bin/vim.tiny"].subcommands.is_empty());
        assert_eq!(parse_query("Name: x\nLink: /x\nStatus: auto\nBest: /a\nValue: none\n\nAlternative: /a\nPriority: 1\n").current, None);
    }

    #[test]
    fn decisions_follow_community_general() {
        let g = parse_query(QUERY);
        // Selected and installed: only --set.
        let p = plan(Some(&g), &wanted("/bin/nano", State::Selected), true).unwrap();
        assert_eq!(p.commands, [vec!["--set", "editor", "/bin/nano"]]);
        assert_eq!(p.before["state"], "selected");
        assert_eq!(
            p.after,
            json!({"state": "selected"}).as_object().unwrap().clone()
        );
        // Already current: nothing.
        let p = plan(
            Some(&g),
            &wanted("/usr/bin/vim.tiny", State::Selected),
            true,
        )
        .unwrap();
        assert!(p.commands.is_empty());
        // Present never selects; auto resets a manual group.
        assert!(
            plan(Some(&g), &wanted("/bin/nano", State::Present), true)
                .unwrap()
                .commands
                .is_empty()
        );
        let p = plan(Some(&g), &wanted("/bin/nano", State::Auto), true).unwrap();
        assert_eq!(p.commands, [vec!["--auto", "editor"]]);
        // A priority change reinstalls with the group's link.
        let mut w = wanted("/bin/nano", State::Present);
        w.priority = Some(90);
        let p = plan(Some(&g), &w, true).unwrap();
        assert_eq!(
            p.commands,
            [vec![
                "--install",
                "/usr/bin/editor",
                "editor",
                "/bin/nano",
                "90"
            ]]
        );
        assert_eq!(p.after["subcommands"][0]["name"], "editor.1.gz");
        // Absent removes only what is there.
        let p = plan(Some(&g), &wanted("/bin/nano", State::Absent), true).unwrap();
        assert_eq!(p.commands, [vec!["--remove", "editor", "/bin/nano"]]);
        assert!(
            plan(Some(&g), &wanted("/bin/ed", State::Absent), true)
                .unwrap()
                .commands
                .is_empty()
        );
    }

    #[test]
    fn a_new_group_needs_a_link_and_an_existing_path() {
        let mut w = wanted(HOSTILE, State::Selected);
        assert_eq!(
            plan(None, &w, false).unwrap_err(),
            format!("Specified path {HOSTILE} does not exist")
        );
        assert!(
            plan(None, &w, true)
                .unwrap_err()
                .contains("missing the link")
        );
        w.link = Some("/usr/local/bin/jig tool".into());
        w.subcommands = Some(vec![Subcommand {
            name: "jig.1".into(),
            path: "/opt/x $(y).1".into(),
            link: Some("/usr/share/man/man1/jig.1".into()),
        }]);
        let p = plan(None, &w, true).unwrap();
        assert_eq!(p.commands.len(), 2);
        assert_eq!(
            p.before,
            json!({"state": "absent"}).as_object().unwrap().clone()
        );
        assert_eq!(p.after["priority"], 50);
        assert_eq!(p.after["state"], "selected");
        let script = apply_script("/usr/bin/update-alternatives", &p.commands);
        let first = script.lines().nth(1).unwrap();
        assert_eq!(
            first,
            "/usr/bin/update-alternatives --install '/usr/local/bin/jig tool' editor 'we ird '\\''q'\\'' \"d\" $(touch jig-files-pwned) `touch jig-files-pwned`"
        );
        assert!(
            script.contains("--slave /usr/share/man/man1/jig.1 jig.1 '/opt/x $(y).1' || exit $?")
        );
    }
}

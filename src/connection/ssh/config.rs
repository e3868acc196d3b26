//! `ssh_config(5)` files: `Host` blocks, `Include`, and the options jig's SSH transport uses.
//!
//! OpenSSH's rule is "first obtained value wins": for each keyword the first matching block
//! that sets it decides, except `IdentityFile`, which accumulates. `Match` blocks other than
//! `Match all` are not evaluated and never apply (they can depend on things jig cannot know,
//! such as `exec`); that is said in [`SshConfig::warnings`].

use std::path::{Path, PathBuf};

/// A parsed ssh_config file (with its `Include`s expanded).
#[derive(Clone, Debug, Default)]
pub struct SshConfig {
    blocks: Vec<Block>,
    warnings: Vec<String>,
}

#[derive(Clone, Debug)]
struct Block {
    /// `None` for the options before the first `Host` (they apply to every host).
    patterns: Option<Vec<String>>,
    options: Vec<(String, Vec<String>)>,
}

/// The options of one host after every matching block was applied.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HostConfig {
    /// `HostName` (with `%h` expanded).
    pub hostname: Option<String>,
    /// `User`.
    pub user: Option<String>,
    /// `Port`.
    pub port: Option<u16>,
    /// `IdentityFile`s in order (`~` and `%h`/`%r`/`%u`/`%p`/`%%` expanded later by the caller).
    pub identity_files: Vec<String>,
    /// `IdentitiesOnly yes`: do not offer agent keys that are not among the identity files.
    pub identities_only: Option<bool>,
    /// `ProxyJump`, as written (`none` is kept so it can override a later block).
    pub proxy_jump: Option<String>,
    /// `ProxyCommand`, the rest of its line as written (`%h`/`%p`/`%r` expanded later).
    pub proxy_command: Option<String>,
    /// `ConnectTimeout` in seconds.
    pub connect_timeout: Option<u64>,
    /// `ServerAliveInterval` in seconds.
    pub server_alive_interval: Option<u64>,
    /// `ServerAliveCountMax`.
    pub server_alive_count_max: Option<usize>,
    /// `StrictHostKeyChecking` as written (`yes`, `no`, `accept-new`, `ask`, `off`).
    pub strict_host_key_checking: Option<String>,
    /// `UserKnownHostsFile` entries.
    pub user_known_hosts_files: Vec<String>,
    /// `PasswordAuthentication`.
    pub password_authentication: Option<bool>,
}

impl SshConfig {
    /// Reads `path` (a missing file is an empty config).
    pub fn load(path: &Path) -> Result<SshConfig, String> {
        let mut cfg = SshConfig::default();
        if !path.exists() {
            return Ok(cfg);
        }
        cfg.read_file(path, 0)?;
        Ok(cfg)
    }

    /// Parses config text; relative `Include` paths are looked up in `include_dir`.
    pub fn parse(text: &str, include_dir: &Path) -> Result<SshConfig, String> {
        let mut cfg = SshConfig::default();
        cfg.parse_into(text, "<text>", include_dir, 0)?;
        Ok(cfg)
    }

    /// Appends `other`'s blocks after these (they are obtained later, so they lose).
    pub fn extend(&mut self, other: SshConfig) {
        self.blocks.extend(other.blocks);
        self.warnings.extend(other.warnings);
    }

    /// Things in the file jig does not evaluate (such as `Match` blocks).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    fn read_file(&mut self, path: &Path, depth: usize) -> Result<(), String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read ssh config {}: {e}", path.display()))?;
        let dir = crate::connection::ssh::home_dir()
            .map(|h| h.join(".ssh"))
            .unwrap_or_else(|| path.parent().unwrap_or(Path::new(".")).to_path_buf());
        self.parse_into(&text, &path.display().to_string(), &dir, depth)
    }

    fn parse_into(
        &mut self,
        text: &str,
        name: &str,
        include_dir: &Path,
        depth: usize,
    ) -> Result<(), String> {
        if depth > 16 {
            return Err(format!("{name}: Include nested too deeply (a loop?)"));
        }
        let mut current = Block {
            patterns: None,
            options: Vec::new(),
        };
        let mut skipping = false;
        for (no, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (key, rest) = split_keyword(line);
            let key = key.to_ascii_lowercase();
            let args =
                split_args(rest).map_err(|e| format!("{name}:{}: {e} in '{line}'", no + 1))?;
            match key.as_str() {
                "host" => {
                    self.blocks.push(std::mem::replace(
                        &mut current,
                        Block {
                            patterns: Some(args),
                            options: Vec::new(),
                        },
                    ));
                    skipping = false;
                }
                "match" => {
                    self.blocks.push(std::mem::replace(
                        &mut current,
                        Block {
                            patterns: Some(vec!["*".into()]),
                            options: Vec::new(),
                        },
                    ));
                    let all = args.len() == 1 && args[0].eq_ignore_ascii_case("all");
                    skipping = !all;
                    if skipping {
                        self.warnings.push(format!(
                            "{name}:{}: 'Match {}' is not evaluated by jig; its options are ignored",
                            no + 1,
                            args.join(" ")
                        ));
                    }
                }
                _ if skipping => {}
                "include" => {
                    // Include takes effect where it is written, inside the current block.
                    self.blocks.push(std::mem::replace(
                        &mut current,
                        Block {
                            patterns: None,
                            options: Vec::new(),
                        },
                    ));
                    let outer = self.blocks.last().and_then(|b| b.patterns.clone());
                    for arg in &args {
                        for path in expand_include(arg, include_dir) {
                            let before = self.blocks.len();
                            self.read_file(&path, depth + 1)?;
                            // Options outside any Host in the included file belong to the
                            // enclosing Host block.
                            if let Some(b) = self.blocks.get_mut(before)
                                && b.patterns.is_none()
                            {
                                b.patterns = outer.clone();
                            }
                        }
                    }
                    current.patterns = outer;
                }
                // The command is the rest of the line, quotes and all, for `sh -c`.
                "proxycommand" => current.options.push((key, vec![rest.to_string()])),
                _ => current.options.push((key, args)),
            }
        }
        self.blocks.push(current);
        Ok(())
    }

    /// The options that apply to `host` (the name as given, before `HostName`).
    pub fn lookup(&self, host: &str) -> HostConfig {
        let mut hc = HostConfig::default();
        for b in &self.blocks {
            if let Some(p) = &b.patterns
                && !host_patterns_match(p, host)
            {
                continue;
            }
            for (key, args) in &b.options {
                apply(&mut hc, key, args, host);
            }
        }
        hc
    }
}

fn apply(hc: &mut HostConfig, key: &str, args: &[String], host: &str) {
    let Some(first) = args.first() else { return };
    let yes = |s: &str| matches!(s.to_ascii_lowercase().as_str(), "yes" | "true");
    match key {
        "hostname" if hc.hostname.is_none() => {
            hc.hostname = Some(first.replace("%h", host).replace("%%", "%"))
        }
        "user" if hc.user.is_none() => hc.user = Some(first.clone()),
        "port" if hc.port.is_none() => hc.port = first.parse().ok(),
        "identityfile" if !hc.identity_files.contains(first) => {
            hc.identity_files.push(first.clone())
        }
        "identitiesonly" if hc.identities_only.is_none() => hc.identities_only = Some(yes(first)),
        "proxyjump" if hc.proxy_jump.is_none() => hc.proxy_jump = Some(first.clone()),
        "proxycommand" if hc.proxy_command.is_none() => hc.proxy_command = Some(first.clone()),
        "connecttimeout" if hc.connect_timeout.is_none() => hc.connect_timeout = first.parse().ok(),
        "serveraliveinterval" if hc.server_alive_interval.is_none() => {
            hc.server_alive_interval = first.parse().ok()
        }
        "serveralivecountmax" if hc.server_alive_count_max.is_none() => {
            hc.server_alive_count_max = first.parse().ok()
        }
        "stricthostkeychecking" if hc.strict_host_key_checking.is_none() => {
            hc.strict_host_key_checking = Some(first.to_ascii_lowercase())
        }
        "userknownhostsfile" if hc.user_known_hosts_files.is_empty() => {
            hc.user_known_hosts_files = args.to_vec()
        }
        "passwordauthentication" if hc.password_authentication.is_none() => {
            hc.password_authentication = Some(yes(first))
        }
        _ => {}
    }
}

/// Splits `Keyword value` or `Keyword=value`.
fn split_keyword(line: &str) -> (&str, &str) {
    let end = line
        .find(|c: char| c.is_whitespace() || c == '=')
        .unwrap_or(line.len());
    let (k, rest) = line.split_at(end);
    let rest = rest.trim_start();
    let rest = rest.strip_prefix('=').unwrap_or(rest).trim_start();
    (k, rest)
}

/// Splits arguments on whitespace, honouring double quotes as OpenSSH does.
fn split_args(s: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quoted = false;
    for c in s.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                in_word = true;
            }
            c if c.is_whitespace() && !quoted => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '#' if !quoted && !in_word => break,
            c => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if quoted {
        return Err("unterminated quote".into());
    }
    if in_word {
        out.push(cur);
    }
    Ok(out)
}

fn expand_include(arg: &str, include_dir: &Path) -> Vec<PathBuf> {
    let expanded = crate::connection::ssh::expand_tilde(arg);
    let path = if Path::new(&expanded).is_absolute() {
        PathBuf::from(expanded)
    } else {
        include_dir.join(expanded)
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if !name.contains(['*', '?']) {
        return vec![path];
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| wildcard_match(&name, &e.file_name().to_string_lossy(), false))
        .map(|e| e.path())
        .collect();
    found.sort();
    found
}

/// A comma- or space-separated pattern list as `Host` and known_hosts use it: the host matches
/// when some positive pattern matches and no negated (`!`) pattern does.
pub(crate) fn host_patterns_match<S: AsRef<str>>(patterns: &[S], host: &str) -> bool {
    let mut matched = false;
    for p in patterns {
        let p = p.as_ref();
        if let Some(neg) = p.strip_prefix('!') {
            if wildcard_match(neg, host, true) {
                return false;
            }
        } else if wildcard_match(p, host, true) {
            matched = true;
        }
    }
    matched
}

/// `*` matches any run of characters, `?` exactly one.
pub(crate) fn wildcard_match(pattern: &str, text: &str, ignore_case: bool) -> bool {
    let norm = |s: &str| -> Vec<char> {
        if ignore_case {
            s.to_lowercase().chars().collect()
        } else {
            s.chars().collect()
        }
    };
    let (p, t) = (norm(pattern), norm(text));
    // Iterative glob with backtracking to the last `*`: linear in practice, never recursive.
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_and_negation() {
        assert!(wildcard_match("web*", "web1.example.com", true));
        assert!(wildcard_match("web?", "WEB1", true));
        assert!(!wildcard_match("web?", "web12", true));
        assert!(wildcard_match("*.ex*.com", "a.example.com", true));
        assert!(!wildcard_match("*.org", "a.example.com", true));
        assert!(host_patterns_match(
            &["*.example.com", "!db*"],
            "web.example.com"
        ));
        assert!(!host_patterns_match(
            &["*.example.com", "!db*"],
            "db.example.com"
        ));
        assert!(!host_patterns_match(&["!db*"], "web"));
    }

    #[test]
    fn first_value_wins_and_identity_files_accumulate() {
        let text = r#"
# global
User everyone
Host web* !web-old
    HostName %h.internal
    Port=2222
    IdentityFile ~/.ssh/web key
    IdentitiesOnly yes
    ProxyJump bastion
    ProxyCommand ssh -W %h:%p "jump host"
Host web-old
    Port 2200
Match exec "true"
    User matched
Host *
    User fallback
    IdentityFile "/keys/my key"
    ConnectTimeout 7
    ServerAliveInterval 15
    StrictHostKeyChecking accept-new
    UserKnownHostsFile /a/known /b/known
"#;
        let cfg = SshConfig::parse(text, Path::new("/nonexistent")).unwrap();
        let hc = cfg.lookup("web1");
        assert_eq!(hc.hostname.as_deref(), Some("web1.internal"));
        assert_eq!(hc.user.as_deref(), Some("everyone"));
        assert_eq!(hc.port, Some(2222));
        assert_eq!(hc.identity_files, vec!["~/.ssh/web", "/keys/my key"]);
        assert_eq!(hc.identities_only, Some(true));
        assert_eq!(hc.proxy_jump.as_deref(), Some("bastion"));
        assert_eq!(
            hc.proxy_command.as_deref(),
            Some("ssh -W %h:%p \"jump host\"")
        );
        assert_eq!(hc.connect_timeout, Some(7));
        assert_eq!(hc.server_alive_interval, Some(15));
        assert_eq!(hc.strict_host_key_checking.as_deref(), Some("accept-new"));
        assert_eq!(hc.user_known_hosts_files, vec!["/a/known", "/b/known"]);
        let old = cfg.lookup("web-old");
        assert_eq!(old.port, Some(2200));
        assert_eq!(old.hostname, None);
        assert_eq!(cfg.warnings().len(), 1, "{:?}", cfg.warnings());
    }

    #[test]
    fn include_applies_inside_the_enclosing_host() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("inc.conf"),
            "Port 2022\nHost other\n  User o\n",
        )
        .unwrap();
        let text = format!("Host a\n  Include {}/inc*.conf\n", dir.path().display());
        let cfg = SshConfig::parse(&text, dir.path()).unwrap();
        assert_eq!(cfg.lookup("a").port, Some(2022));
        assert_eq!(cfg.lookup("b").port, None);
        assert_eq!(cfg.lookup("other").user.as_deref(), Some("o"));
    }

    #[test]
    fn bad_quotes_are_an_error_with_the_line() {
        let e = SshConfig::parse("Host a\n User \"x\n", Path::new("/")).unwrap_err();
        assert!(e.contains(":2:"), "{e}");
    }
}

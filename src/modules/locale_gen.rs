//! The `locale_gen` module (community.general.locale_gen): locales generated on Debian-family
//! hosts, by enabling or disabling their lines in `/etc/locale.gen` and running `locale-gen`.
//!
//! As in community.general, a locale must be listed in `/usr/share/i18n/SUPPORTED` (or be
//! generated already), the host's state is what `locale -a` lists, and the module acts only
//! when that state is not the one asked for: `present` when every name is generated, `absent`
//! otherwise (so `state: absent` with a list acts only when every name is there).
//!
//! One probe reads `/etc/locale.gen`, `SUPPORTED`, `locale -a` and `localedef --list-archive`.
//! Check mode predicts the outcome of `locale-gen` (Debian's rebuilds the archive from the
//! enabled lines; locales outside the archive, such as `C.UTF-8`, stay), where
//! community.general's check mode reports no change. The apply script rewrites the file, runs
//! `locale-gen` and lists the locales again in one round trip. The `ubuntu_legacy` mechanism
//! (`/var/lib/locales/supported.d`, deprecated upstream) is refused with a clear error.

use async_trait::async_trait;
use regex::Regex;
use serde_json::json;

use super::remote::{self, Frames};
use super::textfile::{Stop, add_warnings, finish};
use super::{Diff, Module, ModuleArgs, ModuleContext, ModuleError, ModuleResult};
use crate::connection::Cmd;

const LOCALE_GEN: &str = "/etc/locale.gen";

/// community.general's spellings of codesets, so `locale -a`'s `en_US.utf8` matches
/// `en_US.UTF-8`.
const NORMALIZATION: &[(&str, &str)] = &[
    (".utf8", ".UTF-8"),
    (".eucjp", ".EUC-JP"),
    (".iso885915", ".ISO-8859-15"),
    (".cp1251", ".CP1251"),
    (".koi8r", ".KOI8-R"),
    (".armscii8", ".ARMSCII-8"),
    (".euckr", ".EUC-KR"),
    (".gbk", ".GBK"),
    (".gb18030", ".GB18030"),
    (".euctw", ".EUC-TW"),
];

/// A locale name with its codeset spelled one way.
pub fn fix_case(name: &str) -> String {
    NORMALIZATION
        .iter()
        .fold(name.to_string(), |n, (from, to)| n.replace(from, to))
}

/// How the host manages locales.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mechanism {
    /// `/etc/locale.gen` + `locale-gen` (Debian, current Ubuntu).
    Glibc,
    /// `/var/lib/locales/supported.d` (old Ubuntu).
    UbuntuLegacy,
    /// Neither: the `locales` package is missing.
    None,
}

/// What the probe found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Probed {
    /// The mechanism.
    pub mechanism: Mechanism,
    /// `/usr/share/i18n/SUPPORTED`.
    pub supported: String,
    /// `/etc/locale.gen`.
    pub locale_gen: String,
    /// `locale -a` succeeded.
    pub listed: bool,
    /// `locale -a`.
    pub locales: Vec<String>,
    /// `localedef --list-archive`: what `locale-gen` rebuilds.
    pub archive: Vec<String>,
}

const PROBE_BODY: &str = r#"jig_lf() { if [ -f "$1" ]; then printf 'F\0%s\0' "$(wc -c <"$1")"; cat -- "$1"; else printf 'A\0'; fi; }
locales_probe() {
  if _a=$(LC_ALL=C locale -a 2>/dev/null); then printf '0\0%s\0' "$_a"; else printf '1\0\0'; fi
  printf '%s\0' "$(LC_ALL=C localedef --list-archive 2>/dev/null)"
}
if [ -e /etc/locale.gen ]; then printf 'glibc\0'
elif [ -e /var/lib/locales/supported.d ]; then printf 'ubuntu_legacy\0'
else printf 'none\0'; fi
jig_lf /usr/share/i18n/SUPPORTED
jig_lf /etc/locale.gen
locales_probe
"#;

/// The probe script.
pub fn probe_script() -> String {
    remote::script(&[], PROBE_BODY)
}

fn file_record(f: &mut Frames<'_>) -> Option<String> {
    match f.next_record()? {
        b"F" => Some(String::from_utf8_lossy(f.sized()?).into_owned()),
        b"A" => Some(String::new()),
        _ => None,
    }
}

fn lines(b: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(b)
        .lines()
        .map(str::to_string)
        .filter(|l| !l.is_empty())
        .collect()
}

/// `locale -a` and the archive list, as the probe and the apply script print them.
fn parse_locales(f: &mut Frames<'_>) -> Option<(bool, Vec<String>, Vec<String>)> {
    let listed = f.next_record()? == b"0";
    let locales = lines(f.next_record()?);
    let archive = lines(f.next_record()?);
    Some((listed, locales, archive))
}

/// Parses the probe's output.
pub fn parse_probe(out: &[u8]) -> Option<Probed> {
    let mut f = Frames::new(out);
    let mechanism = match f.next_record()? {
        b"glibc" => Mechanism::Glibc,
        b"ubuntu_legacy" => Mechanism::UbuntuLegacy,
        _ => Mechanism::None,
    };
    let supported = file_record(&mut f)?;
    let locale_gen = file_record(&mut f)?;
    let (listed, locales, archive) = parse_locales(&mut f)?;
    Some(Probed {
        mechanism,
        supported,
        locale_gen,
        listed,
        locales,
        archive,
    })
}

/// Whether `name` is among `list`, codesets compared in one spelling.
pub fn listed_in(name: &str, list: &[String]) -> bool {
    let n = fix_case(name);
    list.iter().any(|l| fix_case(l) == n)
}

/// The names `SUPPORTED` does not offer and that are not generated either.
pub fn unavailable(names: &[String], p: &Probed) -> Vec<String> {
    let re =
        Regex::new(r"^\s*#?\s*(?P<locale>\S+[._\S]+) (?P<charset>\S+)\s*$").expect("a valid regex");
    let offered: Vec<&str> = p
        .supported
        .lines()
        .filter_map(|l| re.captures(l))
        .filter_map(|c| c.name("locale").map(|m| m.as_str()))
        .collect();
    names
        .iter()
        .filter(|n| !offered.contains(&n.as_str()) && !listed_in(n, &p.locales))
        .cloned()
        .collect()
}

/// `/etc/locale.gen` with each name's line enabled (`NAME CHARSET`) or disabled
/// (`# NAME CHARSET`), as community.general rewrites it.
pub fn edit_locale_gen(text: &str, names: &[String], enable: bool) -> String {
    let res: Vec<(Regex, &String)> = names
        .iter()
        .map(|n| {
            let re = Regex::new(&format!(r"^#?\s*{} (?P<charset>.+)", regex::escape(n)))
                .expect("an escaped name makes a valid regex");
            (re, n)
        })
        .collect();
    text.split_inclusive('\n')
        .map(|line| {
            res.iter().fold(line.to_string(), |l, (re, name)| {
                re.replace(&l, |c: &regex::Captures<'_>| {
                    let prefix = if enable { "" } else { "# " };
                    format!("{prefix}{name} {}", &c["charset"])
                })
                .into_owned()
            })
        })
        .collect()
}

/// The locales `locale-gen` generates from `text` (Debian's reading: first word of each line
/// that has two, not commented out).
pub fn enabled_locales(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            let locale = words.next()?;
            words.next()?;
            (!locale.starts_with('#')).then(|| locale.to_string())
        })
        .collect()
}

/// The locales `locale -a` will list after `locale-gen` runs on `new_text`.
pub fn predicted_after(p: &Probed, new_text: &str) -> Vec<String> {
    let mut after: Vec<String> = p
        .locales
        .iter()
        .filter(|l| !listed_in(l, &p.archive))
        .cloned()
        .collect();
    after.extend(enabled_locales(new_text));
    after
}

/// Whether every name is generated.
pub fn all_present(names: &[String], locales: &[String]) -> bool {
    names.iter().all(|n| listed_in(n, locales))
}

/// The apply script: the new `/etc/locale.gen` (when it changes), `locale-gen`, and the
/// locales listed again.
pub fn apply_script(new_text: Option<&str>) -> String {
    let mut c = Cmd::empty();
    c.raw("(");
    if let Some(text) = new_text {
        c.raw("printf %s")
            .arg(text)
            .raw(">")
            .arg(LOCALE_GEN)
            .raw("|| exit 1;");
    }
    c.raw("locale-gen ) >&2 || exit 1\n");
    remote::script(&[], &format!("{}{PROBE_BODY}", c.into_string()))
}

/// The `locale_gen` module.
pub struct LocaleGen;

#[async_trait]
impl Module for LocaleGen {
    fn name(&self) -> &'static str {
        "locale_gen"
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
    args.check_known(&["name", "state"])?;
    let names = args
        .list("name")?
        .ok_or_else(|| args.error("missing required argument 'name'"))?;
    let state = args.str("state")?.unwrap_or_else(|| "present".into());
    let present = match state.as_str() {
        "present" => true,
        "absent" => false,
        other => {
            return Err(args
                .invalid(
                    "state",
                    format!("must be one of: absent, present, got: {other}"),
                )
                .into());
        }
    };
    let out = remote::run(ctx, probe_script(), None)
        .await
        .map_err(conn_err)?;
    let p = parse_probe(&out.stdout).ok_or_else(|| {
        Stop::Fail(format!(
            "cannot read the host's locales: {}",
            out.stderr_str().trim()
        ))
    })?;
    match p.mechanism {
        Mechanism::Glibc => {}
        Mechanism::UbuntuLegacy => {
            return Err(Stop::Fail(
                "locale_gen: this host uses the deprecated ubuntu_legacy mechanism \
                 (/var/lib/locales/supported.d without /etc/locale.gen), which jig does not \
                 support"
                    .into(),
            ));
        }
        Mechanism::None => {
            return Err(Stop::Fail(
                "/var/lib/locales/supported.d and /etc/locale.gen are missing. Is the package \
                 \"locales\" installed?"
                    .into(),
            ));
        }
    }
    if !p.listed {
        return Err(Stop::Fail("`locale -a` failed on the host".into()));
    }
    let missing = unavailable(&names, &p);
    if !missing.is_empty() {
        return Err(Stop::Fail(format!(
            "The following locales you have entered are not available on your system: {}",
            missing.join(", ")
        )));
    }
    let was_present = all_present(&names, &p.locales);
    let mut result = ModuleResult::ok();
    result
        .set("name", json!(names))
        .set("mechanism", "glibc")
        .set("ubuntu_mode", false);
    if was_present == present {
        return Ok(result);
    }
    let new_text = edit_locale_gen(&p.locale_gen, &names, present);
    let changes_file = new_text != p.locale_gen;
    let predicted = predicted_after(&p, &new_text);
    let mut warnings = Vec::new();
    if present {
        for n in names.iter().filter(|n| !listed_in(n, &predicted)) {
            warnings.push(format!(
                "{n} has no line in {LOCALE_GEN} to enable: locale-gen will not generate it"
            ));
        }
    }
    let now_present = if ctx.check_mode {
        all_present(&names, &predicted)
    } else {
        let out = remote::run(
            ctx,
            apply_script(changes_file.then_some(new_text.as_str())),
            None,
        )
        .await
        .map_err(conn_err)?;
        if out.rc != 0 {
            return Err(Stop::Fail(format!(
                "locale-gen failed (rc {}): {}",
                out.rc,
                out.stderr_str().trim()
            )));
        }
        let q = parse_probe(&out.stdout).ok_or_else(|| {
            Stop::Fail(format!(
                "cannot read the host's locales back: {}",
                out.stderr_str().trim()
            ))
        })?;
        all_present(&names, &q.locales)
    };
    result.changed = now_present != was_present;
    if ctx.diff_mode && changes_file {
        result.diffs.push(Diff::Text {
            before_header: LOCALE_GEN.into(),
            after_header: LOCALE_GEN.into(),
            before: p.locale_gen.clone(),
            after: new_text,
        });
    }
    add_warnings(&mut result, &warnings);
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::remote::testutil::{Env, assert_not_pwned};

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    const GEN: &str = "# header\n#  en_US.UTF-8 UTF-8\n# en_US ISO-8859-1\nde_DE.UTF-8 UTF-8\n# fr_FR.UTF-8 UTF-8\n";

    #[test]
    fn lines_are_enabled_and_disabled_like_community_general() {
        assert_eq!(
            edit_locale_gen(GEN, &s(&["en_US.UTF-8", "de_DE.UTF-8"]), true),
            "# header\nen_US.UTF-8 UTF-8\n# en_US ISO-8859-1\nde_DE.UTF-8 UTF-8\n# fr_FR.UTF-8 UTF-8\n"
        );
        assert_eq!(
            edit_locale_gen(GEN, &s(&["de_DE.UTF-8"]), false),
            "# header\n#  en_US.UTF-8 UTF-8\n# en_US ISO-8859-1\n# de_DE.UTF-8 UTF-8\n# fr_FR.UTF-8 UTF-8\n"
        );
        // Regex characters in a name are literal; a `$` in it is not a group reference.
        let odd = "x$1.(y) Z";
        assert_eq!(
            edit_locale_gen("# x$1.(y) Z UTF-8\nx$1-(y) Z UTF-8\n", &s(&[odd]), true),
            "x$1.(y) Z UTF-8\nx$1-(y) Z UTF-8\n"
        );
        assert_eq!(
            enabled_locales("# a b\nen_US.UTF-8 UTF-8\nlone\n  de_DE ISO-8859-1\n"),
            s(&["en_US.UTF-8", "de_DE"])
        );
    }

    #[test]
    fn presence_and_prediction_follow_locale_a() {
        let p = Probed {
            mechanism: Mechanism::Glibc,
            supported: "en_US.UTF-8 UTF-8\nen_US ISO-8859-1\nde_DE.UTF-8 UTF-8\n".into(),
            locale_gen: GEN.into(),
            listed: true,
            locales: s(&["C", "C.utf8", "POSIX", "de_DE.utf8"]),
            archive: s(&["de_DE.utf8"]),
        };
        assert!(all_present(&s(&["de_DE.UTF-8", "C.UTF-8"]), &p.locales));
        assert!(!all_present(&s(&["en_US.UTF-8"]), &p.locales));
        assert_eq!(
            unavailable(&s(&["en_US.UTF-8", "C.UTF-8", "xx_XX", "fr_FR.UTF-8"]), &p),
            s(&["xx_XX", "fr_FR.UTF-8"])
        );
        let enabled = edit_locale_gen(GEN, &s(&["en_US.UTF-8"]), true);
        let after = predicted_after(&p, &enabled);
        assert!(all_present(
            &s(&["en_US.UTF-8", "de_DE.UTF-8", "C.UTF-8"]),
            &after
        ));
        // Disabling removes a locale from the rebuilt archive; C.UTF-8 is not in it.
        let disabled = edit_locale_gen(GEN, &s(&["de_DE.UTF-8"]), false);
        let after = predicted_after(&p, &disabled);
        assert!(!listed_in("de_DE.UTF-8", &after));
        assert!(listed_in("C.UTF-8", &after));
    }

    #[test]
    fn the_apply_script_quotes_the_file() {
        let text = "x $(touch /tmp/jig-files-pwned) 'q'\n";
        let script = apply_script(Some(text));
        assert!(script.contains(&format!(
            "( printf %s {} > /etc/locale.gen || exit 1; locale-gen ) >&2 || exit 1\n",
            crate::connection::quote(text)
        )));
        assert!(apply_script(None).contains("( locale-gen ) >&2"));
    }

    #[tokio::test]
    async fn the_probe_parses_on_this_machine() {
        let dir = tempfile::tempdir().unwrap();
        let env = Env::new(dir.path());
        let ctx = env.ctx(false, false);
        let out = remote::run(&ctx, probe_script(), None).await.unwrap();
        assert_eq!(out.rc, 0, "{}", out.stderr_str());
        let p = parse_probe(&out.stdout).expect("probe output parses");
        if p.listed {
            assert!(listed_in("POSIX", &p.locales), "{:?}", p.locales);
        }
        assert_not_pwned();
    }
}

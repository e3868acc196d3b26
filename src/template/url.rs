//! The `url` lookup: an HTTP(S) GET from the controller with Ansible's options
//! (`validate_certs`, `split_lines`, `headers`, `username`/`password` with
//! `force_basic_auth`, `http_agent`, `timeout`, `use_proxy`, `follow_redirects`), the body
//! returned whole or line by line, HTTP failures reported as Ansible words them.

use std::time::Duration;

use base64::Engine;
use minijinja::Error;
use minijinja::value::{Kwargs, Value};

use super::convert::to_text;
use super::filters::{ansible_bool, fail, pairs_of};

/// The options of one `url` lookup call.
struct UrlOptions {
    validate_certs: bool,
    split_lines: bool,
    use_proxy: bool,
    follow_redirects: bool,
    force_basic_auth: bool,
    timeout: f64,
    agent: String,
    headers: Vec<(String, String)>,
    auth: Option<(String, String)>,
}

fn options(kw: &Kwargs) -> Result<UrlOptions, Error> {
    let flag = |name: &str, default: bool| -> Result<bool, Error> {
        Ok(kw
            .get::<Option<Value>>(name)?
            .map(|v| ansible_bool(&v))
            .unwrap_or(default))
    };
    let mut o = UrlOptions {
        validate_certs: flag("validate_certs", true)?,
        split_lines: flag("split_lines", true)?,
        use_proxy: flag("use_proxy", true)?,
        force_basic_auth: flag("force_basic_auth", false)?,
        follow_redirects: true,
        timeout: 10.0,
        agent: "ansible-httpget".into(),
        headers: Vec::new(),
        auth: None,
    };
    if let Some(f) = kw.get::<Option<Value>>("follow_redirects")? {
        o.follow_redirects = match to_text(&f).to_lowercase().as_str() {
            "urllib2" | "all" | "safe" | "yes" | "true" => true,
            "none" | "no" | "false" => false,
            other => {
                return Err(fail(format!(
                    "url lookup: follow_redirects must be one of urllib2, all, safe, none, \
                     yes, no; got '{other}'"
                )));
            }
        };
    }
    if let Some(t) = kw.get::<Option<Value>>("timeout")? {
        o.timeout = to_text(&t)
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|t| *t > 0.0 && t.is_finite())
            .ok_or_else(|| {
                fail(format!(
                    "url lookup: timeout must be a positive number, got {t}"
                ))
            })?;
    }
    if let Some(a) = kw.get::<Option<String>>("http_agent")? {
        o.agent = a;
    }
    if let Some(h) = kw.get::<Option<Value>>("headers")?.filter(|h| !h.is_none()) {
        for (k, v) in pairs_of("url lookup headers", &h)? {
            o.headers.push((to_text(&k), to_text(&v)));
        }
    }
    let user = kw
        .get::<Option<Value>>("username")?
        .filter(|u| !u.is_none());
    let password = kw
        .get::<Option<Value>>("password")?
        .filter(|p| !p.is_none());
    if let Some(u) = user {
        o.auth = Some((
            to_text(&u),
            password.map(|p| to_text(&p)).unwrap_or_default(),
        ));
    }
    // Accepted for compatibility; they change nothing jig does.
    for k in [
        "use_gssapi",
        "unredirected_headers",
        "ca_path",
        "ciphers",
        "force",
    ] {
        let _ = kw.get::<Option<Value>>(k)?;
    }
    if kw
        .get::<Option<Value>>("unix_socket")?
        .is_some_and(|v| !v.is_none())
    {
        return Err(fail(
            "url lookup: unix_socket is not supported by jig; query the socket with the pipe lookup (curl --unix-socket)",
        ));
    }
    Ok(o)
}

fn agent(o: &UrlOptions) -> ureq::Agent {
    let mut config = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs_f64(o.timeout)))
        .user_agent(o.agent.as_str())
        .http_status_as_error(false)
        .max_redirects(if o.follow_redirects { 10 } else { 0 })
        .max_redirects_will_error(false);
    if !o.use_proxy {
        config = config.proxy(None);
    }
    if !o.validate_certs {
        config = config.tls_config(
            ureq::tls::TlsConfig::builder()
                .disable_verification(true)
                .build(),
        );
    }
    config.build().into()
}

/// A header value as Python's http.client sends it: Latin-1 when every character fits,
/// else UTF-8.
fn header_bytes(v: &str) -> Vec<u8> {
    if v.chars().all(|c| u32::from(c) < 256) {
        v.chars().map(|c| c as u8).collect()
    } else {
        v.as_bytes().to_vec()
    }
}

fn basic(user: &str, password: &str) -> String {
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {token}")
}

/// One GET; `Ok((status, body))` for any HTTP answer.
fn get(agent: &ureq::Agent, url: &str, o: &UrlOptions, auth: bool) -> Result<(u16, String), Error> {
    let mut req = agent.get(url);
    for (k, v) in &o.headers {
        req = req.header(k.as_str(), header_bytes(v).as_slice());
    }
    if auth && let Some((u, p)) = &o.auth {
        req = req.header("Authorization", basic(u, p));
    }
    let mut resp = req.call().map_err(|e| match e {
        ureq::Error::Tls(_) | ureq::Error::Rustls(_) => fail(format!(
            "Error validating the server's certificate for {url}: {e}; set validate_certs=false \
             to skip the check"
        )),
        other => fail(format!("Failed lookup url for {url}: {other}")),
    })?;
    let status = resp.status().as_u16();
    let body = resp
        .body_mut()
        .with_config()
        .limit(256 * 1024 * 1024)
        .read_to_string()
        .map_err(|e| fail(format!("Failed lookup url for {url}: {e}")))?;
    Ok((status, body))
}

/// Runs the lookup for every term (a URL).
pub(super) fn url_lookup(terms: &[Value], kw: &Kwargs) -> Result<Vec<Value>, Error> {
    let o = options(kw)?;
    let agent = agent(&o);
    let mut out = Vec::new();
    for t in terms {
        let url = to_text(t);
        let (mut status, mut body) = get(&agent, &url, &o, o.force_basic_auth)?;
        // Without force_basic_auth the credentials answer a challenge, as urllib does.
        if status == 401 && o.auth.is_some() && !o.force_basic_auth {
            (status, body) = get(&agent, &url, &o, true)?;
        }
        if status >= 300 {
            let reason = http_reason(status);
            return Err(fail(format!(
                "Received HTTP error for {url}: HTTP Error {status}: {reason}"
            )));
        }
        if o.split_lines {
            out.extend(py_splitlines(&body).into_iter().map(Value::from));
        } else {
            out.push(Value::from(body));
        }
    }
    Ok(out)
}

fn http_reason(status: u16) -> &'static str {
    ureq::http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("")
}

/// Python's `bytes.splitlines()`: `\n`, `\r\n` and `\r` end lines; no empty last line.
fn py_splitlines(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' => out.push(std::mem::take(&mut cur)),
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push(std::mem::take(&mut cur));
            }
            other => cur.push(other),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

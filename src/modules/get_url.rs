//! The `get_url` module, and the HTTP client every transfer module shares.
//!
//! The host downloads with its own `curl`, or `wget` when it has no curl; a host with
//! neither gets the file downloaded by the controller (with the controller's curl, through the
//! same script on the local connection) and pushed over the connection. Secrets never reach
//! argv: the URL, headers and credentials travel on stdin into a mode-0600 config file
//! (`curl --config`, `wget --config`) that the script deletes when it ends.
//!
//! The module follows ansible-core's `get_url`: with `checksum` and an existing destination
//! that already matches, nothing is downloaded; otherwise the file is downloaded to a
//! temporary directory (with `If-Modified-Since` from the destination's mtime, so a 304 ends
//! the task unchanged), its checksum verified, and it replaces the destination only when its
//! content differs ([`copy::put`] places it: atomic write, mode/owner/group, backup, diff).
//! Check mode downloads too, and so predicts exactly what the real run changes (ansible-core
//! sends a HEAD request instead and guesses; docs/differences.md).

use std::time::Instant;

use async_trait::async_trait;
use serde_json::Value as Json;

use super::copy::{self, Content, PutSpec};
use super::remote::{self, FileKind, Frames, WriteOptions};
use super::{Module, ModuleArgs, ModuleContext, ModuleError, ModuleResult};
use crate::connection::local::LocalConnection;
use crate::connection::{Connection, ConnectionError, ExecOutput, ExecRequest};

/// The `get_url` module.
pub struct GetUrl;

const KNOWN: &[&str] = &[
    "url",
    "dest",
    "checksum",
    "sha256sum",
    "mode",
    "owner",
    "group",
    "force",
    "headers",
    "timeout",
    "url_username",
    "username",
    "url_password",
    "password",
    "force_basic_auth",
    "validate_certs",
    "use_proxy",
    "http_agent",
    "backup",
    "tmp_dest",
    "decompress",
    "unsafe_writes",
    "use_netrc",
    "use_gssapi",
    "unredirected_headers",
    "client_cert",
    "client_key",
    "ciphers",
    "attributes",
    "seuser",
    "serole",
    "setype",
    "selevel",
];

/// The checksum tools coreutils has, by Ansible's algorithm names.
pub(crate) fn digest_tool(algorithm: &str) -> Option<&'static str> {
    Some(match algorithm {
        "md5" => "md5sum",
        "sha1" => "sha1sum",
        "sha224" => "sha224sum",
        "sha256" => "sha256sum",
        "sha384" => "sha384sum",
        "sha512" => "sha512sum",
        _ => return None,
    })
}

/// One HTTP request, as the transfer modules describe it.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Request {
    /// The URL.
    pub url: String,
    /// `GET`, `POST`, `HEAD`...
    pub method: String,
    /// Extra request headers, in order.
    pub headers: Vec<(String, String)>,
    /// Basic-auth user and password.
    pub user: Option<(String, String)>,
    /// The request body.
    pub body: Option<Vec<u8>>,
    /// Seconds to wait for a connection or for data.
    pub timeout: u64,
    /// Check TLS certificates.
    pub validate_certs: bool,
    /// Follow redirects.
    pub follow_redirects: bool,
    /// Ask for compressed content and decompress it.
    pub decompress: bool,
    /// A host path whose mtime becomes `If-Modified-Since` (when it is a file).
    pub if_modified_since: Option<String>,
    /// `User-Agent`.
    pub agent: String,
    /// A checksum tool (`sha256sum`) to run on the body besides `sha1sum`.
    pub digest: Option<&'static str>,
    /// Keep the body in the temporary directory (the caller removes it with [`cleanup`]);
    /// otherwise the body is printed back and the directory removed at once.
    pub keep_body: bool,
}

/// What came back.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Response {
    /// The HTTP status (`-1` when there was no response at all).
    pub status: i64,
    /// The URL of the last response, after redirects.
    pub url: String,
    /// The last response's headers, names lowercased, in order.
    pub headers: Vec<(String, String)>,
    /// The transfer tool's error, when it failed (connection refused, timeout...).
    pub error: Option<String>,
    /// The temporary directory holding `body` (when `keep_body`).
    pub dir: String,
    /// The body's size in bytes.
    pub size: u64,
    /// sha1 of the body.
    pub sha1: String,
    /// The requested digest of the body.
    pub digest: Option<String>,
    /// The body, when not kept on the host.
    pub body: Option<Vec<u8>>,
    /// Where the body was downloaded: the controller (the host had neither curl nor wget).
    pub on_controller: bool,
}

impl Response {
    /// A header of the last response.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .rev()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The path of the downloaded body.
    pub fn body_path(&self) -> String {
        format!("{}/body", self.dir)
    }

    /// Python's urllib message: `OK (N bytes)` for a 200, `HTTP Error N: Reason` otherwise.
    pub fn msg(&self) -> String {
        if let Some(e) = &self.error {
            return format!("Request failed: {e}");
        }
        if self.status == 200 {
            let len = self.header("content-length").unwrap_or("unknown");
            format!("OK ({len} bytes)")
        } else {
            format!("HTTP Error {}: {}", self.status, reason(self.status))
        }
    }
}

/// The reason phrase Python's `http.HTTPStatus` gives a status.
pub(crate) fn reason(status: i64) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Unknown",
    }
}

/// A value in curl's config syntax: double-quoted with backslash escapes.
fn curl_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Header names and values cannot hold line breaks (they would start a new header, or a new
/// config line for wget).
fn check_header(name: &str, value: &str) -> Result<(), String> {
    if name.is_empty() || name.contains([':', '\n', '\r', ' ']) {
        return Err(format!("invalid HTTP header name {name:?}"));
    }
    if value.contains(['\n', '\r']) {
        return Err(format!(
            "the value of HTTP header {name} contains a line break"
        ));
    }
    Ok(())
}

/// curl's config file for `req`: every value that may be secret (URL with credentials,
/// headers, user and password) lives here, never in argv.
pub(crate) fn curl_config(req: &Request) -> Result<String, String> {
    let mut c = String::new();
    c.push_str(&format!("url = {}\n", curl_quote(&req.url)));
    for (k, v) in &req.headers {
        check_header(k, v)?;
        c.push_str(&format!("header = {}\n", curl_quote(&format!("{k}: {v}"))));
    }
    if let Some((u, p)) = &req.user {
        c.push_str(&format!("user = {}\n", curl_quote(&format!("{u}:{p}"))));
    }
    if !req.agent.is_empty() {
        c.push_str(&format!("user-agent = {}\n", curl_quote(&req.agent)));
    }
    match req.method.as_str() {
        "GET" => {}
        "HEAD" => c.push_str("head\n"),
        m => c.push_str(&format!("request = {}\n", curl_quote(m))),
    }
    Ok(c)
}

/// wget's config file (wgetrc syntax: `name = value`, one per line).
pub(crate) fn wget_config(req: &Request) -> Result<String, String> {
    let mut c = String::new();
    for (k, v) in &req.headers {
        check_header(k, v)?;
        c.push_str(&format!("header = {k}: {v}\n"));
    }
    if let Some((u, p)) = &req.user {
        if u.contains(['\n', '\r']) || p.contains(['\n', '\r']) {
            return Err("url_username and url_password cannot contain line breaks".into());
        }
        c.push_str(&format!(
            "http_user = {u}\nhttp_password = {p}\nauth_no_challenge = on\n"
        ));
    }
    if !req.agent.is_empty() {
        c.push_str(&format!(
            "user_agent = {}\n",
            req.agent.replace(['\n', '\r'], " ")
        ));
    }
    Ok(c)
}

/// The download script. Parameters: 1 curl config length, 2 wget config length, 3 digest
/// tool or empty, 4 If-Modified-Since file or empty, 5 timeout, 6 insecure (1/0), 7 has a
/// body (1/0), 8 method, 9 follow redirects (1/0), 10 keep the body (1/0), 11 decompress
/// (1/0), 12 the length of wget's URL file, 13 `force` a tool (`curl`, `wget`) or empty. stdin: the curl
/// config, the wget config, wget's URL file (the URL, which may hold credentials), then the
/// body.
///
/// Prints `N\0` when the host has neither tool; else `T<tool>\0<dir>\0<rc>\0<status>\0<url>\0
/// <headers>\0<error>\0<size>\0<sha1sum output>\0<digest output>\0`, then the body itself
/// unless it is kept.
const DOWNLOAD: &str = r#"tool=${13} dig=$3 keep=${10}
if [ -z "$tool" ]; then
  if command -v curl >/dev/null 2>&1; then tool=curl
  elif command -v wget >/dev/null 2>&1; then tool=wget
  else printf 'N\0'; exit 0; fi
fi
umask 077
d=$(mktemp -d "${TMPDIR:-/tmp}/jig-get.XXXXXXXX") || exit 1
if [ "$keep" != 1 ]; then trap 'rm -rf -- "$d"' EXIT; fi
head -c "$1" > "$d/curlrc" && head -c "$2" > "$d/wgetrc" && head -c "${12}" > "$d/wgeturl" && cat > "$d/req" || exit 1
: > "$d/body"; : > "$d/hdr"; : > "$d/w"
if [ "$tool" = curl ]; then
  set -- "$@" -sS -K "$d/curlrc" -D "$d/hdr" -o "$d/body" -w '%{http_code}\n%{url_effective}' --connect-timeout "$5" --speed-time "$5" --speed-limit 1
  [ "$6" = 1 ] && set -- "$@" -k
  [ "$7" = 1 ] && set -- "$@" --data-binary "@$d/req"
  [ "$9" = 1 ] && set -- "$@" -L --max-redirs 10
  [ "${11}" = 1 ] && set -- "$@" --compressed
  if [ -n "$4" ] && [ -f "$4" ]; then set -- "$@" -z "$4"; fi
  shift 13
  curl "$@" > "$d/w" 2> "$d/err"; rc=$?
else
  set -- "$@" -q -S --config="$d/wgetrc" -O "$d/body" --content-on-error --timeout="$5" --tries=1 --method="$8"
  [ "$6" = 1 ] && set -- "$@" --no-check-certificate
  [ "$7" = 1 ] && set -- "$@" --body-file="$d/req"
  [ "$9" = 1 ] || set -- "$@" --max-redirect=0
  set -- "$@" -i "$d/wgeturl"
  shift 13
  wget "$@" 2> "$d/err"; rc=$?
fi
printf 'T%s\0%s\0%s\0' "$tool" "$d" "$rc"
cat "$d/w"; printf '\0'
cat "$d/hdr"; printf '\0'
cat "$d/err"; printf '\0'
wc -c < "$d/body"; printf '\0'
sha1sum < "$d/body"; printf '\0'
if [ -n "$dig" ]; then "$dig" < "$d/body"; fi; printf '\0'
if [ "$keep" != 1 ]; then cat "$d/body"; fi
exit 0"#;

/// Builds the download command and its stdin.
pub(crate) fn download_command(
    req: &Request,
    tool: Option<&str>,
) -> Result<(String, Vec<u8>), String> {
    let curlrc = curl_config(req)?;
    let wgetrc = wget_config(req)?;
    let flag = |b: bool| if b { "1" } else { "0" };
    let timeout = req.timeout.max(1).to_string();
    let cmd = remote::script(
        &[
            &curlrc.len().to_string(),
            &wgetrc.len().to_string(),
            req.digest.unwrap_or(""),
            req.if_modified_since.as_deref().unwrap_or(""),
            &timeout,
            flag(!req.validate_certs),
            flag(req.body.is_some()),
            &req.method,
            flag(req.follow_redirects),
            flag(req.keep_body),
            flag(req.decompress),
            &(req.url.len() + 1).to_string(),
            tool.unwrap_or(""),
        ],
        DOWNLOAD,
    );
    let mut stdin = curlrc.into_bytes();
    stdin.extend_from_slice(wgetrc.as_bytes());
    stdin.extend_from_slice(req.url.as_bytes());
    stdin.push(b'\n');
    if let Some(b) = &req.body {
        stdin.extend_from_slice(b);
    }
    Ok((cmd, stdin))
}

/// Parses the download script's output; `None` when the host has neither curl nor wget.
pub(crate) fn parse_download(out: &[u8]) -> Result<Option<Response>, String> {
    let mut fr = Frames::new(out);
    let bad = || "unexpected output from the download script".to_string();
    let head = fr.next_record().ok_or_else(bad)?;
    if head == b"N" {
        return Ok(None);
    }
    let tool = String::from_utf8_lossy(head.strip_prefix(b"T").ok_or_else(bad)?).into_owned();
    let text = |r: Option<&[u8]>| r.map(|b| String::from_utf8_lossy(b).into_owned());
    let dir = text(fr.next_record()).ok_or_else(bad)?;
    let rc: i32 = text(fr.next_record())
        .ok_or_else(bad)?
        .trim()
        .parse()
        .map_err(|_| bad())?;
    let w = text(fr.next_record()).ok_or_else(bad)?;
    let hdr = text(fr.next_record()).ok_or_else(bad)?;
    let err = text(fr.next_record()).ok_or_else(bad)?;
    let size: u64 = text(fr.next_record())
        .ok_or_else(bad)?
        .trim()
        .parse()
        .map_err(|_| bad())?;
    let sha1 = fr
        .next_record()
        .and_then(remote::parse_sum)
        .ok_or_else(bad)?;
    let digest = fr.next_record().and_then(remote::parse_sum);
    let rest = fr.remainder();
    let mut resp = Response {
        dir,
        size,
        sha1,
        digest,
        body: (!rest.is_empty() || size == 0).then(|| rest.to_vec()),
        ..Response::default()
    };
    if tool == "curl" {
        let (code, url) = w.split_once('\n').unwrap_or((w.as_str(), ""));
        resp.status = code.trim().parse().unwrap_or(0);
        resp.url = url.to_string();
        resp.headers = last_header_block(&hdr);
        if resp.status == 0 {
            resp.status = -1;
        }
        if rc != 0 {
            resp.error = Some(curl_error(&err, rc));
        }
    } else {
        // wget -S prints every response's headers on stderr, indented by two spaces.
        let indented: String = err
            .lines()
            .filter_map(|l| l.strip_prefix("  "))
            .map(|l| format!("{l}\n"))
            .collect();
        resp.headers = last_header_block(&indented);
        resp.status = last_status(&indented).unwrap_or(-1);
        // exit status 8: the server answered with an error, which is a response, not a failure.
        if rc != 0 && !(rc == 8 && resp.status > 0) {
            let msg: Vec<&str> = err.lines().filter(|l| !l.starts_with("  ")).collect();
            resp.error = Some(format!(
                "wget exited with status {rc}: {}",
                msg.join(" ").trim()
            ));
            if resp.status > 0 && rc != 8 {
                resp.status = -1;
            }
        }
    }
    Ok(Some(resp))
}

fn curl_error(err: &str, rc: i32) -> String {
    let e = err.trim().trim_start_matches("curl: ").to_string();
    if e.is_empty() {
        format!("curl exited with status {rc}")
    } else {
        e
    }
}

fn last_status(block: &str) -> Option<i64> {
    block
        .lines()
        .rfind(|l| l.starts_with("HTTP/"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
}

/// The headers of the last response in a dump of several (redirects, `100 Continue`).
fn last_header_block(dump: &str) -> Vec<(String, String)> {
    let mut headers = Vec::new();
    for line in dump.lines() {
        let line = line.trim_end_matches('\r');
        if line.starts_with("HTTP/") {
            headers.clear();
        } else if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    headers
}

/// Runs a request on the host; a host with neither curl nor wget has it run on the controller
/// (where the body is kept in a local temporary directory: read it with `std::fs`).
pub(crate) async fn http(ctx: &ModuleContext<'_>, req: &Request) -> Result<Response, HttpError> {
    let (cmd, stdin) = download_command(req, None).map_err(HttpError::Invalid)?;
    let out = remote::run(ctx, cmd, Some(stdin.clone())).await?;
    if out.rc != 0 {
        return Err(HttpError::Invalid(
            remote::host_error("cannot run the download", &out).to_string(),
        ));
    }
    if let Some(r) = parse_download(&out.stdout).map_err(HttpError::Invalid)? {
        return Ok(r);
    }
    // Neither tool on the host: the controller downloads with its own curl.
    let (cmd, stdin) = download_command(req, Some("curl")).map_err(HttpError::Invalid)?;
    let local = Connection::Local(LocalConnection::new("localhost"));
    let out: ExecOutput = local.exec(&ExecRequest::new(cmd).with_stdin(stdin)).await?;
    if out.rc != 0 {
        return Err(HttpError::Invalid(
            remote::host_error("cannot download on the controller", &out).to_string(),
        ));
    }
    match parse_download(&out.stdout).map_err(HttpError::Invalid)? {
        Some(mut r) => {
            r.on_controller = true;
            Ok(r)
        }
        None => Err(HttpError::Invalid(
            "the host has neither curl nor wget, and the controller has no curl".into(),
        )),
    }
}

/// Removes a kept body's temporary directory (on the host, or on the controller).
pub(crate) async fn cleanup(
    ctx: &ModuleContext<'_>,
    resp: &Response,
) -> Result<(), ConnectionError> {
    if resp.dir.is_empty() {
        return Ok(());
    }
    if resp.on_controller {
        let _ = std::fs::remove_dir_all(&resp.dir);
        return Ok(());
    }
    let cmd = remote::script(&[&resp.dir], r#"rm -rf -- "$1""#);
    remote::run(ctx, cmd, None).await.map(|_| ())
}

/// A request could not be made at all.
#[derive(Debug)]
pub(crate) enum HttpError {
    /// The host went away.
    Connection(ConnectionError),
    /// Bad input or a broken tool, with the message for the user.
    Invalid(String),
}

impl From<ConnectionError> for HttpError {
    fn from(e: ConnectionError) -> Self {
        HttpError::Connection(e)
    }
}

/// `headers:` as a mapping (or Ansible's legacy `key:value,key:value` string).
pub(crate) fn headers_arg(args: &ModuleArgs) -> Result<Vec<(String, String)>, super::ArgError> {
    match args.get("headers") {
        None => Ok(Vec::new()),
        Some(Json::Object(m)) => Ok(m
            .iter()
            .map(|(k, v)| {
                let v = match v {
                    Json::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (k.clone(), v)
            })
            .collect()),
        Some(Json::String(s)) if s.is_empty() => Ok(Vec::new()),
        Some(Json::String(s)) => s
            .split(',')
            .map(|kv| {
                kv.split_once(':')
                    .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                    .ok_or_else(|| args.invalid("headers", format!("must be a mapping, got '{s}'")))
            })
            .collect(),
        Some(other) => Err(args.invalid("headers", format!("must be a mapping, got {other}"))),
    }
}

/// `url_username`/`url_password` (and their aliases).
pub(crate) fn credentials(args: &ModuleArgs) -> Result<Option<(String, String)>, super::ArgError> {
    let user = match args.get_any(&["url_username", "username"]) {
        Some((n, _)) => args.str(n)?,
        None => None,
    };
    let pass = match args.get_any(&["url_password", "password"]) {
        Some((n, _)) => args.str(n)?,
        None => None,
    };
    Ok(match (user, pass) {
        (Some(u), p) => Some((u, p.unwrap_or_default())),
        (None, Some(p)) => Some((String::new(), p)),
        (None, None) => None,
    })
}

/// Ansible's `url_filename`: the last path segment of a URL, `index.html` when empty.
pub(crate) fn url_filename(url: &str) -> String {
    let no_frag = url.split('#').next().unwrap_or(url);
    let no_query = no_frag.split('?').next().unwrap_or(no_frag);
    let path = match no_query.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("", |i| &rest[i..]),
        None => no_query,
    };
    let name = path.rsplit('/').next().unwrap_or("");
    if name.is_empty() {
        "index.html".to_string()
    } else {
        percent_decode(name)
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Some(v) = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The file name a `Content-Disposition` header gives, without any directory part.
fn disposition_filename(value: &str) -> Option<String> {
    for part in value.split(';') {
        let part = part.trim();
        if let Some(v) = part.strip_prefix("filename=") {
            let v = v.trim().trim_matches('"');
            let base = v.rsplit('/').next().unwrap_or(v);
            if !base.is_empty() {
                return Some(base.to_string());
            }
        }
    }
    None
}

/// Ansible's `parse_digest_lines`: the digest for `filename` in a checksum file (GNU or BSD
/// style lines; a file of a single word is that digest).
pub(crate) fn digest_for(filename: &str, text: &str) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    if lines.len() == 1 && lines[0].split_whitespace().count() == 1 {
        return Some(lines[0].trim().to_string());
    }
    let bsd = regex::Regex::new(r"^(\w+) ?\((?P<path>.+)\) ?= (?P<digest>[\w.]+)$").ok()?;
    let gnu = regex::Regex::new(r"^(?P<digest>[\w.]+)\s+(\*|\./|\.)?(?P<path>.+)$").ok()?;
    for line in lines {
        let (digest, path) = if let Some(c) = bsd.captures(line) {
            (c["digest"].to_string(), c["path"].to_string())
        } else if let Some(c) = gnu.captures(line) {
            (
                c["digest"].to_string(),
                c["path"].trim_start_matches(['.', '/']).to_string(),
            )
        } else {
            continue;
        };
        if path == filename {
            return Some(digest);
        }
    }
    None
}

/// The expected checksum: algorithm and lowercase hex digest.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Checksum {
    algorithm: String,
    tool: &'static str,
    digest: String,
}

/// Probes an existing destination: stat (following links) and the digest with `tool`.
async fn probe_dest(
    ctx: &ModuleContext<'_>,
    dest: &str,
    tool: &str,
) -> Result<(Option<remote::RemoteStat>, Option<String>), ModuleError> {
    let cmd = remote::script(
        &[dest, tool],
        r#"jig_stat "$1" -L || exit 1
if [ -f "$1" ]; then "$2" < "$1" || exit 1; fi"#,
    );
    let out = remote::run(ctx, cmd, None).await?;
    if out.rc != 0 {
        return Ok((None, None));
    }
    let mut fr = Frames::new(&out.stdout);
    let st = fr.stat(dest).ok().flatten().map(|r| r.stat);
    Ok((st, remote::parse_sum(fr.remainder())))
}

fn fail_with(msg: impl Into<String>, base: &ModuleResult) -> ModuleResult {
    let mut r = ModuleResult::failed(msg);
    r.values = base.values.clone();
    r
}

#[async_trait]
impl Module for GetUrl {
    fn name(&self) -> &'static str {
        "get_url"
    }

    async fn run(
        &self,
        args: &ModuleArgs,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        args.check_known(KNOWN)?;
        let url = args.req_str("url")?;
        let dest = args.req_str("dest")?;
        if dest.is_empty() {
            return Err(args.invalid("dest", "must not be empty").into());
        }
        let force = args.bool_or("force", false)?;
        let attrs = remote::attrs_from_args(args)?;
        let timeout = args.int("timeout")?.unwrap_or(10).max(1) as u64;
        let checksum_arg = match (args.str("checksum")?, args.str("sha256sum")?) {
            (Some(c), _) if !c.is_empty() => c,
            (_, Some(s)) if !s.is_empty() => format!("sha256:{s}"),
            _ => String::new(),
        };
        let mut base = ModuleResult::ok();
        base.set("changed", false)
            .set("checksum_dest", Json::Null)
            .set("checksum_src", Json::Null)
            .set("dest", dest.clone())
            .set("elapsed", 0)
            .set("url", url.clone());
        let template = Request {
            url: url.clone(),
            method: "GET".into(),
            headers: headers_arg(args)?,
            user: credentials(args)?,
            body: None,
            timeout,
            validate_certs: args.bool_or("validate_certs", true)?,
            follow_redirects: true,
            decompress: args.bool_or("decompress", true)?,
            if_modified_since: None,
            agent: args
                .str("http_agent")?
                .unwrap_or_else(|| "ansible-httpget".into()),
            digest: None,
            keep_body: false,
        };

        let mut checksum = None;
        if !checksum_arg.is_empty() {
            let Some((algorithm, value)) = checksum_arg.split_once(':') else {
                return Ok(fail_with(
                    "The checksum parameter has to be in format <algorithm>:<checksum>",
                    &base,
                ));
            };
            let Some(tool) = digest_tool(algorithm) else {
                return Ok(fail_with(
                    format!(
                        "Unsupported hash algorithm '{algorithm}' (use md5, sha1, sha224, sha256, \
                         sha384 or sha512)"
                    ),
                    &base,
                ));
            };
            let mut value = value.to_string();
            if ["http://", "https://", "ftp://", "file:/"]
                .iter()
                .any(|s| value.starts_with(s))
            {
                let req = Request {
                    url: value.clone(),
                    ..template.clone()
                };
                let resp = match http(ctx, &req).await {
                    Ok(r) => r,
                    Err(HttpError::Connection(e)) => return Err(e.into()),
                    Err(HttpError::Invalid(m)) => return Ok(fail_with(m, &base)),
                };
                if resp.error.is_some() || resp.status != 200 {
                    let mut r =
                        fail_with(format!("Request failed: {} ({value})", resp.msg()), &base);
                    r.set("status_code", resp.status);
                    return Ok(r);
                }
                let text =
                    String::from_utf8_lossy(resp.body.as_deref().unwrap_or(b"")).into_owned();
                let filename = url_filename(&url);
                match digest_for(&filename, &text) {
                    Some(d) => value = d,
                    None => {
                        return Ok(ModuleResult::failed(format!(
                            "Unable to find a checksum for file '{filename}' in '{value}'"
                        )));
                    }
                }
            }
            let digest: String = value
                .chars()
                .filter(|c| c.is_alphanumeric() || *c == '_')
                .collect::<String>()
                .to_lowercase();
            if digest.is_empty() || !digest.chars().all(|c| c.is_ascii_hexdigit()) {
                return Ok(fail_with("The checksum format is invalid", &base));
            }
            checksum = Some(Checksum {
                algorithm: algorithm.to_string(),
                tool,
                digest,
            });
        }

        // With a checksum that the destination already has, nothing is downloaded.
        if let Some(c) = &checksum
            && !force
        {
            let (st, digest) = probe_dest(ctx, &dest, c.tool).await?;
            if let Some(st) = st
                && st.kind == FileKind::File
                && digest.as_deref() == Some(c.digest.as_str())
            {
                let plan = match remote::attr_changes(&st, &attrs) {
                    Ok(p) => p,
                    Err(e) => return Ok(fail_with(e.to_string(), &base)),
                };
                let msg = if plan.is_empty() {
                    "file already exists"
                } else {
                    "file already exists but file attributes changed"
                };
                base.msg = Some(msg.into());
                base.values.remove("changed");
                let mut r = copy::attrs_only(ctx, &dest, &st, &plan, base).await?;
                r.values.remove("state");
                return Ok(r);
            }
        }

        let started = Instant::now();
        let req = Request {
            if_modified_since: (!force).then(|| dest.clone()),
            digest: checksum.as_ref().map(|c| c.tool),
            keep_body: true,
            ..template
        };
        let resp = match http(ctx, &req).await {
            Ok(r) => r,
            Err(HttpError::Connection(e)) => return Err(e.into()),
            Err(HttpError::Invalid(m)) => return Ok(fail_with(m, &base)),
        };
        let outcome = self
            .place(ctx, args, &dest, &resp, checksum, base, started)
            .await;
        cleanup(ctx, &resp).await?;
        outcome
    }
}

impl GetUrl {
    /// Everything after the download: status, checksum, then the file placed by `copy::put`.
    #[allow(clippy::too_many_arguments)]
    async fn place(
        &self,
        ctx: &ModuleContext<'_>,
        args: &ModuleArgs,
        dest: &str,
        resp: &Response,
        checksum: Option<Checksum>,
        mut base: ModuleResult,
        started: Instant,
    ) -> Result<ModuleResult, ModuleError> {
        base.set("elapsed", started.elapsed().as_secs());
        if resp.status == 304 {
            base.values.remove("checksum_dest");
            base.values.remove("checksum_src");
            base.set("status_code", 304);
            base.msg = Some(resp.msg());
            base.values.remove("changed");
            return Ok(base);
        }
        if let Some(e) = &resp.error {
            let mut r = fail_with(format!("Request failed: {e}"), &base);
            r.set("status_code", resp.status);
            return Ok(r);
        }
        if resp.status != 200 {
            let mut r = fail_with("Request failed", &base);
            r.set("status_code", resp.status)
                .set("response", resp.msg());
            return Ok(r);
        }
        let filename = resp
            .header("content-disposition")
            .and_then(disposition_filename)
            .unwrap_or_else(|| {
                let url = base.values.get("url").and_then(Json::as_str).unwrap_or("");
                url_filename(if resp.url.is_empty() { url } else { &resp.url })
            });
        base.set("checksum_src", resp.sha1.clone());
        if let Some(c) = &checksum
            && resp.digest.as_deref() != Some(c.digest.as_str())
        {
            return Ok(fail_with(
                format!(
                    "The checksum for {} did not match {}; it was {}.",
                    resp.body_path(),
                    c.digest,
                    resp.digest.as_deref().unwrap_or("unknown")
                ),
                &base,
            ));
        }
        let body_path = resp.body_path();
        let local_body;
        let content = if resp.on_controller {
            local_body = match std::fs::read(&body_path) {
                Ok(b) => b,
                Err(e) => {
                    return Ok(fail_with(
                        format!("cannot read the download on the controller: {e}"),
                        &base,
                    ));
                }
            };
            Content::Bytes(&local_body)
        } else {
            Content::Remote(&body_path)
        };
        let spec = PutSpec {
            dest,
            basename: Some(&filename),
            content,
            attrs: remote::attrs_from_args(args)?,
            source_mode: None,
            directory_mode: None,
            write: WriteOptions {
                backup: args.bool_or("backup", false)?,
                validate: None,
                unsafe_writes: args.bool_or("unsafe_writes", false)?,
            },
            force: true,
            follow: true,
            src_label: Some(body_path.clone()),
        };
        // The old content's sha1, for checksum_dest, comes from put's own probe: the sha256 it
        // compares is enough to tell whether the content changes.
        let mut r = copy::put(ctx, &spec).await?;
        if r.failed {
            return Ok(r);
        }
        let final_dest = r
            .values
            .get("dest")
            .and_then(Json::as_str)
            .unwrap_or(dest)
            .to_string();
        // put names the file `path` only when the content stayed the same.
        let content_changed = !r.values.contains_key("path");
        r.values.remove("path");
        r.values.remove("checksum");
        for (k, v) in base.values {
            if k != "dest" && !r.values.contains_key(&k) {
                r.values.insert(k, v);
            }
        }
        r.set("dest", final_dest);
        // checksum_dest: the sha1 of what was there, which equals the new one when unchanged.
        if !content_changed {
            r.set("checksum_dest", resp.sha1.clone());
        }
        r.set("status_code", resp.status);
        r.set("src", body_path);
        r.msg = Some(resp.msg());
        Ok(r)
    }
}

#[cfg(test)]
pub(crate) mod testserver {
    //! A tiny HTTP/1.1 server on loopback for the transfer modules' tests.

    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;
    use std::sync::{Arc, Mutex};

    /// One request as the server saw it.
    #[derive(Clone, Debug, Default)]
    pub struct Seen {
        pub method: String,
        pub path: String,
        pub headers: Vec<(String, String)>,
        pub body: Vec<u8>,
    }

    impl Seen {
        pub fn header(&self, name: &str) -> Option<&str> {
            self.headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        }
    }

    /// A reply: status, headers, body.
    pub type Reply = (u16, Vec<(String, String)>, Vec<u8>);
    type Handler = dyn Fn(&Seen) -> Reply + Send + Sync;

    /// The server; it runs until the test process ends.
    pub struct Server {
        pub base: String,
        pub seen: Arc<Mutex<Vec<Seen>>>,
    }

    impl Server {
        pub fn start(
            addr: &str,
            handler: impl Fn(&Seen) -> Reply + Send + Sync + 'static,
        ) -> Server {
            let listener = TcpListener::bind(addr).unwrap();
            let base = format!("http://{}", listener.local_addr().unwrap());
            let seen = Arc::new(Mutex::new(Vec::new()));
            let log = seen.clone();
            let handler: Arc<Handler> = Arc::new(handler);
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    let Ok(mut stream) = stream else { continue };
                    let log = log.clone();
                    let handler = handler.clone();
                    std::thread::spawn(move || {
                        let mut reader = BufReader::new(stream.try_clone().unwrap());
                        let mut line = String::new();
                        if reader.read_line(&mut line).is_err() {
                            return;
                        }
                        let mut parts = line.split_whitespace();
                        let mut req = Seen {
                            method: parts.next().unwrap_or("").to_string(),
                            path: parts.next().unwrap_or("").to_string(),
                            ..Seen::default()
                        };
                        loop {
                            let mut h = String::new();
                            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                                break;
                            }
                            let h = h.trim_end();
                            if h.is_empty() {
                                break;
                            }
                            if let Some((k, v)) = h.split_once(':') {
                                req.headers
                                    .push((k.trim().to_string(), v.trim().to_string()));
                            }
                        }
                        let len: usize = req
                            .header("content-length")
                            .and_then(|v| v.parse().ok())
                            .unwrap_or(0);
                        let mut body = vec![0; len];
                        let _ = reader.read_exact(&mut body);
                        req.body = body;
                        let (status, headers, body) = handler(&req);
                        log.lock().unwrap().push(req.clone());
                        let mut out = format!("HTTP/1.1 {status} X\r\n").into_bytes();
                        for (k, v) in &headers {
                            out.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
                        }
                        let body = if req.method == "HEAD" {
                            Vec::new()
                        } else {
                            body
                        };
                        out.extend_from_slice(
                            format!(
                                "Content-Length: {}\r\nConnection: close\r\n\r\n",
                                body.len()
                            )
                            .as_bytes(),
                        );
                        out.extend_from_slice(&body);
                        let _ = stream.write_all(&out);
                    });
                }
            });
            Server { base, seen }
        }

        /// Requests for `path` so far.
        pub fn count(&self, path: &str) -> usize {
            self.seen
                .lock()
                .unwrap()
                .iter()
                .filter(|s| s.path == path)
                .count()
        }

        pub fn last(&self, path: &str) -> Seen {
            self.seen
                .lock()
                .unwrap()
                .iter()
                .rev()
                .find(|s| s.path == path)
                .cloned()
                .unwrap()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testserver::Server;
    use super::*;
    use crate::modules::remote::testutil::{Env, HOSTILE, HOSTILE_TEXT, assert_not_pwned};
    use serde_json::json;
    use sha2::{Digest, Sha256};
    use std::os::unix::fs::PermissionsExt;

    fn margs(v: Json) -> ModuleArgs {
        ModuleArgs::new(
            "get_url",
            v.as_object().unwrap().clone().into_iter().collect(),
        )
    }

    fn server() -> Server {
        Server::start("127.0.0.1:0", |req| {
            let body = HOSTILE_TEXT.as_bytes().to_vec();
            match req.path.as_str() {
                "/file.txt" => (200, vec![], body),
                "/dl?id=1" => (
                    200,
                    vec![(
                        "Content-Disposition".into(),
                        "attachment; filename=\"named ünï.txt\"".into(),
                    )],
                    b"named\n".to_vec(),
                ),
                "/sums" => (
                    200,
                    vec![],
                    format!(
                        "{}  other.txt\n{}  file.txt\n",
                        "0".repeat(64),
                        hex::encode(Sha256::digest(HOSTILE_TEXT.as_bytes()))
                    )
                    .into_bytes(),
                ),
                "/auth" => {
                    let ok = req.header("authorization") == Some("Basic dXNlciAncSc6cCRzcyAidyI=")
                        && req.header("x-token") == Some("tok $(x) 'q'");
                    if ok {
                        (200, vec![], b"secret\n".to_vec())
                    } else {
                        (401, vec![], b"no\n".to_vec())
                    }
                }
                "/redirect" => (302, vec![("Location".into(), "/file.txt".into())], vec![]),
                _ => (404, vec![], b"missing\n".to_vec()),
            }
        })
    }

    async fn run(env: &Env, check: bool, v: Json) -> ModuleResult {
        GetUrl.run(&margs(v), &env.ctx(check, true)).await.unwrap()
    }

    #[tokio::test]
    async fn downloads_once_then_stays_unchanged() {
        let srv = server();
        let tmp = tempfile::tempdir().unwrap();
        let env = Env::new(tmp.path());
        let dest = tmp.path().join(HOSTILE);
        let d = dest.to_str().unwrap();
        let a = json!({"url": format!("{}/file.txt", srv.base), "dest": d, "mode": "0640"});
        // Check mode on a fresh destination: a change, nothing written.
        let r = run(&env, true, a.clone()).await;
        assert!(r.changed && !r.failed, "{r:?}");
        assert!(!dest.exists());
        let r = run(&env, false, a.clone()).await;
        assert!(r.changed && !r.failed, "{r:?}");
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), HOSTILE_TEXT);
        assert_eq!(
            std::fs::metadata(&dest).unwrap().permissions().mode() & 0o777,
            0o640
        );
        assert_eq!(r.values["status_code"], 200);
        assert_eq!(r.values["dest"], d);
        assert_eq!(r.values["mode"], "0640");
        assert_eq!(
            r.msg.as_deref(),
            Some(format!("OK ({} bytes)", HOSTILE_TEXT.len()).as_str())
        );
        let sha1 = hex::encode(<sha1::Sha1 as sha1::Digest>::digest(
            HOSTILE_TEXT.as_bytes(),
        ));
        assert_eq!(r.values["checksum_src"], sha1.as_str());
        // Second run, real and check: the same content is no change.
        for check in [true, false] {
            let r = run(&env, check, a.clone()).await;
            assert!(!r.changed && !r.failed, "{r:?}");
            assert_eq!(r.values["checksum_dest"], sha1.as_str());
        }
        // A different mode alone is a change, predicted in check mode.
        let mut b = a.clone();
        b["mode"] = json!("0600");
        let r = run(&env, true, b.clone()).await;
        assert!(r.changed);
        assert_eq!(
            std::fs::metadata(&dest).unwrap().permissions().mode() & 0o777,
            0o640
        );
        let r = run(&env, false, b).await;
        assert!(r.changed);
        assert_eq!(
            std::fs::metadata(&dest).unwrap().permissions().mode() & 0o777,
            0o600
        );
        // Redirects are followed; no temporary directory is left behind.
        let other = tmp.path().join("via redirect");
        let r = run(
            &env,
            false,
            json!({"url": format!("{}/redirect", srv.base), "dest": other.to_str().unwrap()}),
        )
        .await;
        assert!(r.changed, "{r:?}");
        assert_eq!(std::fs::read_to_string(&other).unwrap(), HOSTILE_TEXT);
        let src = r.values["src"].as_str().unwrap();
        assert!(!std::path::Path::new(src).exists(), "{src}");
        assert_not_pwned();
    }

    #[tokio::test]
    async fn checksums_skip_or_refuse_downloads() {
        let srv = server();
        let tmp = tempfile::tempdir().unwrap();
        let env = Env::new(tmp.path());
        let dest = tmp.path().join("f.txt");
        let d = dest.to_str().unwrap();
        let good = hex::encode(Sha256::digest(HOSTILE_TEXT.as_bytes()));
        let url = format!("{}/file.txt", srv.base);
        let r = run(
            &env,
            false,
            json!({"url": url, "dest": d, "checksum": format!("sha256:{good}")}),
        )
        .await;
        assert!(r.changed && !r.failed, "{r:?}");
        let before = srv.count("/file.txt");
        let r = run(
            &env,
            false,
            json!({"url": url, "dest": d, "checksum": format!("sha256:{good}")}),
        )
        .await;
        assert!(!r.changed && !r.failed, "{r:?}");
        assert_eq!(r.msg.as_deref(), Some("file already exists"));
        assert_eq!(
            srv.count("/file.txt"),
            before,
            "a matching checksum downloads nothing"
        );
        // The checksum from a checksum file, found by the URL's file name.
        std::fs::remove_file(&dest).unwrap();
        let r = run(
            &env,
            false,
            json!({"url": url, "dest": d, "checksum": format!("sha256:{}/sums", srv.base)}),
        )
        .await;
        assert!(r.changed && !r.failed, "{r:?}");
        // A wrong checksum fails and leaves the destination alone.
        std::fs::write(&dest, "old\n").unwrap();
        let bad = "sha256:".to_string() + &"ab".repeat(32);
        for check in [true, false] {
            let r = run(&env, check, json!({"url": url, "dest": d, "checksum": bad})).await;
            assert!(r.failed, "{r:?}");
            assert!(r.msg.as_deref().unwrap().contains("did not match"), "{r:?}");
        }
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), "old\n");
        let r = run(
            &env,
            false,
            json!({"url": url, "dest": d, "checksum": "nocolon"}),
        )
        .await;
        assert!(r.failed && r.msg.unwrap().contains("<algorithm>:<checksum>"));
    }

    #[tokio::test]
    async fn directories_credentials_and_errors() {
        let srv = server();
        let tmp = tempfile::tempdir().unwrap();
        let env = Env::new(tmp.path());
        let dir = tmp.path().join("downloads");
        std::fs::create_dir(&dir).unwrap();
        // A directory dest takes Content-Disposition's file name.
        let r = run(
            &env,
            false,
            json!({"url": format!("{}/dl?id=1", srv.base), "dest": dir.to_str().unwrap()}),
        )
        .await;
        assert!(r.changed && !r.failed, "{r:?}");
        let named = dir.join("named ünï.txt");
        assert_eq!(std::fs::read_to_string(&named).unwrap(), "named\n");
        assert_eq!(r.values["dest"], named.to_str().unwrap());
        // Credentials and headers reach the server.
        let dest = tmp.path().join("auth");
        let r = run(
            &env,
            false,
            json!({"url": format!("{}/auth", srv.base), "dest": dest.to_str().unwrap(),
                   "url_username": "user 'q'", "url_password": "p$ss \"w\"",
                   "force_basic_auth": true, "headers": {"X-Token": "tok $(x) 'q'"}}),
        )
        .await;
        assert!(r.changed && !r.failed, "{r:?}");
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), "secret\n");
        // A 404 fails with the status.
        let r = run(
            &env,
            false,
            json!({"url": format!("{}/nothing", srv.base), "dest": tmp.path().join("n").to_str().unwrap()}),
        )
        .await;
        assert!(r.failed);
        assert_eq!(r.values["status_code"], 404);
        assert!(!tmp.path().join("n").exists());
        // Nobody listening: the transfer error.
        let r = run(
            &env,
            false,
            json!({"url": "http://127.0.0.1:9/x", "dest": tmp.path().join("n").to_str().unwrap(), "timeout": 2}),
        )
        .await;
        assert!(
            r.failed && r.msg.as_deref().unwrap().starts_with("Request failed"),
            "{r:?}"
        );
        assert_not_pwned();
    }

    #[test]
    fn secrets_stay_out_of_the_command_line() {
        let req = Request {
            url: "http://u:urlpass@h/x".into(),
            method: "GET".into(),
            headers: vec![("Authorization".into(), "Bearer hdrsecret".into())],
            user: Some(("me".into(), "pa\"ss $(touch x)".into())),
            ..Request::default()
        };
        let (cmd, stdin) = download_command(&req, None).unwrap();
        for secret in ["urlpass", "hdrsecret", "pa\"ss"] {
            assert!(!cmd.contains(secret), "{secret} in {cmd}");
        }
        let stdin = String::from_utf8(stdin).unwrap();
        assert!(
            stdin.contains(r#"user = "me:pa\"ss $(touch x)""#),
            "{stdin}"
        );
        assert!(stdin.contains("header = \"Authorization: Bearer hdrsecret\""));
        assert!(stdin.contains("http_password = pa\"ss $(touch x)"));
        let bad = Request {
            headers: vec![("X".into(), "a\nInjected: 1".into())],
            ..req
        };
        assert!(download_command(&bad, None).is_err());
    }

    #[tokio::test]
    async fn wget_downloads_like_curl() {
        if std::process::Command::new("wget")
            .arg("--version")
            .output()
            .is_err()
        {
            eprintln!("skipped: no wget here");
            return;
        }
        let srv = server();
        let tmp = tempfile::tempdir().unwrap();
        let env = Env::new(tmp.path());
        let ctx = env.ctx(false, false);
        for (path, status, body) in [
            ("/file.txt", 200, HOSTILE_TEXT.as_bytes().to_vec()),
            ("/nothing", 404, b"missing\n".to_vec()),
            ("/redirect", 200, HOSTILE_TEXT.as_bytes().to_vec()),
        ] {
            let req = Request {
                url: format!("{}{path}", srv.base),
                method: "GET".into(),
                follow_redirects: true,
                timeout: 5,
                headers: vec![("X-Token".into(), "tok $(x) 'q'".into())],
                user: Some(("user 'q'".into(), "p$ss \"w\"".into())),
                ..Request::default()
            };
            let (cmd, stdin) = download_command(&req, Some("wget")).unwrap();
            let out = remote::run(&ctx, cmd, Some(stdin)).await.unwrap();
            let resp = parse_download(&out.stdout).unwrap().unwrap();
            assert_eq!(resp.status, status, "{path}: {resp:?}");
            assert_eq!(resp.body.as_deref(), Some(body.as_slice()), "{path}");
            assert!(resp.error.is_none(), "{resp:?}");
            assert!(!std::path::Path::new(&resp.dir).exists());
        }
        let seen = srv.last("/file.txt");
        assert_eq!(seen.header("x-token"), Some("tok $(x) 'q'"));
        assert_eq!(
            seen.header("authorization"),
            Some("Basic dXNlciAncSc6cCRzcyAidyI=")
        );
        assert_not_pwned();
    }

    #[test]
    fn names_and_digest_files() {
        assert_eq!(url_filename("http://h/a/b%20c.tgz?x=1"), "b c.tgz");
        assert_eq!(url_filename("http://h/"), "index.html");
        assert_eq!(url_filename("http://h"), "index.html");
        assert_eq!(
            disposition_filename("attachment; filename=\"../x.tgz\""),
            Some("x.tgz".into())
        );
        let gnu = "abc  ./x.tgz\ndef *y.tgz\n";
        assert_eq!(digest_for("x.tgz", gnu), Some("abc".into()));
        assert_eq!(digest_for("y.tgz", gnu), Some("def".into()));
        assert_eq!(
            digest_for("x.tgz", "SHA256 (x.tgz) = 0123\n"),
            Some("0123".into())
        );
        assert_eq!(digest_for("z", "onlyone\n"), Some("onlyone".into()));
        assert_eq!(digest_for("z", gnu), None);
    }
}

//! The `uri` module: an HTTP request made by the host (its curl or wget; the controller's curl
//! when it has neither), with the response as Ansible's result keys.
//!
//! The request goes through [`get_url::http`]: URL, headers, credentials and body travel on
//! stdin, never in argv. `body_format: json` sends `json.dumps` of a structured body,
//! `form-urlencoded` a URL-encoded mapping, each with its `Content-Type` unless one is given.
//! The result has `status`, `url`, `msg`, `redirected`, `elapsed`, every response header as a
//! key (lowercase, `-` as `_`), `json` for JSON responses and `content` with
//! `return_content`; a status outside `status_code` fails the task. With `dest` the body is
//! placed like a `copy` (and changes only when it differs). `creates`/`removes` are tested on
//! the host first. In check mode the request is not made (it may change the server), as in
//! ansible-core, which skips the task, except a GET or HEAD with `dest`: it is made and the
//! file compared, so that check mode predicts the file's change.

use async_trait::async_trait;
use serde_json::{Map, Value as Json};

use super::copy::{self, Content, PutSpec};
use super::get_url::{self, HttpError, Request};
use super::remote::{self, WriteOptions};
use super::{Module, ModuleArgs, ModuleContext, ModuleError, ModuleResult};
use crate::pyfmt::{Dumps, dumps};

/// The `uri` module.
pub struct Uri;

const KNOWN: &[&str] = &[
    "url",
    "method",
    "body",
    "body_format",
    "headers",
    "status_code",
    "return_content",
    "dest",
    "creates",
    "removes",
    "follow_redirects",
    "timeout",
    "url_username",
    "user",
    "url_password",
    "password",
    "force_basic_auth",
    "validate_certs",
    "http_agent",
    "use_proxy",
    "decompress",
    "unredirected_headers",
    "ca_path",
    "client_cert",
    "client_key",
    "ciphers",
    "use_netrc",
    "use_gssapi",
    "force",
    "mode",
    "owner",
    "group",
    "unsafe_writes",
    "attributes",
    "seuser",
    "serole",
    "setype",
    "selevel",
];

/// Python's `urllib.parse.quote_plus`.
fn quote_plus(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn scalar(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        Json::Bool(b) => if *b { "True" } else { "False" }.into(),
        Json::Null => "None".into(),
        other => other.to_string(),
    }
}

/// Ansible's `form_urlencoded`: a mapping (or a list of pairs) as `k=v&...`; list values
/// repeat the key.
fn form_urlencoded(body: &Json) -> Result<String, String> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    match body {
        Json::Object(m) => {
            for (k, v) in m {
                match v {
                    Json::Array(items) => {
                        pairs.extend(items.iter().map(|i| (k.clone(), scalar(i))))
                    }
                    other => pairs.push((k.clone(), scalar(other))),
                }
            }
        }
        Json::Array(items) => {
            for i in items {
                match i {
                    Json::Array(kv) if kv.len() == 2 => {
                        pairs.push((scalar(&kv[0]), scalar(&kv[1])))
                    }
                    other => return Err(format!("cannot use {other} as a key/value pair")),
                }
            }
        }
        other => return Err(format!("expected a mapping, got {other}")),
    }
    Ok(pairs
        .iter()
        .map(|(k, v)| format!("{}={}", quote_plus(k), quote_plus(v)))
        .collect::<Vec<_>>()
        .join("&"))
}

/// The `msg` of a response as ansible-core's `fetch_url` words it: urllib answers every 2xx
/// with `OK (<Content-Length> bytes)` and raises `HTTP Error <code>: <reason>` for the rest.
fn response_msg(resp: &get_url::Response) -> String {
    if resp.error.is_none() && (200..300).contains(&resp.status) {
        format!(
            "OK ({} bytes)",
            resp.header("content-length").unwrap_or("unknown")
        )
    } else {
        resp.msg()
    }
}

/// Whether a Content-Type is JSON (`application/json`, `…+json`).
fn is_json(content_type: &str) -> bool {
    let main = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let sub = main.split('/').nth(1).unwrap_or("");
    let sub = sub.rsplit('+').next().unwrap_or(sub);
    ["json", "javascript"].contains(&sub)
}

#[async_trait]
impl Module for Uri {
    fn name(&self) -> &'static str {
        "uri"
    }

    async fn run(
        &self,
        args: &ModuleArgs,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        args.check_known(KNOWN)?;
        let url = args.req_str("url")?;
        let method = args
            .str("method")?
            .unwrap_or_else(|| "GET".into())
            .to_uppercase();
        if method.is_empty() || !method.chars().all(|c| c.is_ascii_uppercase()) {
            return Ok(ModuleResult::failed(
                "Parameter 'method' needs to be a single word in uppercase, like GET or POST.",
            ));
        }
        let body_format = args
            .str("body_format")?
            .unwrap_or_else(|| "raw".into())
            .to_lowercase();
        let mut headers = get_url::headers_arg(args)?;
        let has_ct = headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-type"));
        let body = match (args.get("body"), body_format.as_str()) {
            (None, _) => None,
            (Some(b), "json") => {
                if !has_ct {
                    headers.push(("Content-Type".into(), "application/json".into()));
                }
                Some(match b {
                    Json::String(s) => s.clone(),
                    other => dumps(
                        other,
                        Dumps {
                            ensure_ascii: true,
                            ..Dumps::default()
                        },
                    ),
                })
            }
            (Some(b), "form-urlencoded") => {
                if !has_ct {
                    headers.push((
                        "Content-Type".into(),
                        "application/x-www-form-urlencoded".into(),
                    ));
                }
                Some(match b {
                    Json::String(s) => s.clone(),
                    other => form_urlencoded(other).map_err(|e| {
                        args.invalid(
                            "body",
                            format!("failed to parse body as form_urlencoded: {e}"),
                        )
                    })?,
                })
            }
            (Some(b), "raw") => Some(scalar(b)),
            (Some(_), other) => {
                return Err(args
                    .invalid(
                        "body_format",
                        format!("must be one of raw, json, form-urlencoded; got '{other}'"),
                    )
                    .into());
            }
        };
        let status_codes: Vec<i64> = match args.get("status_code") {
            None => vec![200],
            Some(Json::Array(items)) => items
                .iter()
                .map(|i| match i {
                    Json::Number(n) => n.as_i64(),
                    Json::String(s) => s.trim().parse().ok(),
                    _ => None,
                })
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| args.invalid("status_code", "must be a list of integers"))?,
            Some(_) => vec![
                args.int("status_code")?
                    .ok_or_else(|| args.invalid("status_code", "must be an integer"))?,
            ],
        };
        let follow = match args
            .str("follow_redirects")?
            .unwrap_or_else(|| "safe".into())
            .as_str()
        {
            "all" | "yes" | "urllib2" => true,
            "no" | "none" => false,
            _ => method == "GET" || method == "HEAD",
        };
        let return_content = args.bool_or("return_content", false)?;
        let dest = args.str("dest")?.filter(|d| !d.is_empty());

        // creates/removes are tested on the host.
        for (name, wants) in [("creates", true), ("removes", false)] {
            if let Some(p) = args.str(name)?.filter(|s| !s.is_empty()) {
                let exists = remote::stat(ctx, &p, true).await?.is_some();
                if exists == wants {
                    let mut r = ModuleResult::ok();
                    let why = if wants { "exists" } else { "does not exist" };
                    r.set("stdout", format!("skipped, since '{p}' {why}"));
                    return Ok(r);
                }
            }
        }
        // A GET or HEAD to a file is safe to repeat, so check mode makes it to predict the
        // file's change; any other request is not made.
        let safe = matches!(method.as_str(), "GET" | "HEAD");
        if ctx.check_mode && !(safe && dest.is_some()) {
            let mut r = ModuleResult::ok();
            r.skipped = true;
            r.msg = Some("the request is not made in check mode (it may change the server)".into());
            return Ok(r);
        }

        let req = Request {
            url: url.clone(),
            method: method.clone(),
            headers,
            user: get_url::credentials(args)?,
            body: body.map(String::into_bytes),
            timeout: args.int("timeout")?.unwrap_or(30).max(1) as u64,
            validate_certs: args.bool_or("validate_certs", true)?,
            follow_redirects: follow,
            decompress: args.bool_or("decompress", true)?,
            agent: args
                .str("http_agent")?
                .unwrap_or_else(|| "ansible-httpget".into()),
            ..Request::default()
        };
        let started = std::time::Instant::now();
        let resp = match get_url::http(ctx, &req).await {
            Ok(r) => r,
            Err(HttpError::Connection(e)) => return Err(e.into()),
            Err(HttpError::Invalid(m)) => return Ok(ModuleResult::failed(m)),
        };
        let mut r = ModuleResult::ok();
        let mut values = Map::new();
        for (k, v) in &resp.headers {
            values.insert(k.replace('-', "_"), Json::String(v.clone()));
        }
        let final_url = if resp.url.is_empty() {
            url.clone()
        } else {
            resp.url.clone()
        };
        values.insert("redirected".into(), (final_url != url).into());
        values.insert("url".into(), final_url.into());
        values.insert("status".into(), resp.status.into());
        values.insert("elapsed".into(), started.elapsed().as_secs().into());
        values.insert("cookies".into(), Json::Object(Map::new()));
        values.insert("cookies_string".into(), "".into());
        r.values = values;
        if let Some(e) = &resp.error {
            r.failed = true;
            r.msg = Some(format!(
                "Status code was -1 and not {status_codes:?}: Request failed: {e}"
            ));
            r.set("status", -1);
            return Ok(r);
        }
        let content = resp.body.clone().unwrap_or_default();
        let text = String::from_utf8_lossy(&content).into_owned();
        if resp.header("content-type").is_some_and(is_json)
            && let Ok(js) = serde_json::from_str::<Json>(&text)
        {
            r.set("json", js);
        }
        if return_content {
            r.set("content", text);
        }
        r.msg = Some(response_msg(&resp));
        if !status_codes.contains(&resp.status) {
            r.failed = true;
            r.msg = Some(format!(
                "Status code was {} and not {status_codes:?}: {}",
                resp.status,
                response_msg(&resp)
            ));
            return Ok(r);
        }
        if let Some(d) = dest
            && resp.status != 304
        {
            let filename = get_url::url_filename(&url);
            let spec = PutSpec {
                dest: &d,
                basename: Some(&filename),
                content: Content::Bytes(&content),
                attrs: remote::attrs_from_args(args)?,
                source_mode: None,
                directory_mode: None,
                write: WriteOptions {
                    backup: false,
                    validate: None,
                    unsafe_writes: args.bool_or("unsafe_writes", false)?,
                },
                force: true,
                follow: true,
                src_label: None,
            };
            let placed = copy::put(ctx, &spec).await?;
            if placed.failed {
                return Ok(placed);
            }
            r.changed = placed.changed;
            r.diffs = placed.diffs;
            let path = placed
                .values
                .get("dest")
                .cloned()
                .unwrap_or(Json::String(d));
            r.set("path", path);
        }
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::get_url::testserver::Server;
    use crate::modules::remote::testutil::{Env, HOSTILE, assert_not_pwned};
    use serde_json::json;

    fn margs(v: Json) -> ModuleArgs {
        ModuleArgs::new("uri", v.as_object().unwrap().clone().into_iter().collect())
    }

    fn server() -> Server {
        Server::start("127.0.0.1:0", |req| match req.path.as_str() {
            "/api" => (
                if req.method == "POST" { 201 } else { 200 },
                vec![
                    ("Content-Type".into(), "application/json".into()),
                    ("X-Request-Id".into(), "abc".into()),
                ],
                format!(
                    "{{\"method\": \"{}\", \"type\": {:?}, \"body\": {:?}}}",
                    req.method,
                    req.header("content-type").unwrap_or(""),
                    String::from_utf8_lossy(&req.body)
                )
                .into_bytes(),
            ),
            "/text" => (
                200,
                vec![("Content-Type".into(), "text/plain".into())],
                "plain ü\n".as_bytes().to_vec(),
            ),
            "/old" => (301, vec![("Location".into(), "/text".into())], vec![]),
            _ => (404, vec![], b"nope".to_vec()),
        })
    }

    #[tokio::test]
    async fn requests_and_responses() {
        let srv = server();
        let tmp = tempfile::tempdir().unwrap();
        let env = Env::new(tmp.path());
        let ctx = env.ctx(false, false);
        let run = |v: Json| {
            let ctx = &ctx;
            async move { Uri.run(&margs(v), ctx).await.unwrap() }
        };
        let r = run(json!({"url": format!("{}/api", srv.base)})).await;
        assert!(!r.failed && !r.changed, "{r:?}");
        assert_eq!(r.values["status"], 200);
        assert_eq!(r.values["json"]["method"], "GET");
        assert_eq!(r.values["x_request_id"], "abc");
        assert_eq!(r.values["content_type"], "application/json");
        assert!(r.values.get("content").is_none());
        // A JSON body, dumped as Python does, with its content type.
        let r = run(json!({"url": format!("{}/api", srv.base), "method": "POST",
                           "body_format": "json", "body": {"name": HOSTILE, "n": [1, 2]},
                           "status_code": [200, 201]}))
        .await;
        assert!(!r.failed, "{r:?}");
        assert_eq!(r.values["status"], 201);
        assert_eq!(r.values["json"]["type"], "application/json");
        let sent: Json = serde_json::from_str(r.values["json"]["body"].as_str().unwrap()).unwrap();
        assert_eq!(sent["name"], HOSTILE);
        // Sent as Python's json.dumps (ASCII escapes); a 201 is "OK" as urllib words it.
        assert!(
            r.values["json"]["body"].as_str().unwrap().is_ascii(),
            "{r:?}"
        );
        assert!(r.msg.as_deref().unwrap().starts_with("OK ("), "{r:?}");
        // Form bodies.
        let r = run(json!({"url": format!("{}/api", srv.base), "method": "PUT",
                           "body_format": "form-urlencoded", "body": {"a b": "c&d", "e": ["1", "2"]}}))
        .await;
        assert_eq!(r.values["json"]["body"], "a+b=c%26d&e=1&e=2");
        assert_eq!(
            r.values["json"]["type"],
            "application/x-www-form-urlencoded"
        );
        // Redirects (GET follows), content, unexpected status.
        let r = run(json!({"url": format!("{}/old", srv.base), "return_content": true})).await;
        assert_eq!(r.values["content"], "plain ü\n");
        assert_eq!(r.values["redirected"], true);
        let r = run(
            json!({"url": format!("{}/old", srv.base), "follow_redirects": "none",
                           "status_code": 301}),
        )
        .await;
        assert!(!r.failed, "{r:?}");
        let r = run(json!({"url": format!("{}/missing", srv.base)})).await;
        assert!(
            r.failed && r.msg.as_deref().unwrap().starts_with("Status code was 404"),
            "{r:?}"
        );
        // dest: written once, unchanged after.
        let dest = tmp.path().join("saved $(x).txt");
        let d = dest.to_str().unwrap();
        let a = json!({"url": format!("{}/text", srv.base), "dest": d, "mode": "0600"});
        assert!(run(a.clone()).await.changed);
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), "plain ü\n");
        assert!(!run(a.clone()).await.changed);
        // creates skips; check mode makes no request.
        let r = run(json!({"url": format!("{}/api", srv.base), "creates": d})).await;
        assert!(r.values["stdout"].as_str().unwrap().contains("skipped"));
        let before = srv.count("/api");
        let r = Uri
            .run(
                &margs(json!({"url": format!("{}/api", srv.base), "method": "DELETE"})),
                &env.ctx(true, false),
            )
            .await
            .unwrap();
        assert!(r.skipped && srv.count("/api") == before);
        // ...except a GET to a file, which predicts the file's change and writes nothing.
        let fresh = tmp.path().join("fresh.txt");
        let a = json!({"url": format!("{}/text", srv.base), "dest": fresh.to_str().unwrap()});
        let r = Uri
            .run(&margs(a.clone()), &env.ctx(true, false))
            .await
            .unwrap();
        assert!(r.changed && !r.skipped && !fresh.exists(), "{r:?}");
        assert!(run(a.clone()).await.changed);
        let r = Uri.run(&margs(a), &env.ctx(true, false)).await.unwrap();
        assert!(!r.changed && !r.skipped, "{r:?}");
        let r = run(json!({"url": format!("{}/api", srv.base), "method": "get me"})).await;
        assert!(r.failed);
        assert_not_pwned();
    }
}

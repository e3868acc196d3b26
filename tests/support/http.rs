//! A tiny HTTP/1.1 server for the transfer-module tests: it listens on the test bed's bridge
//! address (the controller's side), answers each request with what the test's handler says,
//! and records who asked for what, so a test can tell whether the host or the controller made
//! a request.
//!
//! Include it with `#[path = "support/http.rs"] mod http;`.

#![allow(dead_code)] // each test crate uses a different part of this module

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

/// One request as the handler sees it.
#[derive(Clone, Debug)]
pub struct Request {
    /// The peer's IP address.
    pub peer: String,
    /// `GET`, `POST`, `HEAD`...
    pub method: String,
    /// The request line's path.
    pub path: String,
    /// The headers in the order sent, names as sent, values trimmed.
    pub headers: Vec<(String, String)>,
    /// The body (`Content-Length` bytes).
    pub body: Vec<u8>,
}

impl Request {
    /// The value of header `name` (any case), or "" when it was not sent.
    pub fn header(&self, name: &str) -> String {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }
}

/// The handler's answer.
pub struct Response {
    /// The status line after the version: `200 OK`.
    pub status: &'static str,
    /// `Content-Type`, when there is one.
    pub content_type: Option<&'static str>,
    /// More header lines (`Name: value`).
    pub headers: Vec<String>,
    /// The body (not sent for `HEAD`).
    pub body: Vec<u8>,
}

/// One request the server saw.
#[derive(Clone, Debug)]
pub struct Seen {
    /// The peer's IP address.
    pub peer: String,
    /// The method.
    pub method: String,
    /// The path.
    pub path: String,
}

/// Serves `handler` on `addr` (port 0 picks one) until the process ends. Returns the base URL
/// (`http://ADDR:PORT`) and the log of requests seen.
pub fn serve(
    addr: &str,
    handler: impl Fn(&Request) -> Response + Send + Sync + 'static,
) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let listener = TcpListener::bind(addr).expect("bind the bridge address");
    let base = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let handler = Arc::new(handler);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let log = log.clone();
            let handler = handler.clone();
            std::thread::spawn(move || {
                let Some(request) = read_request(&stream) else {
                    return;
                };
                log.lock().unwrap().push(Seen {
                    peer: request.peer.clone(),
                    method: request.method.clone(),
                    path: request.path.clone(),
                });
                let response = handler(&request);
                let body = if request.method == "HEAD" {
                    Vec::new()
                } else {
                    response.body
                };
                let mut head = format!("HTTP/1.1 {}\r\n", response.status);
                if let Some(ctype) = response.content_type {
                    head.push_str(&format!("Content-Type: {ctype}\r\n"));
                }
                head.push_str(&format!("Content-Length: {}\r\n", body.len()));
                for h in response.headers {
                    head.push_str(&h);
                    head.push_str("\r\n");
                }
                head.push_str("Connection: close\r\n\r\n");
                let mut out = head.into_bytes();
                out.extend_from_slice(&body);
                let _ = stream.write_all(&out);
            });
        }
    });
    (base, seen)
}

/// Reads the request line, headers and body of one request.
fn read_request(stream: &std::net::TcpStream) -> Option<Request> {
    let peer = stream
        .peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default();
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let path = parts.next().unwrap_or("").to_string();
    let mut headers = Vec::new();
    let mut len = 0usize;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                len = v.trim().parse().unwrap_or(0);
            }
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let mut body = vec![0; len];
    let _ = reader.read_exact(&mut body);
    Some(Request {
        peer,
        method,
        path,
        headers,
        body,
    })
}

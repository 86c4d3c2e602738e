//! Helpers for the server tests: a real server on 127.0.0.1 (port 0) over a database file in a
//! temporary directory, and a real HTTP client. Traffic only ever goes to loopback.
#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Duration;

use needle::server::{Server, ServerOptions};
use needle::Database;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

pub struct TestServer {
    pub server: Option<Server>,
    pub url: String,
    pub client: reqwest::Client,
    pub db_path: PathBuf,
    pub dir: tempfile::TempDir,
}

pub fn loopback() -> std::net::SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

/// Starts a server over a fresh database file; `configure` adjusts the options.
pub async fn start(configure: impl FnOnce(&mut ServerOptions)) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("vectors.needle");
    let db = Database::open(&db_path).unwrap();
    let mut opts = ServerOptions::new(loopback());
    opts.shutdown_grace = Duration::from_secs(10);
    configure(&mut opts);
    let server = Server::start(db, opts).await.unwrap();
    let url = server.url();
    assert!(url.contains("127.0.0.1"), "{url}");
    let client = reqwest::Client::builder().timeout(Duration::from_secs(60)).no_proxy().build().unwrap();
    TestServer { server: Some(server), url, client, db_path, dir }
}

impl TestServer {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.url, path)
    }

    /// Sends a request with an optional JSON body; returns status and the parsed body (Null when
    /// the body is not JSON).
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        self.call_with(method, path, body, &[]).await
    }

    pub async fn call_with(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> (StatusCode, Value) {
        let mut req = self.client.request(method, self.url(path));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::DELETE, path, None).await
    }

    /// Creates a collection and asserts 201.
    pub async fn create(&self, name: &str, dim: usize, distance: &str) {
        let (s, b) = self.post("/collections", json!({"name": name, "dimensions": dim, "distance": distance})).await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
    }

    /// Stops the server gracefully (checkpoint included).
    pub async fn shutdown(&mut self) {
        if let Some(s) = self.server.take() {
            s.shutdown().await.unwrap();
        }
    }
}

/// Asserts the `{"error": {"code", "message"}}` shape and returns the code.
pub fn error_code(body: &Value) -> String {
    let e = &body["error"];
    assert!(e["message"].is_string(), "no error message in {body}");
    e["code"].as_str().unwrap_or_else(|| panic!("no error code in {body}")).to_string()
}

/// A deterministic pseudo-random vector.
pub fn vector(seed: u64, dim: usize) -> Vec<f32> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(1);
    (0..dim)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            ((x >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

/// Sends raw bytes over a fresh TCP connection (for requests an HTTP client would normalise or
/// refuse to send) and returns the status code and body. The request should say
/// `Connection: close`.
pub async fn raw(addr: &str, request: &[u8]) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(request).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(30), s.read_to_end(&mut out)).await;
    parse_response(&out)
}

/// Status code and body of a raw HTTP/1.1 response (Content-Length or chunked).
pub fn parse_response(bytes: &[u8]) -> (u16, String) {
    let text = String::from_utf8_lossy(bytes).to_string();
    let status = text.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        let mut out = String::new();
        let mut rest = body;
        while let Some((len, after)) = rest.split_once("\r\n") {
            let n = usize::from_str_radix(len.trim(), 16).unwrap_or(0);
            if n == 0 || after.len() < n {
                break;
            }
            out.push_str(&after[..n]);
            rest = after[n..].trim_start_matches("\r\n");
        }
        return (status, out);
    }
    (status, body.to_string())
}

/// `host:port` of a server URL.
pub fn host_port(url: &str) -> String {
    url.trim_start_matches("http://").trim_start_matches("https://").trim_end_matches('/').to_string()
}

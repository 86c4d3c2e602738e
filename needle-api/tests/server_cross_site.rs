//! Cross-site protections (issue 15, item 6) over real sockets: bodies need a JSON content type,
//! the Host must be one the server answers for, browsers' cross-origin requests are refused
//! unless allowed, and API keys fail closed.
#![cfg(all(feature = "server", unix))]

mod server_common;

use std::process::{Command, Stdio};

use needle::server::{ApiKeys, CrossSite, Role};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use server_common::{host_port, raw, start};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_need_json_and_hosts_and_origins_are_checked() {
    let t = start(|o| {
        o.cross_site = CrossSite {
            allowed_hosts: vec!["vectors.example".into()],
            cors_origins: vec!["https://app.example".into()],
        };
        o.keys = ApiKeys::none().with("reader-key-0123456789", Role::ReadOnly).unwrap();
    })
    .await;
    let addr = host_port(&t.url);
    let key = ("authorization", "Bearer reader-key-0123456789");

    // A body without Content-Type (what a cross-site form or `fetch` without headers sends).
    let request = |ct: Option<&str>| {
        let ct = ct.map(|c| format!("Content-Type: {c}\r\n")).unwrap_or_default();
        let body = "{\"vector\": [1, 2, 3]}";
        format!(
            "POST /collections/docs/search HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer reader-key-0123456789\r\n{ct}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    };
    for ct in [None, Some("text/plain"), Some("application/x-www-form-urlencoded"), Some("multipart/form-data")] {
        let (status, body) = raw(&addr, request(ct).as_bytes()).await;
        let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        assert_eq!((status, v["error"]["code"].as_str()), (415, Some("unsupported_media_type")), "{ct:?}: {body}");
    }

    // Host: a rebound name is refused; the bound address, localhost and allowed names are not.
    for (host, ok) in [
        ("evil.example", false),
        ("evil.example:8080", false),
        ("127.0.0.1.evil.example", false),
        ("localhost", true),
        (addr.as_str(), true),
        ("vectors.example", true),
        ("VECTORS.example:443", true),
    ] {
        let (status, body) =
            raw(&addr, format!("GET /health HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes()).await;
        let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        if ok {
            assert_eq!(status, 200, "{host}: {body}");
        } else {
            assert_eq!((status, v["error"]["code"].as_str()), (403, Some("host_not_allowed")), "{host}: {body}");
        }
    }

    // Origin: an unlisted origin is refused, even for reads and with a valid key.
    let (s, b) = t.call_with(Method::GET, "/collections", None, &[key, ("origin", "https://evil.example")]).await;
    assert_eq!((s, b["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("cross_origin")), "{b}");
    let (s, b) = t.call_with(Method::GET, "/health", None, &[("origin", "null")]).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    // The listed origin gets CORS headers, and its preflight is answered without a key.
    let r = t
        .client
        .get(t.url("/collections"))
        .header("origin", "https://app.example")
        .header(key.0, key.1)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["access-control-allow-origin"], "https://app.example");
    let r = t
        .client
        .request(Method::OPTIONS, t.url("/collections/docs/search"))
        .header("origin", "https://app.example")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "authorization, content-type")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(r.headers()["access-control-allow-origin"], "https://app.example");
    assert!(r.headers()["access-control-allow-headers"].to_str().unwrap().contains("authorization"));
    // A cross-site POST that names no origin is refused by Sec-Fetch-Site.
    let (s, _) = t
        .call_with(
            Method::POST,
            "/collections",
            Some(json!({"name": "x", "dimensions": 3})),
            &[key, ("sec-fetch-site", "cross-site")],
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

fn needle() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_needle"));
    c.env_remove("NEEDLE_API_KEY");
    c
}

/// Runs `needle serve` with `args` and `env`; it must refuse to start: non-zero exit, and stderr
/// that contains `expect`.
fn refuses(args: &[&str], env: &[(&str, &str)], expect: &str) {
    let dir = tempfile::tempdir().unwrap();
    let mut c = needle();
    c.args(["serve", "-a", "127.0.0.1:0", "-d"]).arg(dir.path().join("v.needle")).args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    let mut child = c.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    // A server that did start prints its address and waits: kill it and fail.
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if started.elapsed() > std::time::Duration::from_secs(20) {
            let _ = child.kill();
            panic!("needle serve {args:?} {env:?} started instead of refusing");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!status.success(), "{args:?} {env:?}: exit {status}");
    assert!(stderr.contains(expect), "{args:?} {env:?}: stderr {stderr}");
}

#[test]
fn api_keys_fail_closed() {
    let dir = tempfile::tempdir().unwrap();
    // A blank NEEDLE_API_KEY is a mistake, not "no keys".
    refuses(&[], &[("NEEDLE_API_KEY", "   ")], "NEEDLE_API_KEY");
    // A keys file with only comments and blank lines.
    let comments = dir.path().join("keys");
    std::fs::write(&comments, "# read-only rrrrrrrr1\n\n   # admin aaaaaaaa1\n").unwrap();
    refuses(&["--api-keys-file", comments.to_str().unwrap()], &[], "no keys");
    // An empty --api-key-file.
    let empty = dir.path().join("key");
    std::fs::write(&empty, " \n").unwrap();
    refuses(&["--api-key-file", empty.to_str().unwrap()], &[], "--api-key-file");

    // A `#` inside a key is part of the key.
    let mut keys = ApiKeys::none();
    let file = dir.path().join("roles");
    std::fs::write(&file, "admin abc#def123 # the ops key\nread-only #starts-with-hash\n").unwrap();
    keys.load_file(&file).unwrap();
    assert_eq!(keys.role_of("abc#def123"), Some(Role::Admin));
    assert_eq!(keys.role_of("abc"), None);
    assert_eq!(keys.role_of("#starts-with-hash"), Some(Role::ReadOnly));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_key_file_holds_one_admin_key() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("admin.key");
    std::fs::write(&key_file, "file-key-0123#456789\n").unwrap();
    let mut child = needle()
        .args(["serve", "-a", "127.0.0.1:0", "-d"])
        .arg(dir.path().join("v.needle"))
        .arg("--api-key-file")
        .arg(&key_file)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url = line.trim().rsplit(' ').next().unwrap().to_string();
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let without = client.get(format!("{url}/collections")).send().await.unwrap().status();
    let with = client
        .get(format!("{url}/collections"))
        .header("authorization", "Bearer file-key-0123#456789")
        .send()
        .await
        .unwrap()
        .status();
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!((without, with), (StatusCode::UNAUTHORIZED, StatusCode::OK), "{line}");
}

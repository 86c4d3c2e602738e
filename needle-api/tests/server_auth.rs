//! API keys and roles over real sockets: no key → 401, a read-only key cannot write → 403, and
//! no path trick reaches a protected route without a key.
#![cfg(feature = "server")]

mod server_common;

use needle::server::{ApiKeys, Role};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use server_common::{error_code, host_port, raw, start, TestServer};

const ADMIN: &str = "admin-key-0123456789";
const WRITER: &str = "writer-key-0123456789";
const READER: &str = "reader-key-0123456789";

async fn keyed() -> TestServer {
    start(|o| {
        o.keys = ApiKeys::none()
            .with(ADMIN, Role::Admin)
            .unwrap()
            .with(WRITER, Role::ReadWrite)
            .unwrap()
            .with(READER, Role::ReadOnly)
            .unwrap();
    })
    .await
}

fn bearer(key: &str) -> String {
    format!("Bearer {key}")
}

async fn as_key(t: &TestServer, key: &str, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
    t.call_with(method, path, body, &[("authorization", &bearer(key))]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_and_roles() {
    let t = keyed().await;
    // Only /health is public.
    let (s, _) = t.get("/health").await;
    assert_eq!(s, StatusCode::OK);
    for (m, p) in needle::server::ROUTES.iter().filter(|r| r.role().is_some()).map(|r| (r.method.as_str(), r.path)) {
        let path = p.replace("{name}", "docs").replace("{id}", "v");
        let body = (m == "POST").then(|| json!({}));
        let (s, b) = t.call(Method::from_bytes(m.as_bytes()).unwrap(), &path, body).await;
        assert_eq!((s, error_code(&b).as_str()), (StatusCode::UNAUTHORIZED, "unauthorized"), "{m} {p} without a key");
    }
    // A wrong key, a malformed header, a key in the wrong scheme.
    for h in
        [("authorization", "Bearer not-a-valid-key"), ("x-api-key", "admin-key-012345678"), ("authorization", ADMIN)]
    {
        let (s, b) = t.call_with(Method::GET, "/collections", None, &[h]).await;
        assert_eq!((s, error_code(&b).as_str()), (StatusCode::UNAUTHORIZED, "unauthorized"), "{h:?}");
    }
    let (s, _) = t.call_with(Method::GET, "/collections", None, &[("authorization", &format!("Basic {ADMIN}"))]).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    // Admin creates; the writer writes (X-API-Key form); the reader reads and searches.
    let (s, b) = as_key(
        &t,
        ADMIN,
        Method::POST,
        "/collections",
        Some(json!({"name": "docs", "dimensions": 2, "distance": "euclidean"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let (s, b) = t
        .call_with(
            Method::POST,
            "/collections/docs/vectors",
            Some(json!({"id": "v", "vector": [1.0, 2.0]})),
            &[("x-api-key", WRITER)],
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let (s, _) = as_key(&t, READER, Method::GET, "/collections/docs/vectors/v", None).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) =
        as_key(&t, READER, Method::POST, "/collections/docs/search", Some(json!({"vector": [1.0, 2.0]}))).await;
    assert_eq!(s, StatusCode::OK);
    for p in ["/collections", "/collections/docs", "/health/ready", "/metrics", "/openapi.json"] {
        let (s, _) = as_key(&t, READER, Method::GET, p, None).await;
        assert_eq!(s, StatusCode::OK, "{p}");
    }

    // The reader cannot write; the writer cannot administer.
    let writes: [(Method, &str, Option<Value>); 5] = [
        (Method::POST, "/collections/docs/vectors", Some(json!({"id": "w", "vector": [1.0, 1.0]}))),
        (Method::POST, "/collections/docs/vectors/upsert", Some(json!({"id": "v", "vector": [1.0, 1.0]}))),
        (
            Method::POST,
            "/collections/docs/vectors/batch",
            Some(json!({"vectors": [{"id": "w", "vector": [1.0, 1.0]}]})),
        ),
        (Method::DELETE, "/collections/docs/vectors/v", None),
        (Method::POST, "/collections", Some(json!({"name": "x", "dimensions": 2}))),
    ];
    for (m, p, b) in writes {
        let (s, body) = as_key(&t, READER, m.clone(), p, b).await;
        assert_eq!((s, error_code(&body).as_str()), (StatusCode::FORBIDDEN, "forbidden"), "reader {m} {p}");
    }
    let admin_only: [(Method, &str); 3] =
        [(Method::DELETE, "/collections/docs"), (Method::POST, "/save"), (Method::POST, "/collections/docs/compact")];
    for (m, p) in admin_only {
        for key in [READER, WRITER] {
            let (s, body) = as_key(&t, key, m.clone(), p, None).await;
            assert_eq!((s, error_code(&body).as_str()), (StatusCode::FORBIDDEN, "forbidden"), "{key} {m} {p}");
        }
    }
    // Nothing the reader tried changed anything.
    let (s, b) = as_key(&t, READER, Method::GET, "/collections/docs", None).await;
    assert_eq!((s, b["count"].as_u64()), (StatusCode::OK, Some(1)));
    let (s, _) = as_key(&t, ADMIN, Method::POST, "/save", None).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = as_key(&t, ADMIN, Method::DELETE, "/collections/docs", None).await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn path_tricks_do_not_bypass_the_key() {
    let t = keyed().await;
    let (s, _) = as_key(
        &t,
        ADMIN,
        Method::POST,
        "/collections",
        Some(json!({"name": "docs", "dimensions": 2, "distance": "euclidean"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let addr = host_port(&t.url);
    // Raw request targets, sent as-is (a client library would normalise most of them).
    let targets = [
        "//collections",
        "/health/../collections",
        "/health/..%2fcollections",
        "/health%2f..%2fcollections",
        "/health/%2e%2e/collections",
        "/health/%2E%2E/collections/docs",
        "/./collections",
        "/health/./../collections/docs",
        "/collections/",
        "//collections/docs",
        "/collections//docs",
        "/health;/../collections",
        "/health%00/../collections",
        "/HEALTH/../collections",
        "/health/ready/../../collections",
        "/health?/../collections",
        "/health#/../collections",
        "http://127.0.0.1/collections",
        "/%63ollections",
        "/collections%2fdocs",
        "/collections/docs%2f..%2f..%2fcollections",
        "/metrics/",
        "//metrics",
        "/openapi.json/..",
    ];
    for target in targets {
        let req = format!("GET {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        let (status, body) = raw(&addr, req.as_bytes()).await;
        let leaked = (200..300).contains(&status) && !body.contains("\"status\":\"ok\"");
        assert!(!leaked, "GET {target} answered {status} without a key: {body}");
        assert!(status != 0 && status < 500, "GET {target}: {status} {body}");
        // What the server did answer is the health check, a 401, or a JSON 4xx (or hyper's bare
        // 400 for a request line it cannot parse at all).
        if status >= 400 && !body.is_empty() {
            let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
            assert!(v["error"]["code"].is_string(), "GET {target}: {status} {body}");
        }
    }
    // Writes through tricks fail too, and the collection is unchanged.
    for target in ["//collections/docs/vectors", "/health/../collections/docs/vectors", "/collections/docs/vectors/"] {
        let body = r#"{"id":"evil","vector":[1.0,1.0]}"#;
        let req = format!(
            "POST {target} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let (status, body) = raw(&addr, req.as_bytes()).await;
        assert!((400..500).contains(&status), "POST {target}: {status} {body}");
    }
    let (s, b) = as_key(&t, ADMIN, Method::GET, "/collections/docs", None).await;
    assert_eq!((s, b["count"].as_u64()), (StatusCode::OK, Some(0)), "{b}");
}

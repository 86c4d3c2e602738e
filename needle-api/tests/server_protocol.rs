//! HTTP details (issue 15, items 7 and 8) over real sockets: `?wait=true` under `batched:MS`
//! waits for the log sync, not a checkpoint; HEAD and OPTIONS need what GET needs; the requests
//! hyper rejects by itself get JSON errors; rejected searches are counted by status; a cosine
//! distance of a vector to itself is 0.
#![cfg(feature = "server")]

mod server_common;

use needle::server::{ApiKeys, Role};
use needle::{Database, DatabaseConfig, Durability};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use server_common::{host_port, raw, start, vector};

const READER: &str = "reader-key-0123456789";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_under_batched_syncs_the_log_without_a_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v.needle");
    let db = Database::open_with_config(&path, DatabaseConfig::new().with_durability(Durability::Batched(20))).unwrap();
    let mut opts = needle::server::ServerOptions::new(server_common::loopback());
    opts.durability = Durability::Batched(20);
    let server = needle::server::Server::start(db, opts).await.unwrap();
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let url = server.url();
    let r = client
        .post(format!("{url}/collections"))
        .json(&json!({"name": "docs", "dimensions": 4, "distance": "euclidean"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let db = server.state().db().clone();
    let file_len = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    for i in 0..5u64 {
        let r = client
            .post(format!("{url}/collections/docs/vectors?wait=true"))
            .json(&json!({"id": format!("v{i}"), "vector": vector(i, 4)}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        let b: Value = r.json().await.unwrap();
        assert_eq!(b["durable"], true, "{b}");
    }
    // No checkpoint ran: the log still holds the writes and the file did not change.
    assert!(db.wal_bytes() > 0, "the log was emptied: a checkpoint ran");
    assert_eq!(std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0), file_len);
    drop(db);
    server.shutdown().await.unwrap();
    let db = Database::open(&path).unwrap();
    assert_eq!(db.collection("docs").unwrap().count().unwrap(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_and_options_need_what_get_needs() {
    let t = start(|o| o.keys = ApiKeys::none().with(READER, Role::ReadOnly).unwrap()).await;
    let auth = format!("Bearer {READER}");
    for path in ["/collections", "/health/ready", "/metrics", "/openapi.json"] {
        let r = t.client.head(t.url(path)).header("authorization", &auth).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "HEAD {path}");
        let r = t.client.head(t.url(path)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "HEAD {path} without a key");
        let r = t.client.request(Method::OPTIONS, t.url(path)).header("authorization", &auth).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NO_CONTENT, "OPTIONS {path}");
        assert!(r.headers()["allow"].to_str().unwrap().contains("GET"), "OPTIONS {path}");
    }
    let r = t.client.request(Method::OPTIONS, t.url("/collections/docs")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = t
        .client
        .request(Method::OPTIONS, t.url("/collections/docs"))
        .header("authorization", &auth)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(r.headers()["allow"], "GET, HEAD, DELETE, OPTIONS");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_hyper_rejects_get_json_errors() {
    let t = start(|_| {}).await;
    let addr = host_port(&t.url);
    let big = "x".repeat(100 * 1024);
    let cases = [
        ("headers too large", format!("GET /health HTTP/1.1\r\nHost: {addr}\r\nX-Big: {big}\r\n\r\n"), 431),
        ("NUL in the path", format!("GET /coll\0ections HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"), 400),
        ("not HTTP", "HELLO\r\n\r\n".to_string(), 400),
        ("bad chunk size", format!("POST /collections HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"), 400),
    ];
    for (what, request, want) in cases {
        let (status, body) = raw(&addr, request.as_bytes()).await;
        let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        assert_eq!(status, want, "{what}: {body:?}");
        assert!(v["error"]["code"].is_string() && v["error"]["message"].is_string(), "{what}: {body:?}");
    }
    let (s, _) = t.get("/health").await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_searches_are_counted_and_self_distance_is_zero() {
    let t = start(|_| {}).await;
    t.create("cos", 384, "cosine").await;
    let v = vector(42, 384);
    let (s, _) = t.post("/collections/cos/vectors", json!({"id": "me", "vector": v})).await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, b) = t.post("/collections/cos/search", json!({"vector": v, "k": 1})).await;
    assert_eq!(s, StatusCode::OK);
    let d = b["results"][0]["distance"].as_f64().unwrap();
    assert!(d >= 0.0, "self-distance {d}");

    let count = |text: &str, status: &str| -> f64 {
        text.lines()
            .filter(|l| l.starts_with("needle_search_rejected_total{") && l.contains(&format!("code=\"{status}\"")))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    };
    let scrape = || async { t.client.get(t.url("/metrics")).send().await.unwrap().text().await.unwrap() };
    let before = scrape().await;
    let (s, _) = t.post("/collections/cos/search", json!({"vector": [1.0, 2.0], "k": 1})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = t.post("/collections/cos/search/batch", json!({"vectors": [[1.0]], "k": 1})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let after = scrape().await;
    assert!(
        count(&after, "dimension_mismatch") >= count(&before, "dimension_mismatch") + 2.0,
        "rejected searches were not counted:\n{after}"
    );
}

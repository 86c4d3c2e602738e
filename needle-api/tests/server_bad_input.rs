//! The bad-input suite: dozens of malformed, hostile or out-of-limit requests, each answered with
//! a 4xx and a JSON error (never a 5xx); afterwards the server is healthy and no data was lost.
#![cfg(feature = "server")]

mod server_common;

use std::time::Duration;

use needle::server::Limits;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use server_common::{host_port, raw, start, vector, TestServer};

/// One request of the suite.
struct Case {
    what: &'static str,
    method: Method,
    path: String,
    body: Body,
    /// Expected status (0: any 4xx).
    status: u16,
}

enum Body {
    None,
    Json(Value),
    Text(&'static str, String),
    Bytes(&'static str, Vec<u8>),
}

fn case(what: &'static str, method: Method, path: &str, body: Body, status: u16) -> Case {
    Case { what, method, path: path.to_string(), body, status }
}

fn j(v: Value) -> Body {
    Body::Json(v)
}

fn text(s: impl Into<String>) -> Body {
    Body::Text("application/json", s.into())
}

async fn send(t: &TestServer, c: &Case) -> (StatusCode, String) {
    let mut req = t.client.request(c.method.clone(), t.url(&c.path));
    req = match &c.body {
        Body::None => req,
        Body::Json(v) => req.json(v),
        Body::Text(ct, s) => req.header("content-type", *ct).body(s.clone()),
        Body::Bytes(ct, b) => req.header("content-type", *ct).body(b.clone()),
    };
    let resp = req.send().await.unwrap();
    (resp.status(), resp.text().await.unwrap())
}

const LIMITS_BODY: usize = 64 * 1024;

async fn seeded() -> (TestServer, Vec<(String, Vec<f32>)>) {
    let t = start(|o| {
        o.limits = Limits {
            max_body_bytes: LIMITS_BODY,
            max_batch: 10,
            max_k: 100,
            max_dimensions: 1024,
            request_timeout: Duration::from_secs(2),
            ..Limits::default()
        };
    })
    .await;
    t.create("docs", 4, "euclidean").await;
    t.create("cos", 3, "cosine").await;
    let mut stored = Vec::new();
    for i in 0..5u64 {
        let v = vector(i, 4);
        let (s, _) = t
            .post(
                "/collections/docs/vectors?wait=true",
                json!({"id": format!("d{i}"), "vector": v, "metadata": {"i": i}}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED);
        stored.push((format!("d{i}"), v));
    }
    let (s, _) = t.post("/collections/cos/vectors", json!({"id": "c0", "vector": [1.0, 0.0, 0.0]})).await;
    assert_eq!(s, StatusCode::CREATED);
    (t, stored)
}

fn cases() -> Vec<Case> {
    use Method as M;
    let v4 = json!([0.1, 0.2, 0.3, 0.4]);
    let nested = format!("{{\"id\":\"n\",\"vector\":[1,2,3,4],\"metadata\":{}{}}}", "[".repeat(5000), "]".repeat(5000));
    let big_meta = "x".repeat(LIMITS_BODY + 10);
    let big_batch: Vec<Value> = (0..200)
        .map(|i| json!({"id": format!("b{i}"), "vector": vector(i, 4), "metadata": {"y": "y".repeat(400)}}))
        .collect();
    let over_batch: Vec<Value> = (0..11).map(|i| json!({"id": format!("o{i}"), "vector": vector(i, 4)})).collect();
    let over_queries: Vec<Value> = (0..11).map(|i| json!(vector(i, 4))).collect();
    vec![
        // Creating collections.
        case("malformed JSON", M::POST, "/collections", text("{\"name\": "), 400),
        case("trailing garbage", M::POST, "/collections", text("{\"name\":\"x\",\"dimensions\":4} xyz"), 400),
        case("dimensions as a string", M::POST, "/collections", j(json!({"name": "x", "dimensions": "four"})), 422),
        case("negative dimensions", M::POST, "/collections", j(json!({"name": "x", "dimensions": -4})), 422),
        case("zero dimensions", M::POST, "/collections", j(json!({"name": "x", "dimensions": 0})), 400),
        case("huge dimensions", M::POST, "/collections", j(json!({"name": "x", "dimensions": 1_000_000_000u64})), 400),
        case("traversal name", M::POST, "/collections", j(json!({"name": "../../etc/passwd", "dimensions": 4})), 400),
        case("empty name", M::POST, "/collections", j(json!({"name": "", "dimensions": 4})), 400),
        case("slash in name", M::POST, "/collections", j(json!({"name": "a/b", "dimensions": 4})), 400),
        case("hidden name", M::POST, "/collections", j(json!({"name": ".hidden", "dimensions": 4})), 400),
        case("name too long", M::POST, "/collections", j(json!({"name": "n".repeat(300), "dimensions": 4})), 400),
        case(
            "unknown distance",
            M::POST,
            "/collections",
            j(json!({"name": "x", "dimensions": 4, "distance": "bogus"})),
            400,
        ),
        case(
            "unknown quantization",
            M::POST,
            "/collections",
            j(json!({"name": "x", "dimensions": 4, "quantization": "q9"})),
            400,
        ),
        case("unknown index", M::POST, "/collections", j(json!({"name": "x", "dimensions": 4, "index": "btree"})), 400),
        case("hnsw_m of 1", M::POST, "/collections", j(json!({"name": "x", "dimensions": 4, "hnsw_m": 1})), 400),
        case("hnsw_m huge", M::POST, "/collections", j(json!({"name": "x", "dimensions": 4, "hnsw_m": 100000})), 400),
        case("unknown field", M::POST, "/collections", j(json!({"name": "x", "dimensions": 4, "colour": "red"})), 422),
        case("array body", M::POST, "/collections", j(json!([1, 2])), 422),
        case("existing collection", M::POST, "/collections", j(json!({"name": "docs", "dimensions": 4})), 409),
        // Inserting.
        case(
            "wrong dimension",
            M::POST,
            "/collections/docs/vectors",
            j(json!({"id": "x", "vector": [1.0, 2.0, 3.0]})),
            422,
        ),
        case("empty vector", M::POST, "/collections/docs/vectors", j(json!({"id": "x", "vector": []})), 422),
        case(
            "NaN as a string",
            M::POST,
            "/collections/docs/vectors",
            j(json!({"id": "x", "vector": ["NaN", 1, 2, 3]})),
            422,
        ),
        case(
            "Infinity as a string",
            M::POST,
            "/collections/docs/vectors",
            j(json!({"id": "x", "vector": [1, "Infinity", 2, 3]})),
            422,
        ),
        case("NaN literal", M::POST, "/collections/docs/vectors", text("{\"id\":\"x\",\"vector\":[NaN,1,2,3]}"), 400),
        case(
            "1e39 (out of f32 range)",
            M::POST,
            "/collections/docs/vectors",
            text("{\"id\":\"x\",\"vector\":[1e39,1,2,3]}"),
            0,
        ),
        case(
            "1e400 overflows f64",
            M::POST,
            "/collections/docs/vectors",
            text("{\"id\":\"x\",\"vector\":[1e400,1,2,3]}"),
            0,
        ),
        case("vector null", M::POST, "/collections/docs/vectors", j(json!({"id": "x", "vector": null})), 422),
        case("vector a string", M::POST, "/collections/docs/vectors", j(json!({"id": "x", "vector": "0.1,0.2"})), 422),
        case("missing vector", M::POST, "/collections/docs/vectors", j(json!({"id": "x"})), 422),
        case("empty id", M::POST, "/collections/docs/vectors", j(json!({"id": "", "vector": v4})), 400),
        case(
            "id too long",
            M::POST,
            "/collections/docs/vectors",
            j(json!({"id": "i".repeat(2000), "vector": v4})),
            400,
        ),
        case(
            "control character in id",
            M::POST,
            "/collections/docs/vectors",
            j(json!({"id": "a\nb", "vector": v4})),
            400,
        ),
        case("numeric id", M::POST, "/collections/docs/vectors", j(json!({"id": 5, "vector": v4})), 422),
        case("duplicate id", M::POST, "/collections/docs/vectors", j(json!({"id": "d1", "vector": v4})), 409),
        case("unknown collection", M::POST, "/collections/nope/vectors", j(json!({"id": "x", "vector": v4})), 404),
        case(
            "traversal collection",
            M::POST,
            "/collections/..%2F..%2Fetc%2Fpasswd/vectors",
            j(json!({"id": "x", "vector": v4})),
            400,
        ),
        case(
            "zero vector under cosine",
            M::POST,
            "/collections/cos/vectors",
            j(json!({"id": "z", "vector": [0.0, 0.0, 0.0]})),
            422,
        ),
        case(
            "oversize metadata",
            M::POST,
            "/collections/docs/vectors",
            j(json!({"id": "x", "vector": v4, "metadata": big_meta})),
            413,
        ),
        case("deeply nested metadata", M::POST, "/collections/docs/vectors", text(nested), 400),
        case(
            "metadata not an object",
            M::POST,
            "/collections/docs/vectors",
            j(json!({"id": "x", "vector": v4, "metadata": 42})),
            400,
        ),
        case(
            "text/plain body",
            M::POST,
            "/collections/docs/vectors",
            Body::Text("text/plain", "{\"id\":\"x\",\"vector\":[1,2,3,4]}".into()),
            415,
        ),
        case("empty body", M::POST, "/collections/docs/vectors", text(""), 400),
        case(
            "invalid UTF-8 body",
            M::POST,
            "/collections/docs/vectors",
            Body::Bytes("application/json", b"{\"id\":\"\xff\xfe\",\"vector\":[1,2,3,4]}".to_vec()),
            400,
        ),
        case("wait=maybe", M::POST, "/collections/docs/vectors?wait=maybe", j(json!({"id": "x", "vector": v4})), 400),
        case(
            "unknown query parameter",
            M::POST,
            "/collections/docs/vectors?sync=1",
            j(json!({"id": "x", "vector": v4})),
            400,
        ),
        // Batches.
        case(
            "duplicate ids in one batch",
            M::POST,
            "/collections/docs/vectors/batch",
            j(json!({"vectors": [{"id": "q", "vector": v4}, {"id": "q", "vector": v4}]})),
            409,
        ),
        case(
            "batch over the limit",
            M::POST,
            "/collections/docs/vectors/batch",
            j(json!({"vectors": over_batch})),
            413,
        ),
        case("empty batch", M::POST, "/collections/docs/vectors/batch", j(json!({"vectors": []})), 400),
        case(
            "one bad vector in a batch",
            M::POST,
            "/collections/docs/vectors/batch",
            j(json!({"vectors": [{"id": "g1", "vector": v4}, {"id": "g2", "vector": [1.0]}]})),
            422,
        ),
        case(
            "batch with an existing id",
            M::POST,
            "/collections/docs/vectors/batch",
            j(json!({"vectors": [{"id": "g3", "vector": v4}, {"id": "d2", "vector": v4}]})),
            409,
        ),
        case("oversize batch body", M::POST, "/collections/docs/vectors/batch", j(json!({"vectors": big_batch})), 413),
        case("batch not a list", M::POST, "/collections/docs/vectors/batch", j(json!({"vectors": {"id": "x"}})), 422),
        // Upsert.
        case(
            "upsert wrong dimension",
            M::POST,
            "/collections/docs/vectors/upsert",
            j(json!({"id": "d1", "vector": [1.0]})),
            422,
        ),
        case(
            "upsert NaN",
            M::POST,
            "/collections/docs/vectors/upsert",
            j(json!({"id": "d1", "vector": [1, 2, "NaN", 4]})),
            422,
        ),
        // Searching.
        case("k = 0", M::POST, "/collections/docs/search", j(json!({"vector": v4, "k": 0})), 400),
        case("k = 10^9", M::POST, "/collections/docs/search", j(json!({"vector": v4, "k": 1_000_000_000u64})), 400),
        case("k = 10^30", M::POST, "/collections/docs/search", text("{\"vector\":[1,2,3,4],\"k\":1e30}"), 422),
        case("negative k", M::POST, "/collections/docs/search", j(json!({"vector": v4, "k": -1})), 422),
        case("k as a string", M::POST, "/collections/docs/search", j(json!({"vector": v4, "k": "10"})), 422),
        case(
            "search wrong dimension",
            M::POST,
            "/collections/docs/search",
            j(json!({"vector": [1.0, 2.0], "k": 3})),
            422,
        ),
        case("search empty vector", M::POST, "/collections/docs/search", j(json!({"vector": [], "k": 3})), 422),
        case("search NaN", M::POST, "/collections/docs/search", j(json!({"vector": [1, "NaN", 3, 4]})), 422),
        case("search 1e39", M::POST, "/collections/docs/search", text("{\"vector\":[1,2,3,1e39]}"), 0),
        case("ef = 0", M::POST, "/collections/docs/search", j(json!({"vector": v4, "ef": 0})), 400),
        case("ef = 10^9", M::POST, "/collections/docs/search", j(json!({"vector": v4, "ef": 1_000_000_000u64})), 400),
        case(
            "malformed filter",
            M::POST,
            "/collections/docs/search",
            j(json!({"vector": v4, "filter": {"i": {"$bogus": 1}}})),
            400,
        ),
        case(
            "unknown strategy",
            M::POST,
            "/collections/docs/search",
            j(json!({"vector": v4, "strategy": "magic"})),
            400,
        ),
        case(
            "filter of the wrong type",
            M::POST,
            "/collections/docs/search",
            j(json!({"vector": v4, "filter": [1, 2]})),
            400,
        ),
        case("search unknown collection", M::POST, "/collections/nope/search", j(json!({"vector": v4})), 404),
        case("search traversal name", M::POST, "/collections/..%2Fetc/search", j(json!({"vector": v4})), 400),
        case(
            "search zero vector under cosine",
            M::POST,
            "/collections/cos/search",
            j(json!({"vector": [0, 0, 0]})),
            422,
        ),
        case(
            "batch search over the limit",
            M::POST,
            "/collections/docs/search/batch",
            j(json!({"vectors": over_queries})),
            413,
        ),
        case(
            "batch search with a bad query",
            M::POST,
            "/collections/docs/search/batch",
            j(json!({"vectors": [v4, [1.0]]})),
            422,
        ),
        case("batch search k = 0", M::POST, "/collections/docs/search/batch", j(json!({"vectors": [v4], "k": 0})), 400),
        // Reading and deleting.
        case("get from unknown collection", M::GET, "/collections/nope/vectors/d1", Body::None, 404),
        case("get a traversal name", M::GET, "/collections/..%2F..%2Fetc%2Fpasswd", Body::None, 400),
        case("get an invalid UTF-8 id", M::GET, "/collections/docs/vectors/%FF%FE", Body::None, 400),
        case("drop '../..'", M::DELETE, "/collections/..%2F..", Body::None, 400),
        case("drop unknown collection", M::DELETE, "/collections/nope", Body::None, 404),
        case("delete unknown vector", M::DELETE, "/collections/docs/vectors/nope", Body::None, 404),
        case("compact unknown collection", M::POST, "/collections/nope/compact", Body::None, 404),
        // Routing.
        case("unknown route", M::GET, "/etc/passwd", Body::None, 404),
        case("wrong method", M::PUT, "/collections/docs", Body::None, 405),
        case("PATCH a vector", M::PATCH, "/collections/docs/vectors/d1", j(json!({})), 405),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_a_4xx_json_error_and_changes_nothing() {
    let (t, stored) = seeded().await;
    let query = json!({"vector": [0.0, 0.0, 0.0, 0.0], "k": 5});
    let (_, before) = t.post("/collections/docs/search", query.clone()).await;

    let cases = cases();
    let mut failures = Vec::new();
    for c in &cases {
        let (status, body) = send(&t, c).await;
        let parsed: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        let code = parsed["error"]["code"].as_str().unwrap_or("");
        let ok = status.is_client_error()
            && (c.status == 0 || status.as_u16() == c.status)
            && !code.is_empty()
            && parsed["error"]["message"].is_string();
        if !ok {
            failures.push(format!(
                "{}: {} {} -> {status} {}",
                c.what,
                c.method,
                c.path,
                body.chars().take(300).collect::<String>()
            ));
        }
    }

    // Raw-socket cases: a body slower than the request timeout, a Content-Length far over the
    // limit, a chunked body over the limit.
    let addr = host_port(&t.url);
    let slow = {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let head = format!(
            "POST /collections/docs/vectors HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: 200\r\nConnection: close\r\n\r\n{{\"id\":\"slow\","
        );
        s.write_all(head.as_bytes()).await.unwrap();
        let mut out = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(20), s.read_to_end(&mut out)).await;
        server_common::parse_response(&out)
    };
    let huge = raw(
        &addr,
        format!("POST /collections/docs/vectors HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: 1000000000\r\nConnection: close\r\n\r\n{{}}").as_bytes(),
    )
    .await;
    let chunk = "a".repeat(16 * 1024);
    let mut chunked = format!(
        "POST /collections/docs/vectors HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    for _ in 0..8 {
        chunked += &format!("{:x}\r\n{chunk}\r\n", chunk.len());
    }
    chunked += "0\r\n\r\n";
    let chunked = raw(&addr, chunked.as_bytes()).await;
    for (what, (status, body), want) in
        [("slow body", slow, 408), ("huge Content-Length", huge, 413), ("chunked over the limit", chunked, 413)]
    {
        let parsed: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        if status != want || !parsed["error"]["code"].is_string() {
            failures.push(format!("{what}: {status} {body}"));
        }
    }

    let total = cases.len() + 3;
    assert!(total >= 40, "only {total} cases");
    assert!(
        failures.is_empty(),
        "{} of {total} bad requests were not answered with the expected 4xx JSON error:\n{}",
        failures.len(),
        failures.join("\n")
    );

    // Still healthy, nothing lost or added, searches unchanged.
    let (s, _) = t.get("/health").await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = t.get("/health/ready").await;
    assert_eq!(s, StatusCode::OK);
    let (_, info) = t.get("/collections/docs").await;
    assert_eq!(info["count"], 5, "{info}");
    let (_, info) = t.get("/collections/cos").await;
    assert_eq!(info["count"], 1, "{info}");
    let (_, list) = t.get("/collections").await;
    assert_eq!(list["collections"].as_array().unwrap().len(), 2, "{list}");
    for (id, v) in &stored {
        let (s, b) = t.get(&format!("/collections/docs/vectors/{id}")).await;
        assert_eq!(s, StatusCode::OK);
        let got: Vec<f32> = serde_json::from_value(b["vector"].clone()).unwrap();
        assert_eq!(&got, v);
    }
    let (_, after) = t.post("/collections/docs/search", query).await;
    assert_eq!(before, after);
    println!("{total} bad requests, all answered 4xx with a JSON error; server healthy, data intact");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_concurrent_requests_get_503_not_a_hang() {
    let t = start(|o| {
        o.limits = Limits { max_concurrent_requests: 1, request_timeout: Duration::from_secs(60), ..Limits::default() };
    })
    .await;
    // A slow body holds no slot: the body is read before the slot is taken.
    let addr = host_port(&t.url);
    use tokio::io::AsyncWriteExt;
    let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
    s.write_all(
        format!("POST /collections HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{")
            .as_bytes(),
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (status, body) = t.call(Method::GET, "/collections", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    drop(s);

    // Work holds it: while a long batch search runs, the next request gets 503 at once.
    let db = t.server.as_ref().unwrap().state().db().clone();
    tokio::task::spawn_blocking(move || {
        let c = db.create_collection_with_config(needle::CollectionConfig::new("big", 256).with_index("flat")).unwrap();
        let rows: Vec<(String, Vec<f32>, Option<Value>)> =
            (0..40_000u64).map(|i| (format!("r{i}"), vector(i, 256), None)).collect();
        c.insert_batch(&rows).unwrap();
    })
    .await
    .unwrap();
    let queries: Vec<Vec<f32>> = (0..1000u64).map(|i| vector(1_000_000 + i, 256)).collect();
    let (client, url) = (t.client.clone(), t.url("/collections/big/search/batch"));
    // The probes below take the slot for a moment too, so the batch itself may arrive while a probe
    // holds it and get 503: it retries until it is admitted (a 503 is answered before any work).
    let batch = tokio::spawn(async move {
        let body = json!({"vectors": queries, "k": 10, "strategy": "exact"});
        for _ in 0..200 {
            let status = client.post(url.clone()).json(&body).send().await.unwrap().status();
            if status != StatusCode::SERVICE_UNAVAILABLE {
                return status;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        StatusCode::SERVICE_UNAVAILABLE
    });
    let mut saw_503 = false;
    while !batch.is_finished() {
        let (status, body) = t.call(Method::GET, "/collections", None).await;
        if status == StatusCode::SERVICE_UNAVAILABLE {
            assert_eq!(body["error"]["code"], "overloaded");
            saw_503 = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(saw_503, "no 503 while the only slot was busy");
    assert_eq!(batch.await.unwrap(), StatusCode::OK);
    let (status, _) = t.get("/health").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_headers_are_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let t = start(|o| o.limits = Limits { header_timeout: Duration::from_secs(1), ..Limits::default() }).await;
    let addr = host_port(&t.url);
    let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
    s.write_all(format!("GET /health HTTP/1.1\r\nHost: {addr}\r\nX-Slow: ").as_bytes()).await.unwrap();
    let started = std::time::Instant::now();
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut buf)).await;
    assert!(read.is_ok(), "the connection was still open after 10 s");
    assert!(started.elapsed() < Duration::from_secs(5), "closed only after {:?}", started.elapsed());
    let (status, _) = server_common::parse_response(&buf);
    assert!(status == 0 || status == 408, "{status}");
    let (s, _) = t.get("/health").await;
    assert_eq!(s, StatusCode::OK);
}

/// A vector of finite components whose distances would overflow `f32` is refused on every path
/// with the stable code `vector_too_large` (422, like the other vector-shape errors), binary
/// bodies included, and nothing is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overflowing_vectors_get_vector_too_large() {
    let (t, _) = seeded().await;
    let huge = json!([3e38, 3e38, 3e38, 3e38]);
    let requests = [
        ("/collections/docs/vectors?wait=true", json!({"id": "h", "vector": huge})),
        ("/collections/docs/vectors", json!({"id": "h", "vector": huge})),
        (
            "/collections/docs/vectors/batch?wait=true",
            json!({"vectors": [{"id": "h1", "vector": vector(9, 4)}, {"id": "h2", "vector": huge}]}),
        ),
        ("/collections/docs/vectors/upsert?wait=true", json!({"id": "d1", "vector": huge})),
        ("/collections/docs/search", json!({"vector": huge, "k": 3})),
        ("/collections/docs/search/batch", json!({"vectors": [vector(1, 4), huge], "k": 3})),
        ("/collections/cos/search", json!({"vector": [3e38, 3e38, 3e38]})),
    ];
    for (path, body) in requests {
        let (status, b) = t.post(path, body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {b}");
        assert_eq!(b["error"]["code"], "vector_too_large", "{path}: {b}");
    }
    let bytes: Vec<u8> = [3e38f32; 4].iter().flat_map(|x| x.to_le_bytes()).collect();
    let resp = t
        .client
        .post(t.url("/collections/docs/search?k=3"))
        .header("content-type", "application/octet-stream")
        .body(bytes)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let b: Value = resp.json().await.unwrap();
    assert_eq!(b["error"]["code"], "vector_too_large", "{b}");
    let (_, info) = t.get("/collections/docs").await;
    assert_eq!(info["count"], 5, "{info}");
    let (_, d1) = t.get("/collections/docs/vectors/d1").await;
    let got: Vec<f32> = serde_json::from_value(d1["vector"].clone()).unwrap();
    assert_eq!(got, vector(1, 4));
}

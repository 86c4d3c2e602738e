//! Metrics are recorded on the real code paths: after N searches the counter says N (over HTTP
//! and in process), HTTP requests are counted by route and status, the gauges follow the data,
//! and `needle::metrics::start_server` serves the same registry. One test in this binary, so the
//! process-wide counters see only its traffic.
#![cfg(feature = "server")]

mod server_common;

use reqwest::StatusCode;
use serde_json::json;
use server_common::{start, vector};

/// The value of the sample `series` (name with labels, exactly as exposed), or 0 when absent.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| l.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')))
        .map(|v| v.split_whitespace().next().unwrap().parse().unwrap())
        .unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_follow_the_real_code_paths() {
    let t = start(|_| {}).await;
    let scrape = || async {
        let resp = t.client.get(t.url("/metrics")).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        resp.text().await.unwrap()
    };
    let before = scrape().await;
    for name in [
        "needle_search_latency_seconds",
        "needle_insert_latency_seconds",
        "needle_vectors_total",
        "needle_collections_total",
        "needle_memory_bytes",
        "needle_search_requests",
        "needle_http_requests",
        "needle_http_request_duration_seconds",
    ] {
        assert!(before.contains(&format!("# TYPE {name} ")), "{name} is not exposed:\n{before}");
    }
    let searches0 = sample(&before, "needle_search_requests_total");
    let inserts0 = sample(&before, "needle_insert_latency_seconds_count");

    // Writes: one batch of 20 and 5 single inserts (6 insert calls), one upsert.
    t.create("m", 8, "euclidean").await;
    let batch: Vec<_> = (0..20).map(|i| json!({"id": format!("b{i}"), "vector": vector(i, 8)})).collect();
    let (s, _) = t.post("/collections/m/vectors/batch", json!({"vectors": batch})).await;
    assert_eq!(s, StatusCode::CREATED);
    for i in 0..5 {
        let (s, _) =
            t.post("/collections/m/vectors", json!({"id": format!("s{i}"), "vector": vector(100 + i, 8)})).await;
        assert_eq!(s, StatusCode::CREATED);
    }
    let (s, _) = t.post("/collections/m/vectors/upsert", json!({"id": "s0", "vector": vector(7, 8)})).await;
    assert_eq!(s, StatusCode::OK);

    // N searches over HTTP, one batch of 3, and a rejected one (k = 0) that searches nothing.
    const N: usize = 37;
    for i in 0..N {
        let (s, _) = t.post("/collections/m/search", json!({"vector": vector(500 + i as u64, 8), "k": 5})).await;
        assert_eq!(s, StatusCode::OK);
    }
    let queries: Vec<_> = (0..3).map(|i| vector(900 + i, 8)).collect();
    let (s, _) = t.post("/collections/m/search/batch", json!({"vectors": queries, "k": 2})).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = t.post("/collections/m/search", json!({"vector": vector(1, 8), "k": 0})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    // Rejected searches and rejected inserts (issue 15.8): a query and a vector of the wrong
    // dimensions, JSON and binary, each refused with 422 before anything is searched or written.
    let rejected0 = sample(&before, "needle_search_rejected_total{code=\"dimension_mismatch\"}");
    let invalid0 = sample(&before, "needle_search_rejected_total{code=\"invalid_argument\"}");
    let (s, _) = t.post("/collections/m/search", json!({"vector": vector(1, 3), "k": 2})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let five_floats: Vec<u8> = vector(2, 5).iter().flat_map(|v| v.to_le_bytes()).collect();
    let resp = t
        .client
        .post(t.url("/collections/m/search/batch?k=2"))
        .header("content-type", "application/octet-stream")
        .body(five_floats)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = t.post("/collections/m/vectors", json!({"id": "bad", "vector": vector(3, 9)})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);

    let after = scrape().await;
    assert_eq!(sample(&after, "needle_search_requests_total") - searches0, (N + 3) as f64);
    assert_eq!(sample(&after, "needle_search_latency_seconds_count"), sample(&after, "needle_search_requests_total"));
    // 7 accepted insert calls and the rejected one (the library times every call).
    assert_eq!(sample(&after, "needle_insert_latency_seconds_count") - inserts0, 8.0);
    let route = |m: &str, r: &str, status: u16| {
        format!("needle_http_requests_total{{method=\"{m}\",route=\"{r}\",status=\"{status}\"}}")
    };
    assert_eq!(sample(&after, &route("POST", "/collections/{name}/search", 200)), N as f64);
    assert_eq!(sample(&after, &route("POST", "/collections/{name}/search", 400)), 1.0);
    assert_eq!(sample(&after, &route("POST", "/collections/{name}/search", 422)), 1.0);
    assert_eq!(sample(&after, &route("POST", "/collections/{name}/search/batch", 422)), 1.0);
    assert_eq!(sample(&after, &route("POST", "/collections/{name}/vectors", 422)), 1.0);
    // By code: the library refused the JSON query, the server the binary batch and k = 0.
    let by_code = |code: &str| sample(&after, &format!("needle_search_rejected_total{{code=\"{code}\"}}"));
    assert_eq!(by_code("dimension_mismatch") - rejected0, 2.0);
    assert_eq!(by_code("invalid_argument") - invalid0, 1.0);
    assert_eq!(sample(&after, &route("POST", "/collections/{name}/vectors", 201)), 5.0);
    assert_eq!(sample(&after, &route("GET", "/metrics", 200)), 1.0, "the first scrape is counted");
    let latency = "needle_http_request_duration_seconds_count{method=\"POST\",route=\"/collections/{name}/search\"}";
    assert_eq!(sample(&after, latency), (N + 2) as f64);
    // Gauges: this process has one collection of 25 vectors.
    assert_eq!(sample(&after, "needle_collections_total"), 1.0);
    assert_eq!(sample(&after, "needle_vectors_total"), 25.0);
    assert!(sample(&after, "needle_memory_bytes") > 25.0 * 8.0 * 4.0);

    // In process: the library path counts too, and the embedded endpoint serves the registry.
    let c = t.server.as_ref().unwrap().state().db().collection("m").unwrap();
    let counted = needle::metrics::search_requests_total();
    for i in 0..10 {
        c.search(&vector(i, 8), 3).unwrap();
    }
    assert_eq!(needle::metrics::search_requests_total(), counted + 10);
    let m = needle::metrics::start_server("127.0.0.1:0").unwrap();
    assert!(m.local_addr().ip().is_loopback());
    let resp = t.client.get(format!("http://{}/metrics", m.local_addr())).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let text = resp.text().await.unwrap();
    assert_eq!(sample(&text, "needle_search_requests_total"), sample(&after, "needle_search_requests_total") + 10.0);
    let resp = t.client.get(format!("http://{}/other", m.local_addr())).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);

    // Dropping the collection takes it out of the gauges.
    let (s, _) = t.delete("/collections/m").await;
    assert_eq!(s, StatusCode::OK);
    drop(c);
    let last = scrape().await;
    assert_eq!(sample(&last, "needle_collections_total"), 0.0);
    assert_eq!(sample(&last, "needle_vectors_total"), 0.0);
}

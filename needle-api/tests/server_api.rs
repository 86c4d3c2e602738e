//! Every REST route over a real socket on 127.0.0.1, and the OpenAPI document against the routes.
#![cfg(feature = "server")]

mod server_common;

use needle::Database;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use server_common::{error_code, start, vector};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_end_to_end_then_data_survives_shutdown() {
    let mut t = start(|_| {}).await;

    // Health.
    let (s, b) = t.get("/health").await;
    assert_eq!((s, b["status"].as_str()), (StatusCode::OK, Some("ok")), "{b}");
    let (s, b) = t.get("/health/ready").await;
    assert_eq!((s, b["status"].as_str(), b["collections"].as_u64()), (StatusCode::OK, Some("ready"), Some(0)));

    // Collections.
    let (s, b) = t
        .post(
            "/collections",
            json!({"name": "docs", "dimensions": 4, "distance": "euclidean", "hnsw_m": 8, "ef_construction": 64}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["config"]["distance"], "euclidean");
    assert_eq!(b["config"]["hnsw_m"], 8);
    t.create("other", 3, "cosine").await;
    let (s, b) = t.post("/collections", json!({"name": "docs", "dimensions": 4})).await;
    assert_eq!((s, error_code(&b).as_str()), (StatusCode::CONFLICT, "collection_exists"));
    let (s, b) = t.get("/collections").await;
    assert_eq!(s, StatusCode::OK);
    let names: Vec<&str> = b["collections"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["docs", "other"]);

    // Vectors: insert, insert with wait, batch, upsert.
    let (s, b) = t
        .post("/collections/docs/vectors", json!({"id": "a", "vector": [1.0, 0.0, 0.0, 0.0], "metadata": {"n": 1}}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["written"], 1);
    let (s, b) =
        t.post("/collections/docs/vectors?wait=true", json!({"id": "b", "vector": [0.0, 1.0, 0.0, 0.0]})).await;
    assert_eq!((s, b["durable"].as_bool()), (StatusCode::CREATED, Some(true)), "{b}");
    let (s, b) = t
        .post(
            "/collections/docs/vectors/batch?wait=true",
            json!({"vectors": [
                {"id": "c", "vector": [0.0, 0.0, 1.0, 0.0]},
                {"id": "d", "vector": [0.0, 0.0, 0.0, 1.0], "metadata": {"d": "dee"}},
                {"id": "e", "vector": [0.5, 0.5, 0.0, 0.0]}
            ]}),
        )
        .await;
    assert_eq!((s, b["written"].as_u64()), (StatusCode::CREATED, Some(3)), "{b}");
    let (s, b) = t
        .post(
            "/collections/docs/vectors/upsert",
            json!({"id": "a", "vector": [0.9, 0.1, 0.0, 0.0], "metadata": {"n": 2}}),
        )
        .await;
    assert_eq!((s, b["replaced"].as_bool()), (StatusCode::OK, Some(true)), "{b}");
    let (s, b) = t.post("/collections/docs/vectors/upsert", json!({"id": "f", "vector": [0.0, 0.0, 0.5, 0.5]})).await;
    assert_eq!((s, b["replaced"].as_bool()), (StatusCode::OK, Some(false)), "{b}");
    let (s, b) = t.post("/collections/docs/vectors", json!({"id": "a", "vector": [1.0, 0.0, 0.0, 0.0]})).await;
    assert_eq!((s, error_code(&b).as_str()), (StatusCode::CONFLICT, "duplicate_id"));

    // Get.
    let (s, b) = t.get("/collections/docs/vectors/a").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!((&b["id"], &b["metadata"]), (&json!("a"), &json!({"n": 2})));
    let v: Vec<f32> = serde_json::from_value(b["vector"].clone()).unwrap();
    assert_eq!(v, [0.9f32, 0.1, 0.0, 0.0]);
    let (s, b) = t.get("/collections/docs/vectors/nope").await;
    assert_eq!((s, error_code(&b).as_str()), (StatusCode::NOT_FOUND, "vector_not_found"));
    // An id with characters that need encoding.
    let (s, _) = t.post("/collections/docs/vectors", json!({"id": "x/y z", "vector": [0.1, 0.2, 0.3, 0.4]})).await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, b) = t.get("/collections/docs/vectors/x%2Fy%20z").await;
    assert_eq!((s, b["id"].as_str()), (StatusCode::OK, Some("x/y z")), "{b}");

    // Collection info.
    let (s, b) = t.get("/collections/docs").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!((b["count"].as_u64(), b["dimensions"].as_u64()), (Some(7), Some(4)), "{b}");

    // Search.
    let (s, b) = t.post("/collections/docs/search", json!({"vector": [1.0, 0.0, 0.0, 0.0], "k": 2})).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let hits = b["results"].as_array().unwrap();
    assert_eq!(hits.len(), 2);
    assert_eq!(hits[0]["id"], "a");
    assert_eq!(hits[0]["metadata"], json!({"n": 2}));
    assert!(hits[0]["distance"].as_f64().unwrap() <= hits[1]["distance"].as_f64().unwrap());
    assert!(b.get("explain").is_none());
    let (s, b) = t
        .post(
            "/collections/docs/search",
            json!({"vector": [1.0, 0.0, 0.0, 0.0], "k": 1, "ef": 32, "include_metadata": false, "explain": true, "filter": null}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert!(b["results"][0].get("metadata").is_none(), "{b}");
    assert_eq!(b["explain"]["index"], "hnsw");
    assert_eq!(b["explain"]["live"], 7);
    assert_eq!(b["explain"]["returned"], 1);
    assert!(b["explain"]["strategy"].is_string(), "{b}");
    // A forced exact scan, a metadata filter, a filter in a batch.
    let (s, b) = t
        .post(
            "/collections/docs/search",
            json!({"vector": [1.0, 0.0, 0.0, 0.0], "k": 3, "ef": 32, "strategy": "exact", "explain": true}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["explain"]["strategy"], "exact", "{b}");
    assert_eq!(b["explain"]["distance_computations"], 7, "{b}");
    let (s, b) = t
        .post(
            "/collections/docs/search",
            json!({"vector": [0.0, 0.0, 0.0, 1.0], "k": 10, "filter": {"n": {"$gte": 2}}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let ids: Vec<&str> = b["results"].as_array().unwrap().iter().map(|h| h["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["a"], "{b}");
    let (s, b) = t
        .post(
            "/collections/docs/search/batch",
            json!({"vectors": [[0.0, 0.0, 0.0, 1.0], [0.0, 1.0, 0.0, 0.0]], "k": 5, "filter": {"n": {"$exists": true}}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(
        b["results"],
        json!([[{"id": "a", "distance": b["results"][0][0]["distance"], "metadata": {"n": 2}}],
        [{"id": "a", "distance": b["results"][1][0]["distance"], "metadata": {"n": 2}}]])
    );
    let (s, b) = t
        .post(
            "/collections/docs/search/batch",
            json!({"vectors": [[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0]], "k": 1}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["results"][0][0]["id"], "a");
    assert_eq!(b["results"][1][0]["id"], "d");
    assert_eq!(b["results"][1][0]["metadata"]["d"], "dee");

    // Delete a vector (twice: the second is a 404), compact, save.
    let (s, b) = t.delete("/collections/docs/vectors/b?wait=true").await;
    assert_eq!((s, b["deleted"].as_bool()), (StatusCode::OK, Some(true)), "{b}");
    let (s, b) = t.delete("/collections/docs/vectors/b").await;
    assert_eq!((s, error_code(&b).as_str()), (StatusCode::NOT_FOUND, "vector_not_found"));
    let (s, b) = t.post("/collections/docs/compact", json!({})).await;
    assert_eq!((s, b["status"].as_str()), (StatusCode::OK, Some("compacted")), "{b}");
    let (s, b) = t.call(Method::POST, "/save", None).await;
    assert_eq!((s, b["status"].as_str()), (StatusCode::OK, Some("saved")), "{b}");
    let (s, b) = t.post("/collections/docs/search", json!({"vector": [0.0, 1.0, 0.0, 0.0], "k": 10})).await;
    assert_eq!(s, StatusCode::OK);
    let ids: Vec<&str> = b["results"].as_array().unwrap().iter().map(|h| h["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 6);
    assert!(!ids.contains(&"b"));

    // Metrics and OpenAPI.
    let resp = t.client.get(t.url("/metrics")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers()["content-type"].to_str().unwrap().contains("openmetrics-text"));
    let text = resp.text().await.unwrap();
    for name in ["needle_search_requests_total", "needle_search_latency_seconds", "needle_http_requests_total"] {
        assert!(text.contains(name), "{name} missing");
    }
    let (s, doc) = t.get("/openapi.json").await;
    assert_eq!(s, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."), "{}", doc["openapi"]);

    // Drop a collection.
    let (s, _) = t.delete("/collections/other").await;
    assert_eq!(s, StatusCode::OK);
    let (s, b) = t.get("/collections/other").await;
    assert_eq!((s, error_code(&b).as_str()), (StatusCode::NOT_FOUND, "collection_not_found"));

    // Shut down (checkpoint), reopen the file directly: everything is there.
    t.shutdown().await;
    let db = Database::open(&t.db_path).unwrap();
    assert_eq!(db.list_collections().unwrap(), ["docs"]);
    let docs = db.collection("docs").unwrap();
    assert_eq!(docs.count().unwrap(), 6);
    assert_eq!(docs.get("a").unwrap().unwrap().metadata, Some(json!({"n": 2})));
    assert!(docs.get("b").unwrap().is_none());
}

/// Fills `{name}` and `{id}` placeholders.
fn concrete(path: &str) -> String {
    path.replace("{name}", "docs").replace("{id}", "v1")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_document_lists_exactly_the_served_routes() {
    let t = start(|_| {}).await;
    let (s, doc) = t.get("/openapi.json").await;
    assert_eq!(s, StatusCode::OK);
    let mut documented: Vec<(String, String)> = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if ["get", "post", "put", "delete", "patch", "head"].contains(&method.as_str()) {
                documented.push((method.to_uppercase(), path.clone()));
            }
        }
    }
    documented.sort();
    let mut routes: Vec<(String, String)> =
        needle::server::ROUTES.iter().map(|r| (r.method.to_string(), r.path.to_string())).collect();
    routes.sort();
    assert_eq!(documented, routes);
    // The list of routes is all there.
    for (m, p) in [
        ("GET", "/health"),
        ("GET", "/health/ready"),
        ("GET", "/collections"),
        ("POST", "/collections"),
        ("GET", "/collections/{name}"),
        ("DELETE", "/collections/{name}"),
        ("POST", "/collections/{name}/vectors"),
        ("POST", "/collections/{name}/vectors/batch"),
        ("POST", "/collections/{name}/vectors/upsert"),
        ("GET", "/collections/{name}/vectors/{id}"),
        ("DELETE", "/collections/{name}/vectors/{id}"),
        ("POST", "/collections/{name}/search"),
        ("POST", "/collections/{name}/search/batch"),
        ("POST", "/collections/{name}/compact"),
        ("POST", "/save"),
        ("GET", "/metrics"),
        ("GET", "/openapi.json"),
    ] {
        assert!(routes.contains(&(m.to_string(), p.to_string())), "{m} {p} is not served");
    }
    // Every documented operation is routed by the live server: whatever it answers, it is not
    // the router's "no such route" or "method not allowed".
    t.create("docs", 2, "euclidean").await;
    for (method, path) in &documented {
        if method == "DELETE" && path == "/collections/{name}" {
            continue; // checked last
        }
        let body = (method == "POST").then(|| json!({}));
        let (s, b) = t.call(Method::from_bytes(method.as_bytes()).unwrap(), &concrete(path), body).await;
        let not_routed =
            s == StatusCode::METHOD_NOT_ALLOWED || (s == StatusCode::NOT_FOUND && b["error"]["code"] == "not_found");
        assert!(!not_routed, "{method} {path}: {s} {b}");
        assert!(!s.is_server_error(), "{method} {path}: {s} {b}");
    }
    let (s, _) = t.delete("/collections/docs").await;
    assert_eq!(s, StatusCode::OK);
    // And an unknown route is a JSON 404, a wrong method a JSON 405.
    let (s, b) = t.get("/nope").await;
    assert_eq!((s, error_code(&b).as_str()), (StatusCode::NOT_FOUND, "not_found"));
    let (s, b) = t.call(Method::PUT, "/collections", Some(Value::Null)).await;
    assert_eq!((s, error_code(&b).as_str()), (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn searches_of_one_collection_run_while_another_takes_a_large_batch() {
    let t = start(|_| {}).await;
    t.create("big", 64, "euclidean").await;
    t.create("small", 8, "euclidean").await;
    for i in 0..20 {
        let (s, _) = t.post("/collections/small/vectors", json!({"id": format!("s{i}"), "vector": vector(i, 8)})).await;
        assert_eq!(s, StatusCode::CREATED);
    }
    let batch: Vec<Value> = (0..1000).map(|i| json!({"id": format!("b{i}"), "vector": vector(1000 + i, 64)})).collect();
    let writer = {
        let client = t.client.clone();
        let url = t.url("/collections/big/vectors/batch");
        tokio::spawn(async move { client.post(url).json(&json!({"vectors": batch})).send().await.unwrap().status() })
    };
    let mut searched = 0;
    while !writer.is_finished() && searched < 2000 {
        let (s, b) = t.post("/collections/small/search", json!({"vector": vector(searched, 8), "k": 3})).await;
        assert_eq!(s, StatusCode::OK, "{b}");
        searched += 1;
    }
    assert_eq!(writer.await.unwrap(), StatusCode::CREATED);
    assert!(searched > 0);
}

//! `POST /collections/{name}/search/hybrid` over a real socket, and the filter / explain options of
//! `POST /collections/{name}/search`.
#![cfg(feature = "server")]

mod server_common;

use reqwest::StatusCode;
use serde_json::json;
use server_common::{error_code, start, vector};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hybrid_route_filters_and_explain() {
    let mut t = start(|_| {}).await;
    let (s, b) = t.post("/collections", json!({"name": "docs", "dimensions": 8, "text_field": "body"})).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let words = ["alpha", "bravo", "charlie", "delta"];
    let vectors: Vec<_> = (0..200)
        .map(|i| {
            let body = if i == 123 { "the rare xylophone".to_string() } else { format!("{} text {i}", words[i % 4]) };
            json!({"id": format!("v{i}"), "vector": vector(i as u64, 8), "metadata": {"body": body, "n": i}})
        })
        .collect();
    let (s, b) = t.post("/collections/docs/vectors/batch", json!({"vectors": vectors})).await;
    assert!(s.is_success(), "{b}");

    let q = vector(7, 8);
    let (s, b) = t.post("/collections/docs/search/hybrid", json!({"text": "xylophone", "vector": q, "k": 5})).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let hits = b["results"].as_array().unwrap();
    assert_eq!(hits.len(), 5);
    let rare = hits.iter().find(|h| h["id"] == "v123").expect("keyword hit in the fused top 5");
    assert_eq!(rare["text_rank"], 1);
    assert!(hits.iter().any(|h| h["id"] == "v7" && h["vector_rank"] == 1), "{b}");

    // Weights, rrf_k and a filter.
    let (s, b) = t
        .post(
            "/collections/docs/search/hybrid",
            json!({"text": "alpha xylophone", "vector": q, "k": 4, "rrf_k": 10, "vector_weight": 0.5,
                   "text_weight": 2, "filter": {"n": {"$lt": 100}}, "include_metadata": true}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    for h in b["results"].as_array().unwrap() {
        assert!(h["metadata"]["n"].as_u64().unwrap() < 100, "{b}");
    }

    // Bad requests.
    let (s, b) = t
        .post("/collections/docs/search/hybrid", json!({"text": "x", "vector": q, "filter": {"n": {"$bad": 1}}}))
        .await;
    assert_eq!((s, error_code(&b).as_str()), (StatusCode::BAD_REQUEST, "invalid_filter"), "{b}");
    let (s, b) = t
        .post(
            "/collections/docs/search/hybrid",
            json!({"text": "x", "vector": q, "vector_weight": 0, "text_weight": 0}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    t.create("plain", 8, "cosine").await;
    let (s, b) = t.post("/collections/plain/search/hybrid", json!({"text": "x", "vector": q})).await;
    assert_eq!((s, error_code(&b).as_str()), (StatusCode::BAD_REQUEST, "invalid_config"), "{b}");
    let (s, _) = t.post("/collections/nope/search/hybrid", json!({"text": "x", "vector": q})).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Filter and explain on the plain search route.
    let (s, b) = t
        .post("/collections/docs/search", json!({"vector": q, "k": 3, "filter": {"n": {"$gte": 150}}, "explain": true}))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert!(b["results"].as_array().unwrap().iter().all(|h| h["metadata"]["n"].as_u64().unwrap() >= 150));
    assert_eq!(b["explain"]["filter_matches"], 50);
    assert!(b["explain"]["strategy"].is_string());

    // The route is in the OpenAPI document.
    let (s, doc) = t.get("/openapi.json").await;
    assert_eq!(s, StatusCode::OK);
    assert!(doc["paths"]["/collections/{name}/search/hybrid"]["post"].is_object());
    t.shutdown().await;
}

//! Binary bodies (`Content-Type: application/octet-stream`, little-endian f32) on the search
//! routes, over a real socket: they answer exactly what the JSON bodies answer, and every bad
//! length, value or parameter is a 4xx with a stable code (never a 5xx, never a partial search).
//! Routes that only read JSON refuse a binary body with 415.
#![cfg(feature = "server")]

mod server_common;

use reqwest::StatusCode;
use serde_json::{json, Value};
use server_common::{error_code, start, vector, TestServer};

const DIM: usize = 4;

fn le_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// POSTs `body` as `application/octet-stream` to `path` (query string included).
async fn post_binary(t: &TestServer, path: &str, body: Vec<u8>) -> (StatusCode, Value) {
    let resp =
        t.client.post(t.url(path)).header("content-type", "application/octet-stream").body(body).send().await.unwrap();
    let status = resp.status();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn server_with_data() -> TestServer {
    let t = start(|o| {
        o.limits.max_batch = 5;
        o.limits.max_batch_results = 12;
        o.limits.max_body_bytes = 4096;
    })
    .await;
    t.create("b", DIM, "euclidean").await;
    for first in (0..30).step_by(5) {
        let batch: Vec<_> = (first..first + 5)
            .map(|i| json!({"id": format!("v{i}"), "vector": vector(i, DIM), "metadata": {"i": i}}))
            .collect();
        let (s, b) = t.post("/collections/b/vectors/batch", json!({"vectors": batch})).await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
    }
    t
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_search_answers_what_json_answers() {
    let t = server_with_data().await;
    for seed in [3u64, 17, 99] {
        let q = vector(seed, DIM);
        let (s, from_json) = t.post("/collections/b/search", json!({"vector": q, "k": 4})).await;
        assert_eq!(s, StatusCode::OK, "{from_json}");
        let (s, from_binary) = post_binary(&t, "/collections/b/search?k=4", le_bytes(&q)).await;
        assert_eq!(s, StatusCode::OK, "{from_binary}");
        assert_eq!(from_binary, from_json);
        assert_eq!(from_binary["results"].as_array().unwrap().len(), 4);
    }
    // Query-string parameters reach the search.
    let q = vector(5, DIM);
    let (s, b) = post_binary(&t, "/collections/b/search?k=2&include_metadata=false&explain=true", le_bytes(&q)).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let hits = b["results"].as_array().unwrap();
    assert_eq!(hits.len(), 2);
    assert!(hits.iter().all(|h| h.get("metadata").is_none()), "{b}");
    assert!(b["explain"].is_object(), "{b}");

    // Batch: n queries back to back, results in query order, equal to the JSON batch.
    let queries: Vec<Vec<f32>> = (0..3).map(|i| vector(200 + i, DIM)).collect();
    let (s, from_json) = t.post("/collections/b/search/batch", json!({"vectors": queries, "k": 3})).await;
    assert_eq!(s, StatusCode::OK, "{from_json}");
    let flat: Vec<f32> = queries.concat();
    let (s, from_binary) = post_binary(&t, "/collections/b/search/batch?k=3", le_bytes(&flat)).await;
    assert_eq!(s, StatusCode::OK, "{from_binary}");
    assert_eq!(from_binary, from_json);
    assert_eq!(from_binary["results"].as_array().unwrap().len(), 3);
    // A query that is itself a stored vector finds it first.
    let (s, b) = post_binary(&t, "/collections/b/search/batch?k=1", le_bytes(&vector(7, DIM))).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["results"][0][0]["id"], "v7");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_binary_bodies_are_refused_with_stable_codes() {
    let t = server_with_data().await;
    let q = le_bytes(&vector(1, DIM));
    let cases: Vec<(&str, &str, Vec<u8>, StatusCode, &str)> = vec![
        // Not a whole number of f32 values.
        ("single, 15 bytes", "/collections/b/search", q[..15].to_vec(), StatusCode::BAD_REQUEST, "invalid_argument"),
        (
            "single, 17 bytes",
            "/collections/b/search",
            [q.clone(), vec![0]].concat(),
            StatusCode::BAD_REQUEST,
            "invalid_argument",
        ),
        // Whole values, wrong dimensions.
        (
            "single, 2 values",
            "/collections/b/search",
            q[..8].to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "dimension_mismatch",
        ),
        (
            "single, 8 values",
            "/collections/b/search",
            [q.clone(), q.clone()].concat(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "dimension_mismatch",
        ),
        ("single, empty", "/collections/b/search", Vec::new(), StatusCode::UNPROCESSABLE_ENTITY, "dimension_mismatch"),
        (
            "single, NaN",
            "/collections/b/search",
            le_bytes(&[0.5, f32::NAN, 0.1, 0.2]),
            StatusCode::UNPROCESSABLE_ENTITY,
            "non_finite_vector",
        ),
        (
            "single, infinity",
            "/collections/b/search",
            le_bytes(&[0.5, f32::INFINITY, 0.1, 0.2]),
            StatusCode::UNPROCESSABLE_ENTITY,
            "non_finite_vector",
        ),
        (
            "batch, 14 bytes",
            "/collections/b/search/batch",
            q[..14].to_vec(),
            StatusCode::BAD_REQUEST,
            "invalid_argument",
        ),
        (
            "batch, 13 values",
            "/collections/b/search/batch",
            le_bytes(&vector(2, 13)),
            StatusCode::UNPROCESSABLE_ENTITY,
            "dimension_mismatch",
        ),
        (
            "batch, NaN in query 2",
            "/collections/b/search/batch?k=1",
            [q.clone(), le_bytes(&[f32::NAN, 0.0, 0.0, 1.0])].concat(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "non_finite_vector",
        ),
        // Limits: 6 queries > max_batch 5; 4 queries x k=4 = 16 hits > max_batch_results 12;
        // a body past max_body_bytes.
        (
            "batch, 6 queries",
            "/collections/b/search/batch?k=1",
            le_bytes(&vector(3, 6 * DIM)),
            StatusCode::PAYLOAD_TOO_LARGE,
            "batch_too_large",
        ),
        (
            "batch, 16 hits",
            "/collections/b/search/batch?k=4",
            le_bytes(&vector(3, 4 * DIM)),
            StatusCode::PAYLOAD_TOO_LARGE,
            "batch_too_large",
        ),
        (
            "batch, 5000 bytes",
            "/collections/b/search/batch",
            vec![0; 5000],
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
        // Parameters in the query string.
        ("single, k=abc", "/collections/b/search?k=abc", q.clone(), StatusCode::BAD_REQUEST, "invalid_argument"),
        ("single, k=0", "/collections/b/search?k=0", q.clone(), StatusCode::BAD_REQUEST, "invalid_argument"),
        (
            "single, k over max_k",
            "/collections/b/search?k=100000",
            q.clone(),
            StatusCode::BAD_REQUEST,
            "invalid_argument",
        ),
        (
            "single, unknown parameter",
            "/collections/b/search?filter=x",
            q.clone(),
            StatusCode::BAD_REQUEST,
            "invalid_argument",
        ),
        (
            "single, explain=maybe",
            "/collections/b/search?explain=maybe",
            q.clone(),
            StatusCode::BAD_REQUEST,
            "invalid_argument",
        ),
        (
            "single, unknown strategy",
            "/collections/b/search?strategy=psychic",
            q.clone(),
            StatusCode::BAD_REQUEST,
            "invalid_argument",
        ),
        (
            "batch, unknown parameter",
            "/collections/b/search/batch?explain=true",
            q.clone(),
            StatusCode::BAD_REQUEST,
            "invalid_argument",
        ),
        ("batch, ef=0", "/collections/b/search/batch?ef=0", q.clone(), StatusCode::BAD_REQUEST, "invalid_argument"),
        // Other collections and routes.
        (
            "single, missing collection",
            "/collections/nope/search",
            q.clone(),
            StatusCode::NOT_FOUND,
            "collection_not_found",
        ),
        (
            "batch, missing collection",
            "/collections/nope/search/batch",
            q.clone(),
            StatusCode::NOT_FOUND,
            "collection_not_found",
        ),
        (
            "insert takes JSON only",
            "/collections/b/vectors",
            q.clone(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            "hybrid takes JSON only",
            "/collections/b/search/hybrid",
            q.clone(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
    ];
    for (what, path, body, status, code) in cases {
        let (s, b) = post_binary(&t, path, body).await;
        assert_eq!(s, status, "{what}: {b}");
        assert_eq!(error_code(&b), code, "{what}: {b}");
    }
    // Nothing was written and the server still answers.
    let (s, b) = t.get("/collections/b").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b["count"], 30, "{b}");
    let (s, _) = post_binary(&t, "/collections/b/search?k=1", q).await;
    assert_eq!(s, StatusCode::OK);
}

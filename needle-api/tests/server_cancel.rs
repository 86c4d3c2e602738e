//! A request that times out cancels its work, and holds its concurrency slot until the work has
//! really stopped (issue 15, item 3). Alone in its test binary: it reads the process-wide count
//! of queries searched.
#![cfg(feature = "server")]

mod server_common;

use std::time::{Duration, Instant};

use needle::server::Limits;
use needle::CollectionConfig;
use reqwest::StatusCode;
use serde_json::json;
use server_common::{start, vector};

const DIM: usize = 256;
const ROWS: u64 = 40_000;
const QUERIES: usize = 1000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timed_out_batch_stops_and_releases_its_slot_only_then() {
    let t = start(|o| {
        o.limits =
            Limits { max_concurrent_requests: 1, request_timeout: Duration::from_millis(300), ..Limits::default() };
    })
    .await;
    // A flat collection searched exactly: 1,000 queries x 40,000 x 256 take many seconds.
    let db = t.server.as_ref().unwrap().state().db().clone();
    tokio::task::spawn_blocking(move || {
        let c = db.create_collection_with_config(CollectionConfig::new("big", DIM).with_index("flat")).unwrap();
        let rows: Vec<(String, Vec<f32>, Option<serde_json::Value>)> =
            (0..ROWS).map(|i| (format!("r{i}"), vector(i, DIM), None)).collect();
        c.insert_batch(&rows).unwrap();
    })
    .await
    .unwrap();

    let queries: Vec<Vec<f32>> = (0..QUERIES as u64).map(|i| vector(1_000_000 + i, DIM)).collect();
    let before = needle::metrics::search_requests_total();
    let body = json!({"vectors": queries, "k": 10, "strategy": "exact"});
    let (s, b) = t.post("/collections/big/search/batch", body).await;
    assert_eq!(s, StatusCode::REQUEST_TIMEOUT, "{b}");
    let timed_out_at = Instant::now();

    // The slot comes back once the work has stopped: poll a route that needs one.
    let freed_after = loop {
        let (s, b) = t.get("/collections").await;
        match s {
            StatusCode::OK => break timed_out_at.elapsed(),
            StatusCode::SERVICE_UNAVAILABLE => assert_eq!(b["error"]["code"], "overloaded", "{b}"),
            other => panic!("{other}: {b}"),
        }
        assert!(timed_out_at.elapsed() < Duration::from_secs(60), "the slot never came back");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    // Once the slot is free, no query of the batch is still running...
    let at_release = needle::metrics::search_requests_total();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let later = needle::metrics::search_requests_total();
    assert_eq!(later, at_release, "queries kept running after the slot was released");
    // ... and the batch stopped far short of its 1,000 queries.
    let searched = at_release - before;
    println!("timed out at 300 ms; {searched} of {QUERIES} queries searched; slot free {freed_after:?} after the 408");
    assert!(searched < QUERIES as u64 / 2, "{searched} of {QUERIES} queries ran after a 300 ms timeout");

    // The server serves normally afterwards.
    let (s, b) = t.post("/collections/big/search", json!({"vector": vector(5, DIM), "k": 3})).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["results"][0]["id"], "r5");
}

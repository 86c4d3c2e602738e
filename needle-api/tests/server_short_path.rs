//! Short searches run in place on the async worker when nothing else is in flight (see
//! `server::admit::short`). Driven from several clients at once, interleaved with writes to the
//! same collection and long exact batches, under a concurrency limit small enough to refuse some
//! requests: every answer must equal the in-process search, every refusal must be a clean 503
//! `overloaded`, and every slot must come back. No assertion depends on which request runs first.
#![cfg(feature = "server")]

mod server_common;

use std::time::{Duration, Instant};

use needle::server::{AppState, Limits};
use needle::{CollectionConfig, Database, DistanceFunction, SearchParams, SearchResult, Strategy};
use reqwest::StatusCode;
use serde_json::{json, Value};
use server_common::{start, vector};

const DIM: usize = 16;
/// A graph searched by an HNSW walk (no writes touch it, so its answers are fixed).
const BIG: u64 = 20_000;
/// A collection small enough for its searches at `ef = 256` to be exact (the index scans when
/// it holds at most 2 x ef live vectors), so writes never change its answers.
const NEAR: u64 = 300;
const NEAR_EF: usize = 256;
const CLIENTS: u64 = 4;
const SEARCHES_PER_CLIENT: u64 = 60;
const QUERIES: u64 = 32;
/// Every request may wait this long for a slot: far more than the test needs even on a loaded
/// machine, so a failure means a slot was lost, not that the machine was slow.
const DEADLINE: Duration = Duration::from_secs(120);

/// A vector written (and deleted) while the searches run: far from every query (Euclidean), so
/// it never ranks in a top 10 of 300 near ones.
fn far(seed: u64) -> Vec<f32> {
    vector(seed, DIM).into_iter().map(|x| x + 100.0).collect()
}

/// (id, distance) of each hit, as the library returns them.
fn expected(hits: Vec<SearchResult>) -> Vec<(String, f32)> {
    hits.into_iter().map(|h| (h.id, h.distance)).collect()
}

/// (id, distance) of each hit of one JSON result list.
fn answered(list: &Value) -> Vec<(String, f32)> {
    list.as_array()
        .unwrap_or_else(|| panic!("no result list in {list}"))
        .iter()
        .map(|h| (h["id"].as_str().unwrap().to_string(), h["distance"].as_f64().unwrap() as f32))
        .collect()
}

/// Sends `body` (JSON, or none for DELETE) until it is admitted: a 503 must be `overloaded` and
/// is retried, anything else is returned. Returns the status, the body and how many 503s it met.
async fn admitted(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    body: Option<&Value>,
) -> (StatusCode, Value, u32) {
    let started = Instant::now();
    let mut refused = 0;
    loop {
        let mut req = http.request(method.clone(), url);
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().await.unwrap_or_else(|e| panic!("{url}: {e}"));
        let status = resp.status();
        let text = resp.text().await.unwrap();
        let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if status != StatusCode::SERVICE_UNAVAILABLE {
            return (status, v, refused);
        }
        assert_eq!(v["error"]["code"], "overloaded", "{text}");
        refused += 1;
        assert!(started.elapsed() < DEADLINE, "{url}: still refused after {DEADLINE:?}");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Waits (bounded) until no request holds a slot.
async fn slots_all_back(state: &AppState) {
    let started = Instant::now();
    while state.requests_in_flight() != 0 {
        assert!(started.elapsed() < DEADLINE, "{} slots never came back", state.requests_in_flight());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn setup(db: &Database) {
    let big = db.create_collection_with_config(CollectionConfig::new("big", DIM)).unwrap();
    let rows: Vec<(String, Vec<f32>, Option<Value>)> =
        (0..BIG).map(|i| (format!("b{i}"), vector(i, DIM), None)).collect();
    big.insert_batch(&rows).unwrap();
    let config = CollectionConfig::new("near", DIM).with_distance(DistanceFunction::Euclidean);
    let near = db.create_collection_with_config(config).unwrap();
    let rows: Vec<(String, Vec<f32>, Option<Value>)> =
        (0..NEAR).map(|i| (format!("n{i}"), vector(1_000_000 + i, DIM), None)).collect();
    near.insert_batch(&rows).unwrap();
}

#[test]
fn only_the_built_in_graph_index_is_beam_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v.needle");
    {
        let db = Database::open(&path).unwrap();
        let hnsw = db.create_collection("hnsw", 3).unwrap();
        let flat = db.create_collection_with_config(CollectionConfig::new("flat", 3).with_index("flat")).unwrap();
        assert!(hnsw.is_beam_bounded() && !flat.is_beam_bounded());
        hnsw.insert("a", &[1.0, 0.0, 0.0], None).unwrap();
        hnsw.insert("b", &[0.0, 1.0, 0.0], None).unwrap();
        hnsw.delete("a").unwrap();
        hnsw.compact().unwrap();
        assert!(hnsw.is_beam_bounded(), "compaction rebuilds the same kind of index");
        db.save().unwrap();
    }
    let db = Database::open(&path).unwrap();
    assert!(db.collection("hnsw").unwrap().is_beam_bounded());
    assert!(!db.collection("flat").unwrap().is_beam_bounded());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn short_searches_in_place_stay_correct_beside_writes_and_exact_batches() {
    let t = start(|o| o.limits = Limits { max_concurrent_requests: 3, ..Limits::default() }).await;
    let state = t.server.as_ref().unwrap().state().clone();
    let db = state.db().clone();
    let queries: Vec<Vec<f32>> = (0..QUERIES).map(|i| vector(5_000_000 + i, DIM)).collect();
    let (want_big, want_near, want_batch) = {
        let (db, queries) = (db.clone(), queries.clone());
        tokio::task::spawn_blocking(move || {
            setup(&db);
            let (big, near) = (db.collection("big").unwrap(), db.collection("near").unwrap());
            let graph = SearchParams::new(10);
            let scan = SearchParams::new(10).with_ef_search(NEAR_EF);
            let exact = SearchParams::new(10).with_strategy(Strategy::Exact);
            let want_big: Vec<_> = queries.iter().map(|q| expected(big.search_with(q, &graph).unwrap())).collect();
            let want_near: Vec<_> = queries.iter().map(|q| expected(near.search_with(q, &scan).unwrap())).collect();
            let want_batch: Vec<_> = queries.iter().map(|q| expected(big.search_with(q, &exact).unwrap())).collect();
            (want_big, want_near, want_batch)
        })
        .await
        .unwrap()
    };
    assert!(db.collection("big").unwrap().config().ef_search.max(10) <= NEAR_EF, "the big searches are short");

    // Alone, one client's searches take the in-place path; they must already be right.
    for (i, q) in queries.iter().enumerate() {
        let (s, b, _) = admitted(
            &t.client,
            reqwest::Method::POST,
            &t.url("/collections/big/search"),
            Some(&json!({"vector": q, "k": 10})),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        assert_eq!(answered(&b["results"]), want_big[i], "query {i} alone");
    }

    let mut tasks = Vec::new();
    // Short searches from several clients, on both collections.
    for client in 0..CLIENTS {
        let (http, base, queries) = (t.client.clone(), t.url.clone(), queries.clone());
        let (want_big, want_near) = (want_big.clone(), want_near.clone());
        tasks.push(tokio::spawn(async move {
            let mut refused = 0;
            for n in 0..SEARCHES_PER_CLIENT {
                let i = ((n * CLIENTS + client) % QUERIES) as usize;
                let (url, body, want) = if n % 2 == 0 {
                    (format!("{base}/collections/big/search"), json!({"vector": queries[i], "k": 10}), &want_big[i])
                } else {
                    let body = json!({"vector": queries[i], "k": 10, "ef": NEAR_EF});
                    (format!("{base}/collections/near/search"), body, &want_near[i])
                };
                let (s, b, r) = admitted(&http, reqwest::Method::POST, &url, Some(&body)).await;
                assert_eq!(s, StatusCode::OK, "{url}: {b}");
                assert_eq!(&answered(&b["results"]), want, "client {client}, search {n}: {url}");
                refused += r;
            }
            refused
        }));
    }
    // Writers on the searched collection: each vector is inserted, then deleted.
    for writer in 0..2u64 {
        let (http, base) = (t.client.clone(), t.url.clone());
        tasks.push(tokio::spawn(async move {
            let mut refused = 0;
            for n in 0..20u64 {
                let id = format!("w{writer}-{n}");
                let body = json!({"id": id, "vector": far(writer * 1000 + n)});
                let url = format!("{base}/collections/near/vectors");
                let (s, b, r) = admitted(&http, reqwest::Method::POST, &url, Some(&body)).await;
                assert_eq!(s, StatusCode::CREATED, "{b}");
                let url = format!("{base}/collections/near/vectors/{id}");
                let (s, b, r2) = admitted(&http, reqwest::Method::DELETE, &url, None).await;
                assert!(s.is_success(), "{s}: {b}");
                refused += r + r2;
            }
            refused
        }));
    }
    // Long exact batches on the graph collection.
    {
        let (http, base, queries, want_batch) = (t.client.clone(), t.url.clone(), queries.clone(), want_batch.clone());
        tasks.push(tokio::spawn(async move {
            let mut refused = 0;
            let body = json!({"vectors": queries, "k": 10, "strategy": "exact"});
            for round in 0..3 {
                let url = format!("{base}/collections/big/search/batch");
                let (s, b, r) = admitted(&http, reqwest::Method::POST, &url, Some(&body)).await;
                assert_eq!(s, StatusCode::OK, "{b}");
                let lists = b["results"].as_array().unwrap();
                assert_eq!(lists.len(), want_batch.len());
                for (i, list) in lists.iter().enumerate() {
                    assert_eq!(answered(list), want_batch[i], "batch round {round}, query {i}");
                }
                refused += r;
            }
            refused
        }));
    }
    let mut refused = 0;
    for task in tasks {
        refused += task.await.unwrap();
    }
    println!("{refused} requests were refused with 503 and retried");

    slots_all_back(&state).await;
    // Every write landed and was undone; the collection holds exactly what it started with.
    let near = db.collection("near").unwrap();
    assert_eq!(near.count().unwrap(), NEAR as usize);
}

//! A bounded load test on loopback: 8 clients for a fixed time (NEEDLE_LOAD_SECS, default 10),
//! mixing inserts with `?wait=true` and searches. Asserts zero errors and that every
//! acknowledged insert is found afterwards (also after a restart); prints throughput, p50/p99,
//! and the ratio of HTTP search QPS to in-process search QPS (not asserted).
#![cfg(feature = "server")]

mod server_common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use needle::Database;
use reqwest::StatusCode;
use serde_json::json;
use server_common::{start, vector};

const CLIENTS: usize = 8;
const DIM: usize = 64;
const PRELOAD: u64 = 5_000;
/// Upper bound on requests per client, whatever the duration.
const MAX_PER_CLIENT: usize = 200_000;

#[derive(Default)]
struct Tally {
    insert_us: Vec<u64>,
    search_us: Vec<u64>,
    acked: Vec<String>,
    errors: Vec<String>,
}

fn pct(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

fn secs() -> u64 {
    std::env::var("NEEDLE_LOAD_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(10).clamp(1, 60)
}

/// Searches `queries` from CLIENTS threads for `phase`; returns queries per second.
async fn in_process_qps(c: &needle::Collection, queries: &Arc<Vec<Vec<f32>>>, phase: Duration) -> f64 {
    let (c, queries) = (c.clone(), queries.clone());
    tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        let done: usize = std::thread::scope(|s| {
            let handles: Vec<_> = (0..CLIENTS)
                .map(|client| {
                    let (c, queries) = (&c, &queries);
                    s.spawn(move || {
                        let mut n = 0usize;
                        while started.elapsed() < phase && n < MAX_PER_CLIENT * 10 {
                            let q = &queries[(n * CLIENTS + client) % queries.len()];
                            assert_eq!(c.search(q, 10).unwrap().len(), 10);
                            n += 1;
                        }
                        n
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).sum()
        });
        done as f64 / started.elapsed().as_secs_f64()
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_clients_mixed_load_zero_errors_every_ack_found() {
    let mut t = start(|_| {}).await;
    t.create("load", DIM, "euclidean").await;
    for chunk in (0..PRELOAD).collect::<Vec<_>>().chunks(1000) {
        let items: Vec<_> = chunk.iter().map(|&i| json!({"id": format!("p{i}"), "vector": vector(i, DIM)})).collect();
        let (s, b) = t.post("/collections/load/vectors/batch", json!({"vectors": items})).await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
    }

    // Phase 1: mixed load. Each client: 1 insert (wait=true) for every 3 searches.
    let duration = Duration::from_secs(secs());
    let seq = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for client in 0..CLIENTS {
        let (http, base, seq) = (t.client.clone(), t.url.clone(), seq.clone());
        tasks.push(tokio::spawn(async move {
            let mut tally = Tally::default();
            for n in 0..MAX_PER_CLIENT {
                if started.elapsed() >= duration {
                    break;
                }
                let t0 = Instant::now();
                if n % 4 == 0 {
                    let i = seq.fetch_add(1, Ordering::Relaxed);
                    let id = format!("c{client}-{i}");
                    let body = json!({"id": id, "vector": vector(1_000_000 + i, DIM), "metadata": {"client": client}});
                    match http.post(format!("{base}/collections/load/vectors?wait=true")).json(&body).send().await {
                        Ok(r) if r.status() == StatusCode::CREATED => {
                            tally.insert_us.push(t0.elapsed().as_micros() as u64);
                            tally.acked.push(id);
                        }
                        Ok(r) => tally.errors.push(format!(
                            "insert {id}: {} {}",
                            r.status(),
                            r.text().await.unwrap_or_default()
                        )),
                        Err(e) => tally.errors.push(format!("insert {id}: {e}")),
                    }
                } else {
                    let q = vector(n as u64 * 31 + client as u64, DIM);
                    match http
                        .post(format!("{base}/collections/load/search"))
                        .json(&json!({"vector": q, "k": 10}))
                        .send()
                        .await
                    {
                        Ok(r) if r.status() == StatusCode::OK => {
                            let v: serde_json::Value = r.json().await.unwrap();
                            if v["results"].as_array().map_or(0, |a| a.len()) != 10 {
                                tally.errors.push(format!("search returned {v}"));
                            }
                            tally.search_us.push(t0.elapsed().as_micros() as u64);
                        }
                        Ok(r) => {
                            tally.errors.push(format!("search: {} {}", r.status(), r.text().await.unwrap_or_default()))
                        }
                        Err(e) => tally.errors.push(format!("search: {e}")),
                    }
                }
            }
            tally
        }));
    }
    let mut all = Tally::default();
    for task in tasks {
        let t = task.await.unwrap();
        all.insert_us.extend(t.insert_us);
        all.search_us.extend(t.search_us);
        all.acked.extend(t.acked);
        all.errors.extend(t.errors);
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.insert_us.sort_unstable();
    all.search_us.sort_unstable();
    let total = all.insert_us.len() + all.search_us.len();
    println!(
        "mixed load: {CLIENTS} clients x {elapsed:.1} s on loopback, {DIM} dims, {PRELOAD} preloaded: {total} requests ({:.0}/s), \
         {} inserts with wait=true ({:.0}/s; p50 {:.2} ms, p99 {:.2} ms), {} searches k=10 ({:.0}/s; p50 {:.2} ms, p99 {:.2} ms), {} errors",
        total as f64 / elapsed,
        all.insert_us.len(),
        all.insert_us.len() as f64 / elapsed,
        pct(&all.insert_us, 0.5),
        pct(&all.insert_us, 0.99),
        all.search_us.len(),
        all.search_us.len() as f64 / elapsed,
        pct(&all.search_us, 0.5),
        pct(&all.search_us, 0.99),
        all.errors.len()
    );
    assert!(all.errors.is_empty(), "{} errors, first: {:?}", all.errors.len(), &all.errors[..all.errors.len().min(5)]);
    assert!(!all.acked.is_empty() && !all.search_us.is_empty());

    // Every acknowledged insert is there: in process (all of them) and over HTTP (a sample).
    let db = t.server.as_ref().unwrap().state().db().clone();
    let c = db.collection("load").unwrap();
    assert_eq!(c.count().unwrap(), PRELOAD as usize + all.acked.len());
    for id in &all.acked {
        assert!(c.contains(id).unwrap(), "acknowledged {id} is missing");
    }
    for id in all.acked.iter().step_by((all.acked.len() / 100).max(1)) {
        let (s, b) = t.get(&format!("/collections/load/vectors/{id}")).await;
        assert_eq!(s, StatusCode::OK, "{id}: {b}");
    }

    // Phase 2: search only, HTTP vs in process, same concurrency and queries.
    let phase = Duration::from_secs(3);
    let queries: Arc<Vec<Vec<f32>>> = Arc::new((0..512).map(|i| vector(7_000_000 + i, DIM)).collect());
    // In process before and after the HTTP phase (averaged: other work on the machine varies).
    let in_process_before = in_process_qps(&c, &queries, phase).await;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for client in 0..CLIENTS {
        let (http, base, queries) = (t.client.clone(), t.url.clone(), queries.clone());
        tasks.push(tokio::spawn(async move {
            let mut n = 0usize;
            while started.elapsed() < phase && n < MAX_PER_CLIENT {
                let q = &queries[(n * CLIENTS + client) % queries.len()];
                let r = http
                    .post(format!("{base}/collections/load/search"))
                    .json(&json!({"vector": q, "k": 10}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), StatusCode::OK);
                let _ = r.bytes().await.unwrap();
                n += 1;
            }
            n
        }));
    }
    let mut http_n = 0;
    for task in tasks {
        http_n += task.await.unwrap();
    }
    let http_qps = http_n as f64 / started.elapsed().as_secs_f64();
    let in_process_qps = (in_process_qps(&c, &queries, phase).await + in_process_before) / 2.0;
    println!(
        "search only, {CLIENTS} concurrent: HTTP {http_qps:.0} QPS, in process {in_process_qps:.0} QPS, ratio {:.2} \
         (client and server share this machine's cores)",
        http_qps / in_process_qps
    );

    // After a graceful shutdown and a reopen, every acknowledged insert is still there.
    drop(c);
    drop(db);
    t.shutdown().await;
    let db = Database::open(&t.db_path).unwrap();
    let c = db.collection("load").unwrap();
    assert_eq!(c.count().unwrap(), PRELOAD as usize + all.acked.len());
    assert!(all.acked.iter().all(|id| c.contains(id).unwrap()));
}

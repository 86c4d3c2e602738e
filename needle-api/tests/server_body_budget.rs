//! All request bodies held at once share one byte budget (`Limits::max_total_body_bytes`): a
//! body that would pass it gets 503 `overloaded`, and every way a body can end — answered, its
//! client gone half-way, too slow (408), too large (413) — gives its bytes back. Each wait is
//! bounded and polls a condition; nothing depends on which of two things happens first.
#![cfg(feature = "server")]

mod server_common;

use std::time::{Duration, Instant};

use needle::server::{AppState, Limits, Server, ServerOptions};
use needle::{Database, ErrorCode};
use reqwest::StatusCode;
use serde_json::Value;
use server_common::{host_port, loopback, raw, start};
use tokio::io::AsyncWriteExt;

const DEADLINE: Duration = Duration::from_secs(60);

/// Waits (bounded) until `held` says yes of the bytes the server holds; returns them.
async fn until_held(state: &AppState, what: &str, held: impl Fn(usize) -> bool) -> usize {
    let started = Instant::now();
    loop {
        let n = state.body_bytes_held();
        if held(n) {
            return n;
        }
        assert!(started.elapsed() < DEADLINE, "{what}: the server still holds {n} body bytes");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A search body of exactly `len` bytes (JSON padded with spaces).
fn search_body(len: usize) -> String {
    let mut b = r#"{"vector": [1, 0, 0], "k": 1}"#.to_string();
    assert!(b.len() <= len);
    b.extend(std::iter::repeat_n(' ', len - b.len()));
    b
}

fn post(host: &str, body: &str) -> Vec<u8> {
    format!(
        "POST /collections/c/search HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_share_one_budget_and_a_client_gone_half_way_gives_its_bytes_back() {
    // Room for one 60,000-byte body and 100 bytes more.
    const STALLED: usize = 60_000;
    const TOTAL: usize = STALLED + 100;
    let t = start(|o| {
        o.limits = Limits {
            max_body_bytes: TOTAL,
            max_total_body_bytes: TOTAL,
            // The stalled body must outlive every step below, however slow the machine.
            body_timeout: Duration::from_secs(300),
            request_timeout: Duration::from_secs(300),
            ..Limits::default()
        }
    })
    .await;
    t.create("c", 3, "euclidean").await;
    let state = t.server.as_ref().unwrap().state().clone();
    let host = host_port(&t.url);

    // A client declares one byte more than it sends, and stalls.
    let mut stalled = tokio::net::TcpStream::connect(&host).await.unwrap();
    let head = format!(
        "POST /collections/c/search HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n",
        STALLED + 1
    );
    stalled.write_all(head.as_bytes()).await.unwrap();
    stalled.write_all(&vec![b' '; STALLED]).await.unwrap();
    let held = until_held(&state, "the stalled body", |n| n >= STALLED).await;
    assert!(held <= STALLED + 1, "{held} bytes held for a body of at most {} bytes", STALLED + 1);

    // 200 more bytes do not fit; 29 do.
    let (status, body) = raw(&host, &post(&host, &search_body(200))).await;
    assert_eq!(status, 503, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["error"]["code"], "overloaded", "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains(&TOTAL.to_string()), "{v}");
    let (s, b) = t.post("/collections/c/search", serde_json::from_str(&search_body(29)).unwrap()).await;
    assert_eq!(s, StatusCode::OK, "{b}");

    // The client goes away half-way: its bytes come back, and the larger body now fits.
    drop(stalled);
    until_held(&state, "after the client left", |n| n == 0).await;
    let (status, body) = raw(&host, &post(&host, &search_body(200))).await;
    assert_eq!(status, 200, "{body}");
    until_held(&state, "after the answers", |n| n == 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_slow_and_too_large_bodies_give_their_bytes_back() {
    let t = start(|o| {
        o.limits = Limits {
            max_body_bytes: 1000,
            max_total_body_bytes: 1000,
            body_timeout: Duration::from_millis(500),
            min_body_rate: 1 << 20,
            ..Limits::default()
        }
    })
    .await;
    t.create("c", 3, "euclidean").await;
    let state = t.server.as_ref().unwrap().state().clone();
    let host = host_port(&t.url);

    // 408: 100 of 900 declared bytes, then nothing.
    let head = format!(
        "POST /collections/c/search HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n\
         Content-Length: 900\r\nConnection: close\r\n\r\n{}",
        " ".repeat(100)
    );
    let (status, body) = raw(&host, head.as_bytes()).await;
    assert_eq!(status, 408, "{body}");
    until_held(&state, "after a 408", |n| n == 0).await;

    // 413 half-way: a chunked body (no declared length) one byte past the limit.
    let chunk = " ".repeat(667);
    let req = format!(
        "POST /collections/c/search HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n29b\r\n{chunk}\r\n29b\r\n{chunk}\r\n0\r\n\r\n"
    );
    let (status, body) = raw(&host, req.as_bytes()).await;
    assert_eq!(status, 413, "{body}");
    until_held(&state, "after a 413", |n| n == 0).await;

    // A body that fits the whole budget is still served.
    let (status, body) = raw(&host, &post(&host, &search_body(1000))).await;
    assert_eq!(status, 200, "{body}");
    until_held(&state, "after the answer", |n| n == 0).await;
}

#[tokio::test]
async fn a_budget_smaller_than_one_body_refuses_to_start() {
    let db = Database::in_memory();
    let mut opts = ServerOptions::new(loopback());
    opts.limits = Limits { max_body_bytes: 1 << 20, max_total_body_bytes: (1 << 20) - 1, ..Limits::default() };
    let Err(err) = Server::start(db, opts).await else { panic!("started with a budget smaller than one body") };
    assert_eq!(err.code(), ErrorCode::InvalidArgument);
    assert!(err.to_string().contains("max_total_body_bytes"), "{err}");
}

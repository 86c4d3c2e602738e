//! One client must not deny service to the others (issue 15, items 1, 2, 4 and 5), over real
//! sockets: slow bodies do not hold concurrency slots, silent and idle connections are closed,
//! connections are capped in total and per peer address, and oversized batches are refused
//! before they cost memory. Waits are generous and bounded: "closed within 5x the timeout".
#![cfg(feature = "server")]

mod server_common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use needle::server::Limits;
use reqwest::StatusCode;
use serde_json::{json, Value};
use server_common::{host_port, parse_response, start, vector};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// A TCP connection to `addr` from the loopback address `from` (127.0.0.x: another "peer").
async fn connect_from(from: &str, addr: &str) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(format!("{from}:0").parse().unwrap()).unwrap();
    socket.connect(addr.parse::<SocketAddr>().unwrap()).await.unwrap()
}

/// Reads until the peer closes (or `limit` passes); returns what was read and how long it took.
async fn read_until_closed(s: &mut TcpStream, limit: Duration) -> (Vec<u8>, Option<Duration>) {
    let started = Instant::now();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(limit.saturating_sub(started.elapsed()), s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (out, Some(started.elapsed())),
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
            Err(_) => return (out, None),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_bodies_do_not_hold_concurrency_slots() {
    let t = start(|o| {
        o.limits = Limits {
            max_concurrent_requests: 2,
            body_timeout: Duration::from_secs(1),
            min_body_rate: 1024,
            ..Limits::default()
        };
    })
    .await;
    t.create("docs", 4, "euclidean").await;
    let addr = host_port(&t.url);
    // Ten clients send their headers and then one body byte now and then: more than the two slots.
    let mut slow = Vec::new();
    for i in 0..10 {
        let mut s = connect_from("127.0.0.2", &addr).await;
        let head = format!(
            "POST /collections/docs/vectors HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{"
        );
        s.write_all(head.as_bytes()).await.unwrap();
        slow.push(tokio::spawn(async move {
            // One more byte every 300 ms until the server gives up on this body.
            let started = Instant::now();
            let mut out = Vec::new();
            let mut buf = [0u8; 4096];
            while started.elapsed() < Duration::from_secs(30) {
                if s.write_all(b" ").await.is_err() {
                    break;
                }
                match tokio::time::timeout(Duration::from_millis(300), s.read(&mut buf)).await {
                    Ok(Ok(0)) | Ok(Err(_)) => break,
                    Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
                    Err(_) => {}
                }
            }
            (i, out, started.elapsed())
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Meanwhile every normal request is served.
    for i in 0..20u64 {
        let (s, b) = t.post("/collections/docs/vectors", json!({"id": format!("n{i}"), "vector": vector(i, 4)})).await;
        assert_eq!(s, StatusCode::CREATED, "request {i} while slow bodies trickle: {b}");
    }
    // And each slow body is cut off with a 408 within 5x its allowance (1 s + 1 s per KiB).
    for task in slow {
        let (i, out, took) = task.await.unwrap();
        let (status, body) = parse_response(&out);
        assert_eq!(status, 408, "slow client {i} after {took:?}: {body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["error"]["code"], "body_too_slow", "{body}");
        assert!(took < Duration::from_secs(10), "slow client {i} was cut off only after {took:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_and_idle_connections_are_closed() {
    let t = start(|o| {
        o.limits = Limits {
            header_timeout: Duration::from_secs(1),
            idle_timeout: Duration::from_secs(1),
            ..Limits::default()
        };
    })
    .await;
    let addr = host_port(&t.url);
    let bound = Duration::from_secs(5);

    // HTTP/1: a socket that never sends a byte.
    let mut silent = TcpStream::connect(&addr).await.unwrap();
    // h2c (prior knowledge): the preface and an empty SETTINGS frame, then nothing.
    let mut h2 = TcpStream::connect(&addr).await.unwrap();
    h2.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00").await.unwrap();
    // Keep-alive: one request answered, then silence.
    let mut idle = TcpStream::connect(&addr).await.unwrap();
    idle.write_all(format!("GET /health HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes()).await.unwrap();

    let (silent_out, silent_took) = read_until_closed(&mut silent, bound).await;
    let (_, h2_took) = read_until_closed(&mut h2, bound).await;
    let (idle_out, idle_took) = read_until_closed(&mut idle, bound).await;
    assert!(silent_took.is_some(), "a silent HTTP/1 socket was still open after {bound:?}");
    assert!(silent_out.is_empty(), "{}", String::from_utf8_lossy(&silent_out));
    assert!(h2_took.is_some(), "a silent h2c connection was still open after {bound:?}");
    assert!(idle_took.is_some(), "an idle keep-alive connection was still open after {bound:?}");
    assert_eq!(parse_response(&idle_out).0, 200, "{}", String::from_utf8_lossy(&idle_out));

    // The server still answers.
    let (s, _) = t.get("/health").await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_are_capped_in_total_and_per_peer() {
    let t = start(|o| {
        o.limits = Limits {
            max_connections: 12,
            max_connections_per_peer: 4,
            header_timeout: Duration::from_secs(30),
            ..Limits::default()
        };
    })
    .await;
    let addr = host_port(&t.url);
    let refused = |out: &[u8]| {
        let (status, body) = parse_response(out);
        status == 503
            && serde_json::from_str::<Value>(&body).is_ok_and(|v| v["error"]["code"] == "too_many_connections")
    };

    // One peer (127.0.0.3) opens its 4, then a fifth is refused with a JSON 503 and closed.
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(connect_from("127.0.0.3", &addr).await);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut fifth = connect_from("127.0.0.3", &addr).await;
    let (out, closed) = read_until_closed(&mut fifth, Duration::from_secs(10)).await;
    assert!(closed.is_some() && refused(&out), "{}", String::from_utf8_lossy(&out));

    // Other peers still get in, up to the total of 12; the 13th connection is refused.
    for from in ["127.0.0.4", "127.0.0.5"] {
        for _ in 0..4 {
            held.push(connect_from(from, &addr).await);
        }
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut over = connect_from("127.0.0.6", &addr).await;
    let (out, closed) = read_until_closed(&mut over, Duration::from_secs(10)).await;
    assert!(closed.is_some() && refused(&out), "{}", String::from_utf8_lossy(&out));

    // Closing connections makes room again.
    // (The server notices the closes asynchronously: poll, within a generous bound.)
    held.truncate(8);
    let started = Instant::now();
    loop {
        // A new connection per probe: a refused one is closed by the server and must not be reused.
        let probe = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
        let (s, b) = match probe.get(format!("{}/health", t.url)).send().await {
            Ok(r) => (r.status(), r.json::<Value>().await.unwrap_or(Value::Null)),
            Err(e) => (
                StatusCode::SERVICE_UNAVAILABLE,
                json!({"error": {"code": "too_many_connections", "io": e.to_string()}}),
            ),
        };
        if s == StatusCode::OK {
            break;
        }
        assert_eq!(b["error"]["code"], "too_many_connections", "{s}: {b}");
        assert!(started.elapsed() < Duration::from_secs(30), "no room 30 s after closing 4 connections: {b}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(held);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_that_would_amplify_memory_are_refused_early() {
    let t = start(|o| o.limits = Limits { max_batch: 1000, max_body_bytes: 32 << 20, ..Limits::default() }).await;
    t.create("docs", 8, "euclidean").await;
    let items: Vec<Value> = (0..50u64).map(|i| json!({"id": format!("d{i}"), "vector": vector(i, 8)})).collect();
    let (s, b) = t.post("/collections/docs/vectors/batch", json!({"vectors": items})).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");

    // 1,000 queries x k = 1,000: a million hits. Refused with a clear message.
    let queries: Vec<Vec<f32>> = (0..1000u64).map(|i| vector(i, 8)).collect();
    let (s, b) = t.post("/collections/docs/search/batch", json!({"vectors": queries, "k": 1000})).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{b}");
    assert_eq!(b["error"]["code"], "batch_too_large", "{b}");
    let message = b["error"]["message"].as_str().unwrap();
    assert!(message.contains("1000000") || message.contains("1,000,000"), "{message}");
    // Within the bound it is served.
    let (s, b) = t.post("/collections/docs/search/batch", json!({"vectors": &queries[..100], "k": 50})).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["results"].as_array().unwrap().len(), 100);

    // A 32 MiB body of empty lists is counted while it is parsed: refused at item 1,001.
    let mut body = String::with_capacity(32 << 20);
    body.push_str("{\"vectors\": [");
    while body.len() < (32 << 20) - 16 {
        body.push_str("[],");
    }
    body.push_str("[]]}");
    let started = Instant::now();
    let r = t
        .client
        .post(t.url("/collections/docs/search/batch"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["error"]["code"], "batch_too_large", "{b}");
    println!("32 MiB of empty lists refused in {:?}", started.elapsed());
    let (s, _) = t.get("/health/ready").await;
    assert_eq!(s, StatusCode::OK);
}

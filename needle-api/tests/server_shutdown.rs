//! The `needle serve` binary: JSON logs, SIGTERM drains in-flight requests, checkpoints and
//! exits 0; command-line errors go to stderr with a non-zero exit.
#![cfg(all(feature = "server", unix))]

mod server_common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use needle::Database;
use serde_json::{json, Value};
use server_common::parse_response;

fn needle() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_needle"));
    c.env_remove("NEEDLE_API_KEY");
    c
}

/// Starts `needle serve` on a free loopback port; returns the child, its `host:port`, and a
/// thread collecting its stderr.
fn serve(db: &Path, extra: &[&str]) -> (Child, String, std::thread::JoinHandle<String>) {
    let mut child = needle()
        .args(["serve", "-a", "127.0.0.1:0", "-d"])
        .arg(db)
        .args(extra)
        .env("RUST_LOG", "needle=debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let logs = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    // "needle: serving <db> on http://127.0.0.1:PORT"
    let url = line.trim().rsplit(' ').next().unwrap().to_string();
    if !url.starts_with("http://127.0.0.1:") {
        let _ = child.kill();
        panic!("needle serve did not start: stdout {line:?}, stderr:\n{}", logs.join().unwrap());
    }
    (child, url.trim_start_matches("http://").to_string(), logs)
}

fn request(addr: &str, method: &str, path: &str, body: &Value) -> (u16, String) {
    let body = body.to_string();
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    parse_response(&out)
}

fn wait_exit(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(start.elapsed() < limit, "needle serve did not exit within {limit:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn sigterm_finishes_in_flight_requests_checkpoints_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("vectors.needle");
    let (mut child, addr, logs) = serve(&db, &["--log-format", "json"]);

    let (s, b) =
        request(&addr, "POST", "/collections", &json!({"name": "docs", "dimensions": 3, "distance": "euclidean"}));
    assert_eq!(s, 201, "{b}");
    for i in 0..50 {
        let (s, b) =
            request(&addr, "POST", "/collections/docs/vectors", &json!({"id": format!("v{i}"), "vector": [i, 1, 2]}));
        assert_eq!(s, 201, "{b}");
    }

    // A request in flight: headers and half the body sent. `Expect: 100-continue` makes the server
    // say when it has accepted the connection and started reading the body, so the SIGTERM below
    // surely lands while the request is in flight, however loaded the machine is.
    let body = json!({"id": "in-flight", "vector": [9, 9, 9]}).to_string();
    let (first, rest) = body.split_at(body.len() / 2);
    let mut inflight = TcpStream::connect(&addr).unwrap();
    write!(
        inflight,
        "POST /collections/docs/vectors HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    inflight.flush().unwrap();
    let mut interim = Vec::new();
    let mut byte = [0u8; 1];
    while !interim.ends_with(b"\r\n\r\n") {
        assert_eq!(inflight.read(&mut byte).unwrap(), 1, "closed before 100 Continue: {interim:?}");
        interim.push(byte[0]);
    }
    assert!(interim.starts_with(b"HTTP/1.1 100"), "{}", String::from_utf8_lossy(&interim));
    inflight.write_all(first.as_bytes()).unwrap();
    inflight.flush().unwrap();

    let kill = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(kill.success());

    // New connections stop being served once the signal is handled (polled: on a loaded machine
    // that may take a while), and the server does not exit while the request is in flight.
    let started = Instant::now();
    loop {
        let refused = match TcpStream::connect_timeout(&addr.parse().unwrap(), Duration::from_secs(1)) {
            Err(_) => true,
            Ok(mut s) => {
                s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
                let _ = write!(s, "GET /health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
                let mut out = Vec::new();
                let _ = s.read_to_end(&mut out);
                parse_response(&out).0 != 200
            }
        };
        if refused {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "new connections still served 30 s after SIGTERM");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(child.try_wait().unwrap().is_none(), "exited before the in-flight request finished");

    // The in-flight request completes.
    inflight.write_all(rest.as_bytes()).unwrap();
    let mut out = Vec::new();
    inflight.read_to_end(&mut out).unwrap();
    let (status, body) = parse_response(&out);
    assert_eq!(status, 201, "{body}");

    let status = wait_exit(&mut child, Duration::from_secs(30));
    assert!(status.success(), "exit status {status:?}");
    let logs = logs.join().unwrap();
    let json_lines: Vec<Value> = logs.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    assert!(!json_lines.is_empty(), "no JSON log lines:\n{logs}");
    assert!(json_lines.iter().all(|l| l["level"].is_string() && l["fields"].is_object()), "{logs}");
    let messages: Vec<&str> = json_lines.iter().filter_map(|l| l["fields"]["message"].as_str()).collect();
    assert!(messages.contains(&"SIGTERM: shutting down"), "{messages:?}");
    assert!(messages.iter().any(|m| m.starts_with("checkpoint written")), "{messages:?}");
    assert!(messages.contains(&"request"), "per-request debug lines: {messages:?}");

    // Everything acknowledged is in the file, and the checkpoint emptied the log.
    let db = Database::open(&db).unwrap();
    let docs = db.collection("docs").unwrap();
    assert_eq!(docs.count().unwrap(), 51);
    assert!(docs.contains("in-flight").unwrap());
}

#[test]
fn command_line_errors_go_to_stderr_with_a_non_zero_exit() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("v.needle");
    let out = needle().args(["serve", "--help"]).output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--addr",
        "--db",
        "--tls-cert",
        "--tls-key",
        "--api-key",
        "--api-keys-file",
        "--log-format",
        "--max-body-bytes",
    ] {
        assert!(help.contains(flag), "{flag} missing from help:\n{help}");
    }
    let out = needle().args(["serve", "-d"]).arg(&db).args(["--api-key", "short"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("error[invalid_argument]"), "{out:?}");
    let out = needle().args(["serve", "-d"]).arg(&db).args(["--tls-cert", "/nonexistent/cert.pem"]).output().unwrap();
    assert!(!out.status.success(), "--tls-cert without --tls-key");
    let out = needle()
        .args(["serve", "-d"])
        .arg(&db)
        .args(["--tls-cert", "/nonexistent/cert.pem", "--tls-key", "/nonexistent/key.pem", "-a", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/cert.pem"), "{out:?}");
    // The database is locked by a running server: a second one fails with `locked`.
    let (mut first, _addr, _logs) = serve(&db, &[]);
    let out = needle().args(["serve", "-a", "127.0.0.1:0", "-d"]).arg(&db).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("error[locked]"), "{out:?}");
    Command::new("kill").args(["-TERM", &first.id().to_string()]).status().unwrap();
    assert!(wait_exit(&mut first, Duration::from_secs(30)).success());
}

#[test]
fn export_backup_and_compact_subcommands() {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("v.needle");
    {
        let db = Database::open(&db_path).unwrap();
        db.create_collection_with_config(
            needle::CollectionConfig::new("docs", 2).with_distance(needle::DistanceFunction::Euclidean),
        )
        .unwrap();
        let c = db.collection("docs").unwrap();
        for i in 0..20 {
            c.insert(&format!("v{i}"), &[i as f32, 0.5], Some(json!({"i": i}))).unwrap();
        }
        for i in 0..10 {
            c.delete(&format!("v{i}")).unwrap();
        }
    }
    let out = needle().arg("export").arg(&db_path).arg("docs").output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let lines: Vec<Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 10);
    assert_eq!(lines[0], json!({"id": "v10", "vector": [10.0, 0.5], "metadata": {"i": 10}}));
    let exported = dir.path().join("docs.jsonl");
    let out = needle().arg("export").arg(&db_path).arg("docs").arg("-o").arg(&exported).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    // What export writes, import reads back.
    let copy = dir.path().join("copy.needle");
    let out = needle()
        .arg("import")
        .arg(&copy)
        .arg("docs")
        .arg(&exported)
        .args(["--create", "--distance", "euclidean"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(Database::open(&copy).unwrap().collection("docs").unwrap().count().unwrap(), 10);

    let backup = dir.path().join("backup.needle");
    let out = needle().arg("backup").arg(&db_path).arg(&backup).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let out = needle().arg("backup").arg(&db_path).arg(&backup).output().unwrap();
    assert!(!out.status.success(), "overwrote a backup without --force");
    let b = Database::open(&backup).unwrap();
    assert_eq!(b.collection("docs").unwrap().count().unwrap(), 10);
    drop(b);

    let out = needle().arg("compact").arg(&db_path).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let db = Database::open(&db_path).unwrap();
    let info = db.collection("docs").unwrap().info().unwrap();
    assert_eq!((info.count, info.slots), (10, 10));
    let out = needle().arg("export").arg(&db_path).arg("nope").output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("error[collection_not_found]"));
}

#[test]
fn wait_true_is_durable_under_every_policy_even_when_killed() {
    for policy in ["on-save", "batched:20", "immediate"] {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("vectors.needle");
        let (mut child, addr, _logs) = serve(&db, &["--durability", policy]);
        let (s, b) =
            request(&addr, "POST", "/collections", &json!({"name": "d", "dimensions": 2, "distance": "euclidean"}));
        assert_eq!(s, 201, "{b}");
        // Concurrent writers waiting for durability share checkpoints / syncs.
        let writers: Vec<_> = (0..4)
            .map(|w| {
                let addr = addr.clone();
                std::thread::spawn(move || {
                    for i in 0..10 {
                        let body = json!({"id": format!("w{w}-{i}"), "vector": [w, i]});
                        let (s, b) = request(&addr, "POST", "/collections/d/vectors?wait=true", &body);
                        assert_eq!(s, 201, "{b}");
                        assert_eq!(serde_json::from_str::<Value>(&b).unwrap()["durable"], true, "{b}");
                    }
                })
            })
            .collect();
        for w in writers {
            w.join().unwrap();
        }
        child.kill().unwrap(); // SIGKILL: no graceful checkpoint
        child.wait().unwrap();
        let reopened = Database::open(&db).unwrap();
        assert_eq!(reopened.collection("d").unwrap().count().unwrap(), 40, "policy {policy}");
    }
}

#[test]
fn read_only_server_answers_reads_and_refuses_writes() {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("vectors.needle");
    {
        let db = Database::open(&db_path).unwrap();
        let c = db
            .create_collection_with_config(
                needle::CollectionConfig::new("d", 2).with_distance(needle::DistanceFunction::Euclidean),
            )
            .unwrap();
        c.insert("a", &[1.0, 2.0], None).unwrap();
    }
    let (mut child, addr, _logs) = serve(&db_path, &["--read-only"]);
    let (s, b) = request(&addr, "POST", "/collections/d/search", &json!({"vector": [1.0, 2.0], "k": 1}));
    assert_eq!(s, 200, "{b}");
    let (s, b) = request(&addr, "POST", "/collections/d/vectors", &json!({"id": "b", "vector": [1.0, 2.0]}));
    assert_eq!(s, 403, "{b}");
    assert_eq!(serde_json::from_str::<Value>(&b).unwrap()["error"]["code"], "read_only");
    Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(wait_exit(&mut child, Duration::from_secs(30)).success());
    assert_eq!(Database::open(&db_path).unwrap().collection("d").unwrap().count().unwrap(), 1);
}

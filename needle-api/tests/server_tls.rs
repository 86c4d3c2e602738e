//! HTTPS with rustls over a self-signed certificate generated for 127.0.0.1 (rcgen).
#![cfg(feature = "server")]

mod server_common;

use std::path::Path;
use std::time::Duration;

use needle::server::{Server, ServerOptions, TlsFiles};
use needle::{Database, ErrorCode};
use reqwest::StatusCode;
use serde_json::{json, Value};
use server_common::{host_port, loopback};

/// Writes a self-signed certificate and key for 127.0.0.1 and localhost; returns the cert PEM.
fn self_signed(dir: &Path) -> (TlsFiles, String) {
    let ck = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
    let cert_pem = ck.cert.pem();
    let files = TlsFiles { cert: dir.join("cert.pem"), key: dir.join("key.pem") };
    std::fs::write(&files.cert, &cert_pem).unwrap();
    std::fs::write(&files.key, ck.key_pair.serialize_pem()).unwrap();
    (files, cert_pem)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_with_a_self_signed_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (files, cert_pem) = self_signed(dir.path());
    let db = Database::open(dir.path().join("v.needle")).unwrap();
    let mut opts = ServerOptions::new(loopback());
    opts.tls = Some(files);
    let server = Server::start(db, opts).await.unwrap();
    let url = server.url();
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");

    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(cert_pem.as_bytes()).unwrap())
        .https_only(true)
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let resp = client.get(format!("{url}/health")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = client
        .post(format!("{url}/collections"))
        .json(&json!({"name": "t", "dimensions": 2, "distance": "euclidean"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let resp = client
        .post(format!("{url}/collections/t/vectors?wait=true"))
        .json(&json!({"id": "a", "vector": [1.0, 2.0]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let resp = client
        .post(format!("{url}/collections/t/search"))
        .json(&json!({"vector": [1.0, 2.0], "k": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["results"][0]["id"], "a");

    // A client that does not trust the certificate cannot talk to it.
    let untrusting = reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(10)).build().unwrap();
    assert!(untrusting.get(format!("{url}/health")).send().await.is_err());
    // Plain HTTP to the TLS port gets no answer from the API.
    let plain = server_common::raw(
        &host_port(&url),
        format!("GET /health HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n", host_port(&url)).as_bytes(),
    )
    .await;
    assert_ne!(plain.0, 200, "{plain:?}");

    server.shutdown().await.unwrap();
    let db = Database::open(dir.path().join("v.needle")).unwrap();
    assert_eq!(db.collection("t").unwrap().count().unwrap(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_tls_files_fail_at_start_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let (good, _) = self_signed(dir.path());
    let start = |tls: TlsFiles| {
        let db = Database::in_memory();
        let mut opts = ServerOptions::new(loopback());
        opts.tls = Some(tls);
        async move { Server::start(db, opts).await.map(|_| ()).unwrap_err() }
    };
    let missing = start(TlsFiles { cert: dir.path().join("nope.pem"), key: good.key.clone() }).await;
    assert_eq!(missing.code(), ErrorCode::Io);
    assert!(missing.to_string().contains("nope.pem"), "{missing}");
    std::fs::write(dir.path().join("garbage.pem"), "not a certificate").unwrap();
    let garbage = start(TlsFiles { cert: dir.path().join("garbage.pem"), key: good.key.clone() }).await;
    assert_eq!(garbage.code(), ErrorCode::InvalidConfig, "{garbage}");
    let swapped = start(TlsFiles { cert: good.key.clone(), key: good.cert.clone() }).await;
    assert_eq!(swapped.code(), ErrorCode::InvalidConfig, "{swapped}");
    // A key that does not belong to the certificate.
    let other = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    std::fs::write(dir.path().join("other-key.pem"), other.key_pair.serialize_pem()).unwrap();
    let mismatched = start(TlsFiles { cert: good.cert.clone(), key: dir.path().join("other-key.pem") }).await;
    assert_eq!(mismatched.code(), ErrorCode::InvalidConfig, "{mismatched}");
}

//! TLS with rustls (ring provider; no OpenSSL): PEM certificate chain and private key.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::Error;

/// Where the certificate chain and key are (PEM).
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// Certificate chain, leaf first (PEM).
    pub cert: PathBuf,
    /// Private key: PKCS#8, PKCS#1 (RSA) or SEC1 (EC), PEM.
    pub key: PathBuf,
}

fn open(path: &Path, what: &str) -> Result<BufReader<File>, Error> {
    File::open(path)
        .map(BufReader::new)
        .map_err(|e| Error::Io(std::io::Error::new(e.kind(), format!("{what} {}: {e}", path.display()))))
}

/// Builds the rustls server config: TLS 1.2 and 1.3, ALPN h2 and http/1.1.
pub fn server_config(files: &TlsFiles) -> Result<rustls::ServerConfig, Error> {
    let bad = |what: &str, path: &Path, msg: String| Error::InvalidConfig(format!("{what} {}: {msg}", path.display()));
    let certs = rustls_pemfile::certs(&mut open(&files.cert, "--tls-cert")?)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad("--tls-cert", &files.cert, e.to_string()))?;
    if certs.is_empty() {
        return Err(bad("--tls-cert", &files.cert, "no PEM certificate found".into()));
    }
    let key = rustls_pemfile::private_key(&mut open(&files.key, "--tls-key")?)
        .map_err(|e| bad("--tls-key", &files.key, e.to_string()))?
        .ok_or_else(|| bad("--tls-key", &files.key, "no PEM private key found".into()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::InvalidConfig(format!("TLS: {e}")))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| Error::InvalidConfig(format!("TLS certificate and key do not work together: {e}")))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

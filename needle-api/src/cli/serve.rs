//! `needle serve`: the HTTP REST server over one database file (feature `server`).

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};

use super::error::{invalid, io_at, CliResult};
use super::Global;
use crate::server::{ApiKeys, CrossSite, Limits, Role, Server, ServerOptions, TlsFiles};
use crate::{Database, DatabaseConfig, Durability, EncryptionConfig};

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log aggregation.
    Json,
}

/// Arguments of `needle serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free one).
    #[arg(short = 'a', long = "addr", default_value = "127.0.0.1:8080", value_name = "HOST:PORT")]
    pub addr: SocketAddr,
    /// Database file (created when missing).
    #[arg(short = 'd', long = "db", default_value = "vectors.needle", value_name = "FILE")]
    pub db: PathBuf,
    /// Open the database read-only: writes answer 403 `read_only`.
    #[arg(long)]
    pub read_only: bool,
    /// When writes are durable: `immediate` (the write-ahead log is synced before each write is
    /// answered; concurrent writers share syncs), `batched:MS` (synced every MS milliseconds),
    /// or `on-save` (at checkpoints; `?wait=true` then forces one).
    #[arg(long, default_value = "immediate", value_parser = parse_durability, value_name = "POLICY")]
    pub durability: Durability,
    /// Name of an environment variable holding the passphrase of an encrypted database.
    #[arg(long, value_name = "VAR")]
    pub passphrase_env: Option<String>,
    /// Serve HTTPS with this PEM certificate chain (with --tls-key).
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-cert.
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// An admin API key (also read from NEEDLE_API_KEY; a blank one refuses to start). With any
    /// key set, every route but /health needs `Authorization: Bearer <key>` or `X-API-Key: <key>`.
    /// Prefer --api-key-file: a key on the command line shows in /proc/*/cmdline.
    #[arg(long, value_name = "KEY")]
    pub api_key: Option<String>,
    /// File holding one admin API key (e.g. a container secret).
    #[arg(long, value_name = "FILE")]
    pub api_key_file: Option<PathBuf>,
    /// File of API keys with roles, one `<role> <key>` per line (roles: read-only, read-write,
    /// admin; lines starting with `#` and a trailing ` # ...` are comments). A file without keys
    /// refuses to start.
    #[arg(long, value_name = "FILE")]
    pub api_keys_file: Option<PathBuf>,
    /// Host names to answer besides the bound address and `localhost` (DNS-rebinding
    /// protection): `name`, `*.domain`, or `*` for any. Repeat or separate with commas.
    #[arg(long, value_name = "HOSTS", value_delimiter = ',')]
    pub allowed_hosts: Vec<String>,
    /// Browser origins allowed to call the API cross-origin (CORS), e.g. https://app.example;
    /// `*` for any. Others are refused (403). Repeat or separate with commas.
    #[arg(long, value_name = "ORIGIN", value_delimiter = ',')]
    pub cors_origin: Vec<String>,
    /// Largest request body in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().max_body_bytes)]
    pub max_body_bytes: usize,
    /// Request-body bytes held at once across all connections (at least --max-body-bytes);
    /// a body that would pass it gets 503 `overloaded`.
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().max_total_body_bytes)]
    pub max_total_body_bytes: usize,
    /// Most vectors per batch insert / queries per batch search (counted while parsing).
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_batch)]
    pub max_batch: usize,
    /// Most hits one batch search may return (queries x k); larger batches get 413.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_batch_results)]
    pub max_batch_results: usize,
    /// Largest k of a search.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_k)]
    pub max_k: usize,
    /// Most dimensions of a new collection.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_dimensions)]
    pub max_dimensions: usize,
    /// Seconds a request may take (reading its body included) before it gets 408.
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    pub request_timeout: f64,
    /// Requests handled at once (counted once their bodies are read); more get 503 `overloaded`.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_concurrent_requests)]
    pub max_concurrency: usize,
    /// Open connections at most (also kept under the open-file limit); more are closed at once.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_connections)]
    pub max_connections: usize,
    /// Open connections from one IP address at most (0: no limit; raise it behind a proxy).
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_connections_per_peer)]
    pub max_connections_per_peer: usize,
    /// Seconds a new connection has to send its first request's headers (and any request to
    /// send its headers).
    #[arg(long, value_name = "SECS", default_value_t = Limits::default().header_timeout.as_secs_f64())]
    pub header_timeout: f64,
    /// Seconds an idle connection (keep-alive or HTTP/2, nothing in flight) stays open.
    #[arg(long, value_name = "SECS", default_value_t = Limits::default().idle_timeout.as_secs_f64())]
    pub idle_timeout: f64,
    /// Seconds a request body may take, plus one second per --min-body-rate bytes received;
    /// slower bodies get 408 `body_too_slow`.
    #[arg(long, value_name = "SECS", default_value_t = Limits::default().body_timeout.as_secs_f64())]
    pub body_timeout: f64,
    /// Slowest sustained request-body rate, bytes per second (see --body-timeout).
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().min_body_rate)]
    pub min_body_rate: u64,
    /// On SIGTERM / ctrl-c, seconds in-flight requests may take before connections close.
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    pub shutdown_grace: f64,
    /// Log format (filter with RUST_LOG, e.g. RUST_LOG=needle=debug; default needle=info).
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

fn parse_durability(s: &str) -> Result<Durability, String> {
    match s {
        "immediate" => Ok(Durability::Immediate),
        "on-save" | "onsave" => Ok(Durability::OnSave),
        "batched" => Ok(Durability::Batched(10)),
        _ => match s.strip_prefix("batched:").map(str::parse::<u64>) {
            Some(Ok(ms)) if ms > 0 => Ok(Durability::Batched(ms)),
            _ => Err("expected immediate, batched:MS or on-save".into()),
        },
    }
}

fn seconds(v: f64, what: &str) -> CliResult<Duration> {
    if !(v.is_finite() && v > 0.0 && v < 1e7) {
        return Err(invalid(format!("{what} must be a positive number of seconds")));
    }
    Ok(Duration::from_secs_f64(v))
}

fn init_logging(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("needle=info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr()) && std::env::var_os("NO_COLOR").is_none();
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi);
    // A second call (tests running several servers in one process) keeps the first subscriber.
    let _ = match format {
        LogFormat::Json => builder.json().with_current_span(false).try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// The server options the arguments describe (keys from the flag, NEEDLE_API_KEY, the file).
pub fn options(a: &ServeArgs) -> CliResult<ServerOptions> {
    let mut keys = ApiKeys::none();
    if let Some(k) = &a.api_key {
        keys.add(k, Role::Admin).map_err(|e| invalid(format!("--api-key: {e}")))?;
    }
    // Set but blank is a mistake (a template left unfilled): fail closed, never serve open.
    if let Some(k) = std::env::var_os("NEEDLE_API_KEY") {
        let k = k.to_string_lossy();
        if k.trim().is_empty() {
            return Err(invalid("NEEDLE_API_KEY is set but blank; unset it or give a key"));
        }
        keys.add(&k, Role::Admin).map_err(|e| invalid(format!("NEEDLE_API_KEY: {e}")))?;
    }
    if let Some(p) = &a.api_key_file {
        keys.load_key_file(p).map_err(|e| invalid(format!("--api-key-file: {e}")))?;
    }
    if let Some(p) = &a.api_keys_file {
        keys.load_file(p).map_err(|e| invalid(format!("--api-keys-file: {e}")))?;
    }
    for (v, what) in [
        (a.max_body_bytes, "--max-body-bytes"),
        (a.max_total_body_bytes, "--max-total-body-bytes"),
        (a.max_batch, "--max-batch"),
        (a.max_k, "--max-k"),
        (a.max_dimensions, "--max-dimensions"),
        (a.max_concurrency, "--max-concurrency"),
        (a.max_connections, "--max-connections"),
        (a.max_batch_results, "--max-batch-results"),
        (a.min_body_rate as usize, "--min-body-rate"),
    ] {
        if v == 0 {
            return Err(invalid(format!("{what} must be at least 1")));
        }
    }
    if a.max_total_body_bytes < a.max_body_bytes {
        return Err(invalid(format!(
            "--max-total-body-bytes ({}) must be at least --max-body-bytes ({})",
            a.max_total_body_bytes, a.max_body_bytes
        )));
    }
    let limits = Limits {
        max_body_bytes: a.max_body_bytes,
        max_total_body_bytes: a.max_total_body_bytes,
        max_batch: a.max_batch,
        max_k: a.max_k.min(crate::MAX_K),
        max_dimensions: a.max_dimensions,
        request_timeout: seconds(a.request_timeout, "--request-timeout")?,
        max_concurrent_requests: a.max_concurrency,
        max_batch_results: a.max_batch_results,
        max_connections: a.max_connections,
        max_connections_per_peer: a.max_connections_per_peer,
        header_timeout: seconds(a.header_timeout, "--header-timeout")?,
        idle_timeout: seconds(a.idle_timeout, "--idle-timeout")?,
        body_timeout: seconds(a.body_timeout, "--body-timeout")?,
        min_body_rate: a.min_body_rate,
        ..Limits::default()
    };
    let tls = match (&a.tls_cert, &a.tls_key) {
        (Some(cert), Some(key)) => Some(TlsFiles { cert: cert.clone(), key: key.clone() }),
        _ => None,
    };
    Ok(ServerOptions {
        addr: a.addr,
        tls,
        keys,
        limits,
        shutdown_grace: seconds(a.shutdown_grace, "--shutdown-grace")?,
        durability: a.durability,
        cross_site: CrossSite { allowed_hosts: a.allowed_hosts.clone(), cors_origins: a.cors_origin.clone() },
    })
}

/// Runs `needle serve` until ctrl-c or SIGTERM, then drains, checkpoints and returns.
pub fn run(a: ServeArgs, _g: Global) -> CliResult<()> {
    init_logging(a.log_format);
    let opts = options(&a)?;
    let mut config = DatabaseConfig::new().with_durability(a.durability).with_read_only(a.read_only);
    if let Some(var) = &a.passphrase_env {
        let pass = std::env::var(var).map_err(|_| invalid(format!("--passphrase-env: ${var} is not set")))?;
        config = config.with_encryption(EncryptionConfig::aes256_passphrase(&pass));
    }
    if a.read_only && !a.db.exists() {
        return Err(io_at(&a.db, std::io::Error::new(std::io::ErrorKind::NotFound, "no such database")));
    }
    let db = Database::open_with_config(&a.db, config)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().thread_name("needle-http").build()?;
    runtime.block_on(async move {
        let server = Server::start(db, opts).await?;
        // Catch SIGTERM before saying where we serve: whoever reads that line may signal at once.
        let signal = crate::server::ShutdownSignal::install();
        tracing::info!(db = %a.db.display(), url = %server.url(), "serving");
        // One plain line on stdout, whatever the log settings: scripts and tests read the port.
        let mut out = std::io::stdout();
        let _ = writeln!(out, "needle: serving {} on {}", a.db.display(), server.url());
        let _ = out.flush();
        signal.wait().await;
        server.shutdown().await?;
        Ok(())
    })
}

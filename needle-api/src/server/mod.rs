//! The HTTP REST server behind `needle serve` (feature `server`): axum on tokio, TLS with rustls,
//! API keys with roles, request limits, Prometheus metrics and an OpenAPI document.
//!
//! ```no_run
//! # async fn run() -> needle::Result<()> {
//! use needle::server::{Server, ServerOptions};
//! let db = needle::Database::open("vectors.needle")?;
//! let server = Server::start(db, ServerOptions::new("127.0.0.1:8080".parse().unwrap())).await?;
//! println!("listening on {}", server.local_addr());
//! needle::server::shutdown_signal().await; // ctrl-c or SIGTERM
//! server.shutdown().await?; // stop accepting, finish in-flight requests, checkpoint
//! # Ok(()) }
//! ```
//!
//! Routes (JSON in and out; errors are `{"error": {"code", "message"}}`), as the route table
//! [`ROUTES`] lists them (the router, the role check and the OpenAPI document are built from it):
//!
//! | route | role |
//! |---|---|
//! | `GET /health` | none (always public) |
//! | `GET /health/ready` | read-only |
//! | `GET /collections`, `GET /collections/{name}` | read-only |
//! | `POST /collections` | read-write |
//! | `DELETE /collections/{name}` | admin |
//! | `POST /collections/{name}/vectors`, `…/vectors/batch`, `…/vectors/upsert` (`?wait=true`) | read-write |
//! | `GET /collections/{name}/vectors/{id}` | read-only |
//! | `DELETE /collections/{name}/vectors/{id}` (`?wait=true`) | read-write |
//! | `POST /collections/{name}/search`, `…/search/batch`, `…/search/hybrid` | read-only |
//! | `POST /collections/{name}/compact`, `POST /save` | admin |
//! | `GET /metrics`, `GET /openapi.json` | read-only |

mod admit;
mod auth;
pub mod binary;
mod body;
mod bounded;
mod budget;
mod conn;
mod deadline;
mod errors;
mod handlers;
mod io;
mod keys;
mod limits;
mod openapi;
mod origin;
mod router;
pub mod routes;
mod state;
mod tls;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

pub use auth::required_role;
pub use errors::{status_for, ErrorBody, ErrorDetail};
pub use keys::{ApiKeys, Role};
pub use limits::Limits;
pub use openapi::{document as openapi_document, operations as openapi_operations};
pub use origin::CrossSite;
pub use router::router;
pub use routes::{Access, Route, ROUTES};
pub use state::AppState;
pub use tls::{server_config as tls_server_config, TlsFiles};

use conn::Phase;
use tokio::sync::watch;

use crate::{Database, Durability, Error, Result};

/// How to run the server.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Address to bind (port 0 picks a free port; see [`Server::local_addr`]).
    pub addr: SocketAddr,
    /// Serve HTTPS with this certificate and key.
    pub tls: Option<TlsFiles>,
    /// API keys (empty: no authentication).
    pub keys: ApiKeys,
    /// Request limits.
    pub limits: Limits,
    /// On shutdown, how long in-flight requests may take before connections are closed.
    pub shutdown_grace: Duration,
    /// The durability policy the database was opened with (default `Immediate`: every write is
    /// synced before it is answered, so `?wait=true` costs nothing more).
    pub durability: Durability,
    /// Host names and browser origins the server answers besides its own address.
    pub cross_site: CrossSite,
}

impl ServerOptions {
    /// Plain HTTP on `addr`, no keys, default limits, 30 s shutdown grace.
    pub fn new(addr: SocketAddr) -> ServerOptions {
        ServerOptions {
            addr,
            tls: None,
            keys: ApiKeys::none(),
            limits: Limits::default(),
            shutdown_grace: Duration::from_secs(30),
            durability: Durability::Immediate,
            cross_site: CrossSite::default(),
        }
    }
}

/// A running server.
pub struct Server {
    addr: SocketAddr,
    tls: bool,
    state: AppState,
    phase: watch::Sender<Phase>,
    accepting: tokio::task::JoinHandle<()>,
    conns: Arc<conn::Connections>,
    grace: Duration,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server").field("addr", &self.addr).field("tls", &self.tls).finish()
    }
}

fn io_err(what: String, e: std::io::Error) -> Error {
    Error::Io(std::io::Error::new(e.kind(), format!("{what}: {e}")))
}

impl Server {
    /// Binds and starts serving `db` on the current tokio runtime.
    pub async fn start(db: Database, opts: ServerOptions) -> Result<Server> {
        opts.limits.check().map_err(Error::InvalidArgument)?;
        let tls = opts.tls.as_ref().map(tls::server_config).transpose()?;
        let listener = std::net::TcpListener::bind(opts.addr).map_err(|e| io_err(format!("bind {}", opts.addr), e))?;
        listener.set_nonblocking(true)?;
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let addr = listener.local_addr()?;
        let mut limits = opts.limits;
        let max_connections = limits.effective_max_connections();
        if max_connections < limits.max_connections {
            tracing::warn!(
                requested = limits.max_connections,
                max_connections,
                "--max-connections lowered to what the open-file limit leaves room for"
            );
            limits.max_connections = max_connections;
        }
        let state = AppState::with_cross_site(db, limits, opts.keys, opts.durability, opts.cross_site, addr.ip());
        let app = router(state.clone());
        let is_tls = tls.is_some();
        let acceptor = tls.map(|cfg| tokio_rustls::TlsAcceptor::from(Arc::new(cfg)));
        let shared = conn::Shared::new(app, acceptor, state.limits());
        let conns = shared.conns.clone();
        let (phase, phase_rx) = watch::channel(Phase::Running);
        let accepting = tokio::spawn(conn::accept_loop(listener, shared, phase_rx));
        tracing::info!(%addr, tls = is_tls, keys = state.keys().len(), max_connections, "needle server listening");
        Ok(Server { addr, tls: is_tls, state, phase, accepting, conns, grace: opts.shutdown_grace })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://…` or `https://…` for the bound address.
    pub fn url(&self) -> String {
        format!("{}://{}", if self.tls { "https" } else { "http" }, self.addr)
    }

    /// The shared state (database, limits, keys).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Connections open now.
    pub fn open_connections(&self) -> usize {
        self.conns.open()
    }

    /// Graceful shutdown: stop accepting connections, let in-flight requests finish (up to the
    /// grace period), then checkpoint the database (when anything changed since the last one).
    pub async fn shutdown(self) -> Result<()> {
        self.state.set_shutting_down();
        let _ = self.phase.send(Phase::Draining);
        if let Err(e) = self.accepting.await {
            return Err(Error::Internal(format!("server task failed: {e}")));
        }
        if tokio::time::timeout(self.grace, self.conns.all_closed()).await.is_err() {
            tracing::warn!(open = self.conns.open(), "shutdown grace period over; closing the remaining connections");
            let _ = self.phase.send(Phase::Closing);
            let _ = tokio::time::timeout(Duration::from_secs(5), self.conns.all_closed()).await;
        }
        let db = self.state.db().clone();
        let started = std::time::Instant::now();
        let wrote = tokio::task::spawn_blocking(move || {
            if db.path().is_some() && db.is_dirty() {
                db.save().map(|()| true)
            } else {
                Ok(false)
            }
        })
        .await
        .map_err(|e| Error::Internal(format!("checkpoint task failed: {e}")))??;
        let ms = started.elapsed().as_millis() as u64;
        if wrote {
            tracing::info!(ms, "checkpoint written; server stopped");
        } else {
            tracing::info!("nothing to checkpoint; server stopped");
        }
        Ok(())
    }
}

/// Resolves on ctrl-c (SIGINT) or, on Unix, SIGTERM. Its listeners exist only once it is first
/// polled: a program that must not die of a signal sent earlier (for example right after it
/// printed its address) uses [`ShutdownSignal::install`] first.
pub async fn shutdown_signal() {
    ShutdownSignal::install().wait().await
}

/// Shutdown signal listeners, installed when this is made: from then on SIGINT and SIGTERM are
/// caught (not left to their default action, which ends the process) and [`wait`](Self::wait)
/// sees a signal that arrived before it was called.
pub struct ShutdownSignal {
    #[cfg(unix)]
    interrupt: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    terminate: Option<tokio::signal::unix::Signal>,
}

impl ShutdownSignal {
    /// Installs the listeners (call inside a Tokio runtime).
    pub fn install() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Self { interrupt: signal(SignalKind::interrupt()).ok(), terminate: signal(SignalKind::terminate()).ok() }
        }
        #[cfg(not(unix))]
        Self {}
    }

    /// Resolves on the first SIGINT or SIGTERM.
    pub async fn wait(mut self) {
        #[cfg(unix)]
        {
            async fn next(s: Option<&mut tokio::signal::unix::Signal>) {
                match s {
                    Some(s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            }
            let Self { interrupt, terminate } = &mut self;
            tokio::select! {
                _ = next(interrupt.as_mut()) => tracing::info!("interrupt: shutting down"),
                _ = next(terminate.as_mut()) => tracing::info!("SIGTERM: shutting down"),
            }
        }
        #[cfg(not(unix))]
        {
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
            tracing::info!("interrupt: shutting down");
        }
    }
}

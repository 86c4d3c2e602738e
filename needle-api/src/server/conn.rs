//! The connection layer: the server accepts TCP connections itself (rather than through
//! `axum::serve`) so that it can bound them, and serves each with hyper's HTTP/1 + HTTP/2 builder.
//!
//! * At most `max_connections` are open and at most `max_connections_per_peer` from one IP
//!   address; past either, a new connection is accepted and closed at once (plain HTTP gets a
//!   `503 too_many_connections` JSON answer first), so descriptors never run out. An accept that
//!   fails for lack of descriptors backs off instead of spinning.
//! * A connection that has not completed its first request's headers within `header_timeout`,
//!   or has had no request in flight and no bytes in or out for `idle_timeout`, is shut down
//!   (HTTP/1: closed; HTTP/2: GOAWAY, then closed) — silent sockets and idle keep-alive or h2
//!   connections do not accumulate. hyper's own HTTP/1 header-read timeout bounds headers that
//!   trickle in.
//! * The bytes hyper writes itself when it rejects a request before the router sees it (400 bad
//!   framing or a NUL in the path, 414, 431) get the JSON error body every other error has
//!   ([`io::Watched`]).
//! * Shutdown: stop accepting, let connections finish (HTTP/1 closes after the response in
//!   flight, HTTP/2 sends GOAWAY), and close what is left when the grace period ends.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use parking_lot::Mutex;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify};
use tokio_rustls::TlsAcceptor;

use super::io::{Activity, Stream, Watched};
use super::limits::Limits;

/// Where the server is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Accepting and serving.
    Running,
    /// Not accepting; connections finish what they are doing and close.
    Draining,
    /// Every connection closes now.
    Closing,
}

/// Why a new connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    Total,
    Peer,
}

/// Open connections, in total and per peer address.
pub(crate) struct Connections {
    counts: Mutex<Counts>,
    max: usize,
    max_per_peer: usize,
    closed: Notify,
}

#[derive(Default)]
struct Counts {
    open: usize,
    per_peer: HashMap<IpAddr, usize>,
}

/// One admitted connection; dropping it frees its place.
pub(crate) struct Admitted {
    conns: Arc<Connections>,
    ip: IpAddr,
}

impl Connections {
    pub(crate) fn new(max: usize, max_per_peer: usize) -> Arc<Connections> {
        Arc::new(Connections {
            counts: Mutex::new(Counts::default()),
            max: max.max(1),
            max_per_peer: if max_per_peer == 0 { usize::MAX } else { max_per_peer },
            closed: Notify::new(),
        })
    }

    fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Admitted, Refusal> {
        let mut c = self.counts.lock();
        if c.open >= self.max {
            return Err(Refusal::Total);
        }
        let n = c.per_peer.entry(ip).or_insert(0);
        if *n >= self.max_per_peer {
            return Err(Refusal::Peer);
        }
        *n += 1;
        c.open += 1;
        Ok(Admitted { conns: self.clone(), ip })
    }

    /// Connections open now.
    pub(crate) fn open(&self) -> usize {
        self.counts.lock().open
    }

    /// Waits until no connection is open.
    pub(crate) async fn all_closed(&self) {
        loop {
            let notified = self.closed.notified();
            if self.open() == 0 {
                return;
            }
            notified.await;
        }
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut c = self.conns.counts.lock();
        c.open -= 1;
        if let Some(n) = c.per_peer.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                c.per_peer.remove(&self.ip);
            }
        }
        if c.open == 0 {
            self.conns.closed.notify_waiters();
        }
    }
}

/// What every connection task shares.
pub(crate) struct Shared {
    pub app: Router,
    pub tls: Option<TlsAcceptor>,
    pub builder: Builder<TokioExecutor>,
    pub conns: Arc<Connections>,
    pub header_timeout: Duration,
    pub idle_timeout: Duration,
}

impl Shared {
    pub(crate) fn new(app: Router, tls: Option<TlsAcceptor>, limits: &Limits) -> Arc<Shared> {
        let mut builder = Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_timeout)
            .keep_alive(true)
            .max_buf_size(MAX_HEAD_BYTES);
        builder
            .http2()
            .timer(TokioTimer::new())
            .max_concurrent_streams(limits.max_streams_per_connection.max(1) as u32)
            .max_header_list_size(MAX_HEAD_BYTES as u32)
            .max_pending_accept_reset_streams(Some(32));
        let conns = Connections::new(limits.max_connections, limits.max_connections_per_peer);
        Arc::new(Shared {
            app,
            tls,
            builder,
            conns,
            header_timeout: limits.header_timeout,
            idle_timeout: limits.idle_timeout,
        })
    }
}

/// Largest request head (HTTP/1 headers, HTTP/2 header list) before 431.
const MAX_HEAD_BYTES: usize = 64 * 1024;

/// How long a connection shut down for idleness may take to close before it is dropped.
const IDLE_CLOSE_GRACE: Duration = Duration::from_secs(2);

/// The accept loop: runs until the phase leaves `Running`.
pub(crate) async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, mut phase: watch::Receiver<Phase>) {
    let mut last_warning: Option<Instant> = None;
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => r,
            _ = phase.changed() => break,
        };
        match accepted {
            Ok((stream, peer)) => match shared.conns.admit(peer.ip()) {
                Ok(admitted) => {
                    tokio::spawn(serve(shared.clone(), stream, peer, admitted, phase.clone()));
                }
                Err(why) => refuse(stream, peer, why, shared.tls.is_some(), &shared.conns),
            },
            Err(e) if is_per_connection(&e) => {}
            Err(e) => {
                // Out of descriptors (EMFILE/ENFILE) or memory: back off rather than spin; the
                // pending connection stays in the backlog until a descriptor is free.
                if last_warning.is_none_or(|t| t.elapsed() > Duration::from_secs(10)) {
                    tracing::warn!(error = %e, open = shared.conns.open(), "accept failed; backing off");
                    last_warning = Some(Instant::now());
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Errors that concern only the connection being accepted (the peer gave up meanwhile).
fn is_per_connection(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(e.kind(), ConnectionAborted | ConnectionReset | ConnectionRefused | Interrupted | WouldBlock)
}

fn refuse(stream: TcpStream, peer: SocketAddr, why: Refusal, tls: bool, conns: &Connections) {
    let (what, limit) = match why {
        Refusal::Total => ("open connections", conns.max),
        Refusal::Peer => ("open connections from one address", conns.max_per_peer),
    };
    tracing::debug!(%peer, limit, "refused a connection: too many {what}");
    #[cfg(feature = "metrics")]
    crate::metrics::record_connection_refused(match why {
        Refusal::Total => "max_connections",
        Refusal::Peer => "max_connections_per_peer",
    });
    if !tls {
        let body = format!(
            "{{\"error\":{{\"code\":\"too_many_connections\",\"message\":\"this server allows {limit} {what}; retry shortly\"}}}}"
        );
        let head = format!(
            "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: {}\r\nretry-after: 1\r\nconnection: close\r\n\r\n",
            body.len()
        );
        // Best effort and never waits: a fresh socket's send buffer takes this at once.
        let _ = stream.try_write(format!("{head}{body}").as_bytes());
    }
}

/// Serves one connection until it closes, goes idle, or the server stops.
async fn serve(
    shared: Arc<Shared>,
    stream: TcpStream,
    peer: SocketAddr,
    admitted: Admitted,
    mut phase: watch::Receiver<Phase>,
) {
    let _admitted = admitted;
    let _ = stream.set_nodelay(true);
    let activity = Arc::new(Activity::new());
    let stream = match &shared.tls {
        None => Stream::Plain(stream),
        Some(acceptor) => {
            let handshake = tokio::time::timeout(shared.header_timeout, acceptor.accept(stream));
            let done = tokio::select! {
                r = handshake => r,
                _ = phase.changed() => return,
            };
            match done {
                Ok(Ok(tls)) => Stream::Tls(Box::new(tls)),
                Ok(Err(e)) => {
                    tracing::debug!(%peer, error = %e, "TLS handshake failed");
                    return;
                }
                Err(_) => {
                    tracing::debug!(%peer, "TLS handshake timed out");
                    return;
                }
            }
        }
    };
    let io = TokioIo::new(Watched::new(stream, activity.clone()));
    let app = shared.app.clone();
    let act = activity.clone();
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo(peer));
        let mut app = app.clone();
        let request = act.begin();
        async move {
            let response = tower_service::Service::call(&mut app, req).await;
            drop(request);
            response
        }
    });
    let conn = shared.builder.serve_connection(io, service);
    tokio::pin!(conn);
    let mut draining = false;
    let mut idle_closing: Option<Instant> = None;
    loop {
        let now = Instant::now();
        // When the connection could next have been quiet for too long (or its close grace end);
        // never sooner than a short floor, so a busy connection is not polled in a loop.
        let due = match idle_closing {
            Some(since) => since + IDLE_CLOSE_GRACE,
            None => activity.deadline(shared.header_timeout, shared.idle_timeout),
        };
        let wake = due.max(now + Duration::from_millis(100));
        tokio::select! {
            r = conn.as_mut() => {
                if let Err(e) = r {
                    tracing::debug!(%peer, error = %e, "connection ended with an error");
                }
                break;
            }
            changed = phase.changed() => {
                let now_phase = match changed {
                    Ok(()) => *phase.borrow(),
                    Err(_) => Phase::Closing,
                };
                match now_phase {
                    Phase::Running => {}
                    Phase::Draining if !draining => {
                        draining = true;
                        conn.as_mut().graceful_shutdown();
                    }
                    Phase::Draining => {}
                    Phase::Closing => break,
                }
            }
            _ = tokio::time::sleep_until(wake.into()) => {
                let quiet = activity.in_flight() == 0;
                match idle_closing {
                    Some(since) => {
                        if quiet && since.elapsed() >= IDLE_CLOSE_GRACE {
                            break;
                        }
                    }
                    None => {
                        if quiet && Instant::now() >= activity.deadline(shared.header_timeout, shared.idle_timeout) {
                            tracing::debug!(%peer, requests = activity.requests(), "closing an idle connection");
                            idle_closing = Some(Instant::now());
                            if !draining {
                                conn.as_mut().graceful_shutdown();
                            }
                        }
                    }
                }
            }
        }
    }
}

//! One connection's byte stream: plain TCP or TLS ([`Stream`]), watched ([`Watched`]) so the
//! connection layer knows when it last moved a byte and how many requests are in flight on it
//! ([`Activity`]), and so that the bodiless error responses hyper writes on its own (a request it
//! could not parse never reaches the router) carry the JSON error body every other error has.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// Plain TCP or TLS over TCP.
pub(crate) enum Stream {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::server::TlsStream<TcpStream>>),
}

impl AsyncRead for Stream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }
    fn is_write_vectored(&self) -> bool {
        match self {
            Stream::Plain(s) => s.is_write_vectored(),
            Stream::Tls(s) => s.is_write_vectored(),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// What a connection is doing: when it was opened, when it last moved a byte or finished a
/// request, how many requests it has begun and how many are in flight.
pub(crate) struct Activity {
    opened: Instant,
    /// Milliseconds after `opened` of the last byte read or written, or request finished.
    last_ms: AtomicU64,
    requests: AtomicU64,
    in_flight: AtomicUsize,
}

/// A request in flight on a connection (see [`Activity::begin`]).
pub(crate) struct InFlight<'a>(&'a Activity);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
        self.0.touch();
    }
}

impl Activity {
    pub(crate) fn new() -> Activity {
        Activity {
            opened: Instant::now(),
            last_ms: AtomicU64::new(0),
            requests: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
        }
    }

    fn touch(&self) {
        self.last_ms.store(self.opened.elapsed().as_millis() as u64, Ordering::Relaxed);
    }

    /// A request's headers have arrived: it is in flight until the guard drops.
    pub(crate) fn begin(self: &std::sync::Arc<Self>) -> InFlightOwned {
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlightOwned(self.clone())
    }

    /// Requests begun on this connection.
    pub(crate) fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Requests in flight.
    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Acquire)
    }

    /// When the connection, if it stays quiet with nothing in flight, is to be closed: before
    /// its first request, `header_timeout` after it opened (bytes that never make a request do
    /// not keep it open); after that, `idle_timeout` after it last moved a byte.
    pub(crate) fn deadline(&self, header_timeout: Duration, idle_timeout: Duration) -> Instant {
        if self.requests() == 0 {
            self.opened + header_timeout
        } else {
            self.opened + Duration::from_millis(self.last_ms.load(Ordering::Relaxed)) + idle_timeout
        }
    }
}

/// Owned form of [`InFlight`], for futures that must be `'static`.
pub(crate) struct InFlightOwned(std::sync::Arc<Activity>);

impl Drop for InFlightOwned {
    fn drop(&mut self) {
        drop(InFlight(&self.0));
    }
}

/// A stream that records its activity and gives hyper's own error responses a JSON body.
pub(crate) struct Watched<S> {
    inner: S,
    activity: std::sync::Arc<Activity>,
    /// Bytes accepted from hyper but not yet written (a rewritten error response).
    pending: Vec<u8>,
    pending_at: usize,
}

impl<S> Watched<S> {
    pub(crate) fn new(inner: S, activity: std::sync::Arc<Activity>) -> Watched<S> {
        Watched { inner, activity, pending: Vec::new(), pending_at: 0 }
    }
}

impl<S: AsyncWrite + Unpin> Watched<S> {
    /// Writes what is pending; Ready(Ok) once nothing is.
    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.pending_at < self.pending.len() {
            let n = std::task::ready!(Pin::new(&mut self.inner).poll_write(cx, &self.pending[self.pending_at..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.pending_at += n;
            self.activity.touch();
        }
        self.pending.clear();
        self.pending_at = 0;
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let r = Pin::new(&mut this.inner).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.activity.touch();
        }
        r
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        std::task::ready!(this.drain(cx))?;
        if let Some(rewritten) = with_json_body(buf) {
            this.pending = rewritten;
            // Hyper has handed over the whole head; what it wrote is ours to deliver.
            let _ = this.drain(cx)?;
            return Poll::Ready(Ok(buf.len()));
        }
        let r = Pin::new(&mut this.inner).poll_write(cx, buf);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            this.activity.touch();
        }
        r
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        std::task::ready!(this.drain(cx))?;
        let mut non_empty = bufs.iter().filter(|b| !b.is_empty());
        if let (Some(only), None) = (non_empty.next(), non_empty.next()) {
            if let Some(rewritten) = with_json_body(only) {
                this.pending = rewritten;
                let _ = this.drain(cx)?;
                return Poll::Ready(Ok(only.len()));
            }
        }
        let r = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            this.activity.touch();
        }
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        std::task::ready!(this.drain(cx))?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        std::task::ready!(this.drain(cx))?;
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}

/// If `head` is a complete HTTP/1 error response head with an empty body — which only hyper
/// writes (every response of the router's has a JSON body) — the same response with a JSON
/// error body; otherwise `None`.
pub(crate) fn with_json_body(head: &[u8]) -> Option<Vec<u8>> {
    if head.len() > 1024 || !head.starts_with(b"HTTP/1.") || !head.ends_with(b"\r\n\r\n") {
        return None;
    }
    let text = std::str::from_utf8(head).ok()?;
    let status_line = text.split("\r\n").next()?;
    let mut parts = status_line.splitn(3, ' ');
    let (_, code, reason) = (parts.next()?, parts.next()?, parts.next().unwrap_or(""));
    let code: u16 = code.parse().ok()?;
    if !(400..600).contains(&code) {
        return None;
    }
    let lines: Vec<&str> = text.trim_end_matches("\r\n").split("\r\n").skip(1).collect();
    if !lines.iter().any(|l| l.eq_ignore_ascii_case("content-length: 0")) {
        return None;
    }
    let (error, message) = match code {
        400 => (
            "bad_request",
            "the request could not be parsed as HTTP (bad framing, or a forbidden byte in the path or a header)",
        ),
        408 => ("timeout", "the request headers were not received in time"),
        413 => ("payload_too_large", "the request is too large"),
        414 => ("uri_too_long", "the request target is too long"),
        431 => ("headers_too_large", "the request headers are too large"),
        501 => ("not_implemented", "the request uses a feature this server does not implement"),
        505 => ("http_version_not_supported", "this HTTP version is not supported"),
        _ if code >= 500 => ("internal", reason),
        _ => ("bad_request", reason),
    };
    let body = format!("{{\"error\":{{\"code\":\"{error}\",\"message\":\"{message}\"}}}}");
    let mut out = format!("{status_line}\r\n");
    for l in lines {
        let lower = l.to_ascii_lowercase();
        if lower.starts_with("content-length:") || lower.starts_with("content-type:") {
            continue;
        }
        out.push_str(l);
        out.push_str("\r\n");
    }
    out.push_str(&format!("content-type: application/json\r\ncontent-length: {}\r\n\r\n{body}", body.len()));
    Some(out.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_bodiless_error_heads_are_rewritten() {
        let head = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\ndate: x\r\n\r\n";
        let out = String::from_utf8(with_json_body(head).unwrap()).unwrap();
        let (h, body) = out.split_once("\r\n\r\n").unwrap();
        assert!(h.starts_with("HTTP/1.1 431 "), "{out}");
        assert!(h.contains("content-type: application/json") && h.contains("date: x"), "{out}");
        assert!(h.contains(&format!("content-length: {}", body.len())), "{out}");
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["error"]["code"], "headers_too_large");
        // Success, a body, an incomplete head: untouched.
        assert!(with_json_body(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").is_none());
        assert!(with_json_body(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 10\r\n\r\n").is_none());
        assert!(with_json_body(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n").is_none());
        assert!(with_json_body(b"{\"x\": 1}").is_none());
    }
}

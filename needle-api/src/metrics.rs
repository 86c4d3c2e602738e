//! Prometheus metrics (feature `metrics`), recorded on the real code paths of the library.
//!
//! One process-wide registry (prometheus-client) holds:
//!
//! | metric | type | what |
//! |---|---|---|
//! | `needle_search_latency_seconds` | histogram | one observation per query searched (also in batches) |
//! | `needle_insert_latency_seconds` | histogram | one observation per insert, upsert or batch insert call |
//! | `needle_search_requests_total` | counter | queries searched |
//! | `needle_search_rejected_total` | counter | searches refused for their input, by `code` (`dimension_mismatch`, ...) |
//! | `needle_vectors_total` | gauge | live vectors in every open database |
//! | `needle_collections_total` | gauge | collections in every open database |
//! | `needle_memory_bytes` | gauge | approximate heap bytes of every open database's collections, their share of each database's document cache (`DatabaseConfig::cache_size`) included |
//! | `needle_http_requests_total` | counter | HTTP requests by `method`, `route` (the routed template) and `status` |
//! | `needle_http_request_duration_seconds` | histogram | HTTP latency by `method` and `route` |
//! | `needle_http_connections_refused_total` | counter | connections refused by `reason` (`max_connections`, `max_connections_per_peer`) |
//!
//! The three gauges are sampled when metrics are encoded (a scrape) from every collection of this
//! process that still exists and has not been dropped; the registry holds nothing open. The
//! memory estimate walks every record, so it is recomputed at most every 10 seconds (or when
//! collections come or go).
//!
//! ```no_run
//! # fn main() -> std::io::Result<()> {
//! let server = needle::metrics::start_server("127.0.0.1:9090")?; // GET /metrics
//! println!("metrics on http://{}/metrics", server.local_addr());
//! # Ok(()) }
//! ```

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::{Arc, LazyLock, Weak};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// The content type of [`encode`]'s output (OpenMetrics text, which Prometheus scrapes).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Labels of `needle_http_requests_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    method: String,
    route: String,
    status: u16,
}

/// Labels of `needle_search_rejected_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CodeLabels {
    code: String,
}

/// Labels of `needle_http_connections_refused_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: String,
}

/// Labels of `needle_http_request_duration_seconds`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

type HistogramFamily = Family<RouteLabels, Histogram, fn() -> Histogram>;

struct Metrics {
    registry: Registry,
    search_latency: Histogram,
    insert_latency: Histogram,
    search_requests: Counter,
    search_rejected: Family<CodeLabels, Counter>,
    connections_refused: Family<ReasonLabels, Counter>,
    vectors: Gauge,
    collections: Gauge,
    memory: Gauge,
    http_requests: Family<HttpLabels, Counter>,
    http_latency: HistogramFamily,
    collections_seen: Mutex<Vec<Weak<dyn Sampled>>>,
    memory_sampled: Mutex<Option<(Instant, usize)>>,
}

/// How often `needle_memory_bytes` is recomputed (it walks every record).
const MEMORY_REFRESH: Duration = Duration::from_secs(10);

fn latency_buckets() -> Histogram {
    // 25 µs … ~6.5 min in doublings.
    Histogram::new(exponential_buckets(25e-6, 2.0, 24))
}

static METRICS: LazyLock<Metrics> = LazyLock::new(|| {
    let mut registry = Registry::default();
    let search_latency = latency_buckets();
    let insert_latency = latency_buckets();
    let search_requests = Counter::default();
    let search_rejected = Family::<CodeLabels, Counter>::default();
    let connections_refused = Family::<ReasonLabels, Counter>::default();
    let vectors = Gauge::default();
    let collections = Gauge::default();
    let memory = Gauge::default();
    let http_requests = Family::<HttpLabels, Counter>::default();
    let http_latency: HistogramFamily = Family::new_with_constructor(latency_buckets);
    registry.register("needle_search_latency_seconds", "Search latency per query", search_latency.clone());
    registry.register(
        "needle_insert_latency_seconds",
        "Insert latency per insert, upsert or batch call",
        insert_latency.clone(),
    );
    // prometheus-client appends `_total` to counters.
    registry.register("needle_search_requests", "Total search requests (queries searched)", search_requests.clone());
    registry.register(
        "needle_search_rejected",
        "Searches refused for their input, by error code",
        search_rejected.clone(),
    );
    registry.register(
        "needle_http_connections_refused",
        "Connections refused by the server's connection limits, by reason",
        connections_refused.clone(),
    );
    registry.register("needle_vectors_total", "Total vectors stored (live) in open databases", vectors.clone());
    registry.register("needle_collections_total", "Number of collections in open databases", collections.clone());
    registry.register("needle_memory_bytes", "Approximate memory used by open collections", memory.clone());
    registry.register("needle_http_requests", "HTTP requests by method, route and status", http_requests.clone());
    registry.register("needle_http_request_duration_seconds", "HTTP request latency", http_latency.clone());
    Metrics {
        registry,
        search_latency,
        insert_latency,
        search_requests,
        search_rejected,
        connections_refused,
        vectors,
        collections,
        memory,
        http_requests,
        http_latency,
        collections_seen: Mutex::new(Vec::new()),
        memory_sampled: Mutex::new(None),
    }
});

/// Times one search; records latency and counts the query when dropped.
pub(crate) struct SearchTimer(Instant);

impl SearchTimer {
    pub(crate) fn start() -> SearchTimer {
        SearchTimer(Instant::now())
    }
}

impl Drop for SearchTimer {
    fn drop(&mut self) {
        let m = &*METRICS;
        m.search_latency.observe(self.0.elapsed().as_secs_f64());
        m.search_requests.inc();
    }
}

/// Times one insert call; records its latency when dropped.
pub(crate) struct InsertTimer(Instant);

impl InsertTimer {
    pub(crate) fn start() -> InsertTimer {
        InsertTimer(Instant::now())
    }
}

impl Drop for InsertTimer {
    fn drop(&mut self) {
        METRICS.insert_latency.observe(self.0.elapsed().as_secs_f64());
    }
}

/// What the gauges read of one collection. The collection implements it, so this file never
/// imports the collection (which imports this file for its timers).
pub(crate) trait Sampled: Send + Sync {
    /// Its live vectors, and (when `memory`) its approximate heap bytes; `None` when the
    /// collection may no longer be used (dropped, its database closed, or found corrupted).
    fn sample(&self, memory: bool) -> Option<(usize, usize)>;
}

/// Registers a collection for the gauges (held weakly: it is sampled while it exists and has not
/// been dropped).
pub(crate) fn track(c: Weak<dyn Sampled>) {
    let mut seen = METRICS.collections_seen.lock();
    seen.retain(|w| w.strong_count() > 0);
    seen.push(c);
}

/// Records one HTTP request (used by the server's middleware).
#[cfg_attr(not(feature = "server"), allow(dead_code))]
pub(crate) fn record_http(method: &str, route: &str, status: u16, elapsed: Duration) {
    let m = &*METRICS;
    let (method, route) = (method.to_string(), route.to_string());
    m.http_latency
        .get_or_create(&RouteLabels { method: method.clone(), route: route.clone() })
        .observe(elapsed.as_secs_f64());
    m.http_requests.get_or_create(&HttpLabels { method, route, status }).inc();
}

/// Counts a search refused for its input (`needle_search_rejected_total{code}`).
pub(crate) fn search_rejected(code: &str) {
    METRICS.search_rejected.get_or_create(&CodeLabels { code: code.to_string() }).inc();
}

/// Counts a connection refused by a connection limit (`needle_http_connections_refused_total`).
#[cfg_attr(not(feature = "server"), allow(dead_code))]
pub(crate) fn record_connection_refused(reason: &str) {
    METRICS.connections_refused.get_or_create(&ReasonLabels { reason: reason.to_string() }).inc();
}

/// Queries searched in this process so far (`needle_search_requests_total`).
pub fn search_requests_total() -> u64 {
    METRICS.search_requests.get()
}

fn refresh_gauges() {
    let m = &*METRICS;
    // Upgrading a collection keeps only its data alive for a moment, never its database (whose
    // close must not wait for a scrape).
    let live: Vec<Arc<dyn Sampled>> = {
        let mut seen = m.collections_seen.lock();
        seen.retain(|w| w.strong_count() > 0);
        seen.iter().filter_map(Weak::upgrade).collect()
    };
    // Counting is cheap; the memory estimate walks every record, so it is refreshed at most
    // every MEMORY_REFRESH, or when the set of collections changed.
    let mut last = m.memory_sampled.lock();
    let sample_memory = last.is_none_or(|(t, n)| t.elapsed() >= MEMORY_REFRESH || n != live.len());
    let (mut collections, mut vectors, mut memory) = (0i64, 0i64, 0i64);
    for c in &live {
        // A dropped collection (CollectionNotFound) or one whose database was dropped (Closed)
        // fails and is skipped.
        if let Some((n, bytes)) = c.sample(sample_memory) {
            collections += 1;
            vectors += n as i64;
            memory += bytes as i64;
        }
    }
    m.collections.set(collections);
    m.vectors.set(vectors);
    if sample_memory {
        m.memory.set(memory);
        *last = Some((Instant::now(), live.len()));
    }
}

/// Every metric in the Prometheus / OpenMetrics text format (see [`CONTENT_TYPE`]), gauges
/// sampled now.
pub fn encode() -> String {
    refresh_gauges();
    let mut out = String::with_capacity(8192);
    // Writing to a String cannot fail.
    let _ = prometheus_client::encoding::text::encode(&mut out, &METRICS.registry);
    out
}

/// The process-wide registry (to encode it yourself, or next to your own metrics).
pub fn registry() -> &'static Registry {
    &METRICS.registry
}

/// A running metrics endpoint, from [`start_server`]. It serves until the process exits.
#[derive(Debug)]
pub struct MetricsServer {
    addr: SocketAddr,
}

impl MetricsServer {
    /// The address it listens on (useful after binding port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }
}

/// Serves `GET /metrics` on `addr` from a background thread (plain HTTP/1.1, one short
/// request per connection). For embedded use; `needle serve` has `/metrics` built in.
pub fn start_server(addr: impl ToSocketAddrs) -> std::io::Result<MetricsServer> {
    let listener = TcpListener::bind(addr)?;
    let addr = listener.local_addr()?;
    std::thread::Builder::new().name("needle-metrics".into()).spawn(move || {
        for stream in listener.incoming().flatten() {
            // One connection at a time: scrapes are rare and encoding is quick.
            if let Err(e) = answer(stream) {
                tracing::debug!(error = %e, "metrics connection failed");
            }
        }
    })?;
    tracing::info!(%addr, "metrics endpoint listening");
    Ok(MetricsServer { addr })
}

fn answer(mut stream: TcpStream) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.set_write_timeout(Some(Duration::from_secs(5)))?;
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut chunk)?;
        if n == 0 || buf.len() > 16 * 1024 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let head = String::from_utf8_lossy(&buf);
    let mut parts = head.lines().next().unwrap_or("").split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    let (status, content_type, body) = match (method, path) {
        ("GET", "/metrics") => ("200 OK", CONTENT_TYPE, encode()),
        ("GET", _) => ("404 Not Found", "text/plain", "not found: try /metrics\n".to_string()),
        _ => ("405 Method Not Allowed", "text/plain", "only GET /metrics\n".to_string()),
    };
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    stream.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_names_the_guide_metrics() {
        let text = encode();
        for name in [
            "needle_search_latency_seconds",
            "needle_insert_latency_seconds",
            "needle_vectors_total",
            "needle_collections_total",
            "needle_memory_bytes",
            "needle_search_requests_total",
        ] {
            assert!(text.contains(&format!("# TYPE {name} ")) || text.contains(&format!("{name} ")), "{name}:\n{text}");
        }
    }
}

//! Targets: `[scope:] condition (with|and condition)*`, e.g.
//! `recall@10 >= 0.95 with p99 <= 2 ms` or `hnsw-*-sq8-*: recall@10 >= 0.95`.
//!
//! Per-query conditions (recall, latency, QPS) must hold together at one `ef_search` point of the
//! sweep; per-build conditions (build time, memory, disk, open time) must hold for the build. A
//! target applies to every Needle combination whose name matches the scope glob (all when absent).

use anyhow::{anyhow, bail, Result};
use serde::Serialize;

use crate::result::{SweepPoint, SystemResult};

/// A parsed target.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// The text as written.
    pub text: String,
    /// Glob on combination names (`*` matches any run of characters).
    pub scope: Option<String>,
    /// All must hold.
    pub conditions: Vec<Condition>,
}

/// `metric op value`, with the value in the metric's base unit.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// What is compared.
    pub metric: Metric,
    /// How.
    pub op: Op,
    /// Threshold in the metric's base unit (µs for latency, seconds for build, bytes for sizes).
    pub value: f64,
}

/// Measurable quantities.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Metric {
    /// recall@k (k must be the run's k).
    Recall(usize),
    /// Latency percentile, µs.
    P50,
    /// Latency percentile, µs.
    P95,
    /// Latency percentile, µs.
    P99,
    /// Single-thread queries per second.
    Qps,
    /// All-thread batch queries per second.
    BatchQps,
    /// Build wall time on all threads, seconds.
    BuildS,
    /// Build wall time on one thread, seconds.
    Build1tS,
    /// Resident bytes per vector (RSS growth during the build / n).
    BytesPerVector,
    /// File bytes per vector after save.
    DiskBytesPerVector,
    /// Reopen time, seconds.
    OpenS,
}

/// Comparison.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Op {
    /// `>=`
    Ge,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `<`
    Lt,
}

/// One target checked against one system on one data set.
#[derive(Debug, Clone, Serialize)]
pub struct TargetOutcome {
    /// The target as written.
    pub target: String,
    /// Data set name.
    pub dataset: String,
    /// Combination name.
    pub system: String,
    /// Whether it holds.
    pub passed: bool,
    /// The `ef_search` at which it holds, when it does.
    pub at_ef_search: Option<usize>,
    /// What was measured.
    pub detail: String,
}

impl Metric {
    fn per_query(self) -> bool {
        matches!(self, Metric::Recall(_) | Metric::P50 | Metric::P95 | Metric::P99 | Metric::Qps | Metric::BatchQps)
    }

    fn label(self) -> String {
        match self {
            Metric::Recall(k) => format!("recall@{k}"),
            Metric::P50 => "p50".into(),
            Metric::P95 => "p95".into(),
            Metric::P99 => "p99".into(),
            Metric::Qps => "qps".into(),
            Metric::BatchQps => "batch_qps".into(),
            Metric::BuildS => "build_s".into(),
            Metric::Build1tS => "build_1t_s".into(),
            Metric::BytesPerVector => "bytes_per_vector".into(),
            Metric::DiskBytesPerVector => "disk_bytes_per_vector".into(),
            Metric::OpenS => "open_s".into(),
        }
    }

    fn show(self, v: f64) -> String {
        match self {
            Metric::Recall(_) => format!("{v:.4}"),
            Metric::P50 | Metric::P95 | Metric::P99 => format!("{:.3} ms", v / 1000.0),
            Metric::Qps | Metric::BatchQps => format!("{v:.0}"),
            Metric::BuildS | Metric::Build1tS | Metric::OpenS => format!("{v:.2} s"),
            Metric::BytesPerVector | Metric::DiskBytesPerVector => format!("{v:.0} B"),
        }
    }

    fn of_point(self, p: &SweepPoint) -> Option<f64> {
        match self {
            Metric::Recall(_) => Some(p.recall),
            Metric::P50 => Some(p.p50_us),
            Metric::P95 => Some(p.p95_us),
            Metric::P99 => Some(p.p99_us),
            Metric::Qps => Some(p.qps),
            Metric::BatchQps => p.batch_qps,
            _ => None,
        }
    }

    fn of_system(self, s: &SystemResult) -> Option<f64> {
        match self {
            Metric::BuildS => s.build_all_s(),
            Metric::Build1tS => s.build_1t_s(),
            Metric::BytesPerVector => s.bytes_per_vector,
            Metric::DiskBytesPerVector => s.disk_bytes.map(|b| b as f64 / s.n.max(1) as f64),
            Metric::OpenS => s.open_s,
            _ => None,
        }
    }
}

impl Op {
    fn holds(self, a: f64, b: f64) -> bool {
        match self {
            Op::Ge => a >= b,
            Op::Le => a <= b,
            Op::Gt => a > b,
            Op::Lt => a < b,
        }
    }
    fn text(self) -> &'static str {
        match self {
            Op::Ge => ">=",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Lt => "<",
        }
    }
}

impl Condition {
    fn parse(s: &str) -> Result<Condition> {
        let s = s.trim();
        let (pos, op, len) = ["<=", ">=", "<", ">"]
            .iter()
            .filter_map(|o| s.find(o).map(|p| (p, *o, o.len())))
            .min_by_key(|(p, _, len)| (*p, usize::MAX - len))
            .ok_or_else(|| anyhow!("condition {s:?} has no comparison (>=, <=, >, <)"))?;
        let op = match op {
            "<=" => Op::Le,
            ">=" => Op::Ge,
            "<" => Op::Lt,
            _ => Op::Gt,
        };
        let name = s[..pos].trim().to_ascii_lowercase();
        let rest = s[pos + len..].trim();
        let split =
            rest.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == 'e' || c == '_')).unwrap_or(rest.len());
        let number: f64 =
            rest[..split].replace('_', "").parse().map_err(|_| anyhow!("condition {s:?}: {rest:?} is not a number"))?;
        let unit = rest[split..].trim().to_ascii_lowercase();
        let metric = if let Some(k) = name.strip_prefix("recall@") {
            Metric::Recall(k.parse().map_err(|_| anyhow!("condition {s:?}: bad k in {name:?}"))?)
        } else {
            match name.as_str() {
                "p50" => Metric::P50,
                "p95" => Metric::P95,
                "p99" => Metric::P99,
                "qps" => Metric::Qps,
                "batch_qps" => Metric::BatchQps,
                "build" | "build_s" => Metric::BuildS,
                "build_1t" | "build_1t_s" => Metric::Build1tS,
                "bytes_per_vector" => Metric::BytesPerVector,
                "disk_bytes_per_vector" => Metric::DiskBytesPerVector,
                "open" | "open_s" => Metric::OpenS,
                other => bail!("condition {s:?}: unknown metric {other:?}"),
            }
        };
        let scale = match (metric, unit.as_str()) {
            (Metric::P50 | Metric::P95 | Metric::P99, "" | "ms") => 1000.0,
            (Metric::P50 | Metric::P95 | Metric::P99, "us" | "µs") => 1.0,
            (Metric::P50 | Metric::P95 | Metric::P99, "s") => 1e6,
            (Metric::BuildS | Metric::Build1tS | Metric::OpenS, "" | "s") => 1.0,
            (Metric::BuildS | Metric::Build1tS | Metric::OpenS, "ms") => 1e-3,
            (Metric::BytesPerVector | Metric::DiskBytesPerVector, "" | "b") => 1.0,
            (Metric::BytesPerVector | Metric::DiskBytesPerVector, "kib") => 1024.0,
            (Metric::Recall(_) | Metric::Qps | Metric::BatchQps, "") => 1.0,
            (m, u) => bail!("condition {s:?}: unit {u:?} does not fit {}", m.label()),
        };
        Ok(Condition { metric, op, value: number * scale })
    }

    fn describe(&self, measured: f64) -> String {
        format!(
            "{} {} (wanted {} {})",
            self.metric.label(),
            self.metric.show(measured),
            self.op.text(),
            self.metric.show(self.value)
        )
    }
}

impl Target {
    /// Parses `[scope:] cond (with|and|, cond)*`.
    pub fn parse(text: &str) -> Result<Target> {
        let (scope, body) = match text.split_once(':') {
            Some((s, b)) => (Some(s.trim().to_string()), b),
            None => (None, text),
        };
        let normalised = body.replace(" with ", " & ").replace(" and ", " & ").replace(',', " & ");
        let conditions = normalised
            .split('&')
            .filter(|c| !c.trim().is_empty())
            .map(Condition::parse)
            .collect::<Result<Vec<_>>>()
            .map_err(|e| anyhow!("target {text:?}: {e}"))?;
        if conditions.is_empty() {
            bail!("target {text:?} has no condition");
        }
        Ok(Target { text: text.trim().to_string(), scope, conditions })
    }

    /// Recall conditions must use the run's k.
    pub fn check_k(&self, k: usize) -> Result<()> {
        for c in &self.conditions {
            if let Metric::Recall(rk) = c.metric {
                if rk != k {
                    bail!("target {:?} asks for recall@{rk} but the run measures recall@{k}", self.text);
                }
            }
        }
        Ok(())
    }

    /// Whether the target applies to this combination name.
    pub fn applies_to(&self, name: &str) -> bool {
        self.scope.as_deref().is_none_or(|g| glob(g, name))
    }

    /// Checks the target against one system's results.
    pub fn evaluate(&self, dataset: &str, s: &SystemResult) -> TargetOutcome {
        let mut out = TargetOutcome {
            target: self.text.clone(),
            dataset: dataset.to_string(),
            system: s.name.clone(),
            passed: false,
            at_ef_search: None,
            detail: String::new(),
        };
        if let Some(e) = &s.error {
            out.detail = format!("no measurement: {e}");
            return out;
        }
        let mut notes = Vec::new();
        let mut build_ok = true;
        for c in self.conditions.iter().filter(|c| !c.metric.per_query()) {
            match c.metric.of_system(s) {
                Some(v) if c.op.holds(v, c.value) => notes.push(c.describe(v)),
                Some(v) => {
                    build_ok = false;
                    notes.push(format!("MISSED {}", c.describe(v)));
                }
                None => {
                    build_ok = false;
                    notes.push(format!("MISSED {} not measured", c.metric.label()));
                }
            }
        }
        let per_query: Vec<&Condition> = self.conditions.iter().filter(|c| c.metric.per_query()).collect();
        if per_query.is_empty() {
            out.passed = build_ok;
            out.detail = notes.join("; ");
            return out;
        }
        let holds =
            |p: &SweepPoint| per_query.iter().all(|c| c.metric.of_point(p).is_some_and(|v| c.op.holds(v, c.value)));
        // The passing point with the smallest ef_search (cheapest); else the closest miss: the
        // point meeting the most conditions, ties to the highest recall.
        let describe_point = |p: &SweepPoint| {
            per_query
                .iter()
                .map(|c| match c.metric.of_point(p) {
                    Some(v) if c.op.holds(v, c.value) => c.describe(v),
                    Some(v) => format!("MISSED {}", c.describe(v)),
                    None => format!("MISSED {} not measured", c.metric.label()),
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        let ef_text = |p: &SweepPoint| p.ef_search.map_or("exact".to_string(), |e| format!("ef={e}"));
        if let Some(p) = s.sweep.iter().find(|p| holds(p)) {
            out.passed = build_ok;
            out.at_ef_search = p.ef_search;
            notes.insert(0, format!("{}: {}", ef_text(p), describe_point(p)));
        } else if let Some(p) = s.sweep.iter().max_by(|a, b| {
            let score = |p: &SweepPoint| {
                per_query.iter().filter(|c| c.metric.of_point(p).is_some_and(|v| c.op.holds(v, c.value))).count()
            };
            score(a).cmp(&score(b)).then(a.recall.total_cmp(&b.recall))
        }) {
            notes.insert(0, format!("no ef_search meets it; closest {}: {}", ef_text(p), describe_point(p)));
        } else {
            notes.insert(0, "no sweep points".into());
        }
        out.detail = notes.join("; ");
        out
    }
}

/// `*` matches any run of characters, everything else literally.
pub fn glob(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == name;
    }
    let mut rest = name;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            match rest.strip_prefix(part) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(p) => rest = &rest[p + part.len()..],
                None => return false,
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::SystemKind;

    fn point(ef: usize, recall: f64, p99_us: f64) -> SweepPoint {
        SweepPoint {
            ef_search: Some(ef),
            recall,
            qps: 1000.0,
            batch_qps: None,
            p50_us: p99_us / 2.0,
            p95_us: p99_us,
            p99_us,
        }
    }

    #[test]
    fn parses_units_and_scope() {
        let t = Target::parse("hnsw-*: recall@10 >= 0.95 with p99 <= 2 ms").unwrap();
        assert_eq!(t.scope.as_deref(), Some("hnsw-*"));
        assert_eq!(t.conditions.len(), 2);
        assert_eq!(t.conditions[0], Condition { metric: Metric::Recall(10), op: Op::Ge, value: 0.95 });
        assert_eq!(t.conditions[1].value, 2000.0);
        let t = Target::parse("p99 < 500us and build_s <= 90").unwrap();
        assert_eq!(t.conditions[0].value, 500.0);
        assert_eq!(t.conditions[1].metric, Metric::BuildS);
        assert!(Target::parse("recall@10 about 0.9").is_err());
        assert!(Target::parse("qps >= 10 ms").is_err());
        assert!(Target::parse("latency <= 3").is_err());
    }

    #[test]
    fn globs() {
        assert!(glob("*", "x"));
        assert!(glob("hnsw-*-sq8-*", "hnsw-cosine-sq8-mmap-none"));
        assert!(!glob("hnsw-*-sq8-*", "hnsw-cosine-none-mmap-none"));
        assert!(glob("flat-cosine-none-mmap-none", "flat-cosine-none-mmap-none"));
    }

    #[test]
    fn evaluates_at_one_point() {
        let mut s = SystemResult::new("hnsw-cosine-none-mmap-none", SystemKind::Needle, "needle", 1000);
        s.sweep = vec![point(16, 0.92, 500.0), point(64, 0.97, 1500.0), point(256, 0.995, 4000.0)];
        let t = Target::parse("recall@10 >= 0.95 with p99 <= 2 ms").unwrap();
        let o = t.evaluate("d", &s);
        assert!(o.passed, "{}", o.detail);
        assert_eq!(o.at_ef_search, Some(64));
        let t = Target::parse("recall@10 >= 0.99 with p99 <= 2 ms").unwrap();
        let o = t.evaluate("d", &s);
        assert!(!o.passed);
        assert!(o.detail.contains("MISSED"), "{}", o.detail);
        let t = Target::parse("recall@10 >= 0.9 with build_s <= 1").unwrap();
        assert!(!t.evaluate("d", &s).passed, "build time was not measured");
    }
}

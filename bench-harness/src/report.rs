//! The Markdown report.

use std::fmt::Write;

use crate::result::{recall_key, DatasetResult, RunResult, SystemKind, SystemResult};

fn opt<T>(v: Option<T>, f: impl Fn(T) -> String) -> String {
    v.map(f).unwrap_or_else(|| "—".into())
}

fn mib(b: f64) -> String {
    format!("{:.1}", b / (1024.0 * 1024.0))
}

fn qps(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

fn label(s: &SystemResult) -> String {
    match s.kind {
        SystemKind::Needle => format!("**needle** {}", s.name),
        SystemKind::Peer => s.name.clone(),
    }
}

/// Exact scans (Needle `flat-*`, faiss-flat) read every stored vector per query: their best
/// single-thread QPS times the bytes of the vectors is the bandwidth they reach, set against the
/// machine's.
fn scan_bandwidth(o: &mut String, ds: &DatasetResult, machine_gbps: Option<f64>) {
    let bytes = (ds.n * ds.dim * 4) as f64;
    let scans: Vec<(&SystemResult, f64)> = ds
        .systems
        .iter()
        .filter(|s| s.error.is_none() && (s.name.starts_with("flat") || s.name.ends_with("-flat")))
        .filter_map(|s| s.sweep.iter().map(|p| p.qps).reduce(f64::max).map(|q| (s, q)))
        .collect();
    if scans.is_empty() {
        return;
    }
    let _ = writeln!(o, "\nExact scans against memory bandwidth ({} MiB of vectors per query):\n", mib(bytes));
    for (s, q) in scans {
        let gbps = q * bytes / 1e9;
        let share = machine_gbps
            .map_or(String::new(), |m| format!(" = {:.0} % of the machine's {m:.1} GB/s", 100.0 * gbps / m));
        let _ = writeln!(o, "- {}: {q:.1} QPS → {gbps:.1} GB/s{share}", label(s));
    }
}

/// Renders the whole run.
pub fn markdown(run: &RunResult, levels: &[f64]) -> String {
    let mut o = String::new();
    let m = &run.machine;
    let _ = writeln!(o, "# Needle bench-harness: `{}`\n", run.name);
    if !run.description.is_empty() {
        let _ = writeln!(o, "{}\n", run.description.trim());
    }
    let _ = writeln!(o, "| | |\n|---|---|");
    let _ = writeln!(o, "| started | {} (took {:.0} s) |", run.started, run.elapsed_s);
    let _ = writeln!(o, "| config | `{}` |", run.config_path);
    let _ = writeln!(
        o,
        "| git commit | `{}`{} |",
        m.git_commit.as_deref().unwrap_or("unknown"),
        if m.git_dirty == Some(true) { " (uncommitted changes)" } else { "" }
    );
    let _ = writeln!(o, "| CPU | {} ({} cores available) |", m.cpu_model, m.cores);
    let _ = writeln!(o, "| CPU SIMD flags | {} |", m.cpu_flags.join(" "));
    let _ = writeln!(o, "| Needle SIMD backend | `{}` |", m.simd_backend);
    let _ = writeln!(
        o,
        "| memory | {} |",
        opt(m.mem_total_bytes, |b| format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64))
    );
    let _ = writeln!(o, "| OS | {} |", m.os);
    let _ = writeln!(o, "| harness build | {} |", m.profile);
    let _ = writeln!(
        o,
        "| single-thread read bandwidth | {} |",
        opt(m.read_bandwidth_gbps, |g| format!("{g:.1} GB/s (best of 4 passes over 512 MiB)"))
    );
    let load = |l: Option<[f64; 3]>| opt(l, |l| format!("{:.2} / {:.2} / {:.2}", l[0], l[1], l[2]));
    let _ = writeln!(
        o,
        "| load average (1/5/15 min) | {} at start, {} at end ({} cores: higher means other work shared the CPU) |",
        load(m.load_average_start),
        load(run.load_average_end),
        m.cores
    );
    let seeds: Vec<String> = run.seeds.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let _ = writeln!(o, "| seeds | {} |", seeds.join(", "));
    let _ = writeln!(o);

    let missed = run.targets.iter().filter(|t| !t.passed).count();
    let _ = writeln!(o, "## Targets: {} met, {} missed\n", run.targets.len() - missed, missed);
    if run.targets.is_empty() {
        let _ = writeln!(o, "No targets configured.\n");
    } else {
        let _ = writeln!(o, "| | target | combination | data set | measured |\n|---|---|---|---|---|");
        for t in &run.targets {
            let _ = writeln!(
                o,
                "| {} | `{}` | {} | {} | {} |",
                if t.passed { "met" } else { "**MISSED**" },
                t.target,
                t.system,
                t.dataset,
                t.detail.replace('|', "\\|")
            );
        }
        let _ = writeln!(o);
    }

    for ds in &run.datasets {
        dataset(&mut o, ds, levels, m.read_bandwidth_gbps);
    }

    if !run.warnings.is_empty() {
        let _ = writeln!(o, "## Warnings\n");
        for w in &run.warnings {
            let _ = writeln!(o, "- {}", w.replace('\n', " "));
        }
        let _ = writeln!(o);
    }
    let _ = writeln!(
        o,
        "---\nQPS: one query per call on one thread, wall time over all queries after {} warm-up queries. \
         Batch QPS: all queries in one call on all threads. Latency percentiles are nearest-rank over the \
         single-query calls. QPS at a recall level interpolates log(QPS) linearly in recall between the two \
         sweep points around it (\"—\": the sweep never reached it). Memory: growth of the process's resident \
         set during the first build, divided by the vector count. Peers are driven from Python \
         (`peers/peers.py`), Needle from Rust: per-call overhead differs by a few µs.",
        run.config.get("warmup").and_then(|w| w.as_u64()).unwrap_or(0)
    );
    o
}

fn dataset(o: &mut String, ds: &DatasetResult, levels: &[f64], machine_gbps: Option<f64>) {
    let _ =
        writeln!(o, "## {}: {} × {} ({}), {} queries, k = {}\n", ds.name, ds.n, ds.dim, ds.metric, ds.queries, ds.k);
    let _ = writeln!(o, "Base: `{}`. Ground truth: {}.\n", ds.base, ds.groundtruth);
    if let Some(src) = &ds.peers_source {
        let _ = writeln!(o, "Peers: {src}.\n");
    }

    // Headline ratios, one table per recall level.
    let peers: Vec<&SystemResult> =
        ds.systems.iter().filter(|s| s.kind == SystemKind::Peer && s.error.is_none()).collect();
    if !peers.is_empty() && !ds.ratios.is_empty() {
        let _ = writeln!(o, "### Headline: Needle QPS / peer QPS at equal recall\n");
        for &r in levels {
            let key = recall_key(r);
            let _ = write!(o, "| recall {key} |");
            for p in &peers {
                let _ = write!(o, " {} |", p.name);
            }
            let _ = write!(o, "\n|---|");
            for _ in &peers {
                let _ = write!(o, "---:|");
            }
            let _ = writeln!(o);
            for (needle, per_peer) in &ds.ratios {
                let _ = write!(o, "| {needle} |");
                for p in &peers {
                    let cell = per_peer.get(&p.name).and_then(|c| c.get(&key)).copied().flatten();
                    let _ = write!(o, " {} |", opt(cell, |v| format!("{v:.2}×")));
                }
                let _ = writeln!(o);
            }
            let _ = writeln!(o);
        }
    }

    let _ = writeln!(o, "### Summary\n");
    let _ = write!(o, "| system |");
    for &r in levels {
        let _ = write!(o, " QPS @ {} |", recall_key(r));
    }
    let _ = writeln!(o, " build 1 thread (s) | build all threads (s) | RSS growth (MiB) | bytes / vector | reported (MiB) | reopened B/vec anon + file | disk (MiB) | open (ms) | SIMD |");
    let _ = write!(o, "|---|");
    for _ in levels {
        let _ = write!(o, "---:|");
    }
    let _ = writeln!(o, "---:|---:|---:|---:|---:|---:|---:|---:|---|");
    for s in &ds.systems {
        let _ = write!(o, "| {} |", label(s));
        if let Some(e) = &s.error {
            let _ = writeln!(o, " failed: {} |", e.replace('|', "\\|").replace('\n', " "));
            continue;
        }
        for &r in levels {
            let v = s.qps_at_recall.get(&recall_key(r)).copied().flatten();
            let _ = write!(o, " {} |", opt(v, qps));
        }
        let all = s.build_all_s().filter(|_| s.all_threads != 1);
        let _ = writeln!(
            o,
            " {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            opt(s.build_1t_s(), |v| format!("{v:.2}")),
            opt(all, |v| format!("{v:.2} ({}t)", s.all_threads)),
            opt(s.rss_delta_bytes, |b| mib(b as f64)),
            opt(s.bytes_per_vector, |b| format!("{b:.0}")),
            opt(s.reported_bytes, |b| mib(b as f64)),
            opt(s.reopen_anon_bytes.zip(s.reopen_file_bytes), |(a, f)| format!(
                "{:.0} + {:.0}",
                a as f64 / s.n.max(1) as f64,
                f as f64 / s.n.max(1) as f64
            )),
            opt(s.disk_bytes, |b| mib(b as f64)),
            opt(s.open_s, |v| format!("{:.1}", v * 1000.0)),
            s.simd_backend.as_deref().unwrap_or("—"),
        );
    }
    let _ = writeln!(o);
    scan_bandwidth(o, ds, machine_gbps);
    if !ds.peer_versions.is_empty() {
        let v: Vec<String> =
            ds.peer_versions.iter().map(|(k, v)| format!("{k} {}", v.as_deref().unwrap_or("missing"))).collect();
        let _ = writeln!(o, "Peer versions: {}.\n", v.join(", "));
    }

    if let Some(plot) = &ds.plot {
        let _ = writeln!(o, "![recall vs QPS]({plot})\n");
    }

    let _ = writeln!(o, "### Sweep\n");
    let _ = writeln!(
        o,
        "| system | ef_search | recall@{} | QPS (1 thread) | batch QPS | p50 (µs) | p95 (µs) | p99 (µs) |",
        ds.k
    );
    let _ = writeln!(o, "|---|---:|---:|---:|---:|---:|---:|---:|");
    for s in ds.systems.iter().filter(|s| s.error.is_none()) {
        for p in &s.sweep {
            let _ = writeln!(
                o,
                "| {} | {} | {:.4} | {} | {} | {:.0} | {:.0} | {:.0} |",
                label(s),
                opt(p.ef_search, |e| e.to_string()),
                p.recall,
                qps(p.qps),
                opt(p.batch_qps, qps),
                p.p50_us,
                p.p95_us,
                p.p99_us
            );
        }
    }
    let _ = writeln!(o);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::target::Target;

    #[test]
    fn report_names_missed_targets_and_ratios() {
        let ds = crate::plot::tests::sample_dataset();
        let t = Target::parse("recall@10 >= 0.995").unwrap().evaluate("tiny", &ds.systems[0]);
        assert!(!t.passed);
        let run = RunResult {
            schema: crate::result::SCHEMA,
            name: "t".into(),
            description: String::new(),
            config_path: "c.toml".into(),
            config: serde_json::json!({"warmup": 5}),
            started: "2026-01-01T00:00:00Z".into(),
            elapsed_s: 1.0,
            load_average_end: None,
            seeds: [("s".to_string(), 42)].into_iter().collect(),
            machine: crate::machine::Machine::detect(std::path::Path::new("."), "scalar".into()),
            datasets: vec![ds],
            targets: vec![t],
            warnings: vec!["usearch-f32: boom".into()],
        };
        let md = markdown(&run, &[0.90, 0.95, 0.99]);
        assert!(md.contains("## Targets: 0 met, 1 missed"), "{md}");
        assert!(md.contains("**MISSED**"));
        assert!(md.contains("| recall 0.95 | hnswlib | faiss-flat |"), "{md}");
        assert!(md.contains("failed: boom"));
        assert!(md.contains("s=42"));
        serde_json::to_string(&run).unwrap();
    }
}

//! The measuring loop shared by every [`Engine`]: builds on 1 and all threads (each inside its own
//! rayon pool), memory, save / reopen, and the `ef_search` sweep.

use std::time::Instant;

use anyhow::{Context, Result};
use rayon::ThreadPoolBuilder;

use crate::config::Config;
use crate::data::Dataset;
use crate::engine::Engine;
use crate::machine::{release_free_memory, rss_bytes, rss_split};
use crate::result::{percentile, recall_at_k, BuildTime, SweepPoint, SystemResult};

fn pool(threads: usize) -> Result<rayon::ThreadPool> {
    ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(move |i| format!("bench-{threads}t-{i}"))
        .build()
        .context("starting a rayon pool")
}

/// Runs every measurement on `engine`; whatever fails is recorded in `out.error` and the rest kept.
pub fn measure(engine: &mut dyn Engine, ds: &Dataset, cfg: &Config, out: &mut SystemResult) {
    if let Err(e) = measure_inner(engine, ds, cfg, out) {
        eprintln!("[bench] {}: {e:#}", out.name);
        out.error = Some(format!("{e:#}"));
    }
    engine.close();
    engine.release_input();
    out.interpolate(&cfg.recall_levels);
}

fn measure_inner(engine: &mut dyn Engine, ds: &Dataset, cfg: &Config, out: &mut SystemResult) -> Result<()> {
    let all = cfg.all_threads();
    out.all_threads = all;
    engine.prepare(ds);
    for (i, &threads) in cfg.build_thread_counts().iter().enumerate() {
        engine.close();
        let p = pool(threads)?;
        release_free_memory(); // freed pages reused by the build would hide part of its growth
        let rss0 = rss_bytes();
        let t0 = Instant::now();
        p.install(|| engine.build(ds))?;
        let seconds = t0.elapsed().as_secs_f64();
        if i == 0 {
            // Only the first build measures memory: later ones reuse pages the allocator kept.
            let delta = rss_bytes() as i64 - rss0 as i64;
            out.rss_delta_bytes = Some(delta);
            out.bytes_per_vector = Some(delta as f64 / ds.n() as f64);
            out.reported_bytes = engine.reported_bytes();
        }
        eprintln!("[bench] {}: built {} vectors on {threads} thread(s) in {seconds:.2} s", out.name, ds.n());
        out.build.push(BuildTime { threads, seconds });
    }
    engine.release_input();
    out.simd_backend = engine.simd_backend();
    out.disk_bytes = engine.save()?;
    // Measured from a closed engine with the freed build returned to the kernel, so the growth
    // is what the reopened index holds.
    engine.close();
    release_free_memory();
    let before_reopen = rss_split();
    out.open_s = engine.reopen()?;
    if let Some(s) = out.open_s {
        eprintln!("[bench] {}: saved {} bytes, reopened in {:.3} s", out.name, out.disk_bytes.unwrap_or(0), s);
    }

    let one = pool(1)?;
    let many = pool(all)?;
    let k = cfg.k;
    let nq = ds.nq();
    let batch: Vec<Vec<f32>> = (0..nq).map(|i| ds.query(i).to_vec()).collect();
    let efs: Vec<Option<usize>> =
        if engine.is_exact() { vec![None] } else { cfg.ef_search.iter().map(|&e| Some(e)).collect() };
    for ef in efs {
        engine.set_ef(ef);
        let point = one.install(|| -> Result<SweepPoint> {
            for i in 0..cfg.warmup.min(nq) {
                engine.search(ds.query(i), k)?;
            }
            // Best of `repeats` passes (by QPS, with that pass's latencies): other work on a shared
            // machine only ever slows a pass down.
            let mut best: Option<SweepPoint> = None;
            for _ in 0..cfg.repeats.max(1) {
                let mut lat_us = Vec::with_capacity(nq);
                let mut found = Vec::with_capacity(nq);
                let t_all = Instant::now();
                for i in 0..nq {
                    let t0 = Instant::now();
                    let ids = engine.search(ds.query(i), k)?;
                    lat_us.push(t0.elapsed().as_secs_f64() * 1e6);
                    found.push(ids);
                }
                let total = t_all.elapsed().as_secs_f64();
                lat_us.sort_by(f64::total_cmp);
                let p = SweepPoint {
                    ef_search: ef,
                    recall: recall_at_k(&found, &ds.truth, k),
                    qps: nq as f64 / total,
                    batch_qps: None,
                    p50_us: percentile(&lat_us, 50.0),
                    p95_us: percentile(&lat_us, 95.0),
                    p99_us: percentile(&lat_us, 99.0),
                };
                if best.as_ref().is_none_or(|b| p.qps > b.qps) {
                    best = Some(p);
                }
            }
            Ok(best.expect("at least one pass"))
        })?;
        let mut batch_s = f64::MAX;
        let mut batch_recall = 0.0;
        for _ in 0..cfg.repeats.max(1) {
            let t0 = Instant::now();
            let batch_found = many.install(|| engine.batch_search(&batch, k))?;
            batch_s = batch_s.min(t0.elapsed().as_secs_f64());
            batch_recall = recall_at_k(&batch_found, &ds.truth, k);
        }
        let point = SweepPoint { batch_qps: Some(nq as f64 / batch_s), ..point };
        if (batch_recall - point.recall).abs() > 0.02 {
            eprintln!(
                "[bench] {}: warning: batch recall {batch_recall:.4} differs from single-query recall {:.4}",
                out.name, point.recall
            );
        }
        eprintln!(
            "[bench] {}: ef={} recall@{k}={:.4} qps={:.0} batch_qps={:.0} p50={:.0}us p99={:.0}us",
            out.name,
            ef.map_or("-".to_string(), |e| e.to_string()),
            point.recall,
            point.qps,
            point.batch_qps.unwrap_or(0.0),
            point.p50_us,
            point.p99_us
        );
        out.sweep.push(point);
    }
    if out.open_s.is_some() {
        let after = rss_split();
        out.reopen_anon_bytes = Some(after.0 as i64 - before_reopen.0 as i64);
        out.reopen_file_bytes = Some(after.1 as i64 - before_reopen.1 as i64);
        out.reopen_reported_bytes = engine.reported_bytes();
        let per = |b: f64| b / ds.n() as f64;
        eprintln!(
            "[bench] {}: reopened index: {:.0} B/vector anonymous RSS growth, {:.0} B/vector file-backed (mapped), \
             {} B/vector owned as reported",
            out.name,
            per(out.reopen_anon_bytes.unwrap_or(0) as f64),
            per(out.reopen_file_bytes.unwrap_or(0) as f64),
            out.reopen_reported_bytes.map_or("-".to_string(), |b| format!("{:.0}", per(b as f64)))
        );
    }
    Ok(())
}

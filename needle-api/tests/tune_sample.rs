//! auto_tune against reality: build wordnet-minilm samples at the tuned settings, measure recall@10
//! against exact brute force, and compare with the estimate (within 0.05); the memory budget must
//! hold (`Collection::info().memory_bytes`, and the estimate itself). Latency is printed, never
//! asserted.

mod common;

use needle::{auto_tune, Database, PerformanceProfile, TuningConstraints};
use rayon::prelude::*;

const Q: usize = 300;
const K: usize = 10;

fn statm_rss() -> u64 {
    let s = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    s.split_whitespace().nth(1).and_then(|p| p.parse::<u64>().ok()).unwrap_or(0) * 4096
}

fn check(n: usize, constraints: TuningConstraints) {
    let (base, queries) = common::wordnet(n, Q);
    let t = auto_tune(&constraints).unwrap();
    let budget = constraints.memory_budget.unwrap_or(u64::MAX);
    assert!(t.estimated_memory_bytes <= budget, "{t:?}");
    let db = Database::in_memory();
    let items: Vec<_> = (0..n).map(|i| (i.to_string(), base.row(i).to_vec(), None)).collect();
    let rss0 = statm_rss();
    let c = db.create_collection_with_config(t.collection_config("sample", 384)).unwrap();
    c.insert_batch(&items).unwrap();
    let rss = statm_rss().saturating_sub(rss0);
    drop(items);
    let qs: Vec<Vec<f32>> = (0..Q).map(|i| queries.row(i).to_vec()).collect();
    let truth: Vec<Vec<usize>> = qs.par_iter().map(|q| common::exact_topk(&base, q, K)).collect();
    let mut total = 0.0;
    for (q, want) in qs.iter().zip(&truth) {
        let got: Vec<usize> = c.search(q, K).unwrap().iter().map(|h| h.id.parse().unwrap()).collect();
        total += common::recall(&got, want);
    }
    // Informative only (shared machines): the fastest of three timed passes.
    let latency_ms = (0..3)
        .map(|_| {
            let start = std::time::Instant::now();
            for q in &qs {
                c.search(q, K).unwrap();
            }
            start.elapsed().as_secs_f64() * 1e3 / Q as f64
        })
        .fold(f64::INFINITY, f64::min);
    let recall = total / Q as f64;
    let memory = c.info().unwrap().memory_bytes as u64;
    println!(
        "{n} vectors, {:?}: M={} efc={} ef={} {:?}\n  recall {recall:.4} (estimated {:.4}), memory {memory} B \
         (RSS growth {rss} B, estimated {} B, budget {budget}), latency {latency_ms:.3} ms (estimated {:.3} ms), notes {:?}",
        t.profile,
        t.config.hnsw_m,
        t.config.ef_construction,
        t.config.ef_search,
        t.config.quantization,
        t.estimated_recall,
        t.estimated_memory_bytes,
        t.estimated_latency_ms,
        t.notes
    );
    assert!(
        (recall - t.estimated_recall).abs() <= 0.05,
        "measured recall {recall:.4} vs estimated {:.4} for {t:?}",
        t.estimated_recall
    );
    assert!(memory <= budget, "memory {memory} over the budget {budget}");
    assert!(memory <= t.estimated_memory_bytes, "the API's memory {memory} above the estimate {t:?}");
}

#[test]
fn tuned_configs_meet_their_estimates() {
    // The example shape, at the size of the sample.
    check(
        20_000,
        TuningConstraints::new(20_000, 384)
            .with_profile(PerformanceProfile::Balanced)
            .with_memory_budget(64 << 20)
            .with_latency_target_ms(10),
    );
    // A size between the measured ones, and other profiles.
    check(12_000, TuningConstraints::new(12_000, 384).with_profile(PerformanceProfile::HighRecall));
    check(
        12_000,
        TuningConstraints::new(12_000, 384).with_profile(PerformanceProfile::LowLatency).with_memory_budget(28 << 20),
    );
}

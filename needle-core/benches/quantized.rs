//! SQ8 distances against exact `f32` distances, per kernel.
//!
//! `sq8_vs_f32/<metric>/<dim>`: one query against 256 stored vectors picked by id in random order
//! (the way a graph search asks for them) out of 8,192, at common embedding sizes. `f32/<backend>`
//! is the built-in exact distance on the active SIMD backend; `sq8/<kernel>` is the SQ8 quantizer
//! on each integer kernel this CPU runs. Throughput is in distances per second, so the reciprocal
//! is the cost of one distance.
//!
//! Run with `cargo bench -p needle-core --bench quantized`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_main, Criterion, Throughput};
use needle_core::arena::VectorStore;
use needle_core::quant::{Sq8Kernel, Sq8Quantizer};
use needle_core::traits::distance::l2_norm;
use needle_core::{Metric, Quantizer, Registry};

const DIMS: [usize; 4] = [128, 384, 768, 1536];
const ROWS: usize = 8192;
const BATCH: usize = 256;

/// A small deterministic generator (SplitMix64), so runs compare like with like.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [-1, 1).
    fn value(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }
}

fn compare(c: &mut Criterion, metric: Metric, dims: &[usize]) {
    let registry = Registry::with_builtins();
    let exact = registry.distance(metric.id()).ok();
    let mut rng = Rng(0x5EED);
    for &dim in dims {
        let mut store = VectorStore::new(dim, exact.as_ref().is_some_and(|d| d.needs_norms()));
        let vectors: Vec<f32> = (0..ROWS * dim).map(|_| rng.value()).collect();
        for v in vectors.chunks_exact(dim) {
            store.push(v, None);
        }
        let mut sq8 = Sq8Quantizer::new(dim).expect("valid dimension count");
        sq8.train(&store.rows()).expect("finite sample");
        store.encode_all(&sq8);
        let query: Vec<f32> = (0..dim).map(|_| rng.value()).collect();
        let ids: Vec<u32> = (0..BATCH).map(|_| (rng.next_u64() % ROWS as u64) as u32).collect();
        let mut out = vec![0f32; BATCH];

        let mut group = c.benchmark_group(format!("sq8_vs_f32/{}/{dim}", metric.id()));
        group.throughput(Throughput::Elements(BATCH as u64));
        if let Some(d) = &exact {
            let norm = l2_norm(&query);
            let rows = store.rows();
            group.bench_function(format!("f32/{}", d.backend_name()), |b| {
                b.iter(|| d.distances_to_ids(black_box(&query), norm, &rows, black_box(&ids), &mut out))
            });
        }
        let codes = store.codes();
        for kernel in Sq8Kernel::available() {
            let q = sq8.clone().with_kernel(kernel);
            let prepared = q.prepare_query(&query, metric);
            group.bench_function(format!("sq8/{}", kernel.name()), |b| {
                b.iter(|| q.distances_to_ids(black_box(&prepared), metric, &codes, black_box(&ids), &mut out))
            });
        }
        group.finish();
    }
}

fn benches() {
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_millis(800))
        .sample_size(20)
        .configure_from_args();
    compare(&mut c, Metric::Cosine, &DIMS);
    compare(&mut c, Metric::Euclidean, &[384]);
    compare(&mut c, Metric::Manhattan, &[384]);
}

criterion_main!(benches);

//! Per-call cost of a plugin distance through the vtable, against native code.
//!
//! - `builtin-euclidean`: the built-in SIMD kernel (for scale);
//! - `rust-chebyshev/native`: a Chebyshev `Distance` in Rust, called directly (dyn);
//! - `rust-chebyshev/vtable`: the same Rust code exported by the SDK and called through the
//!   ABI (`Foreign` adapter → vtable → SDK trampoline): the difference is the vtable overhead;
//! - `c-chebyshev/vtable`: the C plugin (shared library) through the vtable.
//!
//! Each call scores one query against a batch of `n` rows picked by id (as HNSW does).
#![allow(missing_docs)] // criterion_group! generates an undocumented pub fn

use std::sync::{Arc, OnceLock};

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use needle_core::arena::VectorStore;
use needle_core::plugin::abi::PluginDescriptor;
use needle_core::plugin::sdk::{export_distance, Exported};
use needle_core::traits::Rows;
use needle_core::{Distance, Metric, Registry};

#[derive(Debug)]
struct RustChebyshev;

impl Distance for RustChebyshev {
    fn id(&self) -> &str {
        "rust-chebyshev"
    }
    fn metric(&self) -> Option<Metric> {
        None
    }
    fn backend_name(&self) -> &str {
        "rust-scalar"
    }
    fn distances_to_ids(&self, q: &[f32], _n: f32, rows: &Rows<'_>, ids: &[u32], out: &mut [f32]) {
        for (o, &i) in out.iter_mut().zip(ids) {
            *o = rows.row(i as usize).iter().zip(q).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
        }
    }
    fn distances_to_all(&self, q: &[f32], _n: f32, rows: &Rows<'_>, out: &mut [f32]) {
        for (i, o) in out.iter_mut().enumerate() {
            *o = rows.row(i).iter().zip(q).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
        }
    }
}

extern "C" fn rust_entry() -> *const PluginDescriptor {
    static E: OnceLock<Exported> = OnceLock::new();
    E.get_or_init(|| export_distance(RustChebyshev, 1, "bench")).descriptor()
}

fn bench(c: &mut Criterion) {
    let dim = 384;
    let rows = 4096;
    let mut store = VectorStore::new(dim, false);
    let mut s = 1u32;
    for _ in 0..rows {
        let v: Vec<f32> = (0..dim)
            .map(|_| {
                s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (s >> 8) as f32 / (1 << 24) as f32
            })
            .collect();
        store.push(&v, None);
    }
    let query: Vec<f32> = store.vector(17).to_vec();

    let reg = Arc::new(Registry::with_builtins());
    needle_core::plugin::load_into(&reg, std::path::Path::new(needle_plugin_chebyshev::LIBRARY)).unwrap();
    // SAFETY: rust_entry is made by the SDK, which follows the ABI.
    let handle = unsafe { needle_core::plugin::loader::in_process(rust_entry) }.unwrap();
    needle_core::plugin::register(&reg, &handle).unwrap();
    let candidates: Vec<(&str, Arc<dyn Distance>)> = vec![
        ("builtin-euclidean", reg.distance("euclidean").unwrap()),
        ("rust-chebyshev/native", Arc::new(RustChebyshev)),
        ("rust-chebyshev/vtable", reg.distance("rust-chebyshev").unwrap()),
        ("c-chebyshev/vtable", reg.distance("chebyshev").unwrap()),
    ];

    let mut group = c.benchmark_group("distance_batch");
    for batch in [1usize, 16, 64, 256] {
        let ids: Vec<u32> = (0..batch as u32).map(|i| (i * 37) % rows as u32).collect();
        let mut out = vec![0f32; batch];
        group.throughput(Throughput::Elements(batch as u64));
        for (name, d) in &candidates {
            group.bench_with_input(BenchmarkId::new(*name, batch), &batch, |b, _| {
                b.iter(|| {
                    d.distances_to_ids(black_box(&query), 1.0, &store.rows(), black_box(&ids), &mut out);
                    black_box(&out);
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

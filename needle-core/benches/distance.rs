//! Distance kernels per backend, and one batch per built-in metric.
//!
//! `kernels/{dot,l2_squared,l1}/<backend>/<dim>`: one pair of vectors on each backend this CPU
//! can run, at common embedding sizes; throughput is reported in dimensions per second (a dot
//! product is 2 flops per dimension). `batch/<metric>/<backend>`: one query against 1000 stored
//! rows picked by id in random order, the way a graph search asks for them.
//!
//! Run with `cargo bench -p needle-core --bench distance`; set `NEEDLE_SIMD` to move the batch
//! benchmarks to another backend.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_main, BenchmarkId, Criterion, Throughput};
use needle_core::arena::VectorStore;
use needle_core::distance::{builtins, Backend};
use needle_core::traits::distance::l2_norm;

const DIMS: [usize; 4] = [128, 384, 768, 1536];
const BATCH_ROWS: usize = 1000;
const BATCH_DIM: usize = 384;

/// A small deterministic generator (xorshift64*), so runs compare like with like.
struct Values(u64);

impl Values {
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let bits = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 40;
        bits as f32 / (1u64 << 23) as f32 - 1.0
    }

    fn vector(&mut self, dim: usize) -> Vec<f32> {
        (0..dim).map(|_| self.next()).collect()
    }
}

fn kernels(c: &mut Criterion) {
    type Kernel = fn(Backend, &[f32], &[f32]) -> f32;
    let kernels: [(&str, Kernel); 3] =
        [("dot", Backend::dot), ("l2_squared", Backend::l2_squared), ("l1", Backend::l1)];
    let mut values = Values(0x5EED);
    for (name, kernel) in kernels {
        let mut group = c.benchmark_group(format!("kernels/{name}"));
        for dim in DIMS {
            let (a, b) = (values.vector(dim), values.vector(dim));
            group.throughput(Throughput::Elements(dim as u64));
            for backend in Backend::available() {
                group.bench_with_input(BenchmarkId::new(backend.name(), dim), &dim, |bench, _| {
                    bench.iter(|| kernel(backend, black_box(&a), black_box(&b)))
                });
            }
        }
        group.finish();
    }
}

fn batch(c: &mut Criterion) {
    let mut values = Values(0xB47C);
    let mut group = c.benchmark_group("batch");
    group.throughput(Throughput::Elements(BATCH_ROWS as u64));
    for distance in builtins() {
        let mut store = VectorStore::new(BATCH_DIM, distance.needs_norms());
        for _ in 0..BATCH_ROWS {
            store.push(&values.vector(BATCH_DIM), None);
        }
        let query = values.vector(BATCH_DIM);
        let query_norm = l2_norm(&query);
        let ids = shuffled_ids(BATCH_ROWS, &mut values);
        let mut out = vec![0.0f32; BATCH_ROWS];
        let rows = store.rows();
        group.bench_function(BenchmarkId::new(distance.id(), distance.backend_name()), |bench| {
            bench.iter(|| {
                distance.distances_to_ids(black_box(&query), query_norm, &rows, black_box(&ids), &mut out);
                black_box(&out);
            })
        });
    }
    group.finish();
}

/// `0..n` in a random order (Fisher–Yates).
fn shuffled_ids(n: usize, values: &mut Values) -> Vec<u32> {
    let mut ids: Vec<u32> = (0..n as u32).collect();
    for i in (1..n).rev() {
        let j = ((values.next() + 1.0) * 0.5 * (i + 1) as f32) as usize;
        ids.swap(i, j.min(i));
    }
    ids
}

fn short_runs() -> Criterion {
    Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(2))
}

/// Kept in a private module: `criterion_group!` writes an undocumented `pub fn`.
mod groups {
    criterion::criterion_group! {
        name = benches;
        config = super::short_runs();
        targets = super::kernels, super::batch
    }
}
criterion_main!(groups::benches);

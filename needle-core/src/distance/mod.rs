//! The built-in distances — cosine, euclidean, dot and manhattan — and the SIMD kernels under them.
//!
//! Distance evaluation is where a vector search spends most of its time, so the arithmetic runs
//! on the widest instruction set the CPU has: AVX-512, AVX2+FMA or NEON, with a portable scalar
//! fallback. One binary serves every CPU: the [`Backend`] is detected at run time, once per
//! process, and can be forced with the `NEEDLE_SIMD` environment variable
//! (`scalar|avx2|avx512|neon|auto`). Building without the `simd` feature leaves only the scalar
//! kernels.
//!
//! Every metric is one of three reductions (dot product, squared L2, L1) followed by a cheap
//! per-result step, so the kernels stay small and each backend is tested against the scalar
//! reference. The [`Distance`] trait works on batches, and each batch costs a single indirect
//! call into a loop compiled for its backend.

mod backend;
mod dispatch;
pub mod kernels;
mod metric;
#[allow(unsafe_code)] // target-feature kernels and prefetch intrinsics
mod simd;

use std::sync::Arc;

pub use dispatch::{Backend, SIMD_ENV_VAR};
pub use metric::{CosineDistance, DotDistance, EuclideanDistance, ManhattanDistance};
pub use simd::prefetch_slice;

use crate::Distance;

/// The built-in distances on the active backend: `cosine`, `euclidean`, `dot`, `manhattan`.
pub fn builtins() -> Vec<Arc<dyn Distance>> {
    vec![
        Arc::new(CosineDistance::new()),
        Arc::new(EuclideanDistance::new()),
        Arc::new(DotDistance::new()),
        Arc::new(ManhattanDistance::new()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Metric;

    #[test]
    fn builtins_are_the_four_metrics_on_the_active_backend() {
        let distances = builtins();
        let ids: Vec<&str> = distances.iter().map(|d| d.id()).collect();
        assert_eq!(ids, ["cosine", "euclidean", "dot", "manhattan"]);
        for d in &distances {
            let metric = d.metric().expect("built-ins report their metric");
            assert_eq!(metric.id(), d.id());
            assert_eq!(d.needs_norms(), metric == Metric::Cosine, "{}", d.id());
            assert_eq!(d.backend_name(), Backend::active().name());
        }
    }

    #[test]
    fn public_kernels_use_the_active_backend() {
        let a: Vec<f32> = (0..37).map(|i| i as f32 * 0.5 - 4.0).collect();
        let b: Vec<f32> = (0..37).map(|i| 3.0 - i as f32 * 0.25).collect();
        let active = Backend::active();
        assert_eq!(kernels::dot(&a, &b), active.dot(&a, &b));
        assert_eq!(kernels::l2_squared(&a, &b), active.l2_squared(&a, &b));
        assert_eq!(kernels::l1(&a, &b), active.l1(&a, &b));
        assert_eq!(kernels::dot(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0]), 32.0);
    }
}

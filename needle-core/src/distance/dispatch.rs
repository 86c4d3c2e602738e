//! Which kernel backend runs: detected once per process from the CPU, optionally overridden by
//! the `NEEDLE_SIMD` environment variable.
//!
//! Resolving once (a [`OnceLock`]) keeps feature detection and the environment lookup off every
//! call, and makes the choice stable for the life of the process, so every distance computed by
//! one process uses the same arithmetic. The override exists to reproduce a user's numbers on
//! another backend and to benchmark or test one backend on a machine that has a better one.

use std::fmt;
use std::sync::OnceLock;

pub use super::backend::Backend;
use super::simd::{kernel_table, KernelTable};

/// The environment variable that forces a backend: `scalar`, `avx2`, `avx512`, `neon` or `auto`.
pub const SIMD_ENV_VAR: &str = "NEEDLE_SIMD";

impl Backend {
    /// Whether this build has the backend compiled in and this CPU can run it.
    pub fn is_available(self) -> bool {
        kernel_table(self).is_some()
    }

    /// The backends that can run here, best first; always ends with [`Backend::Scalar`].
    pub fn available() -> Vec<Backend> {
        Self::PREFERENCE_ORDER.into_iter().filter(|b| b.is_available()).collect()
    }

    /// The backend the built-in distances and [`kernels`](super::kernels) use in this process:
    /// the best available one, or the one `NEEDLE_SIMD` asks for when it is available. Resolved
    /// on first use and then fixed.
    pub fn active() -> Backend {
        active_table().backend()
    }

    /// `Σ aᵢ·bᵢ` on this backend. Panics when the lengths differ or the backend is unavailable.
    pub fn dot(self, a: &[f32], b: &[f32]) -> f32 {
        (self.table_or_panic().pair(super::simd::Reduction::Dot))(a, b)
    }

    /// `Σ (aᵢ − bᵢ)²` on this backend. Panics when the lengths differ or the backend is unavailable.
    pub fn l2_squared(self, a: &[f32], b: &[f32]) -> f32 {
        (self.table_or_panic().pair(super::simd::Reduction::L2Squared))(a, b)
    }

    /// `Σ |aᵢ − bᵢ|` on this backend. Panics when the lengths differ or the backend is unavailable.
    pub fn l1(self, a: &[f32], b: &[f32]) -> f32 {
        (self.table_or_panic().pair(super::simd::Reduction::L1))(a, b)
    }

    fn table_or_panic(self) -> &'static KernelTable {
        kernel_table(self).unwrap_or_else(|| {
            panic!("the {self} distance backend is not available here (available: {:?})", Backend::available())
        })
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The kernels of [`Backend::active`], resolved on first use.
pub(crate) fn active_table() -> &'static KernelTable {
    static ACTIVE: OnceLock<&'static KernelTable> = OnceLock::new();
    ACTIVE.get_or_init(|| {
        let requested = std::env::var(SIMD_ENV_VAR).ok();
        let choice = choose_backend(requested.as_deref(), &Backend::available());
        if let Some(warning) = &choice.warning {
            tracing::warn!(env = SIMD_ENV_VAR, requested = requested.as_deref().unwrap_or(""), "{warning}");
        }
        tracing::debug!(backend = %choice.backend, "distance kernels selected");
        kernel_table(choice.backend).expect("the chosen backend is one of the available ones")
    })
}

/// The outcome of reading `NEEDLE_SIMD`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct BackendChoice {
    backend: Backend,
    /// Why the request was not honoured, when it was not.
    warning: Option<String>,
}

/// Picks the backend for an `NEEDLE_SIMD` value (`None` when unset) among `available` (best
/// first, never empty). Unset, empty and `auto` mean the best available; a backend that cannot run
/// here or an unknown name falls back to the best available, with a warning.
fn choose_backend(requested: Option<&str>, available: &[Backend]) -> BackendChoice {
    let best = available.first().copied().unwrap_or(Backend::Scalar);
    let requested = requested.map(str::trim).unwrap_or("");
    if requested.is_empty() || requested.eq_ignore_ascii_case("auto") {
        return BackendChoice { backend: best, warning: None };
    }
    let warning = match Backend::from_name(requested) {
        Some(backend) if available.contains(&backend) => return BackendChoice { backend, warning: None },
        Some(backend) => format!("the {backend} backend is not available on this CPU or build; using {best}"),
        None => format!("unknown backend '{requested}' (expected scalar, avx2, avx512, neon or auto); using {best}"),
    };
    BackendChoice { backend: best, warning: Some(warning) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_case_insensitively() {
        for backend in Backend::PREFERENCE_ORDER {
            assert_eq!(Backend::from_name(backend.name()), Some(backend));
            assert_eq!(Backend::from_name(&format!(" {} ", backend.name().to_uppercase())), Some(backend));
            assert_eq!(backend.to_string(), backend.name());
        }
        assert_eq!(Backend::from_name("sse"), None);
        assert_eq!(Backend::from_name(""), None);
    }

    #[test]
    fn available_is_best_first_and_ends_with_scalar() {
        let available = Backend::available();
        assert_eq!(available.last(), Some(&Backend::Scalar));
        let ranks: Vec<usize> =
            available.iter().map(|b| Backend::PREFERENCE_ORDER.iter().position(|p| p == b).unwrap()).collect();
        assert!(ranks.windows(2).all(|w| w[0] < w[1]), "not in preference order: {available:?}");
        assert!(available.contains(&Backend::active()));
    }

    #[cfg(all(feature = "simd", target_arch = "x86_64"))]
    #[test]
    fn x86_availability_matches_cpu_detection() {
        let avx2 = is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma");
        assert_eq!(Backend::Avx2.is_available(), avx2);
        assert_eq!(Backend::Avx512.is_available(), is_x86_feature_detected!("avx512f"));
        assert!(!Backend::Neon.is_available());
    }

    #[cfg(not(feature = "simd"))]
    #[test]
    fn without_the_simd_feature_only_scalar_exists() {
        assert_eq!(Backend::available(), vec![Backend::Scalar]);
    }

    #[test]
    fn unset_empty_and_auto_choose_the_best() {
        let available = [Backend::Avx2, Backend::Scalar];
        for requested in [None, Some(""), Some("auto"), Some(" AUTO ")] {
            assert_eq!(
                choose_backend(requested, &available),
                BackendChoice { backend: Backend::Avx2, warning: None },
                "{requested:?}"
            );
        }
    }

    #[test]
    fn an_available_backend_is_honoured() {
        let available = [Backend::Avx512, Backend::Avx2, Backend::Scalar];
        for backend in available {
            let choice = choose_backend(Some(backend.name()), &available);
            assert_eq!(choice, BackendChoice { backend, warning: None });
        }
        assert_eq!(choose_backend(Some("Scalar"), &available).backend, Backend::Scalar);
    }

    #[test]
    fn an_unavailable_backend_falls_back_with_a_warning() {
        let choice = choose_backend(Some("neon"), &[Backend::Avx2, Backend::Scalar]);
        assert_eq!(choice.backend, Backend::Avx2);
        assert!(choice.warning.as_deref().is_some_and(|w| w.contains("neon") && w.contains("avx2")), "{choice:?}");

        let choice = choose_backend(Some("avx512"), &[Backend::Scalar]);
        assert_eq!(choice.backend, Backend::Scalar);
        assert!(choice.warning.is_some());
    }

    #[test]
    fn an_unknown_name_falls_back_with_a_warning() {
        let choice = choose_backend(Some("sse4"), &[Backend::Avx512, Backend::Scalar]);
        assert_eq!(choice.backend, Backend::Avx512);
        assert!(choice.warning.as_deref().is_some_and(|w| w.contains("sse4")), "{choice:?}");
    }

    #[test]
    fn unavailable_backends_panic_instead_of_running() {
        for backend in Backend::PREFERENCE_ORDER.into_iter().filter(|b| !b.is_available()) {
            let result = std::panic::catch_unwind(|| backend.dot(&[1.0], &[1.0]));
            assert!(result.is_err(), "{backend} ran although it is unavailable");
        }
        for backend in Backend::available() {
            assert_eq!(backend.dot(&[2.0, 3.0], &[4.0, 5.0]), 23.0, "{backend}");
        }
    }
}

//! The kernel backends by name. Kept apart from `dispatch.rs` (which picks one at run time and
//! needs the kernel tables) so the kernels can name their backend without importing the dispatcher.

/// A family of distance kernels, one per instruction set. Variants are listed best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// AVX-512F, 16 floats per instruction (x86_64).
    Avx512,
    /// AVX2 with FMA, 8 floats per instruction (x86_64).
    Avx2,
    /// NEON, 4 floats per instruction (aarch64).
    Neon,
    /// Portable Rust; always available.
    Scalar,
}

impl Backend {
    /// Every backend, best first.
    pub const PREFERENCE_ORDER: [Backend; 4] = [Backend::Avx512, Backend::Avx2, Backend::Neon, Backend::Scalar];

    /// The lowercase name used by `NEEDLE_SIMD` and [`Distance::backend_name`](crate::Distance::backend_name).
    pub const fn name(self) -> &'static str {
        match self {
            Backend::Avx512 => "avx512",
            Backend::Avx2 => "avx2",
            Backend::Neon => "neon",
            Backend::Scalar => "scalar",
        }
    }

    /// The backend called `name` (case and surrounding spaces ignored).
    pub fn from_name(name: &str) -> Option<Backend> {
        let name = name.trim();
        Self::PREFERENCE_ORDER.into_iter().find(|b| b.name().eq_ignore_ascii_case(name))
    }
}

//! The one layout every SIMD backend's loop walks: a slice cut into groups of register-sized
//! chunks (one chunk per accumulator), the whole chunks left over, and a tail shorter than a chunk.

/// `values` as `groups` of `GROUP` chunks of `LANES` floats, then `rest` (fewer than `GROUP`
/// whole chunks), then `tail` (fewer than `LANES` floats).
pub(super) struct Chunks<'a, const LANES: usize, const GROUP: usize> {
    pub(super) groups: &'a [[[f32; LANES]; GROUP]],
    pub(super) rest: &'a [[f32; LANES]],
    pub(super) tail: &'a [f32],
}

impl<'a, const LANES: usize, const GROUP: usize> Chunks<'a, LANES, GROUP> {
    #[inline(always)]
    pub(super) fn new(values: &'a [f32]) -> Self {
        let (chunks, tail) = values.as_chunks::<LANES>();
        let (groups, rest) = chunks.as_chunks::<GROUP>();
        Chunks { groups, rest, tail }
    }
}

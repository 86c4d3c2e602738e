//! Warm-up: bring a collection's data into memory before the first query needs it.
//!
//! A mapped open reads nothing up front (see `docs/format.md`, "Reading"): vector rows, norms and
//! codes are paged in by the first searches that touch them, and ids and metadata are decoded by
//! the first call that needs them. That keeps open time flat, but the first queries after a
//! restart pay for it. [`Collection::warm_up`] pays up front instead: it reads one value per page
//! of every array the searches use, decodes ids and metadata (and so builds the filter and text
//! indexes), and runs a few searches with stored vectors so the index's entry layers are resident.

use needle_core::Result;

use super::Collection;

/// Bytes between two reads that fault a page in (the smallest common page size).
const PAGE: usize = 4096;

/// Stored vectors used as warm-up queries.
const SAMPLE_QUERIES: usize = 16;

/// Reads one element per page of `values` and returns the bytes covered.
fn touch<T: Copy + Into<f64>>(values: &[T]) -> u64 {
    let step = (PAGE / std::mem::size_of::<T>()).max(1);
    let mut sum = 0f64;
    for v in values.iter().step_by(step) {
        sum += (*v).into();
    }
    std::hint::black_box(sum);
    std::mem::size_of_val(values) as u64
}

impl Collection {
    /// Pages in this collection's vectors, norms and codes, decodes its ids and metadata, and runs
    /// a few searches with stored vectors. Returns the bytes of vector data touched. Safe to call
    /// at any time (it takes the read lock, like a search); a no-op cost on a warm collection.
    pub fn warm_up(&self) -> Result<u64> {
        self.check_alive()?;
        let mut queries = Vec::new();
        let touched = {
            let st = self.shared.state.read();
            let store = &st.store;
            let touched = touch(store.padded_rows()) + touch(store.norms()) + touch(store.codes().data);
            let ids = st.records.ids()?;
            st.records.meta()?;
            let step = (ids.slots() / SAMPLE_QUERIES).max(1);
            for slot in (0..ids.slots() as u32).step_by(step).filter(|s| ids.is_live(*s)).take(SAMPLE_QUERIES) {
                queries.push(store.vector(slot).to_vec());
            }
            touched
        };
        for q in &queries {
            self.search(q, 10)?;
        }
        Ok(touched)
    }
}

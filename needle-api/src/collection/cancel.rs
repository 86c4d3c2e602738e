//! Searches that stop when their caller gives up: the server sets a request's flag when the
//! request times out or its client goes away, and the search checks it before each query of a
//! batch and every [`BLOCK`] slots of an exact scan. A cancelled search returns an error
//! (`io` / interrupted) nobody reads: its request has been answered already.

use std::sync::atomic::{AtomicBool, Ordering};

use needle_core::{Error, Result};
use rayon::prelude::*;

use super::Collection;
use crate::explain::SearchProfile;
use crate::search::{SearchParams, SearchResult};

/// Slots scanned between two looks at the flag.
pub(crate) const BLOCK: usize = 4096;

/// Fails once `cancel` is set.
pub(crate) fn check(cancel: Option<&AtomicBool>) -> Result<()> {
    match cancel {
        Some(c) if c.load(Ordering::Acquire) => {
            Err(Error::Io(std::io::Error::new(std::io::ErrorKind::Interrupted, "the search was cancelled")))
        }
        _ => Ok(()),
    }
}

/// Slots that run out early once the flag is set (looked at every [`BLOCK`] slots).
pub(crate) struct Checked<'a, I> {
    inner: I,
    cancel: Option<&'a AtomicBool>,
    until_check: usize,
}

impl<'a, I> Checked<'a, I> {
    pub(crate) fn new(inner: I, cancel: Option<&'a AtomicBool>) -> Self {
        Checked { inner, cancel, until_check: 0 }
    }
}

impl<I: Iterator<Item = u32>> Iterator for Checked<'_, I> {
    type Item = u32;

    #[inline]
    fn next(&mut self) -> Option<u32> {
        if let Some(c) = self.cancel {
            if self.until_check == 0 {
                if c.load(Ordering::Relaxed) {
                    return None;
                }
                self.until_check = BLOCK;
            }
            self.until_check -= 1;
        }
        self.inner.next()
    }
}

// Only the server calls these; builds without it (libneedle, the Python package) must still pass clippy.
#[cfg_attr(not(feature = "server"), allow(dead_code))]
impl Collection {
    /// [`search_with`](Collection::search_with) that stops, with an error, once `cancel` is set.
    pub fn search_cancellable(
        &self,
        query: &[f32],
        params: &SearchParams,
        cancel: &AtomicBool,
    ) -> Result<Vec<SearchResult>> {
        self.check_alive()?;
        crate::validate::k(params.k).inspect_err(super::count_rejected)?;
        self.check_vector(query).inspect_err(super::count_rejected)?;
        let st = self.shared.state.read();
        let matches = params.filter.as_ref().map(|f| st.matching(f)).transpose()?;
        check(Some(cancel))?;
        self.search_locked_with(&st, query, params, matches.as_ref(), &mut SearchProfile::default(), Some(cancel))
    }

    /// [`batch_search`](Collection::batch_search) (`params.k` results per query) that stops
    /// before its next query, and inside exact scans, once `cancel` is set.
    pub fn batch_search_cancellable(
        &self,
        queries: &[Vec<f32>],
        params: &SearchParams,
        cancel: &AtomicBool,
    ) -> Result<Vec<Vec<SearchResult>>> {
        self.check_alive()?;
        crate::validate::k(params.k).inspect_err(super::count_rejected)?;
        for q in queries {
            self.check_vector(q).inspect_err(super::count_rejected)?;
        }
        let st = self.shared.state.read();
        let matches = params.filter.as_ref().map(|f| st.matching(f)).transpose()?;
        queries
            .par_iter()
            .map(|q| {
                check(Some(cancel))?;
                self.search_locked_with(&st, q, params, matches.as_ref(), &mut SearchProfile::default(), Some(cancel))
            })
            .collect()
    }
}

//! Exact rescoring of quantized candidates, as many as the query needs.
//!
//! A quantized search walks the index on codes and ends with its beam `W` (`ef` candidates ranked
//! by approximate distance). The true k nearest are somewhere in `W`, but not necessarily among its
//! first `k × rescore_factor`: when quantization error is large next to the gaps between
//! neighbours (low dimensions, vectors of very different norms) they can sit far down the list, and
//! a fixed window then caps recall whatever `ef` is. So the window adapts:
//!
//! 1. rescore the first `max(at_least, k, MIN_SAMPLE)` candidates exactly, in approximate order;
//! 2. from them, learn this query's error bound: `ε = SAFETY · max |exact − approx| / scale` over
//!    the rescored rows, where `scale` is the quantizer's per-row error scale
//!    ([`VectorSource::error_scales`]: 1 unless the quantizer knows better, e.g. `1/‖x̂‖` for
//!    SQ8 under cosine);
//! 3. keep rescoring, in approximate order, while the next candidate's lower bound
//!    `approx − ε · scale` is below the current k-th exact distance — past that point no remaining
//!    candidate can (within the bound) enter the top k.
//!
//! So a query whose codes rank well rescoring only its first window, and one whose true
//! neighbours are far down `W` rescoring until it has found them; raising `ef` always raises the
//! recall ceiling, up to exact search. Every rescored candidate's error feeds the bound, so one
//! surprisingly bad code widens it for the rest of the query.

use std::cmp::Ordering;

use crate::{Candidate, PreparedQuery, SearchStats, VectorSource};

/// Candidates rescored before the error bound is trusted, when `at_least` and `k` are smaller.
pub const MIN_SAMPLE: usize = 16;

/// Multiplier on the largest error seen: the bound must cover the errors of candidates not yet
/// rescored, which may exceed the sample's largest (two covers Gaussian errors to about 4.5σ from a
/// sample of 40).
pub const SAFETY: f32 = 2.0;

/// Candidates rescored per call to the source after the first window.
const STEP: usize = 8;

/// What [`rescore`] did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rescored {
    /// The `k` (at most) closest candidates by exact distance, closest first (ties: smaller slot).
    pub hits: Vec<Candidate>,
    /// How many candidates were rescored.
    pub rescored: usize,
    /// The error bound `ε` in use at the end (in units of the per-row error scale).
    pub bound: f32,
}

/// Rescores `candidates` (their `distance` is approximate, on the exact metric's scale) exactly
/// through `source`, adaptively (see the module docs), rescoring at least `at_least` of them
/// (all when fewer). Distances computed are added to `stats`.
pub fn rescore(
    source: &dyn VectorSource,
    query: &PreparedQuery,
    mut candidates: Vec<Candidate>,
    k: usize,
    at_least: usize,
    stats: &mut SearchStats,
) -> Rescored {
    if k == 0 || candidates.is_empty() {
        return Rescored::default();
    }
    candidates.sort_unstable_by(|a, b| a.distance.total_cmp(&b.distance).then(a.slot.cmp(&b.slot)));
    let n = candidates.len();
    let slots: Vec<u32> = candidates.iter().map(|c| c.slot).collect();
    let mut scales = vec![1.0f32; n];
    source.error_scales(query, &slots, &mut scales);
    let mut exact = vec![0.0f32; n];
    let mut bound = 0.0f32;
    // The k best exact distances so far, ascending (k is small: insertion beats a heap).
    let mut best: Vec<f32> = Vec::with_capacity(k + 1);
    let mut done = 0;
    let mut take = at_least.max(k).max(MIN_SAMPLE).min(n);
    while take > done {
        source.score_exact(query, &slots[done..take], &mut exact[done..take]);
        stats.distance_computations += (take - done) as u64;
        for i in done..take {
            let scale = scales[i];
            let error = (exact[i] - candidates[i].distance).abs();
            // A scale that is not a positive number makes the bound infinite: rescore everything.
            bound = bound.max(if scale > 0.0 { error / scale } else { f32::INFINITY });
            let at = best.partition_point(|&d| d <= exact[i]);
            if at < k {
                best.insert(at, exact[i]);
                best.truncate(k);
            }
        }
        done = take;
        let kth = if best.len() < k { f32::INFINITY } else { best[k - 1] };
        let margin = SAFETY * bound;
        // Candidates are in approximate order, but their bounds are not (scales differ): extend
        // over the next step while any of them may still beat the k-th.
        // NaN (an infinite margin times a zero scale, …) counts as "may enter": rescore it.
        let may_enter = |i: usize| {
            let lower = candidates[i].distance - margin * scales[i];
            !matches!(lower.partial_cmp(&kth), Some(Ordering::Greater | Ordering::Equal))
        };
        let end = (done + STEP).min(n);
        take = match (done..end).rposition(may_enter) {
            Some(last) => done + last + 1,
            // None of the next step may enter; with uniform scales none further may either.
            None if scales[done..].iter().all(|&s| s == scales[done]) => done,
            None => (end..n).position(may_enter).map_or(done, |i| end + i + 1).min(n),
        };
    }
    let mut hits: Vec<Candidate> = (0..done).map(|i| Candidate { slot: slots[i], distance: exact[i] }).collect();
    hits.sort_unstable_by(|a, b| a.distance.total_cmp(&b.distance).then(a.slot.cmp(&b.slot)));
    hits.truncate(k);
    Rescored { hits, rescored: done, bound: SAFETY * bound }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::testing::PointSource;

    /// Exact distances from a `PointSource`, approximate ones from a fixed per-slot error table.
    #[derive(Debug)]
    struct Noisy {
        exact: PointSource,
        error: Vec<f32>,
        scale: Vec<f32>,
    }

    impl VectorSource for Noisy {
        fn dim(&self) -> usize {
            self.exact.dim()
        }
        fn slot_count(&self) -> usize {
            self.exact.slot_count()
        }
        fn prepare(&self, query: &[f32]) -> PreparedQuery {
            self.exact.prepare(query)
        }
        fn prepare_slot(&self, slot: u32) -> PreparedQuery {
            self.exact.prepare_slot(slot)
        }
        fn score(&self, query: &PreparedQuery, slots: &[u32], out: &mut [f32]) {
            self.exact.score(query, slots, out);
            for (o, &s) in out.iter_mut().zip(slots) {
                *o += self.error[s as usize];
            }
        }
        fn score_exact(&self, query: &PreparedQuery, slots: &[u32], out: &mut [f32]) {
            self.exact.score(query, slots, out)
        }
        fn error_scales(&self, _: &PreparedQuery, slots: &[u32], out: &mut [f32]) {
            for (o, &s) in out.iter_mut().zip(slots) {
                *o = self.scale[s as usize];
            }
        }
    }

    /// 1-d points `0, 1, 2, …` scored from a query at 0: exact distance `slot²`.
    fn line(n: usize, error: impl Fn(u32) -> f32, scale: impl Fn(u32) -> f32) -> Noisy {
        Noisy {
            exact: PointSource::new((0..n).map(|i| vec![i as f32]).collect()),
            error: (0..n as u32).map(error).collect(),
            scale: (0..n as u32).map(scale).collect(),
        }
    }

    fn approx(src: &Noisy, q: &PreparedQuery) -> Vec<Candidate> {
        let slots: Vec<u32> = (0..src.slot_count() as u32).collect();
        let mut d = vec![0.0; slots.len()];
        src.score(q, &slots, &mut d);
        slots.iter().zip(d).map(|(&slot, distance)| Candidate { slot, distance }).collect()
    }

    #[test]
    fn exact_codes_rescore_only_the_first_window() {
        let src = line(500, |_| 0.0, |_| 1.0);
        let q = src.prepare(&[0.0]);
        let r = rescore(&src, &q, approx(&src, &q), 10, 40, &mut SearchStats::default());
        assert_eq!(r.hits.iter().map(|c| c.slot).collect::<Vec<_>>(), (0..10).collect::<Vec<_>>());
        assert_eq!(r.rescored, 40);
        assert_eq!(r.bound, 0.0);
    }

    #[test]
    fn a_true_neighbour_far_down_the_list_is_found() {
        // Every code is off by up to ±30 (slot-dependent), and slot 3's by +5000: by approximate
        // distance it ranks near slot 71 (71² ≈ 5041), far beyond a window of 40.
        let src = line(400, |s| if s == 3 { 5000.0 } else { ((s * 7919) % 61) as f32 - 30.0 }, |_| 1.0);
        let q = src.prepare(&[0.0]);
        let cands = approx(&src, &q);
        let rank = {
            let mut c = cands.clone();
            c.sort_by(|a, b| a.distance.total_cmp(&b.distance));
            c.iter().position(|c| c.slot == 3).unwrap()
        };
        assert!(rank > 60, "slot 3 ranks {rank}");
        // The sample of 40 sees errors up to 30, so ε = 60: not enough to reach slot 3 …
        let r = rescore(&src, &q, cands.clone(), 10, 40, &mut SearchStats::default());
        assert!(!r.hits.iter().any(|c| c.slot == 3) && r.rescored < 60, "{r:?}");
        // … unless the quantizer says that code's error may be that large (its scale).
        let src = line(
            400,
            |s| if s == 3 { 5000.0 } else { ((s * 7919) % 61) as f32 - 30.0 },
            |s| {
                if s == 3 {
                    100.0
                } else {
                    1.0
                }
            },
        );
        let mut stats = SearchStats::default();
        let r = rescore(&src, &q, cands, 10, 40, &mut stats);
        assert_eq!(r.hits.iter().map(|c| c.slot).collect::<Vec<_>>(), (0..10).collect::<Vec<_>>());
        assert!(r.rescored <= rank + 1 + STEP && r.rescored > rank, "{} rescored, slot 3 at rank {rank}", r.rescored);
        assert_eq!(stats.distance_computations, r.rescored as u64);
    }

    #[test]
    fn large_errors_everywhere_widen_the_window() {
        // Errors of ±200 on distances 0, 1, 4, 9 …: the true top 10 (≤ 81) spread over the first
        // ~30 ranks, and the bound keeps rescoring until nothing left can beat the 10th.
        let src = line(300, |s| ((s * 104_729) % 401) as f32 - 200.0, |_| 1.0);
        let q = src.prepare(&[0.0]);
        let r = rescore(&src, &q, approx(&src, &q), 10, 10, &mut SearchStats::default());
        assert_eq!(r.hits.iter().map(|c| c.slot).collect::<Vec<_>>(), (0..10).collect::<Vec<_>>());
        assert!(r.rescored > 16 && r.rescored < 300, "{}", r.rescored);
    }

    #[test]
    fn small_inputs_and_non_finite_approximations() {
        let src = line(5, |_| f32::INFINITY, |_| 1.0);
        let q = src.prepare(&[0.0]);
        let r = rescore(&src, &q, approx(&src, &q), 3, 1, &mut SearchStats::default());
        assert_eq!(r.hits.iter().map(|c| c.slot).collect::<Vec<_>>(), vec![0, 1, 2]);
        assert_eq!(r.rescored, 5);
        assert!(rescore(&src, &q, Vec::new(), 3, 1, &mut SearchStats::default()).hits.is_empty());
        assert!(rescore(&src, &q, approx(&src, &q), 0, 1, &mut SearchStats::default()).hits.is_empty());
    }
}

//! The parallel HNSW build must never lose a node.
//!
//! A node is lost when no list on layer 0 points at it: no search can reach it, so searching for
//! its own vector returns other nodes. A race between a node publishing its own lists and a
//! concurrent insertion linking back to it once did exactly that (now and then, a few nodes per
//! build), so this test builds the same data many times on more threads than cores — to make the
//! scheduler interleave insertions in as many ways as it can — and checks every node of every
//! build two ways: it is reachable from the entry point on layer 0, and a search for its vector
//! returns it first (but for a handful that a
//! serial build misses too).
//!
//! The data are clustered Gaussian points (many near-duplicates, so reverse links get pruned
//! often, the situation where a lost link goes unrepaired). Needs no data set.

use std::collections::VecDeque;
use std::sync::Arc;

use needle_core::arena::{Scorer, VectorStore};
use needle_core::index::hnsw::params::Params;
use needle_core::index::hnsw::Hnsw;
use needle_core::{Distance, Index, IndexSearch, Registry, SearchStats, VectorSource};

const N: usize = 3000;
const DIM: usize = 24;
const CLUSTERS: usize = 10;
const BUILDS: usize = 12;
/// Self-searches (k = 1, ef = 256) allowed to miss per build: HNSW is approximate, and a serial
/// build of this data misses about 2 of 3,000 (all reachable, just far from the entry point);
/// parallel builds on a loaded machine, whose insertion order varies, missed up to 11.
const MAX_MISSED: usize = 20;
/// Unreachable nodes allowed in one build, and over all builds. The heuristic's pruning can orphan
/// a node when every list that pointed at it keeps closer neighbours instead; with the build order
/// left to the scheduler, about 1 run of this test in 8 had one such node in one of its 12 builds.
/// The race this test guards against lost 1–101 nodes in every build, far above both bounds.
const MAX_LOST_PER_BUILD: usize = 1;
const MAX_LOST_TOTAL: usize = 3;

/// Deterministic clustered points (SplitMix64 + Box–Muller).
fn points(seed: u64) -> Vec<Vec<f32>> {
    let mut state = seed;
    let mut next = move || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut gauss = move || {
        let (u, v) = (next().max(1e-12), next());
        ((-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()) as f32
    };
    let centres: Vec<Vec<f32>> = (0..CLUSTERS).map(|_| (0..DIM).map(|_| gauss()).collect()).collect();
    (0..N).map(|i| centres[i % CLUSTERS].iter().map(|c| c + gauss() * 0.5).collect()).collect()
}

fn store(points: &[Vec<f32>], distance: &dyn Distance) -> VectorStore {
    let mut store = VectorStore::new(DIM, distance.needs_norms());
    for p in points {
        store.push(p, None);
    }
    store
}

/// Slots not reachable from the entry point on layer 0.
fn unreachable(index: &Hnsw) -> Vec<u32> {
    let graph = index.graph();
    let Some(entry) = graph.entry() else { return Vec::new() };
    let mut seen = vec![false; graph.capacity()];
    let mut queue = VecDeque::from([entry.slot]);
    seen[entry.slot as usize] = true;
    let mut links = Vec::new();
    while let Some(s) = queue.pop_front() {
        graph.read_links(s, 0, &mut links);
        for &n in &links {
            if !std::mem::replace(&mut seen[n as usize], true) {
                queue.push_back(n);
            }
        }
    }
    graph.slots().filter(|&s| !seen[s as usize]).collect()
}

/// Slots whose own vector does not come back first from a search (ef = 256).
fn not_found_by_own_vector(index: &Hnsw, scorer: &Scorer<'_>, points: &[Vec<f32>]) -> usize {
    points
        .iter()
        .enumerate()
        .filter(|(slot, p)| {
            let query = scorer.prepare(p);
            let params = IndexSearch { k: 1, ef: 256, filter: None };
            let got = index.search(&query, &params, scorer, &mut SearchStats::default()).unwrap();
            // Duplicates aside, a point is its own nearest neighbour (distance 0).
            got.first().is_none_or(|c| c.slot as usize != *slot && c.distance > 1e-6)
        })
        .count()
}

fn build(points: &[Vec<f32>], scorer: &Scorer<'_>, threads: usize) -> Hnsw {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
    let mut index = Hnsw::new(DIM, Params::new(12, 64, 64, 7).unwrap());
    let slots: Vec<u32> = (0..points.len() as u32).collect();
    pool.install(|| index.insert_batch(&slots, scorer)).unwrap();
    assert_eq!(index.len(), points.len());
    index
}

#[test]
fn parallel_builds_lose_no_node() {
    let distance: Arc<dyn Distance> = Registry::with_builtins().distance("euclidean").unwrap();
    let mut failures = Vec::new();
    let mut total_lost = 0;
    for b in 0..BUILDS {
        let points = points(b as u64);
        let store = store(&points, &*distance);
        let scorer = Scorer::new(&store, &*distance, None);
        let index = build(&points, &scorer, 4);
        let lost = unreachable(&index);
        let missed = not_found_by_own_vector(&index, &scorer, &points);
        total_lost += lost.len();
        if lost.len() > MAX_LOST_PER_BUILD || missed > MAX_MISSED {
            failures.push(format!(
                "build {b}: {} unreachable ({:?}…), {missed} not found",
                lost.len(),
                &lost[..lost.len().min(5)]
            ));
        }
    }
    if total_lost > MAX_LOST_TOTAL {
        failures.push(format!("{total_lost} unreachable nodes over {BUILDS} builds"));
    }
    assert!(failures.is_empty(), "parallel builds lost nodes:\n{}", failures.join("\n"));
}

#[test]
fn serial_build_loses_no_node() {
    let distance: Arc<dyn Distance> = Registry::with_builtins().distance("euclidean").unwrap();
    let points = points(99);
    let store = store(&points, &*distance);
    let scorer = Scorer::new(&store, &*distance, None);
    let index = build(&points, &scorer, 1);
    assert_eq!(unreachable(&index), Vec::<u32>::new());
    let missed = not_found_by_own_vector(&index, &scorer, &points);
    assert!(missed <= MAX_MISSED, "{missed} of {N} nodes not found by their own vector");
}

//! The saved form of an HNSW index and its validating loader.
//!
//! Little-endian, compact (lists are stored by their length, not their capacity):
//!
//! ```text
//! magic "HNSW" · u32 version · u32 dim
//! u32 M · u32 efConstruction · u32 ef · u64 seed · u8 keepPrunedConnections · u64 RNG state
//! u32 n (slots covered; slot n−1 is held) · u32 entry slot (u32::MAX if empty) · u8 entry level
//! n × u8 level (0xFF: slot not held)
//! ⌈n/64⌉ × u64 tombstone words
//! for each held slot, ascending; for each of its layers 0..=level: u16 count · count × u32 id
//! ```
//!
//! [`read`] trusts nothing: every length is checked against the bytes that remain before anything
//! is allocated from it, every id must name a held slot, every count must fit its layer, the entry
//! point must be a node on the top layer, and trailing bytes are an error. A bad file gives
//! [`Error::Corrupted`], never a panic. The memory a file can make the loader allocate is bounded by
//! a constant times its size (at most `4 · (1 + M_max0)` bytes per level byte).

use super::graph::{Entry, Graph, ABSENT};
use super::insert::LinkLocks;
use super::params::Params;
use super::rng::{SplitMix64, MAX_LEVEL};
use super::{Hnsw, FORMAT_VERSION};
use crate::index::bitset::Bitset;
use crate::{Error, Result};

const MAGIC: &[u8; 4] = b"HNSW";
const WHAT: &str = "hnsw index";
const NO_ENTRY: u32 = u32::MAX;

/// Appends the saved form of an index to `out`.
pub fn write(dim: usize, params: &Params, graph: &Graph, rng: &SplitMix64, out: &mut Vec<u8>) {
    let n = graph.capacity();
    out.extend_from_slice(MAGIC);
    put_u32(out, FORMAT_VERSION);
    put_u32(out, dim as u32);
    put_u32(out, params.m as u32);
    put_u32(out, params.ef_construction as u32);
    put_u32(out, params.ef_search as u32);
    out.extend_from_slice(&params.seed.to_le_bytes());
    out.push(params.keep_pruned as u8);
    out.extend_from_slice(&rng.state().to_le_bytes());
    put_u32(out, n as u32);
    let entry = graph.entry();
    put_u32(out, entry.map_or(NO_ENTRY, |e| e.slot));
    out.push(entry.map_or(0, |e| e.level));
    out.extend((0..n as u32).map(|s| graph.level(s).unwrap_or(ABSENT)));
    let words = graph.deleted().words();
    for i in 0..n.div_ceil(64) {
        out.extend_from_slice(&words.get(i).copied().unwrap_or(0).to_le_bytes());
    }
    let mut links = Vec::new();
    for slot in graph.slots() {
        let level = graph.level(slot).unwrap_or(0) as usize;
        for l in 0..=level {
            graph.read_links(slot, l, &mut links);
            out.extend_from_slice(&(links.len() as u16).to_le_bytes());
            for &id in &links {
                put_u32(out, id);
            }
        }
    }
}

fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// A bounds-checked reader over the saved bytes.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn err(&self, detail: impl Into<String>) -> Error {
        Error::corrupted(WHAT, self.pos as u64, detail)
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8]> {
        if self.bytes.len() - self.pos < n {
            return Err(self.err(format!("truncated: {what} needs {n} bytes, {} remain", self.bytes.len() - self.pos)));
        }
        let s = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn u8(&mut self, what: &str) -> Result<u8> {
        Ok(self.take(1, what)?[0])
    }

    fn u16(&mut self, what: &str) -> Result<u16> {
        Ok(u16::from_le_bytes(self.take(2, what)?.try_into().expect("2 bytes")))
    }

    fn u32(&mut self, what: &str) -> Result<u32> {
        Ok(u32::from_le_bytes(self.take(4, what)?.try_into().expect("4 bytes")))
    }

    fn u64(&mut self, what: &str) -> Result<u64> {
        Ok(u64::from_le_bytes(self.take(8, what)?.try_into().expect("8 bytes")))
    }
}

/// Parses and validates what [`write`] produced for a `dim`-dimensional index.
pub fn read(dim: usize, bytes: &[u8]) -> Result<Hnsw> {
    let mut c = Cursor { bytes, pos: 0 };
    if c.take(4, "magic")? != MAGIC {
        return Err(Error::corrupted(WHAT, 0, "bad magic (not an HNSW index)"));
    }
    let version = c.u32("version")?;
    if version != FORMAT_VERSION {
        return Err(Error::UnsupportedVersion { found: version, supported: FORMAT_VERSION });
    }
    let saved_dim = c.u32("dim")?;
    if saved_dim as usize != dim {
        return Err(c.err(format!("index was saved for {saved_dim} dimensions, the collection has {dim}")));
    }
    let (m, efc, ef) = (c.u32("M")?, c.u32("efConstruction")?, c.u32("ef")?);
    let seed = c.u64("seed")?;
    let keep_pruned = match c.u8("keepPrunedConnections")? {
        0 => false,
        1 => true,
        b => return Err(c.err(format!("bad keepPrunedConnections flag {b}"))),
    };
    let params = Params::new(m as usize, efc as usize, ef as usize, seed)
        .map(|p| Params { keep_pruned, ..p })
        .map_err(|e| c.err(e.to_string()))?;
    let rng = SplitMix64::from_state(c.u64("RNG state")?);

    let n = c.u32("slot count")? as usize;
    let entry_slot = c.u32("entry slot")?;
    let entry_level = c.u8("entry level")?;
    let levels = c.take(n, "levels")?;
    if let Some(i) = levels.iter().position(|&l| l != ABSENT && l > MAX_LEVEL) {
        return Err(c.err(format!("slot {i} has level {} (max {MAX_LEVEL})", levels[i])));
    }
    if levels.last() == Some(&ABSENT) {
        return Err(c.err("the last slot covered is not held"));
    }
    let held = |id: u32| levels.get(id as usize).is_some_and(|&l| l != ABSENT);

    let words = c.take(n.div_ceil(64) * 8, "tombstones")?;
    let deleted =
        Bitset::from_words(words.chunks_exact(8).map(|w| u64::from_le_bytes(w.try_into().expect("8 bytes"))).collect());
    if let Some(s) = deleted.iter().find(|&s| !held(s)) {
        return Err(c.err(format!("tombstone on slot {s}, which is not held")));
    }

    let present = levels.iter().filter(|&&l| l != ABSENT).count();
    let top = levels.iter().filter(|&&l| l != ABSENT).max().copied();
    let entry = match (entry_slot, top) {
        (NO_ENTRY, None) => None,
        (s, Some(top)) if held(s) && levels[s as usize] == entry_level && entry_level == top => {
            Some(Entry { slot: s, level: entry_level })
        }
        _ => return Err(c.err(format!("bad entry point {entry_slot} at level {entry_level}"))),
    };

    // Lists, parsed into a compact form first so nothing is allocated beyond what the bytes hold.
    let mut ids: Vec<u32> = Vec::new();
    let mut counts: Vec<u16> = Vec::with_capacity(present);
    for (slot, &level) in levels.iter().enumerate().filter(|(_, &l)| l != ABSENT) {
        for l in 0..=level as usize {
            let count = c.u16("list length")?;
            let cap = if l == 0 { params.m_max0 } else { params.m };
            if count as usize > cap {
                return Err(c.err(format!("slot {slot} has {count} links on layer {l} (max {cap})")));
            }
            let raw = c.take(count as usize * 4, "links")?;
            for w in raw.chunks_exact(4) {
                let id = u32::from_le_bytes(w.try_into().expect("4 bytes"));
                if !held(id) || id as usize == slot || levels[id as usize] < l as u8 {
                    return Err(c.err(format!("slot {slot} links to {id} on layer {l}, which is not a node there")));
                }
                ids.push(id);
            }
            counts.push(count);
        }
    }
    if c.pos != bytes.len() {
        return Err(c.err(format!("{} trailing bytes", bytes.len() - c.pos)));
    }

    let mut graph = Graph::new(params.m, params.m_max0);
    graph.reserve_slots(n);
    let (mut next_id, mut next_count) = (0usize, 0usize);
    for (slot, &level) in levels.iter().enumerate().filter(|(_, &l)| l != ABSENT) {
        graph.add_node(slot as u32, level).map_err(|e| Error::corrupted(WHAT, 0, e.to_string()))?;
        for l in 0..=level as usize {
            let count = counts[next_count] as usize;
            graph.write_links(slot as u32, l, &ids[next_id..next_id + count]);
            next_count += 1;
            next_id += count;
        }
    }
    graph.set_deleted(deleted);
    graph.set_entry(entry);
    Ok(Hnsw { dim, params, graph, rng, locks: LinkLocks::default() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::testing::PointSource;
    use crate::{Index, IndexSearch, SearchStats, VectorSource};

    fn small_index(n: usize) -> (Hnsw, PointSource) {
        let src = PointSource::random(n, 8, 5);
        let mut h = Hnsw::new(8, Params::new(4, 32, 16, 9).unwrap());
        for s in 0..n as u32 {
            h.insert(s, &src).unwrap();
        }
        (h, src)
    }

    fn results(h: &Hnsw, src: &PointSource) -> Vec<Vec<u32>> {
        (0..20)
            .map(|i| {
                let q = src.prepare_slot(i);
                let p = IndexSearch { k: 5, ef: 0, filter: None };
                h.search(&q, &p, src, &mut SearchStats::default()).unwrap().iter().map(|c| c.slot).collect()
            })
            .collect()
    }

    #[test]
    fn roundtrip_is_identical() {
        let (mut h, src) = small_index(300);
        h.delete(17).unwrap();
        let mut bytes = Vec::new();
        h.save(&mut bytes).unwrap();
        let g = read(8, &bytes).unwrap();
        assert_eq!(g.params, h.params);
        assert_eq!(g.rng, h.rng);
        assert_eq!(g.graph.entry(), h.graph.entry());
        assert_eq!(g.len(), 299);
        assert!(!g.contains(17) && g.contains(18));
        assert_eq!(results(&g, &src), results(&h, &src));
        let mut again = Vec::new();
        g.save(&mut again).unwrap();
        assert_eq!(again, bytes);
    }

    #[test]
    fn empty_index_roundtrips() {
        let h = Hnsw::new(3, Params::default());
        let mut bytes = Vec::new();
        h.save(&mut bytes).unwrap();
        let g = read(3, &bytes).unwrap();
        assert_eq!(g.len(), 0);
        assert!(g.graph.entry().is_none());
    }

    #[test]
    fn rejects_wrong_dim_version_and_trailing_bytes() {
        let (h, _) = small_index(50);
        let mut bytes = Vec::new();
        h.save(&mut bytes).unwrap();
        assert!(matches!(read(9, &bytes), Err(Error::Corrupted { .. })));
        let mut v2 = bytes.clone();
        v2[4] = 2;
        assert!(matches!(read(8, &v2), Err(Error::UnsupportedVersion { found: 2, .. })));
        let mut long = bytes.clone();
        long.push(0);
        assert!(matches!(read(8, &long), Err(Error::Corrupted { .. })));
        assert!(matches!(read(8, b"NOPE"), Err(Error::Corrupted { .. })));
    }

    #[test]
    fn every_truncation_is_an_error() {
        let (h, _) = small_index(40);
        let mut bytes = Vec::new();
        h.save(&mut bytes).unwrap();
        for len in 0..bytes.len() {
            assert!(matches!(read(8, &bytes[..len]), Err(Error::Corrupted { .. })), "length {len}");
        }
    }

    #[test]
    fn huge_slot_count_does_not_allocate() {
        let h = Hnsw::new(2, Params::default());
        let mut bytes = Vec::new();
        h.save(&mut bytes).unwrap();
        // Slot count sits after magic, version, dim, M, efC, ef (24 bytes), seed, flag, RNG (17).
        let at = 4 + 4 * 5 + 8 + 1 + 8;
        bytes[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(read(2, &bytes), Err(Error::Corrupted { .. })));
    }

    /// Any corruption of a saved index is either rejected or loads into an index that still
    /// answers queries and takes inserts without panicking.
    mod fuzz {
        use super::*;
        use proptest::prelude::*;
        use std::sync::OnceLock;

        fn saved() -> &'static (Vec<u8>, PointSource) {
            static SAVED: OnceLock<(Vec<u8>, PointSource)> = OnceLock::new();
            SAVED.get_or_init(|| {
                // Points 0..120 indexed (a few deleted); 120..130 left for inserting after load.
                let src = PointSource::random(130, 4, 77);
                let mut h = Hnsw::new(4, Params::new(3, 16, 8, 1).unwrap());
                for s in 0..120 {
                    h.insert(s, &src).unwrap();
                }
                for s in [3, 50, 99] {
                    h.delete(s).unwrap();
                }
                let mut bytes = Vec::new();
                h.save(&mut bytes).unwrap();
                (bytes, src)
            })
        }

        fn exercise(bytes: &[u8], src: &PointSource) {
            if let Ok(mut h) = read(4, bytes) {
                let q = src.prepare_slot(7);
                for k in [1, 10, 200] {
                    let p = IndexSearch { k, ef: 0, filter: None };
                    match h.search(&q, &p, src, &mut SearchStats::default()) {
                        Ok(got) => assert!(got.len() <= k.min(h.len())),
                        // A structurally valid index that names slots the source lacks.
                        Err(e) => assert!(matches!(e, Error::Corrupted { .. }), "{e}"),
                    }
                }
                for s in 120..130 {
                    let _ = h.insert(s, src);
                }
            }
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2000))]

            #[test]
            fn flipped_bytes_never_panic(flips in prop::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..6)) {
                let (bytes, src) = saved();
                let mut b = bytes.clone();
                for (at, x) in flips {
                    let i = at.index(b.len());
                    b[i] ^= x;
                }
                exercise(&b, src);
            }

            #[test]
            fn truncated_or_extended_never_panics(cut in any::<prop::sample::Index>(), tail in prop::collection::vec(any::<u8>(), 0..8)) {
                let (bytes, src) = saved();
                let mut b = bytes[..cut.index(bytes.len() + 1)].to_vec();
                b.extend(tail);
                exercise(&b, src);
            }
        }
    }
}

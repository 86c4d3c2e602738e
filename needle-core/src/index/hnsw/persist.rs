//! The saved form of an HNSW index and its loaders.
//!
//! Version 2 (written since layer 0 is used in place from a memory map), little-endian. Offsets
//! are from the start of the saved form, which the file format places on a 64-byte boundary (every
//! section starts on one), so layer 0 starts on a 64-byte boundary of the file and of its map:
//!
//! ```text
//! offset  size                    field
//!  0      4                       magic "HNSW"
//!  4      4                       u32 version (2)
//!  8      4                       u32 dim
//! 12      4                       u32 M
//! 16      4                       u32 efConstruction
//! 20      4                       u32 ef
//! 24      8                       u64 seed
//! 32      1                       u8 keepPrunedConnections (0 or 1)
//! 33      8                       u64 RNG state
//! 41      4                       u32 n (slots covered; slot n−1 is held)
//! 45      4                       u32 entry slot (u32::MAX if empty)
//! 49      1                       u8 entry level
//! 50      4                       u32 M_max0 (= 2·M)
//! 54      10                      zero
//! 64      n·(1+M_max0)·4          layer 0: per slot, (1 + M_max0) u32 words [count, id₀ … id_count−1,
//!                                 zero …]; a slot not held is all zero
//! L0end   n                       u8 level per slot (0xFF: slot not held)
//! +n      ⌈n/64⌉·8                u64 tombstone words (bit s of word s/64: slot s deleted)
//! …       rest                    upper layers: for each held slot of level ≥ 1, ascending, for
//!                                 each layer 1..=level: u16 count · count × u32 id
//! ```
//!
//! Layer 0 is exactly the in-memory layout of [`Graph`]'s layer 0, so [`read_shared`] keeps it in
//! place when the bytes are a memory map of the right alignment: levels, tombstones and the upper
//! layers (about 1/M of the data) are decoded and validated, layer 0 is neither read nor checked —
//! the graph clamps and filters what it reads from it (see `graph.rs`), and the section's checksum
//! is verified in the background. Opening is then independent of the number of layer-0 lists.
//!
//! [`read`] (bytes read into memory: small and encrypted files) trusts nothing: every length is
//! checked against the bytes that remain before anything is allocated from it, every id must name
//! a held slot (on its layer, not the node itself), every count must fit its layer, unused layer-0
//! words must be zero, the entry point must be a node on the top layer, and trailing bytes are an
//! error. A bad file gives [`Error::Corrupted`], never a panic. The memory a file can make the
//! loader allocate is bounded by a constant times its size (at most `4 · (1 + M_max0)` bytes per
//! level byte).
//!
//! Version 1 (still read, always validated and copied) had no layer-0 block: after the entry
//! level (offset 50) came the levels, the tombstones, then for each held slot, ascending, for each
//! of its layers 0..=level: u16 count · count × u32 id.

use std::sync::atomic::AtomicU32;

use super::graph::{Entry, Graph, Layer0, ABSENT};
use super::insert::LinkLocks;
use super::params::Params;
use super::rng::{SplitMix64, MAX_LEVEL};
use super::{Hnsw, FORMAT_VERSION};
use crate::arena::MappedSlice;
use crate::format::{ByteCursor, SharedBytes};
use crate::index::bitset::Bitset;
use crate::{Error, Result};

const MAGIC: &[u8; 4] = b"HNSW";
const WHAT: &str = "hnsw index";
const NO_ENTRY: u32 = u32::MAX;
/// Offset of layer 0 in a version-2 saved form (a multiple of [`LAYER0_ALIGN`]).
pub const LAYER0_AT: usize = 64;
/// Alignment of mapped layer-0 words: a cache line, so a list starts where a line does as often
/// as the stride allows.
pub const LAYER0_ALIGN: usize = 64;

/// Appends the saved form (version 2) of an index to `out`.
pub fn write(dim: usize, params: &Params, graph: &Graph, rng: &SplitMix64, out: &mut Vec<u8>) {
    let base = out.len();
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
    put_u32(out, graph.m_max0() as u32);
    out.resize(base + LAYER0_AT, 0);
    let stride = 1 + graph.m_max0();
    out.reserve(n * stride * 4);
    let mut links = Vec::new();
    for slot in 0..n as u32 {
        links.clear();
        if graph.level(slot).is_some() {
            graph.read_links(slot, 0, &mut links);
            // Only a damaged mapped list can name its own node; never write one back.
            links.retain(|&id| id != slot);
        }
        put_u32(out, links.len() as u32);
        for &id in &links {
            put_u32(out, id);
        }
        out.resize(out.len() + (stride - 1 - links.len()) * 4, 0);
    }
    out.extend((0..n as u32).map(|s| graph.level(s).unwrap_or(ABSENT)));
    let words = graph.deleted().words();
    for i in 0..n.div_ceil(64) {
        out.extend_from_slice(&words.get(i).copied().unwrap_or(0).to_le_bytes());
    }
    for slot in graph.slots() {
        for l in 1..=graph.level(slot).unwrap_or(0) as usize {
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

/// Parses and fully validates what [`write`] (or a version-1 writer) produced for a
/// `dim`-dimensional index; the graph is held in memory.
pub fn read(dim: usize, bytes: &[u8]) -> Result<Hnsw> {
    load(dim, bytes, None)
}

/// Like [`read`], but when `bytes` are a memory map and the saved form is version 2, layer 0 stays
/// in the map, unvalidated (see the module docs); anything else is read as by [`read`].
pub fn read_shared(dim: usize, bytes: &SharedBytes) -> Result<Hnsw> {
    load(dim, bytes, Some(bytes).filter(|b| b.is_mapped()))
}

/// The fields before the lists, common to both versions.
struct Head {
    version: u32,
    params: Params,
    rng: SplitMix64,
    n: usize,
    entry_slot: u32,
    entry_level: u8,
}

fn load(dim: usize, bytes: &[u8], mapped: Option<&SharedBytes>) -> Result<Hnsw> {
    let mut c = ByteCursor::new(bytes, WHAT);
    let head = read_head(&mut c, dim)?;
    let graph = if head.version == 1 { graph_v1(&mut c, &head)? } else { graph_v2(&mut c, &head, mapped)? };
    c.finish()?;
    Ok(Hnsw { dim, params: head.params, graph, rng: head.rng, locks: LinkLocks::default() })
}

fn read_head(c: &mut ByteCursor<'_>, dim: usize) -> Result<Head> {
    if c.take(4, "magic")? != MAGIC {
        return Err(Error::corrupted(WHAT, 0, "bad magic (not an HNSW index)"));
    }
    let version = c.u32("version")?;
    if !(1..=FORMAT_VERSION).contains(&version) {
        return Err(Error::UnsupportedVersion { found: version, supported: FORMAT_VERSION });
    }
    let saved_dim = c.u32("dim")?;
    if saved_dim as usize != dim {
        return Err(c.error(format!("index was saved for {saved_dim} dimensions, the collection has {dim}")));
    }
    let (m, efc, ef) = (c.u32("M")?, c.u32("efConstruction")?, c.u32("ef")?);
    let seed = c.u64("seed")?;
    let keep_pruned = match c.u8("keepPrunedConnections")? {
        0 => false,
        1 => true,
        b => return Err(c.error(format!("bad keepPrunedConnections flag {b}"))),
    };
    let params = Params::new(m as usize, efc as usize, ef as usize, seed)
        .map(|p| Params { keep_pruned, ..p })
        .map_err(|e| c.error(e.to_string()))?;
    let rng = SplitMix64::from_state(c.u64("RNG state")?);
    let n = c.u32("slot count")? as usize;
    let entry_slot = c.u32("entry slot")?;
    let entry_level = c.u8("entry level")?;
    Ok(Head { version, params, rng, n, entry_slot, entry_level })
}

/// Levels, tombstones and the checked entry point (the same in both versions).
fn read_levels<'a>(c: &mut ByteCursor<'a>, head: &Head) -> Result<(&'a [u8], Bitset, Option<Entry>)> {
    let levels = c.take(head.n, "levels")?;
    if let Some(i) = levels.iter().position(|&l| l != ABSENT && l > MAX_LEVEL) {
        return Err(c.error(format!("slot {i} has level {} (max {MAX_LEVEL})", levels[i])));
    }
    if levels.last() == Some(&ABSENT) {
        return Err(c.error("the last slot covered is not held"));
    }
    let held = |id: u32| levels.get(id as usize).is_some_and(|&l| l != ABSENT);
    let words = c.take(head.n.div_ceil(64) * 8, "tombstones")?;
    let deleted =
        Bitset::from_words(words.chunks_exact(8).map(|w| u64::from_le_bytes(w.try_into().expect("8 bytes"))).collect());
    if let Some(s) = deleted.iter().find(|&s| !held(s)) {
        return Err(c.error(format!("tombstone on slot {s}, which is not held")));
    }
    let top = levels.iter().filter(|&&l| l != ABSENT).max().copied();
    let (slot, level) = (head.entry_slot, head.entry_level);
    let entry = match (slot, top) {
        (NO_ENTRY, None) => None,
        (s, Some(top)) if held(s) && levels[s as usize] == level && level == top => Some(Entry { slot: s, level }),
        _ => return Err(c.error(format!("bad entry point {slot} at level {level}"))),
    };
    Ok((levels, deleted, entry))
}

/// Lists stored by length: for each held slot, ascending, its layers `first..=level`. Parsed and
/// checked into a compact form (counts, ids) before the graph is built, so nothing is allocated
/// beyond what the bytes hold.
fn read_lists(c: &mut ByteCursor<'_>, levels: &[u8], first: usize, params: &Params) -> Result<(Vec<u16>, Vec<u32>)> {
    let (mut counts, mut ids) = (Vec::new(), Vec::new());
    for (slot, &level) in levels.iter().enumerate().filter(|(_, &l)| l != ABSENT) {
        for l in first..=level as usize {
            let count = c.u16("list length")?;
            let cap = if l == 0 { params.m_max0 } else { params.m };
            if count as usize > cap {
                return Err(c.error(format!("slot {slot} has {count} links on layer {l} (max {cap})")));
            }
            for w in c.take(count as usize * 4, "links")?.chunks_exact(4) {
                let id = u32::from_le_bytes(w.try_into().expect("4 bytes"));
                let ok = levels.get(id as usize).is_some_and(|&il| il != ABSENT && il as usize >= l);
                if !ok || id as usize == slot {
                    return Err(c.error(format!("slot {slot} links to {id} on layer {l}, which is not a node there")));
                }
                ids.push(id);
            }
            counts.push(count);
        }
    }
    Ok((counts, ids))
}

/// Writes what [`read_lists`] parsed into the graph's lists.
fn fill(graph: &Graph, levels: &[u8], first: usize, counts: &[u16], ids: &[u32]) {
    let (mut next_id, mut next_count) = (0usize, 0usize);
    for (slot, &level) in levels.iter().enumerate().filter(|(_, &l)| l != ABSENT) {
        for l in first..=level as usize {
            let count = counts[next_count] as usize;
            graph.write_links(slot as u32, l, &ids[next_id..next_id + count]);
            next_count += 1;
            next_id += count;
        }
    }
}

fn graph_v1(c: &mut ByteCursor<'_>, head: &Head) -> Result<Graph> {
    let (levels, deleted, entry) = read_levels(c, head)?;
    let (counts, ids) = read_lists(c, levels, 0, &head.params)?;
    let p = &head.params;
    let zeros = (0..levels.len() * (1 + p.m_max0)).map(|_| AtomicU32::new(0)).collect();
    let mut graph = Graph::from_parts(p.m, p.m_max0, levels.to_vec(), Layer0::Owned(zeros))?;
    fill(&graph, levels, 0, &counts, &ids);
    graph.set_deleted(deleted);
    graph.set_entry(entry);
    Ok(graph)
}

fn graph_v2(c: &mut ByteCursor<'_>, head: &Head, mapped: Option<&SharedBytes>) -> Result<Graph> {
    let p = &head.params;
    let m_max0 = c.u32("M_max0")?;
    if m_max0 as usize != p.m_max0 {
        return Err(c.error(format!("M_max0 is {m_max0}, expected 2·M = {}", p.m_max0)));
    }
    if c.take(LAYER0_AT - c.pos(), "header padding")?.iter().any(|&b| b != 0) {
        return Err(c.error("header padding is not zero"));
    }
    let stride = 1 + p.m_max0;
    let at = c.pos();
    let len = head.n.checked_mul(stride * 4).ok_or_else(|| c.error(format!("implausible slot count {}", head.n)))?;
    let raw = c.take(len, "layer 0")?;
    let (levels, deleted, entry) = read_levels(c, head)?;
    let (counts, ids) = read_lists(c, levels, 1, p)?;
    let in_place = mapped.and_then(|b| b.slice(at..at + len)).and_then(|b| MappedSlice::new(b, LAYER0_ALIGN));
    let layer0 = match in_place {
        Some(words) => Layer0::Mapped(words),
        None => Layer0::Owned(checked_layer0(raw, levels, stride, at)?),
    };
    let mut graph = Graph::from_parts(p.m, p.m_max0, levels.to_vec(), layer0)?;
    fill(&graph, levels, 1, &counts, &ids);
    graph.set_deleted(deleted);
    graph.set_entry(entry);
    Ok(graph)
}

/// Layer 0 copied into memory, every word checked (see the module docs).
fn checked_layer0(raw: &[u8], levels: &[u8], stride: usize, at: usize) -> Result<Vec<AtomicU32>> {
    let held = |id: u32| levels.get(id as usize).is_some_and(|&l| l != ABSENT);
    let mut words = Vec::with_capacity(raw.len() / 4);
    for (slot, block) in raw.chunks_exact(stride * 4).enumerate() {
        let err = |detail: String| Error::corrupted(WHAT, (at + slot * stride * 4) as u64, detail);
        let mut w = block.chunks_exact(4).map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")));
        let count = w.next().unwrap_or(0);
        let cap = if held(slot as u32) { stride - 1 } else { 0 };
        if count as usize > cap {
            return Err(err(format!("slot {slot} has {count} links on layer 0 (max {cap})")));
        }
        words.push(AtomicU32::new(count));
        for (i, id) in w.enumerate() {
            if i < count as usize {
                if !held(id) || id as usize == slot {
                    return Err(err(format!("slot {slot} links to {id} on layer 0, which is not a node there")));
                }
            } else if id != 0 {
                return Err(err(format!("slot {slot}: unused layer-0 word {} is not zero", i + 1)));
            }
            words.push(AtomicU32::new(id));
        }
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::testing::PointSource;
    use crate::{Index, IndexSearch, SearchStats, VectorSource};
    use std::sync::Arc;

    /// `bytes` as if mapped: a copy starting on a 64-byte boundary, flagged as a map.
    fn mapped(bytes: &[u8]) -> SharedBytes {
        let mut buf = vec![0u8; bytes.len() + LAYER0_ALIGN];
        let off = buf.as_ptr().align_offset(LAYER0_ALIGN);
        buf[off..off + bytes.len()].copy_from_slice(bytes);
        SharedBytes::mapped(Arc::new(buf), off..off + bytes.len()).unwrap()
    }

    /// The version-1 saved form of `h` (what builds before layer 0 was mapped wrote).
    fn write_v1(h: &Hnsw) -> Vec<u8> {
        let mut out = Vec::new();
        h.save(&mut out).unwrap();
        out[4..8].copy_from_slice(&1u32.to_le_bytes());
        out.truncate(50);
        let g = &h.graph;
        out.extend((0..g.capacity() as u32).map(|s| g.level(s).unwrap_or(ABSENT)));
        for i in 0..g.capacity().div_ceil(64) {
            out.extend_from_slice(&g.deleted().words().get(i).copied().unwrap_or(0).to_le_bytes());
        }
        let mut links = Vec::new();
        for slot in g.slots() {
            for l in 0..=g.level(slot).unwrap() as usize {
                g.read_links(slot, l, &mut links);
                out.extend_from_slice(&(links.len() as u16).to_le_bytes());
                links.iter().for_each(|id| out.extend_from_slice(&id.to_le_bytes()));
            }
        }
        out
    }

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
    fn roundtrip_is_identical_read_or_mapped() {
        let (mut h, src) = small_index(300);
        h.delete(17).unwrap();
        let mut bytes = Vec::new();
        h.save(&mut bytes).unwrap();
        let owned = read(8, &bytes).unwrap();
        let in_place = read_shared(8, &mapped(&bytes)).unwrap();
        assert!(in_place.graph.is_mapped() && !owned.graph.is_mapped());
        assert!(!read_shared(8, &SharedBytes::owned(bytes.clone())).unwrap().graph.is_mapped());
        for g in [&owned, &in_place] {
            assert_eq!((&g.params, &g.rng, g.graph.entry()), (&h.params, &h.rng, h.graph.entry()));
            assert_eq!(g.len(), 299);
            assert!(!g.contains(17) && g.contains(18));
            assert_eq!(results(g, &src), results(&h, &src));
            let mut again = Vec::new();
            g.save(&mut again).unwrap();
            assert_eq!(again, bytes);
        }
        // Layer 0 sits at offset 64, one (1 + M_max0)-word block per slot, as in memory, and a
        // mapped graph does not own it.
        let stride = 1 + h.params.m_max0;
        let mut links = Vec::new();
        for slot in [0u32, 1, 150, 299] {
            h.graph.read_links(slot, 0, &mut links);
            let at = LAYER0_AT + slot as usize * stride * 4;
            let word = |i: usize| u32::from_le_bytes(bytes[at + 4 * i..at + 4 * i + 4].try_into().unwrap());
            assert_eq!(word(0) as usize, links.len());
            assert_eq!((1..=links.len()).map(word).collect::<Vec<_>>(), links);
        }
        assert!(in_place.memory_bytes() + 300 * stride * 4 <= owned.memory_bytes());
    }

    #[test]
    fn a_write_copies_mapped_layer0_and_keeps_the_map_untouched() {
        let src = PointSource::random(400, 8, 5);
        let mut h = Hnsw::new(8, Params::new(4, 32, 16, 9).unwrap());
        for s in 0..300 {
            h.insert(s, &src).unwrap();
        }
        let mut bytes = Vec::new();
        h.save(&mut bytes).unwrap();
        let map = mapped(&bytes);
        let mut m = read_shared(8, &map).unwrap();
        m.delete(5).unwrap();
        assert!(m.graph.is_mapped(), "a tombstone does not touch the lists");
        m.insert(300, &src).unwrap();
        assert!(!m.graph.is_mapped());
        let slots: Vec<u32> = (301..400).collect();
        let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
        let mut m2 = read_shared(8, &map).unwrap();
        pool.install(|| m2.insert_batch(&slots, &src)).unwrap();
        assert_eq!(map.as_slice(), &bytes[..]);
        assert_eq!(m2.len(), 399);
        for g in [&m, &m2] {
            let mut again = Vec::new();
            g.save(&mut again).unwrap();
            assert_eq!(read(8, &again).unwrap().len(), g.len());
        }
        h.insert(300, &src).unwrap();
        h.delete(5).unwrap();
        assert_eq!(results(&m, &src), results(&h, &src), "a copy behaves as the original");
    }

    #[test]
    fn damaged_mapped_layer0_never_panics_and_is_sanitised_by_a_write() {
        let (h, src) = small_index(200);
        let mut bytes = Vec::new();
        h.save(&mut bytes).unwrap();
        let stride = 1 + h.params.m_max0;
        let put = |b: &mut Vec<u8>, slot: usize, i: usize, v: u32| {
            let at = LAYER0_AT + (slot * stride + i) * 4;
            b[at..at + 4].copy_from_slice(&v.to_le_bytes());
        };
        let mut bad = bytes.clone();
        for slot in 0..200 {
            match slot % 4 {
                0 => put(&mut bad, slot, 0, u32::MAX),          // count far past M_max0
                1 => put(&mut bad, slot, 1, u32::MAX),          // id past every slot
                2 => put(&mut bad, slot, 1, 200 + slot as u32), // id just past the slots
                _ => put(&mut bad, slot, 2, slot as u32),       // a link to itself
            }
        }
        let mut m = read_shared(8, &mapped(&bad)).unwrap();
        assert!(m.graph.is_mapped());
        for got in results(&m, &src) {
            assert!(got.iter().all(|&s| s < 200));
        }
        let src2 = PointSource::random(210, 8, 5);
        for s in 200..210 {
            m.insert(s, &src2).unwrap();
        }
        // The copy kept only valid links: a save passes the full validation.
        let mut again = Vec::new();
        m.save(&mut again).unwrap();
        assert_eq!(read(8, &again).unwrap().len(), 210);
        assert!(matches!(read(8, &bad), Err(Error::Corrupted { .. })), "read into memory, it is validated");
    }

    #[test]
    fn version_1_still_loads_mapped_or_not() {
        let (mut h, src) = small_index(300);
        h.delete(17).unwrap();
        let v1 = write_v1(&h);
        let mut v2 = Vec::new();
        h.save(&mut v2).unwrap();
        for g in [read(8, &v1).unwrap(), read_shared(8, &mapped(&v1)).unwrap()] {
            assert!(!g.graph.is_mapped());
            assert_eq!(results(&g, &src), results(&h, &src));
            let mut again = Vec::new();
            g.save(&mut again).unwrap();
            assert_eq!(again, v2, "rewritten as version 2");
        }
        for len in 0..v1.len() {
            assert!(matches!(read(8, &v1[..len]), Err(Error::Corrupted { .. })), "length {len}");
        }
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
        for v in [0u8, 3] {
            let mut other = bytes.clone();
            other[4] = v;
            assert!(matches!(read(8, &other), Err(Error::UnsupportedVersion { found, .. }) if found == v as u32));
        }
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

        /// Loads `bytes` read into memory and as if mapped; whatever loads must answer queries,
        /// take inserts and save a form that passes the full validation.
        fn exercise(bytes: &[u8], src: &PointSource) {
            let loaded = [read(4, bytes), read_shared(4, &mapped(bytes))];
            for mut h in loaded.into_iter().flatten() {
                let q = src.prepare_slot(7);
                let even = |s: u32| s.is_multiple_of(2);
                for (k, filter) in
                    [(1, None), (10, None), (200, None), (10, Some(&even as &(dyn Fn(u32) -> bool + Sync)))]
                {
                    let p = IndexSearch { k, ef: 0, filter };
                    match h.search(&q, &p, src, &mut SearchStats::default()) {
                        Ok(got) => assert!(got.len() <= k.min(h.len())),
                        // A structurally valid index that names slots the source lacks.
                        Err(e) => assert!(matches!(e, Error::Corrupted { .. }), "{e}"),
                    }
                }
                for s in 120..130 {
                    let _ = h.insert(s, src);
                }
                let mut again = Vec::new();
                h.save(&mut again).unwrap();
                read(4, &again).unwrap();
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

//! The HNSW graph's storage: per-slot levels, neighbour lists, tombstones and the entry point.
//!
//! Layout, chosen for the search loop:
//! - **Layer 0** (every node, most of the search work) is one flat `Vec` with a fixed stride of
//!   `1 + M_max0` words per slot: `[count, id₀, id₁, …]`. Finding a node's list is one multiply,
//!   and the list is contiguous.
//! - **Upper layers** hold only ~1/M of the nodes, so they are stored sparsely: a node with level
//!   `L > 0` owns one block of `L · (1 + M)` words in a second `Vec`, found through a per-slot
//!   offset.
//!
//! Lists are `AtomicU32` so a parallel build can rewrite them through `&Graph` (each writer holding
//! the node's lock, see `insert.rs`) while other threads read them without any lock. A writer
//! stores the ids first and the count last (release); a reader loads the count (acquire) and then
//! the ids, so it never sees a slot that was not written. A read racing a rewrite may mix old and
//! new ids, which is harmless: every id ever stored in a layer-`l` list names a node of level ≥ `l`.
//! On x86 and for the ids these atomics compile to plain loads and stores, so searches pay nothing
//! for this. Everything else (adding nodes, tombstones, the entry point) changes only through
//! `&mut Graph`.
//!
//! **Mapped layer 0.** A graph opened from a file's memory map keeps its layer-0 words where they
//! are ([`Layer0::Mapped`]: the saved form is the in-memory layout, see `persist.rs`) and never
//! writes them: the first `&mut` change that adds or links nodes copies them into memory
//! ([`Graph::make_owned`]) before any `&self` writer can run. Mapped words are not validated at
//! open (that would read them all), so reading them clamps each count to `M_max0` and skips ids
//! that do not name a held slot, and the copy keeps only what such reads return: a damaged file
//! gives wrong neighbours (until the background checksum check reports it), never a panic or a
//! read out of bounds.

use std::sync::atomic::AtomicU32;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};

use super::rng::MAX_LEVEL;
use crate::arena::MappedSlice;
use crate::index::bitset::Bitset;
use crate::{Error, Result};

/// `levels[slot]` of a slot the graph does not hold.
pub const ABSENT: u8 = u8::MAX;
/// `upper_offset[slot]` of a node without upper layers.
const NO_UPPER: u32 = u32::MAX;

/// The graph's entry point: the node with the highest level (`ep` and `L` in the paper).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// The entry node's slot.
    pub slot: u32,
    /// Its level, which is the graph's top layer `L`.
    pub level: u8,
}

/// Layer-0 lists, `1 + M_max0` words per slot (`[count, id₀, id₁, …]`).
#[derive(Debug)]
pub enum Layer0 {
    /// In memory; built and written through `&self` by the insertion code (see the module docs).
    Owned(Vec<AtomicU32>),
    /// In place in saved bytes (normally a file's read-only memory map), never written and not
    /// validated: counts may exceed `M_max0` and ids may name anything.
    Mapped(MappedSlice<u32>),
}

impl Layer0 {
    fn len(&self) -> usize {
        match self {
            Layer0::Owned(v) => v.len(),
            Layer0::Mapped(m) => m.as_slice().len(),
        }
    }
}

/// Levels, links and tombstones of an HNSW graph, indexed by slot.
#[derive(Debug)]
pub struct Graph {
    /// `M`: capacity of an upper-layer list.
    m: usize,
    /// `M_max0`: capacity of a layer-0 list.
    m_max0: usize,
    /// Top layer of each slot, or [`ABSENT`].
    levels: Vec<u8>,
    /// Layer-0 lists, `1 + M_max0` words per slot.
    level0: Layer0,
    /// Start (in words) of each slot's upper-layer block in `upper`, or [`NO_UPPER`].
    upper_offset: Vec<u32>,
    /// Upper-layer blocks: layer `l ≥ 1` of a node at `offset + (l − 1)(1 + M)`.
    upper: Vec<AtomicU32>,
    /// Tombstones.
    deleted: Bitset,
    /// Nodes held (live or deleted).
    present: usize,
    /// The entry point, `None` while the graph is empty.
    entry: Option<Entry>,
}

impl Graph {
    /// An empty graph with list capacities `M` (upper layers) and `M_max0` (layer 0).
    pub fn new(m: usize, m_max0: usize) -> Self {
        Graph {
            m,
            m_max0,
            levels: Vec::new(),
            level0: Layer0::Owned(Vec::new()),
            upper_offset: Vec::new(),
            upper: Vec::new(),
            deleted: Bitset::new(),
            present: 0,
            entry: None,
        }
    }

    /// A loaded graph: `levels[slot]` per slot ([`ABSENT`] for slots not held) and their layer-0
    /// words (`levels.len() · (1 + M_max0)` of them), with empty upper-layer lists for the caller
    /// to fill. An error when the word count is wrong or upper-layer storage would overflow.
    pub fn from_parts(m: usize, m_max0: usize, levels: Vec<u8>, level0: Layer0) -> Result<Self> {
        let bad = |what: String| Error::corrupted("hnsw index", 0, what);
        if Some(level0.len()) != levels.len().checked_mul(1 + m_max0) {
            return Err(bad(format!(
                "{} layer-0 words for {} slots of {} words",
                level0.len(),
                levels.len(),
                1 + m_max0
            )));
        }
        if let Some(s) = levels.iter().position(|&l| l != ABSENT && l > MAX_LEVEL) {
            return Err(bad(format!("slot {s} has level {} (max {MAX_LEVEL})", levels[s])));
        }
        let mut g = Graph::new(m, m_max0);
        g.upper_offset = vec![NO_UPPER; levels.len()];
        let mut words = 0usize;
        for (slot, &level) in levels.iter().enumerate().filter(|(_, &l)| l != ABSENT) {
            g.present += 1;
            if level > 0 {
                // Past `NO_UPPER` the check below refuses the whole graph.
                g.upper_offset[slot] = u32::try_from(words).unwrap_or(NO_UPPER);
                words += level as usize * (1 + m);
            }
        }
        if words >= NO_UPPER as usize {
            return Err(bad("hnsw upper-layer storage exceeds 4 Gi entries".into()));
        }
        g.upper.resize_with(words, || AtomicU32::new(0));
        g.levels = levels;
        g.level0 = level0;
        Ok(g)
    }

    /// True while the layer-0 lists are used in place from saved bytes (see the module docs).
    pub fn is_mapped(&self) -> bool {
        matches!(self.level0, Layer0::Mapped(_))
    }

    /// Copies mapped layer-0 lists into memory so they can be written, keeping of each list what
    /// [`read_links`](Self::read_links) returns (at most `M_max0` ids, each a held slot other than
    /// the node itself). A no-op when they are already in memory.
    pub fn make_owned(&mut self) {
        let Layer0::Mapped(mapped) = &self.level0 else { return };
        let stride = 1 + self.m_max0;
        let mut owned = Vec::with_capacity(self.levels.len() * stride);
        let mut kept = Vec::with_capacity(self.m_max0);
        for (slot, block) in mapped.as_slice().chunks_exact(stride).enumerate() {
            kept.clear();
            if self.level(slot as u32).is_some() {
                let n = (block[0] as usize).min(self.m_max0);
                kept.extend(block[1..=n].iter().copied().filter(|&id| id != slot as u32 && self.level(id).is_some()));
            }
            owned.push(AtomicU32::new(kept.len() as u32));
            owned.extend(kept.iter().map(|&id| AtomicU32::new(id)));
            owned.resize_with((slot + 1) * stride, || AtomicU32::new(0));
        }
        owned.resize_with(self.levels.len() * stride, || AtomicU32::new(0));
        self.level0 = Layer0::Owned(owned);
    }

    /// The in-memory layer-0 words, copied out of the map first if needed.
    fn owned_level0(&mut self) -> &mut Vec<AtomicU32> {
        self.make_owned();
        match &mut self.level0 {
            Layer0::Owned(v) => v,
            Layer0::Mapped(_) => unreachable!("just made owned"),
        }
    }

    /// `M`.
    pub fn m(&self) -> usize {
        self.m
    }

    /// `M_max0`.
    pub fn m_max0(&self) -> usize {
        self.m_max0
    }

    /// One past the highest slot the arrays cover (what a visited set must span).
    #[inline]
    pub fn capacity(&self) -> usize {
        self.levels.len()
    }

    /// Nodes held, live or deleted.
    pub fn present(&self) -> usize {
        self.present
    }

    /// Live nodes.
    pub fn live(&self) -> usize {
        self.present - self.deleted.count()
    }

    /// Tombstoned nodes.
    pub fn deleted_count(&self) -> usize {
        self.deleted.count()
    }

    /// The tombstones.
    pub fn deleted(&self) -> &Bitset {
        &self.deleted
    }

    /// The top layer of `slot`, or `None` when the graph does not hold it.
    #[inline]
    pub fn level(&self, slot: u32) -> Option<u8> {
        match self.levels.get(slot as usize) {
            Some(&l) if l != ABSENT => Some(l),
            _ => None,
        }
    }

    /// Whether the graph holds `slot` and it is not deleted.
    pub fn is_live(&self, slot: u32) -> bool {
        self.level(slot).is_some() && !self.deleted.get(slot)
    }

    /// Whether `slot` is tombstoned.
    #[inline]
    pub fn is_deleted(&self, slot: u32) -> bool {
        self.deleted.get(slot)
    }

    /// The entry point.
    pub fn entry(&self) -> Option<Entry> {
        self.entry
    }

    /// Replaces the entry point.
    pub fn set_entry(&mut self, entry: Option<Entry>) {
        self.entry = entry;
    }

    /// Slots held, in increasing order.
    pub fn slots(&self) -> impl Iterator<Item = u32> + '_ {
        self.levels.iter().enumerate().filter(|(_, &l)| l != ABSENT).map(|(s, _)| s as u32)
    }

    /// Grows the per-slot arrays to cover slots `0..n`.
    pub fn reserve_slots(&mut self, n: usize) {
        if n <= self.levels.len() {
            return;
        }
        let stride0 = 1 + self.m_max0;
        self.levels.resize(n, ABSENT);
        self.upper_offset.resize(n, NO_UPPER);
        self.owned_level0().resize_with(n * stride0, || AtomicU32::new(0));
    }

    /// Adds `slot` with top layer `level` and empty lists. The caller links it afterwards (which
    /// writes layer 0, so mapped lists are copied into memory here).
    pub fn add_node(&mut self, slot: u32, level: u8) -> Result<()> {
        debug_assert!(level <= MAX_LEVEL);
        if self.level(slot).is_some() {
            return Err(Error::InvalidArgument(format!("slot {slot} is already in the index")));
        }
        self.make_owned();
        self.reserve_slots(slot as usize + 1);
        if level > 0 {
            let words = level as usize * (1 + self.m);
            let offset = u32::try_from(self.upper.len())
                .ok()
                .filter(|o| (*o as usize).checked_add(words).is_some_and(|e| e < NO_UPPER as usize))
                .ok_or_else(|| Error::InvalidArgument("hnsw upper-layer storage exceeds 4 Gi entries".into()))?;
            self.upper.resize_with(self.upper.len() + words, || AtomicU32::new(0));
            self.upper_offset[slot as usize] = offset;
        }
        self.levels[slot as usize] = level;
        self.present += 1;
        Ok(())
    }

    /// Tombstones `slot`; returns whether it was live.
    pub fn mark_deleted(&mut self, slot: u32) -> bool {
        self.level(slot).is_some() && self.deleted.set(slot)
    }

    /// Replaces the tombstones wholesale (loading).
    pub fn set_deleted(&mut self, deleted: Bitset) {
        self.deleted = deleted;
    }

    /// Capacity of a list on `level`: `M_max0` on layer 0, `M` above.
    #[inline]
    pub fn cap(&self, level: usize) -> usize {
        if level == 0 {
            self.m_max0
        } else {
            self.m
        }
    }

    /// The `[count, ids…]` block of `slot` on `level`. The node must hold that level, and layer 0
    /// must be in memory.
    #[inline]
    fn block(&self, slot: u32, level: usize) -> &[AtomicU32] {
        if level == 0 {
            let stride = 1 + self.m_max0;
            let start = slot as usize * stride;
            let words: &[AtomicU32] = match &self.level0 {
                Layer0::Owned(v) => v,
                Layer0::Mapped(_) => &[],
            };
            &words[start..start + stride]
        } else {
            let stride = 1 + self.m;
            let start = self.upper_offset[slot as usize] as usize + (level - 1) * stride;
            &self.upper[start..start + stride]
        }
    }

    /// Replaces `out` with the neighbours of `slot` on `level`. Safe to call while another thread
    /// rewrites the list (see the module docs); a read-modify-write must hold the node's lock.
    ///
    /// Mapped layer-0 lists are read as they are, except that the count is clamped to `M_max0`
    /// and ids that name no held slot are skipped (see the module docs).
    #[inline]
    pub fn read_links(&self, slot: u32, level: usize, out: &mut Vec<u32>) {
        out.clear();
        if let (0, Layer0::Mapped(words)) = (level, &self.level0) {
            let stride = 1 + self.m_max0;
            let start = slot as usize * stride;
            if let Some(block) = words.as_slice().get(start..start + stride) {
                let n = (block[0] as usize).min(self.m_max0);
                out.extend(block[1..=n].iter().copied().filter(|&id| self.level(id).is_some()));
            }
            return;
        }
        let block = self.block(slot, level);
        let n = (block[0].load(Acquire) as usize).min(block.len() - 1);
        out.extend(block[1..=n].iter().map(|a| a.load(Relaxed)));
    }

    /// Number of neighbours of `slot` on `level` (of a mapped list: its count, at most `M_max0`).
    pub fn link_count(&self, slot: u32, level: usize) -> usize {
        if let (0, Layer0::Mapped(words)) = (level, &self.level0) {
            let at = slot as usize * (1 + self.m_max0);
            return words.as_slice().get(at).map_or(0, |&c| (c as usize).min(self.m_max0));
        }
        self.block(slot, level)[0].load(Acquire) as usize
    }

    /// Replaces the neighbours of `slot` on `level` (at most the layer's capacity; extra ids are
    /// dropped). During a parallel build call it only under the node's lock. Layer 0 must be in
    /// memory ([`make_owned`](Self::make_owned), which adding a node does).
    pub fn write_links(&self, slot: u32, level: usize, ids: &[u32]) {
        if level == 0 && self.is_mapped() {
            debug_assert!(false, "layer-0 lists written while mapped");
            return;
        }
        let block = self.block(slot, level);
        let n = ids.len().min(block.len() - 1);
        for (a, &id) in block[1..=n].iter().zip(ids) {
            a.store(id, Relaxed);
        }
        block[0].store(n as u32, Release);
    }

    /// Heap bytes used by the structure.
    pub fn memory_bytes(&self) -> usize {
        let level0 = match &self.level0 {
            Layer0::Owned(v) => v.capacity() * 4,
            Layer0::Mapped(m) if m.is_mapped() => 0,
            Layer0::Mapped(m) => m.as_slice().len() * 4,
        };
        self.levels.capacity()
            + level0
            + self.upper_offset.capacity() * 4
            + self.upper.capacity() * 4
            + self.deleted.memory_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_levels_and_links() {
        let mut g = Graph::new(4, 8);
        assert_eq!(g.capacity(), 0);
        g.add_node(3, 0).unwrap();
        g.add_node(0, 2).unwrap();
        assert!(g.add_node(3, 1).is_err());
        assert_eq!(g.capacity(), 4);
        assert_eq!(g.present(), 2);
        assert_eq!((g.level(0), g.level(1), g.level(3), g.level(99)), (Some(2), None, Some(0), None));
        assert_eq!(g.slots().collect::<Vec<_>>(), vec![0, 3]);

        let mut buf = Vec::new();
        g.write_links(0, 0, &[3, 1, 2]);
        g.write_links(0, 1, &[3]);
        g.write_links(0, 2, &[5, 6, 7, 8, 9, 10]); // over capacity: truncated to M = 4
        g.read_links(0, 0, &mut buf);
        assert_eq!(buf, vec![3, 1, 2]);
        g.read_links(0, 1, &mut buf);
        assert_eq!(buf, vec![3]);
        g.read_links(0, 2, &mut buf);
        assert_eq!(buf, vec![5, 6, 7, 8]);
        g.read_links(3, 0, &mut buf);
        assert!(buf.is_empty());
        assert_eq!(g.link_count(0, 0), 3);
    }

    /// A graph of 4 slots (slot 2 not held; `M_max0` = 3) whose layer-0 words are `words`, as if
    /// mapped.
    fn mapped_graph(words: &[u32]) -> Graph {
        let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        let mut buf = vec![0u8; bytes.len() + 64];
        let off = buf.as_ptr().align_offset(64);
        buf[off..off + bytes.len()].copy_from_slice(&bytes);
        let shared = crate::format::SharedBytes::mapped(std::sync::Arc::new(buf), off..off + bytes.len()).unwrap();
        let words = MappedSlice::new(shared, 64).unwrap();
        Graph::from_parts(2, 3, vec![0, 1, ABSENT, 0], Layer0::Mapped(words)).unwrap()
    }

    #[test]
    fn mapped_layer0_is_read_defensively_and_copied_on_write() {
        #[rustfmt::skip]
        let words = [
            2, 1, 3, 0,            // slot 0: fine
            u32::MAX, 0, 2, 3,     // slot 1: count past M_max0, a link to a slot not held
            7, 7, 7, 7,            // slot 2: not held, never read
            3, 9, 3, u32::MAX,     // slot 3: ids past the slots, a link to itself
        ];
        let mut g = mapped_graph(&words);
        assert!(g.is_mapped() && g.memory_bytes() < 16 * 4 + 64, "{}", g.memory_bytes());
        assert_eq!((g.present(), g.capacity()), (3, 4));
        let mut buf = Vec::new();
        let mut lists = |g: &Graph| {
            (0..4u32)
                .map(|s| {
                    g.read_links(s, 0, &mut buf);
                    buf.clone()
                })
                .collect::<Vec<_>>()
        };
        let read = lists(&g);
        assert_eq!(read, vec![vec![1, 3], vec![0, 3], vec![], vec![3]]);
        assert_eq!(g.link_count(1, 0), 3);
        g.write_links(1, 1, &[0]); // upper layers are always in memory
        g.make_owned();
        assert!(!g.is_mapped());
        // The copy keeps what reads returned, without the self link.
        assert_eq!(lists(&g), vec![vec![1, 3], vec![0, 3], vec![], vec![]]);
        g.write_links(3, 0, &[0, 1]);
        g.add_node(2, 0).unwrap();
        g.read_links(3, 0, &mut buf);
        assert_eq!(buf, vec![0, 1]);
        g.read_links(1, 1, &mut buf);
        assert_eq!(buf, vec![0]);
        assert!(Graph::from_parts(2, 3, vec![0; 5], Layer0::Owned(Vec::new())).is_err(), "word count");
    }

    #[test]
    fn tombstones() {
        let mut g = Graph::new(4, 8);
        g.add_node(0, 0).unwrap();
        g.add_node(1, 0).unwrap();
        assert!(g.mark_deleted(1));
        assert!(!g.mark_deleted(1));
        assert!(!g.mark_deleted(7));
        assert_eq!((g.present(), g.live(), g.deleted_count()), (2, 1, 1));
        assert!(g.is_live(0) && !g.is_live(1) && g.is_deleted(1));
    }

    #[test]
    fn memory_grows_with_nodes() {
        let mut g = Graph::new(16, 32);
        let before = g.memory_bytes();
        for s in 0..100 {
            g.add_node(s, (s % 3) as u8).unwrap();
        }
        assert!(g.memory_bytes() >= before + 100 * 33 * 4);
    }
}

//! [`IdTable`]: every slot's id in one byte arena, and the id → slot index.
//!
//! A collection of a million vectors must not spend a hundred bytes per vector on its ids: one
//! `String` per record, a second cloned into a `HashMap<String, u32>` key, and the map's load
//! slack cost about that. Here the ids of all slots are appended to one `String` (`arena`), each
//! slot keeps only the `u64` end offset of its id (it starts where the previous slot's ends), a
//! bitset says which slots are live, and the index is a `hashbrown::HashTable<u32>` of live slots
//! whose equality compares the id bytes in the arena. Per vector that is the id's bytes, 8 bytes
//! of offset, one bit, and about 5–10 bytes of table (4 per bucket plus one control byte, at
//! 44–88 % load).
//!
//! Slots are appended only. Deleting tombstones a slot: it leaves the index and the live set, but
//! its bytes stay in the arena as dead bytes until the collection is rewritten from its live
//! records (`compact`, or reopening a saved file). Ids of live slots are unique; a deleted id can
//! be inserted again (it gets a new slot).

use std::hash::BuildHasher;

use hashbrown::{DefaultHashBuilder, HashTable};

/// Ids by slot and the id → slot index (see the module docs).
pub(crate) struct IdTable<S = DefaultHashBuilder> {
    /// Ids of every slot ever appended, back to back (dead slots' bytes included).
    arena: String,
    /// `ends[s]`: end of slot `s`'s id in `arena`; it starts at `ends[s - 1]` (0 for slot 0).
    ends: Vec<u64>,
    /// Bit `s`: slot `s` is live.
    live: Vec<u64>,
    live_count: usize,
    /// The slot of every live id.
    index: HashTable<u32>,
    hasher: S,
}

impl std::fmt::Debug for IdTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdTable").field("slots", &self.ends.len()).field("live", &self.live_count).finish()
    }
}

impl IdTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::with_hasher(DefaultHashBuilder::default())
    }

    /// An empty table with room for `slots` slots, `live` of them live, and `bytes` of ids.
    pub fn with_capacity(slots: usize, live: usize, bytes: usize) -> Self {
        let mut t = Self::new();
        t.arena.reserve_exact(bytes);
        t.ends.reserve_exact(slots);
        t.live.reserve_exact(slots.div_ceil(64));
        t.index = HashTable::with_capacity(live);
        t
    }
}

impl<S: BuildHasher> IdTable<S> {
    /// An empty table hashing ids with `hasher`.
    pub fn with_hasher(hasher: S) -> Self {
        IdTable {
            arena: String::new(),
            ends: Vec::new(),
            live: Vec::new(),
            live_count: 0,
            index: HashTable::new(),
            hasher,
        }
    }

    /// Slots, tombstones included.
    pub fn slots(&self) -> usize {
        self.ends.len()
    }

    /// Live slots.
    pub fn live_count(&self) -> usize {
        self.live_count
    }

    /// Whether `slot` holds a live id.
    pub fn is_live(&self, slot: u32) -> bool {
        self.live.get(slot as usize / 64).is_some_and(|w| w >> (slot % 64) & 1 == 1)
    }

    /// The id of a live `slot`.
    pub fn id(&self, slot: u32) -> Option<&str> {
        self.is_live(slot).then(|| stored(&self.arena, &self.ends, slot))
    }

    /// The slot of a live `id`.
    pub fn get(&self, id: &str) -> Option<u32> {
        let (arena, ends) = (&self.arena, &self.ends);
        self.index.find(self.hasher.hash_one(id), |&s| stored(arena, ends, s) == id).copied()
    }

    /// Whether `id` is live.
    pub fn contains(&self, id: &str) -> bool {
        self.get(id).is_some()
    }

    /// Makes room for `slots` more slots whose ids take `bytes` bytes in all, so that a bulk
    /// insert grows each buffer once (every smaller buffer a doubling frees stays resident in the
    /// allocator after the insert).
    pub fn reserve(&mut self, slots: usize, bytes: usize) {
        self.arena.reserve(bytes);
        self.ends.reserve(slots);
        self.live.reserve(slots.div_ceil(64) + 1);
        let (arena, ends, hasher) = (&self.arena, &self.ends, &self.hasher);
        self.index.reserve(slots, |&s| hasher.hash_one(stored(arena, ends, s)));
    }

    /// Appends a slot holding `id` (`None`: a tombstone, as read from a file) and returns it.
    /// A live `id` is refused with the slot that holds it; nothing is appended then.
    pub fn push(&mut self, id: Option<&str>) -> Result<u32, u32> {
        let slot = u32::try_from(self.ends.len()).expect("slot numbers are u32 (checked by the vector store)");
        if let Some(id) = id {
            let hash = self.hasher.hash_one(id);
            let (arena, ends) = (&self.arena, &self.ends);
            if let Some(&s) = self.index.find(hash, |&s| stored(arena, ends, s) == id) {
                return Err(s);
            }
            let hasher = &self.hasher;
            self.index.insert_unique(hash, slot, |&s| hasher.hash_one(stored(arena, ends, s)));
            self.arena.push_str(id);
            if slot.is_multiple_of(64) {
                self.live.push(0);
            }
            self.live[slot as usize / 64] |= 1 << (slot % 64);
            self.live_count += 1;
        } else if slot.is_multiple_of(64) {
            self.live.push(0);
        }
        self.ends.push(self.arena.len() as u64);
        Ok(slot)
    }

    /// Appends a slot like [`push`](Self::push) but leaves it out of the index: a bulk load
    /// (decoding a file) appends every slot this way, then calls [`index_all`](Self::index_all)
    /// before anything else.
    pub fn push_unindexed(&mut self, id: Option<&str>) {
        let slot = self.ends.len();
        if slot.is_multiple_of(64) {
            self.live.push(0);
        }
        if let Some(id) = id {
            self.arena.push_str(id);
            self.live[slot / 64] |= 1 << (slot % 64);
            self.live_count += 1;
        }
        self.ends.push(self.arena.len() as u64);
    }

    /// Indexes every live slot (after [`push_unindexed`](Self::push_unindexed)). A live id held
    /// by two slots is refused with the later one.
    ///
    /// Slots are inserted grouped by the region of the table their home bucket is in (a counting
    /// sort on the top bits of the bucket number), so the table is written front to back rather
    /// than at random: at a million ids, inserting in slot order missed the cache on every slot
    /// and took about twice as long.
    pub fn index_all(&mut self) -> Result<(), u32> {
        let (arena, ends, hasher) = (&self.arena, &self.ends, &self.hasher);
        let hashed: Vec<(u64, u32)> = self.live_slots().map(|s| (hasher.hash_one(stored(arena, ends, s)), s)).collect();
        let mut index = HashTable::with_capacity(hashed.len());
        // hashbrown's home bucket is `hash & (buckets - 1)`, and its capacity 7/8 of its buckets
        // (a wrong guess here would only cost speed). 2^11 regions: their insertion cursors fit
        // in the L2 cache, and a region of a million-id table is a few kilobytes.
        let bits = (index.capacity() / 7 * 8).next_power_of_two().trailing_zeros();
        let shift = bits.saturating_sub(11);
        let region = |h: u64| ((h & ((1 << bits) - 1)) >> shift) as usize;
        let mut starts = vec![0usize; (1 << (bits - shift)) + 1];
        for &(h, _) in &hashed {
            starts[region(h) + 1] += 1;
        }
        for i in 1..starts.len() {
            starts[i] += starts[i - 1];
        }
        let mut order = vec![(0u64, 0u32); hashed.len()];
        for &(h, s) in &hashed {
            let at = &mut starts[region(h)];
            order[*at] = (h, s);
            *at += 1;
        }
        drop(hashed);
        for (h, s) in order {
            // Ids are read only on a 7-bit tag match: reading every slot's id here would miss the
            // cache again (`order` is not in slot order).
            if let Some(&twin) = index.find(h, |&t| stored(arena, ends, t) == stored(arena, ends, s)) {
                return Err(s.max(twin));
            }
            index.insert_unique(h, s, |&t| hasher.hash_one(stored(arena, ends, t)));
        }
        self.index = index;
        Ok(())
    }

    /// Tombstones the slot of `id`; returns it (`None`: `id` is not live).
    #[cfg(test)]
    pub fn remove(&mut self, id: &str) -> Option<u32> {
        let (arena, ends) = (&self.arena, &self.ends);
        let entry = self.index.find_entry(self.hasher.hash_one(id), |&s| stored(arena, ends, s) == id).ok()?;
        let (slot, _) = entry.remove();
        self.live[slot as usize / 64] &= !(1 << (slot % 64));
        self.live_count -= 1;
        Some(slot)
    }

    /// Tombstones `slot` if it is live; returns whether it was.
    pub fn kill(&mut self, slot: u32) -> bool {
        if !self.is_live(slot) {
            return false;
        }
        let hash = self.hasher.hash_one(stored(&self.arena, &self.ends, slot));
        if let Ok(entry) = self.index.find_entry(hash, |&s| s == slot) {
            entry.remove();
        }
        self.live[slot as usize / 64] &= !(1 << (slot % 64));
        self.live_count -= 1;
        true
    }

    /// Live slots in increasing order.
    pub fn live_slots(&self) -> impl Iterator<Item = u32> + '_ {
        self.live.iter().enumerate().flat_map(|(wi, &w)| {
            let mut rest = w;
            std::iter::from_fn(move || {
                (rest != 0).then(|| {
                    let b = rest.trailing_zeros();
                    rest &= rest - 1;
                    (wi as u32) << 6 | b
                })
            })
        })
    }

    /// Live `(slot, id)` pairs in slot order.
    pub fn live_ids(&self) -> impl Iterator<Item = (u32, &str)> + '_ {
        self.live_slots().map(|s| (s, stored(&self.arena, &self.ends, s)))
    }

    /// Releases the arena's spare capacity.
    pub fn shrink_to_fit(&mut self) {
        self.arena.shrink_to_fit();
    }

    /// Heap bytes.
    pub fn memory_bytes(&self) -> usize {
        self.arena.capacity() + self.ends.capacity() * 8 + self.live.capacity() * 8 + self.index.allocation_size()
    }
}

/// The id stored for `slot` (live or not).
fn stored<'a>(arena: &'a str, ends: &[u64], slot: u32) -> &'a str {
    let s = slot as usize;
    let start = if s == 0 { 0 } else { ends[s - 1] as usize };
    &arena[start..ends[s] as usize]
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::hash::{BuildHasherDefault, Hasher};

    use proptest::prelude::*;

    use super::*;

    /// Every id hashes to the same value: lookups must still be exact.
    #[derive(Default)]
    struct Colliding;
    impl Hasher for Colliding {
        fn finish(&self) -> u64 {
            7
        }
        fn write(&mut self, _: &[u8]) {}
    }

    #[test]
    fn insert_lookup_delete_reinsert() {
        let mut t = IdTable::new();
        assert_eq!(t.push(Some("a")), Ok(0));
        assert_eq!(t.push(None), Ok(1));
        assert_eq!(t.push(Some("é-b")), Ok(2));
        assert_eq!(t.push(Some("a")), Err(0), "a live id is refused");
        assert_eq!((t.slots(), t.live_count()), (3, 2));
        assert_eq!(t.get("a"), Some(0));
        assert_eq!(t.get("é-b"), Some(2));
        assert_eq!(t.get("b"), None);
        assert_eq!((t.id(0), t.id(1), t.id(2), t.id(3)), (Some("a"), None, Some("é-b"), None));
        assert_eq!(t.remove("a"), Some(0));
        assert_eq!(t.remove("a"), None);
        assert!(!t.contains("a") && t.id(0).is_none());
        assert_eq!(t.push(Some("a")), Ok(3), "a deleted id can come back, in a new slot");
        assert_eq!(t.get("a"), Some(3));
        assert!(t.kill(2) && !t.kill(2) && !t.kill(1) && !t.kill(99));
        assert_eq!(t.live_ids().collect::<Vec<_>>(), vec![(3, "a")]);
        assert_eq!(t.live_count(), 1);
    }

    #[test]
    fn many_ids_across_bitset_words() {
        let mut t = IdTable::with_capacity(10, 10, 10);
        for i in 0..100_000u32 {
            let id = (!i.is_multiple_of(3)).then(|| format!("id-{i}"));
            assert_eq!(t.push(id.as_deref()), Ok(i));
        }
        for i in (0..100_000u32).step_by(5) {
            assert_eq!(t.remove(&format!("id-{i}")), (!i.is_multiple_of(3)).then_some(i));
        }
        for i in 0..100_000u32 {
            let live = !i.is_multiple_of(3) && !i.is_multiple_of(5);
            assert_eq!(t.get(&format!("id-{i}")), live.then_some(i), "{i}");
            assert_eq!(t.is_live(i), live);
        }
        let live: Vec<u32> = t.live_slots().collect();
        assert_eq!(live.len(), t.live_count());
        assert!(live.windows(2).all(|w| w[0] < w[1]));
        assert!(t.memory_bytes() > 0);
    }

    #[test]
    fn colliding_hashes_do_not_matter_for_correctness() {
        let mut t = IdTable::with_hasher(BuildHasherDefault::<Colliding>::default());
        for i in 0..500 {
            assert_eq!(t.push(Some(&i.to_string())), Ok(i));
        }
        assert_eq!(t.push(Some("42")), Err(42));
        assert_eq!(t.remove("42"), Some(42));
        assert_eq!(t.push(Some("42")), Ok(500));
        for i in 0..500u32 {
            let want = if i == 42 { 500 } else { i };
            assert_eq!(t.get(&i.to_string()), Some(want));
        }
        assert_eq!(t.get("500"), None);
    }

    #[test]
    fn a_bulk_load_indexes_like_pushes_and_refuses_a_live_twin() {
        let ids: Vec<Option<String>> =
            (0..20_000u32).map(|i| (!i.is_multiple_of(11)).then(|| format!("{}", i * 7919))).collect();
        let mut one = IdTable::new();
        let mut bulk = IdTable::with_capacity(ids.len(), ids.len(), 0);
        for id in &ids {
            one.push(id.as_deref()).unwrap();
            bulk.push_unindexed(id.as_deref());
        }
        bulk.index_all().unwrap();
        assert_eq!((bulk.slots(), bulk.live_count()), (one.slots(), one.live_count()));
        for (s, id) in ids.iter().enumerate() {
            assert_eq!(bulk.id(s as u32), id.as_deref());
            if let Some(id) = id {
                assert_eq!(bulk.get(id), Some(s as u32));
            }
        }
        assert_eq!(bulk.push(Some("7919")), Err(1));
        assert_eq!(bulk.push(Some("new")), Ok(20_000));
        // A tombstone may repeat a live id; a second live copy is refused with the later slot.
        for hasher_collides in [false, true] {
            let list = [Some("a"), Some("b"), None, Some("c"), Some("b"), Some("d")];
            let got = if hasher_collides {
                let mut t = IdTable::with_hasher(BuildHasherDefault::<Colliding>::default());
                list.iter().for_each(|id| t.push_unindexed(*id));
                t.index_all()
            } else {
                let mut t = IdTable::new();
                list.iter().for_each(|id| t.push_unindexed(*id));
                t.index_all()
            };
            assert_eq!(got, Err(4));
        }
        let mut empty = IdTable::new();
        empty.push_unindexed(None);
        assert_eq!(empty.index_all(), Ok(()));
        assert_eq!(empty.push(Some("x")), Ok(1));
    }

    #[derive(Debug, Clone)]
    enum Op {
        Push(Option<u8>),
        Remove(u8),
        Kill(u16),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => proptest::option::weighted(0.9, any::<u8>()).prop_map(Op::Push),
            2 => any::<u8>().prop_map(Op::Remove),
            1 => any::<u16>().prop_map(Op::Kill),
        ]
    }

    proptest! {
        /// Against a model: `HashMap<id, slot>` plus the ids by slot.
        #[test]
        fn behaves_like_a_hash_map(ops in proptest::collection::vec(op(), 0..400), colliding in any::<bool>()) {
            let mut fast = IdTable::new();
            let mut slow = IdTable::with_hasher(BuildHasherDefault::<Colliding>::default());
            let mut map: HashMap<String, u32> = HashMap::new();
            let mut by_slot: Vec<Option<String>> = Vec::new();
            // Ids of a few bytes and some much longer, with shared prefixes.
            let name = |x: u8| if x.is_multiple_of(7) { format!("{x}-{}", "long".repeat(x as usize)) } else { format!("v{x}") };
            for op in ops {
                match op {
                    Op::Push(x) => {
                        let id = x.map(name);
                        let want = match &id {
                            Some(id) if map.contains_key(id) => Err(map[id]),
                            _ => Ok(by_slot.len() as u32),
                        };
                        if want.is_ok() {
                            if let Some(id) = &id {
                                map.insert(id.clone(), by_slot.len() as u32);
                            }
                            by_slot.push(id.clone());
                        }
                        prop_assert_eq!(fast.push(id.as_deref()), want);
                        prop_assert_eq!(slow.push(id.as_deref()), want);
                    }
                    Op::Remove(x) => {
                        let id = name(x);
                        let want = map.remove(&id);
                        if let Some(s) = want {
                            by_slot[s as usize] = None;
                        }
                        prop_assert_eq!(fast.remove(&id), want);
                        prop_assert_eq!(slow.remove(&id), want);
                    }
                    Op::Kill(s) => {
                        let want = by_slot.get(s as usize).cloned().flatten();
                        if let Some(id) = &want {
                            map.remove(id);
                            by_slot[s as usize] = None;
                        }
                        let s = s as u32;
                        prop_assert_eq!(if colliding { slow.kill(s) } else { fast.kill(s) }, want.is_some());
                        prop_assert_eq!(if colliding { fast.kill(s) } else { slow.kill(s) }, want.is_some());
                    }
                }
            }
            for t in [&fast as &dyn Probe, &slow] {
                prop_assert_eq!(t.counts(), (by_slot.len(), map.len()));
                for (id, &s) in &map {
                    prop_assert_eq!(t.get(id), Some(s));
                }
                for (s, id) in by_slot.iter().enumerate() {
                    prop_assert_eq!(t.id(s as u32), id.clone());
                }
                let live: Vec<u32> = by_slot.iter().enumerate().filter(|(_, id)| id.is_some()).map(|(s, _)| s as u32).collect();
                prop_assert_eq!(t.live(), live);
            }
        }
    }

    /// Both hashers' tables through one interface.
    trait Probe {
        fn counts(&self) -> (usize, usize);
        fn get(&self, id: &str) -> Option<u32>;
        fn id(&self, slot: u32) -> Option<String>;
        fn live(&self) -> Vec<u32>;
    }
    impl<S: BuildHasher> Probe for IdTable<S> {
        fn counts(&self) -> (usize, usize) {
            (self.slots(), self.live_count())
        }
        fn get(&self, id: &str) -> Option<u32> {
            IdTable::get(self, id)
        }
        fn id(&self, slot: u32) -> Option<String> {
            IdTable::id(self, slot).map(str::to_string)
        }
        fn live(&self) -> Vec<u32> {
            self.live_slots().collect()
        }
    }
}

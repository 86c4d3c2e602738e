//! The exact index, registered as `flat`: scores every live slot for every query.
//!
//! It is the baseline the approximate indexes are measured against, the ground truth in tests,
//! and the right choice for small collections (up to a few thousand vectors a scan beats building
//! a graph). Scoring goes through [`VectorSource::score_exact`] in chunks of
//! [`CHUNK`](super::topk::CHUNK) slots, with a bounded heap of the best `k`.

use super::bitset::Bitset;
use super::topk::scan_top_k;
use crate::{Candidate, Error, Index, IndexFactory, IndexSearch, PreparedQuery, Result, SearchStats, VectorSource};

/// Registry id.
pub const ID: &str = "flat";
/// Version of the serialised form.
pub const FORMAT_VERSION: u32 = 1;
const MAGIC: &[u8; 4] = b"FLAT";
const WHAT: &str = "flat index";

/// An exact index: the set of indexed slots and their tombstones.
#[derive(Debug, Default)]
pub struct Flat {
    dim: usize,
    indexed: Bitset,
    deleted: Bitset,
}

impl Flat {
    /// An empty index for `dim`-dimensional vectors.
    pub fn new(dim: usize) -> Self {
        Flat { dim, ..Default::default() }
    }

    fn live(&self) -> impl Iterator<Item = u32> + '_ {
        self.indexed.iter().filter(|&s| !self.deleted.get(s))
    }
}

impl Index for Flat {
    fn id(&self) -> &str {
        ID
    }

    fn is_exact(&self) -> bool {
        true
    }

    fn params(&self) -> serde_json::Value {
        serde_json::json!({})
    }

    fn len(&self) -> usize {
        self.indexed.count() - self.deleted.count()
    }

    fn insert(&mut self, slot: u32, source: &dyn VectorSource) -> Result<()> {
        if slot as usize >= source.slot_count() {
            return Err(Error::InvalidArgument(format!("slot {slot} is not in the vector source")));
        }
        if !self.indexed.set(slot) {
            return Err(Error::InvalidArgument(format!("slot {slot} is already in the index")));
        }
        Ok(())
    }

    fn delete(&mut self, slot: u32) -> Result<()> {
        if !self.indexed.get(slot) {
            return Err(Error::InvalidArgument(format!("slot {slot} is not in the index")));
        }
        self.deleted.set(slot);
        Ok(())
    }

    fn contains(&self, slot: u32) -> bool {
        self.indexed.get(slot) && !self.deleted.get(slot)
    }

    fn search(
        &self,
        query: &PreparedQuery,
        params: &IndexSearch<'_>,
        source: &dyn VectorSource,
        stats: &mut SearchStats,
    ) -> Result<Vec<Candidate>> {
        if query.vector.len() != self.dim {
            return Err(Error::DimensionMismatch { expected: self.dim, got: query.vector.len() });
        }
        super::check_covers(self.indexed.last().map_or(0, |s| s as usize + 1), source)?;
        let slots = self.live().filter(|&s| params.filter.is_none_or(|f| f(s)));
        Ok(scan_top_k(slots, params.k, query, source, true, stats))
    }

    fn save(&self, out: &mut Vec<u8>) -> Result<()> {
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&(self.dim as u32).to_le_bytes());
        for set in [&self.indexed, &self.deleted] {
            out.extend_from_slice(&(set.words().len() as u32).to_le_bytes());
            for w in set.words() {
                out.extend_from_slice(&w.to_le_bytes());
            }
        }
        Ok(())
    }

    fn memory_bytes(&self) -> usize {
        std::mem::size_of::<Self>() + self.indexed.memory_bytes() + self.deleted.memory_bytes()
    }
}

/// Reads what [`Flat::save`] wrote.
fn read(dim: usize, bytes: &[u8]) -> Result<Flat> {
    let bad = |off: usize, d: &str| Error::corrupted(WHAT, off as u64, d);
    let u32_at = |off: usize| -> Result<u32> {
        bytes
            .get(off..off + 4)
            .map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")))
            .ok_or_else(|| bad(off, "truncated"))
    };
    if bytes.get(..4) != Some(MAGIC) {
        return Err(bad(0, "bad magic (not a flat index)"));
    }
    let version = u32_at(4)?;
    if version != FORMAT_VERSION {
        return Err(Error::UnsupportedVersion { found: version, supported: FORMAT_VERSION });
    }
    if u32_at(8)? as usize != dim {
        return Err(bad(8, &format!("index was saved for {} dimensions, the collection has {dim}", u32_at(8)?)));
    }
    let mut off = 12;
    let mut sets = Vec::with_capacity(2);
    for _ in 0..2 {
        let n = u32_at(off)? as usize;
        off += 4;
        let raw = bytes.get(off..).filter(|r| r.len() / 8 >= n).ok_or_else(|| bad(off, "truncated bitset"))?;
        let words = raw[..n * 8].chunks_exact(8).map(|w| u64::from_le_bytes(w.try_into().expect("8 bytes")));
        sets.push(Bitset::from_words(words.collect()));
        off += n * 8;
    }
    if off != bytes.len() {
        return Err(bad(off, "trailing bytes"));
    }
    let deleted = sets.pop().expect("two sets");
    let indexed = sets.pop().expect("two sets");
    if let Some(s) = deleted.iter().find(|&s| !indexed.get(s)) {
        return Err(bad(off, &format!("tombstone on slot {s}, which is not indexed")));
    }
    Ok(Flat { dim, indexed, deleted })
}

/// Creates and loads [`Flat`] indexes. It takes no parameters: anything but `{}` or `null` is an
/// error.
#[derive(Debug, Default, Clone, Copy)]
pub struct FlatFactory;

fn check_params(params: &serde_json::Value) -> Result<()> {
    match params {
        serde_json::Value::Null => Ok(()),
        serde_json::Value::Object(o) if o.is_empty() => Ok(()),
        serde_json::Value::Object(o) => Err(Error::InvalidConfig(format!(
            "the flat index takes no parameters (got {})",
            o.keys().cloned().collect::<Vec<_>>().join(", ")
        ))),
        other => Err(Error::InvalidConfig(format!("flat index parameters must be a JSON object, got {other}"))),
    }
}

impl IndexFactory for FlatFactory {
    fn id(&self) -> &str {
        ID
    }

    fn version(&self) -> u32 {
        FORMAT_VERSION
    }

    fn create(&self, dim: usize, params: &serde_json::Value) -> Result<Box<dyn Index>> {
        check_params(params)?;
        Ok(Box::new(Flat::new(dim)))
    }

    fn load(&self, dim: usize, params: &serde_json::Value, bytes: &[u8]) -> Result<Box<dyn Index>> {
        check_params(params)?;
        Ok(Box::new(read(dim, bytes)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::testing::PointSource;

    fn brute(src: &PointSource, q: &[f32], k: usize, keep: impl Fn(u32) -> bool) -> Vec<u32> {
        let mut all: Vec<(f32, u32)> = (0..src.slot_count() as u32)
            .filter(|&s| keep(s))
            .map(|s| (src.point(s).iter().zip(q).map(|(a, b)| (a - b) * (a - b)).sum(), s))
            .collect();
        all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        all.into_iter().take(k).map(|x| x.1).collect()
    }

    #[test]
    fn exact_with_tombstones_and_filter() {
        let src = PointSource::random(700, 6, 11);
        let mut f = FlatFactory.create(6, &serde_json::json!({})).unwrap();
        for s in 0..700 {
            f.insert(s, &src).unwrap();
        }
        for s in (0..700).step_by(3) {
            f.delete(s).unwrap();
        }
        f.delete(0).unwrap(); // idempotent
        assert!(f.delete(5000).is_err());
        assert!(f.insert(1, &src).is_err());
        assert!(f.insert(700, &src).is_err());
        assert_eq!(f.len(), 700 - 234);
        assert!(!f.contains(3) && f.contains(4));
        let even = |s: u32| s & 1 == 0;
        for qi in 0..10 {
            let q = src.prepare(src.point(qi * 7 + 1));
            let mut st = SearchStats::default();
            let got = f.search(&q, &IndexSearch { k: 10, ef: 0, filter: None }, &src, &mut st).unwrap();
            let got: Vec<u32> = got.iter().map(|c| c.slot).collect();
            assert_eq!(got, brute(&src, &q.vector, 10, |s| s % 3 != 0));
            let p = IndexSearch { k: 10, ef: 0, filter: Some(&even) };
            let got: Vec<u32> = f.search(&q, &p, &src, &mut st).unwrap().iter().map(|c| c.slot).collect();
            assert_eq!(got, brute(&src, &q.vector, 10, |s| s % 3 != 0 && s % 2 == 0));
        }
    }

    #[test]
    fn save_load_and_corruption() {
        let src = PointSource::random(100, 2, 1);
        let mut f = Flat::new(2);
        for s in 0..100 {
            f.insert(s, &src).unwrap();
        }
        f.delete(42).unwrap();
        let mut bytes = Vec::new();
        f.save(&mut bytes).unwrap();
        let g = FlatFactory.load(2, &serde_json::Value::Null, &bytes).unwrap();
        assert_eq!(g.len(), 99);
        assert!(!g.contains(42) && g.contains(41));
        for len in 0..bytes.len() {
            assert!(FlatFactory.load(2, &serde_json::json!({}), &bytes[..len]).is_err());
        }
        assert!(FlatFactory.load(3, &serde_json::json!({}), &bytes).is_err());
        assert!(FlatFactory.create(2, &serde_json::json!({"m": 3})).is_err());
        assert!(FlatFactory.create(2, &serde_json::json!(7)).is_err());
    }
}

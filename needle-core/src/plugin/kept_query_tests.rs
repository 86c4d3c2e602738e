//! A Rust index plugin that keeps a prepared query past the vtable call that made it, and one
//! that forges a query slot: both must score from the query's own vector, never reach a freed or
//! made-up host query (issue 16: the SDK once hid the host pointer in `PreparedQuery::code`).
//! Run under Miri too: `cargo miri test -p needle-core --lib plugin::kept_query_tests`.

use std::sync::{Arc, OnceLock};

use super::abi::PluginDescriptor;
use super::foreign::Component;
use super::sdk::{export_index, Exported};
use crate::arena::{Scorer, VectorStore};
use crate::distance::EuclideanDistance;
use crate::traits::{Candidate, Index, IndexFactory, IndexSearch, PreparedQuery, QuerySlot, SearchStats, VectorSource};
use crate::{Distance, Error, Result};

/// Keeps the first slot's prepared query from `insert` and searches with it later.
#[derive(Debug, Default)]
struct Keeper {
    slots: Vec<u32>,
    kept: Option<PreparedQuery>,
}

impl Index for Keeper {
    fn id(&self) -> &str {
        "keeper"
    }
    fn params(&self) -> serde_json::Value {
        serde_json::json!({})
    }
    fn len(&self) -> usize {
        self.slots.len()
    }
    fn insert(&mut self, slot: u32, source: &dyn VectorSource) -> Result<()> {
        if self.kept.is_none() {
            self.kept = Some(source.prepare_slot(slot));
        }
        self.slots.push(slot);
        Ok(())
    }
    fn delete(&mut self, slot: u32) -> Result<()> {
        self.slots.retain(|&s| s != slot);
        Ok(())
    }
    fn contains(&self, slot: u32) -> bool {
        self.slots.contains(&slot)
    }
    fn search(
        &self,
        _query: &PreparedQuery,
        params: &IndexSearch<'_>,
        source: &dyn VectorSource,
        _stats: &mut SearchStats,
    ) -> Result<Vec<Candidate>> {
        let kept = self.kept.as_ref().ok_or_else(|| Error::Internal("nothing kept".into()))?;
        let mut out = vec![0.0; self.slots.len()];
        source.score(kept, &self.slots, &mut out);
        // A slot naming another source's table entry (or nothing) must score like the vector.
        let forged = PreparedQuery { vector: kept.vector.clone(), slot: QuerySlot::new(1, 0), ..Default::default() };
        let mut again = vec![0.0; self.slots.len()];
        source.score(&forged, &self.slots, &mut again);
        if out != again {
            return Err(Error::Internal(format!("forged slot scored {again:?}, kept {out:?}")));
        }
        let mut hits: Vec<Candidate> =
            self.slots.iter().zip(out).map(|(&slot, distance)| Candidate { slot, distance }).collect();
        hits.sort_by(|a, b| a.distance.total_cmp(&b.distance));
        hits.truncate(params.k);
        Ok(hits)
    }
    fn save(&self, _out: &mut Vec<u8>) -> Result<()> {
        Ok(())
    }
    fn memory_bytes(&self) -> usize {
        0
    }
}

#[derive(Debug)]
struct KeeperFactory;

impl IndexFactory for KeeperFactory {
    fn id(&self) -> &str {
        "keeper"
    }
    fn version(&self) -> u32 {
        1
    }
    fn create(&self, _dim: usize, _params: &serde_json::Value) -> Result<Box<dyn Index>> {
        Ok(Box::new(Keeper::default()))
    }
    fn load(&self, _dim: usize, _params: &serde_json::Value, _bytes: &[u8]) -> Result<Box<dyn Index>> {
        Ok(Box::new(Keeper::default()))
    }
}

extern "C" fn keeper_entry() -> *const PluginDescriptor {
    static E: OnceLock<Exported> = OnceLock::new();
    E.get_or_init(|| export_index(KeeperFactory, "keeps prepared queries")).descriptor()
}

#[test]
fn a_prepared_query_kept_past_its_call_scores_from_its_vector() {
    // SAFETY: the entry is made by the SDK, which follows the ABI.
    let h: Arc<_> = unsafe { super::loader::in_process(keeper_entry) }.unwrap();
    let Component::Index(f) = h.component() else { panic!("not an index") };
    let (dim, n) = (4, 6u32);
    let rows: Vec<Vec<f32>> = (0..n).map(|i| (0..dim).map(|j| (i * 3 + j as u32) as f32 * 0.5).collect()).collect();
    let mut store = VectorStore::new(dim, false);
    rows.iter().for_each(|r| {
        store.push(r, None);
    });
    let dist = EuclideanDistance::new();
    let scorer = Scorer::new(&store, &dist, None);
    let mut ix = f.create(dim, &serde_json::json!({})).unwrap();
    // One vtable call per insert: the query prepared in the first is freed when it returns.
    for s in 0..n {
        ix.insert(s, &scorer).unwrap();
    }
    let q = scorer.prepare(&rows[3]);
    let hits = ix.search(&q, &IndexSearch { k: n as usize, ef: 0, filter: None }, &scorer, &mut SearchStats::default());
    let hits = hits.unwrap();
    let ids: Vec<u32> = (0..n).collect();
    let mut want = vec![0.0; n as usize];
    dist.distances_to_ids(&rows[0], 0.0, &store.rows(), &ids, &mut want);
    assert_eq!(hits.len(), n as usize);
    assert_eq!(hits[0], Candidate { slot: 0, distance: 0.0 });
    for h in &hits {
        assert_eq!(h.distance, want[h.slot as usize], "slot {}", h.slot);
    }
}

//! [`IvfIndex`] and its factory.

use needle_core::format::ByteCursor;
use needle_core::{
    Candidate, Error, Index, IndexFactory, IndexSearch, PreparedQuery, Result, SearchStats, VectorSource,
};

/// Registry id.
pub const IVF_ID: &str = "ivf";
/// Version of the saved form.
pub const IVF_VERSION: u32 = 1;
const MAGIC: &[u8; 4] = b"NIVF";
const NONE: u32 = u32::MAX;

/// Makes [`IvfIndex`]es.
#[derive(Debug, Clone, Copy, Default)]
pub struct IvfFactory;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Params {
    nlist: u32,
    probe_factor: u32,
    train_at: u32,
}

impl Params {
    fn parse(v: &serde_json::Value) -> Result<Params> {
        let mut p = Params { nlist: 0, probe_factor: 16, train_at: 256 };
        let Some(obj) = v.as_object() else {
            return if v.is_null() {
                Ok(p)
            } else {
                Err(Error::InvalidConfig("ivf: parameters must be an object".into()))
            };
        };
        for (k, v) in obj {
            let n = v.as_u64().filter(|&n| n <= u32::MAX as u64).map(|n| n as u32);
            match (k.as_str(), n) {
                ("nlist", Some(n)) => p.nlist = n,
                ("probe_factor", Some(n)) if n > 0 => p.probe_factor = n,
                ("train_at", Some(n)) if n > 0 => p.train_at = n,
                _ => return Err(Error::InvalidConfig(format!("ivf: unknown or invalid parameter '{k}': {v}"))),
            }
        }
        Ok(p)
    }
}

/// An inverted-file index over slots.
#[derive(Debug, Clone)]
pub struct IvfIndex {
    params: Params,
    /// List heads (slots); empty means one list holding everything.
    heads: Vec<u32>,
    /// Members of each list (`max(1, heads.len())` lists); tombstoned slots linger until a rebuild.
    lists: Vec<Vec<u32>>,
    /// Slot → its list, or NONE.
    list_of: Vec<u32>,
    /// Slot → tombstoned.
    deleted: Vec<bool>,
    live: usize,
    /// Live count at the last rebuild (0 = never built).
    built_at: usize,
}

fn argmin(d: &[f32]) -> usize {
    d.iter().enumerate().fold((0, f32::INFINITY), |b, (i, &x)| if x < b.1 { (i, x) } else { b }).0
}

impl IvfIndex {
    fn new(params: Params) -> Self {
        IvfIndex {
            params,
            heads: Vec::new(),
            lists: vec![Vec::new()],
            list_of: Vec::new(),
            deleted: Vec::new(),
            live: 0,
            built_at: 0,
        }
    }

    /// Number of lists.
    pub fn nlist(&self) -> usize {
        self.lists.len()
    }

    fn is_live(&self, slot: u32) -> bool {
        let s = slot as usize;
        s < self.list_of.len() && self.list_of[s] != NONE && !self.deleted[s]
    }

    fn nearest_list(&self, q: &PreparedQuery, source: &dyn VectorSource) -> usize {
        if self.heads.is_empty() {
            return 0;
        }
        let mut d = vec![0f32; self.heads.len()];
        source.score(q, &self.heads, &mut d);
        argmin(&d)
    }

    fn rebuild(&mut self, source: &dyn VectorSource) {
        let live: Vec<u32> = (0..self.list_of.len() as u32).filter(|&s| self.is_live(s)).collect();
        let n = live.len();
        let nlist = if self.params.nlist > 0 { self.params.nlist as usize } else { (n as f64).sqrt().round() as usize };
        let nlist = nlist.clamp(1, n.max(1));
        self.heads = (0..nlist).map(|i| live[i * n / nlist]).collect();
        self.lists = vec![Vec::new(); nlist];
        for s in &mut self.list_of {
            *s = NONE;
        }
        for &slot in &live {
            let l = self.nearest_list(&source.prepare_slot(slot), source);
            self.lists[l].push(slot);
            self.list_of[slot as usize] = l as u32;
        }
        self.built_at = n;
    }
}

impl IndexFactory for IvfFactory {
    fn id(&self) -> &str {
        IVF_ID
    }
    fn version(&self) -> u32 {
        IVF_VERSION
    }
    fn create(&self, _dim: usize, params: &serde_json::Value) -> Result<Box<dyn Index>> {
        Ok(Box::new(IvfIndex::new(Params::parse(params)?)))
    }
    fn load(&self, _dim: usize, params: &serde_json::Value, bytes: &[u8]) -> Result<Box<dyn Index>> {
        Params::parse(params)?;
        let mut r = ByteCursor::new(bytes, "ivf index");
        if r.take(4, "magic")? != MAGIC {
            return Err(r.error_at(0, "bad magic"));
        }
        let version = r.u32("version")?;
        if version != IVF_VERSION {
            return Err(r.error_at(4, format!("saved by version {version}")));
        }
        let params = Params {
            nlist: r.u32("nlist")?,
            probe_factor: r.u32("probe_factor")?.max(1),
            train_at: r.u32("train_at")?.max(1),
        };
        let built_at = r.u32("built_at")? as usize;
        let n_heads = r.u32("list count")? as usize;
        let slots = r.u32("slot count")? as usize;
        if n_heads > slots || bytes.len() != 4 + 4 * 7 + 4 * n_heads + 5 * slots {
            return Err(r.error("lengths do not match"));
        }
        let heads = (0..n_heads).map(|_| r.u32("list head")).collect::<Result<Vec<_>>>()?;
        if heads.iter().any(|&h| h as usize >= slots) {
            return Err(r.error("list head out of range"));
        }
        let mut ix = IvfIndex::new(params);
        ix.heads = heads;
        ix.lists = vec![Vec::new(); n_heads.max(1)];
        ix.built_at = built_at;
        for slot in 0..slots {
            let at = r.offset();
            let l = r.u32("slot list")?;
            let del = r.u8("slot deleted flag")?;
            if l != NONE && l as usize >= ix.lists.len() || del > 1 {
                return Err(r.error_at(at, "slot entry out of range"));
            }
            ix.list_of.push(l);
            ix.deleted.push(del == 1);
            if l != NONE {
                ix.lists[l as usize].push(slot as u32);
                if del == 0 {
                    ix.live += 1;
                }
            }
        }
        Ok(Box::new(ix))
    }
}

impl Index for IvfIndex {
    fn id(&self) -> &str {
        IVF_ID
    }
    fn params(&self) -> serde_json::Value {
        serde_json::json!({
            "nlist": self.params.nlist,
            "probe_factor": self.params.probe_factor,
            "train_at": self.params.train_at,
        })
    }
    fn len(&self) -> usize {
        self.live
    }
    fn insert(&mut self, slot: u32, source: &dyn VectorSource) -> Result<()> {
        let s = slot as usize;
        if s >= source.slot_count() {
            return Err(Error::InvalidArgument(format!("ivf: slot {slot} is not in the store")));
        }
        if s < self.list_of.len() && self.list_of[s] != NONE {
            return Err(Error::InvalidArgument(format!("ivf: slot {slot} is already indexed")));
        }
        if s >= self.list_of.len() {
            self.list_of.resize(s + 1, NONE);
            self.deleted.resize(s + 1, false);
        }
        let l = if self.heads.is_empty() { 0 } else { self.nearest_list(&source.prepare_slot(slot), source) };
        self.lists[l].push(slot);
        self.list_of[s] = l as u32;
        self.deleted[s] = false;
        self.live += 1;
        if self.live >= self.params.train_at as usize && self.live >= 2 * self.built_at {
            self.rebuild(source);
        }
        Ok(())
    }
    fn delete(&mut self, slot: u32) -> Result<()> {
        if self.is_live(slot) {
            self.deleted[slot as usize] = true;
            self.live -= 1;
        }
        Ok(())
    }
    fn contains(&self, slot: u32) -> bool {
        self.is_live(slot)
    }
    fn search(
        &self,
        query: &PreparedQuery,
        params: &IndexSearch<'_>,
        source: &dyn VectorSource,
        stats: &mut SearchStats,
    ) -> Result<Vec<Candidate>> {
        if params.k == 0 || self.live == 0 {
            return Ok(Vec::new());
        }
        let mut order: Vec<(f32, usize)> = vec![(0.0, 0)];
        if !self.heads.is_empty() {
            let mut d = vec![0f32; self.heads.len()];
            source.score(query, &self.heads, &mut d);
            stats.distance_computations += d.len() as u64;
            order = d.into_iter().enumerate().map(|(i, x)| (x, i)).collect();
            order.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        }
        let budget = params.ef.max(params.k).saturating_mul(self.params.probe_factor as usize);
        let mut found: Vec<Candidate> = Vec::new();
        let (mut scanned, mut slots, mut dist) = (0usize, Vec::new(), Vec::new());
        for &(_, l) in &order {
            slots.clear();
            slots.extend(
                self.lists[l]
                    .iter()
                    .copied()
                    .filter(|&s| !self.deleted[s as usize] && params.filter.is_none_or(|f| f(s))),
            );
            dist.resize(slots.len(), 0.0);
            source.score(query, &slots, &mut dist);
            stats.nodes_visited += 1;
            stats.distance_computations += slots.len() as u64;
            scanned += slots.len();
            found.extend(slots.iter().zip(&dist).map(|(&slot, &distance)| Candidate { slot, distance }));
            if scanned >= budget && found.len() >= params.k {
                break;
            }
        }
        found.sort_by(|a, b| a.distance.total_cmp(&b.distance).then(a.slot.cmp(&b.slot)));
        found.truncate(params.k);
        Ok(found)
    }
    fn save(&self, out: &mut Vec<u8>) -> Result<()> {
        out.extend_from_slice(MAGIC);
        for v in [
            IVF_VERSION,
            self.params.nlist,
            self.params.probe_factor,
            self.params.train_at,
            self.built_at as u32,
            self.heads.len() as u32,
            self.list_of.len() as u32,
        ] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        for h in &self.heads {
            out.extend_from_slice(&h.to_le_bytes());
        }
        for (l, d) in self.list_of.iter().zip(&self.deleted) {
            out.extend_from_slice(&l.to_le_bytes());
            out.push(u8::from(*d));
        }
        Ok(())
    }
    fn memory_bytes(&self) -> usize {
        self.list_of.capacity() * 5
            + self.heads.capacity() * 4
            + self.lists.iter().map(|l| l.capacity() * 4 + 24).sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_and_corrupt_input() {
        assert!(Params::parse(&serde_json::json!({"nlist": 4, "probe_factor": 2})).is_ok());
        assert!(Params::parse(&serde_json::json!({"m": 4})).is_err());
        assert!(Params::parse(&serde_json::json!({"probe_factor": 0})).is_err());
        let ix = IvfIndex::new(Params::parse(&serde_json::json!({})).unwrap());
        let mut b = Vec::new();
        ix.save(&mut b).unwrap();
        assert!(IvfFactory.load(4, &serde_json::json!({}), &b).is_ok());
        for cut in 0..b.len() {
            assert!(IvfFactory.load(4, &serde_json::json!({}), &b[..cut]).is_err());
        }
        let mut evil = b.clone();
        evil[4 * 6..4 * 6 + 4].copy_from_slice(&5u32.to_le_bytes()); // heads > slots
        assert!(IvfFactory.load(4, &serde_json::json!({}), &evil).is_err());
    }
}

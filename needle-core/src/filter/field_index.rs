//! Per-field value indexes: for every dotted path that occurs in the documents, sorted posting
//! lists of the slots holding each value (numbers and strings in ordered maps for range queries,
//! booleans, nulls, presence). [`FieldIndex::matching`] turns a [`Filter`] into the exact set of
//! matching live slots mostly by merging posting lists; only values an index cannot answer
//! (strings longer than [`MAX_INDEXED_STRING`] bytes, equality with arrays or objects) are checked
//! by evaluating the few documents that hold such values.
//!
//! Every path is indexed automatically (no schema); keys containing a dot are skipped, which
//! matches evaluation (a dotted path can never address them).

use std::collections::{BTreeMap, HashMap};
use std::ops::{Bound as RangeBound, Deref};

use serde_json::Value;

use super::eval::op_holds;
use super::{Bound, CmpOp, FieldCond, Filter, Op, SlotSet};

/// Strings up to this many bytes go into the value index; longer ones (free text) are evaluated.
pub const MAX_INDEXED_STRING: usize = 64;

/// An `f64` with a total order (−0 folded into +0, so equal numbers share a key).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Num(f64);

impl Num {
    fn new(x: f64) -> Num {
        Num(if x == 0.0 { 0.0 } else { x })
    }
}
impl Eq for Num {}
impl PartialOrd for Num {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Num {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// The posting lists of one path. Every list is sorted and holds a slot at most once.
#[derive(Debug, Default)]
struct Postings {
    present: Vec<u32>,
    numbers: BTreeMap<Num, Vec<u32>>,
    strings: BTreeMap<Box<str>, Vec<u32>>,
    bools: [Vec<u32>; 2],
    nulls: Vec<u32>,
    /// Slots with a string longer than `MAX_INDEXED_STRING` here (as the value or an element).
    long: Vec<u32>,
    /// Slots whose value here is an array or an object.
    composite: Vec<u32>,
}

fn add(list: &mut Vec<u32>, slot: u32) {
    match list.last() {
        Some(&l) if l >= slot => {
            if let Err(at) = list.binary_search(&slot) {
                list.insert(at, slot);
            }
        }
        _ => list.push(slot),
    }
}

fn del(list: &mut Vec<u32>, slot: u32) {
    if let Ok(at) = list.binary_search(&slot) {
        list.remove(at);
    }
}

fn touch(list: &mut Vec<u32>, slot: u32, insert: bool) {
    if insert {
        add(list, slot)
    } else {
        del(list, slot)
    }
}

fn touch_map<K: Ord>(map: &mut BTreeMap<K, Vec<u32>>, key: K, slot: u32, insert: bool) {
    if insert {
        add(map.entry(key).or_default(), slot);
    } else if let Some(list) = map.get_mut(&key) {
        del(list, slot);
        if list.is_empty() {
            map.remove(&key);
        }
    }
}

impl Postings {
    fn scalar(&mut self, v: &Value, slot: u32, insert: bool) {
        match v {
            Value::Null => touch(&mut self.nulls, slot, insert),
            Value::Bool(b) => touch(&mut self.bools[*b as usize], slot, insert),
            Value::Number(n) => {
                if let Some(x) = n.as_f64() {
                    touch_map(&mut self.numbers, Num::new(x), slot, insert)
                }
            }
            Value::String(s) if s.len() <= MAX_INDEXED_STRING => {
                touch_map(&mut self.strings, Box::<str>::from(s.as_str()), slot, insert)
            }
            Value::String(_) => touch(&mut self.long, slot, insert),
            Value::Array(_) | Value::Object(_) => {}
        }
    }

    fn is_empty(&self) -> bool {
        self.present.is_empty()
    }

    fn memory_bytes(&self) -> usize {
        let n: usize = self.numbers.values().map(|l| l.capacity() * 4 + 48).sum();
        let s: usize = self.strings.iter().map(|(k, l)| k.len() + l.capacity() * 4 + 64).sum();
        let lists = [&self.present, &self.bools[0], &self.bools[1], &self.nulls, &self.long, &self.composite];
        lists.iter().map(|l| l.capacity() * 4).sum::<usize>() + n + s
    }
}

/// Value indexes over every field path of the documents of a collection, by slot.
#[derive(Debug, Default)]
pub struct FieldIndex {
    live: SlotSet,
    fields: HashMap<String, Postings>,
}

impl FieldIndex {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records the live `slot` and its document (`None`: no metadata).
    pub fn insert(&mut self, slot: u32, doc: Option<&Value>) {
        self.live.insert(slot);
        if let Some(d) = doc {
            self.walk(slot, d, true);
        }
    }

    /// Forgets `slot`; `doc` must be the document it was inserted with.
    pub fn remove(&mut self, slot: u32, doc: Option<&Value>) {
        self.live.remove(slot);
        if let Some(d) = doc {
            self.walk(slot, d, false);
        }
    }

    /// The live slots.
    pub fn live(&self) -> &SlotSet {
        &self.live
    }

    /// Number of distinct field paths indexed.
    pub fn field_count(&self) -> usize {
        self.fields.len()
    }

    /// Heap bytes (approximate).
    pub fn memory_bytes(&self) -> usize {
        self.live.memory_bytes() + self.fields.iter().map(|(k, p)| k.len() + 64 + p.memory_bytes()).sum::<usize>()
    }

    fn walk(&mut self, slot: u32, doc: &Value, insert: bool) {
        let Value::Object(map) = doc else { return };
        let mut path = String::new();
        for (k, v) in map {
            if k.is_empty() || k.contains('.') {
                continue;
            }
            path.clear();
            path.push_str(k);
            self.visit(&mut path, v, slot, insert);
        }
    }

    fn visit(&mut self, path: &mut String, v: &Value, slot: u32, insert: bool) {
        let p = if insert {
            self.fields.entry(path.clone()).or_default()
        } else {
            match self.fields.get_mut(path.as_str()) {
                Some(p) => p,
                None => return,
            }
        };
        touch(&mut p.present, slot, insert);
        match v {
            Value::Array(items) => {
                touch(&mut p.composite, slot, insert);
                for e in items {
                    p.scalar(e, slot, insert);
                }
            }
            Value::Object(map) => {
                touch(&mut p.composite, slot, insert);
                let len = path.len();
                for (k, c) in map {
                    if k.is_empty() || k.contains('.') {
                        continue;
                    }
                    path.push('.');
                    path.push_str(k);
                    self.visit(path, c, slot, insert);
                    path.truncate(len);
                }
            }
            scalar => p.scalar(scalar, slot, insert),
        }
        if !insert && self.fields.get(path.as_str()).is_some_and(Postings::is_empty) {
            self.fields.remove(path.as_str());
        }
    }

    /// The live slots whose documents match `filter`. `doc` returns a live slot's document (a
    /// reference, or a handle such as an `Arc` from a cache); it is called only for the few slots
    /// whose values the index cannot answer.
    pub fn matching<D: Deref<Target = Value>>(&self, filter: &Filter, doc: &dyn Fn(u32) -> Option<D>) -> SlotSet {
        match filter {
            Filter::All => self.live.clone(),
            Filter::And(fs) => {
                let mut it = fs.iter();
                let mut acc = match it.next() {
                    Some(f) => self.matching(f, doc),
                    None => return self.live.clone(),
                };
                for f in it {
                    if acc.is_empty() {
                        break;
                    }
                    acc.intersect_with(&self.matching(f, doc));
                }
                acc
            }
            Filter::Or(fs) => {
                let mut acc = SlotSet::new();
                for f in fs {
                    acc.union_with(&self.matching(f, doc));
                }
                acc
            }
            Filter::Not(f) => {
                let mut acc = self.live.clone();
                acc.subtract(&self.matching(f, doc));
                acc
            }
            Filter::Field(c) => self.leaf(c, doc),
        }
    }

    fn leaf<D: Deref<Target = Value>>(&self, c: &FieldCond, doc: &dyn Fn(u32) -> Option<D>) -> SlotSet {
        let mut out = SlotSet::new();
        let Some(p) = self.fields.get(c.path.as_str()) else { return out };
        // Slots the index cannot answer for this operator: evaluate their documents.
        let residual = |list: &[u32], out: &mut SlotSet| {
            for &s in list {
                if doc(s).is_some_and(|d| c.path.resolve(&d).is_some_and(|v| op_holds(&c.op, v))) {
                    out.insert(s);
                }
            }
        };
        match &c.op {
            Op::Exists => out.extend_sorted(&p.present),
            Op::Eq(v) => self.eq_into(p, v, &mut out, &residual),
            Op::In(vs) => {
                for v in vs {
                    self.eq_into(p, v, &mut out, &residual);
                }
            }
            Op::Cmp(op, Bound::Number(b)) => {
                if b.is_nan() {
                    return out;
                }
                let b = Num::new(*b);
                let range = match op {
                    CmpOp::Gt => (RangeBound::Excluded(b), RangeBound::Unbounded),
                    CmpOp::Gte => (RangeBound::Included(b), RangeBound::Unbounded),
                    CmpOp::Lt => (RangeBound::Unbounded, RangeBound::Excluded(b)),
                    CmpOp::Lte => (RangeBound::Unbounded, RangeBound::Included(b)),
                };
                for list in p.numbers.range(range).map(|(_, l)| l) {
                    out.extend_sorted(list);
                }
            }
            Op::Cmp(op, Bound::Str(b)) => {
                let b: &str = b;
                let range = match op {
                    CmpOp::Gt => (RangeBound::Excluded(b), RangeBound::Unbounded),
                    CmpOp::Gte => (RangeBound::Included(b), RangeBound::Unbounded),
                    CmpOp::Lt => (RangeBound::Unbounded, RangeBound::Excluded(b)),
                    CmpOp::Lte => (RangeBound::Unbounded, RangeBound::Included(b)),
                };
                for (_, list) in p.strings.range::<str, _>(range) {
                    out.extend_sorted(list);
                }
                residual(&p.long, &mut out);
            }
        }
        out
    }

    fn eq_into(&self, p: &Postings, v: &Value, out: &mut SlotSet, residual: &dyn Fn(&[u32], &mut SlotSet)) {
        match v {
            Value::Null => out.extend_sorted(&p.nulls),
            Value::Bool(b) => out.extend_sorted(&p.bools[*b as usize]),
            Value::Number(n) => {
                if let Some(list) = n.as_f64().and_then(|x| p.numbers.get(&Num::new(x))) {
                    out.extend_sorted(list);
                }
            }
            Value::String(s) if s.len() <= MAX_INDEXED_STRING => {
                if let Some(list) = p.strings.get(s.as_str()) {
                    out.extend_sorted(list);
                }
            }
            Value::String(_) => residual(&p.long, out),
            Value::Array(_) | Value::Object(_) => residual(&p.composite, out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The index agrees with evaluating every document, for many filters, after deletes.
    #[test]
    fn index_agrees_with_evaluation() {
        let long = "x".repeat(100);
        let mut docs: Vec<Option<Value>> = (0..300)
            .map(|i| {
                if i % 17 == 0 {
                    return None;
                }
                let cat = ["a", "b", "c"][i % 3];
                let mut d = json!({
                    "cat": cat,
                    "n": i as f64 / 3.0,
                    "i": i % 10,
                    "flag": i % 2 == 0,
                    "nested": {"deep": {"v": i % 7}, "s": format!("s{:03}", i)},
                    "tags": if i % 4 == 0 { json!(["red", i % 5, long.clone()]) } else { json!(["blue"]) },
                });
                if i % 11 == 0 {
                    d["maybe"] = Value::Null;
                }
                if i % 13 == 0 {
                    d["text"] = json!(format!("{long}{}", i % 2));
                    d["weird.key"] = json!(1);
                }
                Some(d)
            })
            .collect();
        let mut idx = FieldIndex::new();
        for (s, d) in docs.iter().enumerate() {
            idx.insert(s as u32, d.as_ref());
        }
        for s in (0..300).step_by(7) {
            idx.remove(s as u32, docs[s].as_ref());
            docs[s] = None;
        }
        let live = |s: u32| !s.is_multiple_of(7);
        let filters = [
            json!({}),
            json!({"cat": "a"}),
            json!({"cat": {"$ne": "a"}}),
            json!({"cat": {"$in": ["a", "c"]}, "flag": true}),
            json!({"cat": {"$nin": ["a"]}}),
            json!({"n": {"$gt": 10.5, "$lte": 50}}),
            json!({"n": {"$lt": 0.5}}),
            json!({"i": 3}),
            json!({"i": 3.0}),
            json!({"nested.deep.v": {"$gte": 4}}),
            json!({"nested.s": {"$gte": "s100", "$lt": "s150"}}),
            json!({"nested.deep": {"v": 2}}),
            json!({"nested": {"$exists": true}}),
            json!({"maybe": null}),
            json!({"maybe": {"$exists": false}}),
            json!({"tags": "red"}),
            json!({"tags": 3}),
            json!({"tags": ["blue"]}),
            json!({"tags": {"$gt": 2}}),
            json!({"tags": long.clone()}),
            json!({"text": format!("{long}1")}),
            json!({"text": {"$gt": long.clone()}}),
            json!({"weird.key": 1}),
            json!({"$or": [{"cat": "b"}, {"i": {"$lt": 2}}]}),
            json!({"$not": {"$or": [{"cat": "b"}, {"i": {"$lt": 2}}]}}),
            json!({"n": {"$not": {"$gt": 20}}}),
            json!({"$and": [{"flag": false}, {"nested.deep.v": {"$in": [1, 2, "x"]}}]}),
            json!({"absent": 1}),
            json!({"absent": {"$ne": 1}}),
        ];
        for fj in filters {
            let f = Filter::parse(&fj).unwrap();
            let got: Vec<u32> = idx.matching(&f, &|s| docs[s as usize].as_ref()).iter().collect();
            let want: Vec<u32> = (0..300u32).filter(|&s| live(s) && f.matches(docs[s as usize].as_ref())).collect();
            assert_eq!(got, want, "filter {fj}");
        }
        // Removing everything leaves no fields behind.
        for (s, d) in docs.iter().enumerate() {
            if live(s as u32) {
                idx.remove(s as u32, d.as_ref());
            }
        }
        assert_eq!(idx.field_count(), 0);
        assert!(idx.live().is_empty());
    }
}

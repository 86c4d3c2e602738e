//! Evaluating a [`Filter`] against one document.

use std::cmp::Ordering;

use serde_json::Value;

use super::{Bound, FieldCond, Filter, Op};

impl Filter {
    /// Whether the document (a vector's metadata; `None` when it has none) matches.
    pub fn matches(&self, doc: Option<&Value>) -> bool {
        match self {
            Filter::All => true,
            Filter::And(fs) => fs.iter().all(|f| f.matches(doc)),
            Filter::Or(fs) => fs.iter().any(|f| f.matches(doc)),
            Filter::Not(f) => !f.matches(doc),
            Filter::Field(c) => doc.and_then(|d| c.path.resolve(d)).is_some_and(|v| c.holds(v)),
        }
    }

    /// Whether the filter only ever needs [`Filter::matches`] (`All`).
    pub fn is_all(&self) -> bool {
        matches!(self, Filter::All)
    }
}

impl FieldCond {
    /// Whether the operator holds for `v`, the value found at the path.
    pub fn holds(&self, v: &Value) -> bool {
        op_holds(&self.op, v)
    }
}

/// The operator holds for `v` itself or, when `v` is an array, for one of its elements.
pub(crate) fn op_holds(op: &Op, v: &Value) -> bool {
    let direct = |x: &Value| match op {
        Op::Eq(want) => values_eq(x, want),
        Op::In(wants) => wants.iter().any(|w| values_eq(x, w)),
        Op::Cmp(c, b) => compare(x, b).is_some_and(|o| c.holds(o)),
        Op::Exists => true,
    };
    direct(v) || matches!(v, Value::Array(items) if items.iter().any(direct))
}

/// `x` compared with the bound, when their types are comparable.
pub(crate) fn compare(x: &Value, b: &Bound) -> Option<Ordering> {
    match (x, b) {
        (Value::Number(n), Bound::Number(b)) => n.as_f64()?.partial_cmp(b),
        (Value::String(s), Bound::Str(b)) => Some(s.as_str().cmp(b.as_str())),
        _ => None,
    }
}

/// Typed structural equality: numbers as `f64`, objects regardless of key order.
pub(crate) fn values_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::String(x), Value::String(y)) => x == y,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Null, Value::Null) => true,
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| values_eq(p, q)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| values_eq(v, w)))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn m(f: Value, d: Value) -> bool {
        Filter::parse(&f).unwrap().matches(Some(&d))
    }

    #[test]
    fn operators() {
        let d = json!({"n": 5, "f": 2.5, "s": "abc", "b": true, "z": null, "t": ["red", "big", 3],
                       "o": {"p": {"q": 1}}, "e": {"x": 1, "y": [1, 2]}});
        assert!(m(json!({"n": 5}), d.clone()));
        assert!(m(json!({"n": 5.0}), d.clone()));
        assert!(!m(json!({"n": "5"}), d.clone()));
        assert!(m(json!({"n": {"$ne": 4}}), d.clone()));
        assert!(m(json!({"missing": {"$ne": 4}}), d.clone()));
        assert!(m(json!({"n": {"$gt": 4, "$lte": 5}}), d.clone()));
        assert!(!m(json!({"n": {"$gt": 5}}), d.clone()));
        assert!(m(json!({"f": {"$lt": 3}}), d.clone()));
        assert!(m(json!({"s": {"$gte": "abc", "$lt": "abd"}}), d.clone()));
        assert!(!m(json!({"s": {"$gt": 1}}), d.clone()), "typed: a string is not > a number");
        assert!(!m(json!({"n": {"$gt": "a"}}), d.clone()));
        assert!(m(json!({"b": true}), d.clone()));
        assert!(!m(json!({"b": 1}), d.clone()));
        assert!(m(json!({"z": null}), d.clone()));
        assert!(m(json!({"z": {"$exists": true}}), d.clone()));
        assert!(m(json!({"nope": {"$exists": false}}), d.clone()));
        assert!(m(json!({"t": "red"}), d.clone()));
        assert!(m(json!({"t": {"$gt": 2}}), d.clone()));
        assert!(m(json!({"t": ["red", "big", 3]}), d.clone()));
        assert!(m(json!({"t": {"$in": ["blue", "big"]}}), d.clone()));
        assert!(m(json!({"t": {"$nin": ["blue"]}}), d.clone()));
        assert!(!m(json!({"t": {"$nin": ["red"]}}), d.clone()));
        assert!(m(json!({"o.p.q": 1}), d.clone()));
        assert!(m(json!({"o.p": {"q": 1.0}}), d.clone()));
        assert!(!m(json!({"o.p.q.r": 1}), d.clone()));
        assert!(m(json!({"e": {"$eq": {"y": [1, 2], "x": 1}}}), d.clone()));
        assert!(m(json!({"n": {"$not": {"$gt": 7}}}), d.clone()));
        assert!(m(json!({"missing": {"$not": {"$gt": 7}}}), d.clone()));
        assert!(m(json!({"$or": [{"n": 1}, {"s": "abc"}]}), d.clone()));
        assert!(!m(json!({"$and": [{"n": 5}, {"s": "x"}]}), d.clone()));
        assert!(m(json!({"$not": {"n": 1}}), d.clone()));
        assert!(!Filter::parse(&json!({"n": 5})).unwrap().matches(None));
        assert!(Filter::parse(&json!({"n": {"$exists": false}})).unwrap().matches(None));
    }
}

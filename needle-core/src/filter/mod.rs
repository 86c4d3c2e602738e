//! Metadata filters: a small MongoDB-style query language over each vector's JSON metadata.
//!
//! ```
//! use needle_core::filter::Filter;
//! use serde_json::json;
//! let f = Filter::parse(&json!({
//!     "category": {"$in": ["books", "music"]},
//!     "price": {"$gte": 5, "$lt": 20},
//!     "$or": [{"stock.warehouse": {"$exists": true}}, {"preorder": true}]
//! })).unwrap();
//! let doc = json!({"category": "books", "price": 12.5, "stock": {"warehouse": 3}});
//! assert!(f.matches(Some(&doc)));
//! assert!(!f.matches(None));
//! ```
//!
//! # The language
//!
//! A filter is a JSON object; its clauses must all hold (an implicit `$and`; `{}` matches
//! everything).
//!
//! | clause | meaning |
//! |---|---|
//! | `"path": value` | shorthand for `"path": {"$eq": value}` |
//! | `"path": {"$eq": v}` / `"$ne"` | equal / not equal (`$ne` also matches documents without the field) |
//! | `"$gt"`, `"$gte"`, `"$lt"`, `"$lte"` | ordered comparison with a number or a string |
//! | `"$in": [..]` / `"$nin": [..]` | equal to one of / none of the values |
//! | `"$exists": true/false` | the field is present (even as `null`) / absent |
//! | `"path": {"$not": {ops}}` | the operators do not all hold (also matches absent fields) |
//! | `"$and": [f, ..]`, `"$or": [f, ..]`, `"$not": f` | combinations of whole filters |
//!
//! Several operators on one field must all hold: `{"price": {"$gte": 5, "$lt": 20}}`.
//!
//! **Paths** are dotted: `"a.b.c"` is key `c` of the object under `b` of the object under `a`.
//! Keys that themselves contain a dot cannot be addressed.
//!
//! **Types.** Comparisons are typed: numbers compare with numbers (integers and floats alike, as
//! `f64`: `1` equals `1.0`), strings with strings (by Unicode code point), booleans and `null`
//! only by equality. A value of another type never matches (`{"price": {"$gt": 5}}` does not
//! match `"price": "cheap"`), it is not an error. Arrays and objects compare structurally with
//! `$eq`/`$in` (object key order does not matter).
//!
//! **Arrays in documents.** When the value at a path is an array, an operator holds if it holds
//! for the array as a whole (`$eq` with an array) or for any element: `{"tags": "red"}` matches
//! `"tags": ["red", "large"]`.
//!
//! **Errors.** Unknown operators, operands of the wrong type (`{"$gt": true}`, `{"$in": 3}`,
//! `{"$exists": "yes"}`), empty `$and`/`$or`, empty path segments and mixing operators with field
//! names in one object are [`Error::InvalidFilter`](crate::Error::InvalidFilter) at parse time,
//! with the path of the offending clause.
//!
//! # Evaluation
//!
//! [`Filter::matches`] evaluates one document. [`FieldIndex`] keeps per-field value indexes (sorted
//! posting lists of slots by value, plus presence) so [`FieldIndex::matching`] finds the set of
//! matching slots without reading every document; the collection uses that set both to choose a
//! search strategy (its size is the filter's exact selectivity) and as the filter itself.

mod eval;
mod field_index;
mod parse;
mod slot_set;

pub use field_index::FieldIndex;
pub use slot_set::SlotSet;

use serde_json::Value;

/// A parsed metadata filter (see the [module documentation](self) for the language).
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// Matches every document (`{}`).
    All,
    /// All of the filters hold.
    And(Vec<Filter>),
    /// At least one of the filters holds.
    Or(Vec<Filter>),
    /// The filter does not hold.
    Not(Box<Filter>),
    /// One operator on one field.
    Field(FieldCond),
}

/// An operator applied to the value at a path.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldCond {
    /// Where the value is.
    pub path: FieldPath,
    /// What must hold for it.
    pub op: Op,
}

/// A dotted path into a document (`"a.b.c"`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FieldPath {
    text: String,
    parts: Vec<String>,
}

impl FieldPath {
    /// Parses `"a.b.c"`; empty segments are an error.
    pub fn new(text: &str) -> crate::Result<FieldPath> {
        if text.is_empty() || text.split('.').any(str::is_empty) {
            return Err(crate::Error::InvalidFilter(format!("field path '{text}' is empty or has an empty segment")));
        }
        Ok(FieldPath { text: text.to_string(), parts: text.split('.').map(str::to_string).collect() })
    }

    /// The path as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The value at this path in `doc`, if present.
    pub fn resolve<'v>(&self, doc: &'v Value) -> Option<&'v Value> {
        let mut cur = doc;
        for p in &self.parts {
            cur = cur.as_object()?.get(p)?;
        }
        Some(cur)
    }
}

/// Operators on one field. `$ne`, `$nin` and `$exists: false` parse to [`Filter::Not`] around
/// `Eq`, `In` and `Exists`.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// Equal to the value (or an element equals it).
    Eq(Value),
    /// Equal to one of the values.
    In(Vec<Value>),
    /// Ordered comparison.
    Cmp(CmpOp, Bound),
    /// The field is present.
    Exists,
}

/// `$gt`, `$gte`, `$lt`, `$lte`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `>`
    Gt,
    /// `>=`
    Gte,
    /// `<`
    Lt,
    /// `<=`
    Lte,
}

impl CmpOp {
    /// Whether `ord` (value compared with the bound) satisfies the operator.
    pub fn holds(self, ord: std::cmp::Ordering) -> bool {
        use std::cmp::Ordering::*;
        matches!(
            (self, ord),
            (CmpOp::Gt, Greater) | (CmpOp::Gte, Greater | Equal) | (CmpOp::Lt, Less) | (CmpOp::Lte, Less | Equal)
        )
    }
}

/// The operand of an ordered comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Bound {
    /// A number (compared as `f64`).
    Number(f64),
    /// A string (compared by code point).
    Str(String),
}

impl std::str::FromStr for Filter {
    type Err = crate::Error;
    /// Parses a filter from JSON text.
    fn from_str(s: &str) -> crate::Result<Filter> {
        let v: Value =
            serde_json::from_str(s).map_err(|e| crate::Error::InvalidFilter(format!("not valid JSON: {e}")))?;
        Filter::parse(&v)
    }
}

impl TryFrom<&Value> for Filter {
    type Error = crate::Error;
    fn try_from(v: &Value) -> crate::Result<Filter> {
        Filter::parse(v)
    }
}

//! Any bytes as a filter and a set of metadata documents: parsing gives a filter or a typed
//! error, never a panic, and the value indexes (`FieldIndex::matching`, what searches use) select
//! exactly the documents that direct evaluation (`Filter::matches`) accepts.
//!
//! Input: the filter's JSON text, then documents separated by `\n` (each a JSON value, or
//! anything else for "no metadata").
#![no_main]

use libfuzzer_sys::fuzz_target;
use needle::core::filter::{FieldIndex, Filter};
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut parts = text.split('\n');
    let Some(Ok(filter_json)) = parts.next().map(serde_json::from_str::<Value>) else { return };
    let Ok(filter) = Filter::parse(&filter_json) else { return };
    let docs: Vec<Option<Value>> = parts.take(64).map(|d| serde_json::from_str(d).ok()).collect();
    let mut index = FieldIndex::new();
    for (slot, doc) in docs.iter().enumerate() {
        index.insert(slot as u32, doc.as_ref());
    }
    let selected = index.matching(&filter, &|slot| docs[slot as usize].as_ref());
    for (slot, doc) in docs.iter().enumerate() {
        assert_eq!(
            selected.contains(slot as u32),
            filter.matches(doc.as_ref()),
            "index and evaluation disagree on {doc:?} for {filter_json}"
        );
    }
    // Removing every document leaves nothing to match.
    for (slot, doc) in docs.iter().enumerate() {
        index.remove(slot as u32, doc.as_ref());
    }
    assert!(index.matching(&filter, &|slot| docs[slot as usize].as_ref()).is_empty());
});

//! Batch lists counted while they are parsed: a batch longer than `max_batch` stops the parse at
//! item `max_batch + 1`, before the rest of the body becomes millions of `Vec`s (a 32 MiB
//! `{"vectors": [[], [], ...]}` holds about 11 million of them).
//!
//! The limit reaches the deserializer through a thread-local set around the parse
//! ([`parse_within`]): JSON bodies are parsed synchronously on one thread, and serde offers no
//! other way to hand state to a field deserializer of a derived struct.

use std::cell::Cell;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserialize, Deserializer, SeqAccess, Visitor};

thread_local! {
    /// The most items a batch list may hold in the parse running on this thread.
    static MAX_ITEMS: Cell<usize> = const { Cell::new(usize::MAX) };
    /// Set when a list went past it (the parse then fails; the caller answers 413).
    static EXCEEDED: Cell<Option<usize>> = const { Cell::new(None) };
}

/// Runs `parse` with batch lists limited to `max_items`; on failure, also says whether a list
/// went past the limit (`Some(limit)`).
pub(crate) fn parse_within<T>(max_items: usize, parse: impl FnOnce() -> T) -> (T, Option<usize>) {
    let previous = MAX_ITEMS.with(|m| m.replace(max_items));
    EXCEEDED.with(|e| e.set(None));
    let out = parse();
    MAX_ITEMS.with(|m| m.set(previous));
    (out, EXCEEDED.with(|e| e.take()))
}

/// `#[serde(deserialize_with = "bounded::list")]`: a list that stops past the limit.
pub(crate) fn list<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct List<T>(PhantomData<T>);
    impl<'de, T: Deserialize<'de>> Visitor<'de> for List<T> {
        type Value = Vec<T>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a list")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
            let max = MAX_ITEMS.with(Cell::get);
            let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(max).min(4096));
            while let Some(item) = seq.next_element()? {
                if out.len() == max {
                    EXCEEDED.with(|e| e.set(Some(max)));
                    return Err(de::Error::custom(format!("the batch has more than {max} items")));
                }
                out.push(item);
            }
            Ok(out)
        }
    }
    d.deserialize_seq(List(PhantomData))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct Batch {
        #[serde(deserialize_with = "list")]
        vectors: Vec<Vec<f32>>,
    }

    #[test]
    fn stops_at_the_limit() {
        let body = format!("{{\"vectors\": [{}[]]}}", "[], ".repeat(100_000));
        let (r, over) = parse_within(10, || serde_json::from_str::<Batch>(&body));
        assert!(r.is_err());
        assert_eq!(over, Some(10));
        let (r, over) = parse_within(10, || serde_json::from_str::<Batch>("{\"vectors\": [[1], [2]]}"));
        assert_eq!(r.unwrap().vectors.len(), 2);
        assert_eq!(over, None);
        // Outside a limited parse, lists are unlimited.
        assert_eq!(serde_json::from_str::<Batch>(&body).unwrap().vectors.len(), 100_001);
    }
}

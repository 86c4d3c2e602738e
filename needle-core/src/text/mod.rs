//! Full-text pieces for hybrid search: a small documented [`Tokenizer`] and a [`Bm25`] inverted
//! index over slots.
//!
//! ```
//! use needle_core::text::{Bm25, Tokenizer};
//! let mut idx = Bm25::new(Tokenizer::default());
//! idx.insert(0, "The quick brown fox");
//! idx.insert(1, "A lazy dog sleeps; the dog dreams");
//! let hits = idx.search("dog", 10, None);
//! assert_eq!(hits[0].0, 1);
//! assert!(idx.search("the", 10, None).is_empty()); // a stop word
//! ```

mod bm25;
mod tokenize;

pub use bm25::{Bm25, Bm25Params};
pub use tokenize::{Tokenizer, ENGLISH_STOP_WORDS};

//! The tokenizer: lowercase, split into Unicode words, optionally drop stop words.
//!
//! Rules, in order:
//! 1. A token is a maximal run of characters that are alphanumeric in Unicode
//!    ([`char::is_alphanumeric`]: letters and digits of every script). Everything else —
//!    whitespace, punctuation, symbols, apostrophes, hyphens — separates tokens, so `"don't"` gives
//!    `don` and `t`, and `"state-of-the-art"` gives four tokens.
//! 2. Tokens are lowercased with Unicode rules ([`str::to_lowercase`]).
//! 3. Tokens longer than [`Tokenizer::max_token_chars`] characters (64 by default) are dropped
//!    (they are hashes, base64, noise — not words anyone types).
//! 4. With stop words on (the default), the words of [`ENGLISH_STOP_WORDS`] are dropped.
//!
//! No stemming: `dogs` and `dog` are different terms.

use std::collections::HashSet;
use std::sync::OnceLock;

/// Common English function words dropped by default (a short list: articles, pronouns,
/// auxiliaries, prepositions, conjunctions).
pub const ENGLISH_STOP_WORDS: &[&str] = &[
    "a",
    "about",
    "above",
    "after",
    "again",
    "against",
    "all",
    "am",
    "an",
    "and",
    "any",
    "are",
    "as",
    "at",
    "be",
    "because",
    "been",
    "before",
    "being",
    "below",
    "between",
    "both",
    "but",
    "by",
    "can",
    "could",
    "did",
    "do",
    "does",
    "doing",
    "down",
    "during",
    "each",
    "few",
    "for",
    "from",
    "further",
    "had",
    "has",
    "have",
    "having",
    "he",
    "her",
    "here",
    "hers",
    "herself",
    "him",
    "himself",
    "his",
    "how",
    "i",
    "if",
    "in",
    "into",
    "is",
    "it",
    "its",
    "itself",
    "me",
    "more",
    "most",
    "my",
    "myself",
    "no",
    "nor",
    "not",
    "of",
    "off",
    "on",
    "once",
    "only",
    "or",
    "other",
    "our",
    "ours",
    "ourselves",
    "out",
    "over",
    "own",
    "same",
    "she",
    "should",
    "so",
    "some",
    "such",
    "than",
    "that",
    "the",
    "their",
    "theirs",
    "them",
    "themselves",
    "then",
    "there",
    "these",
    "they",
    "this",
    "those",
    "through",
    "to",
    "too",
    "under",
    "until",
    "up",
    "very",
    "was",
    "we",
    "were",
    "what",
    "when",
    "where",
    "which",
    "while",
    "who",
    "whom",
    "why",
    "will",
    "with",
    "would",
    "you",
    "your",
    "yours",
    "yourself",
    "yourselves",
];

fn stop_set() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| ENGLISH_STOP_WORDS.iter().copied().collect())
}

/// Splits text into terms (see the [module documentation](self) for the rules).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tokenizer {
    /// Drop [`ENGLISH_STOP_WORDS`].
    pub stop_words: bool,
    /// Longest token kept, in characters.
    pub max_token_chars: usize,
}

impl Default for Tokenizer {
    fn default() -> Self {
        Tokenizer { stop_words: true, max_token_chars: 64 }
    }
}

impl Tokenizer {
    /// Keeps stop words.
    pub fn without_stop_words(mut self) -> Self {
        self.stop_words = false;
        self
    }

    /// Calls `f` with each term of `text`, in order (repeats included).
    pub fn for_each_term(&self, text: &str, mut f: impl FnMut(&str)) {
        let mut buf = String::new();
        for word in text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
            buf.clear();
            if word.chars().all(|c| !c.is_uppercase()) {
                buf.push_str(word);
            } else {
                buf.extend(word.chars().flat_map(char::to_lowercase));
            }
            if buf.chars().count() > self.max_token_chars {
                continue;
            }
            if self.stop_words && stop_set().contains(buf.as_str()) {
                continue;
            }
            f(&buf);
        }
    }

    /// The terms of `text`, in order.
    pub fn tokenize(&self, text: &str) -> Vec<String> {
        let mut out = Vec::new();
        self.for_each_term(text, |t| out.push(t.to_string()));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules() {
        let t = Tokenizer::default();
        assert_eq!(t.tokenize("The Quick-brown FOX, don't  jump!"), ["quick", "brown", "fox", "don", "t", "jump"]);
        assert_eq!(t.tokenize("Größe ÉCOLE naïve 東京 2024"), ["größe", "école", "naïve", "東京", "2024"]);
        assert_eq!(t.without_stop_words().tokenize("the cat"), ["the", "cat"]);
        let long = "x".repeat(65);
        assert_eq!(Tokenizer::default().tokenize(&format!("a {long} b")), ["b"]);
        assert!(Tokenizer::default().tokenize("  ...  ").is_empty());
    }
}

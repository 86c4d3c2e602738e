//! A growable bitset over slots: which slots an index holds, which are tombstoned.
//!
//! One bit per slot keeps the "is this slot deleted?" check on the search path to a shift and a
//! mask on a word that is usually already in cache, and makes the on-disk form `⌈n/64⌉` words.

/// Bits indexed by slot; bits past the end read as 0.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bitset {
    words: Vec<u64>,
    ones: usize,
}

impl Bitset {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Builds a set from raw words (as written by [`Bitset::words`]).
    pub fn from_words(words: Vec<u64>) -> Self {
        let ones = words.iter().map(|w| w.count_ones() as usize).sum();
        Bitset { words, ones }
    }

    /// The raw words (bit `i` is bit `i % 64` of word `i / 64`).
    pub fn words(&self) -> &[u64] {
        &self.words
    }

    /// Whether bit `i` is set.
    #[inline]
    pub fn get(&self, i: u32) -> bool {
        let w = (i >> 6) as usize;
        self.words.get(w).is_some_and(|x| x >> (i & 63) & 1 == 1)
    }

    /// Sets bit `i` (growing as needed); returns whether it was newly set.
    pub fn set(&mut self, i: u32) -> bool {
        let w = (i >> 6) as usize;
        if w >= self.words.len() {
            self.words.resize(w + 1, 0);
        }
        let mask = 1u64 << (i & 63);
        let was = self.words[w] & mask != 0;
        self.words[w] |= mask;
        if !was {
            self.ones += 1;
        }
        !was
    }

    /// Clears bit `i`; returns whether it was set.
    pub fn clear(&mut self, i: u32) -> bool {
        let w = (i >> 6) as usize;
        let mask = 1u64 << (i & 63);
        match self.words.get_mut(w) {
            Some(x) if *x & mask != 0 => {
                *x &= !mask;
                self.ones -= 1;
                true
            }
            _ => false,
        }
    }

    /// Number of set bits.
    #[inline]
    pub fn count(&self) -> usize {
        self.ones
    }

    /// The highest set bit.
    pub fn last(&self) -> Option<u32> {
        let (i, w) = self.words.iter().enumerate().rev().find(|(_, &w)| w != 0)?;
        Some((i as u32) << 6 | (63 - w.leading_zeros()))
    }

    /// The set bits in increasing order.
    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.words.iter().enumerate().flat_map(|(wi, &w)| {
            let mut rest = w;
            std::iter::from_fn(move || {
                if rest == 0 {
                    return None;
                }
                let b = rest.trailing_zeros();
                rest &= rest - 1;
                Some((wi as u32) << 6 | b)
            })
        })
    }

    /// Heap bytes in use.
    pub fn memory_bytes(&self) -> usize {
        self.words.capacity() * 8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_get_clear_count() {
        let mut b = Bitset::new();
        assert!(!b.get(5));
        assert!(b.set(5));
        assert!(!b.set(5));
        assert!(b.set(200));
        assert!(b.get(5) && b.get(200) && !b.get(6) && !b.get(1 << 30));
        assert_eq!(b.count(), 2);
        assert!(b.clear(5));
        assert!(!b.clear(5));
        assert!(!b.clear(100_000));
        assert_eq!(b.count(), 1);
        assert_eq!(b.iter().collect::<Vec<_>>(), vec![200]);
    }

    #[test]
    fn iter_and_words_roundtrip() {
        let mut b = Bitset::new();
        let want = [0u32, 1, 63, 64, 65, 127, 128, 1000];
        for &i in &want {
            b.set(i);
        }
        assert_eq!(b.iter().collect::<Vec<_>>(), want);
        assert_eq!(b.last(), Some(1000));
        assert_eq!(Bitset::new().last(), None);
        let c = Bitset::from_words(b.words().to_vec());
        assert_eq!(c, b);
        assert_eq!(c.count(), want.len());
    }
}

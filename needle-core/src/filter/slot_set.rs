//! A dense set of slots (one bit each) with the set algebra filters need.

/// A set of slots as a bitmap; bits past the end read as absent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SlotSet {
    words: Vec<u64>,
}

impl SlotSet {
    /// The empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// The set of `slots`.
    pub fn from_slots(slots: impl IntoIterator<Item = u32>) -> Self {
        let mut s = SlotSet::new();
        for x in slots {
            s.insert(x);
        }
        s
    }

    /// Adds `slot`.
    #[inline]
    pub fn insert(&mut self, slot: u32) {
        let w = (slot >> 6) as usize;
        if w >= self.words.len() {
            self.words.resize(w + 1, 0);
        }
        self.words[w] |= 1u64 << (slot & 63);
    }

    /// Removes `slot`.
    #[inline]
    pub fn remove(&mut self, slot: u32) {
        if let Some(w) = self.words.get_mut((slot >> 6) as usize) {
            *w &= !(1u64 << (slot & 63));
        }
    }

    /// Whether `slot` is in the set.
    #[inline]
    pub fn contains(&self, slot: u32) -> bool {
        self.words.get((slot >> 6) as usize).is_some_and(|w| w >> (slot & 63) & 1 == 1)
    }

    /// Number of slots in the set.
    pub fn len(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// True when the set is empty.
    pub fn is_empty(&self) -> bool {
        self.words.iter().all(|&w| w == 0)
    }

    /// `self ∩= other`.
    pub fn intersect_with(&mut self, other: &SlotSet) {
        self.words.truncate(other.words.len());
        for (a, b) in self.words.iter_mut().zip(&other.words) {
            *a &= b;
        }
    }

    /// `self ∪= other`.
    pub fn union_with(&mut self, other: &SlotSet) {
        if other.words.len() > self.words.len() {
            self.words.resize(other.words.len(), 0);
        }
        for (a, b) in self.words.iter_mut().zip(&other.words) {
            *a |= b;
        }
    }

    /// `self −= other`.
    pub fn subtract(&mut self, other: &SlotSet) {
        for (a, b) in self.words.iter_mut().zip(&other.words) {
            *a &= !b;
        }
    }

    /// Adds every slot of a sorted list.
    pub fn extend_sorted(&mut self, slots: &[u32]) {
        if let Some(&last) = slots.last() {
            let need = (last >> 6) as usize + 1;
            if need > self.words.len() {
                self.words.resize(need, 0);
            }
        }
        for &s in slots {
            self.words[(s >> 6) as usize] |= 1u64 << (s & 63);
        }
    }

    /// The slots in increasing order.
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

    /// Heap bytes.
    pub fn memory_bytes(&self) -> usize {
        self.words.capacity() * 8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn algebra() {
        let a = SlotSet::from_slots([1, 5, 64, 200]);
        let b = SlotSet::from_slots([5, 200, 300]);
        let mut i = a.clone();
        i.intersect_with(&b);
        assert_eq!(i.iter().collect::<Vec<_>>(), vec![5, 200]);
        let mut u = a.clone();
        u.union_with(&b);
        assert_eq!(u.iter().collect::<Vec<_>>(), vec![1, 5, 64, 200, 300]);
        assert_eq!(u.len(), 5);
        let mut d = a.clone();
        d.subtract(&b);
        assert_eq!(d.iter().collect::<Vec<_>>(), vec![1, 64]);
        let mut e = SlotSet::new();
        e.extend_sorted(&[3, 70, 1000]);
        assert!(e.contains(1000) && e.contains(3) && !e.contains(4));
        e.remove(70);
        assert_eq!(e.len(), 2);
    }
}

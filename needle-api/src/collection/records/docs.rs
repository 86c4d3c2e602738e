//! [`Docs`]: metadata documents by position, the in-memory form the records store keeps and the
//! codec decodes into. Its own file because both `mod.rs` (the store) and `codec.rs` use it and
//! neither should import the other's internals for it.

use serde_json::Value;

/// Metadata by position, `Option<Box<Value>>` each (8 bytes when absent); trailing absent
/// entries are not stored, so a collection without metadata pays nothing.
#[derive(Debug, Default)]
pub(super) struct Docs(Vec<Option<Box<Value>>>);

impl Docs {
    pub fn get(&self, i: usize) -> Option<&Value> {
        self.0.get(i)?.as_deref()
    }

    pub fn set(&mut self, i: usize, doc: Option<Box<Value>>) {
        if let Some(d) = doc {
            if i >= self.0.len() {
                self.0.resize_with(i + 1, || None);
            }
            self.0[i] = Some(d);
        } else if let Some(old) = self.0.get_mut(i) {
            *old = None;
        }
    }

    pub fn take(&mut self, i: usize) -> Option<Box<Value>> {
        self.0.get_mut(i)?.take()
    }

    pub fn shrink_to_fit(&mut self) {
        self.0.shrink_to_fit();
    }

    pub fn memory_bytes(&self) -> usize {
        self.0.capacity() * 8 + self.0.iter().flatten().map(|v| value_bytes(v)).sum::<usize>()
    }
}

/// Heap bytes of a boxed JSON value (approximate: allocator overhead not counted).
pub(super) fn value_bytes(v: &Value) -> usize {
    fn inner(v: &Value) -> usize {
        match v {
            Value::String(s) => s.capacity(),
            Value::Array(a) => a.capacity() * std::mem::size_of::<Value>() + a.iter().map(inner).sum::<usize>(),
            // Entries of the (insertion-ordered) map: key, value, hash and an index slot.
            Value::Object(m) => m.iter().map(|(k, v)| 80 + k.capacity() + inner(v)).sum(),
            _ => 0,
        }
    }
    std::mem::size_of::<Value>() + inner(v)
}

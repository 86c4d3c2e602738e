//! What a WAL record says: the logical write operations, encoded compactly in binary.
//!
//! Records name collections and ids, never slots, so replaying them onto the last checkpoint
//! reproduces the same logical state whatever the slot layout (e.g. after `compact`).
//!
//! ```text
//! tag u8, then per tag:
//!   1 create     str(config JSON)
//!   2 drop       str(name)
//!   3 insert     str(collection) u32(count) count × item
//!   4 upsert     str(collection) item
//!   5 delete     str(collection) str(id)
//! item = str(id) u32(dim) dim × f32 u8(has metadata) [str(metadata JSON)]
//! str  = u32 length + UTF-8 bytes
//! ```

use needle_core::format::ByteCursor;
use needle_core::{Error, Result};

use crate::config::CollectionConfig;

const CREATE: u8 = 1;
const DROP: u8 = 2;
const INSERT: u8 = 3;
const UPSERT: u8 = 4;
const DELETE: u8 = 5;

/// One decoded write.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum WalOp {
    Create(CollectionConfig),
    Drop(String),
    Insert { collection: String, items: Vec<Item> },
    Upsert { collection: String, item: Item },
    Delete { collection: String, id: String },
}

/// One vector with its id and metadata.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Item {
    pub id: String,
    pub vector: Vec<f32>,
    pub metadata: Option<serde_json::Value>,
}

fn put_str(b: &mut Vec<u8>, s: &str) {
    b.extend_from_slice(&(s.len() as u32).to_le_bytes());
    b.extend_from_slice(s.as_bytes());
}

fn put_item(b: &mut Vec<u8>, id: &str, vector: &[f32], metadata: Option<&serde_json::Value>) -> Result<()> {
    put_str(b, id);
    b.extend_from_slice(&(vector.len() as u32).to_le_bytes());
    for x in vector {
        b.extend_from_slice(&x.to_le_bytes());
    }
    match metadata {
        None => b.push(0),
        Some(m) => {
            b.push(1);
            // Serialized in place behind a length placeholder: no temporary string per item.
            let at = b.len();
            b.extend_from_slice(&[0; 4]);
            serde_json::to_writer(&mut *b, m)?;
            let len = u32::try_from(b.len() - at - 4)
                .map_err(|_| Error::InvalidArgument("metadata of 4 GiB or more".to_string()))?;
            b[at..at + 4].copy_from_slice(&len.to_le_bytes());
        }
    }
    Ok(())
}

pub(crate) fn encode_create(config: &CollectionConfig) -> Result<Vec<u8>> {
    let mut b = vec![CREATE];
    put_str(&mut b, &serde_json::to_string(config)?);
    Ok(b)
}

pub(crate) fn encode_drop(name: &str) -> Vec<u8> {
    let mut b = vec![DROP];
    put_str(&mut b, name);
    b
}

/// Encodes an insert of `items`. The buffer is sized for the ids and vectors before writing (only
/// metadata can grow it): a bulk insert's record is as large as its vectors, and growing it by
/// doubling would leave the freed smaller copies resident in the allocator after the insert.
pub(crate) fn encode_insert<'a>(
    collection: &str,
    items: impl ExactSizeIterator<Item = (&'a str, &'a [f32], Option<&'a serde_json::Value>)> + Clone,
) -> Result<Vec<u8>> {
    let fixed: usize = items.clone().map(|(id, v, _)| 4 + id.len() + 4 + 4 * v.len() + 1).sum();
    let mut b = Vec::with_capacity(1 + 4 + collection.len() + 4 + fixed);
    b.push(INSERT);
    put_str(&mut b, collection);
    b.extend_from_slice(&(items.len() as u32).to_le_bytes());
    for (id, v, m) in items {
        put_item(&mut b, id, v, m)?;
    }
    Ok(b)
}

pub(crate) fn encode_upsert(
    collection: &str,
    id: &str,
    vector: &[f32],
    metadata: Option<&serde_json::Value>,
) -> Result<Vec<u8>> {
    let mut b = vec![UPSERT];
    put_str(&mut b, collection);
    put_item(&mut b, id, vector, metadata)?;
    Ok(b)
}

pub(crate) fn encode_delete(collection: &str, id: &str) -> Vec<u8> {
    let mut b = vec![DELETE];
    put_str(&mut b, collection);
    put_str(&mut b, id);
    b
}

/// One item: id, vector, optional metadata.
fn item(c: &mut ByteCursor<'_>) -> Result<Item> {
    let id = c.str_u32("id")?.to_string();
    let dim = c.u32("dimension")? as usize;
    let raw = c.take(dim.checked_mul(4).ok_or_else(|| c.error("dimension overflows"))?, "vector")?;
    let vector = raw.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes"))).collect();
    let metadata = match c.u8("metadata flag")? {
        0 => None,
        1 => Some(serde_json::from_str(c.str_u32("metadata")?).map_err(|e| c.error(format!("metadata: {e}")))?),
        _ => return Err(c.error("bad metadata flag")),
    };
    Ok(Item { id, vector, metadata })
}

/// Decodes one record's payload.
pub(crate) fn decode(b: &[u8]) -> Result<WalOp> {
    let mut c = ByteCursor::new(b, "wal record");
    let op = match c.u8("operation tag")? {
        CREATE => {
            WalOp::Create(serde_json::from_str(c.str_u32("config")?).map_err(|e| c.error(format!("config: {e}")))?)
        }
        DROP => WalOp::Drop(c.str_u32("collection")?.to_string()),
        INSERT => {
            let collection = c.str_u32("collection")?.to_string();
            let n = c.u32("item count")? as usize;
            // Each item takes at least 9 bytes: a count larger than that is corruption.
            if n > b.len() / 9 {
                return Err(c.error("implausible item count"));
            }
            let items = (0..n).map(|_| item(&mut c)).collect::<Result<Vec<_>>>()?;
            WalOp::Insert { collection, items }
        }
        UPSERT => {
            let collection = c.str_u32("collection")?.to_string();
            WalOp::Upsert { collection, item: item(&mut c)? }
        }
        DELETE => {
            let collection = c.str_u32("collection")?.to_string();
            WalOp::Delete { collection, id: c.str_u32("id")?.to_string() }
        }
        t => return Err(c.error(format!("unknown operation tag {t}"))),
    };
    c.finish()?;
    Ok(op)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_op_roundtrips_and_garbage_is_an_error() {
        let meta = serde_json::json!({"a": [1, 2.5, "x"], "b": null});
        let cases = vec![
            (encode_create(&CollectionConfig::new("c", 3)).unwrap(), WalOp::Create(CollectionConfig::new("c", 3))),
            (encode_drop("c"), WalOp::Drop("c".into())),
            (
                encode_insert(
                    "c",
                    [("a", &[1.0f32, 2.0, 3.0][..], Some(&meta)), ("b", &[0.5f32; 3][..], None)].into_iter(),
                )
                .unwrap(),
                WalOp::Insert {
                    collection: "c".into(),
                    items: vec![
                        Item { id: "a".into(), vector: vec![1.0, 2.0, 3.0], metadata: Some(meta.clone()) },
                        Item { id: "b".into(), vector: vec![0.5; 3], metadata: None },
                    ],
                },
            ),
            (
                encode_upsert("c", "a", &[9.0, 8.0, 7.0], None).unwrap(),
                WalOp::Upsert {
                    collection: "c".into(),
                    item: Item { id: "a".into(), vector: vec![9.0, 8.0, 7.0], metadata: None },
                },
            ),
            (encode_delete("c", "a"), WalOp::Delete { collection: "c".into(), id: "a".into() }),
        ];
        for (bytes, op) in cases {
            assert_eq!(decode(&bytes).unwrap(), op);
            for cut in 0..bytes.len() {
                assert!(decode(&bytes[..cut]).is_err());
            }
            let mut longer = bytes.clone();
            longer.push(0);
            assert!(decode(&longer).is_err());
        }
        assert!(decode(&[42]).is_err());
    }
}

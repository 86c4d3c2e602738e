//! The bytes of a collection's records section, and nothing else: how entries, the offsets table
//! and format 1's plain list are laid out, read (through `needle_core::format::ByteCursor`, so a
//! damaged section is a `corrupted` error at its offset, never a panic) and written.
//!
//! Kept apart from the store (`mod.rs`, which decides *when* to decode and holds the results) so
//! the layout can be read, and checked against `docs/format.md`, in one place. It knows nothing of
//! stages, the section's file offset or its checksum.
//!
//! ```text
//! format 2: u64 slot count n · (n + 1) × u64 offset of each entry from the first · entries
//! format 1: u64 record count n · n entries back to back
//! entry:    u8 flags (1 live, 2 has metadata) · live: u32 id length · id (UTF-8)
//!           · with metadata: u32 length · metadata JSON
//! ```

use std::borrow::Cow;

use needle_core::format::ByteCursor;
use needle_core::{Error, Result};
use serde_json::Value;

use super::docs::Docs;
use crate::collection::ids::IdTable;

/// A live vector's id and metadata.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Record {
    pub id: String,
    pub metadata: Option<serde_json::Value>,
}

const REC_LIVE: u8 = 1;
const REC_HAS_META: u8 = 2;
/// The component named in this section's errors.
pub(super) const WHAT: &str = "records section";

/// Where the entries of a format-2 section of `slots` slots start (None: overflow).
fn entries_start(slots: usize) -> Option<usize> {
    slots.checked_add(1)?.checked_mul(8)?.checked_add(8)
}

/// Checks a format-2 section's header against the catalog: the slot count, that the offsets table
/// fits, and the live count. Every other function here relies on this having passed.
pub(super) fn check_header(b: &[u8], slots: usize, live: usize) -> Result<()> {
    let n = ByteCursor::new(b, WHAT).u64("slot count").ok();
    if n != Some(slots as u64) {
        return Err(Error::corrupted(WHAT, 0, "slot count does not match the catalog"));
    }
    if entries_start(slots).is_none_or(|s| s > b.len()) {
        return Err(Error::corrupted(WHAT, 8, "offsets table truncated"));
    }
    if live > slots {
        return Err(Error::corrupted(WHAT, 0, "more live records than slots"));
    }
    if u32::try_from(slots).is_err() {
        return Err(Error::corrupted(WHAT, 0, "more slots than slot numbers"));
    }
    Ok(())
}

pub(super) fn duplicate(slot: usize) -> Error {
    Error::corrupted(WHAT, 0, format!("id of slot {slot} appears twice"))
}

/// One entry: `u8` flags, then for a live record the id and optional metadata JSON.
fn put_entry(b: &mut Vec<u8>, id: Option<&str>, meta: Option<&[u8]>) {
    let Some(id) = id else {
        b.push(0);
        return;
    };
    b.push(REC_LIVE | if meta.is_some() { REC_HAS_META } else { 0 });
    b.extend_from_slice(&(id.len() as u32).to_le_bytes());
    b.extend_from_slice(id.as_bytes());
    if let Some(m) = meta {
        b.extend_from_slice(&(m.len() as u32).to_le_bytes());
        b.extend_from_slice(m);
    }
}

/// Encodes one record as an entry (format 1's records are these back to back).
#[cfg(test)]
fn encode_entry(r: Option<&Record>, b: &mut Vec<u8>) -> Result<()> {
    let meta = r.and_then(|r| r.metadata.as_ref()).map(serde_json::to_vec).transpose()?;
    put_entry(b, r.map(|r| r.id.as_str()), meta.as_deref());
    Ok(())
}

/// A format-2 section of every slot of `ids`; `meta(slot)` is a live slot's metadata JSON.
pub(super) fn encode_section<'m>(
    ids: &IdTable,
    mut meta: impl FnMut(usize) -> Result<Option<Cow<'m, [u8]>>>,
) -> Result<Vec<u8>> {
    let n = ids.slots();
    let mut body = Vec::new();
    let mut offsets = Vec::with_capacity(n + 1);
    for slot in 0..n {
        offsets.push(body.len() as u64);
        let Some(id) = ids.id(slot as u32) else {
            body.push(0);
            continue;
        };
        put_entry(&mut body, Some(id), meta(slot)?.as_deref());
    }
    offsets.push(body.len() as u64);
    let mut b = Vec::with_capacity(8 + offsets.len() * 8 + body.len());
    b.extend_from_slice(&(n as u64).to_le_bytes());
    for o in offsets {
        b.extend_from_slice(&o.to_le_bytes());
    }
    b.extend_from_slice(&body);
    Ok(b)
}

/// A live entry as stored: its id and (file-relative position, bytes) of its metadata JSON.
pub(super) struct RawEntry<'a> {
    pub id: &'a str,
    pub meta: Option<(u64, &'a [u8])>,
}

/// One entry, its metadata left unparsed.
fn raw_entry<'a>(c: &mut ByteCursor<'a>) -> Result<Option<RawEntry<'a>>> {
    let flags = c.u8("entry flags")?;
    if flags & REC_LIVE == 0 {
        return Ok(None);
    }
    let id = c.str_u32("id")?;
    let meta = if flags & REC_HAS_META != 0 {
        let at = c.offset();
        Some((at, c.bytes_u32("metadata")?))
    } else {
        None
    };
    Ok(Some(RawEntry { id, meta }))
}

/// Parses a metadata document stored at `at`.
pub(super) fn parse_doc(at: u64, json: &[u8]) -> Result<Value> {
    serde_json::from_slice(json).map_err(|e| Error::corrupted(WHAT, at, format!("metadata: {e}")))
}

/// Format 1's records section: `u64` count, then the entries back to back.
pub(crate) fn decode_list(b: &[u8]) -> Result<Vec<Option<Record>>> {
    let mut c = ByteCursor::new(b, WHAT);
    let n = c.u64("record count")?;
    if n > b.len() as u64 {
        return Err(c.error_at(0, format!("implausible record count {n}")));
    }
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(match raw_entry(&mut c)? {
            None => None,
            Some(e) => {
                let metadata = e.meta.map(|(at, m)| parse_doc(at, m)).transpose()?;
                Some(Record { id: e.id.to_string(), metadata })
            }
        });
    }
    c.finish()?;
    Ok(out)
}

/// Offset `i` of the offsets table (which starts at byte 8; [`check_header`] checked it fits).
fn offset_of(b: &[u8], i: usize) -> u64 {
    let at = 8 + i * 8;
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

/// The entry of `slot` of a format-2 section of `slots` slots, read through the offsets table
/// (None: a tombstone or no such slot).
pub(super) fn entry_at(b: &[u8], slots: usize, slot: usize) -> Result<Option<RawEntry<'_>>> {
    if slot >= slots {
        return Ok(None);
    }
    let start = entries_start(slots).expect("checked by check_header");
    let body = &b[start..];
    let (from, to) = (offset_of(b, slot), offset_of(b, slot + 1));
    if from > to || to > body.len() as u64 {
        return Err(Error::corrupted(WHAT, (16 + slot * 8) as u64, "offset out of range"));
    }
    let mut c = ByteCursor::new(&body[from as usize..to as usize], WHAT).with_base((start + from as usize) as u64);
    let e = raw_entry(&mut c)?;
    if c.remaining() != 0 {
        return Err(c.error("entry longer than its offsets"));
    }
    Ok(e)
}

/// The ids of a format-2 section: every offset checked against the entries, flags and ids read,
/// metadata skipped; `live` is the catalog's live count.
pub(super) fn decode_ids(b: &[u8], slots: usize, live: usize) -> Result<IdTable> {
    let start = entries_start(slots).expect("checked by check_header");
    let mut c = ByteCursor::new(&b[start..], WHAT).with_base(start as u64);
    let mut ids = IdTable::with_capacity(slots, live, 0);
    for slot in 0..slots {
        if offset_of(b, slot) != c.pos() as u64 {
            return Err(Error::corrupted(WHAT, (8 + slot * 8) as u64, "offset does not match the entries"));
        }
        ids.push_unindexed(raw_entry(&mut c)?.map(|e| e.id));
    }
    if offset_of(b, slots) != c.pos() as u64 || c.remaining() != 0 {
        return Err(c.error("trailing bytes"));
    }
    if ids.live_count() != live {
        return Err(Error::corrupted(WHAT, 0, "live count does not match the catalog"));
    }
    ids.shrink_to_fit();
    ids.index_all().map_err(|slot| duplicate(slot as usize))?;
    Ok(ids)
}

/// The metadata of a format-2 section's slots that are live in `ids` (entries were checked by
/// [`decode_ids`]; only the JSON is parsed here).
pub(super) fn decode_docs(b: &[u8], slots: usize, ids: &IdTable) -> Result<Docs> {
    let mut docs = Docs::default();
    for slot in 0..slots {
        let doc = match ids.is_live(slot as u32) {
            true => entry_at(b, slots, slot)?
                .and_then(|e| e.meta)
                .map(|(at, m)| parse_doc(at, m).map(Box::new))
                .transpose()?,
            false => None,
        };
        docs.set(slot, doc);
    }
    docs.shrink_to_fit();
    Ok(docs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(records: &[Option<Record>]) -> Vec<u8> {
        let mut b = (records.len() as u64).to_le_bytes().to_vec();
        for r in records {
            encode_entry(r.as_ref(), &mut b).unwrap();
        }
        b
    }

    #[test]
    fn format_1_lists_roundtrip_and_every_truncation_is_an_error() {
        let recs = vec![
            Some(Record { id: "a".into(), metadata: Some(serde_json::json!({"x": 1.5, "n": {"y": [1, "z"]}})) }),
            None,
            Some(Record { id: "é-2".into(), metadata: None }),
        ];
        let b = list(&recs);
        assert_eq!(decode_list(&b).unwrap(), recs);
        for cut in 0..b.len() {
            assert!(decode_list(&b[..cut]).is_err(), "truncation at {cut} accepted");
        }
        let mut long = b.clone();
        long.push(0);
        assert!(decode_list(&long).is_err(), "trailing bytes accepted");
        let mut big = b.clone();
        big[..8].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(decode_list(&big).is_err());
    }
}

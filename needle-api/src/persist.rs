//! How a database is laid out in sections of the `.needle` container (see `needle_core::format`
//! and `docs/format.md`): one catalog section (JSON: each collection's config, component ids and
//! versions, counts), then per collection binary sections for vectors, codes, quantizer state,
//! index structure and records.
//!
//! Loading checks every length and cross-reference; anything inconsistent is
//! [`Error::Corrupted`], never a panic.

use std::collections::HashMap;
use std::sync::Arc;

use needle_core::format::{Section, SectionKind};
use needle_core::store::VectorStore;
use needle_core::{Components, Distance, Error, Registry, Result};
use serde::{Deserialize, Serialize};

use crate::collection::{Record, State};
use crate::config::CollectionConfig;

/// The catalog section's content.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Catalog {
    pub collections: Vec<CatalogEntry>,
}

/// One collection in the catalog.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct CatalogEntry {
    pub config: CollectionConfig,
    pub components: Components,
    /// Versions of the serialised forms of the index and quantizer.
    pub index_version: u32,
    pub quantizer_version: u32,
    /// Version of the distance's definition (absent in files written before it was recorded).
    #[serde(default = "version_one")]
    pub distance_version: u32,
    /// Slots (including tombstones) and live vectors.
    pub slots: u64,
    pub live: u64,
}

/// Encodes one collection's sections (owner = its position in the catalog + 1).
pub(crate) fn encode_collection(
    registry: &Registry,
    config: &CollectionConfig,
    components: &Components,
    st: &State,
    owner: u32,
    out: &mut Vec<Section>,
) -> Result<CatalogEntry> {
    let n = st.store.len();
    let mut vectors = Vec::with_capacity(n * config.dimensions * 4);
    for slot in 0..n as u32 {
        for x in st.store.vector(slot) {
            vectors.extend_from_slice(&x.to_le_bytes());
        }
    }
    out.push(Section { kind: SectionKind::Vectors, owner, data: vectors });
    if st.store.code_len() > 0 {
        out.push(Section { kind: SectionKind::Codes, owner, data: st.store.codes().data.to_vec() });
    }
    out.push(Section { kind: SectionKind::Quantizer, owner, data: st.quantizer.save() });
    let mut index = Vec::new();
    st.index.save(&mut index)?;
    out.push(Section { kind: SectionKind::Index, owner, data: index });
    out.push(Section { kind: SectionKind::Records, owner, data: encode_records(&st.records)? });
    Ok(CatalogEntry {
        config: config.clone(),
        components: components.clone(),
        index_version: registry.index(&components.index)?.version(),
        quantizer_version: registry.quantizer(&components.quantizer)?.version(),
        distance_version: registry.distance(&components.distance)?.version(),
        slots: n as u64,
        live: st.live() as u64,
    })
}

fn version_one() -> u32 {
    1
}

const REC_LIVE: u8 = 1;
const REC_HAS_META: u8 = 2;

fn encode_records(records: &[Option<Record>]) -> Result<Vec<u8>> {
    let mut b = Vec::new();
    b.extend_from_slice(&(records.len() as u64).to_le_bytes());
    for r in records {
        match r {
            None => b.push(0),
            Some(r) => {
                let meta = r.metadata.as_ref().map(serde_json::to_vec).transpose()?;
                b.push(REC_LIVE | if meta.is_some() { REC_HAS_META } else { 0 });
                b.extend_from_slice(&(r.id.len() as u32).to_le_bytes());
                b.extend_from_slice(r.id.as_bytes());
                if let Some(m) = meta {
                    b.extend_from_slice(&(m.len() as u32).to_le_bytes());
                    b.extend_from_slice(&m);
                }
            }
        }
    }
    Ok(b)
}

struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.b.len());
        let end = end.ok_or_else(|| Error::corrupted("records section", self.pos as u64, "truncated"))?;
        let s = &self.b[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes")))
    }
    fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().expect("8 bytes")))
    }
}

fn decode_records(b: &[u8]) -> Result<Vec<Option<Record>>> {
    let mut r = Reader { b, pos: 0 };
    let n = r.u64()?;
    if n > b.len() as u64 {
        return Err(Error::corrupted("records section", 0, format!("implausible record count {n}")));
    }
    let mut out = Vec::with_capacity(n as usize);
    for _ in 0..n {
        let flags = r.u8()?;
        if flags & REC_LIVE == 0 {
            out.push(None);
            continue;
        }
        let at = r.pos as u64;
        let len = r.u32()? as usize;
        let id = std::str::from_utf8(r.take(len)?)
            .map_err(|_| Error::corrupted("records section", at, "id is not UTF-8"))?
            .to_string();
        let metadata = if flags & REC_HAS_META != 0 {
            let at = r.pos as u64;
            let len = r.u32()? as usize;
            Some(
                serde_json::from_slice(r.take(len)?)
                    .map_err(|e| Error::corrupted("records section", at, format!("metadata: {e}")))?,
            )
        } else {
            None
        };
        out.push(Some(Record { id, metadata }));
    }
    if r.pos != b.len() {
        return Err(Error::corrupted("records section", r.pos as u64, "trailing bytes"));
    }
    Ok(out)
}

/// Rebuilds a collection's state from its catalog entry and sections.
pub(crate) fn decode_collection(
    registry: &Registry,
    entry: &CatalogEntry,
    sections: &HashMap<SectionKind, &Section>,
) -> Result<(Arc<dyn Distance>, State)> {
    let config = &entry.config;
    let c = &entry.components;
    let dim = config.dimensions;
    let distance = registry.distance(&c.distance)?;
    let index_factory = registry.index(&c.index)?;
    let quant_factory = registry.quantizer(&c.quantizer)?;
    if index_factory.version() < entry.index_version || quant_factory.version() < entry.quantizer_version {
        return Err(Error::UnsupportedVersion {
            found: entry.index_version.max(entry.quantizer_version),
            supported: index_factory.version().min(quant_factory.version()),
        });
    }
    if distance.version() < entry.distance_version {
        return Err(Error::InvalidConfig(format!(
            "collection '{}' was written with distance '{}' version {}, but the one loaded is version {}: \
             load the plugin build that wrote it (or a newer one)",
            config.name,
            c.distance,
            entry.distance_version,
            distance.version()
        )));
    }
    let section = |kind: SectionKind| {
        sections.get(&kind).copied().ok_or_else(|| {
            Error::corrupted(format!("collection '{}'", config.name), 0, format!("missing {kind:?} section"))
        })
    };
    let name = &config.name;
    let vectors = &section(SectionKind::Vectors)?.data;
    let n = entry.slots as usize;
    if dim == 0 || vectors.len() != n.checked_mul(dim * 4).unwrap_or(usize::MAX) {
        return Err(Error::corrupted(format!("vectors of '{name}'"), 0, "length does not match slots × dimensions"));
    }
    let mut store = VectorStore::new(dim, distance.needs_norms());
    store.reserve(n);
    let mut row = vec![0f32; dim];
    for chunk in vectors.chunks_exact(dim * 4) {
        for (x, b) in row.iter_mut().zip(chunk.chunks_exact(4)) {
            *x = f32::from_le_bytes(b.try_into().expect("4 bytes"));
        }
        store.push(&row, None);
    }
    let quantizer = quant_factory.load(dim, &section(SectionKind::Quantizer)?.data)?;
    if let Some(codes) = sections.get(&SectionKind::Codes) {
        let code_len = quantizer.code_len();
        if code_len == 0 || codes.data.len() != n * code_len || !quantizer.is_trained() {
            return Err(Error::corrupted(format!("codes of '{name}'"), 0, "length does not match the quantizer"));
        }
        store.set_codes(code_len, codes.data.clone());
    } else if quantizer.is_trained() && quantizer.code_len() > 0 {
        store.encode_all(&*quantizer);
    }
    let index = index_factory.load(dim, &c.index_params, &section(SectionKind::Index)?.data)?;
    let records = decode_records(&section(SectionKind::Records)?.data)?;
    if records.len() != n {
        return Err(Error::corrupted(format!("records of '{name}'"), 0, "count does not match slots"));
    }
    let mut ids = HashMap::with_capacity(entry.live as usize);
    for (slot, r) in records.iter().enumerate() {
        if let Some(r) = r {
            if !index.contains(slot as u32) || ids.insert(r.id.clone(), slot as u32).is_some() {
                return Err(Error::corrupted(format!("records of '{name}'"), 0, format!("inconsistent record {slot}")));
            }
        }
    }
    if ids.len() as u64 != entry.live || index.len() != ids.len() {
        return Err(Error::corrupted(format!("collection '{name}'"), 0, "live counts disagree"));
    }
    // Field indexes and BM25 postings are derived from the records: rebuilt here, not stored.
    let meta = crate::filter::MetaIndexes::rebuilt(config.text_field.as_deref(), &records);
    Ok((distance, State { store, index, quantizer, ids, records, meta }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_roundtrip_and_reject_garbage() {
        let recs = vec![
            Some(Record { id: "a".into(), metadata: Some(serde_json::json!({"x": 1.5, "n": {"y": [1, "z"]}})) }),
            None,
            Some(Record { id: "é-2".into(), metadata: None }),
        ];
        let b = encode_records(&recs).unwrap();
        assert_eq!(decode_records(&b).unwrap(), recs);
        for cut in 0..b.len() {
            assert!(decode_records(&b[..cut]).is_err(), "truncation at {cut} accepted");
        }
        let mut big = b.clone();
        big[0..8].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(decode_records(&big).is_err());
    }
}

//! How a database is laid out in sections of the `.needle` container (see `needle_core::format`
//! and `docs/format.md`): one catalog section (JSON: each collection's config, component ids and
//! versions, counts), then per collection binary sections for vectors, codes, quantizer state,
//! index structure and records.
//!
//! Loading checks every length and cross-reference; anything inconsistent is
//! [`Error::Corrupted`], never a panic.
//!
//! Format 2 stores vector rows at the store's padded stride (64-byte aligned rows) and the norms
//! in their own section, so a collection of a mapped file uses them in place
//! ([`VectorStore::from_mapped`]); its records are decoded lazily (`collection::records`). Format 1
//! files (packed rows, no norms, no record offsets) are still read, into memory.

use std::collections::HashMap;
use std::sync::Arc;

use needle_core::arena::VectorStore;
use needle_core::format::{LoadedSection, Section, SectionKind};
use needle_core::{Components, Distance, Error, Registry, Result};
use serde::{Deserialize, Serialize};

use crate::collection::{decode_record_list, DocCache, Records, State};
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
    let mut vectors = Vec::with_capacity(n * st.store.stride() * 4);
    for x in st.store.padded_rows() {
        vectors.extend_from_slice(&x.to_le_bytes());
    }
    out.push(Section { kind: SectionKind::Vectors, owner, data: vectors });
    if !st.store.norms().is_empty() {
        let norms = st.store.norms().iter().flat_map(|x| x.to_le_bytes()).collect();
        out.push(Section { kind: SectionKind::Norms, owner, data: norms });
    }
    if st.store.code_len() > 0 {
        out.push(Section { kind: SectionKind::Codes, owner, data: st.store.codes().data.to_vec() });
    }
    out.push(Section { kind: SectionKind::Quantizer, owner, data: st.quantizer.save() });
    let mut index = Vec::new();
    st.index.save(&mut index)?;
    out.push(Section { kind: SectionKind::Index, owner, data: index });
    let records = st.records.encode()?.into_owned();
    out.push(Section { kind: SectionKind::Records, owner, data: records });
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

/// Rebuilds a collection's state from its catalog entry and sections (of a file of
/// `format_version`). Mapped sections are used in place; see the module docs.
pub(crate) fn decode_collection(
    registry: &Registry,
    entry: &CatalogEntry,
    sections: &HashMap<SectionKind, &LoadedSection>,
    format_version: u32,
    cache: &Arc<DocCache>,
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
    let n = usize::try_from(entry.slots).unwrap_or(usize::MAX);
    let vectors = section(SectionKind::Vectors)?;
    let norms = sections.get(&SectionKind::Norms).copied();
    let mut store = load_store(dim, distance.needs_norms(), n, vectors, norms, format_version).ok_or_else(|| {
        Error::corrupted(format!("vectors of '{name}'"), 0, "length does not match slots × dimensions")
    })?;
    let quantizer = quant_factory.load(dim, &section(SectionKind::Quantizer)?.data)?;
    if let Some(codes) = sections.get(&SectionKind::Codes) {
        let code_len = quantizer.code_len();
        let fits = code_len > 0 && Some(codes.data.len()) == n.checked_mul(code_len) && quantizer.is_trained();
        if !fits {
            return Err(Error::corrupted(format!("codes of '{name}'"), 0, "length does not match the quantizer"));
        }
        if !(codes.data.is_mapped() && store.set_codes_mapped(code_len, codes.data.clone())) {
            store.set_codes(code_len, codes.data.to_vec());
        }
    } else if quantizer.is_trained() && quantizer.code_len() > 0 {
        store.encode_all(&*quantizer);
    }
    let index = index_factory.load_shared(dim, &c.index_params, section(SectionKind::Index)?.data.clone())?;
    let recs = section(SectionKind::Records)?;
    let live = usize::try_from(entry.live).unwrap_or(usize::MAX);
    let text_field = config.text_field.as_deref();
    let records = if format_version >= 2 {
        let lazy = Records::lazy(recs.clone(), n, live, text_field, cache.clone())?;
        if recs.data.is_mapped() {
            // Not decoded now. The index must still cover exactly `live` slots, all below `n`
            // (counting them is a bitmap walk, not a decode).
            let covered = (0..n as u32).filter(|&s| index.contains(s)).count();
            if index.len() != live || covered != live {
                return Err(Error::corrupted(format!("collection '{name}'"), 0, "live counts disagree"));
            }
            return Ok((distance, State { store, index, quantizer, records: lazy }));
        }
        lazy.into_decoded()?
    } else {
        Records::from_records(decode_record_list(&recs.data)?, text_field)?
    };
    let ids = records.ids()?;
    if ids.slots() != n {
        return Err(Error::corrupted(format!("records of '{name}'"), 0, "count does not match slots"));
    }
    if let Some(slot) = ids.live_slots().find(|&s| !index.contains(s)) {
        return Err(Error::corrupted(format!("records of '{name}'"), 0, format!("inconsistent record {slot}")));
    }
    if ids.live_count() != live || index.len() != live {
        return Err(Error::corrupted(format!("collection '{name}'"), 0, "live counts disagree"));
    }
    Ok((distance, State { store, index, quantizer, records }))
}

/// The vector store of `n` rows: in place when the sections are mapped (format 2 with its norms),
/// else copied row by row. `None` when a length is wrong.
fn load_store(
    dim: usize,
    keep_norms: bool,
    n: usize,
    vectors: &LoadedSection,
    norms: Option<&LoadedSection>,
    format_version: u32,
) -> Option<VectorStore> {
    if dim == 0 {
        return None;
    }
    let row_floats = if format_version >= 2 { VectorStore::stride_for(dim) } else { dim };
    if vectors.data.len() != n.checked_mul(row_floats.checked_mul(4)?)? {
        return None;
    }
    if format_version >= 2 && vectors.data.is_mapped() && (norms.is_some() || !keep_norms || n == 0) {
        let norms = norms.filter(|_| keep_norms).map(|s| s.data.clone());
        let norms = if keep_norms && n == 0 { norms.or_else(|| Some(vectors.data.clone())) } else { norms };
        if let Some(store) = VectorStore::from_mapped(dim, keep_norms, n, vectors.data.clone(), norms) {
            return Some(store);
        }
    }
    let mut store = VectorStore::new(dim, keep_norms);
    store.reserve(n);
    let mut row = vec![0f32; dim];
    for chunk in vectors.data.chunks_exact(row_floats * 4) {
        for (x, b) in row.iter_mut().zip(chunk.chunks_exact(4)) {
            *x = f32::from_le_bytes(b.try_into().expect("4 bytes"));
        }
        store.push(&row, None);
    }
    Some(store)
}

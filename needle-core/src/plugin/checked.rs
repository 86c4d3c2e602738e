//! The host's copies of plugin vtables, made once when a plugin is loaded.
//!
//! A C vtable's function slots may be NULL, so [`super::abi`] types them `Option<fn>`. Loading
//! copies each vtable into one of these structs, where every required function is a plain
//! function pointer (a NULL one is a load error naming it) and only the ABI's optional entries
//! (`release`, `insert_batch`) stay `Option`. Calls then never check or `expect` again.

use std::ffi::{c_char, c_void};

use super::abi::*;

/// [`PluginDistanceVTable`] with its required functions checked present.
#[derive(Clone, Copy)]
pub(crate) struct DistanceFns {
    pub metric: i32,
    pub needs_norms: u32,
    pub backend_name: *const c_char,
    pub state: *mut c_void,
    pub release: Option<ReleaseFn>,
    pub distances_to_ids: DistanceDistancesToIdsFn,
    pub distances_to_all: DistanceDistancesToAllFn,
}

impl DistanceFns {
    /// Copies `vt`; `Err` names the first required function that is NULL.
    pub(crate) fn copy(vt: &PluginDistanceVTable) -> Result<Self, &'static str> {
        Ok(DistanceFns {
            metric: vt.metric,
            needs_norms: vt.needs_norms,
            backend_name: vt.backend_name,
            state: vt.state,
            release: vt.release,
            distances_to_ids: vt.distances_to_ids.ok_or("distances_to_ids")?,
            distances_to_all: vt.distances_to_all.ok_or("distances_to_all")?,
        })
    }
}

/// [`PluginQuantizerVTable`] with its required functions checked present.
#[derive(Clone, Copy)]
pub(crate) struct QuantizerFns {
    pub state: *mut c_void,
    pub release: Option<ReleaseFn>,
    pub create: QuantizerCreateFn,
    pub load: QuantizerLoadFn,
    pub destroy: QuantizerDestroyFn,
    pub code_len: QuantizerCodeLenFn,
    pub supports: QuantizerSupportsFn,
    pub is_trained: QuantizerIsTrainedFn,
    pub train: QuantizerTrainFn,
    pub encode: QuantizerEncodeFn,
    pub decode: QuantizerDecodeFn,
    pub prepare_query: QuantizerPrepareQueryFn,
    pub distances_to_ids: QuantizerDistancesToIdsFn,
    pub save: QuantizerSaveFn,
}

impl QuantizerFns {
    /// Copies `vt`; `Err` names the first required function that is NULL.
    pub(crate) fn copy(vt: &PluginQuantizerVTable) -> Result<Self, &'static str> {
        Ok(QuantizerFns {
            state: vt.state,
            release: vt.release,
            create: vt.create.ok_or("create")?,
            load: vt.load.ok_or("load")?,
            destroy: vt.destroy.ok_or("destroy")?,
            code_len: vt.code_len.ok_or("code_len")?,
            supports: vt.supports.ok_or("supports")?,
            is_trained: vt.is_trained.ok_or("is_trained")?,
            train: vt.train.ok_or("train")?,
            encode: vt.encode.ok_or("encode")?,
            decode: vt.decode.ok_or("decode")?,
            prepare_query: vt.prepare_query.ok_or("prepare_query")?,
            distances_to_ids: vt.distances_to_ids.ok_or("distances_to_ids")?,
            save: vt.save.ok_or("save")?,
        })
    }
}

/// [`PluginIndexVTable`] with its required functions checked present.
#[derive(Clone, Copy)]
pub(crate) struct IndexFns {
    pub state: *mut c_void,
    pub release: Option<ReleaseFn>,
    pub create: IndexCreateFn,
    pub load: IndexLoadFn,
    pub destroy: IndexDestroyFn,
    pub params_json: IndexParamsJsonFn,
    pub len: IndexLenFn,
    pub insert: IndexInsertFn,
    pub insert_batch: Option<IndexInsertBatchFn>,
    pub remove: IndexRemoveFn,
    pub contains: IndexContainsFn,
    pub search: IndexSearchFn,
    pub save: IndexSaveFn,
    pub memory_bytes: IndexMemoryBytesFn,
}

impl IndexFns {
    /// Copies `vt`; `Err` names the first required function that is NULL.
    pub(crate) fn copy(vt: &PluginIndexVTable) -> Result<Self, &'static str> {
        Ok(IndexFns {
            state: vt.state,
            release: vt.release,
            create: vt.create.ok_or("create")?,
            load: vt.load.ok_or("load")?,
            destroy: vt.destroy.ok_or("destroy")?,
            params_json: vt.params_json.ok_or("params_json")?,
            len: vt.len.ok_or("len")?,
            insert: vt.insert.ok_or("insert")?,
            insert_batch: vt.insert_batch,
            remove: vt.remove.ok_or("remove")?,
            contains: vt.contains.ok_or("contains")?,
            search: vt.search.ok_or("search")?,
            save: vt.save.ok_or("save")?,
            memory_bytes: vt.memory_bytes.ok_or("memory_bytes")?,
        })
    }
}

/// [`PluginCipherVTable`] with its required functions checked present.
#[derive(Clone, Copy)]
pub(crate) struct CipherFns {
    pub key_len: u32,
    pub state: *mut c_void,
    pub release: Option<ReleaseFn>,
    pub create: CipherCreateFn,
    pub destroy: CipherDestroyFn,
    pub overhead: CipherOverheadFn,
    pub seal: CipherSealFn,
    pub open: CipherOpenFn,
}

impl CipherFns {
    /// Copies `vt`; `Err` names the first required function that is NULL.
    pub(crate) fn copy(vt: &PluginCipherVTable) -> Result<Self, &'static str> {
        Ok(CipherFns {
            key_len: vt.key_len,
            state: vt.state,
            release: vt.release,
            create: vt.create.ok_or("create")?,
            destroy: vt.destroy.ok_or("destroy")?,
            overhead: vt.overhead.ok_or("overhead")?,
            seal: vt.seal.ok_or("seal")?,
            open: vt.open.ok_or("open")?,
        })
    }
}

/// [`PluginStorageVTable`] with its required functions checked present.
#[derive(Clone, Copy)]
pub(crate) struct StorageFns {
    pub state: *mut c_void,
    pub release: Option<ReleaseFn>,
    pub open: StorageOpenFn,
    pub destroy: StorageDestroyFn,
    pub len: StorageLenFn,
    pub read_at: StorageReadAtFn,
    pub write_at: StorageWriteAtFn,
    pub set_len: StorageSetLenFn,
    pub sync: StorageSyncFn,
}

impl StorageFns {
    /// Copies `vt`; `Err` names the first required function that is NULL.
    pub(crate) fn copy(vt: &PluginStorageVTable) -> Result<Self, &'static str> {
        Ok(StorageFns {
            state: vt.state,
            release: vt.release,
            open: vt.open.ok_or("open")?,
            destroy: vt.destroy.ok_or("destroy")?,
            len: vt.len.ok_or("len")?,
            read_at: vt.read_at.ok_or("read_at")?,
            write_at: vt.write_at.ok_or("write_at")?,
            set_len: vt.set_len.ok_or("set_len")?,
            sync: vt.sync.ok_or("sync")?,
        })
    }
}

/// One checked vtable, by kind.
#[derive(Clone, Copy)]
pub(crate) enum Fns {
    Distance(DistanceFns),
    Quantizer(QuantizerFns),
    Index(IndexFns),
    Cipher(CipherFns),
    Storage(StorageFns),
}

impl Fns {
    /// The component kind these functions implement.
    pub(crate) fn kind(&self) -> crate::error::ComponentKind {
        use crate::error::ComponentKind as K;
        match self {
            Fns::Distance(_) => K::Distance,
            Fns::Quantizer(_) => K::Quantizer,
            Fns::Index(_) => K::Index,
            Fns::Cipher(_) => K::Cipher,
            Fns::Storage(_) => K::Storage,
        }
    }
}

// SAFETY: the ABI requires every vtable function to be callable from any thread (writers are
// serialised by the host); `state` and the strings are the plugin's, immutable while it is loaded.
unsafe impl Send for Fns {}
// SAFETY: as above.
unsafe impl Sync for Fns {}
// SAFETY: as for [`Fns`].
unsafe impl Send for DistanceFns {}
// SAFETY: as for [`Fns`].
unsafe impl Sync for DistanceFns {}
// SAFETY: as for [`Fns`].
unsafe impl Send for QuantizerFns {}
// SAFETY: as for [`Fns`].
unsafe impl Sync for QuantizerFns {}
// SAFETY: as for [`Fns`].
unsafe impl Send for IndexFns {}
// SAFETY: as for [`Fns`].
unsafe impl Sync for IndexFns {}
// SAFETY: as for [`Fns`].
unsafe impl Send for CipherFns {}
// SAFETY: as for [`Fns`].
unsafe impl Sync for CipherFns {}
// SAFETY: as for [`Fns`].
unsafe impl Send for StorageFns {}
// SAFETY: as for [`Fns`].
unsafe impl Sync for StorageFns {}

impl std::fmt::Debug for DistanceFns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DistanceFns")
    }
}

impl std::fmt::Debug for QuantizerFns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("QuantizerFns")
    }
}

impl std::fmt::Debug for IndexFns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IndexFns")
    }
}

impl std::fmt::Debug for CipherFns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CipherFns")
    }
}

impl std::fmt::Debug for StorageFns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StorageFns")
    }
}

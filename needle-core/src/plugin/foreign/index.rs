//! A plugin index: its factory and instances ([`ForeignIndex`]); searches pass the host's
//! vector source (`super::source`) and filter through the ABI.

use super::source::with_source;
use super::*;
/// A plugin index factory.
#[derive(Debug)]
pub struct ForeignIndexFactory {
    pub(super) plugin: Arc<PluginHandle>,
    pub(super) vt: IndexFns,
}

impl IndexFactory for ForeignIndexFactory {
    fn id(&self) -> &str {
        &self.plugin.id
    }
    fn version(&self) -> u32 {
        self.plugin.version
    }
    fn create(&self, dim: usize, params: &serde_json::Value) -> Result<Box<dyn Index>> {
        let vt = &self.vt;
        let params = CString::new(params.to_string()).map_err(|e| Error::InvalidConfig(e.to_string()))?;
        let mut obj = std::ptr::null_mut();
        let mut err = PluginError::default();
        // SAFETY: arguments are valid for the call; `obj` receives the plugin's instance.
        let s = unsafe { (vt.create)(vt.state, dim, params.as_ptr(), &mut obj, &mut err) };
        self.plugin.check(s, &err)?;
        ForeignIndex::boxed(self.plugin.clone(), self.vt, obj)
    }
    fn load(&self, dim: usize, params: &serde_json::Value, bytes: &[u8]) -> Result<Box<dyn Index>> {
        let vt = &self.vt;
        let params = CString::new(params.to_string()).map_err(|e| Error::InvalidConfig(e.to_string()))?;
        let mut obj = std::ptr::null_mut();
        let mut err = PluginError::default();
        // SAFETY: as in create; `bytes` is valid for the call.
        let s = unsafe { (vt.load)(vt.state, dim, params.as_ptr(), bytes.as_ptr(), bytes.len(), &mut obj, &mut err) };
        self.plugin.check(s, &err)?;
        ForeignIndex::boxed(self.plugin.clone(), self.vt, obj)
    }
}

/// A plugin index instance as an [`Index`].
pub struct ForeignIndex {
    pub(super) plugin: Arc<PluginHandle>,
    pub(super) vt: IndexFns,
    obj: *mut c_void,
}

// SAFETY: the ABI requires readers to be thread-safe; writers take `&mut self`.
unsafe impl Send for ForeignIndex {}
// SAFETY: as above.
unsafe impl Sync for ForeignIndex {}

impl std::fmt::Debug for ForeignIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ForeignIndex").field("id", &self.plugin.id).finish()
    }
}

impl ForeignIndex {
    fn boxed(plugin: Arc<PluginHandle>, vt: IndexFns, obj: *mut c_void) -> Result<Box<dyn Index>> {
        if obj.is_null() {
            return Err(plugin_err(format!("plugin '{}' returned no index", plugin.id)));
        }
        Ok(Box::new(ForeignIndex { plugin, vt, obj }))
    }
    fn vt(&self) -> &IndexFns {
        &self.vt
    }
}

impl Drop for ForeignIndex {
    fn drop(&mut self) {
        // SAFETY: obj came from this plugin's create/load and is destroyed once.
        unsafe { (self.vt().destroy)(self.obj) }
    }
}

struct FilterCtx<'a> {
    filter: &'a (dyn Fn(u32) -> bool + Sync),
}

unsafe extern "C" fn filter_trampoline(ctx: *mut c_void, slot: u32) -> i32 {
    // SAFETY: ctx is this search's FilterCtx.
    let f = unsafe { &*ctx.cast::<FilterCtx<'_>>() };
    i32::from(catch_unwind(AssertUnwindSafe(|| (f.filter)(slot))).unwrap_or(false))
}

impl Index for ForeignIndex {
    fn id(&self) -> &str {
        &self.plugin.id
    }
    fn params(&self) -> serde_json::Value {
        let mut buf = Vec::new();
        let mut out = sink(&mut buf);
        let mut err = PluginError::default();
        // SAFETY: obj is live; `out` appends to `buf`.
        let s = unsafe { (self.vt().params_json)(self.obj, &mut out, &mut err) };
        if self.plugin.check(s, &err).is_err() {
            return serde_json::json!({});
        }
        serde_json::from_slice(&buf).unwrap_or_else(|_| serde_json::json!({}))
    }
    fn len(&self) -> usize {
        // SAFETY: obj is live.
        unsafe { (self.vt().len)(self.obj) }
    }
    fn insert(&mut self, slot: u32, source: &dyn VectorSource) -> Result<()> {
        let mut err = PluginError::default();
        let (obj, f) = (self.obj, self.vt().insert);
        // SAFETY: obj is live and exclusively borrowed; the source lives for the call.
        let s = with_source(source, |src| unsafe { f(obj, slot, src, &mut err) });
        self.plugin.check(s, &err)
    }
    fn insert_batch(&mut self, slots: &[u32], source: &dyn VectorSource) -> Result<()> {
        let Some(f) = self.vt().insert_batch else {
            for &s in slots {
                self.insert(s, source)?;
            }
            return Ok(());
        };
        let mut err = PluginError::default();
        let obj = self.obj;
        // SAFETY: obj is live and exclusively borrowed; slots and the source live for the call.
        let s = with_source(source, |src| unsafe { f(obj, slots.as_ptr(), slots.len(), src, &mut err) });
        self.plugin.check(s, &err)
    }
    fn delete(&mut self, slot: u32) -> Result<()> {
        let mut err = PluginError::default();
        // SAFETY: obj is live and exclusively borrowed.
        let s = unsafe { (self.vt().remove)(self.obj, slot, &mut err) };
        self.plugin.check(s, &err)
    }
    fn contains(&self, slot: u32) -> bool {
        // SAFETY: obj is live.
        unsafe { (self.vt().contains)(self.obj, slot) != 0 }
    }
    fn search(
        &self,
        query: &PreparedQuery,
        params: &IndexSearch<'_>,
        source: &dyn VectorSource,
        stats: &mut SearchStats,
    ) -> Result<Vec<Candidate>> {
        let mut fctx = params.filter.map(|filter| FilterCtx { filter });
        let p = PluginIndexSearch {
            k: params.k,
            ef: params.ef,
            filter_ctx: fctx.as_mut().map_or(std::ptr::null_mut(), |c| (c as *mut FilterCtx<'_>).cast()),
            filter: fctx.as_ref().map(|_| filter_trampoline as unsafe extern "C" fn(*mut c_void, u32) -> i32),
        };
        let mut out = vec![PluginCandidate::default(); params.k];
        let mut n = 0usize;
        let mut st = PluginSearchStats::default();
        let mut err = PluginError::default();
        let (obj, f) = (self.obj, self.vt().search);
        let q = (query as *const PreparedQuery).cast::<PluginQuery>();
        // SAFETY: every pointer is valid for the call; `out` has room for k candidates.
        let s = with_source(source, |src| unsafe { f(obj, q, &p, src, out.as_mut_ptr(), &mut n, &mut st, &mut err) });
        self.plugin.check(s, &err)?;
        if n > params.k {
            return Err(plugin_err(format!("plugin '{}' returned {n} results for k = {}", self.plugin.id, params.k)));
        }
        stats.layers_traversed += st.layers_traversed;
        stats.nodes_visited += st.nodes_visited;
        stats.distance_computations += st.distance_computations;
        Ok(out[..n].iter().map(|c| Candidate { slot: c.slot, distance: c.distance }).collect())
    }
    fn save(&self, out: &mut Vec<u8>) -> Result<()> {
        let mut sink_ = sink(out);
        let mut err = PluginError::default();
        // SAFETY: obj is live; the sink appends to `out`.
        let s = unsafe { (self.vt().save)(self.obj, &mut sink_, &mut err) };
        self.plugin.check(s, &err)
    }
    fn memory_bytes(&self) -> usize {
        // SAFETY: obj is live.
        unsafe { (self.vt().memory_bytes)(self.obj) }
    }
}

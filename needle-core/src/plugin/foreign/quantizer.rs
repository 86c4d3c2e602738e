//! A plugin quantizer: its factory and instances ([`ForeignQuantizer`]) over the vtable.

use super::*;
/// A plugin quantizer factory.
#[derive(Debug)]
pub struct ForeignQuantizerFactory {
    pub(super) plugin: Arc<PluginHandle>,
    pub(super) vt: QuantizerFns,
}

impl QuantizerFactory for ForeignQuantizerFactory {
    fn id(&self) -> &str {
        &self.plugin.id
    }
    fn version(&self) -> u32 {
        self.plugin.version
    }
    fn create(&self, dim: usize, params: &serde_json::Value) -> Result<Box<dyn Quantizer>> {
        let vt = &self.vt;
        let params = CString::new(params.to_string()).map_err(|e| Error::InvalidConfig(e.to_string()))?;
        let mut obj = std::ptr::null_mut();
        let mut err = PluginError::default();
        // SAFETY: arguments are valid for the call; `obj` receives the plugin's instance.
        let s = unsafe { (vt.create)(vt.state, dim, params.as_ptr(), &mut obj, &mut err) };
        self.plugin.check(s, &err)?;
        ForeignQuantizer::boxed(self.plugin.clone(), self.vt, obj, dim)
    }
    fn load(&self, dim: usize, bytes: &[u8]) -> Result<Box<dyn Quantizer>> {
        let vt = &self.vt;
        let mut obj = std::ptr::null_mut();
        let mut err = PluginError::default();
        // SAFETY: as in create; `bytes` is valid for the call.
        let s = unsafe { (vt.load)(vt.state, dim, bytes.as_ptr(), bytes.len(), &mut obj, &mut err) };
        self.plugin.check(s, &err)?;
        ForeignQuantizer::boxed(self.plugin.clone(), self.vt, obj, dim)
    }
}

/// A plugin quantizer instance as a [`Quantizer`].
pub struct ForeignQuantizer {
    pub(super) plugin: Arc<PluginHandle>,
    pub(super) vt: QuantizerFns,
    obj: *mut c_void,
    dim: usize,
}

// SAFETY: the ABI requires instance functions other than `train` to be thread-safe, and `train`
// takes `&mut self`, so Rust's aliasing rules serialise it.
unsafe impl Send for ForeignQuantizer {}
// SAFETY: as above.
unsafe impl Sync for ForeignQuantizer {}

impl std::fmt::Debug for ForeignQuantizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ForeignQuantizer").field("id", &self.plugin.id).field("dim", &self.dim).finish()
    }
}

impl ForeignQuantizer {
    fn boxed(plugin: Arc<PluginHandle>, vt: QuantizerFns, obj: *mut c_void, dim: usize) -> Result<Box<dyn Quantizer>> {
        if obj.is_null() {
            return Err(plugin_err(format!("plugin '{}' returned no quantizer", plugin.id)));
        }
        Ok(Box::new(ForeignQuantizer { plugin, vt, obj, dim }))
    }
    fn vt(&self) -> &QuantizerFns {
        &self.vt
    }
}

impl Drop for ForeignQuantizer {
    fn drop(&mut self) {
        // SAFETY: obj came from this plugin's create/load and is destroyed once.
        unsafe { (self.vt().destroy)(self.obj) }
    }
}

impl Quantizer for ForeignQuantizer {
    fn id(&self) -> &str {
        &self.plugin.id
    }
    fn code_len(&self) -> usize {
        // SAFETY: obj is live.
        unsafe { (self.vt().code_len)(self.obj) }
    }
    fn supports(&self, metric: Metric) -> bool {
        // SAFETY: obj is live.
        unsafe { (self.vt().supports)(self.obj, metric_to_abi(metric)) != 0 }
    }
    fn is_trained(&self) -> bool {
        // SAFETY: obj is live.
        unsafe { (self.vt().is_trained)(self.obj) != 0 }
    }
    fn train(&mut self, sample: &Rows<'_>) -> Result<()> {
        let r = rows_abi(sample);
        let mut err = PluginError::default();
        // SAFETY: obj is live and exclusively borrowed; `r` points into `sample` for the call.
        let s = unsafe { (self.vt().train)(self.obj, &r, &mut err) };
        self.plugin.check(s, &err)
    }
    fn encode(&self, vector: &[f32], out: &mut [u8]) {
        assert_eq!(vector.len(), self.dim, "vector length");
        assert_eq!(out.len(), self.code_len(), "code length");
        // SAFETY: both buffers are valid for their stated lengths during the call.
        unsafe { (self.vt().encode)(self.obj, vector.as_ptr(), vector.len(), out.as_mut_ptr(), out.len()) }
    }
    fn decode(&self, code: &[u8], out: &mut [f32]) {
        assert_eq!(out.len(), self.dim, "output length");
        assert_eq!(code.len(), self.code_len(), "code length");
        // SAFETY: both buffers are valid for their stated lengths during the call.
        unsafe { (self.vt().decode)(self.obj, code.as_ptr(), code.len(), out.as_mut_ptr(), out.len()) }
    }
    fn prepare_query(&self, query: &[f32], metric: Metric) -> Vec<u8> {
        assert_eq!(query.len(), self.dim, "query length");
        let mut buf = Vec::new();
        let mut out = sink(&mut buf);
        let mut err = PluginError::default();
        // SAFETY: query is valid; `out` appends to `buf`, which outlives the call.
        let s = unsafe {
            (self.vt().prepare_query)(self.obj, query.as_ptr(), query.len(), metric_to_abi(metric), &mut out, &mut err)
        };
        if let Err(e) = self.plugin.check(s, &err) {
            tracing::error!(error = %e, "plugin quantizer failed to prepare a query");
            buf.clear();
        }
        buf
    }
    fn distances_to_ids(&self, prepared: &[u8], metric: Metric, codes: &Codes<'_>, ids: &[u32], out: &mut [f32]) {
        assert_eq!(ids.len(), out.len(), "one output per id");
        let rows = codes.data.len().checked_div(codes.code_len).unwrap_or(0);
        assert!(ids.iter().all(|&i| (i as usize) < rows), "id out of range");
        // SAFETY: every buffer is valid for its stated length during the call; ids are in range.
        unsafe {
            (self.vt().distances_to_ids)(
                self.obj,
                prepared.as_ptr(),
                prepared.len(),
                metric_to_abi(metric),
                codes.data.as_ptr(),
                codes.code_len,
                rows,
                ids.as_ptr(),
                ids.len(),
                out.as_mut_ptr(),
            )
        }
    }
    fn save(&self) -> Vec<u8> {
        let mut buf = Vec::new();
        let mut out = sink(&mut buf);
        let mut err = PluginError::default();
        // SAFETY: obj is live; `out` appends to `buf`.
        let s = unsafe { (self.vt().save)(self.obj, &mut out, &mut err) };
        if let Err(e) = self.plugin.check(s, &err) {
            tracing::error!(error = %e, "plugin quantizer failed to save");
            buf.clear();
        }
        buf
    }
}

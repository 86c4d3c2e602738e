//! A plugin distance ([`ForeignDistance`]): infallible calls straight into the vtable.

use super::*;
/// A plugin distance as a [`Distance`].
#[derive(Debug)]
pub struct ForeignDistance {
    pub(super) plugin: Arc<PluginHandle>,
    pub(super) vt: DistanceFns,
    pub(super) metric: Option<Metric>,
    pub(super) needs_norms: bool,
    pub(super) backend: String,
}

impl Distance for ForeignDistance {
    fn id(&self) -> &str {
        &self.plugin.id
    }
    fn version(&self) -> u32 {
        self.plugin.version
    }
    fn metric(&self) -> Option<Metric> {
        self.metric
    }
    fn backend_name(&self) -> &str {
        &self.backend
    }
    fn needs_norms(&self) -> bool {
        self.needs_norms
    }
    fn distances_to_ids(&self, query: &[f32], query_norm: f32, rows: &Rows<'_>, ids: &[u32], out: &mut [f32]) {
        assert_eq!(ids.len(), out.len(), "one output per id");
        assert!(query.len() >= rows.dim, "query shorter than the rows");
        assert!(ids.iter().all(|&i| (i as usize) < rows.len()), "id out of range");
        let vt = &self.vt;
        let r = rows_abi(rows);
        let f = vt.distances_to_ids;
        // SAFETY: pointers cover query (dim floats), rows, ids and out (checked above); the plugin
        // only reads them during the call.
        unsafe { f(vt.state, query.as_ptr(), query_norm, &r, ids.as_ptr(), ids.len(), out.as_mut_ptr()) }
    }
    fn distances_to_all(&self, query: &[f32], query_norm: f32, rows: &Rows<'_>, out: &mut [f32]) {
        assert_eq!(out.len(), rows.len(), "one output per row");
        assert!(query.len() >= rows.dim, "query shorter than the rows");
        let vt = &self.vt;
        let r = rows_abi(rows);
        let f = vt.distances_to_all;
        // SAFETY: as in distances_to_ids.
        unsafe { f(vt.state, query.as_ptr(), query_norm, &r, out.as_mut_ptr()) }
    }
}

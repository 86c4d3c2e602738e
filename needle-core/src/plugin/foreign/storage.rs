//! A plugin storage backend: its factory and instances ([`ForeignStorage`]) over the vtable.

use super::*;
/// A plugin storage factory.
#[derive(Debug)]
pub struct ForeignStorageFactory {
    pub(super) plugin: Arc<PluginHandle>,
    pub(super) vt: StorageFns,
}

impl StorageFactory for ForeignStorageFactory {
    fn id(&self) -> &str {
        &self.plugin.id
    }
    fn version(&self) -> u32 {
        self.plugin.version
    }
    fn open(&self, path: Option<&std::path::Path>, options: &StorageOptions) -> Result<Box<dyn StorageBackend>> {
        let vt = &self.vt;
        let path = path
            .map(|p| {
                let bytes =
                    p.to_str().ok_or_else(|| Error::InvalidArgument(format!("{}: path is not UTF-8", p.display())))?;
                CString::new(bytes).map_err(|e| Error::InvalidArgument(e.to_string()))
            })
            .transpose()?;
        let mut obj = std::ptr::null_mut();
        let mut err = PluginError::default();
        // SAFETY: path is NULL or NUL-terminated for the call; `obj` receives the instance.
        let s = unsafe {
            (vt.open)(
                vt.state,
                path.as_ref().map_or(std::ptr::null(), |p| p.as_ptr()),
                i32::from(options.read_only),
                i32::from(options.create),
                &mut obj,
                &mut err,
            )
        };
        self.plugin.check(s, &err)?;
        if obj.is_null() {
            return Err(plugin_err(format!("plugin '{}' returned no storage", self.plugin.id)));
        }
        Ok(Box::new(ForeignStorage { plugin: self.plugin.clone(), vt: self.vt, obj }))
    }
}

/// A plugin storage instance as a [`StorageBackend`].
pub struct ForeignStorage {
    pub(super) plugin: Arc<PluginHandle>,
    pub(super) vt: StorageFns,
    obj: *mut c_void,
}

// SAFETY: the ABI requires storage functions to be thread-safe.
unsafe impl Send for ForeignStorage {}
// SAFETY: as above.
unsafe impl Sync for ForeignStorage {}

impl std::fmt::Debug for ForeignStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ForeignStorage").field("id", &self.plugin.id).finish()
    }
}

impl Drop for ForeignStorage {
    fn drop(&mut self) {
        // SAFETY: obj came from this plugin's open and is destroyed once.
        unsafe { (self.vt.destroy)(self.obj) }
    }
}

impl StorageBackend for ForeignStorage {
    fn id(&self) -> &str {
        &self.plugin.id
    }
    fn len(&self) -> Result<u64> {
        let (mut n, mut err) = (0u64, PluginError::default());
        // SAFETY: obj is live; `n` is writable.
        let s = unsafe { (self.vt.len)(self.obj, &mut n, &mut err) };
        self.plugin.check(s, &err).map(|()| n)
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        let mut err = PluginError::default();
        // SAFETY: obj is live; buf is writable for its length.
        let s = unsafe { (self.vt.read_at)(self.obj, offset, buf.as_mut_ptr(), buf.len(), &mut err) };
        self.plugin.check(s, &err)
    }
    fn write_at(&self, offset: u64, data: &[u8]) -> Result<()> {
        let mut err = PluginError::default();
        // SAFETY: obj is live; data is valid for its length.
        let s = unsafe { (self.vt.write_at)(self.obj, offset, data.as_ptr(), data.len(), &mut err) };
        self.plugin.check(s, &err)
    }
    fn set_len(&self, len: u64) -> Result<()> {
        let mut err = PluginError::default();
        // SAFETY: obj is live.
        let s = unsafe { (self.vt.set_len)(self.obj, len, &mut err) };
        self.plugin.check(s, &err)
    }
    fn sync(&self) -> Result<()> {
        let mut err = PluginError::default();
        // SAFETY: obj is live.
        let s = unsafe { (self.vt.sync)(self.obj, &mut err) };
        self.plugin.check(s, &err)
    }
}

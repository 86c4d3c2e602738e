//! A plugin cipher: its factory and instances ([`ForeignCipher`]) over the vtable.

use super::*;
/// A plugin cipher factory.
#[derive(Debug)]
pub struct ForeignCipherFactory {
    pub(super) plugin: Arc<PluginHandle>,
    pub(super) vt: CipherFns,
}

impl CipherFactory for ForeignCipherFactory {
    fn id(&self) -> &str {
        &self.plugin.id
    }
    fn version(&self) -> u32 {
        self.plugin.version
    }
    fn key_len(&self) -> usize {
        self.vt.key_len as usize
    }
    fn create(&self, key: &[u8]) -> Result<Box<dyn Cipher>> {
        let vt = &self.vt;
        let mut obj = std::ptr::null_mut();
        let mut err = PluginError::default();
        // SAFETY: the key is valid for the call; `obj` receives the plugin's instance.
        let s = unsafe { (vt.create)(vt.state, key.as_ptr(), key.len(), &mut obj, &mut err) };
        self.plugin.check(s, &err)?;
        if obj.is_null() {
            return Err(plugin_err(format!("plugin '{}' returned no cipher", self.plugin.id)));
        }
        Ok(Box::new(ForeignCipher { plugin: self.plugin.clone(), vt: self.vt, obj }))
    }
}

/// A plugin cipher instance as a [`Cipher`].
pub struct ForeignCipher {
    pub(super) plugin: Arc<PluginHandle>,
    pub(super) vt: CipherFns,
    obj: *mut c_void,
}

// SAFETY: the ABI requires cipher functions to be thread-safe.
unsafe impl Send for ForeignCipher {}
// SAFETY: as above.
unsafe impl Sync for ForeignCipher {}

impl std::fmt::Debug for ForeignCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ForeignCipher").field("id", &self.plugin.id).finish()
    }
}

impl Drop for ForeignCipher {
    fn drop(&mut self) {
        // SAFETY: obj came from this plugin's create and is destroyed once.
        unsafe { (self.vt.destroy)(self.obj) }
    }
}

type SealFn = unsafe extern "C" fn(
    *const c_void,
    *const u8,
    usize,
    *const u8,
    usize,
    *mut PluginBytes,
    *mut PluginError,
) -> PluginStatus;

impl ForeignCipher {
    fn run(&self, f: SealFn, data: &[u8], aad: &[u8]) -> Result<Vec<u8>> {
        let mut buf = Vec::new();
        let mut out = sink(&mut buf);
        let mut err = PluginError::default();
        // SAFETY: buffers are valid for the call; the sink appends to `buf`.
        let s = unsafe { f(self.obj, data.as_ptr(), data.len(), aad.as_ptr(), aad.len(), &mut out, &mut err) };
        self.plugin.check(s, &err)?;
        Ok(buf)
    }
}

impl Cipher for ForeignCipher {
    fn id(&self) -> &str {
        &self.plugin.id
    }
    fn overhead(&self) -> usize {
        // SAFETY: obj is live.
        unsafe { (self.vt.overhead)(self.obj) }
    }
    fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>> {
        self.run(self.vt.seal, plaintext, aad)
    }
    fn open(&self, sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>> {
        self.run(self.vt.open, sealed, aad)
    }
}

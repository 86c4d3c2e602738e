//! Loading copies a vtable into a struct of plain function pointers (`checked`): a required
//! entry left NULL must be refused at load with a message naming it, never found at call time.

use super::abi::*;
use super::loader;

struct Static<T>(T);
// SAFETY: the wrapped descriptor and vtable are immutable and point only at statics.
unsafe impl<T> Sync for Static<T> {}

static EMPTY_DISTANCE: Static<PluginDistanceVTable> = Static(PluginDistanceVTable {
    struct_size: std::mem::size_of::<PluginDistanceVTable>() as u32,
    metric: metric::NONE,
    needs_norms: 0,
    backend_name: std::ptr::null(),
    state: std::ptr::null_mut(),
    release: None,
    distances_to_ids: None,
    distances_to_all: None,
});

static NO_FUNCTIONS: Static<PluginDescriptor> = Static(PluginDescriptor {
    abi_version: NEEDLE_PLUGIN_ABI_VERSION,
    struct_size: std::mem::size_of::<PluginDescriptor>() as u32,
    name: c"hollow".as_ptr(),
    version: 1,
    kind: kind::DISTANCE,
    vtable: &EMPTY_DISTANCE.0 as *const PluginDistanceVTable as *const std::ffi::c_void,
    description: std::ptr::null(),
});

extern "C" fn no_functions_entry() -> *const PluginDescriptor {
    &NO_FUNCTIONS.0
}

#[test]
fn a_null_required_function_is_a_load_error_naming_it() {
    // SAFETY: the entry returns a static descriptor; the host must refuse it safely.
    let e = unsafe { loader::in_process(no_functions_entry) }.unwrap_err().to_string();
    assert!(e.contains("plugin 'hollow'") && e.contains("no `distances_to_ids` function"), "{e}");
}

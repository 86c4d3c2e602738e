//! The host's [`VectorSource`] lent to a plugin index for one call, as a `needle_vector_source`:
//! the plugin prepares and scores queries through these functions, never touching host memory.

use super::*;
/// The host's `VectorSource` behind a `needle_vector_source`: `ctx` points at a `&dyn VectorSource`.
struct SourceCtx<'a> {
    source: &'a dyn VectorSource,
}

/// # Safety
/// `ctx` is the `SourceCtx` of the current call.
unsafe fn source_of<'a>(ctx: *mut c_void) -> &'a dyn VectorSource {
    // SAFETY: caller's contract.
    unsafe { (*ctx.cast::<SourceCtx<'a>>()).source }
}

unsafe extern "C" fn src_prepare(ctx: *mut c_void, vector: *const f32) -> *mut PluginQuery {
    // SAFETY: ctx is this call's SourceCtx; vector holds dim floats (ABI).
    let src = unsafe { source_of(ctx) };
    let r = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: as above.
        let v = unsafe { std::slice::from_raw_parts(vector, src.dim()) };
        Box::into_raw(Box::new(src.prepare(v))).cast::<PluginQuery>()
    }));
    r.unwrap_or(std::ptr::null_mut())
}

unsafe extern "C" fn src_prepare_slot(ctx: *mut c_void, slot: u32) -> *mut PluginQuery {
    // SAFETY: ctx is this call's SourceCtx.
    let src = unsafe { source_of(ctx) };
    if slot as usize >= src.slot_count() {
        return std::ptr::null_mut();
    }
    let r = catch_unwind(AssertUnwindSafe(|| Box::into_raw(Box::new(src.prepare_slot(slot))).cast::<PluginQuery>()));
    r.unwrap_or(std::ptr::null_mut())
}

unsafe extern "C" fn src_query_free(_ctx: *mut c_void, q: *mut PluginQuery) {
    if !q.is_null() {
        // SAFETY: q came from src_prepare / src_prepare_slot (a Box<PreparedQuery>), freed once.
        drop(unsafe { Box::from_raw(q.cast::<PreparedQuery>()) });
    }
}

unsafe extern "C" fn src_query_vector(_ctx: *mut c_void, q: *const PluginQuery) -> *const f32 {
    // SAFETY: q is a live PreparedQuery (made by the host or passed to search).
    unsafe { (*q.cast::<PreparedQuery>()).vector.as_ptr() }
}

unsafe fn score_with(ctx: *mut c_void, q: *const PluginQuery, slots: *const u32, n: usize, out: *mut f32, exact: bool) {
    if n == 0 {
        return;
    }
    // SAFETY: ctx/q are this call's; slots and out hold n elements (ABI).
    let (src, q, slots, out) = unsafe {
        (
            source_of(ctx),
            &*q.cast::<PreparedQuery>(),
            std::slice::from_raw_parts(slots, n),
            std::slice::from_raw_parts_mut(out, n),
        )
    };
    if slots.iter().any(|&s| s as usize >= src.slot_count()) {
        out.fill(f32::INFINITY);
        return;
    }
    let r =
        catch_unwind(AssertUnwindSafe(
            || {
                if exact {
                    src.score_exact(q, slots, out)
                } else {
                    src.score(q, slots, out)
                }
            },
        ));
    if r.is_err() {
        out.fill(f32::INFINITY);
    }
}

unsafe extern "C" fn src_score(ctx: *mut c_void, q: *const PluginQuery, slots: *const u32, n: usize, out: *mut f32) {
    // SAFETY: forwarded ABI contract.
    unsafe { score_with(ctx, q, slots, n, out, false) }
}

unsafe extern "C" fn src_score_exact(
    ctx: *mut c_void,
    q: *const PluginQuery,
    slots: *const u32,
    n: usize,
    out: *mut f32,
) {
    // SAFETY: forwarded ABI contract.
    unsafe { score_with(ctx, q, slots, n, out, true) }
}

pub(super) fn with_source<R>(source: &dyn VectorSource, f: impl FnOnce(&PluginVectorSource) -> R) -> R {
    let mut ctx = SourceCtx { source };
    let abi = PluginVectorSource {
        ctx: (&mut ctx as *mut SourceCtx<'_>).cast(),
        dim: source.dim(),
        slot_count: source.slot_count(),
        prepare: src_prepare,
        prepare_slot: src_prepare_slot,
        query_free: src_query_free,
        query_vector: src_query_vector,
        score: src_score,
        score_exact: src_score_exact,
    };
    f(&abi)
}

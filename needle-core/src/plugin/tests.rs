//! Round trips through the ABI without a shared library: the SDK exports a built-in, the host
//! wraps the descriptor in `Foreign*` adapters, and results must equal the built-in's.

use std::sync::{Arc, OnceLock};

use super::abi::*;
use super::foreign::Component;
use super::sdk::{export_cipher, export_distance, export_index, export_quantizer, export_storage, Exported};
use super::*;
use crate::arena::{Scorer, VectorStore};
use crate::distance::EuclideanDistance;
use crate::index::{FlatFactory, HnswFactory};
use crate::quant::Sq8Factory;
use crate::traits::{Distance, IndexFactory, IndexSearch, QuantizerFactory, SearchStats, VectorSource};
use crate::{Metric, Registry};

fn data(n: usize, dim: usize) -> Vec<Vec<f32>> {
    (0..n).map(|i| (0..dim).map(|j| (((i * 31 + j * 17) % 23) as f32) - 11.0 + (i as f32) * 0.01).collect()).collect()
}

extern "C" fn distance_entry() -> *const PluginDescriptor {
    static E: OnceLock<Exported> = OnceLock::new();
    E.get_or_init(|| export_distance(EuclideanDistance::new(), 3, "euclidean via the ABI")).descriptor()
}
/// A second plugin exporting the same id.
extern "C" fn other_distance_entry() -> *const PluginDescriptor {
    static E: OnceLock<Exported> = OnceLock::new();
    E.get_or_init(|| export_distance(EuclideanDistance::new(), 1, "another euclidean")).descriptor()
}
extern "C" fn quantizer_entry() -> *const PluginDescriptor {
    static E: OnceLock<Exported> = OnceLock::new();
    E.get_or_init(|| export_quantizer(Sq8Factory, "sq8 via the ABI")).descriptor()
}
extern "C" fn index_entry() -> *const PluginDescriptor {
    static E: OnceLock<Exported> = OnceLock::new();
    E.get_or_init(|| export_index(FlatFactory, "flat via the ABI")).descriptor()
}
extern "C" fn hnsw_entry() -> *const PluginDescriptor {
    static E: OnceLock<Exported> = OnceLock::new();
    E.get_or_init(|| export_index(HnswFactory, "hnsw via the ABI")).descriptor()
}

extern "C" fn cipher_entry() -> *const PluginDescriptor {
    static E: OnceLock<Exported> = OnceLock::new();
    E.get_or_init(|| export_cipher(crate::cipher::Aes256GcmFactory, "aes via the ABI")).descriptor()
}
extern "C" fn storage_entry() -> *const PluginDescriptor {
    static E: OnceLock<Exported> = OnceLock::new();
    E.get_or_init(|| export_storage(crate::storage::MemoryStorageFactory, "memory via the ABI")).descriptor()
}

fn handle(entry: PluginEntryFn) -> Arc<PluginHandle> {
    // SAFETY: the entries above are made by the SDK, which follows the ABI.
    unsafe { loader::in_process(entry) }.unwrap()
}

#[test]
fn distance_round_trip_matches_builtin() {
    let h = handle(distance_entry);
    assert_eq!((h.id.as_str(), h.version, h.description.as_str()), ("euclidean", 3, "euclidean via the ABI"));
    let Component::Distance(d) = h.component() else { panic!("not a distance") };
    let native = EuclideanDistance::new();
    assert_eq!(d.metric(), Some(Metric::Euclidean));
    let rows = data(50, 19);
    let store = {
        let mut s = VectorStore::new(19, false);
        rows.iter().for_each(|r| {
            s.push(r, None);
        });
        s
    };
    let q = &rows[7];
    let ids: Vec<u32> = (0..50).rev().collect();
    let (mut a, mut b) = (vec![0.0; 50], vec![0.0; 50]);
    d.distances_to_ids(q, 1.0, &store.rows(), &ids, &mut a);
    native.distances_to_ids(q, 1.0, &store.rows(), &ids, &mut b);
    assert_eq!(a, b);
    d.distances_to_all(q, 1.0, &store.rows(), &mut a);
    native.distances_to_all(q, 1.0, &store.rows(), &mut b);
    assert_eq!(a, b);
    assert_eq!(a[7], 0.0);
}

#[test]
fn quantizer_round_trip_matches_builtin() {
    let h = handle(quantizer_entry);
    let Component::Quantizer(f) = h.component() else { panic!("not a quantizer") };
    let dim = 24;
    let rows = data(300, dim);
    let mut store = VectorStore::new(dim, false);
    rows.iter().for_each(|r| {
        store.push(r, None);
    });
    let mut ours = f.create(dim, &serde_json::json!({})).unwrap();
    let mut native = Sq8Factory.create(dim, &serde_json::json!({})).unwrap();
    assert!(!ours.is_trained());
    ours.train(&store.rows()).unwrap();
    native.train(&store.rows()).unwrap();
    assert!(ours.is_trained() && ours.supports(Metric::Euclidean));
    assert_eq!(ours.code_len(), native.code_len());
    let (mut ca, mut cb) = (vec![0u8; ours.code_len()], vec![0u8; native.code_len()]);
    ours.encode(&rows[5], &mut ca);
    native.encode(&rows[5], &mut cb);
    assert_eq!(ca, cb);
    let saved = ours.save();
    assert_eq!(saved, native.save());
    let reloaded = f.load(dim, &saved).unwrap();
    let mut codes = Vec::new();
    for r in &rows {
        let mut c = vec![0u8; reloaded.code_len()];
        reloaded.encode(r, &mut c);
        codes.extend(c);
    }
    let codes = crate::Codes { data: &codes, code_len: reloaded.code_len() };
    let p = reloaded.prepare_query(&rows[9], Metric::Euclidean);
    assert_eq!(p, native.prepare_query(&rows[9], Metric::Euclidean));
    let ids: Vec<u32> = (0..300).collect();
    let (mut a, mut b) = (vec![0.0; 300], vec![0.0; 300]);
    reloaded.distances_to_ids(&p, Metric::Euclidean, &codes, &ids, &mut a);
    native.distances_to_ids(&p, Metric::Euclidean, &codes, &ids, &mut b);
    assert_eq!(a, b);
    let mut dec = vec![0.0; dim];
    reloaded.decode(codes.row(3), &mut dec);
    assert!(dec.iter().zip(&rows[3]).all(|(x, y)| (x - y).abs() < 0.2));
    assert!(f.load(dim, b"garbage").is_err());
}

#[test]
fn index_round_trip_matches_builtin_with_filter() {
    let h = handle(index_entry);
    let Component::Index(f) = h.component() else { panic!("not an index") };
    let dim = 16;
    let rows = data(200, dim);
    let mut store = VectorStore::new(dim, false);
    rows.iter().for_each(|r| {
        store.push(r, None);
    });
    let dist = EuclideanDistance::new();
    let scorer = Scorer::new(&store, &dist, None);
    let mut ours = f.create(dim, &serde_json::json!({})).unwrap();
    let mut native = FlatFactory.create(dim, &serde_json::json!({})).unwrap();
    let slots: Vec<u32> = (0..200).collect();
    ours.insert_batch(&slots[..150], &scorer).unwrap();
    for &s in &slots[150..] {
        ours.insert(s, &scorer).unwrap();
    }
    native.insert_batch(&slots, &scorer).unwrap();
    ours.delete(4).unwrap();
    native.delete(4).unwrap();
    assert_eq!(ours.len(), 199);
    assert!(ours.contains(5) && !ours.contains(4));
    let q = scorer.prepare(&rows[4]);
    let even = |s: u32| s.is_multiple_of(2);
    for filter in [None, Some(&even as &(dyn Fn(u32) -> bool + Sync))] {
        let p = IndexSearch { k: 10, ef: 32, filter };
        let (mut sa, mut sb) = (SearchStats::default(), SearchStats::default());
        let a = ours.search(&q, &p, &scorer, &mut sa).unwrap();
        let b = native.search(&q, &p, &scorer, &mut sb).unwrap();
        assert_eq!(a, b);
        assert_eq!(sa, sb);
        assert!(a.iter().all(|c| c.slot != 4));
    }
    let mut saved = Vec::new();
    ours.save(&mut saved).unwrap();
    let back = f.load(dim, &ours.params(), &saved).unwrap();
    assert_eq!(back.len(), 199);
    assert!(ours.memory_bytes() > 0);
    assert!(f.load(dim, &serde_json::json!({}), b"\xff").is_err());
}

/// Capabilities a caller relies on for cost (`is_beam_bounded`) are never claimed across the ABI,
/// whatever the plugin wraps: only an index the host knows says its search cost follows its beam.
#[test]
fn a_plugin_index_claims_no_capability() {
    let Component::Index(f) = handle(hnsw_entry).component() else { panic!("not an index") };
    let ours = f.create(8, &serde_json::json!({})).unwrap();
    let native = HnswFactory.create(8, &serde_json::json!({})).unwrap();
    assert!(native.is_beam_bounded() && !native.is_exact());
    assert!(!ours.is_beam_bounded() && !ours.is_exact());
    assert!(!FlatFactory.create(8, &serde_json::json!({})).unwrap().is_beam_bounded());
}

#[test]
fn registering_is_idempotent_and_conflicts_are_errors() {
    let reg = Arc::new(Registry::empty());
    let h = handle(distance_entry);
    register(&reg, &h).unwrap();
    register(&reg, &h).unwrap();
    assert!(reg.distance("euclidean").is_ok());
    // Loading the same entry again gives the same plugin (its state is released at most once).
    assert!(Arc::ptr_eq(&h, &handle(distance_entry)));
    let other = handle(other_distance_entry);
    assert!(register(&reg, &other).is_err(), "another plugin cannot take a registered id");
    let builtins = Arc::new(Registry::with_builtins());
    let e = register(&builtins, &h).unwrap_err().to_string();
    assert!(e.contains("euclidean"), "{e}");
}

struct Desc(PluginDescriptor);
// SAFETY: test descriptors point only to static data.
unsafe impl Sync for Desc {}

static WRONG_ABI: Desc = Desc(PluginDescriptor {
    abi_version: 999,
    struct_size: 0,
    name: std::ptr::null(),
    version: 0,
    kind: 0,
    vtable: std::ptr::null(),
    description: std::ptr::null(),
});
extern "C" fn wrong_abi_entry() -> *const PluginDescriptor {
    &WRONG_ABI.0
}

static UNKNOWN_KIND: Desc = Desc(PluginDescriptor {
    abi_version: NEEDLE_PLUGIN_ABI_VERSION,
    struct_size: std::mem::size_of::<PluginDescriptor>() as u32,
    name: c"odd".as_ptr(),
    version: 1,
    kind: 42,
    vtable: &0u64 as *const u64 as *const std::ffi::c_void,
    description: std::ptr::null(),
});
extern "C" fn unknown_kind_entry() -> *const PluginDescriptor {
    &UNKNOWN_KIND.0
}

extern "C" fn null_entry() -> *const PluginDescriptor {
    std::ptr::null()
}

#[test]
fn bad_descriptors_are_refused_with_clear_errors() {
    // SAFETY: these entries return NULL or static descriptors; the host must refuse them safely.
    let e = unsafe { loader::in_process(wrong_abi_entry) }.unwrap_err().to_string();
    assert!(e.contains("ABI version 999") && e.contains("version 1"), "{e}");
    // SAFETY: as above.
    let e = unsafe { loader::in_process(unknown_kind_entry) }.unwrap_err().to_string();
    assert!(e.contains("unknown kind 42"), "{e}");
    // SAFETY: as above.
    let e = unsafe { loader::in_process(null_entry) }.unwrap_err().to_string();
    assert!(e.contains("NULL"), "{e}");
    let e = load_library(std::path::Path::new("/nonexistent/libnothing.so")).unwrap_err().to_string();
    assert!(e.contains("cannot load plugin"), "{e}");
}

#[test]
fn cipher_round_trip_interoperates_with_builtin() {
    use crate::traits::CipherFactory;
    let h = handle(cipher_entry);
    let Component::Cipher(f) = h.component() else { panic!("not a cipher") };
    let native = crate::cipher::Aes256GcmFactory;
    assert_eq!(f.key_len(), native.key_len());
    assert!(f.create(&[1u8; 3]).is_err(), "a wrong key length is refused");
    let key = [7u8; 32];
    let (ours, theirs) = (f.create(&key).unwrap(), native.create(&key).unwrap());
    assert_eq!(ours.overhead(), theirs.overhead());
    let sealed = ours.seal(b"secret vectors", b"aad").unwrap();
    assert_eq!(theirs.open(&sealed, b"aad").unwrap(), b"secret vectors");
    let sealed = theirs.seal(b"more", b"x").unwrap();
    assert_eq!(ours.open(&sealed, b"x").unwrap(), b"more");
    let e = ours.open(&sealed, b"other aad").unwrap_err();
    assert_eq!(e.code(), crate::ErrorCode::Corrupted, "{e}");
}

#[test]
fn storage_round_trip_behaves_like_builtin() {
    use crate::traits::StorageOptions;
    let h = handle(storage_entry);
    let Component::Storage(f) = h.component() else { panic!("not a storage") };
    let s = f.open(None, &StorageOptions { read_only: false, create: true }).unwrap();
    assert_eq!(s.len().unwrap(), 0);
    s.write_at(10, b"hello").unwrap();
    assert_eq!(s.len().unwrap(), 15);
    let mut buf = [0u8; 5];
    s.read_at(10, &mut buf).unwrap();
    assert_eq!(&buf, b"hello");
    assert_eq!(s.read_vec(0, 2).unwrap(), vec![0, 0]);
    let e = s.read_at(12, &mut buf).unwrap_err();
    assert_eq!(e.code(), crate::ErrorCode::Corrupted, "{e}");
    s.set_len(3).unwrap();
    assert_eq!(s.len().unwrap(), 3);
    s.sync().unwrap();
    let ro = f.open(None, &StorageOptions { read_only: true, create: false }).unwrap();
    assert_eq!(ro.write_at(0, b"x").unwrap_err().code(), crate::ErrorCode::ReadOnly);
}

//! The file records the version of every component a collection uses — index, quantizer and
//! distance, built-in or plugin — and refuses to open with an older one, naming it.

use std::sync::Arc;

use needle::{CollectionConfig, Database, DatabaseConfig, DistanceFunction, ErrorCode};
use needle_core::{Distance, Metric, Registry, Rows};

/// Euclidean distance under a custom id, at a chosen version.
#[derive(Debug)]
struct Versioned {
    version: u32,
    inner: Arc<dyn Distance>,
}

impl Distance for Versioned {
    fn id(&self) -> &str {
        "versioned-l2"
    }
    fn metric(&self) -> Option<Metric> {
        None
    }
    fn backend_name(&self) -> &str {
        "test"
    }
    fn version(&self) -> u32 {
        self.version
    }
    fn distances_to_ids(&self, q: &[f32], qn: f32, rows: &Rows<'_>, ids: &[u32], out: &mut [f32]) {
        self.inner.distances_to_ids(q, qn, rows, ids, out)
    }
    fn distances_to_all(&self, q: &[f32], qn: f32, rows: &Rows<'_>, out: &mut [f32]) {
        self.inner.distances_to_all(q, qn, rows, out)
    }
}

fn registry(version: Option<u32>) -> Arc<Registry> {
    let r = Registry::with_builtins();
    if let Some(version) = version {
        let inner = r.distance("euclidean").unwrap();
        r.register_distance(Arc::new(Versioned { version, inner })).unwrap();
    }
    Arc::new(r)
}

fn open(path: &std::path::Path, version: Option<u32>) -> needle::Result<Database> {
    Database::open_with_config(path, DatabaseConfig::new().with_registry(registry(version)))
}

#[test]
fn distance_version_is_recorded_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v.needle");
    {
        let db = open(&path, Some(2)).unwrap();
        let c = db
            .create_collection_with_config(
                CollectionConfig::new("docs", 2).with_distance(DistanceFunction::Custom("versioned-l2".into())),
            )
            .unwrap();
        c.insert("a", &[1.0, 0.0], None).unwrap();
        c.insert("b", &[0.0, 1.0], None).unwrap();
        db.save().unwrap();
    }
    // The catalog names the version.
    let bytes = std::fs::read(&path).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.contains("\"distance_version\": 2"), "catalog does not record the distance version");

    // Older: refused, naming the component and both versions.
    let err = open(&path, Some(1)).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidConfig);
    let msg = err.to_string();
    assert!(msg.contains("versioned-l2") && msg.contains("version 2") && msg.contains("version 1"), "{msg}");
    // Missing: refused, naming it.
    let err = open(&path, None).unwrap_err();
    assert_eq!(err.code(), ErrorCode::UnknownComponent);
    assert!(err.to_string().contains("versioned-l2"), "{err}");
    // Same or newer: opens, and the data is there.
    for v in [2, 3] {
        let db = open(&path, Some(v)).unwrap();
        assert_eq!(db.collection("docs").unwrap().search(&[0.9, 0.1], 1).unwrap()[0].id, "a");
    }
}

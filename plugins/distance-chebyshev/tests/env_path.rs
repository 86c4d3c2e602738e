//! `NEEDLE_PLUGIN_PATH` (a directory here) loads the plugin when a database opens. Its own test
//! binary: it sets a process-wide environment variable.

use std::sync::Arc;

use needle::{CollectionConfig, Database, DatabaseConfig, DistanceFunction, Registry};

#[test]
fn plugins_named_by_the_environment_are_loaded_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let libs = dir.path().join("plugins");
    std::fs::create_dir(&libs).unwrap();
    std::fs::copy(needle_plugin_chebyshev::LIBRARY, libs.join("libneedle_chebyshev.so")).unwrap();
    std::fs::write(libs.join("README.txt"), "not a library").unwrap();
    std::env::set_var(needle::plugins::PLUGIN_PATH_ENV, &libs);
    let registry = Arc::new(Registry::with_builtins());
    let db =
        Database::open_with_config(dir.path().join("e.needle"), DatabaseConfig::new().with_registry(registry.clone()))
            .unwrap();
    let c = db
        .create_collection_with_config(
            CollectionConfig::new("c", 2)
                .with_distance(DistanceFunction::Custom("chebyshev".into()))
                .with_index("flat"),
        )
        .unwrap();
    c.insert("a", &[0.0, 0.0], None).unwrap();
    c.insert("b", &[3.0, 1.0], None).unwrap();
    let hits = c.search(&[2.0, 5.0], 2).unwrap();
    assert_eq!(hits[0].id, "b");
    assert_eq!(hits[0].distance, 4.0);
    assert_eq!(hits[1].distance, 5.0);
    assert!(registry.distance("chebyshev").is_ok());
}

//! A custom `Distance` registered at run time and named in a collection config, exactly like a
//! built-in — no shared library involved.
//!
//! Run: `cargo run -p needle --example custom_distance`

use std::sync::Arc;

use needle::core::{Distance, Metric, Rows};
use needle::{CollectionConfig, Database, DatabaseConfig, DistanceFunction, Registry};

/// Canberra distance: `Σ |qᵢ − vᵢ| / (|qᵢ| + |vᵢ|)` (terms with a zero denominator count 0).
#[derive(Debug)]
struct Canberra;

fn canberra(q: &[f32], v: &[f32]) -> f32 {
    q.iter()
        .zip(v)
        .map(|(a, b)| {
            let d = a.abs() + b.abs();
            if d == 0.0 {
                0.0
            } else {
                (a - b).abs() / d
            }
        })
        .sum()
}

impl Distance for Canberra {
    fn id(&self) -> &str {
        "canberra"
    }
    fn metric(&self) -> Option<Metric> {
        None // not a built-in family: quantizers will refuse it, the index does not care
    }
    fn backend_name(&self) -> &str {
        "scalar"
    }
    // Batch calls: one query against many rows, so the dyn call costs little per distance.
    fn distances_to_ids(&self, q: &[f32], _q_norm: f32, rows: &Rows<'_>, ids: &[u32], out: &mut [f32]) {
        for (o, &i) in out.iter_mut().zip(ids) {
            *o = canberra(q, rows.row(i as usize));
        }
    }
    fn distances_to_all(&self, q: &[f32], _q_norm: f32, rows: &Rows<'_>, out: &mut [f32]) {
        for (i, o) in out.iter_mut().enumerate() {
            *o = canberra(q, rows.row(i));
        }
    }
}

fn main() -> needle::Result<()> {
    // A registry with the built-ins plus ours (Registry::global() works the same way).
    let registry = Arc::new(Registry::with_builtins());
    registry.register_distance(Arc::new(Canberra))?;

    let dir = std::env::temp_dir().join(format!("needle-custom-distance-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("canberra.needle");
    let config = || DatabaseConfig::new().with_registry(registry.clone());

    let db = Database::open_with_config(&path, config())?;
    let c = db.create_collection_with_config(
        CollectionConfig::new("docs", 3).with_distance(DistanceFunction::Custom("canberra".into())),
    )?;
    c.insert("a", &[1.0, 2.0, 3.0], None)?;
    c.insert("b", &[3.0, 2.0, 1.0], None)?;
    c.insert("c", &[1.0, 2.5, 3.5], None)?;
    let hits = c.search(&[1.0, 2.0, 3.2], 2)?;
    for h in &hits {
        println!("{} {:.4}", h.id, h.distance);
    }
    assert_eq!(hits[0].id, "a");
    assert!((hits[0].distance - canberra(&[1.0, 2.0, 3.2], &[1.0, 2.0, 3.0])).abs() < 1e-6);
    db.save()?;
    drop((c, db));

    // The file records the distance's id: reopening needs it registered again...
    let db = Database::open_with_config(&path, config())?;
    assert_eq!(db.collection("docs")?.search(&[1.0, 2.0, 3.2], 1)?[0].id, "a");
    drop(db);
    // ...and without it, opening fails with an error that names it.
    let err =
        Database::open_with_config(&path, DatabaseConfig::new().with_registry(Arc::new(Registry::with_builtins())))
            .unwrap_err();
    println!("without the distance: {err}");
    assert!(err.to_string().contains("canberra"));
    std::fs::remove_dir_all(&dir)?;
    println!("custom_distance: ok");
    Ok(())
}

//! Simulated power loss: a mixed workload runs on the `powerloss` storage (see
//! `power_loss_sim/`), which cuts the power at a random write or sync and leaves each unsynced
//! change dropped, kept, torn or garbled. The crash image must open, and hold exactly the state
//! after the last acknowledged operation, or that plus the operation that was in flight: no lost
//! acknowledged write, no resurrected delete, no half-applied batch, no dropped collection back.
//!
//! `NEEDLE_POWER_LOSS_TRIALS` sets the number of trials (default 300, the CI slice);
//! `NEEDLE_POWER_LOSS_SEED` replays one run.

mod power_loss_sim;
mod workload;

use std::collections::BTreeMap;
use std::sync::Arc;

use needle::{Database, DatabaseConfig, Durability, EncryptionConfig, Registry};
use power_loss_sim::{CrashFates, SimFactory, SimFs};
use workload::{check_searches, next, pick, read_back, run, run_model_only, Model, DIM};

const KEY: [u8; 32] = [7; 32];

struct Outcome {
    in_flight: Option<&'static str>,
    steps: u64,
    fates: CrashFates,
}

fn trial(seed: u64) -> Outcome {
    let mut rng = seed;
    let tmp = tempfile::tempdir().unwrap();
    let (live, image) = (tmp.path().join("live"), tmp.path().join("image"));
    std::fs::create_dir(&live).unwrap();
    let path = live.join("db.needle");
    let encrypted = next(&mut rng).is_multiple_of(3);
    let durability = if next(&mut rng).is_multiple_of(4) { Durability::Batched(1) } else { Durability::Immediate };
    // Crash somewhere in the first ~300 steps; a workload that ends first crashes at its end.
    let crash_at = 1 + next(&mut rng) % 300;
    let fs = SimFs::new(&live, &image, crash_at, next(&mut rng));
    let registry = Arc::new(Registry::with_builtins());
    registry.register_storage(Arc::new(SimFactory(fs.clone()))).unwrap();
    let mut config =
        DatabaseConfig::new().with_registry(registry).with_storage("powerloss").with_durability(durability);
    if encrypted {
        config = config.with_encryption(EncryptionConfig::aes256(&KEY));
    }
    if next(&mut rng).is_multiple_of(3) {
        // Automatic checkpoints every few writes, so crashes land inside them too.
        config = config.with_wal_autocheckpoint(2048);
    }

    let mut model = Model::new();
    let mut before = model.clone();
    let mut in_flight = None;
    let mut serial = 0u64;
    match Database::open_with_config(&path, config) {
        Err(e) => {
            assert!(fs.crashed(), "seed {seed:#x}: open failed without a crash: {e}");
            in_flight = Some("open");
        }
        Ok(db) => {
            for _ in 0..60 {
                serial += 1;
                let op = pick(&mut rng, &model);
                before = model.clone();
                match run(&db, &op, serial, &mut model) {
                    Ok(()) => {}
                    Err(e) => {
                        assert!(fs.crashed(), "seed {seed:#x}: {op:?} failed without a crash: {e}");
                        in_flight = Some(op.kind());
                        // A failed operation may still be in the log: either state is allowed.
                        run_model_only(&op, serial, &mut model);
                        break;
                    }
                }
                if fs.crashed() {
                    // The crash hit a background sync after the operation was acknowledged.
                    in_flight = Some("background");
                    before = model.clone();
                    break;
                }
            }
            // The image is taken; what the live handle does on drop can no longer reach it.
            fs.crash_now();
            drop(db);
        }
    }
    if in_flight.is_none() {
        before = model.clone();
    }

    // Recovery: the crash image must open with the ordinary storage and hold `before` or `model`.
    let image_path = image.join("db.needle");
    let mut reopen = DatabaseConfig::new();
    if encrypted {
        reopen = reopen.with_encryption(EncryptionConfig::aes256(&KEY));
    }
    let db = Database::open_with_config(&image_path, reopen.clone())
        .unwrap_or_else(|e| panic!("seed {seed:#x}: crash image does not open ({in_flight:?}): {e}"));
    let got = read_back(&db).unwrap_or_else(|e| panic!("seed {seed:#x}: reading back failed: {e}"));
    assert!(
        got == before || got == model,
        "seed {seed:#x}: recovered state is neither before nor after the in-flight {in_flight:?}\n got: {got:?}\n before: {before:?}\n after: {model:?}"
    );
    check_searches(&db, &got);
    db.check_integrity().unwrap_or_else(|e| panic!("seed {seed:#x}: integrity: {e}"));

    // The recovered database takes writes and keeps them.
    let name = got.keys().next().cloned().unwrap_or_else(|| {
        db.create_collection("z", DIM).unwrap();
        "z".to_string()
    });
    db.collection(&name).unwrap().upsert("after-crash", &[1.0, 2.0, 3.0, 4.0], None).unwrap();
    drop(db);
    let db = Database::open_with_config(&image_path, reopen).unwrap();
    assert!(
        db.collection(&name).unwrap().contains("after-crash").unwrap(),
        "seed {seed:#x}: write after recovery lost"
    );
    let steps = fs.steps();
    Outcome { in_flight, steps, fates: fs.fates() }
}

#[test]
fn power_loss_at_any_step_loses_no_acknowledged_write() {
    let trials: u64 = std::env::var("NEEDLE_POWER_LOSS_TRIALS").ok().and_then(|s| s.parse().ok()).unwrap_or(300);
    let base: u64 = std::env::var("NEEDLE_POWER_LOSS_SEED")
        .ok()
        .and_then(|s| u64::from_str_radix(s.trim_start_matches("0x"), 16).ok())
        .unwrap_or(0x005e_ed0f_9a55);
    let mut by_kind: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut fates = CrashFates::default();
    let mut steps = 0;
    for t in 0..trials {
        let seed = base.wrapping_add(t.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let outcome = trial(seed);
        *by_kind.entry(outcome.in_flight.unwrap_or("none (crash after the workload)")).or_default() += 1;
        fates.dropped += outcome.fates.dropped;
        fates.kept += outcome.fates.kept;
        fates.torn += outcome.fates.torn;
        fates.garbled += outcome.fates.garbled;
        steps += outcome.steps;
    }
    println!("power loss: {trials} trials, {steps} storage steps, 0 failures");
    println!("  operation in flight at the crash: {by_kind:?}");
    println!("  unsynced changes at the crash: {fates:?}");
    // The simulation must reach every kind of operation, or it proves less than it claims.
    if trials >= 300 {
        for kind in ["open", "insert", "batch", "upsert", "delete", "save"] {
            assert!(by_kind.get(kind).copied().unwrap_or(0) > 0, "no crash ever hit a {kind}: {by_kind:?}");
        }
        assert!(fates.torn > 0 && fates.garbled > 0 && fates.dropped > 0, "{fates:?}");
    }
}

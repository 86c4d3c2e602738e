//! Crash safety of the mixed workload with real processes: a child runs the workload shared with
//! the power-loss simulation (create and drop collections, insert, batch, upsert, delete, save,
//! compact; encrypted or not) and prints each operation's number once it is acknowledged; the
//! parent kills it with SIGKILL after a random number of acknowledgements, regenerates the same operations from the seed,
//! reopens the file and requires exactly the state after the last acknowledged operation, or that
//! plus the one in flight. `NEEDLE_CRASH_TRIALS` raises the trial count (default 100).

mod workload;

use std::io::{BufRead, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use needle::{Database, DatabaseConfig, Durability, EncryptionConfig};
use workload::{check_searches, next, pick, read_back, run, run_model_only, Model};

const KEY: [u8; 32] = [9; 32];
const MAX_OPS: u64 = 2_000;

fn config(seed: u64) -> DatabaseConfig {
    let mut config = DatabaseConfig::new();
    if seed.is_multiple_of(3) {
        config = config.with_encryption(EncryptionConfig::aes256(&KEY));
    }
    if seed % 4 == 1 {
        config = config.with_durability(Durability::Batched(2));
    }
    if seed % 5 == 2 {
        // Automatic checkpoints every few writes, so kills land inside them too.
        config = config.with_wal_autocheckpoint(2048);
    }
    config
}

#[test]
fn crash_mixed_child() {
    let Some(path) = std::env::var_os("NEEDLE_CRASH_MIXED_DB") else { return };
    let seed: u64 = std::env::var("NEEDLE_CRASH_MIXED_SEED").unwrap().parse().unwrap();
    let db = Database::open_with_config(&path, config(seed)).unwrap();
    let (mut rng, mut model) = (seed, Model::new());
    let stdout = std::io::stdout();
    for n in 0..MAX_OPS {
        let op = pick(&mut rng, &model);
        run(&db, &op, n + 1, &mut model).unwrap();
        // The harness may have printed "test crash_mixed_child ... " on this line already.
        let mut out = stdout.lock();
        writeln!(out, "ACK {n}").unwrap();
        out.flush().unwrap();
    }
}

#[test]
fn killed_mixed_workloads_recover_the_acknowledged_state() {
    let trials: u64 = std::env::var("NEEDLE_CRASH_TRIALS").ok().and_then(|s| s.parse().ok()).unwrap_or(100);
    let mut delay_rng = 0x2545_f491_4f6c_dd1d_u64;
    let (mut acknowledged_ops, mut in_flight_applied, mut finished) = (0u64, 0u64, 0u64);
    for trial in 0..trials {
        let seed = 1 + trial.wrapping_mul(0x9e37_79b9_7f4a_7c15) % 1_000_000_007;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("crash.needle");
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "crash_mixed_child", "--nocapture", "--test-threads=1"])
            .env("NEEDLE_CRASH_MIXED_DB", &path)
            .env("NEEDLE_CRASH_MIXED_SEED", seed.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Kill after a random number of acknowledgements (0 kills during the open), then a few
        // microseconds more, so the kill lands at every stage however slow the machine is.
        let target = next(&mut delay_rng) % 48;
        let out = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            let mut acks = Vec::new();
            for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
                if let Some(n) = line.rsplit_once("ACK ").and_then(|(_, n)| n.parse::<u64>().ok()) {
                    acks.push(n);
                    let _ = tx.send(n);
                }
            }
            acks
        });
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        let mut seen = 0;
        while seen < target {
            match rx.recv_timeout(deadline.saturating_duration_since(std::time::Instant::now())) {
                Ok(_) => seen += 1,
                Err(_) => break, // finished or too slow: kill anyway
            }
        }
        std::thread::sleep(Duration::from_micros(next(&mut delay_rng) % 3_000));
        child.kill().unwrap();
        child.wait().unwrap();
        let acks = reader.join().unwrap();
        assert!(acks.iter().enumerate().all(|(i, n)| *n == i as u64), "trial {trial}: acks out of order");
        let acked = acks.len() as u64;

        // The same operations, from the same seed: all acknowledged ones, then the one in flight.
        let (mut rng, mut before) = (seed, Model::new());
        for n in 0..acked {
            let op = pick(&mut rng, &before);
            run_model_only(&op, n + 1, &mut before);
        }
        let mut after = before.clone();
        if acked < MAX_OPS {
            let op = pick(&mut rng, &after);
            run_model_only(&op, acked + 1, &mut after);
        } else {
            finished += 1;
        }

        if !path.exists() {
            assert_eq!(acked, 0, "trial {trial}: acknowledged writes but no file");
            continue;
        }
        let db = Database::open_with_config(&path, config(seed))
            .unwrap_or_else(|e| panic!("trial {trial} (seed {seed}): reopen failed after {acked} acks: {e}"));
        let got = read_back(&db).unwrap();
        assert!(
            got == before || got == after,
            "trial {trial} (seed {seed}): after {acked} acknowledged operations the file holds neither state\n got: {got:?}\n before: {before:?}\n after: {after:?}"
        );
        if got != before {
            in_flight_applied += 1;
        }
        check_searches(&db, &got);
        db.check_integrity().unwrap();
        acknowledged_ops += acked;
    }
    println!(
        "mixed crash test: {trials} SIGKILL trials, {acknowledged_ops} acknowledged operations all recovered, {in_flight_applied} in-flight operations applied, {finished} children finished first"
    );
    assert!(acknowledged_ops > trials, "the children should get operations acknowledged before being killed");
}

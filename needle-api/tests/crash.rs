//! Crash safety with real processes: a child writes and prints every acknowledged write; the
//! parent kills it with SIGKILL at a random moment, reopens, and checks that every acknowledged
//! write is there and nothing appears that was never written. `NEEDLE_CRASH_TRIALS` raises the
//! trial count for a longer run (default 200).

use std::collections::HashMap;
use std::io::BufRead;
use std::process::{Command, Stdio};
use std::time::Duration;

use needle::{CollectionConfig, Database, DatabaseConfig, DistanceFunction, Durability};

fn vector(trial: usize, i: usize) -> Vec<f32> {
    (0..8).map(|d| ((trial * 131 + i * 31 + d * 7) % 97) as f32 * 0.5 + 0.5).collect()
}

#[test]
fn crash_child() {
    let Some(path) = std::env::var_os("NEEDLE_CRASH_DB") else { return };
    let trial: usize = std::env::var("NEEDLE_CRASH_TRIAL").unwrap().parse().unwrap();
    let durability = match trial % 3 {
        0 => Durability::Immediate,
        1 => Durability::Batched(2),
        _ => Durability::OnSave,
    };
    let db = Database::open_with_config(&path, DatabaseConfig::new().with_durability(durability)).unwrap();
    let name = format!("t{trial}");
    let c = db
        .create_collection_with_config(CollectionConfig::new(&name, 8).with_distance(DistanceFunction::Euclidean))
        .unwrap();
    let stdout = std::io::stdout();
    println!("CREATED");
    for i in 0.. {
        if i % 7 == 3 {
            c.upsert(&format!("{}", i - 1), &vector(trial, i + 10_000), None).unwrap();
            println!("U {} {}", i - 1, i + 10_000);
        } else {
            c.insert(&i.to_string(), &vector(trial, i), Some(serde_json::json!({"i": i}))).unwrap();
            println!("I {i}");
        }
        if i % 23 == 22 {
            db.save().unwrap();
        }
        use std::io::Write;
        stdout.lock().flush().unwrap();
    }
}

#[test]
fn killed_writers_lose_no_acknowledged_write() {
    let trials: usize = std::env::var("NEEDLE_CRASH_TRIALS").ok().and_then(|s| s.parse().ok()).unwrap_or(200);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crash.needle");
    let mut seed: u64 = 0x9e3779b97f4a7c15;
    println!("crash test: {trials} trials, seed {seed:#x}");
    let mut totals: HashMap<String, usize> = HashMap::new();
    let (mut acknowledged, mut in_flight_applied) = (0usize, 0usize);
    for trial in 0..trials {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let delay = Duration::from_micros(2_000 + seed % 40_000);
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
            .env("NEEDLE_CRASH_DB", &path)
            .env("NEEDLE_CRASH_TRIAL", trial.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            std::io::BufReader::new(out).lines().map_while(Result::ok).collect::<Vec<String>>()
        });
        std::thread::sleep(delay);
        child.kill().unwrap();
        child.wait().unwrap();
        let lines = reader.join().unwrap();

        // The model of acknowledged writes, and the write that may have been in flight.
        let mut model: HashMap<String, usize> = HashMap::new();
        let mut created = false;
        let mut last_i = None;
        for l in &lines {
            let parts: Vec<&str> = l.split_whitespace().collect();
            match parts.as_slice() {
                ["CREATED"] => created = true,
                ["I", i] => {
                    let i: usize = i.parse().unwrap();
                    model.insert(i.to_string(), i);
                    last_i = Some(i);
                }
                ["U", id, v] => {
                    model.insert(id.to_string(), v.parse().unwrap());
                    last_i = Some(id.parse::<usize>().unwrap() + 1);
                }
                _ => {}
            }
        }
        let next = last_i.map_or(0, |i| i + 1);

        let db = Database::open(&path).unwrap_or_else(|e| panic!("trial {trial}: reopen failed: {e}"));
        for (name, total) in &totals {
            assert_eq!(db.collection(name).unwrap().count().unwrap(), *total, "trial {trial}: {name} changed");
        }
        let name = format!("t{trial}");
        let Ok(c) = db.collection(&name) else {
            assert!(!created, "trial {trial}: an acknowledged collection is missing");
            continue;
        };
        let count = c.count().unwrap();
        for (id, v) in &model {
            let got = c.get(id).unwrap().unwrap_or_else(|| panic!("trial {trial}: acknowledged id {id} lost"));
            let in_flight_upsert = next % 7 == 3 && *id == (next - 1).to_string();
            let ok =
                got.vector == vector(trial, *v) || (in_flight_upsert && got.vector == vector(trial, next + 10_000));
            assert!(ok, "trial {trial}: id {id} has the wrong vector");
        }
        // Nothing beyond the acknowledged writes, but the one in flight.
        let extra: Vec<String> = c.ids().unwrap().into_iter().filter(|id| !model.contains_key(id)).collect();
        assert!(
            extra.is_empty() || (extra == vec![next.to_string()] && next % 7 != 3),
            "trial {trial}: unexpected ids {extra:?} (next was {next})"
        );
        if let Some(id) = extra.first() {
            assert_eq!(c.get(id).unwrap().unwrap().vector, vector(trial, next));
            in_flight_applied += 1;
        }
        acknowledged += model.len();
        totals.insert(name, count);
    }
    println!("crash test: {trials} trials, {acknowledged} acknowledged vectors all found, {in_flight_applied} in-flight writes applied");
    assert!(acknowledged > trials, "the children should get writes acknowledged before being killed");
}

//! `bench-harness`: Needle's reproducible benchmark.
//!
//! Reads a config from `bench-harness/configs/` (TOML or JSON) naming data sets, component
//! combinations, build parameters, the `ef_search` sweep, k, threads, peers and targets; measures
//! every combination through the public `needle` API (and, with `--peers`, hnswlib, faiss and
//! usearch through `peers/peers.py`); writes `results/<name>.json`, `results/<name>.md` and one
//! recall–QPS SVG per data set; exits 1 when a target is missed (naming it) and 2 on errors.
//!
//! ```text
//! cargo run --release -p needle-bench-harness -- --quick            # 20k slice, < 2 min
//! cargo run --release -p needle-bench-harness -- --quick --peers    # same, with the peers
//! cargo run --release -p needle-bench-harness -- --install-peers    # full wordnet-minilm run with peers
//! ```
#![deny(unsafe_code)] // one exception: `machine::release_free_memory` (malloc_trim)

mod bandwidth;
mod bench;
mod config;
mod data;
mod engine;
mod machine;
mod peers;
mod plot;
mod report;
mod result;
mod target;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Parser;

use config::{Combo, Config};
use data::Dataset;
use engine::NeedleEngine;
use machine::Machine;
use result::{compute_ratios, DatasetResult, RunResult, SystemKind, SystemResult};
use target::Target;

/// Needle's benchmark: component combinations and peers against recall and latency targets.
#[derive(Parser, Debug)]
#[command(name = "bench-harness", version)]
struct Cli {
    /// Config file (TOML or JSON). Default: configs/default.toml, or configs/quick.toml with --quick.
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// Run configs/quick.toml: a 20,000-vector slice, under two minutes (the CI smoke test).
    #[arg(long)]
    quick: bool,
    /// Also run the peers (hnswlib, faiss, usearch) through the Python driver.
    #[arg(long, conflicts_with = "no_peers")]
    peers: bool,
    /// Never run the peers, even when the config enables them.
    #[arg(long)]
    no_peers: bool,
    /// Create bench-harness/.venv and pip-install the pinned peers first (implies --peers).
    #[arg(long, conflicts_with = "no_peers")]
    install_peers: bool,
    /// Take the peers' numbers from a saved driver document (e.g.
    /// results/peers-wordnet-minilm-reference.json) instead of running them; single data set only.
    #[arg(long, conflicts_with_all = ["no_peers", "install_peers"])]
    peers_json: Option<PathBuf>,
    /// Only the combinations whose name matches this glob (`*` wildcard), e.g. `hnsw-*-sq8-*`.
    #[arg(long)]
    only: Option<String>,
    /// Where the result files go (default: bench-harness/results).
    #[arg(long)]
    out_dir: Option<PathBuf>,
    /// Measure every combination in this process instead of one fresh child process each (memory
    /// figures are then distorted by pages an earlier combination freed).
    #[arg(long)]
    in_process: bool,
    /// Internal: measure one combination (`DATASET/COMBO`) and write its result to --child-out.
    #[arg(long, hide = true, requires = "child_out")]
    child: Option<String>,
    /// Internal: where the child writes its result.
    #[arg(long, hide = true)]
    child_out: Option<PathBuf>,
}

/// The workspace root: the nearest ancestor of the current directory holding
/// `bench-harness/configs`, else the one this binary was built from.
fn workspace_root() -> PathBuf {
    if let Ok(cwd) = std::env::current_dir() {
        for dir in cwd.ancestors() {
            if dir.join("bench-harness").join("configs").is_dir() {
                return dir.to_path_buf();
            }
        }
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("bench-harness: error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Measures one combination in this process.
fn measure_combo(cfg: &Config, combo: &Combo, ds: &Dataset, scratch: &Path) -> SystemResult {
    let mut s = SystemResult::new(&combo.name, SystemKind::Needle, "needle", ds.n());
    s.components = Some(combo.clone());
    match NeedleEngine::new(combo, &cfg.build, cfg.seed, cfg.insert_batch, scratch) {
        Ok(mut engine) => bench::measure(&mut engine, ds, cfg, &mut s),
        Err(e) => {
            eprintln!("[bench] {}: skipped: {e:#}", combo.name);
            s.error = Some(format!("skipped: {e:#}"));
            s.skipped = true;
        }
    }
    s
}

/// Measures one combination in a fresh child process (so its memory growth is its own).
fn measure_combo_in_child(cli: &Cli, config: &Path, combo: &Combo, ds: &Dataset, scratch: &Path) -> SystemResult {
    let out = scratch.join(format!("{}--{}.json", ds.name, combo.name));
    let run = || -> Result<SystemResult> {
        let exe = std::env::current_exe().context("locating the bench-harness binary")?;
        let mut cmd = Command::new(exe);
        cmd.arg("--config").arg(config).arg("--child").arg(format!("{}/{}", ds.name, combo.name));
        cmd.arg("--child-out").arg(&out).env("NEEDLE_BENCH_SCRATCH", scratch);
        if let Some(o) = &cli.out_dir {
            cmd.arg("--out-dir").arg(o);
        }
        let status = cmd.status().context("starting the child process")?;
        if !status.success() {
            anyhow::bail!("the child process measuring it failed ({status})");
        }
        let text = std::fs::read_to_string(&out).with_context(|| format!("reading {}", out.display()))?;
        Ok(serde_json::from_str(&text)?)
    };
    let result = run().unwrap_or_else(|e| {
        let mut s = SystemResult::new(&combo.name, SystemKind::Needle, "needle", ds.n());
        s.components = Some(combo.clone());
        s.error = Some(format!("{e:#}"));
        s
    });
    let _ = std::fs::remove_file(&out);
    result
}

/// The child side of [`measure_combo_in_child`].
fn run_child(cfg: &Config, which: &str, out: &Path, root: &Path, cache_dir: &Path, scratch: &Path) -> Result<ExitCode> {
    let (dname, cname) = which.split_once('/').context("--child takes DATASET/COMBO")?;
    let dcfg = cfg.datasets.iter().find(|d| d.name == dname).with_context(|| format!("no dataset {dname}"))?;
    let combo =
        cfg.combos().into_iter().find(|c| c.name == cname).with_context(|| format!("no combination {cname}"))?;
    let ds = Dataset::load(dcfg, root, cache_dir, cfg.k)?;
    let s = measure_combo(cfg, &combo, &ds, scratch);
    std::fs::write(out, serde_json::to_string(&s)?).with_context(|| format!("writing {}", out.display()))?;
    Ok(ExitCode::SUCCESS)
}

fn run(cli: Cli) -> Result<ExitCode> {
    let started = machine::utc_now();
    let t_run = Instant::now();
    let root = workspace_root();
    let harness = root.join("bench-harness");
    let config_path = match (&cli.config, cli.quick) {
        (Some(p), _) => p.clone(),
        (None, true) => harness.join("configs/quick.toml"),
        (None, false) => harness.join("configs/default.toml"),
    };
    let mut cfg = Config::load(&config_path)?;
    let cache_dir = harness.join("results").join(".cache");
    let scratch = std::env::var_os("NEEDLE_BENCH_SCRATCH")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join(format!("needle-bench-{}", std::process::id())));
    std::fs::create_dir_all(&scratch).with_context(|| format!("creating {}", scratch.display()))?;
    if let (Some(which), Some(out)) = (&cli.child, &cli.child_out) {
        return run_child(&cfg, which, out, &root, &cache_dir, &scratch);
    }
    if cli.peers || cli.install_peers {
        cfg.peers.enabled = true;
    }
    if cli.no_peers {
        cfg.peers.enabled = false;
    }
    if cli.install_peers {
        peers::install(&harness)?;
    }
    let out_dir = cli.out_dir.clone().unwrap_or_else(|| harness.join("results"));
    std::fs::create_dir_all(&out_dir).with_context(|| format!("creating {}", out_dir.display()))?;

    let mut machine = Machine::detect(&root, needle::simd_backend());
    machine.read_bandwidth_gbps = Some(bandwidth::single_thread_read_gbps());
    eprintln!(
        "[bench] {} on {} ({} cores, SIMD {}), commit {}; seed {}",
        cfg.name,
        machine.cpu_model,
        machine.cores,
        machine.simd_backend,
        machine.git_commit.as_deref().unwrap_or("?"),
        cfg.seed
    );
    let targets: Vec<Target> = cfg.targets.iter().map(|t| Target::parse(t)).collect::<Result<_>>()?;
    let combos: Vec<_> =
        cfg.combos().into_iter().filter(|c| cli.only.as_deref().is_none_or(|g| target::glob(g, &c.name))).collect();

    let mut warnings = Vec::new();
    let mut errors = 0usize;
    let mut datasets = Vec::new();
    let mut outcomes = Vec::new();
    for dcfg in &cfg.datasets {
        let ds = Dataset::load(dcfg, &root, &cache_dir, cfg.k)?;
        eprintln!(
            "[bench] {}: {} x {}, {} queries, ground truth: {}",
            ds.name,
            ds.n(),
            ds.dim,
            ds.nq(),
            ds.truth_source
        );
        let mut systems = Vec::new();
        for combo in &combos {
            let s = if cli.in_process {
                measure_combo(&cfg, combo, &ds, &scratch)
            } else {
                measure_combo_in_child(&cli, &config_path, combo, &ds, &scratch)
            };
            if s.skipped {
                warnings.push(format!("{} / {}: {}", ds.name, combo.name, s.error.as_deref().unwrap_or("skipped")));
            } else if let Some(e) = &s.error {
                errors += 1;
                warnings.push(format!("{} / {}: {e}", ds.name, combo.name));
            }
            systems.push(s);
        }
        let mut peer_versions = BTreeMap::new();
        let peers_source = match &cli.peers_json {
            Some(p) => Some(format!("loaded from {} (measured in another run)", p.display())),
            None if cfg.peers.enabled => Some("measured in this run".to_string()),
            None => None,
        };
        let peer_run = match &cli.peers_json {
            Some(p) => Some(peers::load(p, &ds, &cfg)),
            None if cfg.peers.enabled => Some(peers::run(&harness, &ds, &cfg, &cfg.peers.list)),
            None => None,
        };
        if let Some(peer_run) = peer_run {
            match peer_run {
                Ok(run) => {
                    for (suffix, raw) in &run.raw {
                        let raw_path = out_dir.join(format!("{}-{}-{suffix}.json", cfg.name, ds.name));
                        std::fs::write(&raw_path, raw).with_context(|| format!("writing {}", raw_path.display()))?;
                    }
                    for p in run.systems.iter().filter(|p| p.error.is_some()) {
                        errors += 1;
                        warnings.push(format!("{} / peer {}: {}", ds.name, p.name, p.error.as_deref().unwrap_or("")));
                    }
                    systems.extend(run.systems);
                    peer_versions = run.versions;
                }
                Err(e) => {
                    errors += 1;
                    eprintln!("[bench] peers: {e:#}");
                    warnings.push(format!("{}: peers: {e:#}", ds.name));
                }
            }
        }
        for t in &targets {
            for s in systems.iter().filter(|s| s.kind == SystemKind::Needle && !s.skipped && t.applies_to(&s.name)) {
                outcomes.push(t.evaluate(&ds.name, s));
            }
        }
        let mut dr = DatasetResult {
            name: ds.name.clone(),
            base: data::repo_relative(&ds.base_path, &root),
            n: ds.n(),
            dim: ds.dim,
            queries: ds.nq(),
            k: cfg.k,
            metric: ds.metric.clone(),
            groundtruth: ds.truth_source.clone(),
            systems,
            peers_source,
            peer_versions,
            ratios: BTreeMap::new(),
            plot: None,
        };
        compute_ratios(&mut dr, &cfg.recall_levels);
        let svg = format!("{}-{}.svg", cfg.name, ds.name);
        match plot::recall_qps(&dr, &cfg.recall_levels, &out_dir.join(&svg)) {
            Ok(()) => dr.plot = Some(svg),
            Err(e) => warnings.push(format!("{}: plot: {e:#}", ds.name)),
        }
        datasets.push(dr);
    }
    let _ = std::fs::remove_dir_all(&scratch);

    let mut seeds = BTreeMap::new();
    seeds.insert("needle_hnsw_level_seed".to_string(), cfg.seed);
    seeds.insert("hnswlib_random_seed".to_string(), cfg.seed);
    let run = RunResult {
        schema: result::SCHEMA,
        name: cfg.name.clone(),
        description: cfg.description.clone(),
        config_path: data::repo_relative(&config_path, &root),
        config: serde_json::to_value(&cfg)?,
        started,
        elapsed_s: t_run.elapsed().as_secs_f64(),
        load_average_end: machine::load_average(),
        seeds,
        machine,
        datasets,
        targets: outcomes,
        warnings,
    };
    let json_path = out_dir.join(format!("{}.json", cfg.name));
    std::fs::write(&json_path, serde_json::to_string_pretty(&run)? + "\n")
        .with_context(|| format!("writing {}", json_path.display()))?;
    let md_path = out_dir.join(format!("{}.md", cfg.name));
    std::fs::write(&md_path, report::markdown(&run, &cfg.recall_levels))
        .with_context(|| format!("writing {}", md_path.display()))?;
    eprintln!("[bench] wrote {} and {} ({:.0} s)", md_path.display(), json_path.display(), run.elapsed_s);

    for d in &run.datasets {
        for (needle, per_peer) in &d.ratios {
            for (peer, cells) in per_peer {
                let c: Vec<String> = cells
                    .iter()
                    .map(|(r, v)| format!("@{r} {}", v.map_or("—".into(), |v| format!("{v:.2}x"))))
                    .collect();
                eprintln!("[bench] {}: needle {needle} / {peer}: {}", d.name, c.join("  "));
            }
        }
    }
    let missed: Vec<_> = run.targets.iter().filter(|t| !t.passed).collect();
    for t in &run.targets {
        eprintln!(
            "[bench] target {}: '{}' on {} / {}: {}",
            if t.passed { "met" } else { "MISSED" },
            t.target,
            t.dataset,
            t.system,
            t.detail
        );
    }
    if !missed.is_empty() {
        eprintln!("bench-harness: {} target(s) missed:", missed.len());
        for t in &missed {
            eprintln!("  - '{}' by {} on {}", t.target, t.system, t.dataset);
        }
        return Ok(ExitCode::from(1));
    }
    if errors > 0 {
        eprintln!("bench-harness: {errors} measurement(s) failed; see the warnings in {}", md_path.display());
        return Ok(ExitCode::from(2));
    }
    Ok(ExitCode::SUCCESS)
}

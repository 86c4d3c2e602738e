"""needle.ray on this machine: ingest and search with 1 shard on 1 actor vs 2 shards on 2 actors,
and what Ray adds to one query over in-process Needle. Not a test; figures for docs/scale-out.md.

Usage (repository root, a venv with ``pip install "./python[ray]"``)::

    python python/bench/ray_scale.py [--n 116033] [--queries 1000] [--efs 32,64,128]
    python python/bench/ray_scale.py --ingest-only --runs 3   # ingest only, 1 vs 2 shards, medians

Each actor reserves 1 CPU and its engine runs 1 thread (``RAYON_NUM_THREADS``, set by
``ShardedCollection`` from the actor's ``num_cpus``), so 1 shard uses one core and 2 shards use two. Timings are minima over ``--rounds`` (shared machines drift).
Each phase also reports the CPU seconds every actor used: on a machine whose cores other work
also wants, the slowest actor's CPU time is what the phase would take with a free core per actor.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import ray

import needle
from needle.ray import ShardedCollection
from needle.ray._merge import merge

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python" / "tests"))
from conftest import read_fvecs  # noqa: E402


def read_ivecs(path: Path, count: int) -> np.ndarray:
    raw = np.fromfile(path, dtype="<i4")
    d = int(raw[0])
    return raw.reshape(-1, d + 1)[:count, 1:]


def recall(found: list[list[str]], truth: np.ndarray) -> float:
    return sum(len({int(i) for i in f[:10]} & set(t[:10].tolist())) for f, t in zip(found, truth)) / (10 * len(found))


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def ingest(directory: Path, shards: int, base: np.ndarray, ids: list[str], batch: int) -> tuple[float, float]:
    """One ingest of ``base`` into ``shards`` shards on as many 1-CPU actors: (wall s, slowest actor's CPU s)."""
    sc = ShardedCollection.create(directory, "wordnet", 384, shards=shards)
    threads = ray.get([a.engine_threads.remote() for a in sc.actors])
    cpu0 = ray.get([a.cpu_seconds.remote() for a in sc.actors])
    t = time.perf_counter()
    for lo in range(0, len(base), batch):
        sc.insert_batch(ids[lo : lo + batch], base[lo : lo + batch])
    wall = time.perf_counter() - t
    cpu = [b - a for a, b in zip(cpu0, ray.get([a.cpu_seconds.remote() for a in sc.actors]))]
    assert sc.count() == len(base)
    sc.close()
    shutil.rmtree(directory)
    print(f"  {shards} shard(s), engine threads per actor {threads}: ingest {wall:.1f} s wall "
          f"({len(base) / wall:.0f} vectors/s), CPU s per actor {', '.join(f'{c:.1f}' for c in cpu)}; {load()}",
          flush=True)
    return wall, max(cpu)


def ingest_runs(work: Path, base: np.ndarray, ids: list[str], batch: int, runs: int) -> None:
    """``runs`` rounds of (1 shard, 2 shards), interleaved so that drifting load hits both alike."""
    got: dict[int, list[tuple[float, float]]] = {1: [], 2: []}
    for r in range(runs):
        print(f"run {r + 1}/{runs}, {load()}", flush=True)
        for shards in (1, 2):
            got[shards].append(ingest(work / f"r{r}-s{shards}", shards, base, ids, batch))
    wall = {s: float(np.median([w for w, _ in v])) for s, v in got.items()}
    cpu = {s: float(np.median([c for _, c in v])) for s, v in got.items()}
    print()
    print(f"| median of {runs} | 1 shard / 1 actor | 2 shards / 2 actors | speed-up |")
    print("|---|---:|---:|---:|")
    print(f"| ingest, wall s | {wall[1]:.1f} | {wall[2]:.1f} | {wall[1] / wall[2]:.2f}x |")
    print(f"| ingest, slowest actor's CPU s | {cpu[1]:.1f} | {cpu[2]:.1f} | {cpu[1] / cpu[2]:.2f}x |")
    print("per-run speed-ups (wall):", ", ".join(f"{a[0] / b[0]:.2f}x" for a, b in zip(got[1], got[2])))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=116_033)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--efs", default="32,64,128")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--batch", type=int, default=10_000, help="rows per insert_batch call")
    ap.add_argument("--ingest-only", action="store_true", help="only the ingest comparison, --runs times")
    ap.add_argument("--runs", type=int, default=3, help="ingest runs per shard count with --ingest-only")
    args = ap.parse_args()
    efs = [int(e) for e in args.efs.split(",")]
    data = Path(os.environ.get("NEEDLE_DATA_DIR", ROOT / ".." / "shared" / "data")) / "wordnet-minilm"
    base = read_fvecs(data / "base.fvecs", args.n)
    queries = read_fvecs(data / "query.fvecs", args.queries)
    if args.n != 116_033:
        sys.exit("ground truth is for the full base: use --n 116033")
    truth = read_ivecs(data / "groundtruth.ivecs", args.queries)
    ids = [str(i) for i in range(len(base))]
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    print(f"# needle {needle.__version__}, ray {ray.__version__}, {len(base)} x 384 wordnet-minilm, "
          f"{len(queries)} queries, k=10, M=16, ef_construction=200, {os.cpu_count()} cores")
    work = Path(tempfile.mkdtemp(prefix="needle-ray-bench-"))
    if args.ingest_only:
        ingest_runs(work, base, ids, args.batch, args.runs)
        shutil.rmtree(work)
        ray.shutdown()
        return
    ingest: dict[int, float] = {}
    ingest_cpu: dict[int, float] = {}
    search_cpu: dict[tuple[int, int], float] = {}
    qps: dict[tuple[int, int], tuple[float, float]] = {}
    for shards in (1, 2):
        sc = ShardedCollection.create(work / f"s{shards}", "wordnet", 384, shards=shards)
        cpu0 = ray.get([a.cpu_seconds.remote() for a in sc.actors])
        t = time.perf_counter()
        for lo in range(0, len(base), args.batch):
            sc.insert_batch(ids[lo : lo + args.batch], base[lo : lo + args.batch])
        ingest[shards] = time.perf_counter() - t
        cpu = [b - a for a, b in zip(cpu0, ray.get([a.cpu_seconds.remote() for a in sc.actors]))]
        ingest_cpu[shards] = max(cpu)
        print(f"  ingest CPU seconds per actor: {', '.join(f'{c:.1f}' for c in cpu)}")
        mem = sum(i["memory_bytes"] for i in sc.info())
        print(f"{shards} shard(s): ingest {ingest[shards]:.1f} s ({len(base) / ingest[shards]:.0f} vectors/s), "
              f"engine memory {mem / 2**20:.0f} MiB in all")
        for ef in efs:
            found, _ = sc.search_batch(queries, k=10, ef=ef)
            cpu0 = ray.get([a.cpu_seconds.remote() for a in sc.actors])
            best = min(timed(lambda: sc.search_batch(queries, k=10, ef=ef)) for _ in range(args.rounds))
            cpu = [(b - a) / args.rounds for a, b in zip(cpu0, ray.get([a.cpu_seconds.remote() for a in sc.actors]))]
            search_cpu[shards, ef] = max(cpu)
            qps[shards, ef] = (recall(found, truth), len(queries) / best)
            print(f"  ef={ef}: recall@10 {qps[shards, ef][0]:.4f}, search_batch {qps[shards, ef][1]:.0f} QPS; "
                  f"CPU per actor per batch {', '.join(f'{c * 1e3:.0f} ms' for c in cpu)} "
                  f"(-> {len(queries) / max(cpu):.0f} QPS with a free core per actor)")
        if shards == 1:
            per_query = [min(timed(lambda: sc.search(q, k=10, ef=64)) for _ in range(args.rounds)) for q in queries[:100]]
            ray_one = float(np.median(per_query))
        else:
            parts = [sc.actors[i].search_batch.remote(queries, 10, 64, None, False) for i in range(shards)]
            parts = ray.get(parts)
            merge_s = min(timed(lambda: merge(parts, len(queries), 10)) for _ in range(args.rounds))
            print(f"  driver merge of {len(queries)} queries x {shards} shards: {merge_s * 1e3:.1f} ms "
                  f"({merge_s / len(queries) * 1e6:.1f} us/query)")
        sc.close()

    # The same data in process: the 1-shard file opened directly, one thread like the actor.
    with needle.Database(work / "s1" / "shard-00000.needle") as db:
        col = db["wordnet"]
        per_query = [min(timed(lambda: col.search(q, k=10, ef=64)) for _ in range(args.rounds)) for q in queries[:100]]
        local_one = float(np.median(per_query))
        local_batch = len(queries) / min(timed(lambda: col.search_batch(queries, k=10, ef=64)) for _ in range(args.rounds))
    print(f"one query, ef=64 (median of per-query minima over 100 queries): in-process {local_one * 1e6:.0f} us, "
          f"through Ray (1 shard) {ray_one * 1e6:.0f} us, added by Ray {(ray_one - local_one) * 1e6:.0f} us")
    print(f"in-process search_batch at ef=64 ({os.cpu_count()} threads): {local_batch:.0f} QPS")
    print()
    print("| | 1 shard / 1 actor | 2 shards / 2 actors | ratio |")
    print("|---|---:|---:|---:|")
    print(f"| ingest, wall s | {ingest[1]:.1f} | {ingest[2]:.1f} | {ingest[1] / ingest[2]:.2f}x |")
    print(f"| ingest, slowest actor's CPU s | {ingest_cpu[1]:.1f} | {ingest_cpu[2]:.1f} | {ingest_cpu[1] / ingest_cpu[2]:.2f}x |")
    for ef in efs:
        (r1, q1), (r2, q2) = qps[1, ef], qps[2, ef]
        c1, c2 = len(queries) / search_cpu[1, ef], len(queries) / search_cpu[2, ef]
        print(f"| ef={ef}: recall@10 / wall QPS | {r1:.3f} / {q1:.0f} | {r2:.3f} / {q2:.0f} | {q2 / q1:.2f}x |")
        print(f"| ef={ef}: QPS from the slowest actor's CPU | {c1:.0f} | {c2:.0f} | {c2 / c1:.2f}x |")
    ray.shutdown()


if __name__ == "__main__":
    main()

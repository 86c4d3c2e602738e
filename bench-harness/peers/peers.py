#!/usr/bin/env python3
"""Peer driver for Needle's bench-harness.

Builds and measures hnswlib, faiss (HNSWFlat and exact IndexFlat) and usearch (f32, bf16) on one
fvecs data set with the same k, M, ef_construction and ef_search sweep that the harness gives
Needle, and prints one JSON document on stdout (progress goes to stderr).

Measured per peer: build wall time with 1 thread and with all threads, process RSS growth while
the first index is built, bytes on disk after save and load time, and per ef_search: recall@k
against the ground truth, single-thread QPS with one query per call, batch QPS on all threads and
p50/p95/p99 latency of the single-query calls.

Cosine: hnswlib uses space="cosine", usearch metric="cos", faiss inner product on L2-normalised
vectors (IndexHNSWFlat(METRIC_INNER_PRODUCT) and IndexFlatIP).

Run `peers.py --help` for the options; bench-harness runs it through bench-harness/.venv.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import resource
import sys
import tempfile
import time

import numpy as np

PEERS = ("hnswlib", "faiss-hnsw", "faiss-flat", "usearch-f32", "usearch-bf16")
SCHEMA = "needle-peers/1"


def log(msg: str) -> None:
    print(f"[peers] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# Data


def read_vecs(path: str, dtype: str, limit: int | None = None) -> np.ndarray:
    """Reads a TEXMEX .fvecs / .ivecs file (int32 dim, then dim values per record)."""
    raw = np.fromfile(path, dtype=np.int32)
    if raw.size == 0:
        raise SystemExit(f"{path}: empty file")
    dim = int(raw[0])
    if dim <= 0 or raw.size % (dim + 1) != 0:
        raise SystemExit(f"{path}: not a {dtype}vecs file (dim {dim}, {raw.size} words)")
    rows = raw.reshape(-1, dim + 1)
    if not np.all(rows[:, 0] == dim):
        raise SystemExit(f"{path}: records of different dimensions")
    if limit is not None:
        rows = rows[:limit]
    body = np.ascontiguousarray(rows[:, 1:])
    return body.view(np.float32) if dtype == "f" else body


def write_ivecs(path: str, ids: np.ndarray) -> None:
    rows = np.empty((ids.shape[0], ids.shape[1] + 1), dtype=np.int32)
    rows[:, 0] = ids.shape[1]
    rows[:, 1:] = ids
    rows.tofile(path)


def normalize(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x.astype(np.float64), axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray((x / norms).astype(np.float32))


def brute_force_gt(base: np.ndarray, queries: np.ndarray, k: int, metric: str) -> np.ndarray:
    """Exact top-k ids by float64 scan; ties broken by the smaller id (as the shared ground truth)."""
    b = base.astype(np.float64)
    out = np.empty((queries.shape[0], k), dtype=np.int64)
    if metric == "cosine":
        b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-300)
    bn = (b * b).sum(axis=1)
    for start in range(0, queries.shape[0], 256):
        q = queries[start : start + 256].astype(np.float64)
        if metric == "cosine":
            q = q / np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-300)
            d = 1.0 - q @ b.T
        elif metric == "dot":
            d = -(q @ b.T)
        else:  # euclidean (squared)
            d = bn[None, :] - 2.0 * (q @ b.T) + (q * q).sum(axis=1)[:, None]
        ids = np.arange(b.shape[0])
        for i in range(d.shape[0]):
            top = np.argpartition(d[i], k)[: k + 1] if k < d.shape[1] else ids
            order = np.lexsort((top, d[i][top]))
            out[start + i] = top[order][:k]
    return out


def recall_at_k(found: list[np.ndarray], gt: np.ndarray, k: int) -> float:
    hits = 0
    for i, ids in enumerate(found):
        hits += len(set(int(x) for x in ids[:k]) & set(int(x) for x in gt[i, :k]))
    return hits / (k * len(found))


# ---------------------------------------------------------------------------------------------
# Machine facts


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE")


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def versions() -> dict:
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    for name in ("numpy", "hnswlib", "faiss-cpu", "usearch"):
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            out[name] = None
    return out


def percentile(sorted_vals: list[float], p: float) -> float:
    """Nearest-rank percentile of an ascending list (the same definition the Rust harness uses)."""
    if not sorted_vals:
        return float("nan")
    rank = max(1, math.ceil(p / 100.0 * len(sorted_vals)))
    return sorted_vals[rank - 1]


def qps_at_recall(points: list[dict], target: float) -> float | None:
    """QPS at `target` recall, interpolating log(QPS) linearly in recall between the two sweep
    points that bracket it on the upper (Pareto) envelope; None when no point reaches the target."""
    pts = sorted((p["recall"], p["qps"]) for p in points if p.get("qps"))
    if not pts or pts[-1][0] < target:
        return None
    for (r0, q0), (r1, q1) in zip(pts, pts[1:]):
        if r0 <= target <= r1:
            if r1 == r0:
                return max(q0, q1)
            t = (target - r0) / (r1 - r0)
            return math.exp(math.log(q0) + t * (math.log(q1) - math.log(q0)))
    # Every point is at or above the target: the fastest of them is a lower bound.
    return max(q for r, q in pts if r >= target)


# ---------------------------------------------------------------------------------------------
# Adapters: one per peer, same shape (build / set_ef / query / batch / save / load)


class Peer:
    name = ""
    library = ""
    kind = "hnsw"
    dtype = "f32"

    def __init__(self, args, dim: int):
        self.args = args
        self.dim = dim
        self.index = None

    def build(self, data: np.ndarray, threads: int) -> None:
        raise NotImplementedError

    def set_ef(self, ef: int) -> None:
        pass

    def set_search_threads(self, threads: int) -> None:
        pass

    def query(self, q: np.ndarray, k: int) -> np.ndarray:
        raise NotImplementedError

    def batch(self, qs: np.ndarray, k: int, threads: int) -> np.ndarray:
        raise NotImplementedError

    def save(self, path: str) -> None:
        raise NotImplementedError

    def load(self, path: str) -> None:
        raise NotImplementedError

    def drop(self) -> None:
        self.index = None
        gc.collect()


class Hnswlib(Peer):
    name = library = "hnswlib"

    def space(self):
        return {"cosine": "cosine", "dot": "ip", "euclidean": "l2"}[self.args.metric]

    def build(self, data, threads):
        import hnswlib

        idx = hnswlib.Index(space=self.space(), dim=self.dim)
        idx.init_index(
            max_elements=data.shape[0], M=self.args.M, ef_construction=self.args.ef_construction,
            random_seed=self.args.seed,
        )
        idx.set_num_threads(threads)
        idx.add_items(data, np.arange(data.shape[0]), num_threads=threads)
        self.index = idx

    def set_ef(self, ef):
        self.index.set_ef(ef)

    def set_search_threads(self, threads):
        self.index.set_num_threads(threads)

    def query(self, q, k):
        labels, _ = self.index.knn_query(q, k=k, num_threads=1)
        return labels[0]

    def batch(self, qs, k, threads):
        labels, _ = self.index.knn_query(qs, k=k, num_threads=threads)
        return labels

    def save(self, path):
        self.index.save_index(path)

    def load(self, path):
        import hnswlib

        idx = hnswlib.Index(space=self.space(), dim=self.dim)
        idx.load_index(path)
        self.index = idx


class FaissBase(Peer):
    library = "faiss"

    def prep(self, x):
        return normalize(x) if self.args.metric == "cosine" else np.ascontiguousarray(x, dtype=np.float32)

    def faiss_metric(self):
        import faiss

        return faiss.METRIC_L2 if self.args.metric == "euclidean" else faiss.METRIC_INNER_PRODUCT

    def set_search_threads(self, threads):
        import faiss

        faiss.omp_set_num_threads(threads)

    def query(self, q, k):
        _, ids = self.index.search(q.reshape(1, -1), k)
        return ids[0]

    def batch(self, qs, k, threads):
        import faiss

        faiss.omp_set_num_threads(threads)
        _, ids = self.index.search(qs, k)
        faiss.omp_set_num_threads(1)
        return ids

    def save(self, path):
        import faiss

        faiss.write_index(self.index, path)

    def load(self, path):
        import faiss

        self.index = faiss.read_index(path)


class FaissHnsw(FaissBase):
    name = "faiss-hnsw"

    def build(self, data, threads):
        import faiss

        faiss.omp_set_num_threads(threads)
        idx = faiss.IndexHNSWFlat(self.dim, self.args.M, self.faiss_metric())
        idx.hnsw.efConstruction = self.args.ef_construction
        idx.add(data)
        faiss.omp_set_num_threads(1)
        self.index = idx

    def set_ef(self, ef):
        self.index.hnsw.efSearch = ef


class FaissFlat(FaissBase):
    name = "faiss-flat"
    kind = "flat"

    def build(self, data, threads):
        import faiss

        faiss.omp_set_num_threads(threads)
        idx = faiss.IndexFlat(self.dim, self.faiss_metric())
        idx.add(data)
        faiss.omp_set_num_threads(1)
        self.index = idx


class Usearch(Peer):
    library = "usearch"

    def metric(self):
        return {"cosine": "cos", "dot": "ip", "euclidean": "l2sq"}[self.args.metric]

    def new_index(self):
        from usearch.index import Index

        return Index(
            ndim=self.dim, metric=self.metric(), dtype=self.dtype, connectivity=self.args.M,
            expansion_add=self.args.ef_construction, expansion_search=64,
        )

    def build(self, data, threads):
        idx = self.new_index()
        idx.add(np.arange(data.shape[0], dtype=np.uint64), data, threads=threads)
        self.index = idx

    def set_ef(self, ef):
        self.index.expansion_search = ef

    def query(self, q, k):
        return self.index.search(q, k, threads=1).keys

    def batch(self, qs, k, threads):
        return self.index.search(qs, k, threads=threads).keys

    def save(self, path):
        self.index.save(path)

    def load(self, path):
        idx = self.new_index()
        idx.load(path)
        self.index = idx


class UsearchF32(Usearch):
    name = "usearch-f32"
    dtype = "f32"


class UsearchBf16(Usearch):
    name = "usearch-bf16"
    dtype = "bf16"


ADAPTERS = {c.name: c for c in (Hnswlib, FaissHnsw, FaissFlat, UsearchF32, UsearchBf16)}


# ---------------------------------------------------------------------------------------------
# Measurement


def measure_peer(peer: Peer, base: np.ndarray, queries: np.ndarray, gt: np.ndarray, args) -> dict:
    if isinstance(peer, FaissBase):
        base, queries = peer.prep(base), peer.prep(queries)
    k = args.k
    out = {"name": peer.name, "library": peer.library, "kind": peer.kind, "dtype": peer.dtype}
    build = {}
    build_threads = []
    for spec in args.build_threads:
        t = args.threads if spec == "all" else int(spec)
        if t not in build_threads:
            build_threads.append(t)
    if peer.kind == "flat":
        build_threads = build_threads[-1:]
    # A small throw-away build first, so lazily created library state (thread pools, dispatch
    # tables, first-touched code pages) is not counted as index memory.
    peer.build(base[: min(1000, base.shape[0])], build_threads[-1])
    peer.drop()
    rss_delta = None
    for i, t in enumerate(build_threads):
        peer.drop()
        gc.collect()
        rss0 = rss_bytes()
        t0 = time.perf_counter()
        peer.build(base, t)
        dt = time.perf_counter() - t0
        if i == 0:
            # Only the first build measures memory: later builds reuse freed pages.
            rss_delta = rss_bytes() - rss0
        build[f"threads_{t}_s"] = dt
        log(f"{peer.name}: built {base.shape[0]} vectors with {t} thread(s) in {dt:.2f} s")
    out["build"] = build
    out["build_threads"] = build_threads
    out["rss_delta_bytes"] = rss_delta
    out["bytes_per_vector_rss"] = rss_delta / base.shape[0] if rss_delta is not None else None
    if peer.library == "usearch":
        out["reported_memory_bytes"] = int(peer.index.memory_usage)

    with tempfile.TemporaryDirectory(prefix="needle-peers-") as tmp:
        path = os.path.join(tmp, "index.bin")
        peer.save(path)
        out["disk_bytes"] = os.path.getsize(path)
        peer.drop()
        t0 = time.perf_counter()
        peer.load(path)
        out["open_s"] = time.perf_counter() - t0

    peer.set_search_threads(1)
    efs = [None] if peer.kind == "flat" else args.ef_search
    sweep = []
    for ef in efs:
        if ef is not None:
            peer.set_ef(ef)
        for q in queries[: min(args.warmup, len(queries))]:
            peer.query(q, k)
        # Best of --repeats passes (by QPS, with that pass's latencies): other work on a shared
        # machine only ever slows a pass down.
        best = None
        perf = time.perf_counter_ns
        for _ in range(max(1, args.repeats)):
            lat = []
            found = []
            t_all = perf()
            for q in queries:
                t0 = perf()
                ids = peer.query(q, k)
                lat.append(perf() - t0)
                found.append(ids)
            total_s = (perf() - t_all) / 1e9
            if best is None or total_s < best[0]:
                best = (total_s, lat, found)
        total_s, lat, found = best
        rec = recall_at_k(found, gt, k)
        batch_s = float("inf")
        for _ in range(max(1, args.repeats)):
            t0 = time.perf_counter()
            peer.batch(queries, k, args.threads)
            batch_s = min(batch_s, time.perf_counter() - t0)
        peer.set_search_threads(1)
        lat.sort()
        point = {
            "ef_search": ef,
            "recall": rec,
            "qps": len(queries) / total_s,
            "batch_qps": len(queries) / batch_s,
            "p50_us": percentile(lat, 50) / 1e3,
            "p95_us": percentile(lat, 95) / 1e3,
            "p99_us": percentile(lat, 99) / 1e3,
        }
        sweep.append(point)
        log(
            f"{peer.name}: ef={ef} recall@{k}={rec:.4f} qps={point['qps']:.0f} "
            f"batch_qps={point['batch_qps']:.0f} p99={point['p99_us']:.0f}us"
        )
    out["sweep"] = sweep
    out["qps_at_recall"] = {f"{r:.2f}": qps_at_recall(sweep, r) for r in args.recall_targets}
    peer.drop()
    return out


def run_child(name: str, gt_path: str, argv) -> dict:
    """Measures one peer in a fresh interpreter: same options, this ground truth, no --out."""
    import subprocess

    own = list(sys.argv[1:] if argv is None else argv)
    cleaned = []
    skip = False
    for a in own:
        if skip:
            skip = False
            continue
        if a in ("--out", "--groundtruth", "--peers", "--child"):
            skip = True
            continue
        if a.split("=", 1)[0] in ("--out", "--groundtruth", "--peers", "--child"):
            continue
        cleaned.append(a)
    cmd = [sys.executable, os.path.abspath(__file__), *cleaned, "--groundtruth", gt_path, "--child", name]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"child for {name} exited with {proc.returncode}")
    return json.loads(proc.stdout)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--base", required=True, help="base vectors (.fvecs)")
    p.add_argument("--query", required=True, help="query vectors (.fvecs)")
    p.add_argument("--groundtruth", help="exact neighbour ids (.ivecs); brute force on --limit rows when absent")
    p.add_argument("--limit", type=int, help="use only the first N base vectors (ground truth is then recomputed)")
    p.add_argument("--queries", type=int, help="use only the first N queries")
    p.add_argument("--metric", default="cosine", choices=("cosine", "dot", "euclidean"))
    p.add_argument("-k", "--k", type=int, default=10)
    p.add_argument("--M", type=int, default=16)
    p.add_argument("--ef-construction", type=int, default=200)
    p.add_argument("--ef-search", default="10,16,24,32,48,64,96,128,192", help="comma-separated sweep")
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="'all threads' count")
    p.add_argument("--build-threads", default="1,all", help="comma-separated build thread counts ('all' = --threads)")
    p.add_argument("--peers", default=",".join(PEERS), help=f"comma-separated subset of {','.join(PEERS)}")
    p.add_argument("--seed", type=int, default=100, help="hnswlib random_seed (others are deterministic)")
    p.add_argument("--warmup", type=int, default=100, help="queries run untimed before each sweep point")
    p.add_argument("--repeats", type=int, default=1, help="timed passes per sweep point; the fastest is kept")
    p.add_argument("--recall-targets", default="0.90,0.95,0.99")
    p.add_argument("--out", help="also write the JSON document here")
    p.add_argument(
        "--in-process", action="store_true",
        help="measure every peer in this process (default: one fresh process per peer, so RSS deltas "
        "are not hidden by pages an earlier peer freed)",
    )
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.ef_search = [int(x) for x in args.ef_search.split(",") if x]
    args.build_threads = [x.strip() for x in args.build_threads.split(",") if x.strip()]
    args.recall_targets = [float(x) for x in args.recall_targets.split(",") if x]
    args.peers = [x.strip() for x in args.peers.split(",") if x.strip()]
    for name in args.peers:
        if name not in ADAPTERS:
            p.error(f"unknown peer {name!r}; known: {', '.join(PEERS)}")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    t_start = time.time()
    load_start = os.getloadavg()
    base = read_vecs(args.base, "f", args.limit)
    queries = read_vecs(args.query, "f", args.queries)
    if base.shape[1] != queries.shape[1]:
        raise SystemExit(f"base has {base.shape[1]} dimensions, queries {queries.shape[1]}")
    if args.groundtruth:
        gt = read_vecs(args.groundtruth, "i", args.queries)
        gt_source = args.groundtruth
        if gt.shape[0] < queries.shape[0] or gt.shape[1] < args.k:
            raise SystemExit("ground truth has fewer rows or columns than queries / k")
        if args.limit is not None and gt[:, : args.k].max() >= base.shape[0]:
            raise SystemExit("ground truth names rows beyond --limit; omit --groundtruth to recompute it")
    else:
        log(f"computing exact ground truth on {base.shape[0]} x {queries.shape[0]}")
        gt = brute_force_gt(base, queries, args.k, args.metric)
        gt_source = "brute-force"
    log(f"data: {base.shape[0]} base x {base.shape[1]}, {queries.shape[0]} queries, k={args.k}")

    if args.child:
        print(json.dumps(measure_peer(ADAPTERS[args.child](args, base.shape[1]), base, queries, gt, args)))
        return 0

    results = []
    with tempfile.TemporaryDirectory(prefix="needle-peers-gt-") as tmp:
        gt_path = os.path.join(tmp, "gt.ivecs")
        write_ivecs(gt_path, gt[:, : args.k].astype(np.int32))
        for name in args.peers:
            try:
                if args.in_process:
                    results.append(measure_peer(ADAPTERS[name](args, base.shape[1]), base, queries, gt, args))
                else:
                    results.append(run_child(name, gt_path, argv))
            except Exception as e:  # one broken peer should not lose the others' numbers
                log(f"{name}: failed: {e!r}")
                results.append({"name": name, "error": repr(e)})

    try:
        import faiss

        faiss_opts = faiss.get_compile_options()
    except Exception:
        faiss_opts = None
    try:
        from usearch.index import Index

        usearch_hw = Index(ndim=base.shape[1], metric="cos", dtype="f32").hardware_acceleration
    except Exception:
        usearch_hw = None
    doc = {
        "schema": SCHEMA,
        "started_unix": t_start,
        "elapsed_s": time.time() - t_start,
        "params": {
            "k": args.k,
            "M": args.M,
            "ef_construction": args.ef_construction,
            "ef_search": args.ef_search,
            "threads": args.threads,
            "build_threads": args.build_threads,
            "seed": args.seed,
            "warmup": args.warmup,
            "repeats": args.repeats,
            "metric": args.metric,
        },
        "dataset": {
            "base": os.path.abspath(args.base),
            "query": os.path.abspath(args.query),
            "groundtruth": gt_source,
            "n": int(base.shape[0]),
            "dim": int(base.shape[1]),
            "queries": int(queries.shape[0]),
        },
        "machine": {
            "cpu": cpu_model(),
            "cores": os.cpu_count(),
            "faiss_compile_options": faiss_opts,
            "usearch_hardware_acceleration": usearch_hw,
            "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE"),
            # 1/5/15-minute load averages: other work on a shared machine skews absolute times.
            "load_average_start": list(load_start),
            "load_average_end": list(os.getloadavg()),
            "max_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        },
        "versions": versions(),
        "peers": results,
    }
    text = json.dumps(doc, indent=2)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    print(text)
    return 1 if any("error" in r for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())

"""What the Python layer costs: needle from Python against the same searches timed in Rust.

Not a test (timings never gate CI). One run measures, on real wordnet-minilm vectors:

* ``search_batch`` throughput from Python vs ``Collection::batch_search_rows`` timed in Rust on
  the same collection in the same process (target: Python ≥ 90 % of Rust);
* one ``search`` call per query from Python vs one ``search_with`` per query in Rust (target: the
  Python call adds ≤ 5 µs);
* ``insert_batch`` of a float32 array: tracemalloc's peak (numpy reports its buffers to it) and the
  RSS growth beyond the index itself, against the array's size (target: no copy);
* hnswlib and usearch (PyPI) on the same data, same M / ef_construction / ef, for scale.

Usage (from the repository root, in a venv with ``pip install ./python`` and
``pip install -r python/bench/requirements.txt``)::

    python python/bench/overhead.py [--n 20000] [--queries 1000] [--ef 64] [--rounds 5]

Data: ``$NEEDLE_DATA_DIR/wordnet-minilm`` (default ``../shared/data``). On a shared machine a
median can be 3x a minimum, so figures are minima over ``--rounds`` runs: of the whole batch for
``search_batch`` (Python and Rust back to back each round), and of each single query for the
one-call-per-query figures (then averaged over ``--single`` queries).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

import needle
from needle import _needle

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python" / "tests"))
from conftest import exact_top_k, read_fvecs  # noqa: E402  (the tests' reader and brute force)

K = 10


def best(fn, rounds: int) -> float:
    return min(fn() for _ in range(rounds))


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def recall(found: list[list[int]], truth: np.ndarray) -> float:
    return sum(len(set(f[:K]) & set(t[:K].tolist())) for f, t in zip(found, truth)) / (K * len(found))


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--ef", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--single", type=int, default=200, help="queries timed one call at a time")
    args = ap.parse_args()

    data = Path(os.environ.get("NEEDLE_DATA_DIR", ROOT / ".." / "shared" / "data")) / "wordnet-minilm"
    base = read_fvecs(data / "base.fvecs", args.n)
    queries = read_fvecs(data / "query.fvecs", args.queries)
    truth, _ = exact_top_k(base, queries, K)
    ids = [str(i) for i in range(len(base))]
    print(f"# needle {needle.__version__} ({needle.simd_backend()}), {len(base)} x {base.shape[1]} wordnet-minilm, "
          f"{len(queries)} queries, k={K}, ef={args.ef}, M=16, ef_construction=200, {os.cpu_count()} cores, "
          f"min of {args.rounds} rounds")

    # --- needle: build, with the allocation check on insert_batch.
    db = needle.Database.in_memory()
    col = db.create_collection("bench", base.shape[1], distance="cosine", m=16, ef_construction=200)
    rss0 = rss_mib()
    tracemalloc.start()
    t = time.perf_counter()
    col.insert_batch(ids, base)
    build_needle = time.perf_counter() - t
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_growth = rss_mib() - rss0
    index_mib = col.info()["memory_bytes"] / 2**20
    print(f"insert_batch: {build_needle:.1f} s; traced (Python/numpy) peak {traced_peak / 2**20:.2f} MiB for a "
          f"{base.nbytes / 2**20:.1f} MiB array; RSS +{rss_growth:.0f} MiB, engine reports {index_mib:.0f} MiB held")

    # --- search_batch: Python vs Rust, same collection, rounds interleaved.
    nq = len(queries)
    py_b, rs_b = [], []
    for _ in range(args.rounds):
        py_b.append(timed(lambda: col.search_batch(queries, K, ef=args.ef)))
        rs_b.append(_needle._rust_search_seconds(col, queries, K, args.ef, True))
    py_batch, rs_batch = min(py_b), min(rs_b)
    found, _ = col.search_batch(queries, K, ef=args.ef)
    r_needle = recall([[int(i) for i in f] for f in found], truth)
    print(f"search_batch  Python {nq / py_batch:8.0f} QPS   Rust {nq / rs_batch:8.0f} QPS   "
          f"Python/Rust = {rs_batch / py_batch:.3f}   recall@10 {r_needle:.3f}   "
          f"(medians {nq / np.median(py_b):.0f} / {nq / np.median(rs_b):.0f} QPS)")

    # --- one call per query: for each query, the minimum over --rounds calls from Python and
    # from Rust (timed inside Rust), then the mean of the per-query differences.
    qs = queries[: args.single]
    py_min = np.array([min(timed(lambda: col.search(q, K, ef=args.ef)) for _ in range(args.rounds)) for q in qs])
    rs_min = np.array([min(_needle._rust_search_seconds(col, q[None, :], K, args.ef, False) for _ in range(args.rounds))
                       for q in qs])
    ql = [q.tolist() for q in qs]
    py_list = np.array([min(timed(lambda: col.search(q, K, ef=args.ef)) for _ in range(args.rounds)) for q in ql])
    py_one, rs_one = float(py_min.mean()), float(rs_min.mean())
    print(f"search (1/call) Python {py_one * 1e6:7.1f} us   Rust {rs_one * 1e6:7.1f} us   "
          f"added by Python {(py_one - rs_one) * 1e6:+.2f} us/query (median of per-query differences "
          f"{np.median(py_min - rs_min) * 1e6:+.2f})   query as a list of floats: {py_list.mean() * 1e6:.1f} us")
    # The call overhead alone: the same loop on a 16-vector exact collection (the search is tiny).
    tiny = db.create_collection("tiny", base.shape[1], index="flat")
    tiny.insert_batch(ids[:16], base[:16])
    t_py = np.array([min(timed(lambda: tiny.search(q, K)) for _ in range(args.rounds)) for q in qs])
    t_rs = np.array([min(_needle._rust_search_seconds(tiny, q[None, :], K, 64, False) for _ in range(args.rounds))
                     for q in qs])
    print(f"call overhead on a 16-vector collection: Python {t_py.mean() * 1e6:.2f} us, Rust {t_rs.mean() * 1e6:.2f} us, "
          f"added {(t_py.mean() - t_rs.mean()) * 1e6:+.2f} us/query")

    rows = [("needle", build_needle, nq / py_batch, py_one, r_needle)]

    # --- peers.
    try:
        import hnswlib

        h = hnswlib.Index(space="cosine", dim=base.shape[1])
        h.init_index(max_elements=len(base), M=16, ef_construction=200, random_seed=100)
        t = time.perf_counter()
        h.add_items(base, np.arange(len(base)), num_threads=os.cpu_count())
        build = time.perf_counter() - t
        h.set_ef(args.ef)
        batch = best(lambda: timed(lambda: h.knn_query(queries, k=K, num_threads=os.cpu_count())), args.rounds)
        one = float(np.mean([min(timed(lambda: h.knn_query(q, k=K, num_threads=1)) for _ in range(args.rounds))
                             for q in qs]))
        labels, _ = h.knn_query(queries, k=K)
        rows.append((f"hnswlib {hnswlib.__version__ if hasattr(hnswlib, '__version__') else ''}".strip(), build,
                     nq / batch, one, recall(labels.tolist(), truth)))
    except ImportError:
        print("hnswlib not installed (pip install -r python/bench/requirements.txt)")
    try:
        import usearch
        from usearch.index import Index

        u = Index(ndim=base.shape[1], metric="cos", dtype="f32", connectivity=16, expansion_add=200,
                  expansion_search=args.ef)
        t = time.perf_counter()
        u.add(np.arange(len(base)), base, threads=os.cpu_count())
        build = time.perf_counter() - t
        batch = best(lambda: timed(lambda: u.search(queries, K, threads=os.cpu_count())), args.rounds)
        one = float(np.mean([min(timed(lambda: u.search(q, K)) for _ in range(args.rounds)) for q in qs]))
        m = u.search(queries, K, threads=os.cpu_count())
        rows.append((f"usearch {usearch.__version__} (f32)", build, nq / batch, one, recall(m.keys.tolist(), truth)))
    except ImportError:
        print("usearch not installed (pip install -r python/bench/requirements.txt)")

    print()
    print("| library (Python API) | build s | batch QPS | 1 query/call µs (mean of per-query minima) | recall@10 |")
    print("|---|---:|---:|---:|---:|")
    for name, build, qps, one, r in rows:
        print(f"| {name} | {build:.1f} | {qps:,.0f} | {one * 1e6:.1f} | {r:.3f} |")
    print(f"\npeak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()

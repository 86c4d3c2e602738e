#!/usr/bin/env python3
"""Fits auto_tune's model to bench-harness measurements and writes needle-api/src/tune_table.json.

Usage (from the workspace root, after the runs in needle-api/tune/README.md):

    python3 needle-api/tune/fit.py needle-api/tune/results/tune-*.json \
        [--dims needle-api/tune/results/tune-dims.json] > needle-api/src/tune_table.json

Input: the harness's result documents (schema needle-bench/1), one per (M, ef_construction)
grid point, each with several data-set sizes and the quantizers `none` and `sq8`.

Output (read by needle-api/src/tune.rs):
- `configs`: per (M, ef_construction, quantization) and data-set size, the measured recall@k and
  single-thread latency (mean = 1/QPS, and p99) at every ef_search of the sweep, the build time and
  the memory per vector (RSS growth and the API's own figure). auto_tune interpolates these in
  log(N) (and extrapolates with the least-squares slope over the sizes).
- `memory_fit`: bytes per vector = bytes_per_dimension * d + per_vector + per_link * M, least
  squares over every build (bytes_per_dimension is the store's layout: 4 for f32 rows, +1 for SQ8
  codes; the fit checks it when runs at other dimensions are given with --dims).
- `latency_dim_exponent`: latency ∝ (d / d_measured)^e, fitted from --dims runs (runs of the same
  grid point at other dimensions); 1.0 when none are given.
No numpy: plain least squares.
"""
import json
import math
import sys


def lstsq(rows, ys):
    """Least squares for ys ≈ rows · beta (normal equations, small systems)."""
    n = len(rows[0])
    a = [[sum(r[i] * r[j] for r in rows) for j in range(n)] for i in range(n)]
    b = [sum(r[i] * y for r, y in zip(rows, ys)) for i in range(n)]
    # Gaussian elimination with partial pivoting.
    for c in range(n):
        p = max(range(c, n), key=lambda r: abs(a[r][c]))
        a[c], a[p] = a[p], a[c]
        b[c], b[p] = b[p], b[c]
        for r in range(c + 1, n):
            f = a[r][c] / a[c][c]
            for k in range(c, n):
                a[r][k] -= f * a[c][k]
            b[r] -= f * b[c]
    x = [0.0] * n
    for c in reversed(range(n)):
        x[c] = (b[c] - sum(a[c][k] * x[k] for k in range(c + 1, n))) / a[c][c]
    return x


BYTES_PER_DIM = {"none": 4.0, "sq8": 5.0}


def isotonic(ys):
    """Non-decreasing least-squares fit (pool adjacent violators): a larger ef_search is never
    faster, so latency noise from a shared machine is smoothed without adding a shape."""
    blocks = []  # [sum, count]
    for y in ys:
        blocks.append([y, 1])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] > blocks[-1][0] / blocks[-1][1]:
            s, c = blocks.pop()
            blocks[-1][0] += s
            blocks[-1][1] += c
    out = []
    for s, c in blocks:
        out += [s / c] * c
    return out


def systems(doc):
    m = doc["config"]["build"]["m"]
    efc = doc["config"]["build"]["ef_construction"]
    for ds in doc["datasets"]:
        for s in ds["systems"]:
            if s.get("kind") != "needle" or s.get("error") or s.get("skipped"):
                continue
            yield m, efc, ds, s


def main(argv):
    paths, dims_paths = [], []
    it = iter(argv)
    for a in it:
        if a == "--dims":
            dims_paths.append(next(it))
        else:
            paths.append(a)
    docs = [json.load(open(p)) for p in paths]
    grid = {}
    machine, commits, ef_sweep, k = None, set(), None, None
    for doc in docs:
        machine = machine or doc["machine"]
        commits.add((doc["machine"]["git_commit"], doc["machine"]["git_dirty"]))
        ef_sweep = ef_sweep or doc["config"]["ef_search"]
        k = k or doc["config"]["k"]
        assert doc["config"]["ef_search"] == ef_sweep, "every run must sweep the same ef_search values"
        for m, efc, ds, s in systems(doc):
            q = s["components"]["quantizer"]
            assert ds["dim"] == 384, "grid runs are on 384-d wordnet-minilm"
            key = (m, efc, q)
            sweep = {p["ef_search"]: p for p in s["sweep"]}
            grid.setdefault(key, {})[ds["n"]] = {
                "recall": [round(sweep[e]["recall"], 5) for e in ef_sweep],
                # Smoothed in log space (see isotonic); the raw values stay in the result files.
                "latency_us": [round(math.exp(v), 2) for v in isotonic([math.log(1e6 / sweep[e]["qps"]) for e in ef_sweep])],
                "p99_us": [round(sweep[e]["p99_us"], 2) for e in ef_sweep],
                "build_s": round(s["build"][-1]["seconds"], 3),
                "rss_bytes_per_vector": round(s["rss_delta_bytes"] / ds["n"], 1),
                "reported_bytes_per_vector": round(s["reported_bytes"] / ds["n"], 1),
            }
    configs = []
    for (m, efc, q), by_n in sorted(grid.items()):
        sizes = sorted(by_n)
        configs.append({
            "m": m, "ef_construction": efc, "quantization": q, "sizes": sizes,
            "recall": [by_n[n]["recall"] for n in sizes],
            "latency_us": [by_n[n]["latency_us"] for n in sizes],
            "p99_us": [by_n[n]["p99_us"] for n in sizes],
            "build_s": [by_n[n]["build_s"] for n in sizes],
            "rss_bytes_per_vector": [by_n[n]["rss_bytes_per_vector"] for n in sizes],
            "reported_bytes_per_vector": [by_n[n]["reported_bytes_per_vector"] for n in sizes],
        })

    # Memory: N * (bytes_per_dim * d + per_vector + per_link * M) + fixed, per quantizer and
    # measure, least squares on bytes per vector = ... + fixed / N over every build.
    memory_fit = {}
    for q in sorted({c["quantization"] for c in configs}):
        memory_fit[q] = {"bytes_per_dimension": BYTES_PER_DIM[q]}
        for measure in ("rss", "reported"):
            rows, ys = [], []
            for c in configs:
                if c["quantization"] != q:
                    continue
                for n, bpv in zip(c["sizes"], c[f"{measure}_bytes_per_vector"]):
                    rows.append([1.0, float(c["m"]), 1.0 / n])
                    ys.append(bpv - BYTES_PER_DIM[q] * 384)
            a, b, fixed = lstsq(rows, ys)
            worst = max(abs((a + b * r[1] + fixed * r[2]) - y) / (y + BYTES_PER_DIM[q] * 384) for r, y in zip(rows, ys))
            memory_fit[q][measure] = {"per_vector": round(a, 2), "per_link": round(b, 3), "fixed": round(fixed),
                                      "max_relative_error": round(worst, 4), "points": len(ys)}

    # Latency vs dimensions from --dims runs: log(lat_d / lat_384) = e * log(d / 384) at the same
    # (M, efc, q, N, ef).
    exponent, dim_points = 1.0, []
    for p in dims_paths:
        doc = json.load(open(p))
        for m, efc, ds, s in systems(doc):
            key = (m, efc, s["components"]["quantizer"])
            base = grid.get(key, {}).get(ds["n"])
            if base is None or ds["dim"] == 384:
                continue
            sweep = {pt["ef_search"]: pt for pt in s["sweep"]}
            for i, e in enumerate(ef_sweep):
                if e in sweep:
                    dim_points.append((math.log(ds["dim"] / 384), math.log((1e6 / sweep[e]["qps"]) / base["latency_us"][i])))
    if dim_points:
        exponent = sum(x * y for x, y in dim_points) / sum(x * x for x, _ in dim_points)
        exponent = round(max(0.0, min(1.5, exponent)), 3)
    # The memory model (fitted at d = 384) checked against the builds at other dimensions.
    dims_memory = []
    for p in dims_paths:
        doc = json.load(open(p))
        for m, efc, ds, s in systems(doc):
            q = s["components"]["quantizer"]
            f = memory_fit[q]
            for measure, got in (("rss", s["rss_delta_bytes"]), ("reported", s["reported_bytes"])):
                want = ds["n"] * (f["bytes_per_dimension"] * ds["dim"] + f[measure]["per_vector"]
                                  + f[measure]["per_link"] * m) + f[measure]["fixed"]
                dims_memory.append({"dim": ds["dim"], "quantization": q, "measure": measure,
                                    "measured": got, "model": round(want), "relative_error": round(want / got - 1, 4)})

    table = {
        "schema": "needle-tune/1",
        "about": "auto_tune's model: bench-harness measurements on wordnet-minilm (384-d, cosine) and fits; made by needle-api/tune/fit.py, see needle-api/tune/README.md",
        "commands": [
            "CARGO_TARGET_DIR=/tmp/needle-tune-target cargo build --release -p needle-bench-harness",
            "for f in needle-api/tune/configs/grid-*.toml needle-api/tune/configs/full-m16-efc200.toml; do /tmp/needle-tune-target/release/bench-harness --config $f --no-peers --out-dir needle-api/tune/results; done",
            "python3 needle-api/tune/make_dims.py --out /tmp/needle-tune-data && NEEDLE_DATA_DIR=/tmp/needle-tune-data /tmp/needle-tune-target/release/bench-harness --config needle-api/tune/configs/dims.toml --no-peers --out-dir needle-api/tune/results",
            "python3 needle-api/tune/fit.py needle-api/tune/results/tune-m*.json --dims needle-api/tune/results/tune-dims.json > needle-api/src/tune_table.json",
        ],
        "machine": {key: machine[key] for key in ("cpu_model", "cores", "simd_backend", "mem_total_bytes")},
        "git_commits": sorted(f"{c}{' (dirty)' if d else ''}" for c, d in commits),
        "k": k,
        "dimensions": 384,
        "ef_search": ef_sweep,
        "latency": "single-thread mean per query (1/QPS, one query per search_with call), microseconds",
        "latency_dim_exponent": exponent,
        "latency_dim_points": len(dim_points),
        "memory_fit": memory_fit,
        "memory_check_other_dimensions": dims_memory,
        "configs": configs,
    }
    json.dump(table, sys.stdout, indent=1)
    sys.stdout.write("\n")
    for q, f in memory_fit.items():
        print(f"memory {q}: {f}", file=sys.stderr)
    print(f"latency dimension exponent {exponent} from {len(dim_points)} points", file=sys.stderr)
    for d in dims_memory:
        print(f"memory model at d={d['dim']} {d['quantization']} {d['measure']}: {d['relative_error']:+.2%}", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])

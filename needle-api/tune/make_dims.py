#!/usr/bin/env python3
"""Writes wordnet-minilm at other dimensions, to measure how latency and memory scale with d.

    python3 needle-api/tune/make_dims.py --out DIR [--data ../shared/data] [--n 20000]

- DIR/wordnet-minilm-d96:  the first 96 components of each vector, re-normalised (different data).
- DIR/wordnet-minilm-d768: each vector concatenated with itself, divided by sqrt(2) — the same
  cosine geometry (same neighbours, same recall) at twice the dimensions, so only the cost of a
  distance changes.
Base: the first N vectors; queries: all 1,000. No numpy.
"""
import argparse
import math
import os
import struct


def read_fvecs(path, limit=None):
    out = []
    with open(path, "rb") as f:
        while limit is None or len(out) < limit:
            h = f.read(4)
            if not h:
                break
            (d,) = struct.unpack("<i", h)
            out.append(struct.unpack(f"<{d}f", f.read(4 * d)))
    return out


def write_fvecs(path, rows):
    with open(path, "wb") as f:
        for r in rows:
            f.write(struct.pack("<i", len(r)))
            f.write(struct.pack(f"<{len(r)}f", *r))


def norm(r):
    s = math.sqrt(sum(x * x for x in r)) or 1.0
    return [x / s for x in r]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--data", default=os.environ.get("NEEDLE_DATA_DIR", os.path.join(os.path.dirname(__file__), "../../../shared/data")))
    ap.add_argument("--n", type=int, default=20000)
    a = ap.parse_args()
    src = os.path.join(a.data, "wordnet-minilm")
    base = read_fvecs(os.path.join(src, "base.fvecs"), a.n)
    query = read_fvecs(os.path.join(src, "query.fvecs"))
    variants = {
        "wordnet-minilm-d96": lambda r: norm(r[:96]),
        "wordnet-minilm-d768": lambda r: [x / math.sqrt(2) for x in list(r) + list(r)],
    }
    for name, f in variants.items():
        d = os.path.join(a.out, name)
        os.makedirs(d, exist_ok=True)
        write_fvecs(os.path.join(d, "base.fvecs"), [f(r) for r in base])
        write_fvecs(os.path.join(d, "query.fvecs"), [f(r) for r in query])
        print(f"wrote {d}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Prepares the fashion-mnist data set for the bench-harness (784-d, Euclidean).

Source: Fashion-MNIST (Zalando Research, 2017; MIT licence), as packaged by Debian in
`dataset-fashion-mnist` (version 0.0~git20200523.55506a9-1, `/usr/share/datasets/fashion-mnist/`).
The package is fetched with `apt-get download` (no root needed) unless it is already installed or
`--deb` names a downloaded .deb.

Writes, in the TEXMEX layout of ../shared/data/wordnet-minilm:

    base.fvecs              60,000 x 784 float32  the training images, pixel values 0..255, row order kept
    query.fvecs             10,000 x 784 float32  the test images (a disjoint set of photos), order kept
    groundtruth.ivecs       for each query the ids (0-based rows of base) of its 100 exact nearest
                            neighbours by Euclidean distance, nearest first, ties to the smaller id
    groundtruth_dist.fvecs  the matching Euclidean distances (not squared)
    base.labels, query.labels   the class (0..9) of each row, one per line
    SOURCE.txt              where it came from (package version, checksums), counts of duplicates/ties

This is the split ann-benchmarks calls fashion-mnist-784-euclidean (train = base, test = queries).
Ground truth is exact: pixels are integers, so squared distances computed in float64 through
|q|^2 + |b|^2 - 2 q.b are exact integers; ranking uses the key (distance, id).

Usage: python prepare.py [--out DIR] [--deb FILE]
       (default DIR: $NEEDLE_BENCH_DATA or bench-harness/data/fashion-mnist, which git ignores)
Needs numpy only (the peers venv has it: bench-harness/.venv/bin/python).
"""

import argparse
import gzip
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

PACKAGE = "dataset-fashion-mnist"
INSTALLED = Path("/usr/share/datasets/fashion-mnist")
FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
         "t10k-labels-idx1-ubyte.gz")
K = 100


def log(msg):
    print(f"[fashion-mnist] {msg}", file=sys.stderr, flush=True)


def fetch(deb, work):
    """Returns (directory with the .gz files, description of the source)."""
    if deb is None and all((INSTALLED / f).exists() for f in FILES):
        try:
            ver = subprocess.run(["dpkg-query", "-W", "-f=${Version}", PACKAGE], capture_output=True,
                                 text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            ver = "unknown"
        return INSTALLED, f"Debian package {PACKAGE} {ver} (installed, {INSTALLED})"
    if deb is None:
        log(f"apt-get download {PACKAGE}")
        subprocess.run(["apt-get", "download", PACKAGE], cwd=work, check=True)
        debs = sorted(Path(work).glob(f"{PACKAGE}_*.deb"))
        if not debs:
            sys.exit(f"apt-get download {PACKAGE} left no .deb in {work}")
        deb = debs[-1]
    deb = Path(deb)
    ver = subprocess.run(["dpkg-deb", "-f", str(deb), "Version"], capture_output=True, text=True,
                         check=True).stdout.strip()
    sha = hashlib.sha256(deb.read_bytes()).hexdigest()
    x = Path(work) / "x"
    subprocess.run(["dpkg-deb", "-x", str(deb), str(x)], check=True)
    return x / "usr/share/datasets/fashion-mnist", f"Debian package {PACKAGE} {ver} ({deb.name}, sha256 {sha})"


def read_idx(path):
    raw = gzip.decompress(path.read_bytes())
    magic = int.from_bytes(raw[0:4], "big")
    ndim = magic & 0xFF
    if magic >> 8 != 0x08:  # unsigned byte
        sys.exit(f"{path}: not an unsigned-byte IDX file (magic {magic:#x})")
    shape = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    return data.reshape(shape)


def write_vecs(path, a):
    """TEXMEX: per row a little-endian int32 dimension, then the row (float32 or int32)."""
    n, d = a.shape
    rec = np.empty((n, d + 1), dtype="<i4")
    rec[:, 0] = d
    rec[:, 1:] = a.astype("<f4").view("<i4") if a.dtype.kind == "f" else a.astype("<i4")
    rec.tofile(path)


def ground_truth(base, queries, k):
    """Exact top-k by squared Euclidean distance, ties to the smaller id; returns (ids, squared dist)."""
    b = base.astype(np.float64)
    bn = (b * b).sum(1)
    n = b.shape[0]
    assert n < (1 << 20)
    ids = np.empty((queries.shape[0], k), dtype=np.int64)
    d2 = np.empty((queries.shape[0], k), dtype=np.int64)
    col = np.arange(n, dtype=np.int64)
    chunk = 500
    for s in range(0, queries.shape[0], chunk):
        q = queries[s:s + chunk].astype(np.float64)
        dist = (q * q).sum(1)[:, None] + bn[None, :] - 2.0 * (q @ b.T)
        di = np.rint(dist).astype(np.int64)  # exact: integer pixels, every term below 2^53
        assert np.abs(dist - di).max() < 1e-6 and di.min() >= 0
        key = (di << 20) | col[None, :]      # unique keys: distance first, then id
        part = np.argpartition(key, k, axis=1)[:, :k]
        pk = np.take_along_axis(key, part, 1)
        order = np.argsort(pk, axis=1)
        top = np.take_along_axis(pk, order, 1)
        ids[s:s + chunk] = top & ((1 << 20) - 1)
        d2[s:s + chunk] = top >> 20
        if (s // chunk) % 5 == 4:
            log(f"ground truth: {s + len(q)}/{queries.shape[0]}")
    return ids, d2


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    here = Path(__file__).resolve().parent
    default_out = os.environ.get("NEEDLE_BENCH_DATA")
    default_out = Path(default_out) / "fashion-mnist" if default_out else here.parent.parent / "data" / "fashion-mnist"
    ap.add_argument("--out", type=Path, default=default_out)
    ap.add_argument("--deb", help="a downloaded dataset-fashion-mnist .deb (default: apt-get download it)")
    args = ap.parse_args()

    t0 = time.time()
    work = tempfile.mkdtemp(prefix="fashion-mnist-")
    try:
        src_dir, source = fetch(args.deb, work)
        log(f"source: {source}")
        idx_sha = {f: hashlib.sha256((src_dir / f).read_bytes()).hexdigest()[:16] for f in FILES}
        train = read_idx(src_dir / "train-images-idx3-ubyte.gz")
        test = read_idx(src_dir / "t10k-images-idx3-ubyte.gz")
        train_y = read_idx(src_dir / "train-labels-idx1-ubyte.gz")
        test_y = read_idx(src_dir / "t10k-labels-idx1-ubyte.gz")
    finally:
        shutil.rmtree(work, ignore_errors=True)

    base = train.reshape(train.shape[0], -1)
    queries = test.reshape(test.shape[0], -1)
    assert base.shape == (60000, 784) and queries.shape == (10000, 784), (base.shape, queries.shape)
    # Fashion-MNIST's documented class balance: 6,000 training and 1,000 test images per class.
    assert (np.bincount(train_y, minlength=10) == 6000).all() and (np.bincount(test_y, minlength=10) == 1000).all()

    log(f"exact ground truth, k={K}, {queries.shape[0]} queries x {base.shape[0]} base ...")
    # one extra column to count ties at the top-10 boundary
    ids, d2 = ground_truth(base, queries, K + 1)
    ties10 = int((d2[:, 9] == d2[:, 10]).sum())
    ties100 = int((d2[:, 99] == d2[:, 100]).sum())
    zero = int((d2[:, 0] == 0).sum())
    ids, d2 = ids[:, :K], d2[:, :K]
    _, first = np.unique(base, axis=0, return_index=True)
    base_dups = base.shape[0] - len(first)

    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    write_vecs(out / "base.fvecs", base.astype(np.float32))
    write_vecs(out / "query.fvecs", queries.astype(np.float32))
    write_vecs(out / "groundtruth.ivecs", ids.astype(np.int32))
    write_vecs(out / "groundtruth_dist.fvecs", np.sqrt(d2.astype(np.float64)).astype(np.float32))
    np.savetxt(out / "base.labels", train_y, fmt="%d")
    np.savetxt(out / "query.labels", test_y, fmt="%d")
    sha = {f: hashlib.sha256((out / f).read_bytes()).hexdigest()
           for f in ("base.fvecs", "query.fvecs", "groundtruth.ivecs")}
    info = f"""fashion-mnist: 784-d Euclidean, written by bench-harness/datasets/fashion-mnist/prepare.py
source: {source}
        Fashion-MNIST, Zalando SE 2017, MIT licence (Debian copyright: Expat)
        IDX files (sha256, first 16 hex digits): {idx_sha}
base:   {base.shape[0]} x {base.shape[1]} float32 (training images, pixel values 0..255), {base_dups} exact duplicate rows
query:  {queries.shape[0]} x {queries.shape[1]} float32 (test images); {zero} are identical to some base image
truth:  k={K}, exact (integer squared distances in float64), ties to the smaller id;
        queries whose 10th and 11th neighbours tie: {ties10}; 100th and 101st: {ties100}
sha256: {sha}
"""
    (out / "SOURCE.txt").write_text(info)
    print(info, end="")
    log(f"wrote {out} in {time.time() - t0:.1f} s")


if __name__ == "__main__":
    main()

"""Shared fixtures: the real wordnet-minilm slice and a collection built from it once.

Data comes from ``NEEDLE_DATA_DIR`` (default ``../shared/data`` beside the repository). Missing
data fails the run: these tests never skip.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import needle

ROOT = Path(__file__).resolve().parents[2]
N_BASE = 20_000
N_QUERIES = 200


def data_dir() -> Path:
    return Path(os.environ.get("NEEDLE_DATA_DIR", ROOT / ".." / "shared" / "data"))


def read_fvecs(path: Path, count: int) -> np.ndarray:
    """The first ``count`` vectors of a TEXMEX ``.fvecs`` file (int32 d, then d float32, per row)."""
    head = np.fromfile(path, dtype="<i4", count=1)
    if head.size == 0:
        raise RuntimeError(f"{path} is empty")
    d = int(head[0])
    raw = np.fromfile(path, dtype="<i4", count=count * (d + 1)).reshape(-1, d + 1)
    if not (raw[:, 0] == d).all():
        raise RuntimeError(f"{path}: rows of differing dimensions")
    return np.ascontiguousarray(raw[:, 1:].view("<f4"))


@pytest.fixture(scope="session")
def wordnet() -> tuple[np.ndarray, np.ndarray]:
    """(base, queries): 20,000 base vectors and 200 queries, 384-d float32."""
    d = data_dir() / "wordnet-minilm"
    base_path, query_path = d / "base.fvecs", d / "query.fvecs"
    if not base_path.is_file():
        pytest.fail(f"real data not found at {base_path} (set NEEDLE_DATA_DIR)")
    base = read_fvecs(base_path, N_BASE)
    queries = read_fvecs(query_path, N_QUERIES)
    assert base.shape == (N_BASE, 384) and queries.shape == (N_QUERIES, 384)
    return base, queries


def exact_top_k(base: np.ndarray, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact cosine top-k by numpy (float64), ties by smaller row: (rows, distances)."""
    b = base.astype(np.float64)
    q = queries.astype(np.float64)
    b /= np.linalg.norm(b, axis=1, keepdims=True)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    dist = 1.0 - q @ b.T
    rows = np.lexsort((np.broadcast_to(np.arange(b.shape[0]), dist.shape), dist), axis=1)[:, :k]
    return rows, np.take_along_axis(dist, rows, axis=1)


@pytest.fixture(scope="session")
def truth(wordnet) -> tuple[np.ndarray, np.ndarray]:
    base, queries = wordnet
    return exact_top_k(base, queries, 10)


@pytest.fixture(scope="session")
def hnsw(wordnet) -> needle.Collection:
    """An in-memory HNSW collection of the 20,000 base vectors (ids ``"0"``…), built once."""
    base, _ = wordnet
    db = needle.Database.in_memory()
    col = db.create_collection("wordnet", 384, distance="cosine")
    col.insert_batch([str(i) for i in range(len(base))], base, metadata=[{"row": i, "bucket": i % 10} for i in range(len(base))])
    return col

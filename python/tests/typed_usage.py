"""Typical use of ``needle`` and ``needle.ray``, written for ``mypy --strict``: test_types.py
type-checks this file against the package's stub (``needle/__init__.pyi``) and runs ``main()``, so
the stub can neither reject correct code nor describe an API the extension does not have.
(Not collected by pytest itself: the name does not start with ``test_``.)"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np
import numpy.typing as npt

import needle


def build(db: needle.Database) -> needle.Collection:
    col = db.create_collection("docs", 4, distance="cosine", index="hnsw", m=8, ef_construction=64, seed=7)
    col.insert("a", [1.0, 0.0, 0.0, 0.0], {"title": "first", "year": 2001})
    vectors: npt.NDArray[np.float32] = np.eye(4, dtype=np.float32)[1:]
    col.insert_batch(["b", "c", "d"], vectors, [{"year": 1999}, None, {"tags": ["x"]}])
    replaced: bool = col.upsert("d", np.array([0.0, 0.0, 0.5, 0.5], dtype=np.float32))
    assert replaced
    return col


def query(col: needle.Collection) -> list[str]:
    hits: list[needle.Hit] = col.search([0.9, 0.1, 0.0, 0.0], k=2, ef=32, filter={"year": {"$gte": 2000}})
    hit_id, distance, metadata = hits[0]
    assert isinstance(hit_id, str) and isinstance(distance, float) and isinstance(metadata, dict)
    ids, distances = col.search_batch(np.eye(4, dtype=np.float32), k=2)
    assert distances.dtype == np.float32 and len(ids) == 4
    record: Optional[needle.Record] = col.get("a")
    assert record is not None and record.vector.shape == (4,)
    explained = col.explain([1.0, 0.0, 0.0, 0.0], k=1, strategy="exact")
    assert "hits" in explained
    return [h.id for h in hits]


def main(directory: Optional[Path] = None) -> list[str]:
    config = needle.auto_tune(10_000, 4, profile="low_latency")
    assert isinstance(config, dict)
    assert needle.engine_threads() >= 1 and needle.simd_backend()
    db = needle.Database.in_memory() if directory is None else needle.Database(directory / "t.needle")
    with db:
        col = build(db)
        assert "docs" in db and len(col) == 4 and col.dims == 4 and col.name == "docs"
        try:
            col.insert("a", [1.0, 0.0, 0.0, 0.0])
        except needle.AlreadyExists as e:
            assert e.code == "already_exists" or e.code
        found = query(col)
        assert col.delete("b") and not col.delete("b")
    return found


def sharded(directory: Path) -> int:
    """Type-checked only (it needs a Ray cluster): the ``needle.ray`` API as callers use it."""
    from needle.ray import ShardedCollection, ShardUnavailable

    sc = ShardedCollection.create(directory, "docs", 4, shards=2, num_cpus=0.5, retry_seconds=30.0, index="flat")
    try:
        written: int = sc.insert_batch(["a", "b"], np.eye(4, dtype=np.float32)[:2], [{"i": 0}, None])
        written += sc.upsert_batch(["b", "c"], np.eye(4, dtype=np.float32)[1:3])
        replaced: bool = sc.upsert("a", [0.0, 1.0, 0.0, 0.0])
        existed: bool = sc.delete("c")
        record = sc.get("a")
        assert record is None or record.vector.shape == (4,)
        hits = sc.search([1.0, 0.0, 0.0, 0.0], k=1)
        assert replaced or existed or hits
    except ShardUnavailable as e:
        print(e.shards)
    finally:
        sc.close()
    return written + sc.shards


if __name__ == "__main__":
    print(main())

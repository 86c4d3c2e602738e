"""One shard: a Ray actor that owns one Needle database file and the collection in it.

The actor's constructor opens (or, the first time, creates) its file, so when Ray restarts a
failed actor (``max_restarts``) the same constructor reopens the file and the engine replays its
write-ahead log: a write acknowledged before the failure (synced, by the default ``immediate``
durability) is there after it. Methods return plain Python data (tuples, lists, numpy arrays), so
results travel through Ray's object store without the extension's classes.
"""

from __future__ import annotations

import time
from typing import Any, Optional

import numpy as np

import needle

from ._manifest import ManifestError


class Shard:
    """The actor class (wrapped by ``ray.remote`` in ``ShardedCollection``)."""

    def __init__(self, index: int, path: str, name: str, dims: int, options: dict[str, Any], create: bool,
                 durability: str) -> None:
        self.index = index
        self.db = needle.Database(path, durability=durability)
        if name in self.db:
            self.col = self.db.collection(name)
        elif create:
            self.col = self.db.create_collection(name, dims, **options)
        else:
            raise ManifestError(f"shard {index} file {path} holds no collection {name!r}")
        if self.col.dims != dims:
            raise ManifestError(f"shard {index} file {path}: collection {name!r} has {self.col.dims} dims, not {dims}")

    def ping(self) -> int:
        return self.index

    def insert_batch(self, ids: list[str], vectors: np.ndarray, metadata: Optional[list]) -> int:
        self.col.insert_batch(ids, vectors, metadata)
        return len(ids)

    def upsert(self, id: str, vector: np.ndarray, metadata: Optional[dict]) -> bool:
        return self.col.upsert(id, vector, metadata)

    def delete(self, id: str) -> bool:
        return self.col.delete(id)

    def get(self, id: str) -> Optional[tuple[str, np.ndarray, Optional[dict]]]:
        r = self.col.get(id)
        return None if r is None else (r.id, r.vector, r.metadata)

    def count(self) -> int:
        return len(self.col)

    def ids(self) -> list[str]:
        return self.col.ids()

    def info(self) -> dict[str, Any]:
        return self.col.info()

    def cpu_seconds(self) -> float:
        """CPU time this actor's process has used (all threads): for capacity measurements."""
        return time.process_time()

    def search_batch(self, queries: np.ndarray, k: int, ef: Optional[int], filter: Optional[dict],
                     include_metadata: bool) -> tuple[list[list[str]], np.ndarray, Optional[list[list[Any]]]]:
        """Top ``k`` of every query on this shard: ids, distances (inf-padded), and metadata when
        asked (one ``search`` per query then; ``search_batch`` carries no metadata)."""
        if not include_metadata:
            ids, distances = self.col.search_batch(queries, k, ef=ef, filter=filter)
            return ids, distances, None
        hits = [self.col.search(q, k, ef=ef, filter=filter) for q in queries]
        width = max((len(h) for h in hits), default=0)
        distances = np.full((len(hits), width), np.inf, dtype=np.float32)
        for row, h in enumerate(hits):
            distances[row, : len(h)] = [x.distance for x in h]
        return [[x.id for x in h] for h in hits], distances, [[x.metadata for x in h] for h in hits]

    def save(self) -> None:
        self.db.save()

    def close(self) -> None:
        self.db.close()

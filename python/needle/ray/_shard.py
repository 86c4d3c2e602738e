"""One shard: a Ray actor that owns one Needle database file and the collection in it.

The actor's constructor opens (or, the first time, creates) its file, so when Ray restarts a
failed actor (``max_restarts``) the same constructor reopens the file and the engine replays its
write-ahead log: a write acknowledged before the failure (synced, by the default ``immediate``
durability) is there after it. Methods return plain Python data (tuples, lists, numpy arrays), so
results travel through Ray's object store without the extension's classes.
"""

from __future__ import annotations

import json
import time
from typing import Any, Optional, Sequence

import numpy as np

import needle

from .._errors import AlreadyExists, DimensionMismatch, InvalidVector
from ._manifest import ManifestError


def _as_stored(metadata: Any) -> Any:
    """``metadata`` as the engine gives it back (JSON: tuples become lists, and so on)."""
    try:
        return None if metadata is None else json.loads(json.dumps(metadata))
    except (TypeError, ValueError):
        return metadata


def engine_env(runtime_env: Optional[dict[str, Any]], num_cpus: float) -> dict[str, Any]:
    """``runtime_env`` (the caller's, if any) with ``RAYON_NUM_THREADS`` set to the actor's CPU
    reservation, at least 1. The engine's batch builds and batch searches run on a pool of that
    many threads, so an actor uses the cores Ray reserved for it (as Ray sets ``OMP_NUM_THREADS``
    for its tasks) and shards on one node do not oversubscribe it. A ``RAYON_NUM_THREADS`` the
    caller set in ``runtime_env`` wins. Only the actor's process sees it: the driver's pool and
    other users of ``needle`` keep one thread per core."""
    env = dict(runtime_env or {})
    env_vars = dict(env.get("env_vars") or {})
    env_vars.setdefault("RAYON_NUM_THREADS", str(max(1, int(num_cpus))))
    env["env_vars"] = env_vars
    return env


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

    def insert_batch(self, ids: list[str], vectors: np.ndarray, metadata: Optional[Sequence[Optional[dict[str, Any]]]]) -> int:
        self.col.insert_batch(ids, vectors, metadata)
        return len(ids)

    def insert_batch_again(self, ids: list[str], vectors: np.ndarray, metadata: Optional[Sequence[Optional[dict[str, Any]]]]) -> int:
        """``insert_batch`` sent again after this actor died under the first attempt, which may
        or may not have been applied: a row stored with exactly this vector and metadata counts as
        written; a row stored with anything else raises ``AlreadyExists`` (nothing overwritten);
        the other rows are inserted as one batch."""
        fresh = []
        for r, i in enumerate(ids):
            stored = self.col.get(i)
            if stored is None:
                fresh.append(r)
                continue
            meta = None if metadata is None else metadata[r]
            if not (np.array_equal(stored.vector, vectors[r]) and stored.metadata == _as_stored(meta)):
                raise AlreadyExists(f"vector already exists: {i} (stored with a different vector or metadata; "
                                    f"an insert sent again after shard {self.index} restarted overwrites nothing)")
        if fresh:
            self.col.insert_batch([ids[r] for r in fresh], vectors[fresh],
                                  None if metadata is None else [metadata[r] for r in fresh])
        return len(ids)

    def upsert_batch(self, ids: list[str], vectors: np.ndarray, metadata: Optional[Sequence[Optional[dict[str, Any]]]]) -> int:
        """``upsert`` of every row: new ids are built as one batch, then stored ids replaced one
        by one. Doing it twice is the same as doing it once (so it is sent again as it is). This
        actor runs one call at a time, so no write comes between the check and the writes."""
        if vectors.ndim != 2 or vectors.shape[1] != self.col.dims:
            raise DimensionMismatch(f"dimension mismatch: expected {self.col.dims}, got shape {vectors.shape}")
        if not np.isfinite(vectors).all():
            raise InvalidVector("upsert_batch: a vector holds NaN or an infinity")
        present = [i in self.col for i in ids]
        stored = [r for r, p in enumerate(present) if p]
        fresh = [r for r, p in enumerate(present) if not p]
        if fresh:
            self.col.insert_batch([ids[r] for r in fresh], vectors[fresh],
                                  None if metadata is None else [metadata[r] for r in fresh])
        for r in stored:
            self.col.upsert(ids[r], vectors[r], None if metadata is None else metadata[r])
        return len(ids)

    def upsert(self, id: str, vector: np.ndarray, metadata: Optional[dict[str, Any]]) -> bool:
        return self.col.upsert(id, vector, metadata)

    def delete(self, id: str) -> bool:
        return self.col.delete(id)

    def get(self, id: str) -> Optional[tuple[str, np.ndarray, Optional[dict[str, Any]]]]:
        r = self.col.get(id)
        return None if r is None else (r.id, r.vector, r.metadata)

    def count(self) -> int:
        return len(self.col)

    def ids(self) -> list[str]:
        return self.col.ids()

    def info(self) -> dict[str, Any]:
        return self.col.info()

    def engine_threads(self) -> int:
        """The size of this actor's engine thread pool (see ``engine_env``)."""
        return needle.engine_threads()

    def cpu_seconds(self) -> float:
        """CPU time this actor's process has used (all threads): for capacity measurements."""
        return time.process_time()

    def search_batch(self, queries: np.ndarray, k: int, ef: Optional[int], filter: Optional[dict[str, Any]],
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

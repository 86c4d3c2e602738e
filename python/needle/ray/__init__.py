"""needle.ray: one collection sharded over Ray actors, one Needle file per shard.

``ShardedCollection.create(directory, name, dims, shards=N, **collection_options)`` starts N
shard actors (``@ray.remote``, 1 CPU each by default), each owning ``directory/shard-0000i.needle``,
and writes ``directory/manifest.json`` (format version, collection config, shard count, routing
hash and version, shard files) atomically; ``ShardedCollection.open(directory)`` reopens it.
Every id has one owner shard (blake2b of its UTF-8 bytes mod N, see ``_manifest.py``), so
``upsert``/``delete``/``get`` go to one shard and an id never lives twice. Searches fan out to all
shards at once (one remote call per shard per batch) and the driver merges the per-shard top-k
exactly (ties by id); filters run on the shards.

Faults: actors restart on failure (``max_restarts``, unlimited by default) and reopen their file,
replaying its write-ahead log, so a write whose call returned survives. A call (a search, ``get``,
``count``, ...) that meets a restarting shard retries it for up to ``retry_seconds`` and then
raises ``ShardUnavailable`` naming it — never a silently partial answer, unless
``allow_partial=True`` (searches), which returns ``(results, missing_shards)``. Writes are retried the same way, each shard's part on its own, and
only in a form that is safe to apply twice (``_faults.py``): ``upsert``, ``upsert_batch`` and
``delete`` are sent again as they are; an ``insert_batch`` part is sent again as
``insert_batch_again``, which counts a row already stored with the same vector and metadata as
written (the first attempt landed before the actor died) and still refuses, without overwriting,
an id stored with a different vector or metadata. After a retry, ``upsert``'s and ``delete``'s
booleans describe the state the retry met (the first attempt may already have made the change).

Placement: ``num_cpus`` per actor (default 1; the actor's engine uses that many threads, at least
one, through ``RAYON_NUM_THREADS`` in its ``runtime_env``), and
``actor_options`` (a dict, or a function of the
shard index returning one) passed to Ray's ``.options()``, e.g. a ``scheduling_strategy``. The
``directory`` may be shared storage (any node can run any shard) or a path that exists on every
node, with each shard pinned to the node holding its file by ``actor_options`` (then open with
``check_files=False`` on a driver that does not see the files).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, NamedTuple, Optional, Sequence, Union

import numpy as np

try:
    import ray
    from ray.exceptions import RayActorError
except ImportError:  # pragma: no cover - exercised only without the extra
    # Chained implicitly to Ray's own ImportError (no `as` name, which would stay a module attribute).
    raise ImportError("needle.ray needs Ray: pip install 'needle[ray]' (or 'ray[data]')")

import needle

from .._errors import AlreadyExists, InvalidInput
from ._manifest import MANIFEST, Manifest, ManifestError, shard_of
from ._faults import ShardUnavailable, fan_out
from ._merge import merge, split
from ._shard import Shard, engine_env

__all__ = ["ManifestError", "ShardUnavailable", "ShardedCollection", "ShardedRecord", "shard_of"]

ActorOptions = Union[dict[str, Any], Callable[[int], dict[str, Any]], None]


class ShardedRecord(NamedTuple):
    """A stored vector, as ``ShardedCollection.get`` returns it."""

    id: str
    vector: np.ndarray
    metadata: Optional[dict[str, Any]]


class ShardedCollection:
    """A collection split into shards, one Ray actor and one Needle file per shard."""

    def __init__(self, directory: Path, manifest: Manifest, actors: list[Any], retry_seconds: float) -> None:
        self._dir = directory
        self._m = manifest
        self._actors = actors
        self.retry_seconds = retry_seconds
        # Rows written by from_dataset (0 for a collection made otherwise).
        self.ingested = 0

    # --- lifecycle ------------------------------------------------------------------------------

    @staticmethod
    def _start(directory: Path, m: Manifest, create: bool, num_cpus: float, max_restarts: int, durability: str,
               actor_options: ActorOptions) -> list[Any]:
        remote: Any = ray.remote(Shard)
        actors: list[Any] = []
        for i, f in enumerate(m.shard_files):
            opts: dict[str, Any] = {"num_cpus": num_cpus, "max_restarts": max_restarts, "max_task_retries": 0}
            extra = actor_options(i) if callable(actor_options) else (actor_options or {})
            opts.update(extra)
            opts["runtime_env"] = engine_env(opts.get("runtime_env"), opts["num_cpus"])
            actors.append(remote.options(**opts).remote(i, str(directory / f), m.name, m.dims, m.options, create,
                                                        durability))
        for i, a in enumerate(actors):
            try:
                ray.get(a.ping.remote())
            except RayActorError as e:
                for b in actors:
                    ray.kill(b, no_restart=True)
                raise ShardUnavailable(f"shard {i} ({m.shard_files[i]}) failed to start: {e}", [i]) from None
        return actors

    @classmethod
    def create(cls, directory: Union[str, Path], name: str, dims: int, shards: int = 2, *, num_cpus: float = 1.0,
               max_restarts: int = -1, durability: str = "immediate", actor_options: ActorOptions = None,
               retry_seconds: float = 60.0, **collection_options: Any) -> ShardedCollection:
        """Creates ``directory`` (if needed), ``shards`` shard files and actors, and the manifest.
        ``collection_options`` are ``Database.create_collection``'s keywords (``distance``,
        ``index``, ``m``, ``ef_construction``, ``ef_search``, ``quantization``, ``text_field``)."""
        if shards < 1:
            raise InvalidInput(f"shards must be at least 1, got {shards}")
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        if (directory / MANIFEST).exists():
            raise AlreadyExists(f"{directory / MANIFEST} exists: open it with ShardedCollection.open")
        m = Manifest.new(name, int(dims), shards, collection_options)
        actors = cls._start(directory, m, True, num_cpus, max_restarts, durability, actor_options)
        m.write(directory)  # after every shard file holds the collection
        return cls(directory, m, actors, retry_seconds)

    @classmethod
    def open(cls, directory: Union[str, Path], *, shards: Optional[int] = None, num_cpus: float = 1.0,
             max_restarts: int = -1, durability: str = "immediate", actor_options: ActorOptions = None,
             retry_seconds: float = 60.0, check_files: bool = True) -> ShardedCollection:
        """Reopens the sharded collection whose manifest is in ``directory``. ``shards``: the count
        you expect (a mismatch is a ``ManifestError``)."""
        directory = Path(directory)
        m = Manifest.read(directory, shards, check_files)
        actors = cls._start(directory, m, False, num_cpus, max_restarts, durability, actor_options)
        return cls(directory, m, actors, retry_seconds)

    @classmethod
    def from_dataset(cls, ds: Any, directory: Union[str, Path], name: str, id_column: str, vector_column: str,
                     metadata_columns: tuple[str, ...] = (), shards: int = 2, *, dims: Optional[int] = None,
                     batch_size: int = 1024, ingest_num_cpus: float = 0.25, **kwargs: Any) -> ShardedCollection:
        """Creates a sharded collection and streams a ``ray.data.Dataset`` into it: Ray Data tasks
        route each batch's rows to their owner shards, so the rows never gather on the driver.
        ``dims``: taken from the first row when not given. Other keywords go to ``create``."""
        if dims is None:
            first = ds.take(1)
            if not first:
                raise InvalidInput("the dataset is empty: give dims= to create an empty collection")
            dims = len(first[0][vector_column])
        sc = cls.create(directory, name, dims, shards, **kwargs)
        counts = ds.map_batches(
            _ingest_batch,
            fn_kwargs={"actors": sc._actors, "files": sc._m.shard_files, "retry_seconds": sc.retry_seconds,
                       "id_column": id_column, "vector_column": vector_column,
                       "metadata_columns": tuple(metadata_columns)},
            batch_format="numpy",
            batch_size=batch_size,
            num_cpus=ingest_num_cpus,
        )
        sc.ingested = sum(int(b["written"].sum()) for b in counts.iter_batches(batch_format="numpy", batch_size=None))
        sc.save()
        return sc

    def save(self) -> None:
        """Checkpoints every shard file."""
        self._all("save")

    def close(self) -> None:
        """Checkpoints and closes every shard that answers, then stops the actors (a dead
        shard's file needs nothing: its log replays when it is opened again)."""
        try:
            self._all("close", allow_partial=True)
        finally:
            for a in self._actors:
                ray.kill(a, no_restart=True)
            self._actors = []

    def __enter__(self) -> ShardedCollection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- description ----------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self._m.name

    @property
    def dims(self) -> int:
        return self._m.dims

    @property
    def shards(self) -> int:
        return self._m.shards

    @property
    def directory(self) -> Path:
        return self._dir

    @property
    def actors(self) -> list[Any]:
        """The shard actors, by shard index (for placement checks and fault tests)."""
        return list(self._actors)

    def shard_of(self, id: str) -> int:
        """The index of the shard that owns ``id``."""
        return shard_of(id, self._m.shards)

    # --- calls ----------------------------------------------------------------------------------

    def _on(self, parts: dict[int, tuple[str, tuple[Any, ...]]], what: str,
            allow_partial: bool = False) -> tuple[dict[int, Any], list[int]]:
        """Runs ``parts`` (shard -> (method, args)) at once, each sent again to a restarting shard
        until ``retry_seconds`` pass (``_faults.fan_out``)."""
        return fan_out(self._actors, self._m.shard_files, parts, self.retry_seconds, what, allow_partial)

    def _all(self, method: str, *args: Any, allow_partial: bool = False) -> tuple[dict[int, Any], list[int]]:
        """``method(*args)`` on every shard at once; results by shard, and the shards that never
        answered (only with ``allow_partial``; otherwise those raise ``ShardUnavailable``)."""
        return self._on({i: (method, args) for i in range(len(self._actors))}, method, allow_partial)

    def _one(self, id: str, method: str, *args: Any) -> Any:
        """``method(id, *args)`` on the shard that owns ``id``."""
        s = self.shard_of(id)
        return self._on({s: (method, (id, *args))}, method)[0][s]

    # --- writes ---------------------------------------------------------------------------------

    def _rows(self, ids: Any, vectors: Any, metadata: Optional[Sequence[Optional[dict[str, Any]]]]) -> tuple[list[str], np.ndarray]:
        if isinstance(ids, str):
            raise InvalidInput("ids must be a sequence of str, not a str")
        ids = [str(i) for i in ids]
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or len(vectors) != len(ids):
            raise InvalidInput(f"{len(ids)} ids but vectors of shape {vectors.shape}")
        if metadata is not None and len(metadata) != len(ids):
            raise InvalidInput(f"{len(ids)} ids but {len(metadata)} metadata entries")
        return ids, vectors

    def _write_rows(self, method: str, ids: list[str], vectors: np.ndarray, metadata: Optional[Sequence[Optional[dict[str, Any]]]]) -> int:
        parts = {}
        for s, rows in split(ids, self._m.shards).items():
            meta = None if metadata is None else [metadata[r] for r in rows]
            parts[s] = (method, ([ids[r] for r in rows], vectors[rows], meta))
        done, _ = self._on(parts, method)
        return sum(done.values())

    def insert_batch(self, ids: list[str], vectors: Any, metadata: Optional[Sequence[Optional[dict[str, Any]]]] = None) -> int:
        """Inserts many vectors: each shard gets the rows it owns, all shards in parallel. Returns
        how many were inserted. A shard's refusal (a duplicate id, a bad vector) is raised as its
        ``NeedleError``; the other shards' parts may have been written. A shard whose actor dies
        is sent its part again once Ray restarted it (see the module docs)."""
        ids, vectors = self._rows(ids, vectors, metadata)
        return self._write_rows("insert_batch", ids, vectors, metadata)

    def upsert_batch(self, ids: list[str], vectors: Any, metadata: Optional[Sequence[Optional[dict[str, Any]]]] = None) -> int:
        """Inserts or replaces many vectors (``upsert`` for each row), each shard its rows, all
        shards in parallel; returns how many rows were written. An id may appear once per call
        (``InvalidInput`` before anything is written). On a shard, new ids are built as one batch
        and then existing ids replaced one by one; a row the engine refuses stops that shard's
        part there (rows before it stay written), and sending the same call again is safe."""
        ids, vectors = self._rows(ids, vectors, metadata)
        seen: set[str] = set()
        for i in ids:
            if i in seen:
                raise InvalidInput(f"id {i!r} appears twice in one upsert_batch")
            seen.add(i)
        return self._write_rows("upsert_batch", ids, vectors, metadata)

    def insert(self, id: str, vector: Any, metadata: Optional[dict[str, Any]] = None) -> None:
        """Inserts one vector into its owner shard."""
        self.insert_batch([id], np.asarray(vector, dtype=np.float32)[None, :], None if metadata is None else [metadata])

    def upsert(self, id: str, vector: Any, metadata: Optional[dict[str, Any]] = None) -> bool:
        """Inserts or replaces ``id`` in its owner shard; True when it replaced one."""
        return bool(self._one(id, "upsert", np.asarray(vector, dtype=np.float32), metadata))

    def delete(self, id: str) -> bool:
        """Deletes ``id`` from its owner shard; True when it existed."""
        return bool(self._one(id, "delete"))

    # --- reads ----------------------------------------------------------------------------------

    def get(self, id: str) -> Optional[ShardedRecord]:
        """``ShardedRecord(id, vector, metadata)`` from the owner shard, or None."""
        s = self.shard_of(id)
        r = self._one(id, "get")
        return None if r is None else ShardedRecord(*r)

    def __contains__(self, id: str) -> bool:
        return self.get(id) is not None

    def count(self) -> int:
        """Live vectors over all shards."""
        done, _ = self._all("count")
        return sum(done.values())

    def __len__(self) -> int:
        return self.count()

    def info(self) -> list[dict[str, Any]]:
        """Each shard's ``Collection.info()`` (counts, memory, components), by shard index."""
        done, _ = self._all("info")
        return [done[i] for i in sorted(done)]

    def ids(self) -> list[str]:
        """Every live id, shard by shard."""
        done, _ = self._all("ids")
        return [i for s in sorted(done) for i in done[s]]

    def search_batch(self, queries: Any, k: int = 10, *, ef: Optional[int] = None, filter: Optional[dict[str, Any]] = None,
                     allow_partial: bool = False) -> Any:
        """Top ``k`` of each query over all shards: ``(ids, distances)`` as
        ``Collection.search_batch`` returns them. One remote call per shard for the whole batch.
        With ``allow_partial=True``: ``((ids, distances), missing_shards)``."""
        q = np.ascontiguousarray(queries, dtype=np.float32)
        if q.ndim != 2:
            raise InvalidInput(f"queries must be 2-D, got shape {q.shape}")
        ref = ray.put(q)
        done, missing = self._all("search_batch", ref, k, ef, filter, False, allow_partial=allow_partial)
        ids, distances, _ = merge([done[i] for i in sorted(done)], len(q), k)
        return ((ids, distances), missing) if allow_partial else (ids, distances)

    def search(self, vector: Any, k: int = 10, *, ef: Optional[int] = None, filter: Optional[dict[str, Any]] = None,
               allow_partial: bool = False) -> Any:
        """The ``k`` nearest over all shards, as a list of ``needle.Hit`` with metadata. With
        ``allow_partial=True``: ``(hits, missing_shards)``."""
        q = np.ascontiguousarray(vector, dtype=np.float32)[None, :]
        done, missing = self._all("search_batch", q, k, ef, filter, True, allow_partial=allow_partial)
        ids, distances, meta = merge([done[i] for i in sorted(done)], 1, k)
        hits = [needle.Hit(i, float(d), m) for i, d, m in zip(ids[0], distances[0].tolist(), meta[0] if meta else [None] * len(ids[0]))]
        return (hits, missing) if allow_partial else hits

    def __repr__(self) -> str:
        return f"needle.ray.ShardedCollection({str(self._dir)!r}, name={self.name!r}, shards={self.shards})"


def _plain(v: Any) -> Any:
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, np.generic):
        return v.item()
    return v


def _ingest_batch(batch: dict[str, np.ndarray], actors: list[Any], files: list[str], retry_seconds: float, id_column: str,
                  vector_column: str, metadata_columns: tuple[str, ...]) -> dict[str, np.ndarray]:
    """A Ray Data task: routes one batch's rows to their owner shards and waits for them (sending
    a part again to a restarted shard, as ``insert_batch`` does)."""
    ids = [str(_plain(x)) for x in batch[id_column]]
    vectors = batch[vector_column]
    if vectors.dtype == object:
        vectors = np.stack(list(vectors))
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    metadata = None
    if metadata_columns:
        metadata = [{c: _plain(batch[c][r]) for c in metadata_columns} for r in range(len(ids))]
    parts = {}
    for s, rows in split(ids, len(actors)).items():
        meta = None if metadata is None else [metadata[r] for r in rows]
        parts[s] = ("insert_batch", ([ids[r] for r in rows], vectors[rows], meta))
    fan_out(actors, files, parts, retry_seconds, "from_dataset")
    return {"written": np.array([len(ids)], dtype=np.int64)}

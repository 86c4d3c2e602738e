"""Type stubs of the ``needle`` package (the compiled ``needle._needle`` plus ``needle._errors``)."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import Any, Literal, Optional, Union, final

import numpy as np
import numpy.typing as npt

from ._errors import (
    AlreadyExists as AlreadyExists,
    BadFile as BadFile,
    Closed as Closed,
    Corrupted as Corrupted,
    DimensionMismatch as DimensionMismatch,
    InternalError as InternalError,
    InvalidConfig as InvalidConfig,
    InvalidFilter as InvalidFilter,
    InvalidInput as InvalidInput,
    InvalidVector as InvalidVector,
    IoError as IoError,
    Locked as Locked,
    NeedleError as NeedleError,
    NotFound as NotFound,
    PluginError as PluginError,
    ReadOnly as ReadOnly,
    UnknownComponent as UnknownComponent,
    WrongKey as WrongKey,
)

__version__: str

Metadata = dict[str, Any]
"""A JSON object: str keys; None, bool, int, float, str, lists and dicts of those."""
Filter = dict[str, Any]
"""A Mongo-style filter document, e.g. ``{"year": {"$gte": 2000}, "tags": "sf"}``."""
VectorLike = Union[npt.ArrayLike, Sequence[float]]
"""One vector: a 1-D float32 C-contiguous array is read in place; other array-likes are converted."""
MatrixLike = Union[npt.ArrayLike, Sequence[Sequence[float]]]
"""An ``n × dims`` batch: a 2-D float32 C-contiguous array is read in place; others are converted."""
PathLike = Union[str, os.PathLike[str]]

@final
class Hit:
    """One search result; unpacks as ``id, distance, metadata``."""

    id: str
    distance: float
    metadata: Optional[Metadata]
    def __new__(cls, id: str, distance: float, metadata: Optional[Metadata] = None) -> Hit: ...
    def __len__(self) -> int: ...
    def __getitem__(self, i: int, /) -> Any: ...
    def __iter__(self) -> Iterator[Any]: ...

@final
class HybridHit:
    """One hybrid (or text) search result: fused ``score`` (higher is better) and each side's rank."""

    id: str
    score: float
    vector_rank: Optional[int]
    text_rank: Optional[int]
    distance: Optional[float]
    bm25: Optional[float]
    metadata: Optional[Metadata]

@final
class Record:
    """A stored vector: ``id``, ``vector`` (float32 array, exactly as inserted), ``metadata``."""

    id: str
    vector: npt.NDArray[np.float32]
    metadata: Optional[Metadata]

@final
class Collection:
    """A named set of vectors with metadata, searched by its index."""

    @property
    def name(self) -> str: ...
    @property
    def dims(self) -> int: ...
    @property
    def database(self) -> Database: ...
    def info(self) -> dict[str, Any]: ...
    def __len__(self) -> int: ...
    def __contains__(self, id: str, /) -> bool: ...
    def __getitem__(self, id: str, /) -> Record: ...
    def insert(self, id: str, vector: VectorLike, metadata: Optional[Metadata] = None) -> None: ...
    def upsert(self, id: str, vector: VectorLike, metadata: Optional[Metadata] = None) -> bool: ...
    def delete(self, id: str) -> bool: ...
    def get(self, id: str) -> Optional[Record]: ...
    def ids(self) -> list[str]: ...
    def insert_batch(
        self, ids: Sequence[str], vectors: MatrixLike, metadata: Optional[Sequence[Optional[Metadata]]] = None
    ) -> None: ...
    def search(
        self,
        vector: VectorLike,
        k: int = 10,
        *,
        ef: Optional[int] = None,
        filter: Optional[Filter] = None,
        include_metadata: bool = True,
    ) -> list[Hit]: ...
    def search_batch(
        self, queries: MatrixLike, k: int = 10, *, ef: Optional[int] = None, filter: Optional[Filter] = None
    ) -> tuple[list[list[str]], npt.NDArray[np.float32]]: ...
    def explain(
        self,
        vector: VectorLike,
        k: int = 10,
        *,
        ef: Optional[int] = None,
        filter: Optional[Filter] = None,
        strategy: Optional[Literal["graph", "filtered-graph", "exact"]] = None,
    ) -> dict[str, Any]: ...
    def hybrid_search(
        self,
        text: str,
        vector: VectorLike,
        k: int = 10,
        *,
        ef: Optional[int] = None,
        filter: Optional[Filter] = None,
        vector_weight: float = 1.0,
        text_weight: float = 1.0,
        rrf_k: float = 60.0,
        candidates: Optional[int] = None,
    ) -> list[HybridHit]: ...
    def text_search(self, text: str, k: int = 10, *, filter: Optional[Filter] = None) -> list[HybridHit]: ...
    def compact(self) -> None: ...

@final
class Database:
    """An embedded vector database: named collections in one file plus its write-ahead log."""

    def __new__(
        cls,
        path: PathLike,
        *,
        durability: str = "immediate",
        encryption_key: Optional[bytes] = None,
        passphrase: Optional[str] = None,
        read_only: bool = False,
        mmap_threshold: Optional[int] = None,
    ) -> Database: ...
    @staticmethod
    def in_memory() -> Database: ...
    @property
    def path(self) -> Optional[str]: ...
    @property
    def read_only(self) -> bool: ...
    @property
    def closed(self) -> bool: ...
    @property
    def encrypted(self) -> bool: ...
    def create_collection(
        self,
        name: str,
        dims: int,
        *,
        distance: str = "cosine",
        index: str = "hnsw",
        m: int = 16,
        ef_construction: int = 200,
        ef_search: Optional[int] = None,
        quantization: Optional[str] = None,
        text_field: Optional[str] = None,
        seed: Optional[int] = None,
    ) -> Collection: ...
    def collection(self, name: str) -> Collection: ...
    def __getitem__(self, name: str, /) -> Collection: ...
    def __contains__(self, name: str, /) -> bool: ...
    def collections(self) -> list[str]: ...
    def drop_collection(self, name: str) -> None: ...
    def save(self) -> None: ...
    def compact(self) -> None: ...
    def backup(self, path: PathLike) -> None: ...
    def close(self) -> None: ...
    def __enter__(self) -> Database: ...
    def __exit__(self, *exc: object) -> bool: ...

def auto_tune(
    num_vectors: int,
    dims: int,
    *,
    profile: Literal["balanced", "high_recall", "low_latency", "low_memory"] = "balanced",
    memory_budget: Optional[int] = None,
    latency_target_ms: Optional[float] = None,
    min_recall: Optional[float] = None,
) -> dict[str, Any]: ...
def simd_backend() -> str: ...
def engine_threads() -> int: ...

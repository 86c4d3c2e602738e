"""Needle: an embedded vector database, from Python.

One file holds collections of vectors with JSON metadata; an HNSW (or exact) index answers
nearest-neighbour queries, inside your process. numpy arrays go in without copying, searches
release the GIL, and errors carry the engine's stable codes.

>>> import numpy as np, needle
>>> db = needle.Database.in_memory()
>>> docs = db.create_collection("docs", 3)
>>> docs.insert("a", [1.0, 0.0, 0.0], {"title": "first"})
>>> docs.insert_batch(["b", "c"], np.array([[0, 1, 0], [0, 0, 1]], dtype=np.float32))
>>> hit = docs.search([0.9, 0.1, 0.0], k=1)[0]
>>> (hit.id, hit.metadata)
('a', {'title': 'first'})
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, Union

import numpy.typing as npt

from ._errors import (
    AlreadyExists,
    BadFile,
    Closed,
    Corrupted,
    DimensionMismatch,
    InternalError,
    InvalidConfig,
    InvalidFilter,
    InvalidInput,
    InvalidVector,
    IoError,
    Locked,
    NeedleError,
    NotFound,
    PluginError,
    ReadOnly,
    UnknownComponent,
    WrongKey,
)
from ._needle import (
    Collection,
    Database,
    Hit,
    HybridHit,
    Record,
    __version__,
    auto_tune,
    engine_threads,
    simd_backend,
)

# The type aliases of the stub (``__init__.pyi``), also here so annotations may name them at run time.
Metadata = dict[str, Any]
Filter = dict[str, Any]
VectorLike = Union[npt.ArrayLike, Sequence[float]]
MatrixLike = Union[npt.ArrayLike, Sequence[Sequence[float]]]
PathLike = Union[str, os.PathLike[str]]

__all__ = [
    "AlreadyExists",
    "BadFile",
    "Closed",
    "Collection",
    "Corrupted",
    "Database",
    "DimensionMismatch",
    "Hit",
    "HybridHit",
    "InternalError",
    "InvalidConfig",
    "InvalidFilter",
    "InvalidInput",
    "InvalidVector",
    "IoError",
    "Locked",
    "NeedleError",
    "NotFound",
    "PluginError",
    "ReadOnly",
    "Record",
    "UnknownComponent",
    "WrongKey",
    "__version__",
    "auto_tune",
    "engine_threads",
    "simd_backend",
]

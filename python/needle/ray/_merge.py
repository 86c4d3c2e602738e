"""Routing a batch to its owners, and merging per-shard top-k lists into one exact top-k."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ._manifest import shard_of


def split(ids: list[str], shards: int) -> dict[int, np.ndarray]:
    """For each shard that owns some of ``ids``, the positions of those ids (in order)."""
    owners = np.fromiter((shard_of(i, shards) for i in ids), dtype=np.int64, count=len(ids))
    return {s: np.flatnonzero(owners == s) for s in range(shards) if (owners == s).any()}


Part = tuple[list[list[str]], np.ndarray, Optional[list[list[Any]]]]


def merge(parts: list[Part], nq: int, k: int) -> Part:
    """The exact top ``k`` of each query over every shard's top ``k``: by distance, ties by id.

    Each shard returns its own top ``k`` of the vectors it owns, and every vector has one owner, so
    the ``k`` best of the union are the ``k`` best overall."""
    with_meta = all(p[2] is not None for p in parts) and bool(parts)
    ids_out: list[list[str]] = []
    meta_out: list[list[Any]] = []
    rows: list[list[float]] = []
    for q in range(nq):
        cands: list[tuple[float, str, Any]] = []
        for ids, dist, meta in parts:
            row_ids = ids[q]
            row_d = dist[q, : len(row_ids)].tolist()
            row_m = meta[q] if meta is not None else [None] * len(row_ids)
            cands.extend(zip(row_d, row_ids, row_m))
        cands.sort(key=lambda c: (c[0], c[1]))
        top = cands[:k]
        ids_out.append([c[1] for c in top])
        rows.append([c[0] for c in top])
        meta_out.append([c[2] for c in top])
    width = max((len(r) for r in rows), default=0)
    distances = np.full((nq, width), np.inf, dtype=np.float32)
    for q, r in enumerate(rows):
        distances[q, : len(r)] = r
    return ids_out, distances, (meta_out if with_meta else None)

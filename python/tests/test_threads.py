"""Threads: searches run in parallel with each other and with a writer, and every answer is sound."""

from __future__ import annotations

import threading

import numpy as np

import needle


def test_threads_search_while_one_inserts(wordnet):
    base, queries = wordnet
    db = needle.Database.in_memory()
    col = db.create_collection("t", 384)
    col.insert_batch([f"b{i}" for i in range(5000)], base[:5000])
    stop = threading.Event()
    errors: list[BaseException] = []
    seen_counts: list[int] = []

    def writer():
        try:
            for start in range(5000, 9000, 250):
                col.insert_batch([f"b{i}" for i in range(start, start + 250)], base[start : start + 250])
            for i in range(9000, 9200):
                col.insert(f"b{i}", base[i], {"i": i})
            for i in range(0, 200):
                col.delete(f"b{i}")
        except BaseException as e:  # surfaced below
            errors.append(e)
        finally:
            stop.set()

    def searcher(seed: int):
        rng = np.random.default_rng(seed)
        try:
            while True:  # at least one round, however fast the writer finishes
                q = queries[rng.integers(len(queries))]
                hits = col.search(q, k=10, ef=32)
                assert len(hits) == 10
                assert all(h.id.startswith("b") for h in hits)
                assert all(a.distance <= b.distance for a, b in zip(hits, hits[1:]))
                ids, d = col.search_batch(queries[:8], k=5)
                assert d.shape == (8, 5) and np.isfinite(d).all()
                seen_counts.append(len(col))
                if stop.is_set():
                    break
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=searcher, args=(s,)) for s in range(3)] + [threading.Thread(target=writer)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    assert not errors, errors
    assert len(col) == 9200 - 200
    assert seen_counts and min(seen_counts) >= 5000
    # Everything the writer inserted is searchable: each vector finds itself.
    for i in (5000, 8999, 9100, 9199):
        assert col.search(base[i], k=1)[0].id == f"b{i}"


def test_parallel_searches_agree_with_serial(wordnet, hnsw):
    _, queries = wordnet
    serial = [[h.id for h in hnsw.search(q, k=10)] for q in queries[:64]]
    results: dict[int, list[str]] = {}

    def work(lo: int):
        for i in range(lo, 64, 4):
            results[i] = [h.id for h in hnsw.search(queries[i], k=10)]

    threads = [threading.Thread(target=work, args=(lo,)) for lo in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [results[i] for i in range(64)] == serial

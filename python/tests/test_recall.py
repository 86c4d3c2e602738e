"""Search quality on real data: HNSW recall against numpy brute force, flat search exactly equal."""

from __future__ import annotations

import numpy as np

import needle


def recall_at_10(found: list[list[str]], truth_rows: np.ndarray) -> float:
    hits = sum(len({int(i) for i in ids[:10]} & set(truth_rows[q, :10].tolist())) for q, ids in enumerate(found))
    return hits / (10 * len(found))


def test_hnsw_recall_single_queries(wordnet, truth, hnsw):
    _, queries = wordnet
    found = [[h.id for h in hnsw.search(q, k=10, ef=64)] for q in queries]
    r = recall_at_10(found, truth[0])
    print(f"recall@10 (single search, ef=64, 20k wordnet-minilm) = {r:.4f}")
    assert r >= 0.95


def test_hnsw_recall_batch_matches_single(wordnet, truth, hnsw):
    _, queries = wordnet
    ids, distances = hnsw.search_batch(queries, k=10, ef=64)
    assert distances.shape == (len(queries), 10) and distances.dtype == np.float32
    assert recall_at_10(ids, truth[0]) >= 0.95
    # The batch answers exactly what one query at a time answers.
    for q in range(0, len(queries), 20):
        single = hnsw.search(queries[q], k=10, ef=64)
        assert [h.id for h in single] == ids[q]
        np.testing.assert_allclose([h.distance for h in single], distances[q], rtol=0, atol=1e-6)
    # Distances are sorted and match numpy's to float32 precision for the ids returned.
    assert (np.diff(distances, axis=1) >= 0).all()


def test_flat_index_is_exact(wordnet, truth):
    base, queries = wordnet
    db = needle.Database.in_memory()
    col = db.create_collection("flat", 384, index="flat")
    col.insert_batch([str(i) for i in range(len(base))], base)
    ids, distances = col.search_batch(queries[:50], k=10)
    rows, dist = truth[0][:50], truth[1][:50]
    np.testing.assert_allclose(distances, dist, atol=2e-6)
    for q in range(50):
        got = [int(i) for i in ids[q]]
        # Ids agree except where two neighbours are tied to float32 precision.
        for j, (a, b) in enumerate(zip(got, rows[q])):
            if a != b:
                assert abs(dist[q, j] - (1 - base[a] @ queries[q] / np.linalg.norm(base[a]) / np.linalg.norm(queries[q]))) < 2e-6


def test_k_larger_than_collection(wordnet):
    base, queries = wordnet
    db = needle.Database.in_memory()
    for index in ("hnsw", "flat"):
        col = db.create_collection(f"small-{index}", 384, index=index)
        col.insert_batch(["a", "b", "c"], base[:3])
        hits = col.search(queries[0], k=50)
        assert sorted(h.id for h in hits) == ["a", "b", "c"]
        ids, distances = col.search_batch(queries[:4], k=50)
        assert distances.shape == (4, 3)
        assert all(sorted(r) == ["a", "b", "c"] for r in ids)
        empty = db.create_collection(f"empty-{index}", 384, index=index)
        assert empty.search(queries[0], k=5) == []
        ids, distances = empty.search_batch(queries[:2], k=5)
        assert ids == [[], []] and distances.shape == (2, 0)


def test_sq8_quantized_recall(wordnet, truth):
    base, queries = wordnet
    db = needle.Database.in_memory()
    col = db.create_collection("sq8", 384, quantization="sq8")
    col.insert_batch([str(i) for i in range(len(base))], base)
    assert col.info()["quantized"] is True
    ids, _ = col.search_batch(queries, k=10, ef=64)
    assert recall_at_10(ids, truth[0]) >= 0.95

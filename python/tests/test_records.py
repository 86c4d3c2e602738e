"""Insert, upsert, delete, get, metadata round trip, collections, filters."""

from __future__ import annotations

import numpy as np
import pytest

import needle


@pytest.fixture()
def col():
    db = needle.Database.in_memory()
    return db.create_collection("docs", 4, distance="euclidean")


def test_insert_get_len_contains(col):
    col.insert("a", [1, 2, 3, 4])
    col.insert("b", np.array([4, 3, 2, 1], dtype=np.float32), {"k": "v"})
    assert len(col) == 2 and "a" in col and "zz" not in col
    r = col.get("b")
    assert r.id == "b" and r.metadata == {"k": "v"}
    assert r.vector.dtype == np.float32 and r.vector.tolist() == [4, 3, 2, 1]
    assert col.get("missing") is None
    assert col["a"].vector.tolist() == [1, 2, 3, 4]
    with pytest.raises(needle.NotFound) as e:
        col["missing"]
    assert e.value.code == "vector_not_found" and isinstance(e.value, KeyError)
    assert str(e.value) == "vector not found: missing"
    assert sorted(col.ids()) == ["a", "b"]


def test_metadata_round_trip(col):
    meta = {
        "title": "naïve café ☕",
        "year": 1999,
        "big": 2**63 - 1,
        "huge": 2**64 - 1,
        "neg": -(2**63),
        "ratio": 0.1,
        "flag": True,
        "none": None,
        "tags": ["a", "b", 3, 4.5, False, None],
        "nested": {"deep": {"deeper": [1, {"x": "y"}]}},
        "tuple": (1, 2),
        "np": np.float32(0.5),
        "npint": np.int64(7),
    }
    col.insert("m", [1, 0, 0, 0], meta)
    got = col.get("m").metadata
    expected = dict(meta, tuple=[1, 2], np=0.5, npint=7)
    assert got == expected
    assert type(got["year"]) is int and type(got["flag"]) is bool and type(got["ratio"]) is float
    assert col.search([1, 0, 0, 0], k=1)[0].metadata == expected
    assert col.search([1, 0, 0, 0], k=1, include_metadata=False)[0].metadata is None


@pytest.mark.parametrize(
    "bad, error",
    [
        ({1: "int key"}, TypeError),
        ({"b": b"bytes"}, TypeError),
        ({"s": {1, 2}}, TypeError),
        ({"nan": float("nan")}, ValueError),
        ({"inf": float("inf")}, ValueError),
        ({"big": 2**64}, ValueError),
        (object(), TypeError),
    ],
)
def test_metadata_that_is_not_json_is_refused(col, bad, error):
    with pytest.raises(error):
        col.insert("x", [1, 0, 0, 0], bad)
    assert "x" not in col and len(col) == 0


@pytest.mark.parametrize("not_an_object", [42, "text", [1, 2], True])
def test_metadata_must_be_an_object(col, not_an_object):
    with pytest.raises(needle.InvalidInput) as e:
        col.insert("x", [1, 0, 0, 0], not_an_object)
    assert e.value.code == "invalid_argument"
    assert len(col) == 0


def test_upsert_and_delete(col):
    assert col.upsert("a", [1, 0, 0, 0], {"v": 1}) is False
    assert col.upsert("a", [0, 1, 0, 0], {"v": 2}) is True
    assert len(col) == 1
    r = col.get("a")
    assert r.vector.tolist() == [0, 1, 0, 0] and r.metadata == {"v": 2}
    hit = col.search([0, 1, 0, 0], k=1)[0]
    assert hit.id == "a" and hit.distance == pytest.approx(0.0)
    assert col.delete("a") is True
    assert col.delete("a") is False
    assert len(col) == 0 and col.get("a") is None and col.search([0, 1, 0, 0], k=3) == []
    col.insert("a", [0, 0, 1, 0])  # a deleted id can be inserted again
    assert col.get("a").vector.tolist() == [0, 0, 1, 0]


def test_insert_batch_with_metadata_is_all_or_nothing(col):
    vecs = np.arange(12, dtype=np.float32).reshape(3, 4)
    col.insert_batch(["a", "b", "c"], vecs, metadata=[{"i": 0}, None, {"i": 2}])
    assert [col.get(i).metadata for i in "abc"] == [{"i": 0}, None, {"i": 2}]
    with pytest.raises(needle.AlreadyExists) as e:
        col.insert_batch(["d", "a"], vecs[:2])
    assert e.value.code == "duplicate_id"
    with pytest.raises(needle.AlreadyExists):
        col.insert_batch(["e", "e"], vecs[:2])
    bad = vecs[:2].copy()
    bad[1, 2] = np.nan
    with pytest.raises(needle.InvalidVector) as e:
        col.insert_batch(["f", "g"], bad)
    assert "batch item 1" in str(e.value) or "component 2" in str(e.value)
    with pytest.raises(needle.InvalidInput):
        col.insert_batch(["h", "i"], vecs)  # 2 ids, 3 vectors
    with pytest.raises(needle.InvalidInput):
        col.insert_batch(["h", "i"], vecs[:2], metadata=[{}])
    with pytest.raises(TypeError):
        col.insert_batch("hi", vecs[:2])
    assert len(col) == 3 and sorted(col.ids()) == ["a", "b", "c"]
    col.insert_batch([], np.zeros((0, 4), dtype=np.float32))
    col.insert_batch([], [])
    assert len(col) == 3


def test_hit_behaves_like_a_tuple(col):
    col.insert("a", [1, 0, 0, 0], {"t": 1})
    hit = col.search([1, 0, 0, 0], k=1)[0]
    id_, distance, metadata = hit
    assert (id_, distance, metadata) == ("a", 0.0, {"t": 1})
    assert hit[0] == "a" and hit[-1] == {"t": 1} and len(hit) == 3
    assert hit == needle.Hit("a", 0.0, {"t": 1}) and hit != needle.Hit("b", 0.0, {"t": 1})
    assert repr(hit) == "Hit(id='a', distance=0, metadata={'t': 1})"


def test_collections_create_list_drop():
    db = needle.Database.in_memory()
    a = db.create_collection("a", 2)
    db.create_collection("b", 3, distance="dot", index="flat")
    assert db.collections() == ["a", "b"] and "a" in db and "zz" not in db
    assert db["b"].dims == 3 and db.collection("a").name == "a"
    info = db["b"].info()
    assert info["components"]["distance"] == "dot" and info["components"]["index"] == "flat"
    with pytest.raises(needle.AlreadyExists) as e:
        db.create_collection("a", 2)
    assert e.value.code == "collection_exists"
    db.drop_collection("a")
    assert db.collections() == ["b"]
    with pytest.raises(needle.NotFound) as e:
        a.insert("x", [1, 0])
    assert e.value.code == "collection_not_found"
    with pytest.raises(needle.NotFound):
        db.collection("a")
    with pytest.raises(needle.NotFound):
        db.drop_collection("a")


def test_collection_keeps_its_database_alive():
    col = needle.Database.in_memory().create_collection("c", 2)
    col.insert("a", [1, 0])
    assert len(col) == 1 and not col.database.closed


def test_filters(wordnet, hnsw):
    _, queries = wordnet
    q = queries[0]
    hits = hnsw.search(q, k=10, filter={"bucket": 3})
    assert len(hits) == 10 and all(h.metadata["bucket"] == 3 for h in hits)
    hits = hnsw.search(q, k=10, filter={"row": {"$lt": 5}})
    assert sorted(h.metadata["row"] for h in hits) == [0, 1, 2, 3, 4]
    hits = hnsw.search(q, k=10, filter={"$or": [{"row": 7}, {"row": {"$in": [11, 12]}}]})
    assert sorted(h.id for h in hits) == ["11", "12", "7"]
    hits = hnsw.search(q, k=10, filter={"$not": {"bucket": {"$ne": 9}}, "row": {"$gte": 19_000}})
    assert hits and all(h.metadata["bucket"] == 9 and h.metadata["row"] >= 19_000 for h in hits)
    assert hnsw.search(q, k=10, filter={"bucket": 42}) == []
    ids, distances = hnsw.search_batch(queries[:5], k=4, filter={"row": {"$lt": 2}})
    assert all(sorted(r) == ["0", "1"] for r in ids) and distances.shape == (5, 2)
    # The filtered result is the exact top-k of the matching vectors (few matches: exact scan).
    base = wordnet[0]
    rows = np.arange(100)
    d = 1 - base[rows] @ q / (np.linalg.norm(base[rows], axis=1) * np.linalg.norm(q))
    want = [str(r) for r in rows[np.argsort(d, kind="stable")][:5]]
    assert [h.id for h in hnsw.search(q, k=5, filter={"row": {"$lt": 100}})] == want


@pytest.mark.parametrize(
    "bad", [{"a": {"$foo": 1}}, {"$and": []}, {"a": {"$in": 3}}, {"a": {"$gt": True}}, {"a": {"$exists": "yes"}}]
)
def test_bad_filters_are_invalid_filter(hnsw, wordnet, bad):
    with pytest.raises(needle.InvalidFilter) as e:
        hnsw.search(wordnet[1][0], k=3, filter=bad)
    assert e.value.code == "invalid_filter" and isinstance(e.value, ValueError)


def test_filter_must_be_a_dict(hnsw, wordnet):
    with pytest.raises(TypeError):
        hnsw.search(wordnet[1][0], k=3, filter='{"bucket": 1}')


def test_explain_and_hybrid():
    db = needle.Database.in_memory()
    col = db.create_collection("t", 3, text_field="text")
    col.insert("a", [1, 0, 0], {"text": "the quick brown fox"})
    col.insert("b", [0, 1, 0], {"text": "a lazy dog sleeps"})
    col.insert("c", [0, 0, 1], {"text": "quick thinking dog"})
    e = col.explain([1, 0, 0], k=2)
    assert [h.id for h in e["hits"]][0] == "a" and e["profile"]["strategy"] in ("exact", "graph")
    assert col.explain([1, 0, 0], k=2, strategy="exact")["profile"]["strategy"] == "exact"
    with pytest.raises(needle.InvalidInput):
        col.explain([1, 0, 0], k=2, strategy="sideways")
    fused = col.hybrid_search("dog", [0, 0, 1], k=3)
    assert fused[0].id == "c" and fused[0].text_rank is not None and fused[0].vector_rank == 1
    assert [h.id for h in col.text_search("dog", k=3)] and {h.id for h in col.text_search("dog", k=3)} == {"b", "c"}
    assert [h.id for h in col.hybrid_search("dog", [0, 0, 1], k=3, filter={"text": {"$exists": True}})]
    plain = db.create_collection("plain", 3)
    with pytest.raises(needle.InvalidConfig):
        plain.hybrid_search("dog", [0, 0, 1], k=3)


def test_auto_tune():
    t = needle.auto_tune(1_000_000, 768, profile="high_recall")
    assert t["estimated_recall"] >= 0.95
    cfg = t["config"]
    db = needle.Database.in_memory()
    col = db.create_collection("tuned", 8, m=cfg["hnsw_m"], ef_construction=cfg["ef_construction"],
                               ef_search=cfg["ef_search"], quantization=cfg["quantization"])
    assert col.info()["config"]["hnsw_m"] == cfg["hnsw_m"]
    with pytest.raises(needle.InvalidInput):
        needle.auto_tune(1000, 8, profile="fastest")

"""Vectors in every shape users hand over: converted, or refused with a clear error, never a crash."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

import needle


@pytest.fixture()
def col():
    db = needle.Database.in_memory()
    c = db.create_collection("v", 4, distance="euclidean", index="flat")
    c.insert_batch(["e0", "e1", "e2", "e3"], np.eye(4, dtype=np.float32))
    return c


BASE = np.array([[1, 2, 3, 4], [5, 6, 7, 8]], dtype=np.float32)


@pytest.mark.parametrize(
    "convert",
    [
        lambda a: a,
        lambda a: a.astype(np.float64),
        lambda a: a.astype(np.int32),
        lambda a: a.astype(np.float16),
        lambda a: a.astype(">f4"),  # big-endian
        lambda a: np.asfortranarray(a),  # column-major: must not be read as rows
        lambda a: np.repeat(a, 2, axis=1)[:, ::2],  # strided view
        lambda a: a.tolist(),
        lambda a: [tuple(r) for r in a.tolist()],
        lambda a: [np.asarray(r) for r in a],
    ],
    ids=["f32", "f64", "i32", "f16", "big-endian", "fortran", "strided", "lists", "tuples", "list-of-arrays"],
)
def test_batches_are_converted_exactly(col, convert):
    col.insert_batch(["a", "b"], convert(BASE))
    assert col.get("a").vector.tolist() == [1, 2, 3, 4]
    assert col.get("b").vector.tolist() == [5, 6, 7, 8]
    ids, d = col.search_batch(convert(BASE), k=1)
    assert ids == [["a"], ["b"]] and d.tolist() == [[0.0], [0.0]]


@pytest.mark.parametrize(
    "convert",
    [
        lambda v: v,
        lambda v: v.astype(np.float64),
        lambda v: v.tolist(),
        lambda v: tuple(v.tolist()),
        lambda v: np.repeat(v, 2)[::2],
        lambda v: v.astype(">f4"),
        lambda v: [int(x) for x in v],
    ],
)
def test_single_vectors_are_converted(col, convert):
    v = np.array([1, 2, 3, 4], dtype=np.float32)
    col.insert("x", convert(v))
    assert col.get("x").vector.tolist() == [1, 2, 3, 4]
    assert col.search(convert(v), k=1)[0].id == "x"


def test_read_only_arrays_are_accepted(col):
    a = BASE.copy()
    a.flags.writeable = False
    col.insert_batch(["a", "b"], a)
    assert col.search(a[0], k=1)[0].id == "a"


@pytest.mark.parametrize(
    "bad",
    [
        "1234",
        ["a", "b", "c", "d"],
        np.array(["1", "2", "3", "4"]),
        np.array([1 + 1j, 2, 3, 4]),
        np.array([object(), 1, 2, 3], dtype=object),
        {"x": 1},
        None,
        [[1, 2], [3]],  # ragged
    ],
    ids=["str", "list-of-str", "unicode-array", "complex", "object", "dict", "none", "ragged"],
)
def test_non_numbers_are_type_errors(col, bad):
    with pytest.raises(TypeError):
        col.insert("bad", bad)
    with pytest.raises(TypeError):
        col.search(bad, k=1)
    assert "bad" not in col and len(col) == 4


def test_wrong_shapes_are_value_errors(col):
    with pytest.raises(needle.DimensionMismatch) as e:
        col.insert("x", [1, 2, 3])
    assert e.value.code == "dimension_mismatch" and isinstance(e.value, ValueError)
    with pytest.raises(needle.InvalidInput):
        col.insert("x", BASE)  # 2-D where one vector is wanted
    with pytest.raises(needle.InvalidInput):
        col.search_batch(BASE[0], k=1)  # 1-D where a batch is wanted
    with pytest.raises(needle.DimensionMismatch):
        col.search_batch(np.zeros((2, 3), dtype=np.float32), k=1)
    with pytest.raises(needle.DimensionMismatch):
        col.insert_batch(["x", "y"], np.zeros((2, 0), dtype=np.float32))
    with pytest.raises(needle.InvalidInput):
        col.insert_batch(["x"], np.zeros((1, 2, 2), dtype=np.float32))
    assert len(col) == 4


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_nan_and_inf_are_rejected_everywhere(col, value):
    v = np.array([1, value, 3, 4], dtype=np.float32)
    for call in (lambda: col.insert("x", v), lambda: col.upsert("e0", v), lambda: col.search(v, k=1)):
        with pytest.raises(needle.InvalidVector) as e:
            call()
        assert e.value.code == "non_finite_vector"
    batch = np.stack([BASE[0], v])
    with pytest.raises(needle.InvalidVector):
        col.insert_batch(["x", "y"], batch)
    with pytest.raises(needle.InvalidVector):
        col.search_batch(batch, k=1)
    assert len(col) == 4 and "x" not in col and col.get("e0").vector.tolist() == [1, 0, 0, 0]


def test_float64_overflow_becomes_inf_and_is_rejected(col):
    with pytest.raises(needle.InvalidVector), pytest.warns(RuntimeWarning, match="overflow"):
        col.insert("x", np.array([1e300, 0, 0, 0]))


def test_zero_vector_under_cosine():
    db = needle.Database.in_memory()
    c = db.create_collection("cos", 3)
    with pytest.raises(needle.InvalidVector) as e:
        c.insert("z", [0, 0, 0])
    assert e.value.code == "zero_vector"


def test_insert_batch_reads_a_float32_array_in_place():
    """numpy reports its data buffers to tracemalloc: a copy of the 15 MB batch would show."""
    rng = np.random.default_rng(7)
    vectors = rng.standard_normal((10_000, 384), dtype=np.float32)
    ids = [str(i) for i in range(len(vectors))]
    db = needle.Database.in_memory()

    def peak(array, name):
        c = db.create_collection(name, 384, index="flat")
        tracemalloc.start()
        c.insert_batch(ids, array)
        c.search_batch(array[:1000], k=5)
        _, p = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert len(c) == len(vectors)
        return p

    in_place = peak(vectors, "f32")
    converted = peak(vectors.astype(np.float64), "f64")
    print(f"traced peak during insert_batch+search_batch: float32 {in_place / 1e6:.2f} MB, float64 {converted / 1e6:.2f} MB")
    assert converted > vectors.nbytes  # the float64 batch is converted once (the measure works)
    assert in_place < vectors.nbytes / 20  # the float32 batch is not copied in Python

"""Files outlive processes: a child writes, the parent reads; a killed child loses no acknowledged write."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import needle

from conftest import N_QUERIES


def run_child(code: str, *args: str) -> None:
    """Runs Python code in a fresh interpreter (the same one, so the same needle build)."""
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr


WRITER = """
    import json, sys
    import numpy as np
    import needle
    path, data, out, close = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "close"
    arrays = np.load(data)
    base, queries = arrays["base"], arrays["queries"]
    db = needle.Database(path, durability="on-save" if sys.argv[5] == "on-save" else "immediate")
    col = db.create_collection("wordnet", 384)
    col.insert_batch([str(i) for i in range(len(base))], base, metadata=[{"row": i} for i in range(len(base))])
    col.upsert("5", base[6], {"row": 6, "moved": True})
    col.delete("7")
    col.insert("extra", queries[-1], {"extra": "yes"})
    ids, dist = col.search_batch(queries, k=10, ef=100)
    json.dump({"ids": ids, "dist": dist.tolist(), "len": len(col)}, open(out, "w"))
    if close:
        db.close()
    else:
        import os
        os._exit(0)  # no close, no checkpoint: only the write-ahead log holds the writes
"""


@pytest.fixture(scope="module")
def slice_file(wordnet, tmp_path_factory):
    base, queries = wordnet
    p = tmp_path_factory.mktemp("data") / "slice.npz"
    np.savez(p, base=base[:3000], queries=queries[:50])
    return p


@pytest.mark.parametrize("mode", [("close", "immediate"), ("kill", "immediate"), ("kill", "on-save")])
def test_written_in_one_process_read_in_another(tmp_path, slice_file, wordnet, mode):
    path, out = tmp_path / "w.needle", tmp_path / "out.json"
    run_child(WRITER, str(path), str(slice_file), str(out), *mode)
    written = json.loads(out.read_text())
    _, queries = wordnet
    for threshold in (1 << 40, 0):  # read into memory, then memory-mapped
        with needle.Database(path, mmap_threshold=threshold) as db:
            col = db.collection("wordnet")
            assert len(col) == written["len"] == 3000
            assert col.get("5").metadata == {"row": 6, "moved": True}
            assert col.get("7") is None and col.get("extra").metadata == {"extra": "yes"}
            assert col.get("2999").vector.tolist() == wordnet[0][2999].tolist()
            ids, dist = col.search_batch(queries[:50], k=10, ef=100)
            if mode[0] == "close":
                # The checkpoint holds the writer's own graph: the same answers, bit for bit.
                assert ids == written["ids"]
                np.testing.assert_array_equal(dist, np.array(written["dist"], dtype=np.float32))
            else:
                # Killed: recovery rebuilds the graph from the log. insert_batch builds in parallel,
                # so the rebuilt graph may differ from the writer's in its last ranks; the data is
                # the same, so the answers must agree on almost every neighbour.
                same = sum(len(set(a) & set(b)) for a, b in zip(ids, written["ids"]))
                assert same >= 0.97 * sum(len(b) for b in written["ids"]), same


def test_context_manager_checkpoints_and_reopens(tmp_path):
    path = tmp_path / "ctx.needle"
    with needle.Database(path) as db:
        db.create_collection("c", 3).insert("a", [1, 2, 3], {"k": 1})
    assert db.closed
    assert not (tmp_path / "ctx.needle-wal").exists()  # checkpointed: the log was emptied and removed
    with needle.Database(path) as db:
        assert db.collections() == ["c"] and db["c"].get("a").metadata == {"k": 1}
        db.drop_collection("c")
    with needle.Database(str(path)) as db:  # str paths too
        assert db.collections() == []


def test_exception_in_with_block_still_closes(tmp_path):
    path = tmp_path / "exc.needle"
    with pytest.raises(RuntimeError):
        with needle.Database(path) as db:
            db.create_collection("c", 2).insert("a", [1, 0])
            raise RuntimeError("user code failed")
    with needle.Database(path) as db:
        assert len(db["c"]) == 1


def test_save_backup_compact(tmp_path, wordnet):
    base, queries = wordnet
    path, copy = tmp_path / "main.needle", tmp_path / "copy.needle"
    with needle.Database(path, durability="batched:5") as db:
        col = db.create_collection("c", 384)
        col.insert_batch([str(i) for i in range(2000)], base[:2000])
        db.save()
        for i in range(0, 2000, 2):
            col.delete(str(i))
        db.backup(copy)
        with pytest.raises(needle.InvalidInput):
            db.backup(path)
        db.save()
        before = path.stat().st_size
        db.compact()
        assert path.stat().st_size < before * 0.75
        want = col.search_batch(queries[:20], k=10)
    for p in (path, copy):
        with needle.Database(p) as db:
            c = db["c"]
            assert len(c) == 1000 and "0" not in c and "1" in c
            assert c.search_batch(queries[:20], k=10)[0] == want[0]


def test_in_memory_save_is_a_no_op():
    db = needle.Database.in_memory()
    db.create_collection("c", 2).insert("a", [1, 0])
    db.save()
    db.compact()
    assert db.path is None and len(db["c"]) == 1
    db.close()


def test_pathlike_and_repr(tmp_path):
    db = needle.Database(tmp_path / "r.needle")
    assert "r.needle" in repr(db) and str(db.path).endswith("r.needle")
    assert repr(db.create_collection("c", 2)) == "needle.Collection(\"c\", dims=2)"
    db.close()
    assert "closed" in repr(db)


assert N_QUERIES >= 50

"""needle.ray on a local Ray head (ray.init(num_cpus=2)): exact merges, recall, routing, reopening,
killed actors, bad manifests, ingest from Ray Data."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest
import ray

import needle
from needle.ray import ManifestError, ShardedCollection, ShardUnavailable, shard_of

from test_recall import recall_at_10

# Two shard actors at half a CPU each leave a CPU for Ray Data's tasks on the 2-CPU head.
ACTOR_CPUS = 0.5


@pytest.fixture(scope="module")
def cluster():
    ctx = ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ctx
    ray.shutdown()


def create(directory, name="w", shards=2, **options):
    return ShardedCollection.create(directory, name, 384, shards=shards, num_cpus=ACTOR_CPUS, **options)


def fill(sc, base, n, metadata=True):
    for lo in range(0, n, 5000):
        hi = min(n, lo + 5000)
        meta = [{"row": i, "bucket": i % 10} for i in range(lo, hi)] if metadata else None
        sc.insert_batch([str(i) for i in range(lo, hi)], base[lo:hi], meta)


def test_routing_is_stable_and_spreads():
    # Version-1 routing is part of the file format: these values must never change.
    assert [shard_of(i, 4) for i in ["a", "b", "doc-1", "ü", ""]] == [shard_of(i, 4) for i in ["a", "b", "doc-1", "ü", ""]]
    counts = np.bincount([shard_of(str(i), 4) for i in range(10_000)], minlength=4)
    assert counts.min() > 2300
    assert shard_of("doc-1", 1) == 0


def test_flat_shards_equal_one_flat_collection(cluster, wordnet, tmp_path):
    base, queries = wordnet
    sc = create(tmp_path / "flat", index="flat")
    fill(sc, base, len(base))
    single = needle.Database.in_memory().create_collection("one", 384, index="flat")
    single.insert_batch([str(i) for i in range(len(base))], base, [{"row": i, "bucket": i % 10} for i in range(len(base))])
    assert sc.count() == len(base) == len(single)
    for flt in (None, {"bucket": 3}, {"row": {"$lt": 7}}):
        ids, dist = sc.search_batch(queries, k=10, filter=flt)
        want_ids, want_dist = single.search_batch(queries, k=10, filter=flt)
        assert ids == want_ids
        np.testing.assert_allclose(dist, want_dist, rtol=0, atol=1e-6)
    hits = sc.search(queries[0], k=5, filter={"bucket": 3})
    assert [h.id for h in hits] == [h.id for h in single.search(queries[0], k=5, filter={"bucket": 3})]
    assert all(h.metadata["bucket"] == 3 for h in hits)
    sc.close()


def test_hnsw_shards_recall(cluster, wordnet, truth, hnsw, tmp_path):
    base, queries = wordnet
    sc = create(tmp_path / "hnsw")
    fill(sc, base, len(base), metadata=False)
    ids, _ = sc.search_batch(queries, k=10, ef=64)
    sharded = recall_at_10(ids, truth[0])
    single = recall_at_10(hnsw.search_batch(queries, k=10, ef=64)[0], truth[0])
    print(f"recall@10 at ef=64: 2 HNSW shards {sharded:.4f}, one HNSW collection {single:.4f}")
    assert sharded >= single - 0.01
    sc.close()


def test_ids_live_in_one_shard(cluster, wordnet, tmp_path):
    base, _ = wordnet
    sc = create(tmp_path / "crud", index="flat")
    ids = [f"id-{i}" for i in range(400)]
    sc.insert_batch(ids, base[:400], [{"i": i} for i in range(400)])
    owners = {sc.shard_of(i) for i in ids}
    assert owners == {0, 1}
    per_shard = [ray.get(a.count.remote()) for a in sc.actors]
    assert sum(per_shard) == 400 and min(per_shard) > 100
    assert sc.upsert("id-5", base[500], {"moved": True}) is True
    assert sc.upsert("new", base[501]) is False
    assert len(sc) == 401
    r = sc.get("id-5")
    assert r.metadata == {"moved": True} and np.array_equal(r.vector, base[500])
    for i in ids[:50]:  # upserting existing ids again never makes a second copy
        sc.upsert(i, base[600])
    assert len(sc) == 401 and sorted(sc.ids()) == sorted(ids + ["new"])
    assert [i["count"] for i in sc.info()] == [ray.get(a.count.remote()) for a in sc.actors]
    assert all(ray.get(a.cpu_seconds.remote()) > 0 for a in sc.actors)
    assert sc.delete("id-7") is True and sc.delete("id-7") is False
    assert sc.get("id-7") is None and "id-7" not in sc and "id-8" in sc
    with pytest.raises(needle.AlreadyExists):
        sc.insert("id-8", base[0])
    with pytest.raises(needle.DimensionMismatch):
        sc.upsert("x", base[0][:10])
    sc.close()


READER = """
    import json, sys
    import numpy as np, ray
    from needle.ray import ShardedCollection
    ray.init(address=sys.argv[1], log_to_driver=False)
    sc = ShardedCollection.open(sys.argv[2], num_cpus=0.5)
    q = np.load(sys.argv[3])
    ids, dist = sc.search_batch(q, k=10, ef=64)
    json.dump({"ids": ids, "dist": dist.tolist(), "count": len(sc), "get": sc.get("17").metadata}, open(sys.argv[4], "w"))
    sc.close()
"""


def test_reopen_from_manifest_in_a_new_driver(cluster, wordnet, tmp_path):
    base, queries = wordnet
    directory = tmp_path / "reopen"
    sc = create(directory)
    fill(sc, base, 4000)
    want_ids, want_dist = sc.search_batch(queries[:50], k=10, ef=64)
    sc.close()
    manifest = json.loads((directory / "manifest.json").read_text())
    assert manifest["shards"] == 2 and manifest["routing"]["hash"] and manifest["format_version"] == 1
    np.save(tmp_path / "q.npy", queries[:50])
    out = tmp_path / "out.json"
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(READER), cluster.address_info["gcs_address"],
                           str(directory), str(tmp_path / "q.npy"), str(out)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(out.read_text())
    assert got["count"] == 4000 and got["get"] == {"row": 17, "bucket": 7}
    assert got["ids"] == want_ids
    np.testing.assert_array_equal(np.array(got["dist"], dtype=np.float32), want_dist)
    again = ShardedCollection.open(directory, num_cpus=ACTOR_CPUS)
    assert again.search_batch(queries[:50], k=10, ef=64)[0] == want_ids
    again.close()


def test_killed_actor_loses_no_acknowledged_write(cluster, wordnet, tmp_path):
    base, queries = wordnet
    sc = create(tmp_path / "kill", index="flat")
    acknowledged: list[str] = []
    failures = []
    kill_after = threading.Event()

    def killer():
        kill_after.wait(60)
        ray.kill(sc.actors[0], no_restart=False)

    t = threading.Thread(target=killer)
    t.start()
    for b in range(40):
        ids = [f"k{b}-{i}" for i in range(250)]
        if b == 8:
            kill_after.set()
        try:
            sc.insert_batch(ids, base[b * 250 : (b + 1) * 250])
            acknowledged.extend(ids)
        except ShardUnavailable as e:
            failures.append(e)
            assert e.shards == [0] and "shard 0" in str(e)
    t.join()
    # The shard comes back and takes writes again (how many batches failed meanwhile depends on
    # how fast this machine restarts an actor: retried within a generous bound, never counted).
    deadline = time.monotonic() + 120
    while True:
        try:
            sc.insert_batch([f"after-{i}" for i in range(250)], base[:250])
            acknowledged.extend(f"after-{i}" for i in range(250))
            break
        except ShardUnavailable as e:
            assert e.shards == [0], e
            assert time.monotonic() < deadline, f"shard 0 still unavailable 120 s after its kill: {e}"
            time.sleep(0.5)
    stored = set(sc.ids())  # waits for the restarted actor: it replayed its log
    assert set(acknowledged) <= stored
    assert len(acknowledged) >= 8 * 250 + 250
    print(f"{len(failures)} batch(es) failed while shard 0 restarted; {len(acknowledged)} acknowledged, {len(stored)} stored")
    ids, _ = sc.search_batch(queries[:5], k=10)
    assert all(len(r) == 10 for r in ids)
    sc.close()


def test_dead_shard_is_named_or_partial(cluster, wordnet, tmp_path):
    base, queries = wordnet
    sc = create(tmp_path / "dead", index="flat", retry_seconds=1.0)
    fill(sc, base, 2000)
    ray.kill(sc.actors[1], no_restart=True)
    with pytest.raises(ShardUnavailable) as e:
        sc.search_batch(queries[:3], k=5)
    assert e.value.shards == [1] and "shard 1" in str(e.value) and "shard-00001.needle" in str(e.value)
    (ids, dist), missing = sc.search_batch(queries[:3], k=5, allow_partial=True)
    assert missing == [1] and all(len(r) == 5 for r in ids)
    assert all(sc.shard_of(i) == 0 for r in ids for i in r)
    hits, missing = sc.search(queries[0], k=5, allow_partial=True)
    assert missing == [1] and len(hits) == 5
    sc.close()


def test_bad_manifests(cluster, wordnet, tmp_path):
    base, _ = wordnet
    directory = tmp_path / "m"
    sc = create(directory, index="flat")
    sc.insert_batch(["a", "b"], base[:2])
    sc.close()
    with pytest.raises(needle.AlreadyExists):
        create(directory)
    good = (directory / "manifest.json").read_text()

    def reopen(**kw):
        return ShardedCollection.open(directory, num_cpus=ACTOR_CPUS, **kw)

    with pytest.raises(ManifestError, match="not the 3 asked for"):
        reopen(shards=3)
    m = json.loads(good)
    cases = [
        ("{not json", "unreadable"),
        (json.dumps(dict(m, format="something-else")), "not a needle sharded-collection manifest"),
        (json.dumps(dict(m, format_version=2)), "format_version 2"),
        (json.dumps(dict(m, routing={"hash": "python-hash", "version": 1})), "routes ids by"),
        (json.dumps(dict(m, shards=3)), "declares 3 shards but lists 2"),
        (json.dumps(dict(m, shard_files=["shard-00000.needle", "../elsewhere.needle"])), "plain file name"),
        (json.dumps({k: v for k, v in m.items() if k != "collection"}), "lacks or mangles"),
    ]
    for text, message in cases:
        (directory / "manifest.json").write_text(text)
        with pytest.raises(ManifestError, match=message) as e:
            reopen()
        assert e.value.code == "invalid_manifest" and isinstance(e.value, needle.NeedleError)
    (directory / "manifest.json").write_text(good)
    (directory / "shard-00001.needle").rename(directory / "moved.needle")
    with pytest.raises(ManifestError, match="shard 1 file .*shard-00001.needle is missing"):
        reopen()
    (directory / "moved.needle").rename(directory / "shard-00001.needle")
    (directory / "manifest.json").unlink()
    with pytest.raises(ManifestError, match="manifest.json is missing"):
        reopen()
    (directory / "manifest.json").write_text(good)
    ok = reopen()
    assert len(ok) == 2
    ok.close()


def test_from_dataset(cluster, wordnet, tmp_path):
    base, queries = wordnet
    rows = [{"doc": f"d{i}", "embedding": base[i], "row": i, "title": f"gloss {i}"} for i in range(3000)]
    ds = ray.data.from_items(rows)
    sc = ShardedCollection.from_dataset(ds, tmp_path / "ds", "glosses", "doc", "embedding", ("row", "title"),
                                        shards=2, num_cpus=ACTOR_CPUS, index="flat", batch_size=500)
    assert sc.ingested == 3000 and len(sc) == 3000
    assert sc.get("d42").metadata == {"row": 42, "title": "gloss 42"}
    hit = sc.search(base[1234], k=1)[0]
    assert hit.id == "d1234" and hit.metadata["row"] == 1234
    sc.close()

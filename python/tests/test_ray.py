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


def test_engine_threads_follow_the_cpu_reservation(cluster, tmp_path):
    # Each actor's engine pool has as many threads as the CPUs Ray reserved for it (at least 1),
    # also when the caller passes a runtime_env of their own; a RAYON_NUM_THREADS there wins.
    def options(i):
        env = {"RAYON_NUM_THREADS": "3"} if i == 0 else {"SOMETHING_ELSE": "1"}
        return {"runtime_env": {"env_vars": env}}

    sc = create(tmp_path / "threads", index="flat", actor_options=options)
    assert ray.get([a.engine_threads.remote() for a in sc.actors]) == [3, 1]
    sc.close()
    whole = ShardedCollection.create(tmp_path / "whole", "w", 8, shards=1, num_cpus=2, index="flat")
    assert ray.get(whole.actors[0].engine_threads.remote()) == 2
    whole.close()


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


def test_upsert_batch_across_shards(cluster, wordnet, tmp_path):
    base, _ = wordnet
    sc = create(tmp_path / "upsert", index="flat")
    sc.insert_batch([f"u{i}" for i in range(100)], base[:100], [{"v": 0} for _ in range(100)])
    ids = [f"u{i}" for i in range(50, 150)]  # 50 stored, 50 new, on both shards
    assert {sc.shard_of(i) for i in ids} == {0, 1}
    meta = [{"v": 1, "i": i} for i in range(100)]
    assert sc.upsert_batch(ids, base[200:300], meta) == 100
    assert len(sc) == 150
    for k, i in enumerate(ids):
        r = sc.get(i)
        assert np.array_equal(r.vector, base[200 + k]) and r.metadata == {"v": 1, "i": k}
    assert sc.get("u0").metadata == {"v": 0} and np.array_equal(sc.get("u0").vector, base[0])
    # The same call again changes nothing (which is why a restarted shard may be sent it twice).
    assert sc.upsert_batch(ids, base[200:300], meta) == 100
    assert len(sc) == 150 and sorted(sc.ids()) == sorted(f"u{i}" for i in range(150))
    assert sc.upsert_batch(["u1", "u2"], base[300:302]) == 2 and sc.get("u1").metadata is None
    with pytest.raises(needle.InvalidInput, match="appears twice"):
        sc.upsert_batch(["u1", "new", "u1"], base[:3])
    with pytest.raises(needle.InvalidInput):
        sc.upsert_batch(["u1", "u2"], base[:3])
    with pytest.raises(needle.InvalidInput):
        sc.upsert_batch(["u1", "u2"], base[:2], [{}])
    with pytest.raises(needle.DimensionMismatch):
        sc.upsert_batch(["u1", "new"], base[:2, :10])
    # A shard checks its whole part before writing any of it (other shards' parts are theirs).
    a, b = [i for i in ids if sc.shard_of(i) == sc.shard_of("u1")][:2]
    bad = base[400:402].copy()
    bad[1, 3] = np.nan
    with pytest.raises(needle.InvalidVector):
        sc.upsert_batch([a, b], bad)
    assert "new" not in sc and len(sc) == 150
    assert not np.array_equal(sc.get(a).vector, base[400]) and sc.get(a).metadata["v"] == 1
    sc.close()


def test_insert_sent_again_counts_its_own_rows_and_overwrites_nothing(cluster, wordnet, tmp_path):
    # What a shard does with an insert_batch part sent again after its actor died, for each way the
    # first attempt can have ended: applied (rows stored as sent), not applied, or an id that
    # somebody stored with another vector or metadata.
    base, _ = wordnet
    sc = create(tmp_path / "again", shards=1, index="flat")
    shard = sc.actors[0]
    ids = [f"a{i}" for i in range(10)]
    meta = [{"i": i, "tags": ("x", "y")} for i in range(10)]
    sc.insert_batch(ids[:6], base[:6], meta[:6])  # the first attempt landed for 6 of the rows
    assert ray.get(shard.insert_batch_again.remote(ids, base[:10], meta)) == 10
    assert sorted(sc.ids()) == sorted(ids)
    assert all(np.array_equal(sc.get(i).vector, base[k]) for k, i in enumerate(ids))
    assert ray.get(shard.insert_batch_again.remote(ids, base[:10], meta)) == 10 and len(sc) == 10
    for vectors, metadata in ((base[10:20], meta), (base[:10], [dict(m, i=-1) for m in meta])):
        again = shard.insert_batch_again.remote(ids + ["fresh"], np.vstack([vectors, base[30:31]]), metadata + [None])
        with pytest.raises(needle.AlreadyExists, match="a0 .*different vector or metadata"):
            ray.get(again)
        assert "fresh" not in sc and np.array_equal(sc.get("a0").vector, base[0])
        assert sc.get("a0").metadata == {"i": 0, "tags": ["x", "y"]}
    sc.close()


def test_writes_survive_a_killed_actor_without_the_caller_retrying(cluster, wordnet, tmp_path):
    base, queries = wordnet
    # A bound far above any restart on a loaded machine: the test never depends on how long it takes.
    sc = create(tmp_path / "kill", index="flat", retry_seconds=300.0)
    written: dict[str, int] = {}
    meta_of = lambda row: {"row": row}  # noqa: E731

    def batch(b: int, rows: int = 250) -> tuple[list[str], list[int]]:
        return [f"k{b}-{i}" for i in range(rows)], [(b * rows + i) % len(base) for i in range(rows)]

    for b in range(40):
        ids, rows = batch(b, 2000 if b == 8 else 250)
        killer = None
        if b == 8:
            # Killed while this batch is in flight or just before or after it: every order is fine.
            killer = threading.Thread(target=lambda: (time.sleep(0.05), ray.kill(sc.actors[0], no_restart=False)))
            killer.start()
        # Every call returns normally: the shard's part is sent again once the actor is back.
        if b % 2 == 0:
            assert sc.insert_batch(ids, base[rows], [meta_of(r) for r in rows]) == len(ids)
        else:
            assert sc.upsert_batch(ids, base[rows], [meta_of(r) for r in rows]) == len(ids)
        written.update(zip(ids, rows))
        if killer is not None:
            killer.join()
    assert sc.upsert("k0-0", base[7], meta_of(7)) is True and sc.delete("k1-0") is True
    written["k0-0"] = 7
    del written["k1-0"]
    assert sorted(sc.ids()) == sorted(written)  # nothing lost, nothing twice
    assert len(sc) == len(written)
    for i in list(written)[::7]:
        r = sc.get(i)
        assert np.array_equal(r.vector, base[written[i]]) and r.metadata == meta_of(written[i]), i
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
    # Writes to the dead shard are retried for retry_seconds, then name it.
    ids = [f"w{i}" for i in range(20)]
    with pytest.raises(ShardUnavailable) as e:
        sc.insert_batch(ids, base[:20])
    assert e.value.shards == [1] and "shard-00001.needle" in str(e.value)
    assert all(sc.get(i) is not None for i in ids if sc.shard_of(i) == 0)  # shard 0 took its part
    one = next(i for i in ids if sc.shard_of(i) == 1)
    with pytest.raises(ShardUnavailable):
        sc.upsert(one, base[0])
    with pytest.raises(ShardUnavailable):
        sc.delete(one)
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

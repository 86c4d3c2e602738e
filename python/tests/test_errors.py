"""Every error family: its class, its code, the builtin it also is, and that nothing was changed."""

from __future__ import annotations

import re

import numpy as np
import pytest

import needle
from needle import _errors

from conftest import ROOT


def engine_codes() -> list[str]:
    """The stable code names in needle-core's ErrorCode (the list this package must map)."""
    src = (ROOT / "needle-core" / "src" / "error.rs").read_text()
    body = src[src.index("pub fn name(self)") :]
    body = body[: body.index("\n    }\n")]
    return re.findall(r'=> "([a-z_]+)"', body)


def test_every_engine_code_has_a_class():
    codes = engine_codes()
    assert len(codes) >= 22
    for code in codes:
        cls = _errors._BY_CODE.get(code)
        assert cls is not None and cls is not needle.NeedleError, f"no class for {code}"
        err = _errors._from_code(code, "msg")
        assert isinstance(err, needle.NeedleError) and err.code == code and str(err) == "msg"


@pytest.mark.parametrize(
    "cls, builtin",
    [
        (needle.InvalidInput, ValueError),
        (needle.DimensionMismatch, ValueError),
        (needle.InvalidVector, ValueError),
        (needle.InvalidFilter, ValueError),
        (needle.InvalidConfig, ValueError),
        (needle.UnknownComponent, ValueError),
        (needle.NotFound, KeyError),
        (needle.AlreadyExists, ValueError),
        (needle.IoError, OSError),
        (needle.Closed, ValueError),
    ],
)
def test_families_are_also_builtins(cls, builtin):
    assert issubclass(cls, needle.NeedleError) and issubclass(cls, builtin)


def test_bad_arguments():
    db = needle.Database.in_memory()
    col = db.create_collection("c", 2)
    col.insert("a", [1, 0])
    cases = [
        (lambda: col.search([1, 0], k=0), needle.InvalidInput, "invalid_argument"),
        (lambda: col.search([1, 0], k=10**9), needle.InvalidInput, "invalid_argument"),
        (lambda: col.insert("", [1, 0]), needle.InvalidInput, "invalid_id"),
        (lambda: col.insert("x" * 2000, [1, 0]), needle.InvalidInput, "invalid_id"),
        (lambda: col.insert("bad\nid", [1, 0]), needle.InvalidInput, "invalid_id"),
        (lambda: db.create_collection("bad name!", 2), needle.InvalidInput, None),
        (lambda: db.create_collection("m1", 2, m=1), needle.InvalidConfig, "invalid_config"),
        (lambda: db.create_collection("d0", 0), needle.InvalidInput, None),
        (lambda: db.create_collection("u", 2, distance="chebyshev-9"), needle.UnknownComponent, "unknown_component"),
        (lambda: db.create_collection("u", 2, index="annoy"), needle.UnknownComponent, "unknown_component"),
        (lambda: db.create_collection("u", 2, quantization="pq-9"), needle.UnknownComponent, "unknown_component"),
        (lambda: needle.Database("x.needle", durability="sometimes"), needle.InvalidInput, "invalid_argument"),
        (lambda: needle.Database("x.needle", encryption_key=b"k" * 32, passphrase="p"), needle.InvalidInput, None),
    ]
    for call, cls, code in cases:
        with pytest.raises(cls) as e:
            call()
        if code:
            assert e.value.code == code, (e.value.code, str(e.value))
        assert str(e.value)
    assert db.collections() == ["c"] and len(col) == 1


def test_unknown_component_names_what_is_available():
    db = needle.Database.in_memory()
    with pytest.raises(needle.UnknownComponent) as e:
        db.create_collection("u", 2, distance="nope")
    assert "nope" in str(e.value) and "cosine" in str(e.value)


def test_not_found_and_already_exists():
    db = needle.Database.in_memory()
    with pytest.raises(KeyError):
        db["missing"]
    with pytest.raises(needle.NotFound) as e:
        db.collection("missing")
    assert e.value.code == "collection_not_found"
    db.create_collection("c", 2)
    with pytest.raises(ValueError):
        db.create_collection("c", 2)


def test_read_only(tmp_path):
    path = tmp_path / "ro.needle"
    with needle.Database(path) as db:
        db.create_collection("c", 2).insert("a", [1, 0])
    with needle.Database(path, read_only=True) as ro:
        col = ro.collection("c")
        assert len(col) == 1 and col.search([1, 0], k=1)[0].id == "a"
        for call in (lambda: col.insert("b", [0, 1]), lambda: col.delete("a"), ro.save,
                     lambda: ro.create_collection("d", 2), lambda: ro.drop_collection("c")):
            with pytest.raises(needle.ReadOnly) as e:
                call()
            assert e.value.code == "read_only"
        assert ro.read_only


def test_locked_by_another_writer(tmp_path):
    path = tmp_path / "locked.needle"
    with needle.Database(path):
        with pytest.raises(needle.Locked) as e:
            needle.Database(path)
        assert e.value.code == "locked"
        needle.Database(path, read_only=True).close()  # readers take no writer lock (a shared one on the data file)


def test_bad_files(tmp_path):
    junk = tmp_path / "junk.needle"
    junk.write_bytes(b"this is not a needle file at all" * 10)
    with pytest.raises(needle.BadFile) as e:
        needle.Database(junk)
    assert e.value.code == "not_a_needle_file"

    path = tmp_path / "damaged.needle"
    with needle.Database(path) as db:
        c = db.create_collection("c", 8)
        c.insert_batch([str(i) for i in range(200)], np.random.default_rng(1).standard_normal((200, 8), dtype=np.float32))
    raw = bytearray(path.read_bytes())
    for i in range(len(raw) // 2, len(raw) // 2 + 64):
        raw[i] ^= 0xFF
    path.write_bytes(bytes(raw))
    before = path.read_bytes()
    with pytest.raises(needle.Corrupted) as e:
        with needle.Database(path, mmap_threshold=1 << 40) as db:
            db.collection("c").search(np.ones(8, dtype=np.float32), k=3)
    assert e.value.code == "corrupted" and isinstance(e.value, needle.BadFile)
    assert path.read_bytes() == before  # a failed open changes nothing


def test_io_error(tmp_path):
    with pytest.raises(needle.IoError) as e:
        needle.Database(tmp_path / "no" / "such" / "dir" / "x.needle")
    assert e.value.code == "io" and isinstance(e.value, OSError)


def test_wrong_key(tmp_path):
    path = tmp_path / "secret.needle"
    key = bytes(range(32))
    with needle.Database(path, encryption_key=key) as db:
        assert db.encrypted
        db.create_collection("c", 2).insert("a", [1, 0], {"s": "secret"})
    assert b"secret" not in path.read_bytes()
    with pytest.raises(needle.WrongKey) as e:
        needle.Database(path, encryption_key=bytes(32))
    assert e.value.code == "wrong_key"
    with pytest.raises(needle.NeedleError):
        needle.Database(path)  # no key for an encrypted file
    with needle.Database(path, encryption_key=key) as db:
        assert db["c"].get("a").metadata == {"s": "secret"}
    p2 = tmp_path / "pass.needle"
    with needle.Database(p2, passphrase="correct horse") as db:
        db.create_collection("c", 2).insert("a", [1, 0])
    with pytest.raises(needle.WrongKey):
        needle.Database(p2, passphrase="wrong horse")
    with needle.Database(p2, passphrase="correct horse") as db:
        assert len(db["c"]) == 1


def test_closed(tmp_path):
    db = needle.Database(tmp_path / "c.needle")
    col = db.create_collection("c", 2)
    db.close()
    db.close()  # idempotent
    assert db.closed
    for call in (lambda: col.insert("a", [1, 0]), lambda: col.search([1, 0]), lambda: len(col),
                 db.save, db.collections, lambda: db.create_collection("d", 2)):
        with pytest.raises(needle.Closed) as e:
            call()
        assert e.value.code == "closed" and isinstance(e.value, ValueError)

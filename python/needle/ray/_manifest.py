"""The manifest of a sharded collection (``manifest.json``) and the routing hash.

A manifest names everything needed to reopen the collection: the collection's config, the shard
count, the routing hash and its version, and the shard files (relative to the manifest). It is
written atomically (temporary file, fsync, rename, fsync of the directory), so a crash leaves the
old manifest or the new one. Opening refuses a manifest it does not understand — another format,
a newer version, an unknown routing hash — rather than guessing.

Routing (version 1): the owner of an id is ``int.from_bytes(blake2b(id.encode("utf-8"),
digest_size=8).digest(), "little") % shards``. It depends only on the id's bytes and the shard
count (never on Python's per-process salted ``hash``), so every process and every version agrees.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._errors import NeedleError

FORMAT = "needle-sharded-collection"
FORMAT_VERSION = 1
ROUTING_HASH = "blake2b-64-le-mod-n"
ROUTING_VERSION = 1
MANIFEST = "manifest.json"


class ManifestError(NeedleError, ValueError):
    """A manifest that is missing, unreadable, of an unknown format or version, or that does not
    match the shard files beside it (``invalid_manifest``)."""

    code = "invalid_manifest"


def shard_of(id: str, shards: int) -> int:
    """The shard that owns ``id`` among ``shards`` (routing version 1)."""
    digest = hashlib.blake2b(id.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little") % shards


@dataclass
class Manifest:
    """What ``manifest.json`` holds."""

    name: str
    dims: int
    shards: int
    options: dict[str, Any] = field(default_factory=dict)
    shard_files: list[str] = field(default_factory=list)

    @staticmethod
    def new(name: str, dims: int, shards: int, options: dict[str, Any]) -> Manifest:
        files = [f"shard-{i:05d}.needle" for i in range(shards)]
        return Manifest(name=name, dims=dims, shards=shards, options=dict(options), shard_files=files)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "collection": {"name": self.name, "dims": self.dims, "options": self.options},
            "shards": self.shards,
            "routing": {"hash": ROUTING_HASH, "version": ROUTING_VERSION},
            "shard_files": self.shard_files,
        }

    def write(self, directory: Path) -> None:
        """Writes ``directory/manifest.json`` atomically."""
        path = directory / MANIFEST
        tmp = directory / (MANIFEST + ".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(self.to_json(), f, indent=2, sort_keys=True)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    @staticmethod
    def read(directory: Path, shards: int | None = None, check_files: bool = True) -> Manifest:
        """Reads and checks ``directory/manifest.json`` and, with ``check_files``, that every
        shard file exists here. ``shards``: the count the caller expects, if any."""
        path = directory / MANIFEST
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ManifestError(f"no sharded collection at {directory}: {MANIFEST} is missing") from None
        except (OSError, ValueError) as e:
            raise ManifestError(f"{path} is unreadable: {e}") from None
        if not isinstance(raw, dict) or raw.get("format") != FORMAT:
            raise ManifestError(f"{path} is not a needle sharded-collection manifest")
        version = raw.get("format_version")
        if version != FORMAT_VERSION:
            raise ManifestError(f"{path} has format_version {version!r}; this needle reads {FORMAT_VERSION}")
        routing = raw.get("routing")
        if routing != {"hash": ROUTING_HASH, "version": ROUTING_VERSION}:
            raise ManifestError(f"{path} routes ids by {routing!r}; this needle knows {ROUTING_HASH} v{ROUTING_VERSION}")
        try:
            coll = raw["collection"]
            m = Manifest(name=str(coll["name"]), dims=int(coll["dims"]), shards=int(raw["shards"]),
                         options=dict(coll.get("options") or {}), shard_files=[str(f) for f in raw["shard_files"]])
        except (KeyError, TypeError, ValueError) as e:
            raise ManifestError(f"{path} lacks or mangles a field: {e!r}") from None
        if m.shards < 1 or len(m.shard_files) != m.shards:
            raise ManifestError(f"{path} declares {m.shards} shards but lists {len(m.shard_files)} shard files")
        if shards is not None and shards != m.shards:
            raise ManifestError(f"{path} has {m.shards} shards, not the {shards} asked for (re-sharding is not supported)")
        for i, f in enumerate(m.shard_files):
            if Path(f).name != f:
                raise ManifestError(f"{path}: shard file {f!r} must be a plain file name")
            if check_files and not (directory / f).is_file():
                raise ManifestError(f"shard {i} file {directory / f} is missing")
        return m

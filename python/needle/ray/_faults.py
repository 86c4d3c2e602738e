"""How shard calls meet a shard actor that died: the ``ShardUnavailable`` error, and calls (reads
and writes) that are sent again once Ray has restarted the actor.

A write whose actor dies under it fails with Ray's ``RayActorError`` whether or not the actor had
applied (and logged) it first, so a write can only be sent again if doing it twice is the same as
doing it once. ``upsert``, ``upsert_batch`` and ``delete`` are that already. ``insert_batch`` is
not (its second attempt would meet its own rows as duplicates), so a retry goes to the shard's
``insert_batch_again`` instead: a row whose id is stored with exactly the same vector and metadata
counts as written, a row stored with anything else is a real duplicate (``AlreadyExists``, nothing
overwritten), and the rest are inserted. The deadline bounds the wait for the restart; after it
the shard is ``ShardUnavailable``.
"""

from __future__ import annotations

import time
from typing import Any, Sequence

import ray
from ray.exceptions import RayActorError, RayTaskError

from .._errors import NeedleError

# The write each first attempt is sent again as, when it differs.
RETRY_AS = {"insert_batch": "insert_batch_again"}
PAUSE_SECONDS = 0.2


class ShardUnavailable(NeedleError):
    """A shard's actor did not answer (dead, or still restarting after ``retry_seconds``).
    ``shards`` lists the shard indexes."""

    code = "shard_unavailable"

    def __init__(self, message: str, shards: Sequence[int] = ()) -> None:
        super().__init__(message)
        self.shards = list(shards)


def unwrap(e: RayTaskError) -> BaseException:
    """The exception the actor's method raised (a ``NeedleError``, ``ValueError``, ...)."""
    cause = getattr(e, "cause", None)
    return cause if isinstance(cause, BaseException) else e


def first_line(e: BaseException) -> str:
    text = str(e)
    return text.splitlines()[0] if text else type(e).__name__


def fan_out(actors: Sequence[Any], files: Sequence[str], parts: dict[int, tuple[str, tuple[Any, ...]]],
            retry_seconds: float, what: str, allow_partial: bool = False) -> tuple[dict[int, Any], list[int]]:
    """Sends ``parts`` (shard -> (method, args)) to their shards at once; returns each shard's
    result and the shards that never answered. A shard whose actor dies is sent its part again
    (as ``RETRY_AS`` says) until ``retry_seconds`` have passed. Raises the first error a shard
    raised (the other shards' parts are done), else, unless ``allow_partial``,
    ``ShardUnavailable`` naming every shard that never answered."""
    deadline = time.monotonic() + retry_seconds

    def send(s: int, again: bool) -> Any:
        method, args = parts[s]
        return getattr(actors[s], RETRY_AS.get(method, method) if again else method).remote(*args)

    pending = {s: send(s, False) for s in parts}
    done: dict[int, Any] = {}
    errors: list[BaseException] = []
    unavailable: dict[int, str] = {}
    while pending:
        for s, ref in list(pending.items()):
            try:
                done[s] = ray.get(ref)
                del pending[s]
            except RayTaskError as e:
                errors.append(unwrap(e))
                del pending[s]
            except RayActorError as e:
                if time.monotonic() < deadline:
                    time.sleep(PAUSE_SECONDS)
                    pending[s] = send(s, True)
                else:
                    unavailable[s] = first_line(e)
                    del pending[s]
    if errors:
        raise errors[0]
    if unavailable and not allow_partial:
        names = ", ".join(f"shard {s} ({files[s]}): {msg}" for s, msg in sorted(unavailable.items()))
        raise ShardUnavailable(f"{what}: unavailable after {retry_seconds:g} s: {names}", sorted(unavailable))
    return done, sorted(unavailable)

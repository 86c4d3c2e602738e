"""The exception classes of ``needle``.

Every error the engine reports is a :class:`NeedleError` whose ``code`` is the engine's stable code
string (the same names the HTTP server and the C ABI report, e.g. ``"dimension_mismatch"``). One
subclass per family lets callers catch what they can handle; families that Python programmers
already catch under a builtin also derive from it (bad input is a ``ValueError``, a missing
collection or vector a ``KeyError``, an operating-system failure an ``OSError``).

This module imports nothing from the compiled extension, so the extension can import it.
"""

from __future__ import annotations


class NeedleError(Exception):
    """Base class of every error Needle raises. ``code`` is the stable error code string."""

    code: str = "needle_error"

    @property
    def message(self) -> str:
        """The human-readable message (the same as ``str(err)``)."""
        return str(self.args[0]) if self.args else ""


class InvalidInput(NeedleError, ValueError):
    """An argument was out of range or malformed (``invalid_argument``, ``invalid_id``, ``invalid_json``)."""

    code = "invalid_argument"


class DimensionMismatch(InvalidInput):
    """A vector's length differs from the collection's dimensions (``dimension_mismatch``)."""

    code = "dimension_mismatch"


class InvalidVector(InvalidInput):
    """A vector holds NaN or an infinity (``non_finite_vector``), is zero under cosine (``zero_vector``), or its norm is too large for finite distances (``vector_too_large``)."""

    code = "non_finite_vector"


class InvalidFilter(InvalidInput):
    """A metadata filter could not be parsed or applied (``invalid_filter``)."""

    code = "invalid_filter"


class InvalidConfig(InvalidInput):
    """Settings that cannot work together (``invalid_config``)."""

    code = "invalid_config"


class UnknownComponent(InvalidConfig):
    """A component id (distance, index, quantizer, …) nothing provides (``unknown_component``)."""

    code = "unknown_component"


class NotFound(NeedleError, KeyError):
    """No collection (``collection_not_found``) or vector (``vector_not_found``) of that name."""

    code = "collection_not_found"

    def __str__(self) -> str:  # KeyError would quote the message
        return self.message


class AlreadyExists(NeedleError, ValueError):
    """A collection (``collection_exists``) or vector id (``duplicate_id``) exists already."""

    code = "collection_exists"


class BadFile(NeedleError):
    """The file cannot be read: ``corrupted``, ``not_a_needle_file`` or ``unsupported_version``."""

    code = "corrupted"


class Corrupted(BadFile):
    """The file or a record failed a checksum or structural check (``corrupted``)."""

    code = "corrupted"


class WrongKey(NeedleError):
    """The encryption key or passphrase does not match the file's (``wrong_key``)."""

    code = "wrong_key"


class Locked(NeedleError):
    """Another process (or handle) has the database open for writing (``locked``)."""

    code = "locked"


class ReadOnly(NeedleError):
    """The database was opened read-only, or an earlier write to its log failed (``read_only``)."""

    code = "read_only"


class IoError(NeedleError, OSError):
    """An operating-system I/O error (``io``)."""

    code = "io"


class PluginError(NeedleError):
    """A plugin failed to load or misbehaved (``plugin``)."""

    code = "plugin"


class InternalError(NeedleError):
    """A broken invariant inside Needle: a bug worth reporting (``internal``)."""

    code = "internal"


class Closed(NeedleError, ValueError):
    """The database (or the database of this collection) was closed (``closed``)."""

    code = "closed"


_BY_CODE: dict[str, type[NeedleError]] = {
    "invalid_argument": InvalidInput,
    "invalid_id": InvalidInput,
    "invalid_json": InvalidInput,
    "dimension_mismatch": DimensionMismatch,
    "non_finite_vector": InvalidVector,
    "zero_vector": InvalidVector,
    "vector_too_large": InvalidVector,
    "invalid_filter": InvalidFilter,
    "invalid_config": InvalidConfig,
    "unknown_component": UnknownComponent,
    "collection_not_found": NotFound,
    "vector_not_found": NotFound,
    "collection_exists": AlreadyExists,
    "duplicate_id": AlreadyExists,
    "corrupted": Corrupted,
    "not_a_needle_file": BadFile,
    "unsupported_version": BadFile,
    "wrong_key": WrongKey,
    "locked": Locked,
    "read_only": ReadOnly,
    "io": IoError,
    "plugin": PluginError,
    "internal": InternalError,
    "closed": Closed,
}


def _from_code(code: str, message: str) -> NeedleError:
    """The exception for an engine error code (called by the extension)."""
    err = _BY_CODE.get(code, NeedleError)(message)
    err.code = code
    return err

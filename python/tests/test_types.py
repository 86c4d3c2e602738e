"""The type stub, checked by mypy: ``mypy --strict`` on typed_usage.py and on the package's own
sources, ``mypy.stubtest`` comparing the stub with the compiled extension, and a wrong call that
mypy must reject (so the stub is really what mypy reads). .ci/run installs mypy; without it
(a bare ``pip install needle``) these skip."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mypy")

HERE = Path(__file__).resolve().parent


def mypy(tmp_path: Path, *args: str, module: str = "mypy") -> subprocess.CompletedProcess[str]:
    # From an empty directory, so `needle` is the installed package and no cache lands in the tree.
    cmd = [sys.executable, "-m", module, *args]
    if module == "mypy":
        cmd += ["--no-incremental", "--cache-dir", str(tmp_path / "cache")]
    return subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=600)


def test_typed_usage_and_package_pass_mypy_strict(tmp_path):
    for target in ([str(HERE / "typed_usage.py")], ["-p", "needle"]):
        out = mypy(tmp_path, "--strict", *target)
        assert out.returncode == 0, out.stdout + out.stderr


def test_typed_usage_runs(tmp_path):
    sys.path.insert(0, str(HERE))
    try:
        import typed_usage
    finally:
        sys.path.remove(str(HERE))
    assert typed_usage.main() == ["a"]
    assert typed_usage.main(tmp_path) == ["a"]


def test_stub_matches_the_extension(tmp_path):
    # The stub leaves out `__all__`: its names are the `X as X` re-exports and the classes it defines.
    allow = tmp_path / "allow.txt"
    allow.write_text("needle.__all__\n")
    out = mypy(tmp_path, "needle", "--allowlist", str(allow), module="mypy.stubtest")
    assert out.returncode == 0, out.stdout + out.stderr


def test_mypy_rejects_a_wrong_call(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import needle\n"
                   "col = needle.Database.in_memory().create_collection('x', '3')\n"
                   "n: str = len(col)\n"
                   "col.search_batch([[1.0]], k=1, include_metadata=True)\n")
    out = mypy(tmp_path, "--strict", str(bad))
    assert out.returncode == 1
    for line in (2, 3, 4):
        assert f"bad.py:{line}: error" in out.stdout, out.stdout

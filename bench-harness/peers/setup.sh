#!/usr/bin/env bash
# Creates bench-harness/.venv and installs the pinned peer libraries into it.
# Usage: bench-harness/peers/setup.sh            (idempotent; re-run to repair)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${NEEDLE_PEERS_VENV:-$here/../.venv}"
python="${PYTHON:-python3}"
if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet -r "$here/requirements.txt"
"$venv/bin/python" - <<'PY'
import importlib.metadata as md
for name in ("numpy", "hnswlib", "faiss-cpu", "usearch"):
    print(f"{name}=={md.version(name)}")
PY

#!/usr/bin/env bash
# Builds the native peer drivers bench-harness runs (no Python in their timed loops):
#
#   hnswlib-cpp   hnswlib_driver.cpp (ours) against hnswlib's C++ headers, which come from the PyPI
#                 source distribution of hnswlib (pinned version and sha256; downloaded with
#                 `pip download` into the cache, never committed), g++ -O3 -march=native.
#
# Usage: bench-harness/peers/native/build.sh [hnswlib]...   (default: all; idempotent)
# Cache: $NEEDLE_PEERS_CACHE, default bench-harness/.peers-cache (git-ignored). Each driver gets a
# `<name>.info` file beside it saying exactly what was built (version, compiler, flags).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${NEEDLE_PEERS_CACHE:-$here/../../.peers-cache}"
mkdir -p "$cache"
cache="$(cd "$cache" && pwd)"

HNSWLIB_VERSION=0.8.0
HNSWLIB_SHA256=cb6d037eedebb34a7134e7dc78966441dfd04c9cf5ee93911be911ced951c44c
CXX="${CXX:-g++}"
CXXFLAGS="-O3 -march=native -std=c++17 -pthread -DNDEBUG"

python_with_pip() {
    for p in "${NEEDLE_PEERS_PYTHON:-}" "$here/../../.venv/bin/python" python3; do
        if [ -n "$p" ] && "$p" -m pip --version >/dev/null 2>&1; then
            echo "$p"
            return
        fi
    done
    echo "error: no Python with pip to download the hnswlib source distribution" >&2
    exit 2
}

build_hnswlib() {
    local src="$cache/hnswlib-$HNSWLIB_VERSION"
    local sdist="$cache/hnswlib-$HNSWLIB_VERSION.tar.gz"
    if [ ! -f "$src/hnswlib/hnswalg.h" ]; then
        if [ ! -f "$sdist" ]; then
            # Only hnswlib itself must be a source distribution: its build requirements (needed by
            # pip to read the metadata) may come as wheels.
            "$(python_with_pip)" -m pip download --quiet --no-binary hnswlib --no-deps \
                "hnswlib==$HNSWLIB_VERSION" -d "$cache"
        fi
        echo "$HNSWLIB_SHA256  $sdist" | sha256sum --check --quiet
        tar -xzf "$sdist" -C "$cache" "hnswlib-$HNSWLIB_VERSION/hnswlib" "hnswlib-$HNSWLIB_VERSION/LICENSE"
    fi
    local out="$cache/hnswlib_driver"
    if [ ! -x "$out" ] || [ "$here/hnswlib_driver.cpp" -nt "$out" ]; then
        # shellcheck disable=SC2086
        "$CXX" $CXXFLAGS -I"$src" "$here/hnswlib_driver.cpp" -o "$out.tmp"
        mv "$out.tmp" "$out"
    fi
    local cxx_version
    cxx_version="$("$CXX" --version | head -n1)"
    printf 'hnswlib %s C++ headers (PyPI sdist, sha256 %s…), %s, %s\n' \
        "$HNSWLIB_VERSION" "${HNSWLIB_SHA256:0:12}" "$cxx_version" "$CXXFLAGS" >"$out.info"
    echo "hnswlib-cpp: $out ($(cat "$out.info"))" >&2
}

targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(hnswlib)
for t in "${targets[@]}"; do
    case "$t" in
        hnswlib) build_hnswlib ;;
        *) echo "error: unknown native peer '$t' (hnswlib)" >&2; exit 2 ;;
    esac
done

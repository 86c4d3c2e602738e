#!/usr/bin/env bash
# Installs libneedle into a temporary prefix with ffi/install.sh, then builds examples/c/app.c the
# way a user would (`cc app.c $(pkg-config --cflags --libs needle)`) and runs it. Also checks the
# SONAME and that every exported symbol is a needle_* function versioned NEEDLE_0.
# Usage: ffi/examples/installed.sh [CARGO_PROFILE]   (default: test, as after `cargo test`)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
bash "$root/ffi/install.sh" "$prefix" "${1:-test}"
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
# shellcheck disable=SC2046 # word splitting of pkg-config output is intended
cc -std=c99 -Wall -Wextra -Werror -pedantic "$root/ffi/examples/c/app.c" $(pkg-config --cflags --libs needle) -o "$prefix/app"
LD_LIBRARY_PATH="$prefix/lib" "$prefix/app"
lib="$prefix/lib/libneedle.so"
readelf -d "$lib" | grep -q 'SONAME.*\[libneedle\.so\.0\]' || { echo "SONAME is not libneedle.so.0" >&2; exit 1; }
exported=$(objdump -T "$lib" | awk '$2 == "g" && $4 != "*UND*" {print $(NF-1), $NF}')
wrong=$(echo "$exported" | grep -v '^NEEDLE_0 needle_' | grep -v '^NEEDLE_0 NEEDLE_0$' || true)
if [ -n "$wrong" ]; then
  echo "exported symbols outside NEEDLE_0/needle_*:" >&2
  echo "$wrong" >&2
  exit 1
fi
echo "installed library: SONAME libneedle.so.0, $(echo "$exported" | grep -c needle_) functions versioned NEEDLE_0; pkg-config build ok"

#!/usr/bin/env bash
# Builds libneedle and installs it for C, C++ and Go programs:
#   PREFIX/lib/libneedle.so.X.Y.Z   SONAME libneedle.so.0, every needle_* symbol versioned NEEDLE_0
#   PREFIX/lib/libneedle.so.0, PREFIX/lib/libneedle.so   symlinks
#   PREFIX/lib/libneedle.a          static library
#   PREFIX/include/needle.h, PREFIX/include/needle_plugin.h
#   PREFIX/lib/pkgconfig/needle.pc  so `cc app.c $(pkg-config --cflags --libs needle)` works
# Usage: ffi/install.sh PREFIX [CARGO_PROFILE]   (profile default: release)
# DESTDIR stages the files under $DESTDIR$PREFIX (for packagers); needle.pc still says PREFIX.
set -euo pipefail
if [ $# -lt 1 ]; then
  echo "usage: $0 PREFIX [CARGO_PROFILE]" >&2
  exit 2
fi
prefix=$1
profile=${2:-release}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

cargo build --quiet --profile "$profile" -p needle-ffi --lib
case "$profile" in
  dev | test) outdir=debug ;;
  release | bench) outdir=release ;;
  *) outdir=$profile ;;
esac
target_dir=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
archive="$target_dir/$outdir/libneedle.a"
version=$(sed -n 's/^#define NEEDLE_VERSION_STRING "\(.*\)"$/\1/p' include/needle.h)
major=${version%%.*}

dest="${DESTDIR:-}$prefix"
mkdir -p "$dest/lib/pkgconfig" "$dest/include"
# The shared library is linked here from the static one so that needle.map's version node applies
# (cargo's cdylib carries rustc's own unversioned export list; see ffi/build.rs).
cc -shared -o "$dest/lib/libneedle.so.$version" \
  -Wl,--whole-archive "$archive" -Wl,--no-whole-archive \
  -Wl,-soname,"libneedle.so.$major" -Wl,--version-script="$root/ffi/needle.map" -Wl,--gc-sections \
  -Wl,-z,relro,-z,now -lgcc_s -lpthread -lm -ldl -lc
ln -sf "libneedle.so.$version" "$dest/lib/libneedle.so.$major"
ln -sf "libneedle.so.$major" "$dest/lib/libneedle.so"
install -m 644 "$archive" "$dest/lib/libneedle.a"
install -m 644 include/needle.h include/needle_plugin.h "$dest/include/"
sed -e "s|@PREFIX@|$prefix|" -e "s|@VERSION@|$version|" ffi/needle.pc.in >"$dest/lib/pkgconfig/needle.pc"
echo "installed libneedle $version into $dest"

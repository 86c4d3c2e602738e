#!/usr/bin/env bash
# Builds libneedle.so and runs against it: the C++ and Go (cgo) examples, the Go package's tests
# (ffi/go/needle) and the C search benchmark (small).
# Usage: ffi/examples/run.sh   (from anywhere; needs g++ and go)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
# The test profile: after `cargo test` everything but the cdylib itself is already built.
cargo build --quiet --profile test -p needle-ffi --lib
lib="$root/target/debug"
ln -sf libneedle.so "$lib/libneedle.so.0" # its SONAME, which linked programs load
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== C++ example"
g++ -std=c++17 -Wall -Wextra -Werror -I "$root/include" "$root/ffi/examples/cpp/example.cc" \
  -L "$lib" -Wl,-rpath,"$lib" -lneedle -o "$work/cpp-example"
"$work/cpp-example"

echo "== Go (cgo) example"
(cd "$root/ffi/examples/go" && CGO_ENABLED=1 CGO_LDFLAGS="-L$lib -Wl,-rpath,$lib" GOFLAGS=-mod=mod go build -o "$work/go-example" .)
"$work/go-example"

echo "== Go package ffi/go/needle: gofmt, go vet, go test"
(
  cd "$root/ffi/go/needle"
  unformatted=$(gofmt -l .)
  [ -z "$unformatted" ] || { echo "gofmt needed: $unformatted" >&2; exit 1; }
  export CGO_ENABLED=1 CGO_LDFLAGS="-L$lib -Wl,-rpath,$lib" GOFLAGS=-mod=mod
  go vet ./...
  go test -count=1 ./...
)

echo "== C: allocating search vs search into caller buffers (small run; timings are not checked)"
gcc -O2 -std=c11 -Wall -Wextra -Werror -I "$root/include" "$root/ffi/examples/c/bench_search.c" \
  -L "$lib" -Wl,-rpath,"$lib" -lneedle -o "$work/bench-search"
"$work/bench-search" 2000 200

#!/usr/bin/env bash
# The server benchmark of REPORT.md: the in-process baseline and wrk against `needle serve` on the
# same file, side by side, REPS times; prints one line per run and the medians.
#
#   needle-api/bench/run.sh [WORK_DIR] [REPS] [SECONDS]
#
# Needs wrk (`apt-get install wrk`; not on CI machines: benchmarks never run in CI), a release
# build (`cargo build --release -p needle --features server --bin needle --example server_baseline`)
# and NEEDLE_DATA_DIR (wordnet-minilm); NEEDLE_BIN picks another server binary to compare. Builds WORK_DIR/w.needle and the bodies when missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
work=${1:-/tmp/needle-server-bench}
reps=${2:-3}
secs=${3:-10}
port=${PORT:-18080}
bin=target/release
lua=needle-api/bench/post.lua
mkdir -p "$work"
[ -f "$work/w.needle" ] || $bin/examples/server_baseline build "$work/w.needle"
[ -f "$work/bodies/queries.jsonl" ] || $bin/examples/server_baseline bodies "$work/bodies"

${NEEDLE_BIN:-$bin/needle} serve -d "$work/w.needle" --read-only -a "127.0.0.1:$port" ${SERVE_ARGS:-} > "$work/serve.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 50); do grep -q serving "$work/serve.log" && break; sleep 0.2; done
url="http://127.0.0.1:$port"

cpu_ticks() { # the server's user + system CPU, in 10 ms ticks
  sed 's/.*) //' /proc/$pid/stat | awk '{print $12 + $13}'
}

wrk_line() { # label, wrk args...: "label p50_us rps cpu_us (server CPU per request) bad"
  local label=$1; shift
  local c0; c0=$(cpu_ticks)
  local out; out=$(wrk "$@" 2>&1)
  local c1; c1=$(cpu_ticks)
  echo "$out" | awk -v label="$label" -v dc=$((c1 - c0)) '
    /requests in/ {n = $1}
    /Requests\/sec/ {rps = $2}
    /^ +50%/ {p50 = $2}
    /^p50_us/ {p50 = $2 "us"; bad = $8 + $10}
    END {printf "%s p50=%s rps=%s cpu_us=%.1f bad=%d\n", label, p50, rps, dc * 10000 / n, bad}'
}

for r in $(seq "$reps"); do
  echo "rep $r load $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "inproc $($bin/examples/server_baseline measure "$work/w.needle" 10 '' "$secs")"
  BODIES="$work/bodies/queries.jsonl" wrk_line json_c1 -t1 -c1 -d"${secs}s" -s $lua "$url/collections/w/search"
  F32="$work/bodies/queries.f32" DIM=384 wrk_line bin_c1 -t1 -c1 -d"${secs}s" -s $lua \
    "$url/collections/w/search?k=10&include_metadata=false"
  BODIES="$work/bodies/queries.jsonl" wrk_line json_c16 -t1 -c16 -d"${secs}s" -s $lua "$url/collections/w/search"
  F32="$work/bodies/queries.f32" DIM=384 wrk_line bin_c16 -t1 -c16 -d"${secs}s" -s $lua \
    "$url/collections/w/search?k=10&include_metadata=false"
  # /health: plain GET, no body and no database work: the cost of HTTP alone.
  wrk_line health_c1 -t1 -c1 -d"${secs}s" --latency "$url/health"
  wrk_line health_c16 -t1 -c16 -d"${secs}s" --latency "$url/health"
done
echo "server peak RSS: $(awk '/VmHWM/ {print $2, $3}' /proc/$pid/status)"

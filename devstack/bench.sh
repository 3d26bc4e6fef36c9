#!/usr/bin/env bash
# make bench: the checkout regression guard of issue #19. Starts the platform with the launcher
# (in-memory stores, kfake, redis-server, the gateway's rate limits raised so they never bind) on
# ports +BENCH_PORT_OFFSET (default 4600) with its own state directory (.devstack/bench), runs the
# checkout scenario (8 clients, BENCH_DURATION, default 10s) and prints orders/s, saga p50/p99, the
# platform's CPU and context switches per confirmed order beside the baseline committed in
# docs/performance.md (the "make-bench-baseline" line). It measures, it does not judge: the machine's load (printed) moves
# every number; compare runs made back to back.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
offset=${BENCH_PORT_OFFSET:-4600}
duration=${BENCH_DURATION:-10s}
state=$root/.devstack/bench
mkdir -p "$state"
(cd devstack && go build -o "$state/devstack" ./cmd/devstack && go build -o "$state/load" ./cmd/load)

# shellcheck source=bench-lib.sh
. devstack/bench-lib.sh
trap bench_down EXIT
bench_up "$state/devstack" . "$state" "$offset"
bench_load "$state/load" "$offset" "$duration" "$state/load.out"
cat "$state/load.out"

# The numbers of this run and of the committed baseline, side by side.
read -r ops p50 p99 cpu sw rej < <(bench_numbers "$state/load.out")
base=$(grep -m1 '^make-bench-baseline ' docs/performance.md || true)
awk -v base="$base" -v ops="$ops" -v p50="$p50" -v p99="$p99" -v cpu="$cpu" -v sw="$sw" -v rej="$rej" -v load="$(grep -m1 '^loadavg' "$state/load.out")" '
  BEGIN {
    n = split(base, kv, " "); for (i = 2; i <= n; i++) { split(kv[i], p, "="); b[p[1]] = p[2] }
    printf "\nmake bench (checkout -c 8), %s\n", load
    printf "%-28s %12s %12s\n", "", "this run", "baseline"
    printf "%-28s %12s %12s\n", "orders/s", ops, b["orders_per_s"]
    printf "%-28s %12s %12s\n", "saga p50 (ms)", p50, b["saga_p50_ms"]
    printf "%-28s %12s %12s\n", "saga p99 (ms)", p99, b["saga_p99_ms"]
    printf "%-28s %12s %12s\n", "CPU per confirmed order (ms)", cpu, b["cpu_ms_per_order"]
    printf "%-28s %12s %12s\n", "context switches per order", sw, b["switches_per_order"]
    printf "%-28s %12s\n", "rejected (out of stock)", rej
    if (base == "") print "(no make-bench-baseline line in docs/performance.md)"
  }'

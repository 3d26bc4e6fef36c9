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

pid=
cleanup() { if [ -n "$pid" ]; then kill -INT "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi; }
trap cleanup EXIT
GATEWAY_RATE_LIMIT=100000/s:100000 GATEWAY_AUTH_RATE_LIMIT=100000/m:100000 GATEWAY_USER_RATE_LIMIT=100000/s:100000 \
  "$state/devstack" -root . -dir "$state" -port-offset "$offset" -quiet > "$state/launcher.out" 2>&1 &
pid=$!
for _ in $(seq 600); do
  grep -q "the platform is up" "$state/launcher.out" && break
  kill -0 "$pid" 2>/dev/null || { cat "$state/launcher.out"; exit 1; }
  sleep 0.5
done
grep -q "the platform is up" "$state/launcher.out" || { echo "bench: the platform did not come up"; cat "$state/launcher.out"; exit 1; }

gateway=http://127.0.0.1:$((3008 + offset))
"$state/load" -gateway "$gateway" -scenario checkout -c 8 -d "$duration" -restock 2000 | tee "$state/load.out"

# The numbers of this run and of the committed baseline, side by side.
awk -v base="$(grep -m1 '^make-bench-baseline ' docs/performance.md || true)" '
  /^orders / { for (i = 1; i <= NF; i++) if ($(i+1) == "orders/s;") ops = $i; rej = $0; sub(/.*confirmed, /, "", rej); sub(/ rejected.*/, "", rej) }
  /^saga / { saga = 1; next }
  saga && /p50/ { p50 = $2; p99 = $6; sub(/ms/, "", p50); sub(/ms/, "", p99); saga = 0 }
  /^cpu .*confirmed orders =/ { for (i = 1; i <= NF; i++) if ($i == "=") { cpu = $(i+1); sub(/ms\/order/, "", cpu) } }
  /context switches per confirmed order/ { sw = $1 }
  /^loadavg/ { load = $0 }
  END {
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
  }' "$state/load.out"

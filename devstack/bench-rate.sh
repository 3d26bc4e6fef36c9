#!/usr/bin/env bash
# make bench-rate: the highest open-loop checkout rate whose saga p99 stays within a target (issue
# #19: 25 ms). Starts the platform as make bench does, then runs `load -scenario checkout -rate R`
# at START, START+STEP, … orders a second, RUNS runs a rate with GAP seconds between runs, and stops
# at the first rate that does not hold: one whose median p99 is over TARGET_MS, or any of whose runs
# lost an order (errors, dropped arrivals, orders not confirmed). It prints a row a rate and the
# highest rate that held. Before each run it waits until the platform is quiet (bench_quiet: the
# last run's cancellations send mails), then GAP seconds more. The drift between runs is why each
# rate runs more than once.
# Env: BENCH_RATE_START (100), BENCH_RATE_STEP (50), BENCH_RATE_MAX (2000), BENCH_RATE_RUNS (3),
# BENCH_RATE_TARGET_MS (25), BENCH_RATE_GAP (2), BENCH_DURATION (10s), BENCH_PORT_OFFSET (4600).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
offset=${BENCH_PORT_OFFSET:-4600}
duration=${BENCH_DURATION:-10s}
rate=${BENCH_RATE_START:-100}
step=${BENCH_RATE_STEP:-50}
max=${BENCH_RATE_MAX:-2000}
runs=${BENCH_RATE_RUNS:-3}
target=${BENCH_RATE_TARGET_MS:-25}
gap=${BENCH_RATE_GAP:-2}
state=$root/.devstack/bench-rate
rm -rf "$state"
mkdir -p "$state"
(cd devstack && go build -o "$state/devstack" ./cmd/devstack && go build -o "$state/load" ./cmd/load)

# shellcheck source=bench-lib.sh
. devstack/bench-lib.sh
trap bench_down EXIT
bench_up "$state/devstack" . "$state" "$offset"

echo "open loop, ${duration} a run, $runs runs a rate, target: median saga p99 <= ${target} ms with nothing lost"
echo "| orders/s | saga p99 of each run (ms) | median p99 | median CPU per order (ms) | lost | holds |"
echo "|---|---|---|---|---|---|"
best=none
while ((rate <= max)); do
  : > "$state/rate-$rate"
  for i in $(seq "$runs"); do
    bench_quiet
    sleep "$gap"
    out=$state/load-$rate-$i.out
    bench_load "$state/load" "$offset" "$duration" "$out" -rate "$rate" -restock 5000
    # p99, CPU per order, and what was lost: saga errors + dropped arrivals + orders not confirmed.
    read -r _ _ p99 cpu _ _ < <(bench_numbers "$out")
    lost=$(awk '
      /^arrivals / { for (i = 1; i <= NF; i++) if ($(i+1) == "dropped") d = $i }
      /^saga / { for (i = 1; i <= NF; i++) if ($i == "errors") e = $(i+1) + 0; n = $2 }
      /^orders / { c = $4; sub(/\(/, "", c) }
      END { print d + e + (n - c) }' "$out")
    echo "$p99 $cpu $lost" >> "$state/rate-$rate"
  done
  row=$(awk -v target="$target" "$bench_median"'
    { n++; p[n] = $1; c[n] = $2; lost += $3; list = list (n > 1 ? ", " : "") $1 }
    END { mp = median(p, n); mc = median(c, n); ok = (mp <= target && lost == 0) ? "yes" : "no"
      printf "%s|%.2f|%.2f|%d|%s", list, mp, mc, lost, ok }' "$state/rate-$rate")
  IFS='|' read -r list mp mc lost ok <<< "$row"
  echo "| $rate | $list | $mp | $mc | $lost | $ok |"
  [ "$ok" = yes ] || break
  best=$rate
  rate=$((rate + step))
done
echo
echo "bench-rate: the highest rate that held: $best orders/s (median saga p99 <= ${target} ms, nothing lost), loadavg $(cut -d' ' -f1-3 /proc/loadavg)"

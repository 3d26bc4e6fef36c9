#!/usr/bin/env bash
# make bench-ab REV=<rev> [PAIRS=3]: the checkout run of `make bench` for two builds, this working
# tree and REV, in alternating runs, for changes smaller than the drift between two runs of one build
# (docs/performance.md, "make bench"). REV is checked out in a temporary worktree; each run starts
# its build's own launcher on its build's programs, and one load command, this tree's, measures
# both. Pairs alternate which build goes first. It prints every run, each build's medians, and in
# how many pairs this tree used less CPU per order, then the same per process. REV's launcher must
# take -dir (from e3fb252, 2026-12-06). Env: BENCH_PORT_OFFSET (4600), BENCH_DURATION (10s).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
rev=${1:?usage: devstack/bench-ab.sh REV [PAIRS]}
pairs=${2:-3}
offset=${BENCH_PORT_OFFSET:-4600}
duration=${BENCH_DURATION:-10s}
work=$root/.devstack/bench-ab
base=$work/base

# shellcheck source=bench-lib.sh
. devstack/bench-lib.sh
cleanup() {
  bench_down
  git worktree remove --force "$base" 2>/dev/null || true
}
trap cleanup EXIT
git worktree remove --force "$base" 2>/dev/null || true
rm -rf "$work"
mkdir -p "$work"
git worktree add --detach -q "$base" "$rev"
echo "bench-ab: base $(git -C "$base" log -1 --format='%h %s'), head $(git log -1 --format=%h)$(git diff --quiet HEAD || echo ' with uncommitted changes')"
(cd devstack && go build -o "$work/load" ./cmd/load && go build -o "$work/devstack-head" ./cmd/devstack)
(cd "$base/devstack" && go build -o "$work/devstack-base" ./cmd/devstack)

one() { # build run: one run of build (base or head), its numbers appended to $work/runs
  local build=$1 run=$2 dir=$root
  [ "$build" = base ] && dir=$base
  bench_up "$work/devstack-$build" "$dir" "$work/state-$build" "$offset"
  bench_load "$work/load" "$offset" "$duration" "$work/load-$build-$run.out"
  bench_down
  echo "$run $build $(bench_numbers "$work/load-$build-$run.out") $(cut -d' ' -f1 /proc/loadavg)" | tee -a "$work/runs"
  bench_procs "$work/load-$build-$run.out" | sed -E "s/^devstack-(base|head) /launcher /; s/^/$run $build /" >> "$work/procs"
}
echo "run build orders_per_s saga_p50_ms saga_p99_ms cpu_ms_per_order switches_per_order rejected loadavg"
for i in $(seq "$pairs"); do
  if ((i % 2)); then one base "$i"; one head "$i"; else one head "$i"; one base "$i"; fi
done

# Medians per build, and the pairs this tree won on CPU per order.
awk "$bench_median"'
  { n[$2]++; for (f = 3; f <= 7; f++) v[$2, f, n[$2]] = $f; cpu[$1, $2] = $6 }
  END {
    split("orders/s,saga p50 (ms),saga p99 (ms),CPU per order (ms),switches per order", name, ",")
    printf "\n%-22s %10s %10s %8s\n", "median of " n["base"] " runs", "base", "head", "change"
    for (f = 3; f <= 7; f++) {
      for (b = 1; b <= 2; b++) { build = b == 1 ? "base" : "head"; delete a; for (i = 1; i <= n[build]; i++) a[i] = v[build, f, i]; m[b] = median(a, n[build]) }
      printf "%-22s %10.2f %10.2f %+7.1f%%\n", name[f-2], m[1], m[2], m[1] ? (m[2] - m[1]) / m[1] * 100 : 0
    }
    for (r in cpu) { split(r, k, SUBSEP); if (k[2] == "head") { pairs++; if (cpu[k[1], "head"] < cpu[k[1], "base"]) won++ } }
    printf "head used less CPU per order in %d of %d pairs\n", won, pairs
  }' "$work/runs"

# Each process's median CPU and context switches per order, and the pairs in which head's used less
# CPU: a change to one program shows there before it shows in the platform's total.
awk "$bench_median"'
  { k = $2 SUBSEP $3; n[k]++; ms[k, n[k]] = $4; sw[k, n[k]] = $5; cpu[$1, $2, $3] = $4; if (!($3 in seen)) { seen[$3] = 1; order[++names] = $3 } }
  END {
    printf "\n%-14s %22s %22s %8s\n", "per process", "base ms / switches", "head ms / switches", "head won"
    for (p = 1; p <= names; p++) {
      name = order[p]
      for (b = 1; b <= 2; b++) {
        build = b == 1 ? "base" : "head"; k = build SUBSEP name
        delete a; for (i = 1; i <= n[k]; i++) a[i] = ms[k, i]; m[b] = median(a, n[k])
        delete a; for (i = 1; i <= n[k]; i++) a[i] = sw[k, i]; s[b] = median(a, n[k])
      }
      won = 0; pairs = 0
      for (r = 1; r <= n["head" SUBSEP name]; r++) if ((r, "base", name) in cpu) { pairs++; if (cpu[r, "head", name] < cpu[r, "base", name]) won++ }
      printf "%-14s %13.2f / %6.1f %13.2f / %6.1f %5d/%d\n", name, m[1], s[1], m[2], s[2], won, pairs
    }
  }' "$work/procs"

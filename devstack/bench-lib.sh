# Shared by bench.sh, bench-ab.sh and bench-rate.sh (sourced, not run): start the platform for a
# checkout run, run the load command against it, stop it, and read a run's numbers out of the load
# command's report. The caller sets `set -euo pipefail` and calls bench_down from its EXIT trap.

bench_pid=

# bench_median is an awk function, median(a, n), of a[1..n] (sorted in place), for the callers' awk
# programs: awk "$bench_median"' { ... }'.
bench_median='
  function median(a, n,   i, j, t) {
    for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j-1] > a[j]; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
    return n % 2 ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2
  }'

# bench_up LAUNCHER ROOT STATE OFFSET: start LAUNCHER (cmd/devstack) on the programs of ROOT, with
# its state directory STATE, ports +OFFSET, and the gateway's rate limits raised so they never bind;
# wait until the platform is up (the launcher builds the programs first: minutes on a cold cache).
bench_up() {
  local launcher=$1 root=$2 state=$3 offset=$4
  mkdir -p "$state"
  GATEWAY_RATE_LIMIT=100000/s:100000 GATEWAY_AUTH_RATE_LIMIT=100000/m:100000 GATEWAY_USER_RATE_LIMIT=100000/s:100000 \
    "$launcher" -root "$root" -dir "$state" -port-offset "$offset" -quiet > "$state/launcher.out" 2>&1 &
  bench_pid=$!
  for _ in $(seq 600); do
    grep -q "the platform is up" "$state/launcher.out" && return 0
    kill -0 "$bench_pid" 2>/dev/null || break
    sleep 0.5
  done
  echo "bench: the platform did not come up"; cat "$state/launcher.out"; return 1
}

# bench_down: stop the launcher bench_up started (SIGINT: it stops its programs and the broker).
bench_down() {
  if [ -n "$bench_pid" ]; then
    kill -INT "$bench_pid" 2>/dev/null || true
    wait "$bench_pid" 2>/dev/null || true
    bench_pid=
  fi
}

# bench_load LOAD OFFSET DURATION OUT [FLAG...]: the checkout scenario for DURATION through the
# gateway at ports +OFFSET, the report to OUT. The FLAGs go to the load command; without any, 8
# clients with every SKU restocked to 2,000 first, so no order is rejected for stock (make bench).
bench_load() {
  local load=$1 offset=$2 duration=$3 out=$4
  shift 4
  (($#)) || set -- -c 8 -restock 2000
  "$load" -gateway "http://127.0.0.1:$((3008 + offset))" -scenario checkout -d "$duration" "$@" > "$out"
}

# bench_numbers REPORT: one line "orders_per_s p50_ms p99_ms cpu_ms_per_order switches_per_order
# rejected" read from a load report (the fields the baseline line names).
bench_numbers() {
  awk '
    /^orders / { for (i = 1; i <= NF; i++) if ($(i+1) == "orders/s;") ops = $i; rej = $0; sub(/.*confirmed, /, "", rej); sub(/ rejected.*/, "", rej) }
    /^saga / { saga = 1; next }
    saga && /p50/ { p50 = $2; p99 = $6; sub(/ms/, "", p50); sub(/ms/, "", p99); saga = 0 }
    /^cpu .*confirmed orders =/ { for (i = 1; i <= NF; i++) if ($i == "=") { cpu = $(i+1); sub(/ms\/order/, "", cpu) } }
    /context switches per confirmed order/ { sw = $1 }
    END { print ops, p50, p99, cpu, sw, rej }' "$1"
}

# bench_procs REPORT: a line "name ms_per_order switches_per_order" for each process of the platform
# the load report lists (the launcher is "devstack").
bench_procs() {
  awk '/^ +[^ (]+\([0-9]+\) [0-9.]+ms = / { name = $1; sub(/\(.*/, "", name); ms = $4; sub(/ms\/order,/, "", ms); print name, ms, $5 }' "$1"
}

# bench_quiet: wait until the launcher bench_up started and its children (the programs, Mailpit,
# redis-server) use under 150 ms of CPU in a second (idle, they use about 80), for at most 120 s.
# A run's cleanup cancels its orders, and each cancellation sends a mail: without this wait, the
# next run on the same platform shares the cores with Mailpit storing the last run's mails.
bench_quiet() {
  local last now
  ticks() { for p in $bench_pid $(pgrep -P "$bench_pid"); do awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null; done | awk '{s += $1} END {print s + 0}'; }
  last=$(ticks)
  for _ in $(seq 120); do
    sleep 1
    now=$(ticks)
    (((now - last) * 1000 / $(getconf CLK_TCK) < 150)) && return 0
    last=$now
  done
  echo "bench: the platform did not go quiet within 120 s" >&2
}

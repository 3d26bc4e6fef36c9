#!/usr/bin/env bash
# ab.sh compares two gateway builds against nginx in alternating rounds, for a change whose effect is
# smaller than the drift between compare.sh runs: both gateways and nginx stay up, and each round
# measures all three back to back, in a rotating order, on one route (CPU-s of the proxy per 100k
# requests, as compare.sh).
#
#   go build -o /tmp/gw-old ./gateway/   # at the old revision
#   go build -o /tmp/gw-new ./gateway/   # at the new one
#   gateway/bench/ab.sh /tmp/gw-old /tmp/gw-new [/product/products] [rounds, 6]
#
# The nginx URL is the same path on nginx-proxy.conf (/product/ cached, /order/ passed through).
# Env: DUR (5s per measurement), CONNS (32), RL (the gateways' GATEWAY_RATE_LIMIT, off), P (GOMAXPROCS, 2).
set -euo pipefail
OLD=$1
NEW=$2
ROUTE=${3:-/product/products}
ROUNDS=${4:-6}
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
bench_start 16398 ab.sh

start() { # $1 binary, $2 port
	env -i PATH="$PATH" HTTP_ADDR="127.0.0.1:$2" LOG_LEVEL=warn REDIS_URL=redis://127.0.0.1:16398/2 \
		PRODUCT_SERVICE_URLS=http://127.0.0.1:18081 ORDER_SERVICE_URLS=http://127.0.0.1:18081 \
		GATEWAY_RATE_LIMIT="${RL:-off}" GOMAXPROCS="${P:-2}" KAFKA_BROKERS=127.0.0.1:16999 "$1" >"$WORK/$2.log" 2>&1 &
	PIDS+=($!)
	for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$2/healthz" >/dev/null && return; sleep 0.05; done
	echo "$1 did not start" >&2
	exit 1
}
start "$OLD" 18085
GO=${PIDS[-1]}
start "$NEW" 18086
GN=${PIDS[-1]}

measure() { # URL PID...: CPU-s per 100k requests
	local url=$1 t0 t1 n
	shift
	curl -fs -o /dev/null "$url"
	curl -fs -o /dev/null "$url"
	t0=$(cpu_ticks "$@")
	n=$(wrk -t2 -c"${CONNS:-32}" -d"${DUR:-5s}" "$url" | awk '/requests in/{print $1}')
	t1=$(cpu_ticks "$@")
	awk -v d=$((t1 - t0)) -v tck="$TCK" -v n="$n" 'BEGIN{printf "%.2f", d/tck*100000/n}'
}
nginx=$(nginx_pids)
echo "$ROUTE, wrk -t2 -c${CONNS:-32} -d${DUR:-5s}, GOMAXPROCS=${P:-2}, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| round | nginx | old | new | old/nginx | new/nginx |"
echo "|---|---|---|---|---|---|"
for i in $(seq 1 "$ROUNDS"); do
	if ((i % 2)); then
		o=$(measure "http://127.0.0.1:18085$ROUTE" "$GO")
		n=$(measure "http://127.0.0.1:18086$ROUTE" "$GN")
		x=$(measure "http://127.0.0.1:18082$ROUTE" $nginx)
	else
		x=$(measure "http://127.0.0.1:18082$ROUTE" $nginx)
		n=$(measure "http://127.0.0.1:18086$ROUTE" "$GN")
		o=$(measure "http://127.0.0.1:18085$ROUTE" "$GO")
	fi
	awk -v i="$i" -v x="$x" -v o="$o" -v n="$n" 'BEGIN{printf "| %d | %.2f | %.2f | %.2f | %.2f | %.2f |\n", i, x, o, n, o/x, n/x}'
done

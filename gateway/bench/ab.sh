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
WORK=$(mktemp -d /tmp/gwab.XXXXXX)
TCK=$(getconf CLK_TCK)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	[ -f "$WORK/proxy/logs/nginx.pid" ] && kill "$(cat "$WORK/proxy/logs/nginx.pid")" 2>/dev/null || true
	[ -f "$WORK/backend/logs/nginx.pid" ] && kill "$(cat "$WORK/backend/logs/nginx.pid")" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT

mkdir -p "$WORK/backend/logs" "$WORK/backend/html" "$WORK/proxy/logs" "$WORK/proxy/cache"
{
	printf '{"items":['
	for i in $(seq 1 20); do printf '{"id":"p%02d","sku":"SKU-%02d","name":"Product %02d","price":19.99,"currency":"USD","category":"demo"},' "$i" "$i" "$i"; done
	printf '{}],"total":21,"page":1,"limit":20}'
} >"$WORK/backend/html/data.json"
nginx -p "$WORK/backend/" -c "$HERE/nginx-backend.conf"
nginx -p "$WORK/proxy/" -c "$HERE/nginx-proxy.conf"
redis-server --port 16398 --bind 127.0.0.1 --save "" --appendonly no >"$WORK/redis.log" 2>&1 &
PIDS+=($!)

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
	local url=$1 t0=0 t1=0 p f
	shift
	curl -fs -o /dev/null "$url"
	curl -fs -o /dev/null "$url"
	for p in "$@"; do read -r -a f <"/proc/$p/stat"; t0=$((t0 + f[13] + f[14])); done
	local n
	n=$(wrk -t2 -c"${CONNS:-32}" -d"${DUR:-5s}" "$url" | awk '/requests in/{print $1}')
	for p in "$@"; do read -r -a f <"/proc/$p/stat"; t1=$((t1 + f[13] + f[14])); done
	awk -v d=$((t1 - t0)) -v tck="$TCK" -v n="$n" 'BEGIN{printf "%.2f", d/tck*100000/n}'
}
master=$(cat "$WORK/proxy/logs/nginx.pid")
workers=$(pgrep -P "$master" -f 'worker process' | tr '\n' ' ')
echo "$ROUTE, wrk -t2 -c${CONNS:-32} -d${DUR:-5s}, GOMAXPROCS=${P:-2}, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| round | nginx | old | new | old/nginx | new/nginx |"
echo "|---|---|---|---|---|---|"
for i in $(seq 1 "$ROUNDS"); do
	if ((i % 2)); then
		o=$(measure "http://127.0.0.1:18085$ROUTE" "$GO")
		n=$(measure "http://127.0.0.1:18086$ROUTE" "$GN")
		x=$(measure "http://127.0.0.1:18082$ROUTE" "$master" $workers)
	else
		x=$(measure "http://127.0.0.1:18082$ROUTE" "$master" $workers)
		n=$(measure "http://127.0.0.1:18086$ROUTE" "$GN")
		o=$(measure "http://127.0.0.1:18085$ROUTE" "$GO")
	fi
	awk -v i="$i" -v x="$x" -v o="$o" -v n="$n" 'BEGIN{printf "| %d | %.2f | %.2f | %.2f | %.2f | %.2f |\n", i, x, o, n, o/x, n/x}'
done

#!/usr/bin/env bash
# compare.sh runs the gateway and nginx side by side as the same proxy in front of the same backend
# (nginx serving a 2 KiB JSON document), on loopback with wrk, and prints a Markdown table:
# throughput, p99 latency, and CPU seconds of the proxy process(es) per 100k requests (user+sys from
# /proc, steadier than req/s on a shared machine). Two reference rows show the floor of a Go server:
# net/http answering from memory with a HIT's headers, and a bare httputil.ReverseProxy
# (devstack/cmd/floorproxy).
#
#   gateway/bench/compare.sh [duration]        # default 10s per run; needs nginx, wrk, redis-server
#
# Env: CONNS (32), THREADS (2), REDIS_PORT (16393, a private redis-server started here), GOGC (unset:
# the gateway's own default, 400), TRANSPORT (direct or std: GATEWAY_UPSTREAM_TRANSPORT) and ONLY (a
# regexp: run only the matching rows). The gateway's Kafka is a closed port (16999): the consumer
# retries in the background, as in production with Kafka down.
set -euo pipefail
DUR=${1:-10s}
CONNS=${CONNS:-32}
THREADS=${THREADS:-2}
REDIS_PORT=${REDIS_PORT:-16393}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
bench_start "$REDIS_PORT" compare.sh

(cd "$ROOT" && go build -o "$WORK/gateway-bin" ./gateway/)
start_gateway() { # $1 = L1 TTL, $2 = rate limit, $3 = GOMAXPROCS (default 2)
	env -i PATH="$PATH" HTTP_ADDR=127.0.0.1:18083 LOG_LEVEL=warn REDIS_URL="redis://127.0.0.1:$REDIS_PORT/2" \
		PRODUCT_SERVICE_URLS=http://127.0.0.1:18081 ORDER_SERVICE_URLS=http://127.0.0.1:18081 \
		GATEWAY_CACHE_L1_TTL="$1" GATEWAY_RATE_LIMIT="$2" GOMAXPROCS="${3:-2}" ${GOGC:+GOGC=$GOGC} \
		KAFKA_BROKERS=127.0.0.1:16999 GATEWAY_UPSTREAM_TRANSPORT="${TRANSPORT:-direct}" \
		"$WORK/gateway-bin" >"$WORK/gateway.log" 2>&1 &
	GW=$!
	for _ in $(seq 1 100); do curl -fs http://127.0.0.1:18083/healthz >/dev/null && return; sleep 0.05; done
	echo "gateway did not start:" >&2; cat "$WORK/gateway.log" >&2; exit 1
}
stop_gateway() { kill "$GW"; wait "$GW" 2>/dev/null || true; }

# run NAME URL PID... : warm up, then wrk for DUR, print a table row.
run() {
	local name=$1 url=$2
	shift 2
	[[ -n "${ONLY:-}" && ! "$name" =~ $ONLY ]] && return 0
	curl -fs -o /dev/null "$url"
	curl -fs -o /dev/null "$url"
	local status
	status=$(curl -fsI "$url" | tr -d '\r' | awk -F': ' 'tolower($1)=="x-cache-status"{print $2}')
	local t0 t1 out reqs rps p99
	t0=$(cpu_ticks "$@")
	out=$(wrk --latency -t"$THREADS" -c"$CONNS" -d"$DUR" "$url")
	t1=$(cpu_ticks "$@")
	reqs=$(echo "$out" | awk '/requests in/{print $1}')
	rps=$(echo "$out" | awk '/Requests\/sec/{print $2}')
	p99=$(echo "$out" | awk '$1=="99%"{print $2}')
	local cpu
	cpu=$(awk -v d=$((t1 - t0)) -v tck="$TCK" -v n="$reqs" 'BEGIN{printf "%.2f", d/tck*100000/n}')
	printf '| %-44s | %-6s | %9s | %7s | %6s |\n' "$name" "${status:--}" "$rps" "$p99" "$cpu"
}

echo "wrk -t$THREADS -c$CONNS -d$DUR, $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| proxy, route                                 | cache  |    req/s  |   p99   | CPU-s/100k |"
echo "|----------------------------------------------|--------|-----------|---------|------------|"
run "nginx proxy_cache HIT (/product/products)" http://127.0.0.1:18082/product/products $(nginx_pids)
run "nginx pass-through (/order/orders)" http://127.0.0.1:18082/order/orders $(nginx_pids)
# The floor: what net/http and httputil.ReverseProxy cost with none of the gateway's work
# (devstack/cmd/floorproxy, with the gateway's GOGC), so the rows below show what is the gateway's own.
(cd "$ROOT/devstack" && go build -o "$WORK/floor-bin" ./cmd/floorproxy)
GOGC="${GOGC:-400}" GOMAXPROCS=2 "$WORK/floor-bin" -addr 127.0.0.1:18084 -upstream http://127.0.0.1:18081 -body "$WORK/backend/html/data.json" >"$WORK/floor.log" 2>&1 &
FLOOR=$!
PIDS+=("$FLOOR")
for _ in $(seq 1 100); do curl -fs http://127.0.0.1:18084/healthz >/dev/null && break; sleep 0.05; done
run "Go floor: net/http from memory, HIT headers" http://127.0.0.1:18084/hit "$FLOOR"
run "Go floor: bare httputil.ReverseProxy" http://127.0.0.1:18084/pass/order/orders "$FLOOR"
kill "$FLOOR"
start_gateway 2s off
run "gateway HIT, in-process layer, no rate limit" http://127.0.0.1:18083/product/products "$GW"
run "gateway pass-through, no rate limit" http://127.0.0.1:18083/order/orders "$GW"
stop_gateway
start_gateway 0s off
run "gateway HIT from Redis (layer off), no limit" http://127.0.0.1:18083/product/products "$GW"
stop_gateway
start_gateway 2s 1000000/s:1000000
run "gateway HIT, in-process layer, Redis limit" http://127.0.0.1:18083/product/products "$GW"
run "gateway pass-through, Redis rate limit" http://127.0.0.1:18083/order/orders "$GW"
stop_gateway
# One P, like one nginx worker: no hand-offs between threads and no idle threads spinning for work,
# which on this shared 2-core machine is much of a Go server's CPU per request when it is not busy.
start_gateway 2s off 1
run "gateway HIT, GOMAXPROCS=1, no rate limit" http://127.0.0.1:18083/product/products "$GW"
run "gateway pass-through, GOMAXPROCS=1, no limit" http://127.0.0.1:18083/order/orders "$GW"
stop_gateway

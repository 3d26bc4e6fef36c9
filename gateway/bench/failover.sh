#!/usr/bin/env bash
# failover.sh: the gateway in front of two real backend processes (nginx) under wrk load; one backend
# is killed with SIGKILL mid-run and restarted a few seconds later. Prints the failed requests, how
# the load was split before, during and after, and whether the restarted backend rejoined.
#
#   gateway/bench/failover.sh            # needs nginx, wrk, curl; ~15 s
#
# The breaker's open time is 3 s here (GATEWAY_BREAKER_TIMEOUT) so the rejoin fits in the run; the
# default is 30 s. Requests are GETs on a pass-through route, so connect failures are retried on the
# other instance; failures that remain are requests in flight on the killed backend.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
WORK=$(mktemp -d /tmp/gwfail.XXXXXX)
GW=""
cleanup() {
	[ -n "$GW" ] && kill "$GW" 2>/dev/null || true
	for b in a b; do [ -f "$WORK/$b/logs/nginx.pid" ] && kill "$(cat "$WORK/$b/logs/nginx.pid")" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT
for bin in nginx wrk curl; do command -v "$bin" >/dev/null || { echo "failover.sh: $bin not found" >&2; exit 1; }; done

backend() { # $1 name, $2 port: start an nginx backend that logs every request
	mkdir -p "$WORK/$1/logs" "$WORK/$1/html"
	echo '{"items":[],"total":0}' >"$WORK/$1/html/data.json"
	sed -e "s/127.0.0.1:18081/127.0.0.1:$2/" -e "s|access_log off;|access_log logs/access.log;|" \
		"$HERE/nginx-backend.conf" >"$WORK/$1/nginx.conf"
	nginx -p "$WORK/$1/" -c "$WORK/$1/nginx.conf"
}
count() { [ -f "$WORK/$1/logs/access.log" ] && grep -vc healthz "$WORK/$1/logs/access.log" || echo 0; }

backend a 18181
backend b 18182
(cd "$ROOT" && go build -o "$WORK/gateway-bin" ./gateway/)
env -i PATH="$PATH" HTTP_ADDR=127.0.0.1:18183 LOG_LEVEL=warn REDIS_URL=redis://127.0.0.1:1/2 \
	ORDER_SERVICE_URLS=http://127.0.0.1:18181,http://127.0.0.1:18182 GATEWAY_RATE_LIMIT=off \
	GATEWAY_BREAKER_TIMEOUT=3s GATEWAY_HEALTH_INTERVAL=1s KAFKA_BROKERS=127.0.0.1:16999 \
	"$WORK/gateway-bin" >"$WORK/gateway.log" 2>&1 &
GW=$!
for _ in $(seq 1 100); do curl -fs http://127.0.0.1:18183/healthz >/dev/null && break; sleep 0.05; done

wrk -t2 -c16 -d14s http://127.0.0.1:18183/order/orders >"$WORK/wrk.txt" &
WRK=$!
sleep 4
a0=$(count a) b0=$(count b)
pids=$(cat "$WORK/b/logs/nginx.pid")
kill -9 $pids $(pgrep -P "$pids") 2>/dev/null || true
rm -f "$WORK/b/logs/nginx.pid"
echo "t=4s   killed backend b (SIGKILL); so far a=$a0 b=$b0"
sleep 4
a1=$(count a) b1=$(count b)
mv "$WORK/b/logs/access.log" "$WORK/b/logs/before.log"
nginx -p "$WORK/b/" -c "$WORK/b/nginx.conf"
echo "t=8s   restarted backend b; while it was down a got $((a1 - a0)), b got $((b1 - b0))"
wait "$WRK"
a2=$(count a) b2=$(count b)
echo "t=14s  after the restart a got $((a2 - a1)), b got $b2"
echo
grep -E "requests in|Socket errors|Requests/sec" "$WORK/wrk.txt" || true
echo "failed (non-2xx) responses: $(awk '/Non-2xx/{print $NF}' "$WORK/wrk.txt" | grep . || echo 0)"
[ "$b2" -gt 0 ] && echo "backend b rejoined: yes" || echo "backend b rejoined: NO"
grep '"upstream":"order"' "$WORK/gateway.log" | grep -oE '"time":"[^"]*"|"msg":"[^"]*"|"from":"[^"]*"|"to":"[^"]*"' | paste -sd' ' | sed 's/ "time"/\n"time"/g' || true

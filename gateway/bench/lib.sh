# lib.sh is what compare.sh and ab.sh share, sourced by both: a work directory removed on exit with
# every process started here, the backend (nginx serving a 2 KiB JSON document on :18081), nginx as
# the proxy under test (:18082), a private redis-server, and the CPU time of processes from /proc.

# bench_start PORT NAME: sets WORK, TCK, PIDS, starts Redis on PORT and both nginx; NAME is for messages.
bench_start() {
	local bin
	for bin in nginx wrk redis-server curl; do
		command -v "$bin" >/dev/null || { echo "$2: $bin not found (apt-get install -y nginx wrk redis-server curl)" >&2; exit 1; }
	done
	WORK=$(mktemp -d /tmp/gwbench.XXXXXX)
	TCK=$(getconf CLK_TCK)
	PIDS=()
	trap bench_cleanup EXIT
	mkdir -p "$WORK/backend/logs" "$WORK/backend/html" "$WORK/proxy/logs" "$WORK/proxy/cache"
	{
		printf '{"items":['
		for i in $(seq 1 20); do printf '{"id":"p%02d","sku":"SKU-%02d","name":"Product %02d","price":19.99,"currency":"USD","category":"demo"},' "$i" "$i" "$i"; done
		printf '{}],"total":21,"page":1,"limit":20}'
	} >"$WORK/backend/html/data.json"
	redis-server --port "$1" --bind 127.0.0.1 --save "" --appendonly no >"$WORK/redis.log" 2>&1 &
	PIDS+=($!)
	nginx -p "$WORK/backend/" -c "$HERE/nginx-backend.conf"
	nginx -p "$WORK/proxy/" -c "$HERE/nginx-proxy.conf"
}

bench_cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	[ -f "$WORK/proxy/logs/nginx.pid" ] && kill "$(cat "$WORK/proxy/logs/nginx.pid")" 2>/dev/null || true
	[ -f "$WORK/backend/logs/nginx.pid" ] && kill "$(cat "$WORK/backend/logs/nginx.pid")" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$WORK"
}

# cpu_ticks PID...: the sum of user+sys clock ticks of the processes.
cpu_ticks() {
	local t=0 p f
	for p in "$@"; do
		read -r -a f <"/proc/$p/stat"
		t=$((t + f[13] + f[14]))
	done
	echo "$t"
}

# nginx_pids: the proxy nginx's master and workers.
nginx_pids() {
	local m
	m=$(cat "$WORK/proxy/logs/nginx.pid")
	echo "$m" $(pgrep -P "$m" -f 'worker process')
}

#!/usr/bin/env bash
# Runs the root module's tests again with the real backends reachable, so every store contract test
# also runs against them: MONGO_TEST_URI → an embedded FerretDB (the Mongo wire protocol over SQLite,
# one command at a time so that updates are atomic; it is not MongoDB: no transactions, TTL or text
# indexes) and
# REDIS_TEST_URL → redis-server when installed. Point MONGO_TEST_URI at a real MongoDB to run them there.
set -euo pipefail
cd "$(dirname "$0")"
# CONTRACT_MONGO_PORT / CONTRACT_REDIS_PORT move the embedded backends, so two runs can share a machine.
mongo_port=${CONTRACT_MONGO_PORT:-27117}
redis_port=${CONTRACT_REDIS_PORT:-6479}
root=..
state=$root/.devstack
mkdir -p "$state"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

if [ -z "${MONGO_TEST_URI:-}" ]; then
  go build -o "$state/bin/ferretdb" ./cmd/ferretdb
  "$state/bin/ferretdb" -addr 127.0.0.1:$mongo_port > "$state/ferretdb.out" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do grep -q '^ready' "$state/ferretdb.out" 2>/dev/null && break; sleep 0.1; done
  grep -q '^ready' "$state/ferretdb.out" || { echo "ferretdb did not start:"; cat "$state/ferretdb.out"; exit 1; }
  export MONGO_TEST_URI=mongodb://127.0.0.1:$mongo_port/
  # This FerretDB runs one command at a time (stack.StartFerret), so each update is atomic as on
  # MongoDB and the store tests that judge races run on it too (sharedtest.NonAtomic).
  export MONGO_TEST_SERIAL=1
fi
if [ -z "${REDIS_TEST_URL:-}" ] && command -v redis-server >/dev/null; then
  redis-server --bind 127.0.0.1 --port "$redis_port" --save "" --appendonly no > "$state/redis-contract.out" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$redis_port) 2>/dev/null && break; sleep 0.1; done
  export REDIS_TEST_URL=redis://127.0.0.1:$redis_port/15
fi
echo "contract tests: MONGO_TEST_URI=$MONGO_TEST_URI REDIS_TEST_URL=${REDIS_TEST_URL:-unset}"
cd "$root" && go test -race -count=1 -timeout 20m ./...

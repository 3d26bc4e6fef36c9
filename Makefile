# The two commands that matter: `make run` (the whole platform on this machine) and `make test`.
SHELL    := /bin/bash
GO       ?= go
PROGRAMS := auth user product inventory order gateway realtime storefront
# Flags for the launcher, e.g. make run ARGS="-mongo=ferret" or ARGS="-mongo=mongodb://127.0.0.1:27017".
ARGS     ?=

.PHONY: run test bench bench-ab bench-rate build vet test-unit test-devstack test-contract test-integration test-replicas test-faults clean

## run: build everything and run the platform (Ctrl-C stops it)
run:
	cd devstack && $(GO) build -o ../.devstack/devstack ./cmd/devstack
	./.devstack/devstack -root . $(ARGS)

## test: vet, unit tests with -race, the tooling module's tests, then the integration and fault tests
test: vet test-unit test-devstack test-contract test-integration test-replicas test-faults

vet:
	$(GO) vet ./...
	cd devstack && $(GO) vet ./...

test-unit:
	$(GO) test -race -count=1 -timeout 20m ./...

test-devstack:
	cd devstack && $(GO) test -race -count=1 -timeout 10m $$($(GO) list ./... | grep -v -e /integration -e /faults)

## test-contract: the unit tests again with MONGO_TEST_URI (embedded FerretDB) and REDIS_TEST_URL (redis-server)
test-contract:
	./devstack/contract-tests.sh

## test-integration: the eight programs built and run against kfake, Redis and FerretDB
test-integration:
	cd devstack && $(GO) test -count=1 -timeout 20m -v ./integration/ 2>&1 | tee ../.devstack/integration.log | grep -E '^(=== RUN|--- |PASS|FAIL|ok|panic|integration:)|_test.go'; exit $${PIPESTATUS[0]}

## test-replicas: the integration suite again with two copies of auth, user, product, inventory, order
## and realtime behind the gateway, on embedded FerretDB (docs/operations.md § Many copies)
test-replicas:
	mkdir -p .devstack && cd devstack && INTEGRATION_REPLICAS=2 $(GO) test -count=1 -timeout 25m -v ./integration/ 2>&1 | tee ../.devstack/integration-replicas.log | grep -E '^(=== RUN|--- |PASS|FAIL|ok|panic|integration:)|_test.go'; exit $${PIPESTATUS[0]}

## test-faults: kill -9, broker freeze, Redis loss and a hung instance under checkout load, with the
## invariants checked (ports +20000, FAULTS_PORT_OFFSET moves them; under 5 minutes)
test-faults:
	mkdir -p .devstack && cd devstack && $(GO) test -count=1 -timeout 10m -v ./faults/ 2>&1 | tee ../.devstack/faults.log | grep -E '^(=== RUN|--- |PASS|FAIL|ok|panic|faults:)|_test.go'; exit $${PIPESTATUS[0]}

## bench: the checkout regression guard (#19): the platform on ports +4600, checkout -c 8 for 10 s,
## orders/s, saga p50/p99 and CPU per order beside docs/performance.md's baseline. Not part of test.
bench:
	./devstack/bench.sh

## bench-ab: make bench's run for this tree and REV, alternating, PAIRS times (default 3), with each
## build's medians: for a change smaller than the drift between two runs. make bench-ab REV=main
bench-ab:
	./devstack/bench-ab.sh $(REV) $(or $(PAIRS),3)

## bench-rate: the highest open-loop checkout rate whose median saga p99 stays <= 25 ms (#19), from
## 100/s up in steps of 50, three 10 s runs a rate (BENCH_RATE_* in devstack/bench-rate.sh)
bench-rate:
	./devstack/bench-rate.sh

## build: static binaries in bin/
build:
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/ $(addprefix ./,$(PROGRAMS))

clean:
	rm -rf bin .devstack

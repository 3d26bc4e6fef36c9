package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goshop/platform/shared"
	"github.com/goshop/platform/shared/sharedtest"
)

func testEvent(tb testing.TB, typ, aggregateID string, data any) shared.Event {
	tb.Helper()
	e, err := shared.NewEvent(typ, aggregateID, data)
	if err != nil {
		tb.Fatal(err)
	}
	return e
}

// TestEventsPurgeProduct: a product event purges that product (by ID and SKU, any query string) and
// every catalog list, and nothing else; a product created after its 404 was cached is served at once.
func TestEventsPurgeProduct(t *testing.T) {
	t.Parallel()
	up := newUpstream(t, "product")
	var version atomicString
	version.Store("v1")
	up.handle(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/products/new" && version.Load() == "v1" {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		io.WriteString(w, version.Load()+" "+r.URL.RequestURI())
	})
	e := newTestEnv(t, map[string]string{"PRODUCT_SERVICE_URLS": up.server.URL})
	targets := []string{"/product/products?page=2", "/product/products", "/product/products/p1", "/product/products/p1?x=1",
		"/product/products/sku/SKU-1", "/product/products/p10", "/product/products/p2", "/product/products/new"}
	e.warm(t, targets...)
	version.Store("v2")
	ctx := t.Context()
	for _, ev := range []shared.Event{
		testEvent(t, "product.updated", "p1", map[string]any{"product_id": "p1", "sku": "SKU-1", "name": "x", "price_cents": 100}),
		testEvent(t, "product.created", "new", map[string]any{"product_id": "new", "sku": "SKU-NEW", "stock": 3}),
	} {
		if err := e.gw.events.handle(ctx, ev); err != nil {
			t.Fatalf("handle %s: %v", ev.Type, err)
		}
	}
	want := map[string]string{
		"/product/products?page=2":    cacheMiss,
		"/product/products":           cacheMiss,
		"/product/products/p1":        cacheMiss,
		"/product/products/p1?x=1":    cacheMiss,
		"/product/products/sku/SKU-1": cacheMiss,
		"/product/products/new":       cacheMiss,
		"/product/products/p10":       cacheHit, // shares a prefix with p1, not the path
		"/product/products/p2":        cacheHit,
	}
	for target, status := range want {
		rec := e.do(t, "GET", target, nil)
		if cacheStatus(rec) != status {
			t.Errorf("GET %s after the events: X-Cache-Status = %q, want %q", target, cacheStatus(rec), status)
		}
		if status == cacheMiss && (rec.Code != http.StatusOK || !strings.HasPrefix(rec.Body.String(), "v2 ")) {
			t.Errorf("GET %s after the events: %d %q, want 200 v2", target, rec.Code, rec.Body)
		}
	}
}

// TestEventsPurgeInventory: inventory.updated purges the SKU's item, the list and batches; events
// that concern no cached answer purge nothing.
func TestEventsPurgeInventory(t *testing.T) {
	t.Parallel()
	up := newUpstream(t, "inventory")
	e := newTestEnv(t, map[string]string{"INVENTORY_SERVICE_URLS": up.server.URL})
	targets := []string{"/inventory/inventory/SKU-1", "/inventory/inventory/SKU-2", "/inventory/inventory", "/inventory/inventory/batch?skus=SKU-1,SKU-2"}
	for _, target := range targets {
		e.do(t, "GET", target, nil)
	}
	ctx := t.Context()
	if err := e.gw.events.handle(ctx, testEvent(t, "inventory.reserved", "o1", map[string]any{"order_id": "o1"})); err != nil {
		t.Fatal(err)
	}
	for _, target := range targets {
		if rec := e.do(t, "GET", target, nil); cacheStatus(rec) != cacheHit {
			t.Errorf("GET %s after inventory.reserved: X-Cache-Status = %q, want HIT", target, cacheStatus(rec))
		}
	}
	if err := e.gw.events.handle(ctx, testEvent(t, "inventory.updated", "SKU-1", map[string]any{"sku": "SKU-1", "available": 4})); err != nil {
		t.Fatal(err)
	}
	want := []string{cacheMiss, cacheHit, cacheMiss, cacheMiss}
	for i, target := range targets {
		if rec := e.do(t, "GET", target, nil); cacheStatus(rec) != want[i] {
			t.Errorf("GET %s after inventory.updated SKU-1: X-Cache-Status = %q, want %q", target, cacheStatus(rec), want[i])
		}
	}
}

// TestEventsDuringFill: under checkout load inventory.updated events keep coming while stock is
// read; a fill under way is stored unless an event names its SKU (or the list or batch).
func TestEventsDuringFill(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name    string
		sameSKU bool
		stored  bool
	}{
		{"another SKU updated", false, true},
		{"its SKU updated", true, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			up := newUpstream(t, "inventory")
			arrived, release := blockFirstFill(up)
			e := newTestEnv(t, map[string]string{"INVENTORY_SERVICE_URLS": up.server.URL})
			// SKUs whose paths share no purge stripe with the event's other paths, so the outcome
			// does not depend on the hash seed.
			path := pathOffStripes(t, e.gw.cache, "inventory", "/inventory/SKU-%d", "/inventory", "/inventory/batch")
			sku := strings.TrimPrefix(path, "/inventory/")
			if !tt.sameSKU {
				sku = strings.TrimPrefix(pathOffStripes(t, e.gw.cache, "inventory", "/inventory/SKU-%d", path), "/inventory/")
			}
			target := "/inventory" + path
			done := make(chan *httptest.ResponseRecorder)
			go func() { done <- e.do(t, "GET", target, nil) }()
			<-arrived
			if err := e.gw.events.handle(t.Context(), testEvent(t, "inventory.updated", sku, map[string]any{"sku": sku, "available": 4})); err != nil {
				t.Fatal(err)
			}
			close(release)
			rec := <-done
			wantFirst, wantNext := cacheBypass, cacheMiss
			if tt.stored {
				wantFirst, wantNext = cacheMiss, cacheHit
			}
			if cacheStatus(rec) != wantFirst {
				t.Errorf("GET %s during inventory.updated %s: X-Cache-Status = %q, want %q", target, sku, cacheStatus(rec), wantFirst)
			}
			if rec := e.do(t, "GET", target, nil); cacheStatus(rec) != wantNext {
				t.Errorf("GET %s again: X-Cache-Status = %q, want %q", target, cacheStatus(rec), wantNext)
			}
		})
	}
}

// TestEventsAcrossInstances: two gateways on one Redis each consume the event; neither serves the
// purged product from its in-process layer afterwards.
func TestEventsAcrossInstances(t *testing.T) {
	t.Parallel()
	up, version := newVersionedUpstream(t)
	a := newTestEnv(t, map[string]string{"PRODUCT_SERVICE_URLS": up.server.URL})
	b := newTestEnv(t, map[string]string{"PRODUCT_SERVICE_URLS": up.server.URL})
	b.gw.cache.kv = a.gw.cache.kv // one Redis
	for _, e := range []*testEnv{a, b, a, b} {
		e.do(t, "GET", "/product/products/p1", nil) // fills Redis, then each in-process layer
	}
	version.Store("v2")
	ev := testEvent(t, "product.deleted", "p1", map[string]any{"product_id": "p1", "sku": "SKU-1"})
	for _, e := range []*testEnv{a, b} {
		if err := e.gw.events.handle(t.Context(), ev); err != nil {
			t.Fatal(err)
		}
	}
	for name, e := range map[string]*testEnv{"a": a, "b": b} {
		if rec := e.do(t, "GET", "/product/products/p1", nil); rec.Body.String() != "v2" {
			t.Errorf("gateway %s after product.deleted: %s %q, want v2", name, cacheStatus(rec), rec.Body)
		}
	}
}

// TestEventsHandleErrors: malformed events are poison (dropped), old ones skipped, and a Redis
// failure is returned so shared.Consume retries the event.
func TestEventsHandleErrors(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil)
	ctx := t.Context()
	for _, ev := range []shared.Event{
		{ID: "1", Type: "product.updated", Data: json.RawMessage(`{"sku":"S"}`)},
		{ID: "2", Type: "product.created", Data: json.RawMessage(`[1]`)},
		{ID: "3", Type: "inventory.updated", Data: json.RawMessage(`{"available":1}`)},
	} {
		if err := e.gw.events.handle(ctx, ev); !errors.Is(err, shared.ErrPoison) {
			t.Errorf("handle %s %s: err = %v, want ErrPoison", ev.Type, ev.Data, err)
		}
	}
	old := testEvent(t, "product.updated", "p1", map[string]any{"product_id": "p1"})
	old.OccurredAt = time.Now().Add(-2 * maxEventAge)
	e.kv.SetErr(errors.New("connection refused"))
	if err := e.gw.events.handle(ctx, old); err != nil {
		t.Errorf("handle an event older than %s: err = %v, want nil (skipped, Redis not asked)", maxEventAge, err)
	}
	fresh := testEvent(t, "product.updated", "p1", map[string]any{"product_id": "p1"})
	if err := e.gw.events.handle(ctx, fresh); err == nil || errors.Is(err, shared.ErrPoison) {
		t.Errorf("handle with Redis down: err = %v, want a retryable error", err)
	}
	e.kv.SetErr(nil)
	if err := e.gw.events.handle(context.WithoutCancel(ctx), fresh); err != nil {
		t.Errorf("handle again with Redis back: %v", err)
	}
}

// TestConsumedTypes: the consumer's Types are exactly the events of its topics the gateway acts on
// (purges by the cache table, the deny list).
func TestConsumedTypes(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil)
	routes := e.gw.events.routes
	sharedtest.CheckConsumerTypes(t, consumedTopics(routes), consumedTypes(routes), sharedtest.Undecodable,
		sharedtest.RefusesUndecodable(func(ctx context.Context, ev shared.Event) error { return e.gw.handleEvents(ctx, []shared.Event{ev}) }))
}

// TestHealthDetailedKafka: /health/detailed shows Kafka and is degraded while it is down.
func TestHealthDetailedKafka(t *testing.T) {
	t.Parallel()
	up := newUpstream(t, "u")
	e := newTestEnv(t, withEveryService(nil, up.server.URL))
	var kafkaErr error
	e.gw.kafkaPing = func(context.Context) error { return kafkaErr }
	if rec := e.do(t, "GET", "/health/detailed", nil); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"kafka":{"status":"up"}`) {
		t.Errorf("GET /health/detailed with Kafka up: %d %s, want 200 and kafka up", rec.Code, rec.Body)
	}
	kafkaErr = errors.New("kafka: no broker reachable")
	clock := time.Now()
	e.gw.health.now = func() time.Time { return clock.Add(time.Second) } // the last check is a second old
	if rec := e.do(t, "GET", "/health/detailed", nil); rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), `"kafka":{"status":"down"`) {
		t.Errorf("GET /health/detailed with Kafka down: %d %s, want 503 and kafka down", rec.Code, rec.Body)
	}
	if rec := e.do(t, "GET", "/product/products", nil); rec.Code != http.StatusOK {
		t.Errorf("GET /product/products with Kafka down: status = %d, want 200", rec.Code)
	}
}

// recordingPurger records purgePaths calls, failing them while err is set.
type recordingPurger struct {
	calls [][]string // service, then paths
	err   error
}

func (r *recordingPurger) purgePaths(_ context.Context, service string, paths ...string) error {
	if r.err != nil {
		return r.err
	}
	r.calls = append(r.calls, append([]string{service}, paths...))
	return nil
}

// TestEventsBatch: a batch purges each path once however many of its events name it, in one call
// per service; a poison event fails the batch before anything is purged (shared.ConsumeBatches then
// hands the events over one by one); a Redis failure fails it, to be retried.
func TestEventsBatch(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil)
	rec := &recordingPurger{}
	p := newEventPurger(rec, e.gw.events.routes, slog.New(slog.DiscardHandler), shared.NewMetrics("gateway"))
	stock := func(sku string) shared.Event {
		return testEvent(t, "inventory.updated", sku, map[string]any{"sku": sku, "available": 4})
	}
	batch := []shared.Event{stock("SKU-1"), stock("SKU-2"), stock("SKU-1"), stock("SKU-1"),
		testEvent(t, "inventory.reserved", "o1", map[string]any{"order_id": "o1"})}
	if err := p.handle(t.Context(), batch...); err != nil {
		t.Fatal(err)
	}
	var one [][]string
	for _, ev := range batch[:2] {
		single := &recordingPurger{}
		sp := newEventPurger(single, e.gw.events.routes, slog.New(slog.DiscardHandler), shared.NewMetrics("gateway"))
		if err := sp.handle(t.Context(), ev); err != nil {
			t.Fatal(err)
		}
		one = append(one, single.calls...)
	}
	want := map[string]bool{}
	for _, c := range one {
		for _, path := range c[1:] {
			want[c[0]+" "+path] = true
		}
	}
	got := map[string]int{}
	for _, c := range rec.calls {
		for _, path := range c[1:] {
			got[c[0]+" "+path]++
		}
	}
	if len(rec.calls) != 1 || len(got) != len(want) || len(want) < 2 {
		t.Errorf("batch purged %v in %d calls; want one call purging %v", got, len(rec.calls), want)
	}
	for k, n := range got {
		if !want[k] || n != 1 {
			t.Errorf("batch purged %s %d times, want once (and only what its events name)", k, n)
		}
	}

	rec.calls = nil
	poison := shared.Event{ID: "p", Type: "inventory.updated", Data: json.RawMessage(`{"available":1}`)}
	if err := p.handle(t.Context(), stock("SKU-3"), poison); !errors.Is(err, shared.ErrPoison) || len(rec.calls) != 0 {
		t.Errorf("batch with a poison event: err = %v, %d purges; want ErrPoison before any purge", err, len(rec.calls))
	}
	rec.err = errors.New("connection refused")
	if err := p.handle(t.Context(), stock("SKU-3"), stock("SKU-4")); err == nil || errors.Is(err, shared.ErrPoison) {
		t.Errorf("batch with Redis down: err = %v, want a retryable error", err)
	}
}

// TestHealthDetailedChecksBounded: /health/detailed is public and never rate limited (monitors poll
// it), so its Redis and Kafka checks run at most once a second whatever the request rate: each Kafka
// check is a new TCP connection to a broker, and 2 000 anonymous requests left 2 000 of them in
// TIME_WAIT.
func TestHealthDetailedChecksBounded(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil)
	var pings atomic.Int64
	e.gw.kafkaPing = func(context.Context) error { pings.Add(1); return nil }
	for range 20 {
		e.do(t, "GET", "/health/detailed", nil)
	}
	if n := pings.Load(); n != 1 {
		t.Errorf("Kafka checks for 20 requests of /health/detailed = %d, want 1", n)
	}
	later := time.Now().Add(time.Second)
	e.gw.health.now = func() time.Time { return later }
	e.do(t, "GET", "/health/detailed", nil)
	e.do(t, "GET", "/health/detailed", nil)
	if n := pings.Load(); n != 2 {
		t.Errorf("Kafka checks after a second more = %d, want 2", n)
	}
}

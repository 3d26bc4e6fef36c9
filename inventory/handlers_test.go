package main

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/goshop/platform/shared"
	"github.com/goshop/platform/shared/sharedtest"
)

type testServer struct {
	h     http.Handler
	s     *memStore
	inv   *inventory
	admin string
	cust  string
	iss   *sharedtest.Issuer
}

func newTestServer(t testing.TB) *testServer {
	t.Helper()
	iss := sharedtest.NewIssuer(t)
	s := newMemStore()
	inv := newTestInventory(s)
	metrics := shared.NewMetrics("inventory")
	h := NewServer(slog.New(slog.NewTextHandler(io.Discard, nil)), inv, metrics, shared.NewReadiness(), iss.Verifier())
	for _, sku := range []string{"MUG-1", "MUG-2", "TEE-1"} {
		mustCreate(t, s, sku, 10)
	}
	if st, err := inv.Reserve(t.Context(), orderData{OrderID: "o-1", UserID: "u-demo", Items: []orderLine{{"MUG-2", 1}}}); err != nil || st != stateHeld {
		t.Fatalf("Reserve = %s, %v", st, err)
	}
	return &testServer{h: h, s: s, inv: inv, admin: iss.Bearer(t, sharedtest.Admin), cust: iss.Bearer(t, sharedtest.Customer), iss: iss}
}

// do sends the request with auth and header (name, value pairs; a value may be empty) and decodes
// the JSON answer.
func (ts *testServer) do(t *testing.T, method, path, auth string, body io.Reader, header ...string) (*http.Response, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(method, path, body)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	ts.h.ServeHTTP(rec, req)
	var out map[string]any
	json.Unmarshal(rec.Body.Bytes(), &out)
	return rec.Result(), out
}

func TestHandlers(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	// updated counts the inventory.updated events of sku written so far.
	updated := func(t *testing.T, sku string) int {
		n := 0
		for _, e := range outboxOf(t, ts.s, evUpdated) {
			if e.AggregateID == sku {
				n++
			}
		}
		return n
	}
	var keyedEvents int // MUG-1's inventory.updated events after its keyed adjustment
	tests := []struct {
		name, method, path, auth, body string
		key                            []string // Idempotency-Key header values sent
		status                         int
		replayed                       bool // Idempotent-Replayed: true expected
		check                          func(t *testing.T, body map[string]any)
		cacheControl                   string // "": the default below
	}{
		{name: "list", method: "GET", path: "/inventory?limit=2", status: 200, check: func(t *testing.T, b map[string]any) {
			if b["total"] != 3.0 || len(b["items"].([]any)) != 2 || b["limit"] != 2.0 || b["page"] != 1.0 {
				t.Errorf("list body = %v", b)
			}
		}},
		{name: "list page 2", method: "GET", path: "/inventory?limit=2&page=2", status: 200, check: func(t *testing.T, b map[string]any) {
			if items := b["items"].([]any); len(items) != 1 || items[0].(map[string]any)["sku"] != "TEE-1" {
				t.Errorf("page 2 = %v", b)
			}
		}},
		{name: "get normalises sku", method: "GET", path: "/inventory/mug-1", status: 200, check: func(t *testing.T, b map[string]any) {
			for _, k := range []string{"sku", "on_hand", "reserved", "available", "low_stock_threshold", "updated_at"} {
				if _, ok := b[k]; !ok {
					t.Errorf("stock item lacks %q: %v", k, b)
				}
			}
			if b["sku"] != "MUG-1" || b["available"] != 10.0 {
				t.Errorf("item = %v", b)
			}
		}, cacheControl: "no-store"}, // the gateway purges /inventory/MUG-1 only: another spelling is not shared
		{name: "get canonical sku", method: "GET", path: "/inventory/MUG-1", status: 200},
		{name: "get unknown", method: "GET", path: "/inventory/NOPE", status: 404},
		{name: "batch", method: "GET", path: "/inventory/batch?skus=tee-1,MUG-1,NOPE", status: 200, check: func(t *testing.T, b map[string]any) {
			if b["total"] != 2.0 {
				t.Errorf("batch = %v", b)
			}
		}},
		{name: "adjust", method: "POST", path: "/inventory/MUG-1/adjust", auth: "admin", body: `{"delta":5,"reason":"restock"}`, status: 200, check: func(t *testing.T, b map[string]any) {
			if b["on_hand"] != 15.0 {
				t.Errorf("adjusted = %v", b)
			}
		}},
		{name: "adjust with a key", method: "POST", path: "/inventory/MUG-1/adjust", auth: "admin", body: `{"delta":2,"reason":"restock"}`, key: []string{"adj-1"}, status: 200, check: func(t *testing.T, b map[string]any) {
			if b["on_hand"] != 17.0 {
				t.Errorf("adjusted = %v, want on_hand 17", b)
			}
			keyedEvents = updated(t, "MUG-1")
		}},
		{name: "adjust with a key, repeated", method: "POST", path: "/inventory/mug-1/adjust", auth: "admin", body: `{ "reason": "restock ", "delta": 2 }`, key: []string{"adj-1"}, status: 200, replayed: true, check: func(t *testing.T, b map[string]any) {
			if b["on_hand"] != 17.0 || b["sku"] != "MUG-1" {
				t.Errorf("replayed = %v, want MUG-1 with on_hand 17 (applied once)", b)
			}
			if n := updated(t, "MUG-1"); n != keyedEvents {
				t.Errorf("the repeat wrote %d inventory.updated events, want none", n-keyedEvents)
			}
		}},
		{name: "adjust with a key, another delta", method: "POST", path: "/inventory/MUG-1/adjust", auth: "admin", body: `{"delta":3,"reason":"restock"}`, key: []string{"adj-1"}, status: 409, check: wantCode(shared.CodeConflict)},
		{name: "adjust with a key, another reason", method: "POST", path: "/inventory/MUG-1/adjust", auth: "admin", body: `{"delta":2,"reason":"found"}`, key: []string{"adj-1"}, status: 409, check: wantCode(shared.CodeConflict)},
		{name: "adjust with a key, another SKU", method: "POST", path: "/inventory/MUG-2/adjust", auth: "admin", body: `{"delta":2,"reason":"restock"}`, key: []string{"adj-1"}, status: 409, check: wantCode(shared.CodeConflict)},
		{name: "adjust with a key, customer", method: "POST", path: "/inventory/MUG-1/adjust", auth: "customer", body: `{"delta":2,"reason":"restock"}`, key: []string{"adj-1"}, status: 403},
		{name: "adjust with a key, unknown SKU", method: "POST", path: "/inventory/NOPE/adjust", auth: "admin", body: `{"delta":1,"reason":"x"}`, key: []string{"adj-2"}, status: 404},
		{name: "adjust with a key, below reserved", method: "POST", path: "/inventory/MUG-2/adjust", auth: "admin", body: `{"delta":-20,"reason":"count"}`, key: []string{"adj-3"}, status: 409},
		{name: "adjust with the key a 404 left free", method: "POST", path: "/inventory/MUG-2/adjust", auth: "admin", body: `{"delta":-1,"reason":"x"}`, key: []string{"adj-2"}, status: 200, check: func(t *testing.T, b map[string]any) {
			if b["on_hand"] != 9.0 {
				t.Errorf("adjusted = %v, want on_hand 9", b)
			}
		}},
		{name: "adjust with the key a 409 left free", method: "POST", path: "/inventory/MUG-2/adjust", auth: "admin", body: `{"delta":-1,"reason":"count"}`, key: []string{"adj-3"}, status: 200, check: func(t *testing.T, b map[string]any) {
			if b["on_hand"] != 8.0 {
				t.Errorf("adjusted = %v, want on_hand 8", b)
			}
		}},
		{name: "adjusted once", method: "GET", path: "/inventory/MUG-1", status: 200, check: func(t *testing.T, b map[string]any) {
			if b["on_hand"] != 17.0 {
				t.Errorf("MUG-1 = %v, want on_hand 17", b)
			}
		}},
		{name: "adjust below reserved", method: "POST", path: "/inventory/MUG-2/adjust", auth: "admin", body: `{"delta":-10,"reason":"count"}`, status: 409},
		{name: "adjust unknown", method: "POST", path: "/inventory/NOPE/adjust", auth: "admin", body: `{"delta":1,"reason":"x"}`, status: 404},
		{name: "adjust anonymous", method: "POST", path: "/inventory/MUG-1/adjust", body: `{"delta":1,"reason":"x"}`, status: 401},
		{name: "adjust customer", method: "POST", path: "/inventory/MUG-1/adjust", auth: "customer", body: `{"delta":1,"reason":"x"}`, status: 403},
		{name: "movements", method: "GET", path: "/inventory/TEE-1/movements", auth: "admin", status: 200, check: func(t *testing.T, b map[string]any) {
			if ms := b["movements"].([]any); len(ms) != 1 {
				t.Errorf("movements = %v", b)
			}
		}},
		{name: "movements customer", method: "GET", path: "/inventory/TEE-1/movements", auth: "customer", status: 403},
		{name: "reservation", method: "GET", path: "/reservations/o-1", auth: "admin", status: 200, check: func(t *testing.T, b map[string]any) {
			if b["state"] != "held" || b["expires_at"] == nil || len(b["items"].([]any)) != 1 {
				t.Errorf("reservation = %v", b)
			}
		}},
		{name: "reservation unknown", method: "GET", path: "/reservations/o-404", auth: "admin", status: 404},
		{name: "reservation bad id", method: "GET", path: "/reservations/a.b", auth: "admin", status: 400},
		{name: "reservation customer", method: "GET", path: "/reservations/o-1", auth: "customer", status: 403},
		{name: "healthz", method: "GET", path: "/healthz", status: 200},
		{name: "readyz", method: "GET", path: "/readyz", status: 200},
		{name: "metrics", method: "GET", path: "/metrics", status: 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			auth := map[string]string{"admin": ts.admin, "customer": ts.cust}[tc.auth]
			var body io.Reader
			if tc.body != "" {
				body = strings.NewReader(tc.body)
			}
			var header []string
			for _, k := range tc.key {
				header = append(header, "Idempotency-Key", k)
			}
			resp, out := ts.do(t, tc.method, tc.path, auth, body, header...)
			if resp.StatusCode != tc.status {
				t.Fatalf("%s %s: status = %d, want %d (%v)", tc.method, tc.path, resp.StatusCode, tc.status, out)
			}
			if got := resp.Header.Get("Idempotent-Replayed"); got != map[bool]string{true: "true"}[tc.replayed] {
				t.Errorf("%s %s: Idempotent-Replayed = %q, want it only on a replay", tc.method, tc.path, got)
			}
			if resp.Header.Get("X-Request-ID") == "" {
				t.Errorf("%s %s: no X-Request-ID", tc.method, tc.path)
			}
			if tc.status >= 400 {
				if e, ok := out["error"].(map[string]any); !ok || e["code"] == "" {
					t.Errorf("%s %s: body %v is not the error shape", tc.method, tc.path, out)
				}
			}
			if tc.check != nil {
				tc.check(t, out)
			}
			// Public stock reads may be shared by the gateway (it purges them on inventory.updated);
			// every other read, errors and admin reads included, must never be stored.
			want := "no-store"
			if tc.method == "GET" && tc.status == 200 && strings.HasPrefix(tc.path, "/inventory") && !strings.HasSuffix(tc.path, "/movements") {
				want = publicStockCacheControl
			}
			if tc.cacheControl != "" {
				want = tc.cacheControl
			}
			if cc := resp.Header.Get("Cache-Control"); tc.method == "GET" && (strings.HasPrefix(tc.path, "/inventory") || strings.HasPrefix(tc.path, "/reservations")) {
				if cc != want {
					t.Errorf("%s %s: Cache-Control = %q, want %q", tc.method, tc.path, cc, want)
				}
			}
		})
	}
}

// TestBadInput sends what a hostile or broken client might: every answer is a 400 in the error
// shape, never a 500, and nothing changes.
func TestBadInput(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	huge := `{"delta":1,"reason":"` + strings.Repeat("x", 10<<20) + `"}`
	tests := []struct {
		name, method, path, body, field string
	}{
		{"unknown field", "POST", "/inventory/MUG-1/adjust", `{"delta":1,"reason":"x","on_hand":999}`, "on_hand"},
		{"operator as delta", "POST", "/inventory/MUG-1/adjust", `{"delta":{"$gt":""},"reason":"x"}`, "delta"},
		{"operator as reason", "POST", "/inventory/MUG-1/adjust", `{"delta":1,"reason":{"$gt":""}}`, "reason"},
		{"zero delta", "POST", "/inventory/MUG-1/adjust", `{"delta":0,"reason":"x"}`, "delta"},
		{"absurd delta", "POST", "/inventory/MUG-1/adjust", `{"delta":1000000000000,"reason":"x"}`, "delta"},
		{"absurd negative delta", "POST", "/inventory/MUG-1/adjust", `{"delta":-5000000,"reason":"x"}`, "delta"},
		{"delta overflows int64", "POST", "/inventory/MUG-1/adjust", `{"delta":1e30,"reason":"x"}`, "delta"},
		{"fractional delta", "POST", "/inventory/MUG-1/adjust", `{"delta":1.5,"reason":"x"}`, "delta"},
		{"delta as string", "POST", "/inventory/MUG-1/adjust", `{"delta":"5","reason":"x"}`, "delta"},
		{"missing reason", "POST", "/inventory/MUG-1/adjust", `{"delta":1}`, "reason"},
		{"long reason", "POST", "/inventory/MUG-1/adjust", `{"delta":1,"reason":"` + strings.Repeat("y", 201) + `"}`, "reason"},
		{"reason with a bidi override", "POST", "/inventory/MUG-1/adjust", `{"delta":1,"reason":"restock \u202egnp.exe"}`, "reason"},
		{"reason with control characters", "POST", "/inventory/MUG-1/adjust", `{"delta":1,"reason":"restock\u0007\nagain"}`, "reason"},
		{"trailing data", "POST", "/inventory/MUG-1/adjust", `{"delta":1,"reason":"x"}{}`, ""},
		{"not json", "POST", "/inventory/MUG-1/adjust", `delta=1`, ""},
		{"empty body", "POST", "/inventory/MUG-1/adjust", ``, ""},
		{"array body", "POST", "/inventory/MUG-1/adjust", `[1,2]`, ""},
		{"bad sku in path", "POST", "/inventory/$gt/adjust", `{"delta":1,"reason":"x"}`, "sku"},
		{"bad sku get", "GET", "/inventory/a%24ne", "", "sku"},
		{"long sku", "GET", "/inventory/" + strings.Repeat("A", 65), "", "sku"},
		{"long s folds to S", "GET", "/inventory/MUG-1%C5%BF", "", "sku"},               // "MUG-1ſ" would read MUG-1S
		{"dotless i folds to I", "GET", "/inventory/batch?skus=k%C4%B1t-1", "", "skus"}, // "kıt-1" would read KIT-1
		{"limit 0", "GET", "/inventory?limit=0", "", "limit"},
		{"limit huge", "GET", "/inventory?limit=100000", "", "limit"},
		{"page negative", "GET", "/inventory?page=-1", "", "page"},
		{"page not a number", "GET", "/inventory?page=abc", "", "page"},
		{"batch empty", "GET", "/inventory/batch?skus=", "", "skus"},
		{"batch operator", "GET", "/inventory/batch?skus=" + `{"$gt":""}`, "", "skus"},
		{"batch too many", "GET", "/inventory/batch?skus=" + strings.Repeat("A,", maxBatchSKUs) + "A", "", "skus"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var body io.Reader
			if tc.method == "POST" {
				body = strings.NewReader(tc.body)
			}
			path := strings.ReplaceAll(tc.path, `{"$gt":""}`, `%7B%22%24gt%22%3A%22%22%7D`)
			resp, out := ts.do(t, tc.method, path, ts.admin, body)
			if resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("%s %s: status = %d, want %d (%v)", tc.method, tc.name, resp.StatusCode, http.StatusBadRequest, out)
			}
			e, _ := out["error"].(map[string]any)
			if e["code"] != "invalid" {
				t.Errorf("%s: error = %v, want code invalid", tc.name, out)
			}
			if tc.field != "" {
				if fields, _ := e["fields"].(map[string]any); fields[tc.field] == nil {
					t.Errorf("%s: fields = %v, want a message for %q", tc.name, e["fields"], tc.field)
				}
			}
		})
	}
	// The Idempotency-Key header is optional; when sent it must be one key of 1 to 255 visible ASCII.
	for name, header := range map[string][]string{
		"empty":        {"Idempotency-Key", ""},
		"256 long":     {"Idempotency-Key", strings.Repeat("k", 256)},
		"with a space": {"Idempotency-Key", "a b"},
		"not ASCII":    {"Idempotency-Key", "clé"},
		"a tab":        {"Idempotency-Key", "a\tb"},
		"two of them":  {"Idempotency-Key", "a", "Idempotency-Key", "b"},
	} {
		resp, out := ts.do(t, "POST", "/inventory/MUG-1/adjust", ts.admin, strings.NewReader(`{"delta":1,"reason":"x"}`), header...)
		e, _ := out["error"].(map[string]any)
		if fields, _ := e["fields"].(map[string]any); resp.StatusCode != http.StatusBadRequest || e["code"] != "invalid" || fields["Idempotency-Key"] == nil {
			t.Errorf("POST adjust with an Idempotency-Key %s: status = %d, want 400 invalid naming Idempotency-Key (%v)", name, resp.StatusCode, out)
		}
	}
	resp, out := ts.do(t, "POST", "/inventory/MUG-1/adjust", ts.admin, strings.NewReader(huge))
	if e, _ := out["error"].(map[string]any); resp.StatusCode != http.StatusRequestEntityTooLarge || e["code"] != shared.CodeTooLarge {
		t.Errorf("POST 10 MB body: status = %d, want 413 too_large (%v)", resp.StatusCode, out)
	}
	checkItem(t, ts.s, "MUG-1", 10, 0)
}

// FuzzOrderEvent feeds arbitrary data to the order consumer: it never panics, never returns a
// plain error for data it cannot use (ErrPoison or nil), and stock stays consistent.
func FuzzOrderEvent(f *testing.F) {
	f.Add("order.created", `{"order_id":"o1","user_id":"u","items":[{"sku":"A","quantity":3}]}`)
	f.Add("order.created", `{"order_id":"o1","items":[{"sku":"A","quantity":-3},{"sku":"A","quantity":9223372036854775807}]}`)
	f.Add("order.created", `{"order_id":{"$gt":""},"items":[]}`)
	f.Add("order.paid", `{"order_id":"o1"}`)
	f.Add("order.cancelled", `{"order_id":"holds.x"}`)
	f.Add("order.created", `{"order_id":"o2","items":[{"sku":"a.b","quantity":1}]}`)
	f.Fuzz(func(t *testing.T, typ, data string) {
		s := newMemStore()
		inv := newTestInventory(s)
		mustCreate(t, s, "A", 10)
		e := shared.Event{ID: "e1", Type: typ, Data: json.RawMessage(data)}
		for range 2 {
			if err := inv.handleOrderEvent(t.Context(), e); err != nil && !isPoison(err) {
				t.Fatalf("handleOrderEvent(%s, %s) = %v, want nil or ErrPoison", typ, data, err)
			}
		}
		it, _ := s.Get(t.Context(), "A")
		if it.Available < 0 || it.Reserved < 0 || it.OnHand != 10 {
			t.Fatalf("item after %s %s = %+v", typ, data, it)
		}
	})
}

// FuzzNormalizeSKU checks that whatever normalizeSKU accepts is safe as a Mongo field name and
// stable.
func FuzzNormalizeSKU(f *testing.F) {
	for _, s := range []string{"mug-1", " A.B_C ", "$gt", "a.b", "", strings.Repeat("x", 70), "ß", "ſ", "kıt"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := normalizeSKU(in)
		if err != nil {
			return
		}
		if strings.ContainsAny(out, "$ \x00/") || out == "" || len(out) > 64 {
			t.Fatalf("normalizeSKU(%q) = %q", in, out)
		}
		if !strings.EqualFold(out, strings.TrimSpace(in)) || len(out) != len(strings.TrimSpace(in)) {
			t.Fatalf("normalizeSKU(%q) = %q: not the input in upper case", in, out)
		}
		if again, err := normalizeSKU(out); err != nil || again != out {
			t.Fatalf("normalizeSKU not idempotent: %q -> %q -> %q, %v", in, out, again, err)
		}
	})
}

func isPoison(err error) bool { return errors.Is(err, shared.ErrPoison) }

// wantCode checks that an error answer carries code.
func wantCode(code string) func(t *testing.T, b map[string]any) {
	return func(t *testing.T, b map[string]any) {
		t.Helper()
		if e, _ := b["error"].(map[string]any); e["code"] != code {
			t.Errorf("error = %v, want code %s", b, code)
		}
	}
}

package main

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"testing"

	"github.com/goshop/platform/shared"
	"github.com/goshop/platform/shared/sharedtest"
)

// productEventActive is a product event of sku whose data says active; withActive false leaves the
// field out, as an older producer did.
func productEventActive(t *testing.T, typ, sku string, active, withActive bool) shared.Event {
	t.Helper()
	data := map[string]any{"product_id": "p-" + sku, "sku": sku, "name": "x", "price_cents": 100, "currency": "USD", "category": "c"}
	if typ == "product.created" {
		data["stock"] = 4
	}
	if withActive {
		data["active"] = active
	}
	e, err := shared.NewEvent(typ, "p-"+sku, data)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// versioned returns e with "version": v in its data, as product writes it.
func versioned(e shared.Event, v int64) shared.Event {
	var data map[string]any
	if err := json.Unmarshal(e.Data, &data); err != nil {
		panic(err)
	}
	data["version"] = v
	e.Data, _ = json.Marshal(data)
	return e
}

// TestProductActiveFlag: product.created and product.updated carry the product's active flag to its
// stock item, and a change (only a change) is followed by inventory.updated, on which the gateway
// purges the item's cached public reads.
func TestProductActiveFlag(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newMemStore()
	inv := newTestInventory(s)
	inactive := func(sku string) bool {
		t.Helper()
		it, err := s.Get(ctx, sku)
		if err != nil {
			t.Fatalf("Get(%s): %v", sku, err)
		}
		return it.Inactive
	}
	updates := func() int { return len(outboxOf(t, s, evUpdated)) }

	mustHandle(t, inv.handleEvent, productEventActive(t, "product.created", "DRAFT-1", false, true))
	mustHandle(t, inv.handleEvent, productEventActive(t, "product.created", "OLD-1", false, false))
	if !inactive("DRAFT-1") || inactive("OLD-1") {
		t.Fatalf("after product.created: DRAFT-1 inactive %v (want true), OLD-1 (no active field) inactive %v (want false)",
			inactive("DRAFT-1"), inactive("OLD-1"))
	}
	before := updates()
	steps := []struct {
		name          string
		e             shared.Event
		wantInactive  bool
		wantNewUpdate bool
	}{
		{"released", productEventActive(t, "product.updated", "DRAFT-1", true, true), false, true},
		{"released again (replay)", productEventActive(t, "product.updated", "DRAFT-1", true, true), false, false},
		{"switched off", productEventActive(t, "product.updated", "DRAFT-1", false, true), true, true},
		{"update without the field", productEventActive(t, "product.updated", "DRAFT-1", false, false), false, true},
		{"version 5: switched off", versioned(productEventActive(t, "product.updated", "DRAFT-1", false, true), 5), true, true},
		{"version 4 published again after 5", versioned(productEventActive(t, "product.updated", "DRAFT-1", true, true), 4), true, false},
		{"version 6: released", versioned(productEventActive(t, "product.updated", "DRAFT-1", true, true), 6), false, true},
	}
	for _, st := range steps {
		mustHandle(t, inv.handleEvent, st.e)
		if got := inactive("DRAFT-1"); got != st.wantInactive {
			t.Errorf("%s: inactive = %v, want %v", st.name, got, st.wantInactive)
		}
		n := updates()
		if (n > before) != st.wantNewUpdate {
			t.Errorf("%s: inventory.updated events %d → %d, want a new one: %v", st.name, before, n, st.wantNewUpdate)
		}
		before = n
	}
	// A product whose item inventory never made (created before inventory ran) is not an error.
	mustHandle(t, inv.handleEvent, productEventActive(t, "product.updated", "NEVER-1", true, true))
	if _, err := s.Get(ctx, "NEVER-1"); err == nil {
		t.Error("product.updated of an unknown SKU created a stock item")
	}
}

// TestReadVisibility: the public stock reads never show an inactive product's item or a deleted
// one's; include_inactive=true shows inactive ones (not deleted ones) to a first-party admin only,
// never in a shareable answer.
func TestReadVisibility(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t) // MUG-1, MUG-2, TEE-1, all active
	ctx := context.Background()
	mustHandle(t, ts.inv.handleEvent, productEventActive(t, "product.created", "DRAFT-1", false, true))
	mustHandle(t, ts.inv.handleEvent, productEventActive(t, "product.created", "GONE-1", true, true))
	mustHandle(t, ts.inv.handleEvent, productEvent(t, "product.deleted", "GONE-1", 0))
	if it, err := ts.s.Get(ctx, "GONE-1"); err != nil || !it.Deleted {
		t.Fatalf("GONE-1 = %+v, %v; want deleted", it, err)
	}
	adminApp := ts.iss.Bearer(t, shared.Identity{UserID: sharedtest.Admin.UserID, Email: sharedtest.Admin.Email,
		Role: shared.RoleAdmin, ClientID: "third-party", Scope: "orders:read"})
	auths := map[string]string{"admin": ts.admin, "customer": ts.cust, "admin app": adminApp}
	public := []string{"MUG-1", "MUG-2", "TEE-1"}
	withDraft := []string{"DRAFT-1", "MUG-1", "MUG-2", "TEE-1"}

	tests := []struct {
		name, path, auth string
		status           int
		skus             []string // the items listed (list, batch) or the one read
		cacheControl     string
	}{
		{"list anonymous", "/inventory", "", 200, public, publicStockCacheControl},
		{"list customer", "/inventory", "customer", 200, public, publicStockCacheControl},
		{"list admin without the flag", "/inventory", "admin", 200, public, publicStockCacheControl},
		{"list admin include_inactive", "/inventory?include_inactive=true", "admin", 200, withDraft, privateStockCacheControl},
		{"list admin include_inactive=false", "/inventory?include_inactive=false", "admin", 200, public, publicStockCacheControl},
		{"list sku prefix finds no draft", "/inventory?sku=DRAFT", "", 200, []string{}, publicStockCacheControl},
		{"list level out finds no deleted", "/inventory?level=out", "", 200, []string{}, publicStockCacheControl},
		{"list include_inactive anonymous", "/inventory?include_inactive=true", "", 401, nil, "no-store"},
		{"list include_inactive customer", "/inventory?include_inactive=true", "customer", 403, nil, "no-store"},
		{"list include_inactive admin's app", "/inventory?include_inactive=true", "admin app", 403, nil, "no-store"},
		{"list include_inactive=yes", "/inventory?include_inactive=yes", "admin", 400, nil, "no-store"},
		{"get draft anonymous", "/inventory/DRAFT-1", "", 404, nil, "no-store"},
		{"get draft customer", "/inventory/DRAFT-1", "customer", 404, nil, "no-store"},
		{"get draft admin without the flag", "/inventory/DRAFT-1", "admin", 404, nil, "no-store"},
		{"get draft admin include_inactive", "/inventory/DRAFT-1?include_inactive=true", "admin", 200, []string{"DRAFT-1"}, privateStockCacheControl},
		{"get draft include_inactive customer", "/inventory/DRAFT-1?include_inactive=true", "customer", 403, nil, "no-store"},
		{"get draft include_inactive admin's app", "/inventory/DRAFT-1?include_inactive=true", "admin app", 403, nil, "no-store"},
		{"get deleted anonymous", "/inventory/GONE-1", "", 404, nil, "no-store"},
		{"get deleted admin include_inactive", "/inventory/GONE-1?include_inactive=true", "admin", 404, nil, "no-store"},
		{"get include_inactive=1", "/inventory/MUG-1?include_inactive=1", "", 400, nil, "no-store"},
		{"batch anonymous", "/inventory/batch?skus=DRAFT-1,GONE-1,MUG-1", "", 200, []string{"MUG-1"}, publicStockCacheControl},
		{"batch admin include_inactive", "/inventory/batch?skus=DRAFT-1,GONE-1,MUG-1&include_inactive=true", "admin", 200, []string{"DRAFT-1", "MUG-1"}, privateStockCacheControl},
		{"batch include_inactive anonymous", "/inventory/batch?skus=DRAFT-1&include_inactive=true", "", 401, nil, "no-store"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, out := ts.do(t, http.MethodGet, tc.path, auths[tc.auth], nil)
			if resp.StatusCode != tc.status {
				t.Fatalf("GET %s: status = %d, want %d (%v)", tc.path, resp.StatusCode, tc.status, out)
			}
			if cc := resp.Header.Get("Cache-Control"); cc != tc.cacheControl {
				t.Errorf("GET %s: Cache-Control = %q, want %q", tc.path, cc, tc.cacheControl)
			}
			if tc.status != 200 {
				if e, ok := out["error"].(map[string]any); !ok || e["code"] == "" {
					t.Errorf("GET %s: body %v is not the error shape", tc.path, out)
				}
				return
			}
			var got []string
			if items, ok := out["items"].([]any); ok {
				got = []string{}
				for _, it := range items {
					got = append(got, it.(map[string]any)["sku"].(string))
				}
				if out["total"] != float64(len(tc.skus)) {
					t.Errorf("GET %s: total = %v, want %d", tc.path, out["total"], len(tc.skus))
				}
			} else {
				got = []string{out["sku"].(string)}
				if out["inactive"] != true {
					t.Errorf("GET %s: %v, want inactive true", tc.path, out)
				}
			}
			if !slices.Equal(got, tc.skus) {
				t.Errorf("GET %s: items %v, want %v", tc.path, got, tc.skus)
			}
		})
	}
}

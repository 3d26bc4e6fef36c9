package main

import (
	"testing"
)

// TestPublicReadsCarryNoSession: catalog and stock reads go without the session (so the gateway may
// cache them); the signed-in user's own data and the admin's include_inactive list carry it.
func TestPublicReadsCarryNoSession(t *testing.T) {
	t.Parallel()
	gw, srv := newSite(t)
	b := newBrowser(t, srv)
	b.signIn(fakeAdmin.Email, "admin-Passw0rd!")
	b.get("/")
	b.get("/products/p02")
	b.submit("/products/p02", "/cart/add", map[string][]string{"sku": {"SKU-02"}, "quantity": {"1"}})
	b.get("/cart")
	for _, prefix := range []string{"GET /product/", "GET /inventory/inventory/batch"} {
		for _, c := range gw.calls(prefix) {
			if c.Session != "" {
				t.Errorf("%s %s?%s carried the session", c.Method, c.Path, c.Query)
			}
		}
	}
	b.get("/admin/products")
	lists := gw.calls("GET /product/products")
	if last := lists[len(lists)-1]; last.Session == "" {
		t.Error("admin include_inactive list went without the session")
	}
	if orders := b.get("/orders"); orders.status != 200 {
		t.Fatalf("GET /orders: status = %d", orders.status)
	}
	if c := gw.calls("GET /order/orders"); len(c) == 0 || c[0].Session == "" {
		t.Error("GET /order/orders went without the session")
	}
}

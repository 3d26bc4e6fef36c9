package main

import (
	"net/url"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// TestSessionCacheExpiry: a session lookup is reused for sessionTTL and not a moment longer.
func TestSessionCacheExpiry(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		c := newSessionCache()
		c.put("s1", sessionInfo{User: apiUser{ID: "u1"}})
		if _, ok := c.get("s1"); !ok {
			t.Fatal("fresh entry missing")
		}
		time.Sleep(sessionTTL - time.Second)
		if _, ok := c.get("s1"); !ok {
			t.Fatal("entry gone before its TTL")
		}
		time.Sleep(time.Second)
		if _, ok := c.get("s1"); ok {
			t.Fatal("entry still served at its TTL")
		}
		c.put("s2", sessionInfo{})
		c.drop("s2")
		if _, ok := c.get("s2"); ok {
			t.Fatal("dropped entry still served")
		}
	})
}

func TestSessionCacheBounded(t *testing.T) {
	t.Parallel()
	c := newSessionCache()
	for i := range maxSessions + 10 {
		c.put(string(rune('a'+i%26))+url.QueryEscape(time.Duration(i).String()), sessionInfo{})
	}
	if n := len(c.entries); n > maxSessions {
		t.Errorf("cache holds %d entries, want at most %d", n, maxSessions)
	}
}

// TestSessionLookupCached: pages within sessionTTL ask auth once.
func TestSessionLookupCached(t *testing.T) {
	t.Parallel()
	gw, srv := newSite(t)
	b := newBrowser(t, srv)
	b.signIn(fakeCustomer.Email, "demo-Passw0rd!")
	for range 3 {
		b.get("/")
	}
	if n := len(gw.calls("GET /auth/session")); n != 1 {
		t.Errorf("GET /auth/session calls = %d, want 1 (cached)", n)
	}
	if p := b.get("/live/token"); p.status != 200 || !strings.Contains(p.body, `"token":"tok-sess-`) || p.resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("GET /live/token: status = %d body %s", p.status, p.body)
	}
	anon := newBrowser(t, srv)
	if p := anon.get("/live/token"); !strings.Contains(p.body, `"token":""`) {
		t.Errorf("GET /live/token signed out: %s", p.body)
	}
}

func TestCartCodec(t *testing.T) {
	t.Parallel()
	s := &site{cartSecret: []byte("k")}
	var c cart
	for i := range maxCartLines + 5 {
		c.add("SKU-"+string(rune('A'+i)), 200)
	}
	if len(c.Lines) != maxCartLines || c.Lines[0].Qty != maxQuantity {
		t.Fatalf("cart limits not applied: %d lines, qty %d", len(c.Lines), c.Lines[0].Qty)
	}
	back := s.decodeCart(s.encodeCart(c))
	if back.count() != c.count() {
		t.Errorf("round trip count = %d, want %d", back.count(), c.count())
	}
	other := &site{cartSecret: []byte("other")}
	if got := other.decodeCart(s.encodeCart(c)); len(got.Lines) != 0 {
		t.Error("cart signed with another key was accepted")
	}
}

// FuzzDecodeCart: no cookie value makes decodeCart panic or return lines beyond the limits.
func FuzzDecodeCart(f *testing.F) {
	s := &site{cartSecret: []byte("fuzz")}
	f.Add(s.encodeCart(cart{Lines: []cartLine{{SKU: "A", Qty: 2}}}))
	f.Add("x.y")
	f.Add("")
	f.Fuzz(func(t *testing.T, v string) {
		c := s.decodeCart(v)
		if len(c.Lines) > maxCartLines {
			t.Fatalf("%d lines", len(c.Lines))
		}
		for _, l := range c.Lines {
			if l.Qty < 1 || l.Qty > maxQuantity || !validSKU(l.SKU) {
				t.Fatalf("bad line %+v", l)
			}
		}
	})
}

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

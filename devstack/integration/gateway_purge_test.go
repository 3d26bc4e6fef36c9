package integration

import (
	"fmt"
	"testing"
	"time"
)

// TestGatewayPurgedByProductEvents: writes made on the product service directly, not through the
// gateway, reach the gateway's cache through product.events: a cached product shows its new name
// soon after an update (product answers max-age=30, so without the event the old name would stay
// for 30 s), and a SKU asked for before it existed, whose 404 the gateway cached (product sends
// public, max-age=10 on it), answers the product as soon as product.created purges that 404.
func TestGatewayPurgedByProductEvents(t *testing.T) {
	gw := newClient(t, platform.URL("gateway"))
	login := gw.login(adminEmail, adminPass)
	direct := newClient(t, platform.URL("product"))
	bearer := []string{"Authorization", "Bearer " + login.AccessToken}

	sku := fmt.Sprintf("PURGE-%d", time.Now().UnixNano())
	anon := newClient(t, platform.URL("gateway"))
	bySKU := "/product/products/sku/" + sku
	anon.must(404, "GET", bySKU, nil, nil)
	if resp := anon.must(404, "GET", bySKU, nil, nil); resp.Header.Get("X-Cache-Status") != "HIT" {
		t.Fatalf("GET %s twice before the product exists: X-Cache-Status = %q, want HIT (a cached 404)", bySKU, resp.Header.Get("X-Cache-Status"))
	}

	type product struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	var p product
	body := map[string]any{"sku": sku, "name": "Purge Lamp", "description": "cached, then changed behind the gateway",
		"price": 9.99, "currency": "USD", "category": "home-kitchen", "stock": 1}
	created := time.Now()
	direct.must(201, "POST", "/products", body, &p, bearer...)
	// Within 3 s, well before the cached 404's 10 s: the purge did it, not the expiry.
	eventually(t, 3*time.Second, "GET "+bySKU+" answers the created product", func() bool {
		var got product
		return anon.do("GET", bySKU, nil, &got).StatusCode == 200 && got.ID == p.ID
	})
	t.Logf("created product replaced the cached 404 %s after the direct POST", time.Since(created).Round(time.Millisecond))

	byID := "/product/products/" + p.ID
	anon.must(200, "GET", byID, nil, nil)
	if resp := anon.must(200, "GET", byID, nil, nil); resp.Header.Get("X-Cache-Status") != "HIT" {
		t.Fatalf("GET %s twice: X-Cache-Status = %q, want HIT (nothing to purge otherwise)", byID, resp.Header.Get("X-Cache-Status"))
	}
	body["name"] = "Purge Lamp v2"
	delete(body, "stock")
	start := time.Now()
	direct.must(200, "PUT", "/products/"+p.ID, body, nil, bearer...)
	eventually(t, 2*time.Second, "GET "+byID+" shows the new name", func() bool {
		var got product
		return anon.do("GET", byID, nil, &got).StatusCode == 200 && got.Name == "Purge Lamp v2"
	})
	t.Logf("update visible through the gateway %s after the direct PUT", time.Since(start).Round(time.Millisecond))
}

package integration

import (
	"io"
	"reflect"
	"strings"
	"testing"
)

// TestCompatOriginalAPI: what the original platform's clients ask for, through the real gateway.
// The root /.well-known documents are auth's (same keys, same cache headers as /auth/...), and the
// product list takes search= as q= and refuses both at once.
func TestCompatOriginalAPI(t *testing.T) {
	gw := newClient(t, platform.URL("gateway"))
	for _, path := range []string{"/.well-known/jwks.json", "/.well-known/openid-configuration"} {
		var atRoot, viaAuth map[string]any
		root := gw.must(200, "GET", path, nil, &atRoot)
		auth := gw.must(200, "GET", "/auth"+path, nil, &viaAuth)
		if len(atRoot) == 0 || !reflect.DeepEqual(atRoot, viaAuth) {
			t.Errorf("GET %s = %v, want auth's %v", path, atRoot, viaAuth)
		}
		if got, want := root.Header.Get("Cache-Control"), auth.Header.Get("Cache-Control"); got == "" || got != want {
			t.Errorf("GET %s: Cache-Control %q, want auth's %q", path, got, want)
		}
	}
	var bySearch, byQ struct {
		Total int `json:"total"`
		Items []struct {
			SKU string `json:"sku"`
		} `json:"items"`
	}
	gw.must(200, "GET", "/product/products?search=headphones", nil, &bySearch)
	gw.must(200, "GET", "/product/products?q=headphones", nil, &byQ)
	if bySearch.Total == 0 || bySearch.Total != byQ.Total {
		t.Errorf("search=headphones found %d, q=headphones %d: want the same, more than 0", bySearch.Total, byQ.Total)
	}
	resp := gw.must(400, "GET", "/product/products?q=a&search=b", nil, nil)
	body, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(body), `"search"`) {
		t.Errorf("q and search together: body %s, want a field error for search", body)
	}
}

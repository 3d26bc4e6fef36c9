package main

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// editProduct changes the fixture product with ID id.
func (g *fakeGateway) editProduct(id string, edit func(*product)) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for i := range g.products {
		if g.products[i].ID == id {
			edit(&g.products[i])
		}
	}
}

// relatedCards are the product IDs of the cards in the page's related section, in order.
func relatedCards(body string) []string {
	_, section, ok := strings.Cut(body, `<section class="related"`)
	if !ok {
		return nil
	}
	var ids []string
	for _, m := range regexp.MustCompile(`<h3><a href="/products/([^"]+)">`).FindAllStringSubmatch(section, -1) {
		ids = append(ids, m[1])
	}
	return ids
}

// TestProductPage: the gallery (every image reachable by links, no script), the stock line and the
// quantity cap, and the related products, with the APIs behind them answering or failing. Fixture
// categories: garden p01 p05 p09 p13, kitchen p02 p06 p10 p14; available = number - 1, so p01 is
// sold out and p02-p04 are low (threshold 3).
func TestProductPage(t *testing.T) {
	t.Parallel()
	imgs := []string{"https://img.test/a.jpg", "https://img.test/b.jpg", "/static/c.svg"}
	tests := []struct {
		name    string
		setup   func(g *fakeGateway)
		path    string
		want    []string
		not     []string
		related []string // nil: not checked (the rows with no section say so in not)
	}{
		{name: "several images", path: "/products/p05",
			setup: func(g *fakeGateway) { g.editProduct("p05", func(p *product) { p.Images = imgs }) },
			want: []string{`<ul class="thumbs" aria-label="Images of Product 05">`,
				`<img src="https://img.test/a.jpg" alt="Product 05, image 1 of 3" data-fallback>`,
				// A thumbnail that fails to load is hidden (data-fallback), leaving its numbered
				// placeholder; the link keeps its name either way.
				`<a href="/products/p05?img=1#gallery" aria-label="Show image 1 of 3" aria-current="true"><span class="placeholder" aria-hidden="true">1</span><img src="https://img.test/a.jpg" alt="" loading="lazy" width="72" height="72" data-fallback>`,
				`<a href="/products/p05?img=2#gallery" aria-label="Show image 2 of 3"><span class="placeholder" aria-hidden="true">2</span><img src="https://img.test/b.jpg" alt=""`,
				`<a href="/products/p05?img=3#gallery" aria-label="Show image 3 of 3"><span class="placeholder" aria-hidden="true">3</span><img src="/static/c.svg" alt=""`},
			related: []string{"p09", "p13"}},
		{name: "second image chosen", path: "/products/p05?img=2",
			setup: func(g *fakeGateway) { g.editProduct("p05", func(p *product) { p.Images = imgs }) },
			want: []string{`<img src="https://img.test/b.jpg" alt="Product 05, image 2 of 3" data-fallback>`,
				`<a href="/products/p05?img=2#gallery" aria-label="Show image 2 of 3" aria-current="true">`},
			not: []string{`<a href="/products/p05?img=1#gallery" aria-label="Show image 1 of 3" aria-current`}},
		{name: "image out of range shows the first", path: "/products/p05?img=9",
			setup: func(g *fakeGateway) { g.editProduct("p05", func(p *product) { p.Images = imgs }) },
			want:  []string{`alt="Product 05, image 1 of 3"`, `<a href="/products/p05?img=1#gallery" aria-label="Show image 1 of 3" aria-current="true">`}},
		{name: "malformed image number shows the first", path: "/products/p05?img=%3Cscript%3E&img=2",
			setup: func(g *fakeGateway) { g.editProduct("p05", func(p *product) { p.Images = imgs }) },
			want:  []string{`alt="Product 05, image 1 of 3"`}, not: []string{"<script>"}},
		{name: "unsafe image URLs are skipped", path: "/products/p05",
			setup: func(g *fakeGateway) {
				g.editProduct("p05", func(p *product) {
					p.Images = []string{"javascript:alert(1)", "//evil.test/x.png", "http://plain.test/x.png", "https://img.test/ok.jpg"}
				})
			},
			want: []string{`<img src="https://img.test/ok.jpg" alt="Product 05" data-fallback>`},
			not:  []string{"javascript:", "evil.test", "plain.test", `class="thumbs"`}},
		{name: "no images", path: "/products/p05",
			want: []string{`<span class="placeholder big" aria-hidden="true">P</span>`},
			not:  []string{`class="thumbs"`, `alt="Product 05`}},
		{name: "low stock", path: "/products/p03",
			want: []string{"Only 2 left", `max="2"`, `aria-describedby="qty-hint"`, "you can add up to 2"}},
		{name: "low by the API's threshold", path: "/products/p06",
			setup: func(g *fakeGateway) {
				g.mu.Lock()
				g.stock["SKU-06"] = stockItem{SKU: "SKU-06", OnHand: 8, Available: 8, LowStockThreshold: 10}
				g.mu.Unlock()
			},
			want: []string{"Only 8 left", `max="8"`}},
		{name: "plenty is capped at the per-line maximum", path: "/products/p06",
			setup: func(g *fakeGateway) { g.setStock("SKU-06", 500) },
			want:  []string{"In stock", `max="99"`}, not: []string{"qty-hint", "you can add"}},
		{name: "out of stock", path: "/products/p01",
			want: []string{"Out of stock", "sold out for now"}, not: []string{`name="quantity"`},
			related: []string{"p05", "p09", "p13"}},
		{name: "related capped at four, newest first", path: "/products/p06",
			setup: func(g *fakeGateway) {
				g.mu.Lock()
				defer g.mu.Unlock()
				for i := 20; i < 26; i++ {
					p := product{ID: fmt.Sprintf("p%d", i), SKU: fmt.Sprintf("SKU-%d", i), Name: fmt.Sprintf("Product %d", i),
						Price: "1.00", Currency: "USD", Category: "kitchen", Active: true, CreatedAt: time.Date(2026, 2, i, 0, 0, 0, 0, time.UTC)}
					g.products = append([]product{p}, g.products...)
					g.stock[p.SKU] = stockItem{SKU: p.SKU, Available: 5, LowStockThreshold: 3}
				}
			},
			related: []string{"p25", "p24", "p23", "p22"}},
		{name: "sold-out and inactive ones left out", path: "/products/p05",
			setup: func(g *fakeGateway) {
				g.setStock("SKU-09", 0)
				g.editProduct("p13", func(p *product) { p.Active = false })
			},
			not: []string{`<section class="related"`}},
		{name: "none in the category", path: "/products/p05",
			setup: func(g *fakeGateway) { g.editProduct("p05", func(p *product) { p.Category = "solo" }) },
			not:   []string{`<section class="related"`, "More in"}},
		{name: "product list refusing", path: "/products/p05",
			setup: func(g *fakeGateway) { g.editProduct("p05", func(p *product) { p.Category = "bad slug!" }) },
			want:  []string{"Product 05", `name="quantity"`}, not: []string{`<section class="related"`}},
		{name: "product list down", path: "/products/p05",
			setup: func(g *fakeGateway) { g.failWith("GET /product/products?", http.StatusServiceUnavailable) },
			want:  []string{"Product 05", "In stock"}, not: []string{`<section class="related"`}},
		{name: "inventory down", path: "/products/p05",
			setup: func(g *fakeGateway) { g.failWith("GET /inventory/inventory/batch", http.StatusServiceUnavailable) },
			want:  []string{"Product 05", `name="quantity"`, `max="99"`}, not: []string{`<section class="related"`, "In stock"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			gw, srv := newSite(t)
			if tt.setup != nil {
				tt.setup(gw)
			}
			p := newBrowser(t, srv).get(tt.path)
			if p.status != http.StatusOK {
				t.Fatalf("GET %s: status = %d, want 200\n%s", tt.path, p.status, p.body)
			}
			for _, w := range tt.want {
				if !strings.Contains(p.body, w) {
					t.Errorf("GET %s: body lacks %q", tt.path, w)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(p.body, n) {
					t.Errorf("GET %s: body has %q", tt.path, n)
				}
			}
			if got := relatedCards(p.body); tt.related != nil && strings.Join(got, ",") != strings.Join(tt.related, ",") {
				t.Errorf("GET %s: related = %v, want %v", tt.path, got, tt.related)
			}
		})
	}
}

// TestCategoryNames: a category slug is shown as a name ("home-kitchen" → "Home kitchen") on the
// catalog's heading and title and on every product card, as the category links already do.
func TestCategoryNames(t *testing.T) {
	t.Parallel()
	gw, srv := newSite(t)
	gw.editProduct("p05", func(p *product) { p.Category = "home-kitchen" })
	b := newBrowser(t, srv)
	for _, path := range []string{"/products?category=home-kitchen", "/products?q=Product+05"} {
		p := b.get(path)
		if p.status != http.StatusOK || !strings.Contains(p.body, `<p class="muted small">Home kitchen</p>`) || strings.Contains(p.body, ">home-kitchen<") {
			t.Errorf("GET %s: status = %d, want the card's category as \"Home kitchen\"\n%s", path, p.status, p.body)
		}
	}
	if p := b.get("/products?category=home-kitchen"); !strings.Contains(p.body, `<h1 id="results-title">Home kitchen</h1>`) || !strings.Contains(p.body, "<title>Home kitchen · GoShop</title>") {
		t.Errorf("GET /products?category=home-kitchen: want heading and title \"Home kitchen\"\n%s", p.body)
	}
}

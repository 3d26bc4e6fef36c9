package main

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/goshop/platform/shared"
)

// stockView is a product's availability badge; Known is false when inventory did not answer.
type stockView struct {
	SKU       string
	Known     bool
	Available int
	Low       bool
}

func newStockView(sku string, stock map[string]stockItem) stockView {
	it, ok := stock[sku]
	if !ok {
		return stockView{SKU: sku}
	}
	threshold := it.LowStockThreshold
	if threshold <= 0 {
		threshold = 5
	}
	return stockView{SKU: sku, Known: true, Available: it.Available, Low: it.Available > 0 && it.Available <= threshold}
}

// Max is the largest quantity a form offers: what is available, at most maxQuantity (all of
// maxQuantity when inventory did not answer: the order's reservation is the final check).
func (v stockView) Max() int {
	if v.Known && v.Available < maxQuantity {
		return max(v.Available, 0)
	}
	return maxQuantity
}

type productCard struct {
	product
	Stock stockView
}

// cardsWithStock pairs products with their availability; a failing inventory only hides the badges.
func (s *site) cardsWithStock(ctx context.Context, items []product) []productCard {
	return s.cardsWithStockAs(ctx, "", items)
}

// cardsWithStockAs is cardsWithStock read with an admin's token (stockBatch), for admin pages that
// list inactive products; "" reads the public stock.
func (s *site) cardsWithStockAs(ctx context.Context, adminToken string, items []product) []productCard {
	skus := make([]string, 0, len(items))
	for _, p := range items {
		skus = append(skus, p.SKU)
	}
	stock, err := s.gw.stockBatch(ctx, adminToken, skus)
	if err != nil {
		s.logger.WarnContext(ctx, "stock lookup failed", "err", err, "request_id", shared.RequestIDFrom(ctx))
	}
	cards := make([]productCard, 0, len(items))
	for _, p := range items {
		cards = append(cards, productCard{product: p, Stock: newStockView(p.SKU, stock)})
	}
	return cards
}

type homeView struct {
	layout
	Featured   []productCard
	Categories []string
}

func handleHome(s *site) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := s.accessToken(r)
		list, err := s.gw.listProducts(r.Context(), token, catalogQuery{Page: 1, Limit: 8, Sort: "newest"})
		if err != nil {
			s.renderError(w, r, err)
			return
		}
		view := homeView{
			layout:     s.newLayout(w, r, "Welcome"),
			Featured:   s.cardsWithStock(r.Context(), list.Items),
			Categories: s.categories(r.Context()),
		}
		s.render(w, r, http.StatusOK, "home.html", view)
	})
}

// categories lists the catalog's categories from GET /product/categories, remembered for a minute
// (the lock also keeps concurrent pages from asking at once). A failing call keeps the last list.
func (s *site) categories(ctx context.Context) []string {
	s.catMu.Lock()
	defer s.catMu.Unlock()
	if time.Now().Before(s.catExpires) {
		return s.catCache
	}
	out, err := s.fetchCategories(ctx, "/product/categories", "")
	if err != nil {
		s.logger.WarnContext(ctx, "categories unavailable", "err", err)
		s.catExpires = time.Now().Add(5 * time.Second)
		return s.catCache
	}
	s.catCache, s.catExpires = out, time.Now().Add(time.Minute)
	return out
}

// adminCategories returns every category of a product not deleted, those of drafts only included,
// asked with the admin's token and not cached (an admin's new category shows at once); the shop's
// list when product cannot answer.
func (s *site) adminCategories(r *http.Request) []string {
	out, err := s.fetchCategories(r.Context(), "/product/categories?include_inactive=true", s.accessToken(r))
	if err != nil {
		s.logger.WarnContext(r.Context(), "admin categories unavailable", "err", err)
		return s.categories(r.Context())
	}
	return out
}

// fetchCategories reads GET path (a /categories answer) as sorted names.
func (s *site) fetchCategories(ctx context.Context, path, token string) ([]string, error) {
	var list struct {
		Items []struct {
			Name string `json:"name"`
		} `json:"items"`
	}
	if _, err := s.gw.do(ctx, call{method: http.MethodGet, path: path, token: token, out: &list}); err != nil {
		return nil, err
	}
	out := make([]string, 0, len(list.Items))
	for _, c := range list.Items {
		if c.Name != "" {
			out = append(out, c.Name)
		}
	}
	slices.Sort(out)
	return out, nil
}

// catState is the categories cache, embedded in site.
type catState struct {
	catMu      sync.Mutex
	catCache   []string
	catExpires time.Time
}

type pageLink struct {
	Number  int
	URL     string
	Current bool
}

type catalogView struct {
	layout
	Query      catalogQuery
	Products   []productCard
	Total      int
	Categories []string
	Sorts      []struct{ Value, Label string }
	Pages      []pageLink
	PrevURL    string
	NextURL    string
	FirstURL   string // past the first page: page 1 of the same filter
	Message    string
}

func handleCatalog(s *site) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := s.accessToken(r)
		q := parseCatalogQuery(r.URL.Query())
		list, err := s.gw.listProducts(r.Context(), token, q)
		var message string
		if ae := asAPIError(err); err != nil && ae.Status == http.StatusBadRequest {
			// A filter the catalog refuses (say, an unknown category spelling): show the page with
			// the reason instead of an error page, so the visitor can fix the filter.
			// The API's message is only "invalid request"; its fields say what is wrong.
			var why []string
			for k, v := range ae.Fields {
				why = append(why, "the "+k+" "+v)
			}
			slices.Sort(why)
			message = "No results: " + ae.Message + "."
			if len(why) > 0 {
				message = "No results: " + strings.Join(why, "; ") + "."
			}
			err = nil
		}
		if err != nil {
			s.renderError(w, r, err)
			return
		}
		heading := "All products"
		if q.Category != "" {
			heading = title(q.Category)
		}
		if q.Q != "" {
			heading = "Search: " + q.Q
		}
		view := catalogView{
			layout:     s.newLayout(w, r, heading),
			Query:      q,
			Products:   s.cardsWithStock(r.Context(), list.Items),
			Total:      list.Total,
			Categories: s.categories(r.Context()),
			Sorts:      sortOptions,
			Message:    message,
		}
		limit := list.Limit
		if limit <= 0 {
			limit = q.Limit
		}
		// The product API serves no page after maxProductPage (parseCatalogQuery shows that one
		// for any later number), so the pager stops there however big the catalog.
		last := min((list.Total+limit-1)/limit, maxProductPage)
		link := func(p int) string {
			if enc := q.values(p).Encode(); enc != "" {
				return "/products?" + enc
			}
			return "/products"
		}
		for p := max(1, q.Page-3); p <= min(last, q.Page+3); p++ {
			view.Pages = append(view.Pages, pageLink{Number: p, URL: link(p), Current: p == q.Page})
		}
		if q.Page > 1 {
			view.PrevURL, view.FirstURL = link(q.Page-1), link(1)
		}
		if q.Page < last {
			view.NextURL = link(q.Page + 1)
		}
		s.render(w, r, http.StatusOK, "catalog.html", view)
	})
}

func handleNotFound(s *site) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.renderError(w, r, &apiError{Status: http.StatusNotFound, Code: shared.CodeNotFound, Message: "There is no page at this address."})
	})
}

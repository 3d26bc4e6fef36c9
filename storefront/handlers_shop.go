package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/goshop/platform/shared"
	"golang.org/x/sync/errgroup"
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

type productCard struct {
	product
	Stock stockView
}

// cardsWithStock pairs products with their availability; a failing inventory only hides the badges.
func (s *site) cardsWithStock(ctx context.Context, items []product) []productCard {
	skus := make([]string, 0, len(items))
	for _, p := range items {
		skus = append(skus, p.SKU)
	}
	stock, err := s.gw.stockBySKU(ctx, skus)
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
	var list struct {
		Items []struct {
			Name string `json:"name"`
		} `json:"items"`
	}
	if _, err := s.gw.do(ctx, call{method: http.MethodGet, path: "/product/categories", out: &list}); err != nil {
		s.logger.WarnContext(ctx, "categories unavailable", "err", err)
		s.catExpires = time.Now().Add(5 * time.Second)
		return s.catCache
	}
	out := make([]string, 0, len(list.Items))
	for _, c := range list.Items {
		if c.Name != "" {
			out = append(out, c.Name)
		}
	}
	slices.Sort(out)
	s.catCache, s.catExpires = out, time.Now().Add(time.Minute)
	return out
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
			message = "No results: " + ae.Message
			for k, v := range ae.Fields {
				message += "; " + k + " " + v
			}
			err = nil
		}
		if err != nil {
			s.renderError(w, r, err)
			return
		}
		title := "All products"
		if q.Category != "" {
			title = strings.ToUpper(q.Category[:1]) + q.Category[1:]
		}
		if q.Q != "" {
			title = "Search: " + q.Q
		}
		view := catalogView{
			layout:     s.newLayout(w, r, title),
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
		last := (list.Total + limit - 1) / limit
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
			view.PrevURL = link(q.Page - 1)
		}
		if q.Page < last {
			view.NextURL = link(q.Page + 1)
		}
		s.render(w, r, http.StatusOK, "catalog.html", view)
	})
}

type productView struct {
	layout
	Product product
	Stock   stockView
}

func handleProduct(s *site) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := s.accessToken(r)
		id := r.PathValue("id")
		if len(id) > 128 {
			s.renderError(w, r, &apiError{Status: http.StatusNotFound, Code: shared.CodeNotFound, Message: "No such product."})
			return
		}
		p, err := s.gw.getProduct(r.Context(), token, id, false)
		if err != nil {
			s.renderError(w, r, err)
			return
		}
		stock, err := s.gw.stockBySKU(r.Context(), []string{p.SKU})
		if err != nil {
			s.logger.WarnContext(r.Context(), "stock lookup failed", "err", err)
		}
		view := productView{layout: s.newLayout(w, r, p.Name), Product: p, Stock: newStockView(p.SKU, stock)}
		s.render(w, r, http.StatusOK, "product.html", view)
	})
}

type cartRow struct {
	SKU       string
	Qty       int
	Product   product
	Found     bool
	LineTotal string
	Stock     stockView
}

type cartView struct {
	layout
	Rows     []cartRow
	Subtotal string
	Missing  bool
}

// loadCart reads the products of the cart's lines concurrently (at most 20 lines, at most 8 calls
// in flight). A product that is gone leaves a row the visitor can remove.
func (s *site) loadCart(ctx context.Context, c cart) ([]cartRow, string, error) {
	rows := make([]cartRow, len(c.Lines))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i, l := range c.Lines {
		rows[i] = cartRow{SKU: l.SKU, Qty: l.Qty}
		g.Go(func() error {
			p, err := s.gw.getProductBySKU(gctx, l.SKU)
			if isStatus(err, http.StatusNotFound) {
				return nil
			}
			if err != nil {
				return err
			}
			rows[i].Product, rows[i].Found = p, true
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, "", err
	}
	skus := make([]string, 0, len(rows))
	for _, row := range rows {
		skus = append(skus, row.SKU)
	}
	stock, _ := s.gw.stockBySKU(ctx, skus)
	var total shared.Cents
	currency := ""
	for i := range rows {
		rows[i].Stock = newStockView(rows[i].SKU, stock)
		if !rows[i].Found {
			continue
		}
		cents, _ := shared.ParseCents(string(rows[i].Product.Price))
		line := cents * shared.Cents(rows[i].Qty)
		total += line
		currency = rows[i].Product.Currency
		rows[i].LineTotal = shared.Money{Amount: line, Currency: currency}.String()
	}
	return rows, shared.Money{Amount: total, Currency: currency}.String(), nil
}

func handleCart(s *site) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := s.readCart(r)
		if err != nil {
			s.renderError(w, r, err)
			return
		}
		rows, subtotal, err := s.loadCart(r.Context(), c)
		if err != nil {
			s.renderError(w, r, err)
			return
		}
		view := cartView{layout: s.newLayout(w, r, "Your cart"), Rows: rows, Subtotal: subtotal}
		for _, row := range rows {
			if !row.Found {
				view.Missing = true
			}
		}
		s.render(w, r, http.StatusOK, "cart.html", view)
	})
}

// formQty reads a quantity field: an integer in [lo, maxQuantity].
func formQty(r *http.Request, field string, lo int) (int, bool) {
	n, err := strconv.Atoi(strings.TrimSpace(r.PostFormValue(field)))
	if err != nil || n < lo || n > maxQuantity {
		return 0, false
	}
	return n, true
}

func badForm(msg string) error {
	return &apiError{Status: http.StatusBadRequest, Code: shared.CodeInvalid, Message: msg}
}

func handleCartAdd(s *site) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sku := r.PostFormValue("sku")
		qty, ok := formQty(r, "quantity", 1)
		if !validSKU(sku) || !ok {
			s.renderError(w, r, badForm("Choose a product and a quantity between 1 and 99."))
			return
		}
		// The SKU must name a product on sale, so the cart never holds made-up lines.
		if _, err := s.gw.getProductBySKU(r.Context(), sku); err != nil {
			s.renderError(w, r, err)
			return
		}
		sid := s.ensureSession(w, r)
		if err := s.store.AddToCart(r.Context(), sid, sku, qty); err != nil {
			s.renderError(w, r, cartError(err))
			return
		}
		s.setSessionCookie(w, sid) // the cookie lives as long as the session it names
		s.flash(w, "added")
		redirect(w, r, "/cart")
	})
}

// handleCartUpdate sets a line's quantity; 0 (or the remove button) takes it out.
func handleCartUpdate(s *site) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sku := r.PostFormValue("sku")
		qty, ok := formQty(r, "quantity", 0)
		if r.PostFormValue("remove") != "" {
			qty, ok = 0, true
		}
		if !validSKU(sku) || !ok {
			s.renderError(w, r, badForm("Quantity must be between 0 and 99."))
			return
		}
		sid := s.ensureSession(w, r)
		if err := s.store.SetCartLine(r.Context(), sid, sku, qty); err != nil {
			s.renderError(w, r, cartError(err))
			return
		}
		s.setSessionCookie(w, sid)
		s.flash(w, "cart")
		redirect(w, r, "/cart")
	})
}

// cartError turns a refused cart change into what the visitor sees; an outage stays a 503.
func cartError(err error) error {
	if errors.Is(err, errCartFull) {
		return badForm(fmt.Sprintf("Your cart holds at most %d different products. Check out or remove one first.", maxCartLines))
	}
	return err
}

func handleNotFound(s *site) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.renderError(w, r, &apiError{Status: http.StatusNotFound, Code: shared.CodeNotFound, Message: "There is no page at this address."})
	})
}

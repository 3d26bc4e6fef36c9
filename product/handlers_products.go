package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/goshop/platform/shared"
)

// Query limits of GET /products.
const (
	defaultLimit = 20
	maxLimit     = 100
	// maxPage bounds skip (page × limit) so a client cannot make the store walk the whole catalog.
	maxPage   = 1000
	maxQueryQ = 100
)

// parseListQuery reads the query string of GET /products; every bad parameter is reported at once.
func parseListQuery(v url.Values) (productQuery, map[string]string) {
	fields := map[string]string{}
	q := productQuery{Page: 1, Limit: defaultLimit}
	q.IncludeInactive = shared.QueryBool(v, "include_inactive", false, fields)
	// active narrows to one value of the flag; active=false lists switched-off products, so it
	// needs what include_inactive needs.
	switch v.Get("active") {
	case "":
	case "true", "false":
		a := v.Get("active") == "true"
		q.Active = &a
		q.IncludeInactive = q.IncludeInactive || !a
	default:
		fields["active"] = "must be true or false"
	}
	if s := v.Get("sku"); s != "" {
		sku, msg := normalizeSKU(s)
		if msg != "" {
			fields["sku"] = "the start of a SKU " + msg
		}
		q.SKU = sku
	}
	if s := v.Get("category"); s != "" {
		c, msg := normalizeCategory(s)
		if msg != "" {
			fields["category"] = msg
		}
		q.Category = c
	}
	// search is the original platform's name for q. Both at once is refused rather than one
	// silently winning, so a client that sends both learns which one it meant.
	qName := "q"
	if v.Has("search") {
		if v.Has("q") {
			fields["search"] = "is an alias of q: send one of them, not both"
		} else {
			qName = "search"
		}
	}
	q.Q = strings.TrimSpace(v.Get(qName))
	if utf8.RuneCountInString(q.Q) > maxQueryQ || !shared.Printable(q.Q, false) {
		fields[qName] = fmt.Sprintf("must be text of at most %d characters", maxQueryQ)
	}
	for _, p := range []struct {
		name string
		dst  *int64
	}{{"minPrice", &q.MinCents}, {"maxPrice", &q.MaxCents}} {
		if s := v.Get(p.name); s != "" {
			c, err := shared.ParseCents(s)
			switch {
			case err != nil:
				fields[p.name] = err.Error()
			case c == 0 && p.name == "maxPrice":
				// 0 stands for "no bound" below, and every price is above 0: a maximum of 0 would
				// list the whole catalog instead of nothing.
				fields[p.name] = "must be greater than 0"
			}
			*p.dst = int64(c)
		}
	}
	if q.MaxCents > 0 && q.MinCents > q.MaxCents {
		fields["minPrice"] = "must not exceed maxPrice"
	}
	q.Sort = v.Get("sort")
	switch q.Sort {
	case "price_asc": // the spelling some clients (the storefront) use
		q.Sort = sortPrice
	case "price_desc":
		q.Sort = sortPriceDesc
	case "":
		q.Sort = sortNewest
		if q.Q != "" {
			q.Sort = sortRelevance
		}
	case sortPrice, sortPriceDesc, sortNewest, sortName, sortRelevance:
	default:
		fields["sort"] = "must be one of price (or price_asc), -price (or price_desc), newest, name, relevance"
	}
	q.Page = shared.QueryInt(v, "page", 1, 1, maxPage, fields)
	q.Limit = shared.QueryInt(v, "limit", defaultLimit, 1, maxLimit, fields)
	if len(fields) > 0 {
		return productQuery{}, fields
	}
	return q, nil
}

// handleProductList serves GET /products: a page of active products, narrowed by category, q (name and
// description), sku (a SKU prefix), price range, and sorted. With include_inactive=true or
// active=false (admins only: 401/403 otherwise) inactive products are listed too, in a private
// response; active=true|false keeps one value of the flag.
func handleProductList(logger *slog.Logger, store productStore) http.Handler {
	// Bodies are built in pooled buffers: the list is the hottest path, and a page is ~10 KB of garbage
	// per request otherwise. w.Write copies, so a buffer is free again once the response is written.
	bufs := sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q, fields := parseListQuery(r.URL.Query())
		if fields != nil {
			shared.WriteError(w, r, logger, shared.Invalid(fields))
			return
		}
		cc := publicCacheControl
		if q.IncludeInactive {
			if err := shared.RequireAdminFor(r, "include_inactive"); err != nil {
				shared.WriteError(w, r, logger, err)
				return
			}
			cc = privateCacheControl
		}
		ps, total, err := store.List(r.Context(), q)
		if err != nil {
			shared.WriteError(w, r, logger, err)
			return
		}
		// The list shape ({"items","total","page","limit"}) is appended by hand: see productView.MarshalJSON.
		buf := bufs.Get().(*[]byte)
		body := append((*buf)[:0], `{"items":[`...)
		var last time.Time
		for i, p := range ps {
			if i > 0 {
				body = append(body, ',')
			}
			body = viewOf(p).appendJSON(body)
			if p.UpdatedAt.After(last) {
				last = p.UpdatedAt
			}
		}
		body = append(body, `],"total":`...)
		body = strconv.AppendInt(body, int64(total), 10)
		body = append(body, `,"page":`...)
		body = strconv.AppendInt(body, int64(q.Page), 10)
		body = append(body, `,"limit":`...)
		body = strconv.AppendInt(body, int64(q.Limit), 10)
		body = append(body, "}\n"...)
		writeCacheable(w, r, cc, body, last)
		if cap(body) <= 256<<10 {
			*buf = body
			bufs.Put(buf)
		}
	})
}

// handleProductGet serves GET /products/{id}: an active product, 400 for a malformed ID, 404 for an
// absent, inactive or deleted one.
func handleProductGet(logger *slog.Logger, store productStore) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		if !shared.ValidID(id) {
			shared.WriteError(w, r, logger, shared.Invalid(map[string]string{"id": "must be a product ID (32 hex digits)"}))
			return
		}
		p, err := store.Get(r.Context(), id)
		writeProduct(w, r, logger, p, err, true)
	})
}

// handleProductGetBySKU serves GET /products/sku/{sku}, the lookup order uses for prices. Only the
// SKU's normal form is shareable: the gateway purges /products/sku/{sku} on product events by that
// spelling, so an answer stored at another (/products/sku/mug-1) would trail every change by the
// route's whole TTL whenever the event is what purges.
func handleProductGetBySKU(logger *slog.Logger, store productStore) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sku, msg := normalizeSKU(r.PathValue("sku"))
		if msg != "" {
			shared.WriteError(w, r, logger, shared.Invalid(map[string]string{"sku": msg}))
			return
		}
		p, err := store.GetBySKU(r.Context(), sku)
		writeProduct(w, r, logger, p, err, r.PathValue("sku") == sku)
	})
}

// writeProduct answers a single-product read: visible products for everyone, shared by caches when
// shareable is set (else no-store); with ?include_inactive=true, inactive (not deleted) ones too, for admins
// only and privately.
func writeProduct(w http.ResponseWriter, r *http.Request, logger *slog.Logger, p product, err error, shareable bool) {
	cc := publicCacheControl
	if !shareable {
		cc = "no-store"
	}
	switch r.URL.Query().Get("include_inactive") {
	case "", "false":
		if err == nil && !p.visible() {
			err = fmt.Errorf("product %s inactive: %w", p.ID, shared.ErrNotFound)
		}
	case "true":
		if aerr := shared.RequireAdminFor(r, "include_inactive"); aerr != nil {
			err = aerr
		} else if err == nil && p.DeletedAt != nil {
			err = fmt.Errorf("product %s deleted: %w", p.ID, shared.ErrNotFound)
		}
		cc = privateCacheControl
	default:
		err = shared.Invalid(map[string]string{"include_inactive": "must be true or false"})
	}
	if err != nil {
		if errors.Is(err, shared.ErrNotFound) {
			err = shared.Errorf(shared.CodeNotFound, "product not found")
			if cc == publicCacheControl {
				// The same for everyone, so shareable for a short while: a scan of made-up IDs or an
				// old link shared widely is answered by caches, and product.created purges it.
				w.Header().Set("Cache-Control", notFoundCacheControl)
			}
		}
		shared.WriteError(w, r, logger, err)
		return
	}
	body := append(viewOf(p).appendJSON(make([]byte, 0, 1024)), '\n')
	writeCacheable(w, r, cc, body, p.UpdatedAt)
}

// handleCategories serves GET /categories: {"items":[{"name","count"}],"total"} over active products;
// with include_inactive=true (admins only: 401/403 otherwise), over every product not deleted, privately,
// so the admin's filter lists a category whose products are all drafts.
func handleCategories(logger *slog.Logger, store productStore) http.Handler {
	type response struct {
		Items []categoryCount `json:"items"`
		Total int             `json:"total"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fields := map[string]string{}
		includeInactive := shared.QueryBool(r.URL.Query(), "include_inactive", false, fields)
		if len(fields) > 0 {
			shared.WriteError(w, r, logger, shared.Invalid(fields))
			return
		}
		cc := publicCacheControl
		if includeInactive {
			if err := shared.RequireAdminFor(r, "include_inactive"); err != nil {
				shared.WriteError(w, r, logger, err)
				return
			}
			cc = privateCacheControl
		}
		cs, err := store.Categories(r.Context(), includeInactive)
		if err != nil {
			shared.WriteError(w, r, logger, err)
			return
		}
		body, err := json.Marshal(response{Items: cs, Total: len(cs)})
		if err != nil {
			shared.WriteError(w, r, logger, err)
			return
		}
		writeCacheable(w, r, cc, append(body, '\n'), time.Time{})
	})
}

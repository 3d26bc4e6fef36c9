package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/goshop/platform/shared"
)

// The API's JSON shapes (ARCHITECTURE.md), with only the fields the pages use. Amounts stay
// json.Number so they are converted to cents exactly.

type product struct {
	ID          string            `json:"id"`
	SKU         string            `json:"sku"`
	Name        string            `json:"name"`
	Description string            `json:"description"`
	Price       json.Number       `json:"price"`
	Currency    string            `json:"currency"`
	Category    string            `json:"category"`
	Images      []string          `json:"images"`
	Attributes  map[string]string `json:"attributes"`
	Active      bool              `json:"active"`
	CreatedAt   time.Time         `json:"created_at"`
}

type productList = shared.Page[product]

type stockItem struct {
	SKU               string `json:"sku"`
	OnHand            int    `json:"on_hand"`
	Reserved          int    `json:"reserved"`
	Available         int    `json:"available"`
	LowStockThreshold int    `json:"low_stock_threshold"`
	// Inactive is set on an inactive product's item, which only the admin's include_inactive reads get.
	Inactive  bool      `json:"inactive"`
	UpdatedAt time.Time `json:"updated_at"`
}

type stockList = shared.Page[stockItem]

type address struct {
	ID        string `json:"id,omitempty"`
	IsDefault bool   `json:"is_default,omitempty"`
	Name      string `json:"name"`
	Street    string `json:"street"`
	City      string `json:"city"`
	State     string `json:"state"`
	ZipCode   string `json:"zip_code"`
	Country   string `json:"country"`
}

type orderLine struct {
	SKU       string      `json:"sku"`
	Name      string      `json:"name"`
	UnitPrice json.Number `json:"unit_price"`
	Quantity  int         `json:"quantity"`
	LineTotal json.Number `json:"line_total"`
}

type order struct {
	ID              string      `json:"id"`
	UserID          string      `json:"user_id"`
	Status          string      `json:"status"`
	Items           []orderLine `json:"items"`
	Subtotal        json.Number `json:"subtotal"`
	Tax             json.Number `json:"tax"`
	Shipping        json.Number `json:"shipping"`
	Total           json.Number `json:"total"`
	Currency        string      `json:"currency"`
	ShippingAddress *address    `json:"shipping_address"`
	StatusReason    string      `json:"status_reason"`
	CreatedAt       time.Time   `json:"created_at"`
	UpdatedAt       time.Time   `json:"updated_at"`
	// Customer is who placed it (absent on orders placed before the order service recorded it).
	Customer *orderCustomer `json:"customer"`
	Payment  *orderPayment  `json:"payment"`
	// NextStatuses and History come to admins only: the statuses an admin may set now (the order
	// service's state machine decides) and the order's timeline.
	NextStatuses []string       `json:"next_statuses"`
	History      []orderHistory `json:"history"`
}

type orderCustomer struct {
	Email string `json:"email"`
	Name  string `json:"name"`
}

type orderPayment struct {
	Last4    string      `json:"last4"`
	Brand    string      `json:"brand"`
	Amount   json.Number `json:"amount"`
	PaidAt   time.Time   `json:"paid_at"`
	Refunded bool        `json:"refunded"`
}

// orderHistory is one change of an order: the status it moved to, when, why, and who made it (Kind
// "customer", "admin", "system" or "unknown", with the person when known).
type orderHistory struct {
	Status string    `json:"status"`
	At     time.Time `json:"at"`
	Reason string    `json:"reason"`
	By     struct {
		Kind   string `json:"kind"`
		UserID string `json:"user_id"`
		Name   string `json:"name"`
		Email  string `json:"email"`
	} `json:"by"`
}

// Units is how many items the order holds: the sum of its lines' quantities (two speakers are 2).
func (o order) Units() int {
	n := 0
	for _, l := range o.Items {
		n += l.Quantity
	}
	return n
}

type apiUser struct {
	ID        string    `json:"id"`
	Email     string    `json:"email"`
	Name      string    `json:"name"`
	Role      string    `json:"role"`
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"created_at"`
	// EmailVerified: the user followed a link auth mailed to Email (the banner asks until then).
	EmailVerified bool `json:"email_verified"`
}

// catalogQuery is the catalog's filter, mirrored in the page URL so it is shareable.
type catalogQuery struct {
	Category string
	Q        string
	MinPrice string
	MaxPrice string
	// BadMinPrice and BadMaxPrice are prices as typed that are not amounts: left out of the query
	// and its links, shown back in their boxes with a message.
	BadMinPrice, BadMaxPrice string
	Sort                     string
	Page                     int
	Limit                    int
	// IncludeInactive lists inactive products too (admin only).
	IncludeInactive bool
}

// sortOptions are the catalog orders offered, in the product API's vocabulary.
var sortOptions = []struct{ Value, Label string }{
	{"", "Relevance"},
	{"price_asc", "Price: low to high"},
	{"price_desc", "Price: high to low"},
	{"newest", "Newest"},
	{"name", "Name"},
}

func validSort(s string) bool {
	for _, o := range sortOptions {
		if o.Value == s {
			return true
		}
	}
	return false
}

// parseCatalogQuery reads the filter from a page URL, dropping what is malformed rather than failing.
func parseCatalogQuery(v url.Values) catalogQuery {
	q := catalogQuery{
		Category: clip(strings.TrimSpace(v.Get("category")), 64),
		Q:        clip(strings.TrimSpace(v.Get("q")), 100),
		Sort:     v.Get("sort"),
		Page:     1,
		Limit:    12,
	}
	if !validSort(q.Sort) {
		q.Sort = ""
	}
	for key, dst := range map[string][2]*string{"minPrice": {&q.MinPrice, &q.BadMinPrice}, "maxPrice": {&q.MaxPrice, &q.BadMaxPrice}} {
		s := strings.TrimSpace(v.Get(key)) // typed by people: spaces around the number are a slip
		if _, err := shared.ParseCents(s); err == nil {
			*dst[0] = s
		} else if s != "" {
			*dst[1] = clip(s, 20)
		}
	}
	if p, err := strconv.Atoi(v.Get("page")); err == nil && p > 0 {
		q.Page = min(p, maxProductPage)
	}
	// A reversed range is a slip, not an error: swap it.
	lo, errLo := shared.ParseCents(q.MinPrice)
	hi, errHi := shared.ParseCents(q.MaxPrice)
	if errLo == nil && errHi == nil && lo > hi {
		q.MinPrice, q.MaxPrice = q.MaxPrice, q.MinPrice
	}
	return q
}

// values renders the filter as URL parameters (empty ones omitted), page included when > 1.
func (q catalogQuery) values(page int) url.Values {
	v := url.Values{}
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	set("category", q.Category)
	set("q", q.Q)
	set("minPrice", q.MinPrice)
	set("maxPrice", q.MaxPrice)
	set("sort", q.Sort)
	if page > 1 {
		v.Set("page", strconv.Itoa(page))
	}
	return v
}

// maxProductPage is the product service's last page number (its maxPage): a later page is that
// one, shown as past the end of the list, not the API's 400.
const maxProductPage = 1000

// clip cuts s to at most n bytes without splitting a character, so clipped text stays valid UTF-8.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// Catalog and stock reads are public: they go without the visitor's token, so the gateway can serve
// them from its shared cache (it never caches a request carrying credentials). Only the admin's
// include_inactive reads carry it.

func (g *gatewayClient) listProducts(ctx context.Context, token string, q catalogQuery) (productList, error) {
	if !q.IncludeInactive {
		token = ""
	}
	v := q.values(0)
	v.Set("page", strconv.Itoa(max(q.Page, 1)))
	v.Set("limit", strconv.Itoa(q.Limit))
	if q.IncludeInactive {
		v.Set("include_inactive", "true")
	}
	var out productList
	_, err := g.do(ctx, call{method: http.MethodGet, path: "/product/products?" + v.Encode(), token: token, out: &out})
	return out, err
}

// getProduct reads one product; includeInactive (admins only) also finds switched-off ones. The
// product API answers 400 for a malformed ID: to a visitor that is simply no such product.
func (g *gatewayClient) getProduct(ctx context.Context, token, id string, includeInactive bool) (product, error) {
	var out product
	path := "/product/products/" + pathEscape(id)
	if includeInactive {
		path += "?include_inactive=true"
	} else {
		token = ""
	}
	_, err := g.do(ctx, call{method: http.MethodGet, path: path, token: token, out: &out})
	if isStatus(err, http.StatusBadRequest) {
		err = &apiError{Status: http.StatusNotFound, Code: "not_found", Message: "No such product."}
	}
	return out, err
}

func (g *gatewayClient) getProductBySKU(ctx context.Context, sku string) (product, error) {
	var out product
	_, err := g.do(ctx, call{method: http.MethodGet, path: "/product/products/sku/" + pathEscape(sku), out: &out})
	return out, err
}

// stockBySKU returns the stock of skus in one batch call, keyed by SKU: the public read, which has
// no items of inactive products. The inventory service may answer a list or a bare array; both are
// accepted.
func (g *gatewayClient) stockBySKU(ctx context.Context, skus []string) (map[string]stockItem, error) {
	return g.stockBatch(ctx, "", skus)
}

// stockBatch reads the batch as the holder of token with include_inactive=true, so an admin's token
// gets inactive products' items too (admin pages list those products); "" reads the public view.
func (g *gatewayClient) stockBatch(ctx context.Context, token string, skus []string) (map[string]stockItem, error) {
	out := map[string]stockItem{}
	if len(skus) == 0 {
		return out, nil
	}
	path := "/inventory/inventory/batch?skus=" + url.QueryEscape(strings.Join(skus, ","))
	if token != "" {
		path += "&include_inactive=true"
	}
	var raw json.RawMessage
	_, err := g.do(ctx, call{method: http.MethodGet, path: path, token: token, out: &raw})
	if err != nil {
		return out, err
	}
	var items []stockItem
	if len(raw) > 0 && raw[0] == '[' {
		err = json.Unmarshal(raw, &items)
	} else {
		var l stockList
		err = json.Unmarshal(raw, &l)
		items = l.Items
	}
	for _, it := range items {
		out[it.SKU] = it
	}
	return out, err
}

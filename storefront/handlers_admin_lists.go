package main

import (
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/goshop/platform/shared"
)

// The admin console's lists (products, inventory, orders, users) are filtered on the server by
// parameters in the page's URL, so a filtered list can be bookmarked and shared and works without
// JavaScript. The page passes its known parameters to the service's list API as they are: the API
// validates them (one rule, in one place) and a value it refuses comes back as a 400 page that shows
// the form again with the message beside the field.

// maxFilterLen bounds one filter value passed on; the APIs refuse far shorter values anyway.
const maxFilterLen = 256

// listFilter is one admin list's filter as the page URL carries it: the non-empty values of the
// page's known parameters (anything else in the URL is ignored) and the page number. last is the
// last page the list can show (maxPageParam, or its API's bound if lower): the pager links no
// further, since a later page would show this one again or page 1.
type listFilter struct {
	values url.Values
	Page   int
	last   int
}

// readFilter reads the parameters keys and ?page= (pageParam) from r's URL.
func readFilter(r *http.Request, keys ...string) listFilter {
	q := r.URL.Query()
	f := listFilter{values: url.Values{}, Page: pageParam(r), last: maxPageParam}
	for _, k := range keys {
		if v := strings.TrimSpace(q.Get(k)); v != "" {
			f.values.Set(k, clip(v, maxFilterLen))
		}
	}
	return f
}

// Get is the value of parameter k, for the form's inputs.
func (f listFilter) Get(k string) string { return f.values.Get(k) }

// Any reports whether a filter is set, so the page offers to clear it.
func (f listFilter) Any() bool { return len(f.values) > 0 }

// with returns the filter's parameters plus extra (name, value pairs; empty values dropped).
func (f listFilter) with(extra ...string) url.Values {
	v := url.Values{}
	for k, vs := range f.values {
		v[k] = vs
	}
	for i := 0; i+1 < len(extra); i += 2 {
		if extra[i+1] != "" {
			v.Set(extra[i], extra[i+1])
		}
	}
	return v
}

// link is the URL of page of the filtered list at path, keeping the filter.
func (f listFilter) link(path string, page int) string {
	p := ""
	if page > 1 {
		p = strconv.Itoa(page)
	}
	if q := f.with("page", p).Encode(); q != "" {
		return path + "?" + q
	}
	return path
}

// pager returns the links around f.Page of the filtered list at path, keeping the filter.
func (f listFilter) pager(path string, total, limit int) pagerLinks {
	link := func(page int) string { return f.link(path, page) }
	var l pagerLinks
	if f.Page > 1 {
		l.PrevURL, l.FirstURL = link(f.Page-1), link(1)
	}
	if limit > 0 && f.Page*limit < total && f.Page < f.last {
		l.NextURL = link(f.Page + 1)
	}
	return l
}

// adminList is what a filtered admin list's view embeds: the filter for the form, the pager, the
// number of matches, and the API's messages about refused filter values, by parameter (Message is
// the API's summary).
type adminList struct {
	pagerLinks
	Filter  listFilter
	Total   int
	Errors  map[string]string
	Message string
	// Here is this page of the list with its filter: a row's form posts it as "next", so the
	// action comes back to the list the admin was working in (listReturn), not to its first page.
	Here string
}

// listReturn is where a row form of the admin list at path comes back to: the page the form was on
// (its "next", posted or, for a page on the way such as a product's edit page, in the query; it must
// be that list), else the whole list.
func listReturn(r *http.Request, path string) string {
	if next := safeNext(r.FormValue("next")); next == path || strings.HasPrefix(next, path+"?") {
		return next
	}
	return path
}

// fetchList reads, as the caller, page f.Page of the API list api (which may carry fixed
// parameters) with f's parameters and limit. The page at path gets pager links keeping the filter.
// When the API refuses a filter (400) it returns the empty list with the messages and status 400,
// so the page shows the form to correct rather than an error page; any other failure is err.
func fetchList[T any](s *site, r *http.Request, api string, f listFilter, limit int, path string) ([]T, adminList, int, error) {
	sep := "?"
	if strings.Contains(api, "?") {
		sep = "&"
	}
	q := f.with("page", strconv.Itoa(f.Page), "limit", strconv.Itoa(limit))
	var list shared.Page[T]
	_, err := s.gw.do(r.Context(), call{method: http.MethodGet, path: api + sep + q.Encode(), token: s.accessToken(r), out: &list})
	if isStatus(err, http.StatusBadRequest) {
		ae := asAPIError(err)
		return []T{}, adminList{Filter: f, Errors: ae.Fields, Message: ae.FormMessage(slices.Collect(maps.Keys(f.values))...), Here: f.link(path, f.Page)}, http.StatusBadRequest, nil
	}
	if err != nil {
		return nil, adminList{}, 0, err
	}
	return list.Items, adminList{pagerLinks: f.pager(path, list.Total, limit), Filter: f, Total: list.Total, Here: f.link(path, f.Page)}, http.StatusOK, nil
}

// option is one choice of a filter's select.
type option struct{ Value, Label string }

// options turns values into choices labelled with title, after first (the "any" choice).
func options(first option, values []string) []option {
	out := []option{first}
	for _, v := range values {
		out = append(out, option{v, title(v)})
	}
	return out
}

// filterSelect is one labelled select of an admin filter, for base.html's "filter-select".
type filterSelect struct {
	Name, Label  string
	Options      []option
	Value, Error string
}

// filterInput is one labelled input of an admin filter, for base.html's "filter-input": Type is
// the input type (search, date), Hint its placeholder.
type filterInput struct {
	Name, Label, Type, Hint string
	Value, Error            string
}

// Input returns the input for parameter name with its current value and message.
func (l adminList) Input(name, label, typ, hint string) filterInput {
	return filterInput{Name: name, Label: label, Type: typ, Hint: hint, Value: l.Filter.Get(name), Error: l.Errors[name]}
}

// Select returns the select for parameter name with its current value and message.
func (l adminList) Select(name, label string, opts []option) filterSelect {
	return filterSelect{Name: name, Label: label, Options: opts, Value: l.Filter.Get(name), Error: l.Errors[name]}
}

type adminProductsView struct {
	layout
	adminList
	Products   []productCard
	Categories []option
	Sorts      []option
	States     []option
}

func handleAdminProducts(s *site) http.Handler {
	states := []option{{"", "Active and inactive"}, {"true", "Active only"}, {"false", "Inactive only"}}
	sorts := []option{{"", "Newest (or relevance)"}}
	for _, o := range sortOptions[1:] {
		sorts = append(sorts, option(o))
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f := readFilter(r, "q", "sku", "category", "active", "sort")
		f.last = maxProductPage
		f.Page = min(f.Page, f.last)
		items, list, status, err := fetchList[product](s, r, "/product/products?include_inactive=true", f, 20, "/admin/products")
		if err != nil {
			s.renderError(w, r, err)
			return
		}
		view := adminProductsView{layout: s.newLayout(w, r, "Products"), adminList: list, Products: s.cardsWithStockAs(r.Context(), s.accessToken(r), items),
			Categories: options(option{"", "All categories"}, s.adminCategories(r)), Sorts: sorts, States: states}
		s.render(w, r, status, "admin_products.html", view)
	})
}

type adminInventoryView struct {
	layout
	adminList
	Items []stockView
	Raw   []stockItem
	// AdjustKeys holds a fresh idempotency key per row's stock form, posted back and sent to
	// inventory as the Idempotency-Key header, so a double submit adjusts once.
	AdjustKeys []string
	Levels     []option
}

func handleAdminInventory(s *site) http.Handler {
	levels := []option{{"", "All"}, {"low", "Low stock"}, {"out", "Out of stock"}, {"reserved", "Reserved for orders"}}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f := readFilter(r, "level", "sku")
		items, list, status, err := fetchList[stockItem](s, r, "/inventory/inventory?include_inactive=true", f, 50, "/admin/inventory")
		if err != nil {
			s.renderError(w, r, err)
			return
		}
		view := adminInventoryView{layout: s.newLayout(w, r, "Inventory"), adminList: list, Raw: items, Levels: levels}
		for _, it := range items {
			view.Items = append(view.Items, newStockView(it.SKU, map[string]stockItem{it.SKU: it}))
			view.AdjustKeys = append(view.AdjustKeys, shared.NewID())
		}
		s.render(w, r, status, "admin_inventory.html", view)
	})
}

// orderStatuses are the order states, for the orders filter (ARCHITECTURE.md § Order states).
var orderStatuses = []string{"pending", "confirmed", "rejected", "paid", "cancelled", "shipped", "delivered"}

type adminOrdersView struct {
	layout
	adminList
	Orders   []order
	Statuses []option
}

func handleAdminOrders(s *site) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f := readFilter(r, "status", "email", "id", "from", "to")
		// The shop shows order IDs as "#754effeb" (pages, lists, the customer's words): one pasted
		// like that is the same ID, not a value for the order service to refuse.
		if id := strings.TrimSpace(strings.TrimPrefix(f.Get("id"), "#")); id != f.Get("id") {
			f.values.Del("id")
			if id != "" {
				f.values.Set("id", id)
			}
		}
		orders, list, status, err := fetchList[order](s, r, "/order/orders", f, 20, "/admin/orders")
		if err != nil {
			s.renderError(w, r, err)
			return
		}
		view := adminOrdersView{layout: s.newLayout(w, r, "Orders"), adminList: list, Orders: orders,
			Statuses: options(option{"", "Any status"}, orderStatuses)}
		s.render(w, r, status, "admin_orders.html", view)
	})
}

type adminUsersView struct {
	layout
	adminList
	Users    []apiUser
	Statuses []option
}

func handleAdminUsers(s *site) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f := readFilter(r, "q", "status")
		users, list, status, err := fetchList[apiUser](s, r, "/user/users", f, 20, "/admin/users")
		if err != nil {
			s.renderError(w, r, err)
			return
		}
		view := adminUsersView{layout: s.newLayout(w, r, "Users"), adminList: list, Users: users,
			Statuses: options(option{"", "Any status"}, []string{"active", "suspended"})}
		s.render(w, r, status, "admin_users.html", view)
	})
}

package main

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// The gateway's cache table: one row per cacheable route says everything the cache does for it, so
// that nothing in the cache names a service. A route that is in no row is never cached; writes and
// events that no row lists purge nothing.

// cacheRoute is one row of the cache table.
//
// Paths follow http.ServeMux's convention on the stripped path: "/products" is that path exactly,
// "/products/" is every path under it. The first row that matches a request is its route.
//
// TTL is how long a stored answer below 400 stays fresh; it is the route's TTL whatever max-age the
// upstream sends (max-age is for browsers, and the gateway is kept right by the purges below rather
// than by short TTLs). Only an upstream's s-maxage (addressed to shared caches) can shorten it. The
// other storable statuses (4xx, 501) are kept for at most cfg.CacheNegative, shortened by the
// upstream's max-age or s-maxage; TTLs holds the result per status, and a status it does not hold is
// not stored.
//
// Vary lists the request headers whose values are part of the key (and that the upstream may name in
// its own Vary). Public routes are cached for requests that carry credentials too; by default those
// bypass the cache.
//
// PurgeOnWrite: a POST, PUT, PATCH or DELETE under the route's service that is not a 4xx purges every
// entry of the route, in every gateway instance. PurgeOnEvent maps Kafka event types to the paths each
// one makes wrong, as templates: {field} is the event data's string field of that name (an event
// without it is poison), {field?} the same but optional (the path is skipped without it). Each path
// purged covers every query string and Vary value of it.
type cacheRoute struct {
	Name         string
	Service      string
	Paths        []string
	TTL          time.Duration
	TTLs         map[int]time.Duration
	Vary         []string
	Public       bool
	PurgeOnWrite bool
	PurgeOnEvent map[string][]string
}

// defaultCacheRoutes is the table in code: product list 60 s, one product 300 s, inventory 30 s;
// auth, user, order and realtime never. Product writes purge both product routes (a write can change
// any list and any product); product and stock events purge the paths they name. ttlEnv names the
// variable that overrides each row's TTL ("0s" turns the route off).
func defaultCacheRoutes() (routes []cacheRoute, ttlEnv []string) {
	productEvents := func(paths ...string) map[string][]string {
		return map[string][]string{"product.created": paths, "product.updated": paths, "product.deleted": paths}
	}
	return []cacheRoute{
			{Name: "product_list", Service: "product", Paths: []string{"/products"}, TTL: 60 * time.Second,
				PurgeOnWrite: true, PurgeOnEvent: productEvents("/products")},
			{Name: "product", Service: "product", Paths: []string{"/products/"}, TTL: 300 * time.Second,
				PurgeOnWrite: true, PurgeOnEvent: productEvents("/products/{product_id}", "/products/sku/{sku?}")},
			{Name: "inventory", Service: "inventory", Paths: []string{"/inventory", "/inventory/"}, TTL: 30 * time.Second,
				PurgeOnEvent: map[string][]string{"inventory.updated": {"/inventory", "/inventory/batch", "/inventory/{sku}"}}},
		}, []string{
			"GATEWAY_CACHE_PRODUCT_LIST_TTL", "GATEWAY_CACHE_PRODUCT_TTL", "GATEWAY_CACHE_INVENTORY_TTL",
		}
}

// loadCacheRoutes is the table as configured: each row's TTL overridden by its variable (read with
// dur, which reports bad values), rows with a zero TTL dropped, and the per-status TTLs filled from
// statuses (the storable ones) and negative (the cap on 4xx and 5xx; 0 stores none).
func loadCacheRoutes(dur func(name string, def time.Duration) time.Duration, statuses []int, negative time.Duration) []cacheRoute {
	defaults, ttlEnv := defaultCacheRoutes()
	var routes []cacheRoute
	for i, r := range defaults {
		if r.TTL = dur(ttlEnv[i], r.TTL); r.TTL > 0 {
			routes = append(routes, r.withStatuses(statuses, negative))
		}
	}
	return routes
}

// withStatuses returns r with TTLs set for statuses.
func (r cacheRoute) withStatuses(statuses []int, negative time.Duration) cacheRoute {
	r.TTLs = map[int]time.Duration{}
	for _, s := range statuses {
		switch {
		case s < 400:
			r.TTLs[s] = r.TTL
		case negative > 0:
			r.TTLs[s] = min(r.TTL, negative)
		}
	}
	return r
}

// matches reports whether the stripped path is one of r's.
func (r *cacheRoute) matches(path string) bool {
	for _, p := range r.Paths {
		if path == p || strings.HasSuffix(p, "/") && strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}

// ttl returns the TTL of status on the route, 0 when the status is not stored.
func (r *cacheRoute) ttl(status int) time.Duration { return r.TTLs[status] }

// varies reports whether the upstream's Vary field may be served from one entry of r: Origin (the
// gateway answers CORS itself) or one of r's Vary headers.
func (r *cacheRoute) varies(field string) bool {
	return strings.EqualFold(field, "Origin") || slices.ContainsFunc(r.Vary, func(v string) bool { return strings.EqualFold(v, field) })
}

// key is r's cache key for a request of service for the stripped path: see cacheKey, then each Vary
// header's values, after '#'.
func (r *cacheRoute) key(service, path string, req *http.Request) string {
	var query url.Values
	if req.URL.RawQuery != "" {
		query = req.URL.Query()
	}
	k := cacheKey(service, path, query)
	if len(r.Vary) == 0 {
		return k
	}
	var b strings.Builder
	b.WriteString(k)
	b.WriteByte('#')
	for _, h := range r.Vary {
		b.WriteString(url.QueryEscape(strings.Join(req.Header.Values(h), ",")))
		b.WriteByte('&')
	}
	return b.String()
}

// cacheKey is the service plus the stripped path and the query with its parameters sorted, so
// ?a=1&b=2 and ?b=2&a=1 share an entry. Method is not part of it: HEAD is answered from GET's entry.
func cacheKey(service, path string, query url.Values) string {
	var b strings.Builder
	b.Grow(len("gw:c:") + len(service) + 1 + len(path))
	b.WriteString("gw:c:")
	b.WriteString(service)
	b.WriteByte(':')
	b.WriteString(path)
	if len(query) > 0 {
		b.WriteByte('?')
		b.WriteString(query.Encode()) // Encode sorts by key
	}
	return b.String()
}

// keyPath returns the stripped path of a key of service's, and false for another service's key.
func keyPath(key, service string) (string, bool) {
	rest, ok := strings.CutPrefix(key, "gw:c:"+service+":")
	if !ok {
		return "", false
	}
	if i := strings.IndexAny(rest, "?#"); i >= 0 {
		rest = rest[:i]
	}
	return rest, true
}

// eventPurges returns, per service, the stripped paths that events of type typ with data make wrong
// according to routes, and an error when data lacks a field a row needs.
func eventPurges(routes []cacheRoute, typ string, data map[string]any) (map[string][]string, error) {
	var out map[string][]string
	for _, r := range routes {
		for _, tmpl := range r.PurgeOnEvent[typ] {
			path, ok, err := expandPath(tmpl, data)
			if err != nil {
				return nil, err
			}
			if !ok || slices.Contains(out[r.Service], path) {
				continue
			}
			if out == nil {
				out = map[string][]string{}
			}
			out[r.Service] = append(out[r.Service], path)
		}
	}
	return out, nil
}

// expandPath fills tmpl's {field} and {field?} from data; ok is false when an optional field is
// missing. A value is used as it is: at worst an odd value purges entries nobody needed purged.
func expandPath(tmpl string, data map[string]any) (path string, ok bool, err error) {
	var b strings.Builder
	for {
		before, rest, found := strings.Cut(tmpl, "{")
		b.WriteString(before)
		if !found {
			return b.String(), true, nil
		}
		field, after, closed := strings.Cut(rest, "}")
		if !closed {
			return "", false, fmt.Errorf("path template %q: unclosed {", tmpl)
		}
		name, optional := strings.CutSuffix(field, "?")
		v, _ := data[name].(string)
		if v == "" {
			if optional {
				return "", false, nil
			}
			return "", false, fmt.Errorf("no %s", name)
		}
		b.WriteString(v)
		tmpl = after
	}
}

// eventTopics are the Kafka topics of the event types routes purge on: "product.created" is on
// "product.events".
func eventTopics(routes []cacheRoute) []string {
	var topics []string
	for _, r := range routes {
		for typ := range r.PurgeOnEvent {
			prefix, _, _ := strings.Cut(typ, ".")
			if t := prefix + ".events"; !slices.Contains(topics, t) {
				topics = append(topics, t)
			}
		}
	}
	slices.Sort(topics)
	return topics
}

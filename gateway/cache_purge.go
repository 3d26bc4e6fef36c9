package main

import (
	"context"
	"hash/maphash"
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/goshop/platform/shared"
)

// How cached entries are purged: by writes (the routes whose rows say PurgeOnWrite, in every
// instance) and by events (the paths the rows name), and how a fill that races a purge is kept from
// storing what the purge meant to remove.

// routeIndexKey names the purge index of a route's cached entries (a sorted set; the per-service
// "gw:cz:" and "gw:ci:" sets of earlier versions are left to expire).
func routeIndexKey(route string) string { return "gw:cr:" + route }

// pathIndexKey names the purge index of the entries of one stripped path, every query string
// included, so an event about one product purges that product's entries and not the catalog's.
func pathIndexKey(service, path string) string { return "gw:cp:" + service + ":" + path }

// pathStripes is how many path generation counters each service has (a power of two): 8 KiB per
// service, whatever paths clients send.
const pathStripes = 1024

// purgeGenerations counts the purges of one service: those of its PurgeOnWrite routes (writes,
// pub/sub) in writes, and of named paths (events) in the stripe of each path. Paths are striped by a
// hash of the stripped path without its query, so a path's purge covers every query string of it.
// Two paths sharing a stripe only make a fetch skip a store it could have made, never store one it
// must not.
type purgeGenerations struct {
	seed   maphash.Seed
	writes atomic.Uint64
	paths  [pathStripes]atomic.Uint64
}

// path returns the counter of path's stripe.
func (g *purgeGenerations) path(path string) *atomic.Uint64 {
	return &g.paths[maphash.String(g.seed, path)&(pathStripes-1)]
}

func newPurgeGenerations() *purgeGenerations {
	return &purgeGenerations{seed: maphash.MakeSeed()}
}

// generation returns service's purge counters, made on first use for a service not configured.
func (c *responseCache) generation(service string) *purgeGenerations {
	c.genMu.Lock()
	defer c.genMu.Unlock()
	g, ok := c.generations[service]
	if !ok {
		g = newPurgeGenerations()
		c.generations[service] = g
	}
	return g
}

// write proxies a write; one that did not fail as the client's fault purges the service's routes
// whose rows say PurgeOnWrite, here, in Redis and in the other instances, so the next read sees it.
func (c *responseCache) write(w http.ResponseWriter, r *http.Request, service string, next http.Handler) {
	switch r.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
	default:
		c.bypass(w, r, service, next) // OPTIONS, TRACE...: not a write
		return
	}
	if len(c.writePurged[service]) == 0 {
		c.bypass(w, r, service, next)
		return
	}
	rec := &shared.StatusRecorder{ResponseWriter: w}
	c.bypass(rec, r, service, next)
	if rec.Status >= 400 && rec.Status < 500 {
		return
	}
	c.purge(r.Context(), service)
}

// purge drops every entry of service's PurgeOnWrite routes, here, in Redis, and (through the bus) in
// the other gateway instances' in-process layers.
func (c *responseCache) purge(ctx context.Context, service string) {
	c.dropLocal(service)
	routes := c.writePurged[service]
	if len(routes) == 0 {
		return
	}
	indexes := make([]string, len(routes))
	for i, r := range routes {
		indexes[i] = routeIndexKey(r.Name)
	}
	if err := c.kv.Purge(ctx, indexes...); err != nil {
		c.logger.WarnContext(ctx, "cache purge failed; entries expire by TTL", "upstream", service, "err", err)
	}
	if c.bus != nil {
		if err := c.bus.Publish(ctx, service); err != nil {
			c.logger.WarnContext(ctx, "purge announcement failed; other gateways' in-process entries expire by TTL",
				"upstream", service, "err", err)
		}
	}
}

// dropLocal forgets the entries of service's PurgeOnWrite routes in the in-process layer, and makes
// fetches for them that started before now not store their answers. It is what a purge announced on
// the bus does in each instance.
func (c *responseCache) dropLocal(service string) {
	routes := c.writePurged[service]
	if len(routes) == 0 {
		return
	}
	c.generation(service).writes.Add(1)
	c.l1.DeleteFunc(func(key string) bool {
		path, ok := keyPath(key, service)
		if !ok {
			return false
		}
		for _, r := range routes {
			if r.matches(path) {
				return true
			}
		}
		return false
	})
}

// purgePaths drops the entries of service's stripped paths (every query string of each), here and in
// Redis. It does not announce the purge on the bus: it is called for Kafka events, which every gateway
// instance reads itself. Redis failing is returned, so the event is retried. Only fetches of these
// paths that are under way are kept from storing, not the rest of the service's.
func (c *responseCache) purgePaths(ctx context.Context, service string, paths ...string) error {
	gens := c.generation(service)
	bases := make([]string, len(paths))
	indexes := make([]string, len(paths))
	for i, p := range paths {
		gens.path(p).Add(1)
		bases[i] = cacheKey(service, p, nil)
		indexes[i] = pathIndexKey(service, p)
	}
	c.l1.DeleteFunc(func(key string) bool {
		for _, b := range bases {
			if strings.HasPrefix(key, b) && (len(key) == len(b) || key[len(b)] == '?' || key[len(b)] == '#') {
				return true
			}
		}
		return false
	})
	return c.kv.Purge(ctx, indexes...)
}

package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/goshop/platform/shared"
)

// The cache reads product.events and inventory.events and purges the entries each event makes wrong,
// so a write that does not pass through the gateway (the product service's own admin tools, the
// inventory reacting to orders) is seen at once rather than after the TTL.

// eventTopics are the topics the gateway consumes.
var eventTopics = []string{shared.TopicProduct, shared.TopicInventory}

// maxEventAge: events older than this on arrival are skipped. A fresh consumer group starts at the
// first offset; replaying the shop's history would purge the cache thousands of times for entries
// that expired long ago (route TTLs are minutes; an entry fresher than an hour that an old event
// could concern would need an upstream max-age over an hour).
const maxEventAge = time.Hour

// purger is the part of the response cache that events drive.
type purger interface {
	purgePaths(ctx context.Context, service string, paths ...string) error
}

// eventPurger turns events into purges.
type eventPurger struct {
	cache  purger
	logger *slog.Logger
	now    func() time.Time
	events *shared.CounterVec // by topic and result: purged, skipped, stale, poison
}

func newEventPurger(cache purger, logger *slog.Logger, metrics *shared.Metrics) *eventPurger {
	return &eventPurger{cache: cache, logger: logger, now: time.Now,
		events: metrics.Counter("gateway_cache_events_total", "Kafka events seen by the cache, by type and result.", "type", "result")}
}

// handle purges what e concerns; it is a shared.EventHandler. Purging twice changes nothing, so
// redeliveries are harmless. A Redis failure is returned (shared.Consume retries the event with
// backoff, so no purge is lost while Redis is down); malformed data is ErrPoison.
func (p *eventPurger) handle(ctx context.Context, e shared.Event) error {
	if !e.OccurredAt.IsZero() && p.now().Sub(e.OccurredAt) > maxEventAge {
		p.events.Inc(e.Type, "stale")
		return nil
	}
	service, paths, err := purgeTargets(e)
	switch {
	case errors.Is(err, shared.ErrPoison):
		p.events.Inc(e.Type, "poison")
		return err
	case err != nil:
		return err
	case len(paths) == 0:
		p.events.Inc(e.Type, "skipped")
		return nil
	}
	if err := p.cache.purgePaths(ctx, service, paths...); err != nil {
		return fmt.Errorf("purge %s %v: %w", service, paths, err)
	}
	p.events.Inc(e.Type, "purged")
	p.logger.DebugContext(ctx, "cache purged by event", "type", e.Type, "event_id", e.ID, "paths", paths)
	return nil
}

// purgeTargets names the service and the stripped paths whose entries e makes wrong: for a product,
// the catalog list (every query), the product by ID and by SKU; for a stock change, the stock list,
// the SKU's item and every batch answer. Other events concern no cached answer. Paths are the decoded
// form the cache keys use (r.URL.Path).
func purgeTargets(e shared.Event) (service string, paths []string, err error) {
	switch e.Type {
	case "product.created", "product.updated", "product.deleted":
		var d struct {
			ProductID string `json:"product_id"`
			SKU       string `json:"sku"`
		}
		if err := e.Decode(&d); err != nil || d.ProductID == "" {
			return "", nil, fmt.Errorf("%w: %s %s without product_id (%v)", shared.ErrPoison, e.Type, e.ID, err)
		}
		paths = []string{"/products", "/products/" + d.ProductID}
		if d.SKU != "" {
			paths = append(paths, "/products/sku/"+d.SKU)
		}
		return "product", paths, nil
	case "inventory.updated":
		var d struct {
			SKU string `json:"sku"`
		}
		if err := e.Decode(&d); err != nil || d.SKU == "" {
			return "", nil, fmt.Errorf("%w: %s %s without sku (%v)", shared.ErrPoison, e.Type, e.ID, err)
		}
		return "inventory", []string{"/inventory", "/inventory/batch", "/inventory/" + d.SKU}, nil
	}
	return "", nil, nil
}

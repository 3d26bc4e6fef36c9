package main

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/goshop/platform/shared"
)

// The cache reads the topics of the event types its table lists and purges the paths each event
// makes wrong, so a write that does not pass through the gateway (the product service's own admin
// tools, the inventory reacting to orders) is seen at once rather than after the TTL. The gateway also
// reads user.events for its deny list of suspended accounts (suspend.go).

// consumedTopics are the topics the gateway consumes: the cache table's, and user events.
func consumedTopics(routes []cacheRoute) []string {
	topics := eventTopics(routes)
	if !slices.Contains(topics, shared.TopicUser) {
		topics = append(topics, shared.TopicUser)
	}
	return topics
}

// evStatusChanged is the user event the deny list of suspended accounts follows (suspend.go).
const evStatusChanged = "user.status_changed"

// consumedTypes are the event types the gateway acts on, its consumer's ConsumerConfig.Types: those
// the cache table purges on, and evStatusChanged. The rest of the topics (inventory.reserved,
// order.*, ...) is skipped before it is decoded.
func consumedTypes(routes []cacheRoute) []string {
	types := []string{evStatusChanged}
	for _, r := range routes {
		for typ := range r.PurgeOnEvent {
			if !slices.Contains(types, typ) {
				types = append(types, typ)
			}
		}
	}
	slices.Sort(types)
	return types
}

// handleEvents is the gateway's shared.BatchHandler: account status changes go to the deny list,
// one by one, everything else to the cache, which purges for the whole batch at once.
func (gw *gateway) handleEvents(ctx context.Context, events []shared.Event) error {
	cache := make([]shared.Event, 0, len(events))
	for _, e := range events {
		if e.Type != evStatusChanged {
			cache = append(cache, e)
		} else if err := gw.suspended.handle(ctx, e); err != nil {
			return err
		}
	}
	return gw.events.handle(ctx, cache...)
}

// maxEventAge: events older than this on arrival are skipped. A fresh consumer group starts at the
// first offset; replaying the shop's history would purge the cache thousands of times for entries
// that expired long ago (route TTLs are minutes, and an upstream can only shorten them).
const maxEventAge = time.Hour

// purgeBatchWait is how long the consumer collects events into one batch, whose paths are purged
// once each: the same few products' stock changes many times a second under checkout load. It is
// the most an event's purge waits for the batch, on top of the event's way through Kafka.
const purgeBatchWait = 20 * time.Millisecond

// purgeFetchWait is how long the broker may hold the consumer's fetch to gather a partition's events
// (shared.ConsumerConfig.FetchWait): under checkout load inventory.events brings several events per
// order, each otherwise a fetch of its own. Added to purgeBatchWait it bounds how much later than at
// its arrival in Kafka an event purges (220 ms, far under the shortest row TTL, 30 s) or denies a
// suspended account.
const purgeFetchWait = 200 * time.Millisecond

// purger is the part of the response cache that events drive.
type purger interface {
	purgePaths(ctx context.Context, service string, paths ...string) error
}

// eventPurger turns events into purges by the cache table's PurgeOnEvent.
type eventPurger struct {
	cache  purger
	routes []cacheRoute
	logger *slog.Logger
	now    func() time.Time
	events *shared.CounterVec // by topic and result: purged, skipped, stale, poison
}

func newEventPurger(cache purger, routes []cacheRoute, logger *slog.Logger, metrics *shared.Metrics) *eventPurger {
	return &eventPurger{cache: cache, routes: routes, logger: logger, now: time.Now,
		events: metrics.Counter("gateway_cache_events_total", "Kafka events seen by the cache, by type and result.", "type", "result")}
}

// handle purges what events concern, each path once however many of them name it (under checkout
// load the same few products' stock changes many times a second), in one Redis call per service.
// Purging twice changes nothing, so redeliveries are harmless. A Redis failure is returned
// (shared.Consume retries, so no purge is lost while Redis is down); data a row needs but an event
// lacks is ErrPoison, returned before anything is purged (a batch then comes back event by event,
// and the poison event is counted when it comes alone).
func (p *eventPurger) handle(ctx context.Context, events ...shared.Event) error {
	results := make([]string, len(events))
	merged := map[string][]string{} // service -> paths, each once
	seen := map[[2]string]bool{}
	for i, e := range events {
		if !e.OccurredAt.IsZero() && p.now().Sub(e.OccurredAt) > maxEventAge {
			results[i] = "stale"
			continue
		}
		targets, err := p.targets(e)
		if err != nil {
			if len(events) == 1 {
				p.events.Inc(e.Type, "poison")
			}
			return err
		}
		results[i] = "skipped"
		for service, paths := range targets {
			results[i] = "purged"
			for _, path := range paths {
				if k := [2]string{service, path}; !seen[k] {
					seen[k] = true
					merged[service] = append(merged[service], path)
				}
			}
		}
	}
	for service, paths := range merged {
		if err := p.cache.purgePaths(ctx, service, paths...); err != nil {
			return fmt.Errorf("purge %s %v: %w", service, paths, err)
		}
	}
	for i, e := range events {
		p.events.Inc(e.Type, results[i])
	}
	if len(merged) > 0 {
		p.logger.DebugContext(ctx, "cache purged by events", "events", len(events), "paths", merged)
	}
	return nil
}

// targets names, per service, the stripped paths whose entries e makes wrong (eventPurges). Paths are
// the decoded form the cache keys use (r.URL.Path).
func (p *eventPurger) targets(e shared.Event) (map[string][]string, error) {
	listed := false
	for _, r := range p.routes {
		if _, ok := r.PurgeOnEvent[e.Type]; ok {
			listed = true
			break
		}
	}
	if !listed {
		return nil, nil
	}
	var data map[string]any
	if err := e.Decode(&data); err != nil {
		return nil, err
	}
	targets, err := eventPurges(p.routes, e.Type, data)
	if err != nil {
		return nil, e.Poison("%v", err)
	}
	return targets, nil
}

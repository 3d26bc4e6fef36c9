package main

import (
	"context"
	"errors"
	"time"

	"github.com/goshop/platform/shared"
)

// adoptActiveFlags is a start-up step for a Mongo store written before stock items had the inactive
// flag: such items read as active, so a draft's stock would stay public until its product changes
// again. When there are any, it reads product.events from the start (read: shared.ReadTopic) and
// gives each of them its product's last known flag. Only items still without a flag are written, so
// the consumer running meanwhile, whose events are newer, wins; an inactive one gets
// inventory.updated, which purges the gateway's cached reads. Items no event names (the topic's
// retention dropped them) stay as they were, active, and are counted in the log; the step runs
// again at the next start. With no unflagged items (every store written since) it is one count.
func (inv *inventory) adoptActiveFlags(ctx context.Context, read func(context.Context, shared.EventHandler) error) error {
	n, err := inv.store.UnflaggedItems(ctx)
	if err != nil || n == 0 {
		return err
	}
	type flag struct {
		inactive bool
		version  int64
	}
	last := map[string]flag{} // SKU → from its product's newest created or updated event
	err = read(ctx, func(_ context.Context, e shared.Event) error {
		if e.Type != "product.created" && e.Type != "product.updated" {
			return nil
		}
		d, sku, inactive, err := decodeProduct(e)
		if err == nil && (d.Version == 0 || d.Version > last[sku].version) {
			last[sku] = flag{inactive, d.Version}
		}
		return err
	})
	if err != nil {
		return err
	}
	adopted, hidden := 0, 0
	now := time.Now().UTC()
	for sku, f := range last {
		it, changed, err := inv.store.AdoptInactive(ctx, sku, f.inactive, f.version, now)
		if errors.Is(err, shared.ErrNotFound) || err == nil && !changed {
			continue
		}
		if err != nil {
			return err
		}
		adopted++
		if f.inactive {
			hidden++
			if err := inv.emit(ctx, inv.stockEvents(it, it.Available)...); err != nil {
				return err
			}
		}
	}
	left, err := inv.store.UnflaggedItems(ctx)
	if err != nil {
		return err
	}
	inv.logger.InfoContext(ctx, "stock items stored before the inactive flag got their product's", "unflagged", n,
		"adopted", adopted, "inactive", hidden, "left_active", left)
	if left > 0 {
		inv.logger.WarnContext(ctx, "stock items whose product has no event left in product.events stay public; save those products once to set them",
			"count", left)
	}
	return nil
}

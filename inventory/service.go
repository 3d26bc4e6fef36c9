package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/goshop/platform/shared"
)

// Event types inventory publishes on shared.TopicInventory (payloads: docs/events.md).
const (
	evReserved  = "inventory.reserved"
	evRejected  = "inventory.rejected"
	evReleased  = "inventory.released"
	evCommitted = "inventory.committed"
	evUpdated   = "inventory.updated"
	evLowStock  = "inventory.low_stock"
)

// Release reasons of inventory.released.
const (
	reasonExpired   = "expired"
	reasonCancelled = "cancelled"
	// reasonPaidAfterExpiry marks a reservation taken again for a payment that arrived after expiry.
	reasonPaidAfterExpiry = "paid after expiry"
)

// releasingStaleAfter is how long a reservation may sit in "releasing" before a sweeper assumes the
// instance releasing it died and finishes the job (every step of a release is idempotent).
const releasingStaleAfter = time.Minute

// inventory is the domain: stock items, reservations and the events they cause. Every change is made
// in the store first, then its events are written to the outbox, which the relay publishes. Outcome
// events of an order have IDs derived from the order, so a replay re-emits the same event rather
// than a new one, and a crash between the change and the outbox write is healed by the redelivered
// order event.
type inventory struct {
	store     stockStore
	logger    *slog.Logger
	ttl       time.Duration
	threshold int64
	// wake tells the outbox relay that events were written; it never blocks.
	wake    func()
	results *shared.CounterVec
}

// newInventory returns the domain over store; wake (the relay's Wake, or nil) is called after every
// outbox write.
func newInventory(logger *slog.Logger, store stockStore, metrics *shared.Metrics, ttl time.Duration, threshold int64, wake func()) *inventory {
	if wake == nil {
		wake = func() {}
	}
	return &inventory{store: store, logger: logger, ttl: ttl, threshold: threshold, wake: wake,
		results: metrics.Counter("inventory_reservation_results_total", "Reservation outcomes by result.", "result")}
}

// orderLine and orderData are the parts of order events inventory reads.
type orderLine struct {
	SKU      string `json:"sku"`
	Quantity int64  `json:"quantity"`
}

type orderData struct {
	OrderID string      `json:"order_id"`
	UserID  string      `json:"user_id"`
	Items   []orderLine `json:"items"`
	Reason  string      `json:"reason"`
}

// lines validates and merges an order's lines (one per SKU, sorted by SKU). The error says what is
// wrong, for the rejection reason.
func (o orderData) lines() ([]Line, error) {
	if len(o.Items) == 0 || len(o.Items) > maxOrderLines {
		return nil, fmt.Errorf("an order needs 1 to %d lines", maxOrderLines)
	}
	sum := map[string]int64{}
	for i, it := range o.Items {
		sku, err := normalizeSKU(it.SKU)
		if err != nil {
			return nil, fmt.Errorf("line %d: sku %w", i, err)
		}
		if it.Quantity < 1 || it.Quantity > maxQuantity {
			return nil, fmt.Errorf("line %d: quantity must be between 1 and %d", i, maxQuantity)
		}
		sum[sku] += it.Quantity
	}
	out := make([]Line, 0, len(sum))
	for sku, q := range sum {
		out = append(out, Line{SKU: sku, Quantity: q})
	}
	slices.SortFunc(out, func(a, b Line) int { return strings.Compare(a.SKU, b.SKU) })
	return out, nil
}

// outcomeID is the event ID of an order's outcome event of type typ: the same on every replay, so
// consumers drop the duplicate.
func outcomeID(typ, orderID string) string {
	h := sha256.Sum256([]byte("inventory\x00" + typ + "\x00" + orderID))
	return hex.EncodeToString(h[:16])
}

func (inv *inventory) outcome(typ string, r Reservation, data any) (shared.Event, error) {
	e, err := shared.NewEvent(typ, r.OrderID, data)
	e.ID = outcomeID(typ, r.OrderID)
	return e, err
}

// emit writes events to the outbox and wakes the relay.
func (inv *inventory) emit(ctx context.Context, events ...shared.Event) error {
	if len(events) == 0 {
		return nil
	}
	for i := range events {
		events[i] = events[i].WithTrace(ctx)
	}
	if err := inv.store.AddOutbox(ctx, shared.TopicInventory, events...); err != nil {
		return err
	}
	inv.wake()
	return nil
}

// stockEvents are the events of a change of item: inventory.updated, and inventory.low_stock when
// available fell to the threshold or below from above it. before is available before the change; a
// new item passes threshold+1, so a low initial stock is reported too.
func (inv *inventory) stockEvents(it StockItem, before int64) []shared.Event {
	type updated struct {
		SKU       string `json:"sku"`
		OnHand    int64  `json:"on_hand"`
		Reserved  int64  `json:"reserved"`
		Available int64  `json:"available"`
	}
	type lowStock struct {
		SKU               string `json:"sku"`
		Available         int64  `json:"available"`
		LowStockThreshold int64  `json:"low_stock_threshold"`
	}
	var out []shared.Event
	if e, err := shared.NewEvent(evUpdated, it.SKU, updated{it.SKU, it.OnHand, it.Reserved, it.Available}); err == nil {
		out = append(out, e)
	}
	if it.Available <= it.LowStockThreshold && before > it.LowStockThreshold && !it.Deleted {
		if e, err := shared.NewEvent(evLowStock, it.SKU, lowStock{it.SKU, it.Available, it.LowStockThreshold}); err == nil {
			out = append(out, e)
		}
	}
	return out
}

// CreateItem creates the stock item of a new product with its initial stock and its product's
// inactive flag, once: a replayed product.created changes nothing.
func (inv *inventory) CreateItem(ctx context.Context, sku string, stock int64, inactive bool, version int64) (bool, error) {
	now := time.Now().UTC()
	it := StockItem{SKU: sku, OnHand: stock, Available: stock, LowStockThreshold: inv.threshold, Inactive: inactive,
		ProductVersion: version, UpdatedAt: now}
	created, err := inv.store.CreateItem(ctx, it, Movement{Delta: stock, Reason: "initial stock", Actor: "product.created", At: now})
	if err != nil || !created {
		return created, err
	}
	return true, inv.emit(ctx, inv.stockEvents(it, it.LowStockThreshold+1)...)
}

// SetInactive follows a product switched on or off (product.updated), so reads show its item to
// everyone or to admins only. A change is followed by inventory.updated, on which the gateway purges
// the item's cached reads (a public 404 of a product just released among them). An unknown SKU is
// not an error: the item of a product created before inventory was is never made here.
func (inv *inventory) SetInactive(ctx context.Context, sku string, inactive bool, version int64) error {
	it, changed, err := inv.store.SetInactive(ctx, sku, inactive, version, time.Now().UTC())
	if errors.Is(err, shared.ErrNotFound) {
		return nil
	}
	if err != nil || !changed {
		return err
	}
	return inv.emit(ctx, inv.stockEvents(it, it.Available)...)
}

// DeleteItem marks a deleted product's item so it can no longer be reserved. Held reservations stay
// and run their course. An unknown SKU is not an error.
func (inv *inventory) DeleteItem(ctx context.Context, sku string) error {
	it, err := inv.store.MarkDeleted(ctx, sku, time.Now().UTC())
	if errors.Is(err, shared.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return inv.emit(ctx, inv.stockEvents(it, it.Available)...)
}

// Adjust adds delta to the on-hand stock of sku, recorded as a movement. ErrConflict when on hand
// would drop below what is reserved; ErrNotFound.
//
// key is the request's Idempotency-Key ("" without one; shared.ValidIdempotencyKey checked it). The first
// adjustment actor makes with a key applies; a repeat with the same sku, delta and reason while its
// movement is among the item's newest maxMovements changes nothing, writes no event and returns the
// item as it is now with replayed true; the key with another sku, delta or reason is errKeyReused.
// A request that failed (404, 409) stored nothing, so its key stays free.
func (inv *inventory) Adjust(ctx context.Context, sku string, delta int64, reason, actor, key string) (it StockItem, replayed bool, err error) {
	m := Movement{Delta: delta, Reason: reason, Actor: actor, At: time.Now().UTC()}
	if key != "" {
		m.Key, m.Request = adjustKey(actor, key), adjustFingerprint(sku, delta, reason)
	}
	it, applied, err := inv.store.Adjust(ctx, sku, m)
	if err != nil || !applied {
		return it, err == nil, err
	}
	if err := inv.emit(ctx, inv.stockEvents(it, it.Available-delta)...); err != nil {
		inv.logger.ErrorContext(ctx, "adjusted stock but could not store its events", "sku", sku, "err", err)
	}
	return it, false, nil
}

// errKeyReused is the answer to an Idempotency-Key its actor already used for another adjustment:
// another delta or reason on the same item, or another item (found among the newest movements of
// every item).
var errKeyReused = &shared.Error{Code: shared.CodeConflict, Message: "Idempotency-Key was already used with a different request"}

// adjustKey is the key stored on a movement: the client's key scoped to the admin who sent it, so two
// admins (or scripts) that happen to pick the same key never take each other's adjustment for a
// replay of their own. Hashed, so the stored value has a fixed size and no separator can be forged.
func adjustKey(actor, key string) string {
	h := sha256.Sum256([]byte("adjust\x00" + actor + "\x00" + key))
	return hex.EncodeToString(h[:16])
}

// adjustFingerprint identifies an adjust request for the replay check: its SKU (normal form), delta
// and trimmed reason.
func adjustFingerprint(sku string, delta int64, reason string) string {
	h := sha256.Sum256(fmt.Appendf(nil, "%s\x00%d\x00%s", sku, delta, reason))
	return hex.EncodeToString(h[:16])
}

package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/goshop/platform/shared"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
)

// stockStore keeps stock items, reservations and the event outbox. Every method that changes stock is
// one atomic conditional update of one item, so concurrent callers (and several inventory instances)
// can never take more than there is. Errors wrap shared.ErrNotFound, shared.ErrConflict or
// shared.ErrUnavailable where said; anything else is a store failure worth retrying.
type stockStore interface {
	// CreateItem inserts item unless its SKU already has one; created is false then and the existing
	// item is left untouched (a replayed product.created never resets stock).
	CreateItem(ctx context.Context, item StockItem, m Movement) (created bool, err error)
	// SetInactive sets the item's inactive flag from its product's version (0: an event without one,
	// applied whatever the item holds); an older or equal version than the item's changes nothing.
	// changed is true when the flag was written: it differed, or the item had none (stored before the
	// flag). ErrNotFound.
	SetInactive(ctx context.Context, sku string, inactive bool, version int64, at time.Time) (item StockItem, changed bool, err error)
	// UnflaggedItems counts the items stored before items had the inactive flag (none in memory).
	UnflaggedItems(ctx context.Context) (int64, error)
	// AdoptInactive sets the inactive flag of an item stored without one; changed is false when the
	// item has one already (set since by the consumer, whose is newer). ErrNotFound.
	AdoptInactive(ctx context.Context, sku string, inactive bool, version int64, at time.Time) (item StockItem, changed bool, err error)
	// MarkDeleted flags the item deleted, so new holds of it fail. ErrNotFound.
	MarkDeleted(ctx context.Context, sku string, at time.Time) (StockItem, error)
	// Get returns one item. ErrNotFound.
	Get(ctx context.Context, sku string) (StockItem, error)
	// List returns a page of the items q selects (never deleted ones; inactive ones only with
	// q.IncludeInactive), ordered by SKU, and the total count selected.
	List(ctx context.Context, q stockQuery) ([]StockItem, int64, error)
	// Batch returns the items of the SKUs that exist, ordered by SKU, deleted and inactive ones included.
	Batch(ctx context.Context, skus []string) ([]StockItem, error)
	// Adjust adds m.Delta to on hand and records m, unless that would take on hand below reserved
	// (or above maxOnHand): ErrConflict. ErrNotFound, also for a deleted product's item. applied is
	// true with the item after the change. With m.Key set, "no kept movement of the item holds
	// m.Key" is part of the same conditional write, so concurrent repeats apply once: when one does,
	// nothing changes and applied is false with the item as it is now if its m.Request is the same,
	// else errKeyReused. A kept movement of another item holding m.Key is errKeyReused too (checked
	// just before the write: two concurrent first uses of a key on two items can both apply).
	Adjust(ctx context.Context, sku string, m Movement) (item StockItem, applied bool, err error)
	// Movements returns the newest recorded movements of an item, oldest first. ErrNotFound.
	Movements(ctx context.Context, sku string) ([]Movement, error)

	// Hold reserves qty of sku for order when available >= qty and the item is not deleted. held is
	// true with the item after the hold, or when the order already held this SKU (a replay, nothing
	// changes); false with the item as it is when stock was short. ErrNotFound.
	Hold(ctx context.Context, sku, orderID string, qty int64, at time.Time) (item StockItem, held bool, err error)
	// Unhold gives the order's hold on sku back; changed is false when it held nothing there.
	Unhold(ctx context.Context, sku, orderID string, at time.Time) (item StockItem, changed bool, err error)
	// CommitHold makes the order's hold on sku leave: on hand and reserved both drop by its quantity
	// and sold grows by it, in the same write. changed is false when there was no hold.
	CommitHold(ctx context.Context, sku, orderID string, at time.Time) (item StockItem, changed bool, err error)
	// Restock puts qty of a refunded order back on hand and takes it off sold, once per SKU and order.
	Restock(ctx context.Context, sku, orderID string, qty int64, at time.Time) (item StockItem, changed bool, err error)
	// Stats sums every item into the figures of GET /inventory/stats (stats.go).
	Stats(ctx context.Context) (stockStats, error)

	// CreateReservation inserts r; ErrConflict when the order already has one.
	CreateReservation(ctx context.Context, r Reservation) error
	// GetReservation returns the order's reservation. ErrNotFound.
	GetReservation(ctx context.Context, orderID string) (Reservation, error)
	// TransitionReservation applies u when the reservation's state is one of from, atomically, and
	// returns it after. ErrConflict when the state is another; ErrNotFound.
	TransitionReservation(ctx context.Context, orderID string, from []resState, u reservationUpdate) (Reservation, error)
	// DueReservations returns up to limit reservations that are held with expires_at <= now, or have
	// been releasing since before stale (a sweeper that died mid-way).
	DueReservations(ctx context.Context, now, stale time.Time, limit int) ([]Reservation, error)
	// RefundsToClear returns up to limit reservations released after a commit (refunds) that
	// settled before the given time and whose refund markers are still on their items.
	RefundsToClear(ctx context.Context, before time.Time, limit int) ([]Reservation, error)
	// ClearRefunds removes the order's refund marker from the items of skus (those that exist), then
	// marks its reservation RefundsCleared. Repeating it changes nothing.
	ClearRefunds(ctx context.Context, orderID string, skus []string) error

	// AddOutbox stores events for the relay; an event whose ID is already stored is skipped.
	AddOutbox(ctx context.Context, topic string, events ...shared.Event) error
	// OutboxStore: PendingOutbox returns up to limit stored events, oldest first; MarkPublished
	// deletes the given events.
	shared.OutboxStore
}

// mongoStore is the MongoDB stockStore. Collections: stock (_id = SKU; holds.<order> = held quantity,
// refunds.<order> = restocked quantity, movements capped at maxMovements), reservations (_id = order
// ID, which is the unique idempotency key), outbox (_id = event ID).
type mongoStore struct {
	stock        *mongo.Collection
	reservations *mongo.Collection
	outbox       *mongo.Collection
}

var _ stockStore = (*mongoStore)(nil)

func newMongoStore(db *mongo.Database) *mongoStore {
	return &mongoStore{stock: db.Collection("stock"), reservations: db.Collection("reservations"), outbox: db.Collection("outbox")}
}

// EnsureIndexes creates the indexes the sweeper, the relay, the list's levels and Adjust's
// idempotency keys query by.
// Uniqueness of SKUs and order IDs, and the SKU prefix search, are the _id index.
func (s *mongoStore) EnsureIndexes(ctx context.Context) error {
	if err := shared.EnsureIndexes(ctx, s.stock, "inventory.indexes",
		mongo.IndexModel{Keys: bson.D{{Key: "low_stock_threshold", Value: 1}, {Key: "available", Value: 1}}},
		mongo.IndexModel{Keys: bson.D{{Key: "available", Value: 1}}},
		mongo.IndexModel{Keys: bson.D{{Key: "reserved", Value: 1}}},
		// Adjust looks an Idempotency-Key up among every item's kept movements.
		mongo.IndexModel{Keys: bson.D{{Key: "movements.key", Value: 1}}},
	); err != nil {
		return err
	}
	if err := shared.EnsureIndexes(ctx, s.reservations, "inventory.indexes", reservationIndexes...); err != nil {
		return err
	}
	return shared.EnsureIndexes(ctx, s.outbox, "inventory.indexes", mongo.IndexModel{Keys: bson.D{{Key: "seq", Value: 1}}})
}

// reservationIndexes serve the sweeper: DueReservations (state, expires_at) and RefundsToClear
// (refunds whose markers are still out, refunds_cleared absent, oldest first: refundsSort).
var reservationIndexes = []mongo.IndexModel{
	{Keys: bson.D{{Key: "state", Value: 1}, {Key: "expires_at", Value: 1}}},
	{Keys: bson.D{{Key: "state", Value: 1}, {Key: "committed", Value: 1}, {Key: "refunds_cleared", Value: 1}, {Key: "settled_at", Value: 1}}},
}

// EnsureRetention creates the TTL index that removes settled reservation records after
// reservationRetention. Servers without TTL indexes (FerretDB) refuse it; records are then kept.
func (s *mongoStore) EnsureRetention(ctx context.Context) error {
	_, err := s.reservations.Indexes().CreateOne(ctx, mongo.IndexModel{Keys: bson.D{{Key: "settled_at", Value: 1}},
		Options: options.Index().SetExpireAfterSeconds(int32(reservationRetention.Seconds()))})
	return shared.MongoErr("inventory.retention", err)
}

type stockDoc struct {
	SKU      string `bson:"_id"`
	OnHand   int64  `bson:"on_hand"`
	Reserved int64  `bson:"reserved"`
	// Available is stored, not computed: every update changes it together with on_hand and
	// reserved, so a plain {available: {$gte: qty}} filter (no $expr) makes holds atomic.
	Available         int64 `bson:"available"`
	LowStockThreshold int64 `bson:"low_stock_threshold"`
	Sold              int64 `bson:"sold"` // absent (0) on items stored before the counter
	// Inactive is absent (false) on items stored before the flag, until the start-up step
	// adoptActiveFlags or their product's next product.updated sets it; every item stored since has it.
	Inactive bool `bson:"inactive"`
	// ProductVersion is the version of the product event that last set Inactive (0: none said).
	ProductVersion int64            `bson:"product_version,omitempty"`
	Deleted        bool             `bson:"deleted"`
	UpdatedAt      time.Time        `bson:"updated_at"`
	Holds          map[string]int64 `bson:"holds,omitempty"`
	Refunds        map[string]int64 `bson:"refunds,omitempty"`
	Movements      []Movement       `bson:"movements,omitempty"`
}

func (d stockDoc) item() StockItem {
	return StockItem{SKU: d.SKU, OnHand: d.OnHand, Reserved: d.Reserved, Available: d.Available,
		LowStockThreshold: d.LowStockThreshold, Sold: d.Sold, Inactive: d.Inactive, ProductVersion: d.ProductVersion, Deleted: d.Deleted, UpdatedAt: d.UpdatedAt.UTC()}
}

// itemProjection leaves out the per-order maps and movements that reads do not need.
var itemProjection = bson.D{{Key: "holds", Value: 0}, {Key: "refunds", Value: 0}, {Key: "movements", Value: 0}}

func (s *mongoStore) CreateItem(ctx context.Context, item StockItem, m Movement) (bool, error) {
	doc := stockDoc{SKU: item.SKU, OnHand: item.OnHand, Available: item.OnHand, LowStockThreshold: item.LowStockThreshold,
		Inactive: item.Inactive, ProductVersion: item.ProductVersion, UpdatedAt: item.UpdatedAt, Movements: []Movement{m}}
	_, err := s.stock.InsertOne(ctx, doc)
	if mongo.IsDuplicateKeyError(err) {
		return false, nil
	}
	if err != nil {
		return false, shared.MongoErr("stock.create", err)
	}
	return true, nil
}

// update runs one FindOneAndUpdate on the stock collection and returns the item after it, or
// mongo.ErrNoDocuments when the filter matched nothing. It fetches the whole document (holds and
// movements are bounded): FerretDB does not implement projections in findAndModify.
func (s *mongoStore) update(ctx context.Context, filter, upd bson.D) (StockItem, error) {
	d, err := s.updateDoc(ctx, filter, upd)
	return d.item(), err
}

func (s *mongoStore) updateDoc(ctx context.Context, filter, upd bson.D) (stockDoc, error) {
	var d stockDoc
	err := s.stock.FindOneAndUpdate(ctx, filter, upd,
		options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&d)
	return d, err
}

func (s *mongoStore) MarkDeleted(ctx context.Context, sku string, at time.Time) (StockItem, error) {
	it, err := s.update(ctx, bson.D{{Key: "_id", Value: sku}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "deleted", Value: true}, {Key: "updated_at", Value: at}}}})
	return it, shared.MongoErr("stock.delete", err)
}

func (s *mongoStore) SetInactive(ctx context.Context, sku string, inactive bool, version int64, at time.Time) (StockItem, bool, error) {
	newer := bson.D{{Key: "_id", Value: sku}}
	set := bson.D{}
	if version > 0 {
		newer = append(newer, bson.E{Key: "$or", Value: bson.A{
			bson.D{{Key: "product_version", Value: bson.D{{Key: "$lt", Value: version}}}},
			bson.D{{Key: "product_version", Value: bson.D{{Key: "$exists", Value: false}}}}}})
		set = append(set, bson.E{Key: "product_version", Value: version})
	}
	// First the write that changes the flag. It also matches an item stored before the flag (no
	// field), so that adoptActiveFlags, which writes only items without one, never overrides the
	// consumer.
	it, err := s.update(ctx, append(newer, bson.E{Key: "inactive", Value: bson.D{{Key: "$ne", Value: inactive}}}),
		bson.D{{Key: "$set", Value: append(set, bson.E{Key: "inactive", Value: inactive}, bson.E{Key: "updated_at", Value: at})}})
	if err == nil || !errors.Is(err, mongo.ErrNoDocuments) {
		return it, err == nil, shared.MongoErr("stock.inactive", err)
	}
	// The flag is so already (or the event is older, or no such item): a newer version is recorded.
	if len(set) > 0 {
		if _, err := s.stock.UpdateOne(ctx, newer, bson.D{{Key: "$set", Value: set}}); err != nil {
			return StockItem{}, false, shared.MongoErr("stock.inactive", err)
		}
	}
	it, err = s.Get(ctx, sku)
	return it, false, err
}

// unflagged selects the items stored before the inactive flag.
var unflagged = bson.E{Key: "inactive", Value: bson.D{{Key: "$exists", Value: false}}}

func (s *mongoStore) UnflaggedItems(ctx context.Context) (int64, error) {
	n, err := s.stock.CountDocuments(ctx, bson.D{unflagged})
	return n, shared.MongoErr("stock.unflagged", err)
}

func (s *mongoStore) AdoptInactive(ctx context.Context, sku string, inactive bool, version int64, at time.Time) (StockItem, bool, error) {
	set := bson.D{{Key: "inactive", Value: inactive}, {Key: "updated_at", Value: at}}
	if version > 0 {
		set = append(set, bson.E{Key: "product_version", Value: version})
	}
	it, err := s.update(ctx, bson.D{{Key: "_id", Value: sku}, unflagged}, bson.D{{Key: "$set", Value: set}})
	if errors.Is(err, mongo.ErrNoDocuments) {
		it, err = s.Get(ctx, sku) // flagged already, or no such item
		return it, false, err
	}
	return it, err == nil, shared.MongoErr("stock.adopt", err)
}

func (s *mongoStore) Get(ctx context.Context, sku string) (StockItem, error) {
	d, err := shared.FindOne[stockDoc](ctx, s.stock, "stock.get", bson.D{{Key: "_id", Value: sku}}, options.FindOne().SetProjection(itemProjection))
	if err != nil {
		return StockItem{}, err
	}
	return d.item(), nil
}

func (s *mongoStore) find(ctx context.Context, op string, filter bson.D, opts *options.FindOptions) ([]StockItem, error) {
	docs, err := shared.FindAll[stockDoc](ctx, s.stock, op, filter, opts.SetProjection(itemProjection))
	if err != nil {
		return nil, err
	}
	out := make([]StockItem, 0, len(docs))
	for _, d := range docs {
		out = append(out, d.item())
	}
	return out, nil
}

func (s *mongoStore) List(ctx context.Context, q stockQuery) ([]StockItem, int64, error) {
	filter, err := mongoStockFilter(ctx, s.stock, q)
	if err != nil {
		return nil, 0, err
	}
	total, err := s.stock.CountDocuments(ctx, filter)
	if err != nil {
		return nil, 0, shared.MongoErr("stock.list", err)
	}
	items, err := s.find(ctx, "stock.list", filter, options.Find().
		SetSort(bson.D{{Key: "_id", Value: 1}}).SetSkip(int64((q.Page-1)*q.Limit)).SetLimit(int64(q.Limit)))
	return items, total, err
}

func (s *mongoStore) Batch(ctx context.Context, skus []string) ([]StockItem, error) {
	return s.find(ctx, "stock.batch", bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: skus}}}},
		options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
}

func (s *mongoStore) Adjust(ctx context.Context, sku string, m Movement) (StockItem, bool, error) {
	// on_hand + delta >= reserved  ⟺  available >= -delta.
	filter := bson.D{{Key: "_id", Value: sku}, {Key: "deleted", Value: bson.D{{Key: "$ne", Value: true}}},
		{Key: "available", Value: bson.D{{Key: "$gte", Value: -m.Delta}}},
		{Key: "on_hand", Value: bson.D{{Key: "$lte", Value: maxOnHand - m.Delta}}}}
	if m.Key != "" {
		// No element of movements holds the key: a repeat, even a concurrent one, matches nothing.
		filter = append(filter, bson.E{Key: "movements.key", Value: bson.D{{Key: "$ne", Value: m.Key}}})
		err := s.stock.FindOne(ctx, bson.D{{Key: "movements.key", Value: m.Key}, {Key: "_id", Value: bson.D{{Key: "$ne", Value: sku}}}},
			options.FindOne().SetProjection(bson.D{{Key: "_id", Value: 1}})).Err()
		if err == nil {
			return StockItem{}, false, fmt.Errorf("stock.adjust: key used on another item: %w", errKeyReused)
		}
		if !errors.Is(err, mongo.ErrNoDocuments) {
			return StockItem{}, false, shared.MongoErr("stock.adjust", err)
		}
	}
	upd := bson.D{
		{Key: "$inc", Value: bson.D{{Key: "on_hand", Value: m.Delta}, {Key: "available", Value: m.Delta}}},
		{Key: "$set", Value: bson.D{{Key: "updated_at", Value: m.At}}},
		{Key: "$push", Value: bson.D{{Key: "movements", Value: bson.D{{Key: "$each", Value: bson.A{m}}, {Key: "$slice", Value: -maxMovements}}}}},
	}
	d, err := s.updateDoc(ctx, filter, upd)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return s.adjustRefused(ctx, sku, m)
	}
	if err != nil {
		return StockItem{}, false, shared.MongoErr("stock.adjust", err)
	}
	// MongoDB trims with $slice in the update itself; servers that ignore the modifier (FerretDB)
	// get the oldest entries popped here, best effort: the cap only bounds the document size.
	for range len(d.Movements) - maxMovements {
		if _, err := s.stock.UpdateOne(ctx, bson.D{{Key: "_id", Value: sku}}, bson.D{{Key: "$pop", Value: bson.D{{Key: "movements", Value: -1}}}}); err != nil {
			break
		}
	}
	return d.item(), true, nil
}

// adjustRefused says why Adjust's update matched nothing: no such item (or a deleted one), the key
// already used on it (a replay, or errKeyReused), or the bounds on on hand.
func (s *mongoStore) adjustRefused(ctx context.Context, sku string, m Movement) (StockItem, bool, error) {
	d, err := shared.FindOne[stockDoc](ctx, s.stock, "stock.adjust", bson.D{{Key: "_id", Value: sku}},
		options.FindOne().SetProjection(bson.D{{Key: "holds", Value: 0}, {Key: "refunds", Value: 0}}))
	if err != nil || d.Deleted {
		return StockItem{}, false, fmt.Errorf("stock.adjust: %w", cmp.Or(err, error(shared.ErrNotFound)))
	}
	return keptAdjustment(d.item(), d.Movements, m)
}

// keptAdjustment is Adjust's answer when the item (it, with its kept movements ms) did not take m:
// a replay or errKeyReused when a movement holds m's key, else the bounds' ErrConflict.
func keptAdjustment(it StockItem, ms []Movement, m Movement) (StockItem, bool, error) {
	if m.Key != "" {
		if i := slices.IndexFunc(ms, func(prev Movement) bool { return prev.Key == m.Key }); i >= 0 {
			if ms[i].Request != m.Request {
				return StockItem{}, false, fmt.Errorf("stock.adjust: %w", errKeyReused)
			}
			return it, false, nil
		}
	}
	return StockItem{}, false, fmt.Errorf("stock.adjust: on hand would drop below reserved: %w", shared.ErrConflict)
}

func (s *mongoStore) Movements(ctx context.Context, sku string) ([]Movement, error) {
	d, err := shared.FindOne[stockDoc](ctx, s.stock, "stock.movements", bson.D{{Key: "_id", Value: sku}},
		options.FindOne().SetProjection(bson.D{{Key: "movements", Value: 1}}))
	if err != nil {
		return nil, err
	}
	return d.Movements, nil
}

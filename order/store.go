package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/goshop/platform/shared"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
)

// errStale is returned by orderStore.Transition and Record when the order is no longer in the state
// the caller read (another writer won): re-read and decide again. It wraps shared.ErrConflict.
var errStale = fmt.Errorf("order changed concurrently: %w", shared.ErrConflict)

// transition is one atomic change of an order: status From → To with the event describing it.
type transition struct {
	From, To Status
	Reason   string
	Event    storedEvent
	At       time.Time
	// AppliedEventID, when set, is an inventory event ID recorded in the same write; the write fails
	// with errStale if it was already recorded.
	AppliedEventID       string
	Payment              *Payment   // set on → paid
	ReservationExpiresAt *time.Time // set on → confirmed
}

// orderStore keeps orders together with their outbox and idempotency record. Every method that
// changes an order is one atomic single-document write, so an order change and its events can never
// be separated.
type orderStore interface {
	// Create inserts o (ID, UserID, IdempotencyKey set; its order.created event in Events). It
	// returns an error wrapping shared.ErrConflict when (UserID, IdempotencyKey) already exists.
	Create(ctx context.Context, o Order) error
	// Get returns the order, or shared.ErrNotFound.
	Get(ctx context.Context, id string) (Order, error)
	// GetByKey returns the order userID created with idempotency key, or shared.ErrNotFound.
	GetByKey(ctx context.Context, userID, key string) (Order, error)
	// List returns one page of orders, newest first, and the total count matching q.
	List(ctx context.Context, q listQuery) ([]Order, int64, error)
	// Transition moves order id from t.From to t.To only if its status is still t.From (and
	// t.AppliedEventID is not yet recorded), appending t.Event to the outbox. It returns the updated
	// order, shared.ErrNotFound, or errStale.
	Transition(ctx context.Context, id string, t transition) (Order, error)
	// Record marks inventory event eventID applied to order id without a status change, appending ev
	// to the outbox when not nil. It returns errStale when eventID was already recorded.
	Record(ctx context.Context, id, eventID string, ev *storedEvent, at time.Time) error
	// SetRefund records the refund of the order's payment; shared.ErrNotFound when the order has
	// no payment.
	SetRefund(ctx context.Context, id, refundID string, at time.Time) error
	// Unsent returns up to limit orders whose outbox holds unpublished events, oldest change first.
	Unsent(ctx context.Context, limit int) ([]Order, error)
	// MarkSent records that events[:upTo] of order id are published. It never moves SentSeq back.
	MarkSent(ctx context.Context, id string, upTo int) error
	// StalePending returns up to limit pending orders whose events are all published and which
	// have not changed since before, least recently changed first: orders still waiting for
	// inventory's answer (see checkout.reconcile).
	StalePending(ctx context.Context, before time.Time, limit int) ([]Order, error)
	// Stats returns, for the orders created in [from, to), one bucket per UTC day, status and
	// currency with their count and summed totals, sorted by day, status and currency (stats.go).
	Stats(ctx context.Context, from, to time.Time) ([]statsBucket, error)
}

// mongoOrderStore keeps orders in one collection, "orders", with orderIndexes (created lazily, so
// start-up does not need Mongo).
type mongoOrderStore struct {
	orders *mongo.Collection

	mu      sync.Mutex
	indexed bool
}

var _ orderStore = (*mongoOrderStore)(nil)

// listSort is the order of GET /orders: newest first, the ID breaking ties so pages never overlap.
var listSort = bson.D{{Key: "created_at", Value: -1}, {Key: "_id", Value: -1}}

// orderIndexes are the indexes of "orders". The lists' end in listSort's keys, _id included: an
// index without the tie-breaker cannot give that order, and MongoDB then reads every order of the
// customer (or of the status) and sorts them in memory on every page. Indexes are matched by name
// (shared.EnsureIndexes), so a changed one gets a new name; the old user_created and status_created,
// which lacked _id, are no longer used and an operator may drop them.
var orderIndexes = []mongo.IndexModel{
	{Keys: bson.D{{Key: "user_id", Value: 1}, {Key: "idempotency_key", Value: 1}}, Options: options.Index().SetUnique(true).SetName("user_idempotency_key")},
	// A customer's own list (also filtered by status or dates).
	{Keys: bson.D{{Key: "user_id", Value: 1}, {Key: "created_at", Value: -1}, {Key: "_id", Value: -1}}, Options: options.Index().SetName("user_created_id")},
	// The admin list by status (the dashboard's paid orders), and the reconciler's pending orders.
	{Keys: bson.D{{Key: "status", Value: 1}, {Key: "created_at", Value: -1}, {Key: "_id", Value: -1}}, Options: options.Index().SetName("status_created_id")},
	{Keys: bson.D{{Key: "outbox_pending", Value: 1}}, Options: options.Index().SetName("outbox_pending")},
	// The admin list: newest first over everything or a date range, and by customer e-mail prefix.
	{Keys: bson.D{{Key: "created_at", Value: -1}, {Key: "_id", Value: -1}}, Options: options.Index().SetName("created")},
	{Keys: bson.D{{Key: "customer_email", Value: 1}, {Key: "created_at", Value: -1}}, Options: options.Index().SetName("customer_email_created")},
	statsIndex,
}

func newMongoOrderStore(db *mongo.Database) *mongoOrderStore {
	return &mongoOrderStore{orders: db.Collection("orders")}
}

// ensureIndexes creates the indexes once per process; uniqueness of idempotency keys depends on it,
// so Create calls it and fails while it cannot succeed. /readyz calls it too.
func (s *mongoOrderStore) ensureIndexes(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.indexed {
		return nil
	}
	err := shared.EnsureIndexes(ctx, s.orders, "orders.indexes", orderIndexes...)
	if err != nil {
		return err
	}
	s.indexed = true
	return nil
}

func (s *mongoOrderStore) Create(ctx context.Context, o Order) error {
	if err := s.ensureIndexes(ctx); err != nil {
		return err
	}
	if o.AppliedEvents == nil {
		o.AppliedEvents = []string{} // $push needs an array, not null
	}
	o.CreatedDay = dayOf(o.CreatedAt)
	_, err := s.orders.InsertOne(ctx, o)
	return shared.MongoErr("orders.create", err)
}

func (s *mongoOrderStore) Get(ctx context.Context, id string) (Order, error) {
	return shared.FindOne[Order](ctx, s.orders, "orders.get", bson.D{{Key: "_id", Value: id}})
}

func (s *mongoOrderStore) GetByKey(ctx context.Context, userID, key string) (Order, error) {
	return shared.FindOne[Order](ctx, s.orders, "orders.get_by_key", bson.D{{Key: "user_id", Value: userID}, {Key: "idempotency_key", Value: key}})
}

func (s *mongoOrderStore) List(ctx context.Context, q listQuery) ([]Order, int64, error) {
	filter := q.bson()
	total, err := s.orders.CountDocuments(ctx, filter)
	if err != nil {
		return nil, 0, shared.MongoErr("orders.count", err)
	}
	opts := options.Find().SetSort(listSort).
		SetSkip(int64((q.Page - 1) * q.Limit)).SetLimit(int64(q.Limit)).
		SetProjection(bson.D{{Key: "events", Value: 0}, {Key: "applied_events", Value: 0}})
	out, err := shared.FindAll[Order](ctx, s.orders, "orders.list", filter, opts)
	if err != nil {
		return nil, 0, err
	}
	return out, total, nil
}

func (s *mongoOrderStore) Transition(ctx context.Context, id string, t transition) (Order, error) {
	filter := bson.D{{Key: "_id", Value: id}, {Key: "status", Value: string(t.From)}}
	set := bson.D{
		{Key: "status", Value: string(t.To)},
		{Key: "status_reason", Value: t.Reason},
		{Key: "updated_at", Value: t.At},
		{Key: "outbox_pending", Value: true},
	}
	push := bson.D{{Key: "events", Value: t.Event}}
	if t.AppliedEventID != "" {
		filter = append(filter, bson.E{Key: "applied_events", Value: bson.D{{Key: "$ne", Value: t.AppliedEventID}}})
		push = append(push, bson.E{Key: "applied_events", Value: t.AppliedEventID})
	}
	if t.Payment != nil {
		set = append(set, bson.E{Key: "payment", Value: t.Payment})
	}
	if t.ReservationExpiresAt != nil {
		set = append(set, bson.E{Key: "reservation_expires_at", Value: *t.ReservationExpiresAt})
	}
	update := bson.D{{Key: "$set", Value: set}, {Key: "$push", Value: push}, {Key: "$inc", Value: bson.D{{Key: "event_seq", Value: 1}}}}
	var o Order
	err := s.orders.FindOneAndUpdate(ctx, filter, update, options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&o)
	if errors.Is(err, mongo.ErrNoDocuments) {
		if _, gerr := s.Get(ctx, id); gerr != nil {
			return Order{}, gerr
		}
		return Order{}, fmt.Errorf("orders.transition %s: %w", id, errStale)
	}
	return o, shared.MongoErr("orders.transition", err)
}

func (s *mongoOrderStore) Record(ctx context.Context, id, eventID string, ev *storedEvent, at time.Time) error {
	filter := bson.D{{Key: "_id", Value: id}, {Key: "applied_events", Value: bson.D{{Key: "$ne", Value: eventID}}}}
	push := bson.D{{Key: "applied_events", Value: eventID}}
	update := bson.D{{Key: "$set", Value: bson.D{{Key: "updated_at", Value: at}}}}
	if ev != nil {
		push = append(push, bson.E{Key: "events", Value: *ev})
		update = bson.D{{Key: "$set", Value: bson.D{{Key: "updated_at", Value: at}, {Key: "outbox_pending", Value: true}}},
			{Key: "$inc", Value: bson.D{{Key: "event_seq", Value: 1}}}}
	}
	update = append(update, bson.E{Key: "$push", Value: push})
	res, err := s.orders.UpdateOne(ctx, filter, update)
	if err != nil {
		return shared.MongoErr("orders.record", err)
	}
	if res.MatchedCount == 0 {
		if _, err := s.Get(ctx, id); err != nil {
			return err
		}
		return fmt.Errorf("orders.record %s: %w", id, errStale)
	}
	return nil
}

func (s *mongoOrderStore) SetRefund(ctx context.Context, id, refundID string, at time.Time) error {
	res, err := s.orders.UpdateOne(ctx,
		bson.D{{Key: "_id", Value: id}, {Key: "payment", Value: bson.D{{Key: "$type", Value: "object"}}}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "payment.refund_id", Value: refundID}, {Key: "updated_at", Value: at}}}})
	if err != nil {
		return shared.MongoErr("orders.set_refund", err)
	}
	if res.MatchedCount == 0 {
		return fmt.Errorf("orders.set_refund %s: %w", id, shared.ErrNotFound)
	}
	return nil
}

func (s *mongoOrderStore) Unsent(ctx context.Context, limit int) ([]Order, error) {
	return s.oldestChanged(ctx, "orders.unsent", bson.D{{Key: "outbox_pending", Value: true}}, limit)
}

// oldestChanged returns up to limit orders matching filter, least recently changed first; op
// prefixes its errors.
func (s *mongoOrderStore) oldestChanged(ctx context.Context, op string, filter bson.D, limit int) ([]Order, error) {
	return shared.FindAll[Order](ctx, s.orders, op, filter, options.Find().SetSort(bson.D{{Key: "updated_at", Value: 1}}).SetLimit(int64(limit)))
}

func (s *mongoOrderStore) MarkSent(ctx context.Context, id string, upTo int) error {
	// Usually nothing was appended since the relay read the order: one write marks everything sent
	// and clears the flag. Otherwise only SentSeq advances (never backwards) and the flag stays for
	// the next pass.
	res, err := s.orders.UpdateOne(ctx,
		bson.D{{Key: "_id", Value: id}, {Key: "event_seq", Value: upTo}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "sent_seq", Value: upTo}, {Key: "outbox_pending", Value: false}}}})
	if err != nil || res.MatchedCount == 1 {
		return shared.MongoErr("orders.mark_sent", err)
	}
	_, err = s.orders.UpdateOne(ctx,
		bson.D{{Key: "_id", Value: id}, {Key: "sent_seq", Value: bson.D{{Key: "$lt", Value: upTo}}}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "sent_seq", Value: upTo}}}})
	return shared.MongoErr("orders.mark_sent", err)
}

func (s *mongoOrderStore) StalePending(ctx context.Context, before time.Time, limit int) ([]Order, error) {
	return s.oldestChanged(ctx, "orders.stale_pending", bson.D{{Key: "status", Value: StatusPending},
		{Key: "outbox_pending", Value: false}, {Key: "updated_at", Value: bson.D{{Key: "$lt", Value: before}}}}, limit)
}

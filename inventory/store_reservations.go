package main

// The Mongo side of holds and reservations: one order's hold on an item lives in the item's
// document (holds.<orderID>), so taking, releasing and refunding it is one conditional update.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/goshop/platform/shared"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
)

// exists is a filter element on whether field is present (an order's hold or refund on an item).
func exists(field string, yes bool) bson.E {
	return bson.E{Key: field, Value: bson.D{{Key: "$exists", Value: yes}}}
}

func (s *mongoStore) Hold(ctx context.Context, sku, orderID string, qty int64, at time.Time) (StockItem, bool, error) {
	field := "holds." + orderID
	filter := bson.D{
		{Key: "_id", Value: sku},
		{Key: "deleted", Value: bson.D{{Key: "$ne", Value: true}}},
		exists(field, false),
		{Key: "available", Value: bson.D{{Key: "$gte", Value: qty}}},
	}
	upd := bson.D{
		{Key: "$inc", Value: bson.D{{Key: "reserved", Value: qty}, {Key: "available", Value: -qty}}},
		{Key: "$set", Value: bson.D{{Key: field, Value: qty}, {Key: "updated_at", Value: at}}},
	}
	it, err := s.update(ctx, filter, upd)
	if err == nil {
		return it, true, nil
	}
	if !errors.Is(err, mongo.ErrNoDocuments) {
		return StockItem{}, false, shared.MongoErr("stock.hold", err)
	}
	// Not taken: tell a replay (the order already holds it) from a shortage.
	d, err := shared.FindOne[stockDoc](ctx, s.stock, "stock.hold", bson.D{{Key: "_id", Value: sku}},
		options.FindOne().SetProjection(bson.D{{Key: "refunds", Value: 0}, {Key: "movements", Value: 0}}))
	if err != nil {
		return StockItem{}, false, err
	}
	_, replay := d.Holds[orderID]
	return d.item(), replay, nil
}

func (s *mongoStore) Unhold(ctx context.Context, sku, orderID string, at time.Time) (StockItem, bool, error) {
	return s.takeHold(ctx, "stock.unhold", sku, orderID, at, false)
}

func (s *mongoStore) CommitHold(ctx context.Context, sku, orderID string, at time.Time) (StockItem, bool, error) {
	return s.takeHold(ctx, "stock.commit", sku, orderID, at, true)
}

// takeHold removes the order's hold on sku and lowers reserved by its quantity (and on hand too when
// commit), in one update. The quantity is read first and then required unchanged by the filter, so a
// concurrent change of the same hold makes the update miss instead of applying a stale number.
func (s *mongoStore) takeHold(ctx context.Context, op, sku, orderID string, at time.Time, commit bool) (StockItem, bool, error) {
	field := "holds." + orderID
	d, err := shared.FindOne[stockDoc](ctx, s.stock, op, bson.D{{Key: "_id", Value: sku}},
		options.FindOne().SetProjection(bson.D{{Key: field, Value: 1}, {Key: "on_hand", Value: 1}, {Key: "reserved", Value: 1}, {Key: "available", Value: 1},
			{Key: "low_stock_threshold", Value: 1}, {Key: "sold", Value: 1}, {Key: "deleted", Value: 1}, {Key: "updated_at", Value: 1}}))
	if err != nil {
		return StockItem{}, false, err
	}
	qty, ok := d.Holds[orderID]
	if !ok {
		return d.item(), false, nil
	}
	// Released stock becomes available again; committed stock leaves on hand and available stays.
	inc := bson.D{{Key: "reserved", Value: -qty}, {Key: "available", Value: qty}}
	if commit {
		inc = bson.D{{Key: "reserved", Value: -qty}, {Key: "on_hand", Value: -qty}, {Key: "sold", Value: qty}}
	}
	it, err := s.update(ctx, bson.D{{Key: "_id", Value: sku}, {Key: field, Value: qty}}, bson.D{
		{Key: "$inc", Value: inc},
		{Key: "$unset", Value: bson.D{{Key: field, Value: ""}}},
		{Key: "$set", Value: bson.D{{Key: "updated_at", Value: at}}},
	})
	if errors.Is(err, mongo.ErrNoDocuments) {
		// Someone else took the hold between the read and the update.
		cur, gerr := s.Get(ctx, sku)
		return cur, false, gerr
	}
	if err != nil {
		return StockItem{}, false, shared.MongoErr(op, err)
	}
	return it, true, nil
}

func (s *mongoStore) Restock(ctx context.Context, sku, orderID string, qty int64, at time.Time) (StockItem, bool, error) {
	field := "refunds." + orderID
	it, err := s.update(ctx, bson.D{{Key: "_id", Value: sku}, exists(field, false)}, bson.D{
		{Key: "$inc", Value: bson.D{{Key: "on_hand", Value: qty}, {Key: "available", Value: qty}, {Key: "sold", Value: -qty}}},
		{Key: "$set", Value: bson.D{{Key: field, Value: qty}, {Key: "updated_at", Value: at}}},
	})
	if errors.Is(err, mongo.ErrNoDocuments) {
		cur, gerr := s.Get(ctx, sku)
		return cur, false, gerr
	}
	if err != nil {
		return StockItem{}, false, shared.MongoErr("stock.restock", err)
	}
	return it, true, nil
}

func (s *mongoStore) CreateReservation(ctx context.Context, r Reservation) error {
	if settled(r.State) && r.SettledAt == nil {
		r.SettledAt = &r.UpdatedAt
	}
	_, err := s.reservations.InsertOne(ctx, r)
	return shared.MongoErr("reservations.create", err)
}

func (s *mongoStore) GetReservation(ctx context.Context, orderID string) (Reservation, error) {
	return shared.FindOne[Reservation](ctx, s.reservations, "reservations.get", bson.D{{Key: "_id", Value: orderID}})
}

func (s *mongoStore) TransitionReservation(ctx context.Context, orderID string, from []resState, u reservationUpdate) (Reservation, error) {
	set := bson.D{{Key: "state", Value: u.State}, {Key: "updated_at", Value: u.At}}
	if settled(u.State) {
		set = append(set, bson.E{Key: "settled_at", Value: u.At})
	}
	if u.UserID != "" {
		set = append(set, bson.E{Key: "user_id", Value: u.UserID})
	}
	if u.Items != nil {
		set = append(set, bson.E{Key: "items", Value: u.Items})
	}
	if u.Shortages != nil {
		set = append(set, bson.E{Key: "shortages", Value: u.Shortages})
	}
	if u.Reason != "" {
		set = append(set, bson.E{Key: "reason", Value: u.Reason})
	}
	if !u.ExpiresAt.IsZero() {
		set = append(set, bson.E{Key: "expires_at", Value: u.ExpiresAt})
	}
	if u.Committed {
		set = append(set, bson.E{Key: "committed", Value: true})
	}
	if u.CommitRequested {
		set = append(set, bson.E{Key: "commit_requested", Value: true})
	}
	upd := bson.D{{Key: "$set", Value: set}}
	if !settled(u.State) {
		// Back from a settled state (a payment after expiry takes the stock again): the TTL index
		// must not remove a reservation that can still commit or be refunded.
		upd = append(upd, bson.E{Key: "$unset", Value: bson.D{{Key: "settled_at", Value: ""}}})
	}
	var r Reservation
	err := s.reservations.FindOneAndUpdate(ctx,
		bson.D{{Key: "_id", Value: orderID}, {Key: "state", Value: bson.D{{Key: "$in", Value: from}}}},
		upd,
		options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&r)
	if errors.Is(err, mongo.ErrNoDocuments) {
		if _, gerr := s.GetReservation(ctx, orderID); gerr != nil {
			return Reservation{}, fmt.Errorf("reservations.transition: %w", gerr)
		}
		return Reservation{}, fmt.Errorf("reservations.transition to %s: %w", u.State, shared.ErrConflict)
	}
	return r, shared.MongoErr("reservations.transition", err)
}

func (s *mongoStore) DueReservations(ctx context.Context, now, stale time.Time, limit int) ([]Reservation, error) {
	filter := bson.D{{Key: "$or", Value: bson.A{
		bson.D{{Key: "state", Value: stateHeld}, {Key: "expires_at", Value: bson.D{{Key: "$lte", Value: now}}}},
		bson.D{{Key: "state", Value: stateReleasing}, {Key: "updated_at", Value: bson.D{{Key: "$lt", Value: stale}}}},
	}}}
	return shared.FindAll[Reservation](ctx, s.reservations, "reservations.due", filter,
		options.Find().SetLimit(int64(limit)).SetSort(bson.D{{Key: "expires_at", Value: 1}}))
}

func (s *mongoStore) RefundsToClear(ctx context.Context, before time.Time, limit int) ([]Reservation, error) {
	filter := bson.D{
		{Key: "state", Value: stateReleased},
		{Key: "committed", Value: true},
		{Key: "refunds_cleared", Value: nil}, // absent: index bounds [null, null]
		{Key: "settled_at", Value: bson.D{{Key: "$lt", Value: before}}},
	}
	return shared.FindAll[Reservation](ctx, s.reservations, "reservations.refunds_to_clear", filter,
		options.Find().SetLimit(int64(limit)).SetSort(refundsSort))
}

// refundsSort is RefundsToClear's order, oldest refund first.
var refundsSort = bson.D{{Key: "settled_at", Value: 1}}

func (s *mongoStore) ClearRefunds(ctx context.Context, orderID string, skus []string) error {
	if len(skus) > 0 {
		field := "refunds." + orderID
		_, err := s.stock.UpdateMany(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: skus}}}, exists(field, true)},
			bson.D{{Key: "$unset", Value: bson.D{{Key: field, Value: ""}}}})
		if err != nil {
			return shared.MongoErr("stock.clear_refunds", err)
		}
	}
	_, err := s.reservations.UpdateOne(ctx, bson.D{{Key: "_id", Value: orderID}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "refunds_cleared", Value: true}}}})
	return shared.MongoErr("reservations.clear_refunds", err)
}

package main

// The store side of GET /orders/stats: both stores answer the same buckets (orders created per UTC
// day, status and currency, with their count and total), and foldStats in handlers_stats.go turns
// them into the answer, so what counts as revenue is decided in one place.

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/goshop/platform/shared"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
)

// dayLayout is how a day is written in stats and in the stored created_day field: a UTC date.
const dayLayout = time.DateOnly

// dayOf is the UTC day of t, as stored in created_day.
func dayOf(t time.Time) string { return t.UTC().Format(dayLayout) }

// unixDay numbers t's UTC day: days since 1970-01-01 (floored, so times before it work too).
func unixDay(t time.Time) int64 {
	s := t.Unix()
	if s < 0 {
		return (s+1)/86400 - 1
	}
	return s / 86400
}

// statsBucket is what one UTC day, status and currency hold of the orders created in a range: how
// many and the sum of their totals.
type statsBucket struct {
	Day        string
	Status     Status
	Currency   string
	Orders     int64
	TotalCents int64
}

// sortBuckets orders buckets by day, status and currency, so both stores answer alike.
func sortBuckets(b []statsBucket) {
	slices.SortFunc(b, func(x, y statsBucket) int {
		return cmp.Or(cmp.Compare(x.Day, y.Day), cmp.Compare(x.Status, y.Status), cmp.Compare(x.Currency, y.Currency))
	})
}

// Stats returns the buckets of the orders with from <= created_at < to, sorted by sortBuckets.
func (s *memOrderStore) Stats(_ context.Context, from, to time.Time) ([]statsBucket, error) {
	type key struct {
		day      int64 // days since the Unix epoch: cheaper than formatting every order's date
		status   Status
		currency string
	}
	sums := map[key]*statsBucket{}
	s.mu.RLock()
	for _, o := range s.orders {
		if o.CreatedAt.Before(from) || !o.CreatedAt.Before(to) {
			continue
		}
		k := key{unixDay(o.CreatedAt), o.Status, o.Currency}
		b := sums[k]
		if b == nil {
			b = &statsBucket{Day: dayOf(o.CreatedAt), Status: k.status, Currency: k.currency}
			sums[k] = b
		}
		b.Orders++
		b.TotalCents += o.TotalCents
	}
	s.mu.RUnlock()
	out := make([]statsBucket, 0, len(sums))
	for _, b := range sums {
		out = append(out, *b)
	}
	sortBuckets(out)
	return out, nil
}

// statsIndex serves the stats aggregation: the $match on created_at is a range scan of it, and the
// other keys are everything the $group reads, so MongoDB answers from the index alone.
var statsIndex = mongo.IndexModel{
	Keys: bson.D{{Key: "created_at", Value: 1}, {Key: "created_day", Value: 1}, {Key: "status", Value: 1},
		{Key: "currency", Value: 1}, {Key: "total_cents", Value: 1}},
	Options: options.Index().SetName("created_stats"),
}

// Stats runs two aggregations over the created_at range, one counting and one summing totals per
// (created_day, status, currency). One $group with both accumulators would do on MongoDB, but
// FerretDB computes only the first accumulator of a $group, and it has no date operators, which is
// why the day is stored (created_day) rather than derived in the pipeline.
func (s *mongoOrderStore) Stats(ctx context.Context, from, to time.Time) ([]statsBucket, error) {
	counts, err := s.statsGroup(ctx, from, to, 1)
	if err != nil {
		return nil, err
	}
	totals, err := s.statsGroup(ctx, from, to, "$total_cents")
	if err != nil {
		return nil, err
	}
	out := make([]statsBucket, 0, len(counts))
	for k, n := range counts {
		out = append(out, statsBucket{Day: k.Day, Status: k.Status, Currency: k.Currency, Orders: n, TotalCents: totals[k]})
	}
	sortBuckets(out)
	return out, nil
}

// statsKey is the _id of one stats group.
type statsKey struct {
	Day      string `bson:"day"`
	Status   Status `bson:"status"`
	Currency string `bson:"currency"`
}

// statsGroup sums sumOf (1 to count, "$total_cents" for totals) per statsKey over the orders
// created in [from, to).
func (s *mongoOrderStore) statsGroup(ctx context.Context, from, to time.Time, sumOf any) (map[statsKey]int64, error) {
	pipeline := mongo.Pipeline{
		{{Key: "$match", Value: bson.D{{Key: "created_at", Value: bson.D{{Key: "$gte", Value: from}, {Key: "$lt", Value: to}}}}}},
		{{Key: "$group", Value: bson.D{
			{Key: "_id", Value: bson.D{{Key: "day", Value: "$created_day"}, {Key: "status", Value: "$status"}, {Key: "currency", Value: "$currency"}}},
			{Key: "n", Value: bson.D{{Key: "$sum", Value: sumOf}}},
		}}},
	}
	cur, err := s.orders.Aggregate(ctx, pipeline)
	if err != nil {
		return nil, shared.MongoErr("orders.stats", err)
	}
	var rows []struct {
		ID statsKey `bson:"_id"`
		N  int64    `bson:"n"`
	}
	if err := cur.All(ctx, &rows); err != nil {
		return nil, shared.MongoErr("orders.stats", err)
	}
	out := make(map[statsKey]int64, len(rows))
	for _, r := range rows {
		out[r.ID] = r.N
	}
	return out, nil
}

// backfillCreatedDay sets created_day on orders stored before the field existed, one update per
// day: it finds one order without it and sets the field on every such order of that UTC day. It is
// a start-up step; once done it costs one query that matches nothing.
func (s *mongoOrderStore) backfillCreatedDay(ctx context.Context) error {
	missing := bson.E{Key: "created_day", Value: bson.D{{Key: "$exists", Value: false}}}
	for {
		var o struct {
			CreatedAt time.Time `bson:"created_at"`
		}
		err := s.orders.FindOne(ctx, bson.D{missing}, options.FindOne().SetProjection(bson.D{{Key: "created_at", Value: 1}})).Decode(&o)
		if err == mongo.ErrNoDocuments {
			return nil
		}
		if err != nil {
			return shared.MongoErr("orders.backfill_day", err)
		}
		start := o.CreatedAt.UTC().Truncate(24 * time.Hour)
		res, err := s.orders.UpdateMany(ctx,
			bson.D{missing, {Key: "created_at", Value: bson.D{{Key: "$gte", Value: start}, {Key: "$lt", Value: start.Add(24 * time.Hour)}}}},
			bson.D{{Key: "$set", Value: bson.D{{Key: "created_day", Value: dayOf(start)}}}})
		if err != nil {
			return shared.MongoErr("orders.backfill_day", err)
		}
		if res.ModifiedCount == 0 {
			return fmt.Errorf("orders.backfill_day: an order created at %s was not updated", o.CreatedAt)
		}
	}
}

package main

import (
	"context"
	"errors"
	"time"

	"github.com/goshop/platform/shared"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
)

// The outbox: events are stored with the change that caused them and published by the relay, so a
// Kafka outage delays events but never loses them.

// relayConfig tunes the outbox relay. Zero values take the defaults named on each field.
type relayConfig struct {
	Batch      int           // events per publish; default 100
	Idle       time.Duration // poll interval when nothing woke it; default 1 s
	BackoffMax time.Duration // cap of the retry backoff after a failed publish; default 10 s
}

// relay publishes the outbox until ctx ends: woken by emit or every Idle, it publishes pending events
// oldest first and deletes them once the broker acknowledged. A failed publish keeps them and retries
// with exponential backoff (100 ms doubling to BackoffMax), so Kafka being down loses nothing. On
// cancellation it makes one last attempt bounded by 5 s.
func (inv *inventory) relay(ctx context.Context, pub shared.Publisher, cfg relayConfig, published *shared.CounterVec) {
	if cfg.Batch == 0 {
		cfg.Batch = 100
	}
	if cfg.Idle == 0 {
		cfg.Idle = time.Second
	}
	if cfg.BackoffMax == 0 {
		cfg.BackoffMax = 10 * time.Second
	}
	backoff := 100 * time.Millisecond
	for {
		n, err := inv.flush(ctx, pub, cfg.Batch, published)
		wait, kick := cfg.Idle, inv.kick
		switch {
		case err != nil && ctx.Err() == nil:
			inv.logger.Warn("outbox relay: publish failed, will retry", "err", err, "backoff", backoff.String())
			wait, kick = backoff, nil // do not let new events cut the backoff short
			backoff = min(backoff*2, cfg.BackoffMax)
		case n == cfg.Batch:
			wait, backoff = 0, 100*time.Millisecond
		default:
			backoff = 100 * time.Millisecond
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			if _, err := inv.flushAll(fctx, pub, cfg.Batch, published); err != nil {
				inv.logger.Warn("outbox relay: events left for the next start", "err", err)
			}
			cancel()
			return
		case <-kick:
		case <-t.C:
		}
		t.Stop()
	}
}

// flush publishes up to batch pending events and reports how many it published.
func (inv *inventory) flush(ctx context.Context, pub shared.Publisher, batch int, published *shared.CounterVec) (int, error) {
	entries, err := inv.store.PendingOutbox(ctx, batch)
	if err != nil || len(entries) == 0 {
		return 0, err
	}
	done := 0
	for start := 0; start < len(entries); {
		// Publish runs of the same topic together, in order.
		end := start + 1
		for end < len(entries) && entries[end].Topic == entries[start].Topic {
			end++
		}
		events := make([]shared.Event, 0, end-start)
		ids := make([]string, 0, end-start)
		for _, e := range entries[start:end] {
			events = append(events, e.Event)
			ids = append(ids, e.Event.ID)
		}
		if err := pub.Publish(ctx, entries[start].Topic, events...); err != nil {
			return done, err
		}
		if err := inv.store.DeleteOutbox(ctx, ids...); err != nil {
			// Published but still stored: they go out again, and consumers drop them by ID.
			return done, err
		}
		if published != nil {
			published.Add(uint64(len(events)), entries[start].Topic)
		}
		done += len(events)
		start = end
	}
	return done, nil
}

// flushAll flushes until the outbox is empty or an error.
func (inv *inventory) flushAll(ctx context.Context, pub shared.Publisher, batch int, published *shared.CounterVec) (int, error) {
	total := 0
	for {
		n, err := inv.flush(ctx, pub, batch, published)
		total += n
		if err != nil || n < batch {
			return total, err
		}
	}
}

type outboxDoc struct {
	ID    string       `bson:"_id"`
	Seq   int64        `bson:"seq"`
	Topic string       `bson:"topic"`
	Event shared.Event `bson:"event"`
}

func (s *mongoStore) AddOutbox(ctx context.Context, topic string, events ...shared.Event) error {
	if len(events) == 0 {
		return nil
	}
	docs := make([]any, 0, len(events))
	for i, e := range events {
		// seq orders the relay: nanoseconds keep one instance's events in order.
		docs = append(docs, outboxDoc{ID: e.ID, Seq: time.Now().UnixNano() + int64(i), Topic: topic, Event: e})
	}
	_, err := s.outbox.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
	if err != nil && !onlyDuplicates(err) {
		return shared.MongoErr("outbox.add", err)
	}
	return nil
}

// onlyDuplicates reports whether every write error of a bulk insert is a duplicate key (an event
// already stored).
func onlyDuplicates(err error) bool {
	var bw mongo.BulkWriteException
	if !errors.As(err, &bw) || bw.WriteConcernError != nil {
		return false
	}
	for _, we := range bw.WriteErrors {
		if we.Code != 11000 {
			return false
		}
	}
	return true
}

func (s *mongoStore) PendingOutbox(ctx context.Context, limit int) ([]outboxEntry, error) {
	cur, err := s.outbox.Find(ctx, bson.D{}, options.Find().SetSort(bson.D{{Key: "seq", Value: 1}}).SetLimit(int64(limit)))
	if err != nil {
		return nil, shared.MongoErr("outbox.pending", err)
	}
	var docs []outboxDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, shared.MongoErr("outbox.pending", err)
	}
	out := make([]outboxEntry, 0, len(docs))
	for _, d := range docs {
		out = append(out, outboxEntry{Topic: d.Topic, Event: d.Event})
	}
	return out, nil
}

func (s *mongoStore) DeleteOutbox(ctx context.Context, ids ...string) error {
	_, err := s.outbox.DeleteMany(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}})
	return shared.MongoErr("outbox.delete", err)
}

func (s *mongoStore) OutboxLen(ctx context.Context) (int64, error) {
	n, err := s.outbox.EstimatedDocumentCount(ctx)
	return n, shared.MongoErr("outbox.len", err)
}

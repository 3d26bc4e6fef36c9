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

// The outbox: events are stored with the change that caused them (AddOutbox) and published by
// shared.Relay through PendingOutbox and MarkPublished, so a Kafka outage delays events but never
// loses them.

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

func (s *mongoStore) PendingOutbox(ctx context.Context, limit int) ([]shared.OutboxEntry, error) {
	docs, err := shared.FindAll[outboxDoc](ctx, s.outbox, "outbox.pending", bson.D{},
		options.Find().SetSort(bson.D{{Key: "seq", Value: 1}}).SetLimit(int64(limit)))
	if err != nil {
		return nil, err
	}
	out := make([]shared.OutboxEntry, 0, len(docs))
	for _, d := range docs {
		out = append(out, shared.OutboxEntry{Topic: d.Topic, Event: d.Event, Seq: d.Seq})
	}
	return out, nil
}

func (s *mongoStore) MarkPublished(ctx context.Context, entries []shared.OutboxEntry) error {
	_, err := s.outbox.DeleteMany(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: entryIDs(entries)}}}})
	return shared.MongoErr("outbox.delete", err)
}

// entryIDs returns the event IDs of entries.
func entryIDs(entries []shared.OutboxEntry) []string {
	ids := make([]string, len(entries))
	for i, e := range entries {
		ids[i] = e.Event.ID
	}
	return ids
}

package stack

import (
	"context"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
)

// TestFerretUpdatesAreAtomic: clients updating one document at once lose no update through
// StartFerret. The pattern is the order's: one writer appends an event and sets the outbox flag while
// another clears the flag only if no event was appended since it read. FerretDB alone (without the
// proxy's lock) loses appends here within a few hundred updates.
func TestFerretUpdatesAreAtomic(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	stop, err := StartFerret(ctx, addr, t.TempDir(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	client, err := mongo.Connect(ctx, options.Client().ApplyURI("mongodb://"+addr+"/").SetMaxPoolSize(16))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Disconnect(context.Background())
	coll := client.Database("ferret_test").Collection("orders")
	if _, err := coll.InsertOne(ctx, bson.D{{Key: "_id", Value: "o1"}, {Key: "seq", Value: 0}, {Key: "sent", Value: 0}, {Key: "pending", Value: false}}); err != nil {
		t.Fatal(err)
	}

	const writers, appends = 4, 40
	var wg sync.WaitGroup
	done := make(chan struct{})
	for range writers {
		wg.Go(func() {
			for range appends {
				if _, err := coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: "o1"}}, bson.D{
					{Key: "$inc", Value: bson.D{{Key: "seq", Value: 1}}},
					{Key: "$set", Value: bson.D{{Key: "pending", Value: true}}},
				}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	var relay sync.WaitGroup
	relay.Go(func() { // the relay: marks what it read as sent, clearing the flag if nothing came since
		for {
			select {
			case <-done:
				return
			default:
			}
			var doc struct{ Seq int }
			if err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: "o1"}}).Decode(&doc); err != nil {
				t.Error(err)
				return
			}
			if _, err := coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: "o1"}, {Key: "seq", Value: doc.Seq}},
				bson.D{{Key: "$set", Value: bson.D{{Key: "sent", Value: doc.Seq}, {Key: "pending", Value: false}}}}); err != nil {
				t.Error(err)
				return
			}
		}
	})
	wg.Wait()
	close(done)
	relay.Wait()

	var got struct {
		Seq, Sent int
		Pending   bool
	}
	if err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: "o1"}}).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if got.Seq != writers*appends {
		t.Errorf("seq = %d after %d appends: updates were lost", got.Seq, writers*appends)
	}
	if got.Sent < got.Seq && !got.Pending {
		t.Errorf("sent %d of %d with the pending flag cleared: an append's flag was overwritten", got.Sent, got.Seq)
	}
}

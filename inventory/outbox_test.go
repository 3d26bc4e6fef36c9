package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/goshop/platform/shared"
	"github.com/goshop/platform/shared/sharedtest"
)

// TestRelayKeepsEventsWhileKafkaIsDown checks the outbox: events written while publishing fails
// stay stored and go out, in order, once the broker is back.
func TestRelayKeepsEventsWhileKafkaIsDown(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		s := newMemStore()
		inv := newTestInventory(s)
		pub := &sharedtest.Publisher{}
		pub.SetErr(errors.New("kafka: no broker reachable"))
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		wg.Go(func() { inv.relay(ctx, pub, relayConfig{Batch: 2}, nil) })

		for i := range 5 {
			if _, err := inv.CreateItem(ctx, fmt.Sprint("SKU-", i), 100); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if n := len(pub.Events(shared.TopicInventory)); n != 0 {
			t.Fatalf("published %d events while Kafka was down", n)
		}
		if n, _ := s.OutboxLen(ctx); n != 5 {
			t.Fatalf("outbox holds %d events, want 5", n)
		}
		pub.SetErr(nil)
		time.Sleep(11 * time.Second) // longer than the largest backoff
		synctest.Wait()
		got := pub.Events(shared.TopicInventory)
		if len(got) != 5 {
			t.Fatalf("published %d events after Kafka returned, want 5", len(got))
		}
		for i, e := range got {
			if want := fmt.Sprint("SKU-", i); e.AggregateID != want {
				t.Errorf("event %d is for %s, want %s (outbox order)", i, e.AggregateID, want)
			}
		}
		if n, _ := s.OutboxLen(ctx); n != 0 {
			t.Errorf("outbox holds %d events after publishing, want 0", n)
		}

		// Events written just before shutdown are flushed by the relay's last attempt.
		inv.CreateItem(ctx, "LAST", 100)
		cancel()
		wg.Wait()
		if n := len(pub.Events(shared.TopicInventory)); n != 6 {
			t.Errorf("published %d events after shutdown, want 6", n)
		}
	})
}

package shared_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/goshop/platform/shared"
	"github.com/goshop/platform/shared/sharedtest"
)

// fakeOutbox is an OutboxStore in a slice, in write order. failMark makes the next MarkPublished fail.
type fakeOutbox struct {
	mu       sync.Mutex
	entries  []shared.OutboxEntry
	failMark bool
}

func (f *fakeOutbox) add(topic, aggregate, typ string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	e := shared.Event{ID: shared.NewID(), Type: typ, Version: 1, OccurredAt: time.Now(), AggregateID: aggregate}
	f.entries = append(f.entries, shared.OutboxEntry{Topic: topic, Event: e})
	return e.ID
}

func (f *fakeOutbox) PendingOutbox(_ context.Context, limit int) ([]shared.OutboxEntry, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.entries[:min(limit, len(f.entries))]), nil
}

func (f *fakeOutbox) MarkPublished(_ context.Context, done []shared.OutboxEntry) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failMark {
		f.failMark = false
		return errors.New("mongo: connection reset")
	}
	f.entries = slices.DeleteFunc(f.entries, func(e shared.OutboxEntry) bool {
		return slices.ContainsFunc(done, func(d shared.OutboxEntry) bool { return d.Event.ID == e.Event.ID })
	})
	return nil
}

func (f *fakeOutbox) len() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.entries)
}

// countingPublisher records when Publish was called.
type countingPublisher struct {
	sharedtest.Publisher
	mu    sync.Mutex
	calls []time.Time
}

func (p *countingPublisher) Publish(ctx context.Context, topic string, events ...shared.Event) error {
	p.mu.Lock()
	p.calls = append(p.calls, time.Now())
	p.mu.Unlock()
	return p.Publisher.Publish(ctx, topic, events...)
}

func (p *countingPublisher) callTimes() []time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.calls)
}

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

func ids(events []shared.Event) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = e.ID
	}
	return out
}

// TestRelayFlushKeepsOrder: entries go out in store order across batches and topics, each run of one
// topic in one Publish call, and are acknowledged.
func TestRelayFlushKeepsOrder(t *testing.T) {
	store := &fakeOutbox{}
	var want []string
	for i := range 7 {
		want = append(want, store.add(shared.TopicOrder, []string{"o1", "o2"}[i%2], "order.created"))
	}
	other := store.add(shared.TopicUser, "u1", "user.updated")
	pub := &countingPublisher{}
	metrics := shared.NewMetrics("test")
	r := shared.NewRelay(quiet(), store, pub, metrics, shared.RelayConfig{Batch: 3})
	if err := r.Flush(context.Background()); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	if got := ids(pub.Events(shared.TopicOrder)); !slices.Equal(got, want) {
		t.Errorf("published %v, want %v", got, want)
	}
	if got := ids(pub.Events(shared.TopicUser)); !slices.Equal(got, []string{other}) {
		t.Errorf("user.events = %v, want [%s]", got, other)
	}
	if store.len() != 0 {
		t.Errorf("outbox holds %d entries after Flush, want 0", store.len())
	}
	if got := metrics.Counter("outbox_published_total", "").Value(shared.TopicOrder, "order.created"); got != 7 {
		t.Errorf("outbox_published_total = %d, want 7", got)
	}
	// Batches of 3 over 8 entries, the last batch split by topic: 3 + 3 + 1 + 1 calls.
	if n := len(pub.callTimes()); n != 4 {
		t.Errorf("Publish calls = %d, want 4", n)
	}
}

// takenPublisher answers ErrEntryTaken for the event taken, as the mail relay does for a mail another
// copy leased once this copy's lease ran out.
type takenPublisher struct {
	sharedtest.Publisher
	taken string
}

func (p *takenPublisher) Publish(ctx context.Context, topic string, events ...shared.Event) error {
	if len(events) == 1 && events[0].ID == p.taken {
		return fmt.Errorf("mail %s: %w", p.taken, shared.ErrEntryTaken)
	}
	return p.Publisher.Publish(ctx, topic, events...)
}

// TestRelaySkipsTakenEntries: an entry the publisher reports taken over by another copy is neither
// counted nor acknowledged (that copy sends and acknowledges it), no failure, and the rest go on.
func TestRelaySkipsTakenEntries(t *testing.T) {
	for _, cfg := range []shared.RelayConfig{{OnePerPublish: true}, {Lanes: 2}} {
		store := &fakeOutbox{}
		first, taken, last := store.add("mail", "a@x", "order_paid"), store.add("mail", "b@x", "order_paid"), store.add("mail", "a@x", "order_paid")
		pub := &takenPublisher{taken: taken}
		metrics := shared.NewMetrics("test")
		r := shared.NewRelay(quiet(), store, pub, metrics, cfg)
		if err := r.Flush(context.Background()); err != nil {
			t.Fatalf("lanes %d: Flush: %v, want nil", cfg.Lanes, err)
		}
		if got := ids(pub.Events("mail")); !slices.Equal(got, []string{first, last}) {
			t.Errorf("lanes %d: published %v, want %v", cfg.Lanes, got, []string{first, last})
		}
		if store.len() != 1 || store.entries[0].Event.ID != taken {
			t.Errorf("lanes %d: outbox holds %d entries, want only the taken one", cfg.Lanes, store.len())
		}
		pubs := metrics.Counter("outbox_published_total", "").Value("mail", "order_paid")
		errs := metrics.Counter("outbox_publish_errors_total", "").Value("mail")
		if pubs != 2 || errs != 0 {
			t.Errorf("lanes %d: published_total %d, errors_total %d; want 2 and 0", cfg.Lanes, pubs, errs)
		}
	}
}

// TestRelayKafkaDownThenUp: while publishing fails nothing leaves the outbox, retries back off
// 100 ms doubling to 10 s and a Wake does not cut the backoff short; once Kafka is back every event
// goes out, in order, and the gauges show the wait.
func TestRelayKafkaDownThenUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &fakeOutbox{}
		want := []string{store.add(shared.TopicProduct, "p1", "product.created"), store.add(shared.TopicProduct, "p1", "product.updated")}
		pub := &countingPublisher{}
		pub.SetErr(errors.New("kafka: no brokers"))
		metrics := shared.NewMetrics("test")
		r := shared.NewRelay(quiet(), store, pub, metrics, shared.RelayConfig{})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		start := time.Now()
		go func() { done <- r.Run(ctx) }()

		time.Sleep(40 * time.Second)
		synctest.Wait()
		r.Wake() // must not cause an extra attempt while backing off
		synctest.Wait()
		calls := pub.callTimes()
		var gaps []time.Duration
		for i := 1; i < len(calls); i++ {
			gaps = append(gaps, calls[i].Sub(calls[i-1]))
		}
		wantGaps := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond,
			1600 * time.Millisecond, 3200 * time.Millisecond, 6400 * time.Millisecond, 10 * time.Second, 10 * time.Second}
		if !calls[0].Equal(start) || !slices.Equal(gaps, wantGaps) {
			t.Errorf("attempts at +%v, gaps %v; want first at once, then gaps %v", calls[0].Sub(start), gaps, wantGaps)
		}
		if store.len() != 2 {
			t.Fatalf("outbox holds %d entries while Kafka is down, want 2", store.len())
		}
		var b strings.Builder
		metrics.WriteTo(&b)
		for _, line := range []string{`outbox_pending{service="test"} 2`, `outbox_oldest_pending_seconds{service="test"} 40`,
			`outbox_publish_errors_total{service="test",topic="product.events"} 10`} {
			if !strings.Contains(b.String(), line) {
				t.Errorf("metrics lack %q", line)
			}
		}

		pub.SetErr(nil)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if got := ids(pub.Events(shared.TopicProduct)); !slices.Equal(got, want) {
			t.Errorf("after Kafka returned: published %v, want %v", got, want)
		}
		if store.len() != 0 {
			t.Errorf("outbox holds %d entries after recovery, want 0", store.len())
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v, want nil", err)
		}
	})
}

// TestRelayWakeAndShutdownFlush: an idle relay publishes a new event as soon as it is woken, without
// waiting for its poll interval; an event written just before shutdown leaves in the final flush; a
// failed acknowledgement publishes again with the same ID (consumers drop it), never loses it.
func TestRelayWakeAndShutdownFlush(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &fakeOutbox{}
		pub := &countingPublisher{}
		r := shared.NewRelay(quiet(), store, pub, shared.NewMetrics("test"), shared.RelayConfig{Interval: time.Minute})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- r.Run(ctx) }()
		synctest.Wait()

		id := store.add(shared.TopicOrder, "o1", "order.created")
		synctest.Wait()
		if n := len(pub.Events(shared.TopicOrder)); n != 0 {
			t.Fatalf("published %d events before Wake or poll, want 0", n)
		}
		r.Wake()
		synctest.Wait()
		if got := ids(pub.Events(shared.TopicOrder)); !slices.Equal(got, []string{id}) {
			t.Fatalf("after Wake: published %v, want [%s]", got, id)
		}

		store.mu.Lock()
		store.failMark = true
		store.mu.Unlock()
		id2 := store.add(shared.TopicOrder, "o1", "order.confirmed")
		r.Wake()
		synctest.Wait()
		if store.len() != 1 {
			t.Fatalf("after a failed acknowledgement the outbox holds %d entries, want 1", store.len())
		}

		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v, want nil", err)
		}
		if got := ids(pub.Events(shared.TopicOrder)); !slices.Equal(got, []string{id, id2, id2}) {
			t.Errorf("published %v, want [%s %s %s] (the unacknowledged event again, in the final flush)", got, id, id2, id2)
		}
		if store.len() != 0 {
			t.Errorf("outbox holds %d entries after the final flush, want 0", store.len())
		}
	})
}

// TestByAggregate: each aggregate comes once, in the order it first appears, with its entries in
// their order; stopping early stops the iteration.
func TestByAggregate(t *testing.T) {
	t.Parallel()
	entry := func(agg, id string) shared.OutboxEntry {
		return shared.OutboxEntry{Event: shared.Event{ID: id, AggregateID: agg}}
	}
	entries := []shared.OutboxEntry{entry("b", "1"), entry("a", "2"), entry("b", "3"), entry("c", "4"), entry("a", "5")}
	var got []string
	for id, es := range shared.ByAggregate(entries) {
		s := id + ":"
		for _, e := range es {
			s += e.Event.ID
		}
		got = append(got, s)
	}
	if want := []string{"b:13", "a:25", "c:4"}; !slices.Equal(got, want) {
		t.Errorf("ByAggregate = %v, want %v", got, want)
	}
	n := 0
	for range shared.ByAggregate(entries) {
		n++
		break
	}
	if n != 1 {
		t.Errorf("ByAggregate after break: %d groups, want 1", n)
	}
	for id := range shared.ByAggregate(nil) {
		t.Errorf("ByAggregate(nil) yielded %q", id)
	}
}

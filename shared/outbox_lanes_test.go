package shared_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/goshop/platform/shared"
)

// gatedPublisher holds every Publish call until release is closed, counting the calls in flight at
// once; it records each aggregate's events in the order they were published, and fails the first
// call for each aggregate of fail.
type gatedPublisher struct {
	release  chan struct{}
	fail     map[string]bool
	mu       sync.Mutex
	inFlight int
	most     int
	byAgg    map[string][]string
}

func (p *gatedPublisher) Publish(ctx context.Context, _ string, events ...shared.Event) error {
	p.mu.Lock()
	p.inFlight++
	p.most = max(p.most, p.inFlight)
	p.mu.Unlock()
	<-p.release
	p.mu.Lock()
	defer p.mu.Unlock()
	p.inFlight--
	if len(events) != 1 {
		return fmt.Errorf("Publish got %d events, want one per call", len(events))
	}
	e := events[0]
	if p.fail[e.AggregateID] {
		delete(p.fail, e.AggregateID)
		return errors.New("smtp: 421 try again later")
	}
	p.byAgg[e.AggregateID] = append(p.byAgg[e.AggregateID], e.ID)
	return nil
}

// TestRelayLanes: with Lanes a pass publishes on several goroutines at once, one entry per call, each
// aggregate's entries in their order; a failure stops only its own lane, whose failed entry and the
// ones behind it stay pending and go out, in order, on the next pass.
func TestRelayLanes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &fakeOutbox{}
		want := map[string][]string{}
		aggs := []string{"jane@example.com", "joe@example.com", "ann@example.com", "bob@example.com",
			"eve@example.com", "max@example.com", "sue@example.com", "tom@example.com"}
		for i := range 3 {
			for _, a := range aggs {
				want[a] = append(want[a], store.add("order_confirmed", a, fmt.Sprint("mail ", i)))
			}
		}
		pub := &gatedPublisher{release: make(chan struct{}), fail: map[string]bool{"joe@example.com": true},
			byAgg: map[string][]string{}}
		r := shared.NewRelay(quiet(), store, pub, shared.NewMetrics("test"), shared.RelayConfig{Lanes: 4})
		errc := make(chan error, 1)
		go func() { errc <- r.Flush(context.Background()) }()
		synctest.Wait()
		pub.mu.Lock()
		most := pub.most
		pub.mu.Unlock()
		if most < 2 {
			t.Errorf("%d Publish calls in flight at once, want several (one per lane in use)", most)
		}
		close(pub.release)
		if err := <-errc; err == nil {
			t.Fatal("Flush = nil, want the failed lane's error")
		}
		if got := pub.byAgg["joe@example.com"]; len(got) != 0 {
			t.Errorf("joe's mails after his first failed = %v, want none (his lane stops)", got)
		}
		// Aggregates that share joe's lane may be cut short behind his failure; the others are out.
		whole := 0
		for _, a := range aggs {
			got := pub.byAgg[a]
			if !slices.Equal(got, want[a][:len(got)]) {
				t.Errorf("%s: published %v, not a prefix of %v", a, got, want[a])
			}
			if len(got) == len(want[a]) {
				whole++
			}
		}
		if whole == 0 {
			t.Error("no aggregate was published whole: the failure stopped every lane")
		}
		if n := store.len(); n < 3 {
			t.Errorf("outbox holds %d entries, want at least joe's 3", n)
		}
		if err := r.Flush(context.Background()); err != nil {
			t.Fatalf("second Flush: %v", err)
		}
		for _, a := range aggs {
			if got := pub.byAgg[a]; !slices.Equal(got, want[a]) {
				t.Errorf("%s after the retry: %v, want %v", a, got, want[a])
			}
		}
		if n := store.len(); n != 0 {
			t.Errorf("outbox holds %d entries after the retry, want 0", n)
		}
	})
}

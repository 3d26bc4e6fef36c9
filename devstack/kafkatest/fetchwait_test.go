package kafkatest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/goshop/platform/shared"
)

// fetchCounter counts the Fetch requests a kfake cluster receives for topic, per partition, without
// handling any.
type fetchCounter struct {
	mu    sync.Mutex
	n     map[int32]int
	first chan struct{} // closed at the first fetch of topic
}

func countFetches(c *kfake.Cluster, topic string) *fetchCounter {
	fc := &fetchCounter{n: map[int32]int{}, first: make(chan struct{})}
	c.ControlKey(int16(kmsg.Fetch), func(req kmsg.Request) (kmsg.Response, error, bool) {
		fc.mu.Lock()
		defer fc.mu.Unlock()
		for _, t := range req.(*kmsg.FetchRequest).Topics {
			if t.Topic != topic {
				continue
			}
			if len(fc.n) == 0 {
				close(fc.first)
			}
			for _, p := range t.Partitions {
				fc.n[p.Partition]++
			}
		}
		return nil, nil, false
	})
	return fc
}

// snapshot returns the counts so far.
func (fc *fetchCounter) snapshot() map[int32]int {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	out := map[int32]int{}
	for p, n := range fc.n {
		out[p] = n
	}
	return out
}

// TestFetchWait: with a FetchWait, events published one at a time, 5 ms apart, while the consumer
// waits reach it in a few fetches rather than one fetch each, every one once and in order; without,
// the same trickle costs about a fetch per event (the case that makes the setting worth having,
// checked so that the first case cannot pass by accident).
func TestFetchWait(t *testing.T) {
	const events = 20
	for _, tc := range []struct {
		name       string
		wait       time.Duration
		maxFetches int // on the events' partition while they trickle in
		minFetches int
	}{
		// The wait is far longer than publishing 20 events takes, so they span at most the fetch
		// held when the first arrived and the next; one more for slack.
		{"wait", 2 * time.Second, 3, 1},
		{"no wait", 0, events + 2, 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			const topic = "test.events"
			c, brokers := cluster(t, topic)
			fc := countFetches(c, topic)
			cfg := shared.ConsumerConfig{Brokers: brokers, Group: "svc", Topics: []string{topic}, MaxWait: 100 * time.Millisecond,
				FetchWait: tc.wait, RetryMax: 200 * time.Millisecond}
			rec := newRecorder(events)
			var before, after map[int32]int
			rec.settle = func() { after = fc.snapshot() }
			published := make(chan struct{})
			go func() {
				defer close(published)
				<-fc.first // the consumer is fetching: what follows trickles in while it waits
				before = fc.snapshot()
				pub := shared.NewKafkaPublisher(brokers)
				defer pub.Close()
				for i := range events {
					e, err := shared.NewEvent("test.numbered", "a", numbered{Key: "a", N: i})
					if err != nil {
						t.Error(err)
						return
					}
					if err := pub.Publish(context.Background(), topic, e); err != nil {
						t.Error(err)
						return
					}
					time.Sleep(5 * time.Millisecond) // a trickle's pace, 100 ms in all, far under the wait
				}
			}()
			consume(t, cfg, rec)
			// The consumer can hold the last event before the broker's ack of it reaches the
			// publisher: wait for it, so it neither reports into a finished test nor races on before.
			<-published
			if got, want := fmt.Sprint(rec.seen["a"]), fmt.Sprint(seq(0, events)); got != want {
				t.Errorf("handled %s, want %s", got, want)
			}
			most := 0 // the events' partition is the one fetched most
			for p, n := range after {
				most = max(most, n-before[p])
			}
			if most < tc.minFetches || most > tc.maxFetches {
				t.Errorf("%d events took %d fetches of their partition, want %d-%d (before %v, after %v)",
					events, most, tc.minFetches, tc.maxFetches, before, after)
			}
		})
	}
}

// TestFetchWaitClose: a consumer whose fetch the broker holds for its FetchWait (an hour here, so
// the broker would answer only in 45 minutes) still returns as soon as its context is cancelled, and
// a consumer in its group started afterwards gets the partitions and the events.
func TestFetchWaitClose(t *testing.T) {
	t.Parallel()
	const topic = "test.events"
	c, brokers := cluster(t, topic)
	fc := countFetches(c, topic)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithCancel(context.Background())
	ret := make(chan error, 1)
	go func() {
		ret <- shared.Consume(ctx, logger, shared.ConsumerConfig{Brokers: brokers, Group: "svc", Topics: []string{topic}, FetchWait: time.Hour},
			func(context.Context, shared.Event) error { return nil })
	}()
	select {
	case <-fc.first:
	case <-time.After(20 * time.Second):
		t.Fatal("no fetch in 20 s")
	}
	cancel()
	select {
	case err := <-ret:
		if err != nil {
			t.Errorf("Consume returned %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Consume still running 20 s after its context ended, its fetch held for the hour")
	}

	publish(t, brokers, topic, []string{"a", "b", "c"}, 0, 3)
	rec := newRecorder(9)
	consume(t, shared.ConsumerConfig{Brokers: brokers, Group: "svc", Topics: []string{topic}, MaxWait: 100 * time.Millisecond}, rec)
	for _, k := range []string{"a", "b", "c"} {
		if got := fmt.Sprint(rec.seen[k]); got != fmt.Sprint(seq(0, 3)) {
			t.Errorf("after the first consumer left, key %s handled %s, want [0 1 2]", k, got)
		}
	}
}

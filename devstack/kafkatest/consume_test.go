// Package kafkatest checks shared's Kafka helpers (KafkaPublisher, Consume) against a real
// Kafka-protocol broker (kfake) over the wire, as the services use them.
package kafkatest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/goshop/platform/shared"
)

// broker starts a one-broker kfake cluster on a free loopback port with one 3-partition topic.
func broker(t *testing.T, topic string) []string {
	t.Helper()
	_, addrs := cluster(t, topic)
	return addrs
}

// cluster is broker that also returns the cluster, to stop it early; it is closed at the end of tb.
func cluster(tb testing.TB, topic string) (*kfake.Cluster, []string) {
	tb.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(0), kfake.SeedTopics(3, topic),
		kfake.ListenFn(func(network, address string) (net.Listener, error) {
			return net.Listen(network, "127.0.0.1:0")
		}))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(c.Close)
	return c, c.ListenAddrs()
}

// publish sends n events for each of keys, numbered per key, through the platform's publisher.
func publish(t testing.TB, brokers []string, topic string, keys []string, from, n int) {
	t.Helper()
	publishTyped(t, brokers, topic, "test.numbered", keys, from, n)
}

// publishTyped is publish with events of type typ.
func publishTyped(t testing.TB, brokers []string, topic, typ string, keys []string, from, n int) {
	t.Helper()
	pub := shared.NewKafkaPublisher(brokers)
	defer pub.Close()
	var evs []shared.Event
	for i := from; i < from+n; i++ {
		for _, k := range keys {
			e, err := shared.NewEvent(typ, k, map[string]any{"key": k, "n": i})
			if err != nil {
				t.Fatal(err)
			}
			evs = append(evs, e)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := pub.Publish(ctx, topic, evs...); err != nil {
		t.Fatal(err)
	}
}

type numbered struct {
	Key string `json:"key"`
	N   int    `json:"n"`
}

// recorder is a handler that records what it handled, per key, and fails the first attempt at
// every event whose n is in failOnce.
type recorder struct {
	mu       sync.Mutex
	seen     map[string][]int
	attempts map[string]int
	failOnce map[int]bool
	total    int
	want     int
	done     chan struct{}
	settle   func() // run after done, before the consumer is stopped; nil: none
}

func newRecorder(want int, failOnce ...int) *recorder {
	r := &recorder{seen: map[string][]int{}, attempts: map[string]int{}, failOnce: map[int]bool{}, want: want, done: make(chan struct{})}
	for _, n := range failOnce {
		r.failOnce[n] = true
	}
	return r
}

func (r *recorder) handle(_ context.Context, e shared.Event) error {
	var d numbered
	if err := e.Decode(&d); err != nil {
		return fmt.Errorf("%w: %v", shared.ErrPoison, err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.attempts[e.ID]++
	if r.failOnce[d.N] && r.attempts[e.ID] == 1 {
		return errors.New("dependency down")
	}
	r.seen[d.Key] = append(r.seen[d.Key], d.N)
	r.total++
	if r.total == r.want {
		close(r.done)
	}
	return nil
}

// consume runs shared.Consume until rec has seen what it wants (or 20 s pass), then stops it and
// waits for it to return, as a service does at shutdown.
func consume(t *testing.T, cfg shared.ConsumerConfig, rec *recorder) {
	t.Helper()
	runConsumer(t, rec, func(ctx context.Context) error {
		return shared.Consume(ctx, slog.New(slog.NewTextHandler(io.Discard, nil)), cfg, rec.handle)
	})
}

// runConsumer runs a consumer until rec has seen what it wants (or 20 s pass), then cancels it and
// wants it to return nil.
func runConsumer(t *testing.T, rec *recorder, run func(ctx context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ret := make(chan error, 1)
	go func() { ret <- run(ctx) }()
	select {
	case <-rec.done:
	case <-time.After(20 * time.Second):
		rec.mu.Lock()
		t.Errorf("handled %d of %d events in 20 s", rec.total, rec.want)
		rec.mu.Unlock()
	}
	if rec.settle != nil {
		rec.settle()
	}
	cancel()
	if err := <-ret; err != nil {
		t.Errorf("consumer returned %v", err)
	}
}

// TestConsume: every event is handled once, in order per key (one key, one partition), a failing
// handler is retried before the next event of its partition, and what was handled is committed: a
// consumer started again in the same group sees only what came after. Both commit modes, and with a
// FetchWait.
func TestConsume(t *testing.T) {
	for _, tc := range []struct {
		name      string
		interval  time.Duration
		fetchWait time.Duration
	}{{"sync commit", 0, 0}, {"background commit", 200 * time.Millisecond, 0}, {"fetch wait", 200 * time.Millisecond, 150 * time.Millisecond}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			const topic = "test.events"
			brokers := broker(t, topic)
			keys := []string{"a", "b", "c", "d", "e", "f"}
			cfg := shared.ConsumerConfig{Brokers: brokers, Group: "svc", Topics: []string{topic},
				MaxWait: 100 * time.Millisecond, RetryMax: 200 * time.Millisecond, CommitInterval: tc.interval, FetchWait: tc.fetchWait}

			publish(t, brokers, topic, keys, 0, 20)
			first := newRecorder(len(keys)*20, 3, 11)
			consume(t, cfg, first)
			for _, k := range keys {
				want := make([]int, 20)
				for i := range want {
					want[i] = i
				}
				if got := first.seen[k]; fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("key %s handled %v, want %v", k, got, want)
				}
			}
			for id, n := range first.attempts {
				if n > 2 {
					t.Errorf("event %s attempted %d times", id, n)
				}
			}

			checkResumes(t, brokers, topic, keys, 20, func(rec *recorder) { consume(t, cfg, rec) })
		})
	}
}

// BenchmarkPublish times shared.KafkaPublisher against kfake: one event per call, from one goroutine
// (the latency a service's request or relay sees) and from many (throughput under concurrency).
//
//	cd devstack && go test -run '^$' -bench Publish -benchtime 200x ./kafkatest/
func BenchmarkPublish(b *testing.B) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(0), kfake.SeedTopics(3, "bench.events"),
		kfake.ListenFn(func(network, address string) (net.Listener, error) { return net.Listen(network, "127.0.0.1:0") }))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	pub := shared.NewKafkaPublisher(c.ListenAddrs())
	defer pub.Close()
	e, err := shared.NewEvent("bench.event", "agg", map[string]int{"n": 1})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if err := pub.Publish(ctx, "bench.events", e); err != nil { // connect and learn the metadata
		b.Fatal(err)
	}
	b.Run("serial", func(b *testing.B) {
		for b.Loop() {
			if err := pub.Publish(ctx, "bench.events", e); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.SetParallelism(32)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := pub.Publish(ctx, "bench.events", e); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// checkResumes publishes events from..from+4 for each key and wants a consumer run again in the
// group to handle just those: what it handled before was committed.
func checkResumes(t *testing.T, brokers []string, topic string, keys []string, from int, run func(*recorder)) {
	t.Helper()
	publish(t, brokers, topic, keys, from, 5)
	rec := newRecorder(len(keys) * 5)
	run(rec)
	for _, k := range keys {
		if got, want := fmt.Sprint(rec.seen[k]), fmt.Sprint(seq(from, from+5)); got != want {
			t.Errorf("after a restart key %s handled %s, want %s (committed offsets lost or skipped)", k, got, want)
		}
	}
}

// TestConsumeBatches: a batch handler sees every event once per success, in order per key, gets
// more than one event per call when the reader holds them, and a poison event and a failing one in
// a batch cost no other event; what was handled is committed.
func TestConsumeBatches(t *testing.T) {
	t.Parallel()
	const topic = "test.events"
	brokers := broker(t, topic)
	keys := []string{"a", "b", "c", "d", "e", "f"}
	cfg := shared.ConsumerConfig{Brokers: brokers, Group: "svc", Topics: []string{topic},
		MaxWait: 100 * time.Millisecond, RetryMax: 200 * time.Millisecond, CommitInterval: 200 * time.Millisecond}

	publish(t, brokers, topic, keys, 0, 20)
	poison, err := shared.NewEvent("test.numbered", "a", "not an object")
	if err != nil {
		t.Fatal(err)
	}
	pub := shared.NewKafkaPublisher(brokers)
	if err := pub.Publish(context.Background(), topic, poison); err != nil {
		t.Fatal(err)
	}
	pub.Close()
	publish(t, brokers, topic, keys, 20, 20)

	rec := newRecorder(len(keys)*40, 7, 25)
	largest := consumeBatches(t, cfg, rec)
	want := fmt.Sprint(seq(0, 40))
	for _, k := range keys {
		if got := fmt.Sprint(rec.seen[k]); got != want {
			t.Errorf("key %s handled %s, want %s", k, got, want)
		}
	}
	if largest < 2 {
		t.Errorf("largest batch %d events, want more (240 events were waiting)", largest)
	}

	checkResumes(t, brokers, topic, keys, 40, func(rec *recorder) { consumeBatches(t, cfg, rec) })
}

// consumeBatches is consume through shared.ConsumeBatches, with a batch handler that hands each
// event to rec and skips those it handled already (a failed batch comes back event by event). It
// returns the largest batch seen.
func consumeBatches(t *testing.T, cfg shared.ConsumerConfig, rec *recorder) int {
	t.Helper()
	done := map[string]bool{}
	largest := 0
	handle := func(ctx context.Context, es []shared.Event) error {
		largest = max(largest, len(es))
		for _, e := range es {
			if done[e.ID] {
				continue
			}
			if err := rec.handle(ctx, e); err != nil {
				return err
			}
			done[e.ID] = true
		}
		return nil
	}
	runConsumer(t, rec, func(ctx context.Context) error {
		return shared.ConsumeBatches(ctx, slog.New(slog.NewTextHandler(io.Discard, nil)), cfg, handle)
	})
	return largest
}

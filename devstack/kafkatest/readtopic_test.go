package kafkatest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/goshop/platform/shared"
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// TestReadTopic: ReadTopic hands over exactly what the topic held when it was called, from every
// partition and in order per key, and returns on its own; events published while it reads are left
// to a consumer; a failing handler is retried before the next event of its partition.
func TestReadTopic(t *testing.T) {
	t.Parallel()
	const topic = "test.events"
	brokers := broker(t, topic)
	keys := []string{"a", "b", "c", "d", "e", "f"}
	publish(t, brokers, topic, keys, 0, 20)

	rec := newRecorder(-1, 5)
	calls := 0
	handle := func(ctx context.Context, e shared.Event) error {
		if calls++; calls == 1 {
			publish(t, brokers, topic, keys, 20, 3) // after the call: past the end it reads to
		}
		return rec.handle(ctx, e)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := shared.ReadTopic(ctx, discard, brokers, topic, 100*time.Millisecond, handle); err != nil {
		t.Fatalf("ReadTopic: %v", err)
	}
	want := fmt.Sprint(seq(0, 20))
	for _, k := range keys {
		if got := fmt.Sprint(rec.seen[k]); got != want {
			t.Errorf("key %s: read %s, want %s", k, got, want)
		}
	}
	if rec.total != len(keys)*20 {
		t.Errorf("read %d events, want %d", rec.total, len(keys)*20)
	}

	// Nothing was committed: a new consumer group still starts at the first offset.
	again := newRecorder(len(keys) * 23)
	consume(t, shared.ConsumerConfig{Brokers: brokers, Group: "after-read", Topics: []string{topic}, MaxWait: 100 * time.Millisecond}, again)
	for _, k := range keys {
		if got, want := fmt.Sprint(again.seen[k]), fmt.Sprint(seq(0, 23)); got != want {
			t.Errorf("consumer after ReadTopic: key %s handled %s, want %s", k, got, want)
		}
	}
}

// TestReadTopicEmpty: an empty topic and a topic that does not exist read as nothing, at once.
func TestReadTopicEmpty(t *testing.T) {
	t.Parallel()
	brokers := broker(t, "test.events")
	for _, topic := range []string{"test.events", "no.such.topic"} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		n := 0
		err := shared.ReadTopic(ctx, discard, brokers, topic, 100*time.Millisecond, func(context.Context, shared.Event) error { n++; return nil })
		cancel()
		if err != nil || n != 0 {
			t.Errorf("ReadTopic(%s) = %v after %d events, want nil after 0", topic, err, n)
		}
	}
}

// TestReadTopicContext: ReadTopic stops when its context ends, whether a handler keeps failing or
// the broker is gone.
func TestReadTopicContext(t *testing.T) {
	t.Parallel()
	const topic = "test.events"
	c, brokers := cluster(t, topic)
	publish(t, brokers, topic, []string{"a"}, 0, 3)

	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	err := shared.ReadTopic(ctx, discard, brokers, topic, 100*time.Millisecond, func(context.Context, shared.Event) error {
		calls++
		cancel()
		return errors.New("dependency down")
	})
	if !errors.Is(err, context.Canceled) || calls != 1 {
		t.Errorf("cancelled while retrying: ReadTopic = %v after %d calls, want context.Canceled after 1", err, calls)
	}

	c.Close()
	ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := shared.ReadTopic(ctx, discard, brokers, topic, 100*time.Millisecond, func(context.Context, shared.Event) error { return nil }); err == nil {
		t.Error("broker gone: ReadTopic = nil, want an error")
	}
}

// BenchmarkReadTopic times a start-up read from kfake (3 partitions) of the demo catalog's 24
// product.created events and of 10 000 events (2 500 products, four events each):
//
//	cd devstack && go test -run '^$' -bench ReadTopic -benchtime 5x ./kafkatest/
func BenchmarkReadTopic(b *testing.B) {
	for _, bc := range []struct{ products, each int }{{24, 1}, {2500, 4}} {
		b.Run(fmt.Sprintf("events=%d", bc.products*bc.each), func(b *testing.B) {
			const topic = "bench.events"
			_, brokers := cluster(b, topic)
			keys := make([]string, bc.products)
			for i := range keys {
				keys[i] = fmt.Sprintf("product-%d", i)
			}
			publish(b, brokers, topic, keys, 0, bc.each)
			ctx := context.Background()
			for b.Loop() {
				n := 0
				if err := shared.ReadTopic(ctx, discard, brokers, topic, 100*time.Millisecond, func(context.Context, shared.Event) error { n++; return nil }); err != nil {
					b.Fatal(err)
				}
				if n != bc.products*bc.each {
					b.Fatalf("read %d events, want %d", n, bc.products*bc.each)
				}
			}
		})
	}
}

func seq(from, to int) []int {
	s := make([]int, 0, to-from)
	for i := from; i < to; i++ {
		s = append(s, i)
	}
	return s
}

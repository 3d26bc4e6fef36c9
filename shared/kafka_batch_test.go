package shared

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/segmentio/kafka-go"
)

// batchMessages are Kafka messages holding events e0..e(n-1), with a value that is no event at bad.
func batchMessages(t *testing.T, n, bad int) []kafka.Message {
	t.Helper()
	var msgs []kafka.Message
	for i := range n {
		v := []byte("not json")
		if i != bad {
			b, err := json.Marshal(Event{ID: fmt.Sprintf("e%d", i), Type: "test.numbered", Data: json.RawMessage(`{}`)})
			if err != nil {
				t.Fatal(err)
			}
			v = b
		}
		msgs = append(msgs, kafka.Message{Topic: "t", Offset: int64(i), Value: v})
	}
	return msgs
}

// TestBatchRun: a batch that succeeds is one call; one that fails is handed over again event by
// event, in order, where a failing event is retried with backoff (synctest's clock) before the next
// and a poison event is dropped; values that are not events never reach the handler.
func TestBatchRun(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var calls []string
		failures := map[string]int{"e2": 3} // e2 fails its first 3 single attempts
		batch := func(_ context.Context, es []Event) error {
			ids := make([]string, len(es))
			for i, e := range es {
				ids[i] = e.ID
			}
			calls = append(calls, strings.Join(ids, ","))
			if len(es) > 1 {
				for _, e := range es {
					if e.ID == "e2" || e.ID == "e4" {
						return errors.New("redis down")
					}
				}
				return nil
			}
			switch id := es[0].ID; {
			case id == "e4":
				return fmt.Errorf("%w: bad data", ErrPoison)
			case failures[id] > 0:
				failures[id]--
				return errors.New("redis down")
			}
			return nil
		}
		h := batchRun{logger: NewLogger(io.Discard, "t", "error"), group: "g", retryMax: time.Second, batch: batch,
			one: func(ctx context.Context, e Event) error { return batch(ctx, []Event{e}) }}

		start := time.Now()
		if !h.handle(t.Context(), batchMessages(t, 4, 2)) {
			t.Fatal("handle = false")
		}
		if got, want := strings.Join(calls, " "), "e0,e1,e3"; got != want {
			t.Fatalf("calls = %s, want %s (one call, the malformed value left out)", got, want)
		}
		if d := time.Since(start); d != 0 {
			t.Errorf("a batch that succeeds took %v", d)
		}

		calls = nil
		failures["e2"] = 3
		start = time.Now()
		if !h.handle(t.Context(), batchMessages(t, 6, -1)) {
			t.Fatal("handle = false")
		}
		if got, want := strings.Join(calls, " "), "e0,e1,e2,e3,e4,e5 e0 e1 e2 e2 e2 e2 e3 e4 e5"; got != want {
			t.Errorf("calls = %s, want %s", got, want)
		}
		// Backoff before the retries of e2: 100, 200, 400 ms.
		if d, want := time.Since(start), 700*time.Millisecond; d != want {
			t.Errorf("retries took %v, want %v", d, want)
		}

		// Cancelled while retrying: false, and nothing after the failing event is handled.
		calls = nil
		failures["e0"] = 1000
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(5*time.Second, cancel)
		if h.handle(ctx, batchMessages(t, 3, -1)) {
			t.Error("handle = true after its context ended")
		}
		if got := calls[len(calls)-1]; got != "e0" {
			t.Errorf("last call %s after cancel, want e0 (nothing past the failing event)", got)
		}
	})
}

// TestBatchRunOneByOne: without a batch handler (Consume), every event is one call of one, also
// when the fetch brought several.
func TestBatchRunOneByOne(t *testing.T) {
	t.Parallel()
	var got []string
	h := batchRun{logger: NewLogger(io.Discard, "t", "error"), retryMax: time.Second,
		one: func(_ context.Context, e Event) error { got = append(got, e.ID); return nil }}
	if !h.handle(t.Context(), batchMessages(t, 3, -1)) {
		t.Fatal("handle = false")
	}
	if strings.Join(got, ",") != "e0,e1,e2" {
		t.Errorf("handled %v, want e0,e1,e2 one by one", got)
	}
}

// TestFetcherMore: a batch holds what has arrived already and, with a wait, what arrives within it
// after the first message; never more than MaxBatch.
func TestFetcherMore(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		f := &fetcher{msgs: make(chan kafka.Message, MaxBatch)}
		offsets := func(ms []kafka.Message) string {
			var b strings.Builder
			for _, m := range ms {
				fmt.Fprintf(&b, "%d ", m.Offset)
			}
			return strings.TrimSpace(b.String())
		}
		f.msgs <- kafka.Message{Offset: 1}
		f.msgs <- kafka.Message{Offset: 2}
		if got := offsets(f.more(t.Context(), []kafka.Message{{Offset: 0}}, 0)); got != "0 1 2" {
			t.Errorf("no wait: batch %s, want 0 1 2 (what had arrived)", got)
		}

		go func() {
			for i, at := range []time.Duration{10, 30, 60} {
				time.Sleep(at * time.Millisecond)
				f.msgs <- kafka.Message{Offset: int64(10 + i)}
			}
		}()
		start := time.Now()
		got := offsets(f.more(t.Context(), []kafka.Message{{Offset: 9}}, 50*time.Millisecond))
		if got != "9 10 11" || time.Since(start) != 50*time.Millisecond {
			t.Errorf("50 ms wait: batch %s after %v, want 9 10 11 after 50ms", got, time.Since(start))
		}
		if got := offsets(f.more(t.Context(), nil, time.Second)); got != "12" {
			t.Errorf("next batch %s, want 12", got)
		}

		for i := range MaxBatch + 5 {
			select {
			case f.msgs <- kafka.Message{Offset: int64(i)}:
			default: // the channel holds MaxBatch
			}
		}
		if n := len(f.more(t.Context(), []kafka.Message{{}}, time.Second)); n != MaxBatch {
			t.Errorf("batch of %d, want at most MaxBatch (%d)", n, MaxBatch)
		}
	})
}

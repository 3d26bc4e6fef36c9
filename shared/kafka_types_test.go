package shared

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/segmentio/kafka-go"
)

// typedMessages are Kafka messages holding one event each, of the given types, with the type header
// the publisher sets; a type written "-name" is sent without the header (an older producer).
func typedMessages(tb testing.TB, types ...string) []kafka.Message {
	tb.Helper()
	msgs := make([]kafka.Message, 0, len(types))
	for i, typ := range types {
		bare := strings.HasPrefix(typ, "-")
		typ = strings.TrimPrefix(typ, "-")
		b, err := json.Marshal(Event{ID: fmt.Sprintf("e%d", i), Type: typ, AggregateID: "a", Data: json.RawMessage(`{"n":1}`)})
		if err != nil {
			tb.Fatal(err)
		}
		m := kafka.Message{Topic: "t", Offset: int64(i), Value: b}
		if !bare {
			m.Headers = []kafka.Header{{Key: TypeHeader, Value: []byte(typ)}}
		}
		msgs = append(msgs, m)
	}
	return msgs
}

// TestBatchRunTypes: with Types set, messages whose type header names another type never reach
// either handler; a message without the header does, and the order of what is handed over holds.
// Without Types every event is handed over.
func TestBatchRunTypes(t *testing.T) {
	t.Parallel()
	msgs := []string{"a.skip", "a.want", "a.skip", "-a.skip", "b.want", "a.skip", "a.want"}
	for _, tc := range []struct {
		name  string
		types []string
		batch bool
		want  string
	}{
		{"one by one", []string{"a.want", "b.want"}, false, "e1 e3 e4 e6"},
		{"batches", []string{"a.want", "b.want"}, true, "e1,e3,e4,e6"},
		{"every type", nil, false, "e0 e1 e2 e3 e4 e5 e6"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var calls []string
			record := func(_ context.Context, es []Event) error {
				ids := make([]string, len(es))
				for i, e := range es {
					ids[i] = e.ID
				}
				calls = append(calls, strings.Join(ids, ","))
				return nil
			}
			h := batchRun{logger: NewLogger(io.Discard, "t", "error"), group: "g", wanted: typeSet(tc.types),
				one: func(ctx context.Context, e Event) error { return record(ctx, []Event{e}) }}
			if tc.batch {
				h.batch = record
			}
			if !h.handle(t.Context(), typedMessages(t, msgs...)) {
				t.Fatal("handle = false")
			}
			if got := strings.Join(calls, " "); got != tc.want {
				t.Errorf("handed over %q, want %q", got, tc.want)
			}
			calls = nil
			if !h.handle(t.Context(), typedMessages(t, "a.skip", "a.skip")) {
				t.Fatal("handle = false")
			}
			if tc.types != nil && len(calls) > 0 {
				t.Errorf("a fetch of unwanted types handed over %v", calls)
			}
		})
	}
}

// TestUnwantedAllocs: deciding that a message is unwanted allocates nothing.
func TestUnwantedAllocs(t *testing.T) {
	h := batchRun{wanted: typeSet([]string{"order.created", "order.paid"})}
	m := typedMessages(t, "inventory.updated")[0]
	if n := testing.AllocsPerRun(100, func() {
		if !h.unwanted(m) {
			t.Fatal("inventory.updated wanted")
		}
	}); n != 0 {
		t.Errorf("unwanted allocates %v times per message", n)
	}
}

// BenchmarkBatchRunSkip times handing over one fetched message of a type the consumer does not
// want: skipped by its header (Types set) against decoded and dropped by the handler (no Types).
//
//	go test -run '^$' -bench BatchRunSkip -benchmem ./shared/
func BenchmarkBatchRunSkip(b *testing.B) {
	msgs := typedMessages(b, "inventory.updated")
	msgs[0].Value, _ = json.Marshal(Event{ID: NewID(), Type: "inventory.updated", AggregateID: "SKU-1",
		Data: json.RawMessage(`{"sku":"SKU-1","on_hand":100,"reserved":3,"available":97}`)})
	ignore := func(context.Context, Event) error { return nil }
	for _, tc := range []struct {
		name  string
		types []string
	}{{"header", []string{"inventory.reserved", "inventory.rejected", "inventory.released"}}, {"decode", nil}} {
		b.Run(tc.name, func(b *testing.B) {
			h := batchRun{logger: NewLogger(io.Discard, "t", "error"), group: "g", wanted: typeSet(tc.types), one: ignore}
			for b.Loop() {
				h.handle(b.Context(), msgs)
			}
		})
	}
}

// TestEventDecodePoison: data that does not decode is ErrPoison naming the event, so a consumer
// returns Decode's error as it is; Poison words its own reasons the same way.
func TestEventDecodePoison(t *testing.T) {
	t.Parallel()
	e := Event{ID: "e1", Type: "order.paid", Data: []byte(`{"order_id":7}`)}
	var d struct {
		OrderID string `json:"order_id"`
	}
	err := e.Decode(&d)
	if !errors.Is(err, ErrPoison) || !strings.HasPrefix(fmt.Sprint(err), "poison event: order.paid e1: data: ") {
		t.Errorf("Decode(%s) = %v, want ErrPoison naming order.paid e1", e.Data, err)
	}
	e.Data = []byte(`{"order_id":"o1"}`)
	if err := e.Decode(&d); err != nil || d.OrderID != "o1" {
		t.Errorf("Decode(%s) = %v, order_id %q; want nil, o1", e.Data, err, d.OrderID)
	}
	if err := e.Poison("bad order_id %q", "x"); !errors.Is(err, ErrPoison) || err.Error() != `poison event: order.paid e1: bad order_id "x"` {
		t.Errorf("Poison = %v", err)
	}
}

package shared

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// envelopeCases are envelopes whose AppendJSON must equal json.Marshal's output.
var envelopeCases = []Event{
	{ID: "e1", Type: "order.created", Version: 1, OccurredAt: time.Date(2026, 12, 6, 22, 0, 0, 123_000_000, time.UTC),
		AggregateID: "o1", Data: json.RawMessage(`{"order_id":"o1","items":[{"sku":"A\u003c\u0026\u003e","quantity":1}]}`)},
	{ID: "e2", Type: "inventory.updated", Version: 2, OccurredAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600)),
		AggregateID: "SKU \"quoted\"\n\u2028", Data: json.RawMessage(`"plain"`), TraceParent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", TraceState: "a=b"},
	{ID: "e3", Type: "t", AggregateID: "bad \xff utf8"}, // nil data: null
}

func TestEventAppendJSON(t *testing.T) {
	t.Parallel()
	for _, e := range envelopeCases {
		want, err := json.Marshal(&e)
		if err != nil {
			t.Fatal(err)
		}
		got, err := e.AppendJSON(nil)
		if err != nil {
			t.Fatalf("AppendJSON(%s): %v", e.ID, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("AppendJSON(%s)\n got %s\nwant %s", e.ID, got, want)
		}
	}
}

// TestEventAppendJSONInvalidData: data that is not one JSON value is refused, as json.Marshal does,
// so no consumer gets an envelope it cannot parse.
func TestEventAppendJSONInvalidData(t *testing.T) {
	t.Parallel()
	for _, data := range []string{`{"a":`, `1 2`, ``, `nul`} {
		e := Event{ID: "e", Type: "t", Data: json.RawMessage(data)}
		if _, err := json.Marshal(&e); err == nil {
			t.Fatalf("json.Marshal accepted data %q", data)
		}
		if b, err := e.AppendJSON(nil); err == nil {
			t.Errorf("AppendJSON with data %q = %s, want an error", data, b)
		}
	}
}

// FuzzAppendJSON holds AppendJSONString, AppendJSONTime and Event.AppendJSON to encoding/json's bytes.
func FuzzAppendJSON(f *testing.F) {
	for _, e := range envelopeCases {
		f.Add(e.ID, e.Type, e.AggregateID, string(e.Data), e.TraceParent, e.OccurredAt.UnixNano())
	}
	f.Add("\x00\x1f\x7f", "<script>", "\xed\xa0\x80", `{"k":[1,2.5e3,true,null]}`, "\u2029", int64(-1))
	f.Fuzz(func(t *testing.T, id, typ, agg, data, tp string, ns int64) {
		at := time.Unix(0, ns).UTC()
		for _, s := range []string{id, typ, agg, data, tp} {
			want, _ := json.Marshal(s)
			if got := AppendJSONString(nil, s); !bytes.Equal(got, want) {
				t.Fatalf("AppendJSONString(%q) = %s, want %s", s, got, want)
			}
		}
		if want, err := json.Marshal(at); err == nil {
			if got := AppendJSONTime(nil, at); !bytes.Equal(got, want) {
				t.Fatalf("AppendJSONTime(%v) = %s, want %s", at, got, want)
			}
		}
		e := Event{ID: id, Type: typ, Version: 1, OccurredAt: at, AggregateID: agg, Data: json.RawMessage(data), TraceParent: tp}
		want, werr := json.Marshal(&e)
		got, gerr := e.AppendJSON(nil)
		switch {
		case werr != nil:
			if gerr == nil && json.Valid(e.Data) {
				return // json.Marshal refused the time (a year past 9999), which AppendJSONTime writes
			}
			if gerr == nil {
				t.Fatalf("AppendJSON accepted what json.Marshal refused (%v): %s", werr, got)
			}
		case gerr != nil:
			t.Fatalf("AppendJSON: %v; json.Marshal wrote %s", gerr, want)
		case !json.Valid(got):
			t.Fatalf("AppendJSON wrote invalid JSON %s", got)
		case !bytes.Equal(got, want) && bytes.Equal(e.Data, canonical(t, e.Data)):
			t.Fatalf("AppendJSON\n got %s\nwant %s", got, want)
		case !reflect.DeepEqual(decodeAny(t, got), decodeAny(t, want)):
			t.Fatalf("AppendJSON means another value\n got %s\nwant %s", got, want)
		}
	})
}

// canonical is data as json.Marshal writes a RawMessage: compact, HTML-escaped. AppendJSON writes
// data as it is, so the two agree byte for byte only on such data (what json.Marshal produced, as
// every event's data is); on other data they must mean the same value.
func canonical(t *testing.T, data []byte) []byte {
	var c, h bytes.Buffer
	if err := json.Compact(&c, data); err != nil {
		t.Fatal(err)
	}
	json.HTMLEscape(&h, c.Bytes())
	return h.Bytes()
}

func decodeAny(t *testing.T, b []byte) any {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return v
}

// BenchmarkEventEncode compares the envelope's encoding by reflection with AppendJSON.
func BenchmarkEventEncode(b *testing.B) {
	e := Event{ID: NewID(), Type: "order.created", Version: 1, OccurredAt: time.Now().UTC(), AggregateID: NewID(),
		Data: json.RawMessage(`{"order_id":"0f8fad5bd9cb469fa16570867728950e","user_id":"7c9e6679742540de944be07fc1f90ae7","status":"pending","items":[{"sku":"ELEC-CAM-005","name":"Action Camera","unit_price_cents":19999,"quantity":1}],"subtotal_cents":19999,"tax_cents":1600,"shipping_cents":0,"total_cents":21599,"currency":"USD","reason":""}`)}
	b.Run("json.Marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(&e); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("AppendJSON", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := e.AppendJSON(make([]byte, 0, 256+len(e.Data))); err != nil {
				b.Fatal(err)
			}
		}
	})
}

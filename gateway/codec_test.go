package main

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

func TestEntryRoundTrip(t *testing.T) {
	t.Parallel()
	now := time.Unix(1700000000, 123)
	e := &entry{Status: 200, Header: http.Header{"Content-Type": {"application/json"}, "Etag": {`"a"`, `"b"`}},
		Body: []byte("hello"), Stored: now, FreshUntil: now.Add(time.Minute), StaleUntil: now.Add(time.Hour)}
	got, err := decodeEntry(encodeEntry(e))
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != e.Status || string(got.Body) != "hello" || !got.Stored.Equal(now) ||
		!got.StaleUntil.Equal(e.StaleUntil) || fmt.Sprint(got.Header) != fmt.Sprint(e.Header) {
		t.Errorf("decode(encode(e)) = %+v, want %+v", got, e)
	}
	for _, bad := range [][]byte{nil, {0}, {1}, {1, 0xff}, {2, 200, 1}} {
		if _, err := decodeEntry(bad); err == nil {
			t.Errorf("decodeEntry(%v): err = nil, want an error", bad)
		}
	}
}

func FuzzDecodeEntry(f *testing.F) {
	now := time.Now()
	f.Add(encodeEntry(&entry{Status: 200, Header: http.Header{"A": {"b"}}, Body: []byte("x"), Stored: now}))
	f.Add([]byte{1, 200, 1, 0, 0, 0, 5})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := decodeEntry(b)
		if err != nil {
			return
		}
		again, err := decodeEntry(encodeEntry(e))
		if err != nil || again.Status != e.Status || string(again.Body) != string(e.Body) {
			t.Fatalf("re-encoding a decoded entry changed it: %v", err)
		}
	})
}

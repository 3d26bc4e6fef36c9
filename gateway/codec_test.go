package main

import (
	"bytes"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strconv"
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
		if err != nil || again.Status != e.Status || string(again.Body) != string(e.Body) || !reflect.DeepEqual(again.Header, e.Header) ||
			!again.Stored.Equal(e.Stored) || !again.FreshUntil.Equal(e.FreshUntil) || !again.StaleUntil.Equal(e.StaleUntil) {
			t.Fatalf("re-encoding a decoded entry changed it: %v", err)
		}
	})
}

// FuzzEntryRoundTrip: every entry the cache can build comes back from decodeEntry(encodeEntry(e))
// equal in every field (the standard path's answer, as a JSON round trip would give), whatever the
// bytes in its header names, values and body.
func FuzzEntryRoundTrip(f *testing.F) {
	f.Add(200, "Content-Type", "application/json", "Etag", `"v1"`, uint8(2), []byte(`{"items":[]}`), int64(1700000000123456789), int64(60e9), int64(300e9))
	f.Add(404, "", "", "X", "", uint8(0), []byte{}, int64(0), int64(0), int64(0))
	f.Add(999, "A\x00b", "\xff\xfe", "a", "\r\n", uint8(255), []byte{0, 1, 2}, int64(-1), int64(1), int64(-5))
	f.Fuzz(func(t *testing.T, status int, k1, v1, k2, v2 string, nv uint8, body []byte, stored, fresh, stale int64) {
		if status < 100 || status > 999 {
			t.Skip() // not a status an upstream answer can have
		}
		h := http.Header{k1: {v1}}
		vs := make([]string, 0, int(nv)%8)
		for i := range cap(vs) {
			vs = append(vs, fmt.Sprint(v2, i))
		}
		h[k2] = vs
		e := &entry{Status: status, Header: h, Body: body, Stored: time.Unix(0, stored),
			FreshUntil: time.Unix(0, stored).Add(time.Duration(fresh)), StaleUntil: time.Unix(0, stored).Add(time.Duration(stale))}
		got, err := decodeEntry(encodeEntry(e))
		if err != nil {
			t.Fatalf("decodeEntry(encodeEntry(%+v)): %v", e, err)
		}
		if got.Status != e.Status || !bytes.Equal(got.Body, e.Body) || !got.Stored.Equal(e.Stored) ||
			!got.FreshUntil.Equal(e.FreshUntil) || !got.StaleUntil.Equal(e.StaleUntil) || !reflect.DeepEqual(got.Header, e.Header) ||
			!slices.Equal(got.contentLength, []string{strconv.Itoa(len(body))}) {
			t.Fatalf("decode(encode(e)) = %+v, want %+v", got, e)
		}
	})
}

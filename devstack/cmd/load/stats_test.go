package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		var out []time.Duration
		for _, x := range v {
			out = append(out, time.Duration(x)*time.Millisecond)
		}
		return out
	}
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	for _, tc := range []struct {
		in   []time.Duration
		p    float64
		want time.Duration
	}{
		{nil, 50, 0},
		{ms(7), 50, 7 * time.Millisecond},
		{ms(7), 99, 7 * time.Millisecond},
		{ms(1, 2), 50, 1 * time.Millisecond},
		{ms(1, 2), 51, 2 * time.Millisecond},
		{ms(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{ms(1, 2, 3, 4), 75, 3 * time.Millisecond},
		{ms(1, 2, 3, 4), 100, 4 * time.Millisecond},
		{hundred, 50, 50 * time.Millisecond},
		{hundred, 90, 90 * time.Millisecond},
		{hundred, 99, 99 * time.Millisecond},
		{hundred, 99.9, 100 * time.Millisecond},
		{hundred, 0, 1 * time.Millisecond},
	} {
		if got := Percentile(tc.in, tc.p); got != tc.want {
			t.Errorf("Percentile(%v, %v) = %v, want %v", tc.in, tc.p, got, tc.want)
		}
	}
}

func TestSummarizeAndMerge(t *testing.T) {
	a, b := NewStats("requests"), NewStats("requests")
	for i := 1; i <= 90; i++ {
		a.Add(time.Duration(i)*time.Millisecond, "200", "HIT")
	}
	for i := 91; i <= 100; i++ {
		b.Add(time.Duration(i)*time.Millisecond, "429", "")
	}
	b.Add(time.Second, "net", "")
	b.Add(0, "200", "MISS")
	all := NewStats("requests")
	all.Merge(b) // out of order on purpose: Summarize sorts
	all.Merge(a)
	s := all.Summarize(2 * time.Second)
	if s.Count != 102 || s.Errors != 11 {
		t.Errorf("count %d errors %d, want 102 and 11", s.Count, s.Errors)
	}
	if s.PerSecond != 51 {
		t.Errorf("per second %v, want 51", s.PerSecond)
	}
	if s.P50 != 50*time.Millisecond || s.P99 != 100*time.Millisecond || s.Max != time.Second {
		t.Errorf("p50 %v p99 %v max %v", s.P50, s.P99, s.Max)
	}
	if s.CacheCount["HIT"] != 90 || s.CacheCount["MISS"] != 1 || len(s.CacheCount) != 2 {
		t.Errorf("cache counts %v", s.CacheCount)
	}
	var out bytes.Buffer
	s.Write(&out, "requests")
	for _, want := range []string{"102 requests", "51.0/s", "errors 11", "[200:91 429:10 net:1]", "p50 50.00ms", "max 1000.00ms", "X-Cache-Status [HIT:90 MISS:1]"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}

	saga := NewStats("saga")
	saga.OK = func(s string) bool { return s == "confirmed" || s == "rejected" }
	saga.Add(time.Millisecond, "confirmed", "")
	saga.Add(time.Millisecond, "rejected", "")
	saga.Add(time.Millisecond, "timeout:pending", "")
	if e := saga.Summarize(time.Second).Errors; e != 1 {
		t.Errorf("saga errors %d, want 1 (only the timeout)", e)
	}
}

func TestMissPathDiffers(t *testing.T) {
	seen := map[string]bool{}
	for n := range uint64(30_000) {
		p := missPath(42, n)
		if seen[p] {
			t.Fatalf("missPath repeats %s at %d", p, n)
		}
		seen[p] = true
	}
}

// TestRun drives a fake gateway briefly and checks the report.
func TestRun(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1)%10 == 0 {
			w.Header().Set("Retry-After", "1")
			http.Error(w, "slow down", http.StatusTooManyRequests)
			return
		}
		w.Header().Set("X-Cache-Status", "HIT")
		fmt.Fprint(w, `{"items":[],"total":0}`)
	}))
	defer srv.Close()
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"load", "-gateway", srv.URL, "-c", "2", "-d", "200ms"}, nil, &out, &errOut)
	if err != nil {
		t.Fatal(err, errOut.String())
	}
	for _, want := range []string{"scenario catalog-hit", "X-Cache-Status [HIT:", "429:", "note:"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if err := run(context.Background(), []string{"load", "-scenario", "nope"}, nil, &out, &errOut); err == nil {
		t.Error("unknown scenario accepted")
	}
}

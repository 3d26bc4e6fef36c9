package main

import (
	"math"
	"testing"
	"time"
)

func TestModel(t *testing.T) {
	t.Parallel()
	for _, zipf := range []float64{0, 1.1} {
		m, err := newModel(100, 2, 10, 5, 50, zipf, 0.2, 1)
		if err != nil {
			t.Fatal(err)
		}
		counts := [numClasses]int{}
		total := 0
		for i, c := range m.class {
			counts[c]++
			if c == admin {
				if m.subs[i] != nil {
					t.Fatalf("zipf %g: admin %d subscribed to %v, want nothing (admins get everything)", zipf, i, m.subs[i])
				}
				continue
			}
			seen := map[string]bool{}
			for _, s := range m.subs[i] {
				seen[s] = true
			}
			if len(m.subs[i]) != 5 || len(seen) != 5 {
				t.Fatalf("zipf %g: connection %d subscribed to %v, want 5 distinct SKUs", zipf, i, m.subs[i])
			}
			total += 5
		}
		if counts != [numClasses]int{88, 10, 2} {
			t.Fatalf("zipf %g: classes %v, want 88 anonymous, 10 customers, 2 admins", zipf, counts)
		}
		sum := 0
		for _, n := range m.subsOf {
			sum += n
		}
		if sum != total {
			t.Fatalf("zipf %g: subscriptions per SKU add up to %d, want %d", zipf, sum, total)
		}
		orders := 0
		for range 1000 {
			e := m.next()
			switch {
			case e.user >= 0:
				orders++
				if m.class[e.user] != customer || e.want != 1+2 {
					t.Fatalf("zipf %g: order event %+v: want a customer connection and 3 deliveries", zipf, e)
				}
			case e.want != m.subsOf[e.sku]+2:
				t.Fatalf("zipf %g: stock event %+v: want %d deliveries (subscribers + admins)", zipf, e, m.subsOf[e.sku]+2)
			}
		}
		if orders < 150 || orders > 250 {
			t.Fatalf("zipf %g: %d order events of 1000, want about 200", zipf, orders)
		}
	}
}

func TestModelBroadcast(t *testing.T) {
	t.Parallel()
	m, err := newModel(100, 0, 0, 0, 50, 0, 0.5, 1)
	if err != nil {
		t.Fatal(err)
	}
	for range 100 {
		if e := m.next(); e.user != -1 || e.want != 100 {
			t.Fatalf("event %+v: want a stock event for all 100 connections (no customers: no orders)", e)
		}
	}
}

func TestModelRejects(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name                                  string
		conns, admins, users, subscribe, skus int
		zipf, orders                          float64
	}{
		{"more classes than connections", 10, 6, 6, 0, 10, 0, 0},
		{"more subscriptions than SKUs", 10, 0, 0, 11, 10, 0, 0},
		{"over the server's 200", 10, 0, 0, 201, 1000, 0, 0},
		{"zipf exponent 1", 10, 0, 0, 1, 10, 1, 0},
		{"order share over 1", 10, 0, 1, 1, 10, 0, 1.5},
	} {
		if _, err := newModel(tc.conns, tc.admins, tc.users, tc.subscribe, tc.skus, tc.zipf, tc.orders, 1); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}

func TestHistogramQuantile(t *testing.T) {
	t.Parallel()
	var h histogram
	for i := 1; i <= 1000; i++ {
		h.add(time.Duration(i) * time.Millisecond)
	}
	for _, tc := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 500 * time.Millisecond}, {0.99, 990 * time.Millisecond}, {1, time.Second}} {
		got := h.quantile(tc.q)
		if rel := math.Abs(float64(got-tc.want)) / float64(tc.want); rel > 0.02 {
			t.Errorf("quantile(%g) = %s, want %s within 2 %%", tc.q, got, tc.want)
		}
	}
	var empty histogram
	if got := empty.quantile(0.5); got != 0 {
		t.Errorf("empty quantile = %s, want 0", got)
	}
}

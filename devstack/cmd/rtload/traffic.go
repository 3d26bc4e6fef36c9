package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync/atomic"
	"time"
)

// Recipient classes, measured separately: admins get every event and are the heaviest recipients.
const (
	anonymous = iota
	customer
	admin
	numClasses
)

var className = [numClasses]string{"anonymous", "customer", "admin"}

// model is the traffic rtload plays: who is connected, what each connection subscribed to, and how
// many deliveries each event must produce.
//
// Connections 0..admins-1 are admins, the next users are customers (each a distinct user), the rest
// anonymous. With subscribe > 0 every non-admin connection subscribes, after connecting, to
// subscribe distinct SKUs of skus, drawn by popularity: Zipf with exponent zipf (> 1) over the SKU
// ranks, or uniform when zipf is 0. Events are drawn from the same popularity (a popular product
// sells, so its stock changes, more often): a share orders of them is an order.confirmed for a
// uniformly drawn customer, the rest inventory.updated for a SKU. With subscribe 0 connections do
// not subscribe, so every public event goes to every connection: the broadcast worst case.
type model struct {
	class  []int
	subs   [][]string // per connection; nil: no subscription (every public event)
	users  []int      // connection index of each customer
	skus   int
	subsOf []int // per SKU: connections subscribed to it
	admins int
	nonAdm int
	orders float64
	// filtered: connections subscribed (else every public event goes to every connection)
	filtered bool
	popular  func() int
	r        *rand.Rand
}

func newModel(conns, admins, users, subscribe, skus int, zipf, orders float64, seed uint64) (*model, error) {
	switch {
	case admins < 0 || users < 0 || admins+users > conns:
		return nil, fmt.Errorf("-admins %d + -users %d must be at most -conns %d", admins, users, conns)
	case skus < 1 || subscribe < 0 || subscribe > skus || subscribe > 200:
		return nil, fmt.Errorf("-subscribe %d: want 0..min(-skus %d, 200)", subscribe, skus)
	case zipf != 0 && zipf <= 1:
		return nil, fmt.Errorf("-zipf %g: want 0 (uniform) or an exponent > 1", zipf)
	case orders < 0 || orders > 1:
		return nil, fmt.Errorf("-orders %g: want a share between 0 and 1", orders)
	}
	r := rand.New(rand.NewPCG(seed, 7))
	m := &model{class: make([]int, conns), subs: make([][]string, conns), skus: skus, subsOf: make([]int, skus),
		admins: admins, nonAdm: conns - admins, orders: orders, filtered: subscribe > 0, r: r}
	if users == 0 {
		m.orders = 0 // nobody to send an order event to but admins
	}
	m.popular = func() int { return r.IntN(skus) }
	if zipf > 0 {
		z := rand.NewZipf(r, zipf, 1, uint64(skus-1))
		m.popular = func() int { return int(z.Uint64()) }
	}
	for i := range conns {
		switch {
		case i < admins:
			m.class[i] = admin
			continue
		case i < admins+users:
			m.class[i] = customer
			m.users = append(m.users, i)
		default:
			m.class[i] = anonymous
		}
		if subscribe == 0 {
			continue
		}
		picked := make(map[int]bool, subscribe)
		for len(picked) < subscribe {
			if k := m.popular(); !picked[k] {
				picked[k] = true
			} else if len(picked) > subscribe/2 { // a steep Zipf repeats the head: fill up uniformly
				if k := r.IntN(skus); !picked[k] {
					picked[k] = true
				}
			}
		}
		for k := range picked {
			m.subs[i] = append(m.subs[i], skuName(k))
			m.subsOf[k]++
		}
	}
	return m, nil
}

func skuName(k int) string { return fmt.Sprintf("LOAD-%d", k) }

func userID(conn int) string { return fmt.Sprintf("rtload-user-%d", conn) }

// event is one event to publish: an inventory.updated for sku, or an order.confirmed for the
// customer connection user; want is how many deliveries it must produce.
type event struct {
	sku  int
	user int // connection index; -1 for a stock event
	want int
}

// next draws the next event. Not safe for concurrent use.
func (m *model) next() event {
	if m.orders > 0 && m.r.Float64() < m.orders {
		return event{sku: -1, user: m.users[m.r.IntN(len(m.users))], want: 1 + m.admins}
	}
	k := m.popular()
	if !m.filtered {
		return event{sku: k, user: -1, want: m.nonAdm + m.admins}
	}
	return event{sku: k, user: -1, want: m.subsOf[k] + m.admins}
}

// histogram records latencies in buckets 2 % wide (from 1 µs), without locks.
type histogram struct {
	n       atomic.Int64
	buckets [1000]atomic.Int64
}

const bucketGrowth = 1.02

func (h *histogram) add(d time.Duration) {
	us := float64(d) / float64(time.Microsecond)
	i := 0
	if us > 1 {
		i = min(int(math.Log(us)/math.Log(bucketGrowth))+1, len(h.buckets)-1)
	}
	h.buckets[i].Add(1)
	h.n.Add(1)
}

// quantile returns the upper bound of the bucket holding quantile q (0 < q <= 1).
func (h *histogram) quantile(q float64) time.Duration {
	n := h.n.Load()
	if n == 0 {
		return 0
	}
	rank := int64(math.Ceil(q * float64(n)))
	var seen int64
	for i := range h.buckets {
		seen += h.buckets[i].Load()
		if seen >= rank {
			return time.Duration(math.Pow(bucketGrowth, float64(i)) * float64(time.Microsecond))
		}
	}
	return time.Duration(math.Pow(bucketGrowth, float64(len(h.buckets)-1)) * float64(time.Microsecond))
}

package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
)

// TestConcurrentReservations is the oversell test: 200 goroutines each reserve random
// quantities of 5 SKUs holding 100 each, and a third of the winners pay. Throughout, no SKU goes
// below zero; at the end reserved + available = on hand, reserved equals the sum of the held
// orders, and on hand dropped by exactly the sum of the paid ones.
func TestConcurrentReservations(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, s stockStore) {
		const (
			workers = 200
			stock   = 100
		)
		skus := []string{"C-1", "C-2", "C-3", "C-4", "C-5"}
		skipIfNotAtomic(t, s)
		inv := newTestInventory(s)
		ctx := context.Background()
		for _, sku := range skus {
			mustCreate(t, s, sku, stock)
		}

		type result struct {
			lines []orderLine
			state resState
		}
		results := make([]result, workers)
		var (
			wg        sync.WaitGroup
			done      atomic.Bool
			negatives atomic.Int64
		)
		// A watcher reads the items while the reservations run.
		watcher := make(chan struct{})
		go func() {
			defer close(watcher)
			for !done.Load() {
				for _, sku := range skus {
					if it, err := s.Get(ctx, sku); err == nil && (it.Available < 0 || it.Reserved < 0 || it.Reserved > it.OnHand) {
						negatives.Add(1)
					}
				}
			}
		}()
		for i := range workers {
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(uint64(i), 42))
				var lines []orderLine
				for _, sku := range skus {
					if q := rng.IntN(6); q > 0 {
						lines = append(lines, orderLine{SKU: sku, Quantity: int64(q)})
					}
				}
				if len(lines) == 0 {
					lines = []orderLine{{SKU: skus[i%len(skus)], Quantity: 1}}
				}
				orderID := fmt.Sprintf("order-%d", i)
				st, err := inv.Reserve(ctx, orderData{OrderID: orderID, UserID: "u", Items: lines})
				if err != nil {
					t.Errorf("Reserve(%s): %v", orderID, err)
					return
				}
				if st == stateHeld && i%3 == 0 {
					if st, err = inv.Commit(ctx, orderID); err != nil {
						t.Errorf("Commit(%s): %v", orderID, err)
						return
					}
				}
				results[i] = result{lines: lines, state: st}
			})
		}
		wg.Wait()
		done.Store(true)
		<-watcher

		held, committed := map[string]int64{}, map[string]int64{}
		var nHeld, nCommitted, nRejected int
		for _, r := range results {
			switch r.state {
			case stateHeld:
				nHeld++
			case stateCommitted:
				nCommitted++
			case stateRejected:
				nRejected++
			default:
				t.Fatalf("unexpected final state %q", r.state)
			}
			for _, l := range r.lines {
				switch r.state {
				case stateHeld:
					held[l.SKU] += l.Quantity
				case stateCommitted:
					committed[l.SKU] += l.Quantity
				}
			}
		}
		if n := negatives.Load(); n > 0 {
			t.Errorf("watcher saw %d negative or inconsistent items", n)
		}
		for _, sku := range skus {
			checkItem(t, s, sku, stock-committed[sku], held[sku])
		}
		if nRejected == 0 || nHeld+nCommitted == 0 {
			t.Errorf("held %d, committed %d, rejected %d: the test needs both outcomes to mean anything", nHeld, nCommitted, nRejected)
		}
		t.Logf("held %d, committed %d, rejected %d", nHeld, nCommitted, nRejected)
	})
}

// TestConcurrentLifecycleRaces races payment, cancellation and expiry against each other: every
// reservation expires at once while workers pay, cancel, or pay and then cancel (a refund), and two
// sweepers run throughout. Whatever wins, each order ends in one state and the stock adds up:
// on hand = initial − what committed orders took, nothing stays reserved.
func TestConcurrentLifecycleRaces(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, s stockStore) {
		const (
			workers = 200
			stock   = 100
		)
		skus := []string{"R-1", "R-2", "R-3"}
		skipIfNotAtomic(t, s)
		a, b := newTestInventory(s), newTestInventory(s)
		a.ttl, b.ttl = 0, 0 // due as soon as held
		ctx := context.Background()
		for _, sku := range skus {
			mustCreate(t, s, sku, stock)
		}
		var (
			wg, sweepers sync.WaitGroup
			done         atomic.Bool
		)
		for _, inv := range []*inventory{a, b} {
			sweepers.Go(func() {
				for !done.Load() {
					if _, err := inv.Sweep(ctx, 10); err != nil {
						t.Errorf("Sweep: %v", err)
						return
					}
				}
			})
		}
		lines := make([][]orderLine, workers)
		for i := range workers {
			inv := []*inventory{a, b}[i%2]
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(uint64(i), 7))
				for _, sku := range skus {
					if q := rng.IntN(4); q > 0 {
						lines[i] = append(lines[i], orderLine{SKU: sku, Quantity: int64(q)})
					}
				}
				if len(lines[i]) == 0 {
					lines[i] = []orderLine{{SKU: skus[0], Quantity: 1}}
				}
				id := fmt.Sprintf("race-%d", i)
				if _, err := inv.Reserve(ctx, orderData{OrderID: id, UserID: "u", Items: lines[i]}); err != nil {
					t.Errorf("Reserve(%s): %v", id, err)
					return
				}
				var err error
				switch i % 4 {
				case 0:
					_, err = inv.Commit(ctx, id)
				case 1:
					_, err = inv.Release(ctx, id, "u", reasonCancelled)
				case 2:
					if _, err = inv.Commit(ctx, id); err == nil {
						_, err = inv.Release(ctx, id, "u", reasonCancelled)
					}
				}
				if err != nil {
					t.Errorf("order %s: %v", id, err)
				}
			})
		}
		wg.Wait()
		done.Store(true)
		sweepers.Wait()
		if _, err := a.Sweep(ctx, 100); err != nil { // whatever is still held has expired
			t.Fatal(err)
		}

		taken, ends := map[string]int64{}, map[resState]int{}
		for i := range workers {
			r, err := s.GetReservation(ctx, fmt.Sprintf("race-%d", i))
			if err != nil {
				t.Fatal(err)
			}
			ends[r.State]++
			switch r.State {
			case stateCommitted:
				for _, l := range r.Items {
					taken[l.SKU] += l.Quantity
				}
			case stateReleased, stateRejected:
			default:
				t.Errorf("race-%d ended %s, want committed, released or rejected", i, r.State)
			}
			if i%4 == 1 && r.State == stateCommitted {
				t.Errorf("race-%d was never paid but is committed", i)
			}
		}
		for _, sku := range skus {
			checkItem(t, s, sku, stock-taken[sku], 0)
		}
		t.Logf("final states: %v", ends)
	})
}

package faults

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// losses says which in-memory state a fault wiped: what was in a killed service's memory is gone by
// design of the in-memory stores, so the invariants skip exactly that and nothing more.
type losses struct {
	orders    bool // the order service was killed: orders placed before it may be gone
	inventory bool // inventory was killed: stock items and reservations made before it are gone
}

// outcome is what the invariants found, for the test's "faults:" line.
type outcome struct {
	orders, confirmed, rejected, lost int
}

type orderView struct {
	ID     string `json:"id"`
	Status string `json:"status"`
}

type reservation struct {
	State string `json:"state"`
}

// waitFinal polls order's pending list (admin) until none of the load's orders is pending, and
// returns when that happened; it reports an error and gives up after within.
func waitFinal(t *testing.T, admin string, l *load, within time.Duration) (time.Time, bool) {
	t.Helper()
	return waitFinalOf(t, admin, l.orderIDs(), within)
}

// orderIDs returns the IDs of every order the load was answered so far.
func (l *load) orderIDs() map[string]bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	ours := map[string]bool{}
	for _, ids := range l.keys {
		for _, id := range ids {
			ours[id] = true
		}
	}
	return ours
}

// waitFinalOf is waitFinal for the orders in ours.
func waitFinalOf(t *testing.T, admin string, ours map[string]bool, within time.Duration) (time.Time, bool) {
	t.Helper()
	ord := newAPI(platform.URL("order"), admin)
	deadline := time.Now().Add(within)
	for {
		pending := 0
		for page := 1; ; page++ {
			var list struct {
				Items []orderView `json:"items"`
				Total int         `json:"total"`
			}
			if _, err := ord.call("GET", fmt.Sprintf("/orders?status=pending&limit=100&page=%d", page), nil, &list); err != nil {
				pending = -1
				break
			}
			for _, o := range list.Items {
				if ours[o.ID] {
					pending++
				}
			}
			if page*100 >= list.Total {
				break
			}
		}
		if pending == 0 {
			return time.Now(), true
		}
		if time.Now().After(deadline) {
			t.Errorf("%d orders still pending %s after the fault ended", pending, within)
			return time.Now(), false
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// checkInvariants checks, after the load and the drain:
//   - no duplicate order per Idempotency-Key (every answer for a key names the same order, unless
//     the first one was lost with a killed in-memory order service);
//   - every order final (confirmed or rejected; nobody paid or cancelled);
//   - a confirmed order's reservation is held, a held reservation's order confirmed;
//   - no negative stock, on_hand unchanged (nothing was paid), reserved equal to the held
//     reservations' units (plus at most the checkouts whose answer a crash swallowed);
//   - no request the platform answered with a 4xx: the load sends only valid requests.
func checkInvariants(t *testing.T, admin string, l *load, stock int64, lost losses) outcome {
	t.Helper()
	ord := newAPI(platform.URL("order"), admin)
	inv := newAPI(platform.URL("inventory"), admin)
	var out outcome
	held := int64(0)
	for key, ids := range l.keys {
		var live []string
		for _, id := range slices.Compact(slices.Clone(ids)) {
			var o orderView
			status, err := ord.call("GET", "/orders/"+id, nil, &o)
			switch {
			case status == 404 && lost.orders:
				out.lost++
				continue
			case err != nil:
				t.Errorf("order %s (key %s): %v", id, key, err)
				continue
			}
			live = append(live, id)
			out.orders++
			var r reservation
			rstatus, rerr := inv.call("GET", "/reservations/"+id, nil, &r)
			if rstatus == 404 && lost.inventory {
				r.State = "lost"
			} else if rerr != nil {
				t.Errorf("reservation of order %s: %v", id, rerr)
			}
			switch o.Status {
			case "confirmed":
				out.confirmed++
				if r.State != "held" && r.State != "lost" {
					t.Errorf("order %s confirmed, its reservation %q, want held", id, r.State)
				}
			case "rejected":
				out.rejected++
				if r.State == "held" {
					t.Errorf("order %s rejected but its reservation is held", id)
				}
			default:
				t.Errorf("order %s is %s, want confirmed or rejected", id, o.Status)
			}
			if r.State == "held" {
				held++
			}
		}
		if len(live) > 1 {
			t.Errorf("Idempotency-Key %s made %d orders: %v", key, len(live), live)
		}
	}

	swallowed := int64(0)
	l.mu.Lock()
	for _, r := range l.results {
		if r.kind == "checkout" && r.failed() {
			swallowed++
		}
		if r.status >= 400 && r.status < 500 && r.status != 409 && r.status != 429 {
			t.Errorf("%s at %s answered %d: the load sends only valid requests", r.kind, r.start.Format("15:04:05.000"), r.status)
		}
	}
	l.mu.Unlock()

	var it stockItem
	status, err := inv.call("GET", "/inventory/"+l.sku, nil, &it)
	switch {
	case status == 404 && lost.inventory:
		// The in-memory stock item was lost with the process; its product.created was consumed
		// before, so the new process never had it (orders after the restart are rejected).
	case err != nil:
		t.Errorf("stock of %s: %v", l.sku, err)
	default:
		if it.OnHand < 0 || it.Reserved < 0 || it.Available < 0 {
			t.Errorf("negative stock: %+v", it)
		}
		if it.OnHand != stock || it.Available != it.OnHand-it.Reserved {
			t.Errorf("stock %+v, want on_hand %d and available = on_hand - reserved", it, stock)
		}
		extra := it.Reserved - held
		if extra < 0 || (extra > 0 && !(lost.orders && extra <= swallowed)) {
			t.Errorf("reserved %d, held reservations of the load's orders %d (checkouts without an answer: %d)", it.Reserved, held, swallowed)
		}
	}
	return out
}

// failures returns the failed requests (5xx or no answer) of kind ("" any) that ended after from
// or started before to.
func (l *load) failures(kind string) []result {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []result
	for _, r := range l.results {
		if r.failed() && (kind == "" || r.kind == kind) {
			out = append(out, r)
		}
	}
	return out
}

// outside returns the failures not within [from, to].
func outside(fails []result, from, to time.Time) []result {
	var out []result
	for _, r := range fails {
		if r.end.Before(from) || r.start.After(to) {
			out = append(out, r)
		}
	}
	return out
}

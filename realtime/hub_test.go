package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/goshop/platform/shared"
)

// TestPublishReachesExactlyItsRecipients checks the hub's recipient indexes against the routing
// rules stated directly (filter.match, owner, admins): random connections with random and changed
// subscriptions, some gone, get exactly the messages the rules give them, each once.
func TestPublishReachesExactlyItsRecipients(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(7, 11))
	h := newHub(hubConfig{SendQueue: 1 << 20, MaxPerUser: 1000}, nil)
	pick := func(prefix string, n int) string {
		if r.IntN(5) == 0 {
			return ""
		}
		return fmt.Sprint(prefix, r.IntN(n))
	}
	randomFilter := func() *filter {
		if r.IntN(4) == 0 {
			return nil
		}
		f := &filter{skus: map[string]bool{}, categories: map[string]bool{}}
		for range r.IntN(4) {
			f.skus[fmt.Sprint("s", r.IntN(10))] = true
		}
		for range r.IntN(2) {
			f.categories[fmt.Sprint("c", r.IntN(4))] = true
		}
		return f
	}
	var clients, gone []*client
	for i := range 80 {
		var id shared.Identity
		switch i % 4 {
		case 0:
			id = shared.Identity{UserID: fmt.Sprint("a", i), Role: shared.RoleAdmin}
		case 1, 2:
			id = shared.Identity{UserID: fmt.Sprint("u", r.IntN(6)), Role: shared.RoleCustomer}
		}
		c, _, _, _, ok := h.register(id, "", 0, "")
		if !ok {
			t.Fatal("register refused")
		}
		for range r.IntN(3) { // subscribe, maybe again: the indexes must follow
			h.subscribe(c, randomFilter(), nil)
		}
		if i%9 == 0 {
			h.unregister(c)
			gone = append(gone, c)
			continue
		}
		clients = append(clients, c)
	}
	want := map[*client][]uint64{}
	for range 400 {
		var aud audience
		switch r.IntN(3) {
		case 0:
			aud = audience{public: true, sku: pick("s", 12), category: pick("c", 5)}
		case 1:
			aud = audience{userID: pick("u", 7)}
		}
		seq := h.publish("t", json.RawMessage(`{}`), time.Now(), aud)
		for _, c := range clients {
			if c.admin() || (aud.public && c.filter.match(aud)) || (aud.userID != "" && aud.userID == c.id.UserID) {
				want[c] = append(want[c], seq)
			}
		}
	}
	for i, c := range append(clients, gone...) {
		var got []uint64
		for _, m := range c.queue {
			got = append(got, m.seq)
		}
		if !slices.Equal(got, want[c]) {
			t.Errorf("client %d (%+v, filter %+v): got seqs %v, want %v", i, c.id, c.filter, got, want[c])
		}
	}
}

func TestAdminQueueBoundedSeparately(t *testing.T) {
	t.Parallel()
	h := newHub(hubConfig{SendQueue: 2, AdminSendQueue: 5}, nil)
	shopper, _, _, _, _ := h.register(shared.Identity{}, "", 0, "")
	adm, _, _, _, _ := h.register(shared.Identity{UserID: "a", Role: shared.RoleAdmin}, "", 0, "")
	for range 4 {
		h.publish("inventory.updated", json.RawMessage(`{}`), time.Now(), audience{public: true, sku: "S"})
	}
	if s := h.stats(); s.SlowConsumers != 1 || s.MessagesDropped != 2 {
		t.Fatalf("stats = %+v, want the shopper kicked (queue 2) with 2 messages dropped", s)
	}
	if !shopper.kicked || adm.kicked || len(adm.queue) != 4 {
		t.Fatalf("shopper kicked %v, admin kicked %v with %d queued; want the admin (queue 5) to hold all 4",
			shopper.kicked, adm.kicked, len(adm.queue))
	}
}

// TestAnonymousPerAddressCap: anonymous connections count against their client address, each address
// on its own, an unknown address ("") never; a connection that ends gives its slot back; signed-in
// users are bound by MaxPerUser only, whatever their address.
func TestAnonymousPerAddressCap(t *testing.T) {
	t.Parallel()
	h := newHub(hubConfig{MaxPerUser: 2, MaxAnonPerAddress: 2}, nil)
	reg := func(id shared.Identity, addr string) (*client, bool) {
		c, _, _, _, ok := h.register(id, addr, 0, "")
		return c, ok
	}
	first, ok1 := reg(shared.Identity{}, "203.0.113.7")
	_, ok2 := reg(shared.Identity{}, "203.0.113.7")
	if !ok1 || !ok2 || !h.full("", "203.0.113.7") {
		t.Fatalf("two anonymous connections from one address with a cap of 2: ok %v %v, full %v", ok1, ok2, h.full("", "203.0.113.7"))
	}
	if _, ok := reg(shared.Identity{}, "203.0.113.7"); ok {
		t.Error("a third anonymous connection from the address was registered")
	}
	if _, ok := reg(shared.Identity{}, "198.51.100.1"); !ok || h.full("", "198.51.100.2") {
		t.Error("another address was refused")
	}
	for i := range 5 {
		if _, ok := reg(shared.Identity{}, ""); !ok {
			t.Fatalf("anonymous connection %d of an unknown address refused", i)
		}
	}
	for i := range 2 {
		if _, ok := reg(shared.Identity{UserID: fmt.Sprint("u", i), Role: shared.RoleCustomer}, "203.0.113.7"); !ok {
			t.Errorf("signed-in user %d from a full address refused", i)
		}
	}
	h.unregister(first)
	h.unregister(first) // idempotent: must not give back a second slot
	if _, ok := reg(shared.Identity{}, "203.0.113.7"); !ok {
		t.Error("the slot of an ended connection was not given back")
	}
	if _, ok := reg(shared.Identity{}, "203.0.113.7"); ok {
		t.Error("unregistering one connection twice gave back two slots")
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.anonBy["203.0.113.7"] != 2 || h.anonBy["198.51.100.1"] != 1 || len(h.anonBy) != 2 || h.anon != 8 {
		t.Errorf("anonBy = %v, anon = %d; want 203.0.113.7:2 198.51.100.1:1, 8 anonymous", h.anonBy, h.anon)
	}
}

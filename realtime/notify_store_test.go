package main

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/goshop/platform/shared"
	"github.com/goshop/platform/shared/sharedtest"
)

// notifyStores are the stores the contract runs against: the in-memory one always, Redis when
// REDIS_TEST_URL is set (devstack/contract-tests.sh: redis-server; docs/realtime.md: miniredis), each
// under keys of its own. readSet reports how many IDs a reader's read set holds.
func notifyStores(t *testing.T) map[string]func(t *testing.T) (notificationStore, func(reader string) int) {
	stores := map[string]func(t *testing.T) (notificationStore, func(string) int){
		"mem": func(t *testing.T) (notificationStore, func(string) int) {
			s := newMemNotifications(nil)
			return s, s.readSetSize
		},
	}
	if sharedtest.Redis(t) != nil {
		stores["redis"] = func(t *testing.T) (notificationStore, func(string) int) {
			s := &redisNotifications{rdb: sharedtest.Redis(t), prefix: "test:" + shared.NewID() + ":"}
			return s, func(reader string) int { return int(s.rdb.SCard(context.Background(), s.readKey(reader)).Val()) }
		}
	}
	return stores
}

func note(id string, at time.Time) notification {
	return notification{ID: id, Type: "order.paid", Title: "Payment received", Body: "b", Link: "/orders/" + id, CreatedAt: at.UTC().Truncate(time.Millisecond)}
}

// TestNotificationStore is the contract of notificationStore.
func TestNotificationStore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for name, open := range notifyStores(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			now := time.Now().UTC()
			alice, bob, admin := shared.NewID(), shared.NewID(), shared.NewID()
			aliceL := []notifyList{{kind: listUser, userID: alice}, {kind: listAll}}
			bobL := []notifyList{{kind: listUser, userID: bob}, {kind: listAll}}
			adminL := []notifyList{{kind: listUser, userID: admin}, {kind: listAll}, {kind: listAdmins}}

			t.Run("newest first, merged, read flags, unread", func(t *testing.T) {
				s, _ := open(t)
				add(t, s, notifyList{kind: listUser, userID: alice}, note("a1", now.Add(-3*time.Minute)))
				add(t, s, notifyList{kind: listAll}, note("all1", now.Add(-2*time.Minute)))
				add(t, s, notifyList{kind: listAdmins}, note("adm1", now.Add(-time.Minute)))
				add(t, s, notifyList{kind: listUser, userID: bob}, note("b1", now))
				checkView(t, s, alice, aliceL, now, "all1,a1", 2)
				checkView(t, s, bob, bobL, now, "b1,all1", 2)
				checkView(t, s, admin, adminL, now, "adm1,all1", 2)
			})
			t.Run("an event is written once, also from two instances at once", func(t *testing.T) {
				s, _ := open(t)
				key := shared.NewID()
				var wg sync.WaitGroup
				var mu sync.Mutex
				added := 0
				for range 8 {
					wg.Go(func() {
						ok, err := addNotification(ctx, s, notifyList{kind: listUser, userID: alice}, note(key, now), key, time.Hour)
						if err != nil {
							t.Error(err)
						}
						if ok {
							mu.Lock()
							added++
							mu.Unlock()
						}
					})
				}
				wg.Wait()
				if added != 1 {
					t.Errorf("8 concurrent Adds of one event: %d reported added, want 1", added)
				}
				checkView(t, s, alice, aliceL, now, key, 1)
			})
			t.Run("keeps the last 50, hides what is older than 30 days", func(t *testing.T) {
				s, _ := open(t)
				l := notifyList{kind: listUser, userID: alice}
				add(t, s, l, note("old", now.Add(-notifyTTL-time.Minute)))
				for i := range 60 {
					add(t, s, l, note(fmt.Sprintf("n%02d", i), now.Add(time.Duration(i-60)*time.Second)))
				}
				items, unread, err := s.View(ctx, alice, aliceL, now)
				if err != nil {
					t.Fatal(err)
				}
				if len(items) != notifyKeep || unread != notifyKeep || items[0].ID != "n59" || items[49].ID != "n10" {
					t.Errorf("View after 61 adds: %d items (%s..%s), %d unread; want 50, n59..n10", len(items), items[0].ID, items[len(items)-1].ID, unread)
				}
				s2, _ := open(t)
				add(t, s2, l, note("old", now.Add(-notifyTTL-time.Minute)))
				add(t, s2, l, note("new", now))
				checkView(t, s2, alice, aliceL, now, "new", 1)
			})
			t.Run("a batch: in order, once per key also within it, capped", func(t *testing.T) {
				s, _ := open(t)
				l := notifyList{kind: listUser, userID: alice}
				before := shared.NewID()
				if _, err := addNotification(ctx, s, l, note("before", now.Add(-time.Hour)), before, time.Hour); err != nil {
					t.Fatal(err)
				}
				var adds []notifyAdd
				for i := range 60 {
					n := note(fmt.Sprintf("n%02d", i), now.Add(time.Duration(i-60)*time.Second))
					adds = append(adds, notifyAdd{list: l, n: n, key: n.ID + alice})
				}
				adds = append(adds,
					notifyAdd{list: l, n: note("again", now), key: "n59" + alice},                          // a key earlier in the batch
					notifyAdd{list: l, n: note("dup", now), key: before},                                   // a key added before
					notifyAdd{list: notifyList{kind: listAdmins}, n: note("adm", now), key: "adm" + alice}) // another list
				added, err := s.Add(ctx, adds, time.Hour)
				if err != nil {
					t.Fatal(err)
				}
				got := 0
				for _, ok := range added {
					if ok {
						got++
					}
				}
				if len(added) != len(adds) || got != 61 || added[60] || added[61] || !added[62] {
					t.Errorf("batch of 63 adds: %d results, %d added (again %v, dup %v, adm %v); want 63, 61 (false, false, true)",
						len(added), got, added[60], added[61], added[62])
				}
				items, _, err := s.View(ctx, admin, []notifyList{l, {kind: listAdmins}}, now)
				if err != nil {
					t.Fatal(err)
				}
				if len(items) != notifyKeep || items[0].ID != "adm" || items[1].ID != "n59" || items[49].ID != "n11" {
					t.Errorf("View after the batch: %d items (%s, %s..%s), want 50: adm, n59..n11", len(items), items[0].ID, items[1].ID, items[len(items)-1].ID)
				}
				if raw, _, err := s.View(ctx, alice, []notifyList{l}, now); err != nil || len(raw) != notifyKeep || raw[49].ID != "n10" {
					t.Errorf("alice's list after the batch: %d items, %v; want the newest 50 (the list is capped)", len(raw), err)
				}
			})
			t.Run("mark read: own only, one, all, and new ones stay unread", func(t *testing.T) {
				s, readSet := open(t)
				add(t, s, notifyList{kind: listUser, userID: alice}, note("a1", now.Add(-2*time.Second)))
				add(t, s, notifyList{kind: listUser, userID: alice}, note("a2", now.Add(-time.Second)))
				add(t, s, notifyList{kind: listUser, userID: bob}, note("b1", now))
				add(t, s, notifyList{kind: listAdmins}, note("adm1", now))
				// bob names alice's and the admins' notifications: nothing changes for anyone.
				if n, err := s.MarkRead(ctx, bob, bobL, []string{"a1", "a2", "adm1"}, false, now); err != nil || n != 0 {
					t.Errorf("bob marks alice's IDs: marked %d, %v; want 0", n, err)
				}
				checkView(t, s, alice, aliceL, now, "a2,a1", 2)
				checkView(t, s, bob, bobL, now, "b1", 1)
				if n, err := s.MarkRead(ctx, alice, aliceL, []string{"a1", "a1", "nope"}, false, now); err != nil || n != 1 {
					t.Errorf("alice marks a1: marked %d, %v; want 1", n, err)
				}
				checkView(t, s, alice, aliceL, now, "a2,a1*", 1)
				if n, err := s.MarkRead(ctx, alice, aliceL, nil, true, now); err != nil || n != 1 {
					t.Errorf("alice marks all: marked %d, %v; want 1", n, err)
				}
				checkView(t, s, alice, aliceL, now, "a2*,a1*", 0)
				add(t, s, notifyList{kind: listAll}, note("all1", now.Add(time.Second)))
				checkView(t, s, alice, aliceL, now.Add(time.Second), "all1,a2*,a1*", 1)
				// The announcement read by alice is still unread for bob: read state is per reader.
				checkView(t, s, bob, bobL, now.Add(time.Second), "all1,b1", 2)
				if got := readSet(alice); got != 2 {
					t.Errorf("alice's read set holds %d IDs, want 2", got)
				}
			})
			t.Run("read set holds only what is visible", func(t *testing.T) {
				s, readSet := open(t)
				l := notifyList{kind: listUser, userID: alice}
				for i := range 3 * notifyKeep {
					add(t, s, l, note(fmt.Sprintf("n%03d", i), now.Add(time.Duration(i)*time.Second)))
					if _, err := s.MarkRead(ctx, alice, aliceL, nil, true, now.Add(time.Hour)); err != nil {
						t.Fatal(err)
					}
				}
				if got := readSet(alice); got > notifyKeep {
					t.Errorf("read set after marking 150 notifications read: %d IDs, want at most %d", got, notifyKeep)
				}
			})
		})
	}
}

// TestMemNotificationKeyExpiry: an event's idempotency key lasts dedupTTL, then the event may be
// written again (the notifier never lets it: older events are skipped, TestNotifier).
func TestMemNotificationKeyExpiry(t *testing.T) {
	t.Parallel()
	start := time.Now()
	now := start
	s := newMemNotifications(func() time.Time { return now })
	l := notifyList{kind: listUser, userID: "u"}
	for i, tc := range []struct {
		at   time.Duration // after start
		want bool
	}{{0, true}, {time.Hour - time.Nanosecond, false}, {time.Hour, true}, {time.Hour + time.Minute, false}} {
		now = start.Add(tc.at)
		if ok, _ := addNotification(context.Background(), s, l, note(fmt.Sprint(i), now), "k", time.Hour); ok != tc.want {
			t.Errorf("Add %d at start+%v: added = %v, want %v", i, tc.at, ok, tc.want)
		}
	}
}

func add(t *testing.T, s notificationStore, l notifyList, n notification) {
	t.Helper()
	if ok, err := addNotification(context.Background(), s, l, n, n.ID+shared.NewID(), time.Hour); err != nil || !ok {
		t.Fatalf("Add %s: %v, %v", n.ID, ok, err)
	}
}

// checkView wants reader's view to be want (IDs newest first, "*" after a read one) with unread.
func checkView(t *testing.T, s notificationStore, reader string, lists []notifyList, now time.Time, want string, unread int) {
	t.Helper()
	items, n, err := s.View(context.Background(), reader, lists, now)
	if err != nil {
		t.Fatal(err)
	}
	got := ""
	for i, it := range items {
		if i > 0 {
			got += ","
		}
		got += it.ID
		if it.Read {
			got += "*"
		}
	}
	if got != want || n != unread {
		t.Errorf("View: %s with %d unread, want %s with %d", got, n, want, unread)
	}
}

// testRedisNotifications is the Redis store of REDIS_TEST_URL under keys of its own; without one, t
// is skipped.
func testRedisNotifications(t *testing.T) *redisNotifications {
	t.Helper()
	rdb := sharedtest.Redis(t)
	if rdb == nil {
		t.Skip("REDIS_TEST_URL not set")
	}
	return &redisNotifications{rdb: rdb, prefix: "test:" + shared.NewID() + ":"}
}

// TestRedisNotificationTTLs: in Redis, a list and a read set expire notifyTTL after their last write
// and an event's idempotency key after dedupTTL, so nothing outlives what it describes.
func TestRedisNotificationTTLs(t *testing.T) {
	t.Parallel()
	s := testRedisNotifications(t)
	ctx, rdb := context.Background(), s.rdb
	l := notifyList{kind: listUser, userID: "u"}
	if _, err := addNotification(ctx, s, l, note("n1", time.Now()), "ev1", notifyMaxEventAge); err != nil {
		t.Fatal(err)
	}
	if _, err := s.MarkRead(ctx, "u", []notifyList{l}, nil, true, time.Now()); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]time.Duration{s.listKey(l): notifyTTL, s.readKey("u"): notifyTTL, s.prefix + "notify:event:ev1": notifyMaxEventAge} {
		if got := rdb.PTTL(ctx, key).Val(); got <= want-time.Minute || got > want {
			t.Errorf("PTTL %s = %v, want about %v", key, got, want)
		}
	}
}

// TestRedisNotificationNoScript: a Redis that lost its script cache (restart, SCRIPT FLUSH) still
// takes a batch: the script is sent again.
func TestRedisNotificationNoScript(t *testing.T) {
	t.Parallel()
	s := testRedisNotifications(t)
	ctx := context.Background()
	if err := s.rdb.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	l := notifyList{kind: listUser, userID: "u"}
	added, err := s.Add(ctx, []notifyAdd{{list: l, n: note("n1", time.Now()), key: "k1"}, {list: l, n: note("n2", time.Now()), key: "k1"}}, time.Hour)
	if err != nil || len(added) != 2 || !added[0] || added[1] {
		t.Fatalf("Add after SCRIPT FLUSH: %v, %v; want [true false]", added, err)
	}
}

// BenchmarkNotificationView is GET /notifications' store work for an admin with full lists (50 of
// their own, 50 admins', 50 announcements, 150 read IDs): one Redis round trip and the merge. Run
// it against Redis with REDIS_TEST_URL (docs/realtime.md has the numbers).
func BenchmarkNotificationView(b *testing.B) {
	rdb := sharedtest.Redis(b)
	if rdb == nil {
		b.Skip("REDIS_TEST_URL not set")
	}
	ctx := context.Background()
	s := &redisNotifications{rdb: rdb, prefix: "bench:" + shared.NewID() + ":"}
	now := time.Now()
	lists := []notifyList{{kind: listUser, userID: "u"}, {kind: listAll}, {kind: listAdmins}}
	for i := range notifyKeep {
		for _, l := range lists {
			n := note(fmt.Sprintf("%s-%02d", l.kind, i), now.Add(time.Duration(i-notifyKeep)*time.Minute))
			n.Body = "Order #0123abcd ($123.45) is confirmed. Pay to complete it."
			if _, err := addNotification(ctx, s, l, n, n.ID, time.Hour); err != nil {
				b.Fatal(err)
			}
		}
	}
	if _, err := s.MarkRead(ctx, "u", lists, nil, true, now); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if items, _, err := s.View(ctx, "u", lists, now); err != nil || len(items) != notifyKeep {
			b.Fatalf("View: %d items, %v", len(items), err)
		}
	}
}

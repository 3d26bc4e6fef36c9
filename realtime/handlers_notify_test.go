package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/goshop/platform/shared"
	"github.com/goshop/platform/shared/sharedtest"
)

// notifyHarness is realtime's whole handler over an in-memory notification store.
type notifyHarness struct {
	handler http.Handler
	iss     *sharedtest.Issuer
	store   *memNotifications
	hub     *hub
}

func newNotifyHarness(t *testing.T, store notificationStore) *notifyHarness {
	t.Helper()
	cfg, err := loadConfig(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	mem := newMemNotifications(nil)
	if store == nil {
		store = mem
	}
	iss := sharedtest.NewIssuer(t)
	h := newHub(cfg.Hub, nil)
	t.Cleanup(h.shutdown)
	logger := shared.NewLogger(io.Discard, "realtime", "error")
	handler := NewServer(logger, cfg, shared.NewMetrics("realtime"), shared.NewReadiness(), h,
		newConsumer(h, logger, cfg.MaxEventAge, nil), iss.Verifier(), fakeSessions{}, &conns{}, store)
	return &notifyHarness{handler: handler, iss: iss, store: mem, hub: h}
}

// do sends one request to the handler (sharedtest.Serve) with auth as its Authorization, if any.
func (nh *notifyHarness) do(t *testing.T, method, path, auth, body string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	return sharedtest.Serve(nh.handler, method, path, body, append([]string{"Authorization", auth}, header...)...)
}

func (nh *notifyHarness) view(t *testing.T, auth string) notificationsView {
	t.Helper()
	rec := nh.do(t, "GET", "/notifications", auth, "")
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /notifications: status = %d, want 200: %s", rec.Code, rec.Body)
	}
	var v notificationsView
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func ids(v notificationsView) string {
	var out []string
	for _, n := range v.Items {
		out = append(out, n.ID)
	}
	return strings.Join(out, ",")
}

// TestNotificationRoutes: who sees what, who can mark what, and every bad body, through NewServer.
func TestNotificationRoutes(t *testing.T) {
	t.Parallel()
	nh := newNotifyHarness(t, nil)
	ctx := context.Background()
	now := time.Now().UTC()
	customer, admin := nh.iss.Bearer(t, sharedtest.Customer), nh.iss.Bearer(t, sharedtest.Admin)
	otherID := shared.Identity{UserID: "u-other", Role: shared.RoleCustomer}
	other := nh.iss.Bearer(t, otherID)
	thirdAdmin := sharedtest.Admin
	thirdAdmin.ClientID, thirdAdmin.Scope = "demo-app", "openid "+shared.ScopeOrdersRead
	delegatedAdmin := nh.iss.Bearer(t, thirdAdmin)
	for _, a := range []struct {
		list notifyList
		n    notification
	}{
		{notifyList{kind: listUser, userID: sharedtest.Customer.UserID}, note("mine1", now.Add(-3*time.Second))},
		{notifyList{kind: listUser, userID: sharedtest.Customer.UserID}, note("mine2", now.Add(-2*time.Second))},
		{notifyList{kind: listUser, userID: otherID.UserID}, note("theirs", now.Add(-time.Second))},
		{notifyList{kind: listAdmins}, note("admins1", now)},
	} {
		if _, err := addNotification(ctx, nh.store, a.list, a.n, a.n.ID, time.Hour); err != nil {
			t.Fatal(err)
		}
	}

	if v := nh.view(t, customer); ids(v) != "mine2,mine1" || v.Unread != 2 {
		t.Errorf("customer sees %s (%d unread), want mine2,mine1 (2)", ids(v), v.Unread)
	}
	if v := nh.view(t, admin); ids(v) != "admins1" || v.Unread != 1 {
		t.Errorf("admin sees %s (%d unread), want admins1 (1)", ids(v), v.Unread)
	}
	// A third-party app acting for an admin gets the admin's own notifications, not the admins' list.
	if v := nh.view(t, delegatedAdmin); ids(v) != "" || v.Unread != 0 || v.Items == nil {
		t.Errorf("delegated admin token sees %s (%d unread), want [] (0)", ids(v), v.Unread)
	}
	if cc := nh.do(t, "GET", "/notifications", customer, "").Header().Get("Cache-Control"); !strings.Contains(cc, "no-store") || !strings.Contains(cc, "private") {
		t.Errorf("GET /notifications Cache-Control = %q, want private, no-store", cc)
	}

	tests := []struct {
		name, auth, body string
		header           []string
		want             int
		wantCode         string
		wantMarked       int
	}{
		{name: "another user's IDs change nothing", auth: other, body: `{"ids":["mine1","mine2","admins1"]}`, want: 200},
		{name: "a customer cannot mark the admins' list", auth: customer, body: `{"ids":["admins1","theirs"]}`, want: 200},
		{name: "own ID", auth: customer, body: `{"ids":["mine1"]}`, want: 200, wantMarked: 1},
		{name: "replayed", auth: customer, body: `{"ids":["mine1"]}`, want: 200},
		{name: "no token", body: `{"all":true}`, want: 401, wantCode: "unauthorized"},
		{name: "expired token", auth: "Bearer " + nh.iss.Token(t, sharedtest.Customer, -time.Minute), body: `{"all":true}`, want: 401, wantCode: "unauthorized"},
		{name: "forged token", auth: "Bearer x.y.z", body: `{"all":true}`, want: 401, wantCode: "unauthorized"},
		{name: "session cookie alone (the gateway exchanges it)", body: `{"all":true}`, header: []string{"Cookie", "session_id=s-alice"}, want: 401, wantCode: "unauthorized"},
		{name: "empty object", auth: customer, body: `{}`, want: 400, wantCode: "invalid"},
		{name: "empty ids", auth: customer, body: `{"ids":[]}`, want: 400, wantCode: "invalid"},
		{name: "all false", auth: customer, body: `{"all":false}`, want: 400, wantCode: "invalid"},
		{name: "both", auth: customer, body: `{"all":true,"ids":["mine2"]}`, want: 400, wantCode: "invalid"},
		{name: "ids not a list", auth: customer, body: `{"ids":"mine2"}`, want: 400, wantCode: "invalid"},
		{name: "id with a space", auth: customer, body: `{"ids":["mine 2"]}`, want: 400, wantCode: "invalid"},
		{name: "id too long", auth: customer, body: `{"ids":["` + strings.Repeat("a", 65) + `"]}`, want: 400, wantCode: "invalid"},
		{name: "id an operator", auth: customer, body: `{"ids":[{"$ne":null}]}`, want: 400, wantCode: "invalid"},
		{name: "101 ids", auth: customer, body: `{"ids":["` + strings.Repeat(`a","`, 100) + `a"]}`, want: 400, wantCode: "invalid"},
		{name: "unknown field", auth: customer, body: `{"all":true,"user_id":"u-other"}`, want: 400, wantCode: "invalid"},
		{name: "trailing data", auth: customer, body: `{"all":true}{}`, want: 400, wantCode: "invalid"},
		{name: "not JSON", auth: customer, body: `all=true`, want: 400, wantCode: "invalid"},
		{name: "form content type", auth: customer, body: `{"all":true}`, header: []string{"Content-Type", "application/x-www-form-urlencoded"}, want: 415, wantCode: "unsupported_media_type"},
		{name: "oversized", auth: customer, body: `{"ids":["` + strings.Repeat("a", 20<<10) + `"]}`, want: 413, wantCode: "too_large"},
		{name: "all", auth: customer, body: `{"all":true}`, want: 200, wantMarked: 1},
	}
	for _, tt := range tests {
		rec := nh.do(t, "POST", "/notifications/read", tt.auth, tt.body, tt.header...)
		if rec.Code != tt.want {
			t.Errorf("%s: POST /notifications/read: status = %d, want %d: %s", tt.name, rec.Code, tt.want, rec.Body)
			continue
		}
		var body struct {
			Marked int `json:"marked"`
			Error  struct {
				Code string `json:"code"`
			} `json:"error"`
		}
		json.Unmarshal(rec.Body.Bytes(), &body)
		if body.Error.Code != tt.wantCode || body.Marked != tt.wantMarked {
			t.Errorf("%s: POST /notifications/read: code %q marked %d, want %q %d: %s", tt.name, body.Error.Code, body.Marked, tt.wantCode, tt.wantMarked, rec.Body)
		}
	}
	if v := nh.view(t, customer); v.Unread != 0 {
		t.Errorf("customer after mark all: %d unread, want 0", v.Unread)
	}
	if v := nh.view(t, other); ids(v) != "theirs" || v.Unread != 1 {
		t.Errorf("other user after the customer's requests: %s (%d unread), want theirs (1)", ids(v), v.Unread)
	}
	if v := nh.view(t, admin); v.Unread != 1 {
		t.Errorf("admin after the customer's requests: %d unread, want 1", v.Unread)
	}
}

// failingNotes is a notificationStore whose backend is down.
type failingNotes struct{}

var errRedisDown = fmt.Errorf("notifications: %w: connection refused", shared.ErrUnavailable)

func (failingNotes) Add(context.Context, []notifyAdd, time.Duration) ([]bool, error) {
	return nil, errRedisDown
}
func (failingNotes) View(context.Context, string, []notifyList, time.Time) ([]notification, int, error) {
	return nil, 0, errRedisDown
}
func (failingNotes) MarkRead(context.Context, string, []notifyList, []string, bool, time.Time) (int, error) {
	return 0, errRedisDown
}

// TestNotificationRoutesStoreDown: Redis down is a 503 in the error shape, and a broadcast that cannot
// be kept is not sent either.
func TestNotificationRoutesStoreDown(t *testing.T) {
	t.Parallel()
	nh := newNotifyHarness(t, failingNotes{})
	customer, admin := nh.iss.Bearer(t, sharedtest.Customer), nh.iss.Bearer(t, sharedtest.Admin)
	for _, tc := range []struct{ method, path, auth, body string }{
		{"GET", "/notifications", customer, ""},
		{"POST", "/notifications/read", customer, `{"all":true}`},
		{"POST", "/broadcast", admin, `{"message":"sale"}`},
	} {
		if rec := nh.do(t, tc.method, tc.path, tc.auth, tc.body); rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), `"unavailable"`) {
			t.Errorf("%s %s with the store down: %d %s, want 503 unavailable", tc.method, tc.path, rec.Code, rec.Body)
		}
	}
	if n := nh.hub.stats().MessagesByType["announcement"]; n != 0 {
		t.Errorf("announcements sent with the store down: %d, want 0", n)
	}
}

// TestBroadcastIsANotification: an announcement is kept once for everyone, pushed live, and
// dismissing it (mark read) is per reader.
func TestBroadcastIsANotification(t *testing.T) {
	t.Parallel()
	nh := newNotifyHarness(t, nil)
	customer, admin := nh.iss.Bearer(t, sharedtest.Customer), nh.iss.Bearer(t, sharedtest.Admin)
	rec := nh.do(t, "POST", "/broadcast", admin, `{"message":"  Free shipping today  ","level":"warning"}`)
	if rec.Code != http.StatusAccepted {
		t.Fatalf("POST /broadcast: %d %s", rec.Code, rec.Body)
	}
	var ans struct {
		ID string `json:"notification_id"`
	}
	json.Unmarshal(rec.Body.Bytes(), &ans)
	v := nh.view(t, customer)
	if len(v.Items) != 1 || v.Items[0].ID != ans.ID || v.Items[0].Type != "announcement" || v.Items[0].Body != "Free shipping today" ||
		v.Items[0].Level != "warning" || v.Unread != 1 {
		t.Fatalf("customer's view after a broadcast: %+v, want the announcement %s, unread", v, ans.ID)
	}
	if n := nh.hub.stats().MessagesByType["notification"]; n != 1 {
		t.Errorf("notification messages pushed: %d, want 1", n)
	}
	if rec := nh.do(t, "POST", "/notifications/read", customer, `{"ids":["`+ans.ID+`"]}`); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"unread":0`) {
		t.Errorf("dismiss: %d %s, want 200 unread 0", rec.Code, rec.Body)
	}
	if v := nh.view(t, admin); v.Unread != 1 {
		t.Errorf("admin after the customer dismissed: %d unread, want 1", v.Unread)
	}
}

// TestNotifier: the notifier writes an event's notification once however often it is delivered,
// by however many instances, skips old events, and returns a store error so Consume retries.
func TestNotifier(t *testing.T) {
	t.Parallel()
	now := time.Now().UTC()
	store := newMemNotifications(nil)
	a := &notifier{store: store, logger: shared.NewLogger(io.Discard, "realtime", "error"), now: func() time.Time { return now }}
	b := &notifier{store: store, logger: a.logger, now: a.now} // a second instance
	ev := orderEvent(t, "order.paid", "u1", "confirmed", now.Add(-time.Minute))
	for _, n := range []*notifier{a, a, b} {
		if err := n.handle(context.Background(), []shared.Event{ev}); err != nil {
			t.Fatal(err)
		}
	}
	old := orderEvent(t, "order.shipped", "u1", "paid", now.Add(-notifyMaxEventAge-time.Second))
	if err := a.handle(context.Background(), []shared.Event{old}); err != nil {
		t.Fatal(err)
	}
	lists := []notifyList{{kind: listUser, userID: "u1"}}
	items, unread, _ := store.View(context.Background(), "u1", lists, now)
	if len(items) != 1 || items[0].ID != ev.ID || unread != 1 {
		t.Errorf("after 3 deliveries of one event and one old event: %+v, want only %s", items, ev.ID)
	}
	// A batch, as shared.ConsumeBatches hands it over: one store call, one notification per event.
	created := orderEvent(t, "order.created", "u1", "", now)
	shipped := orderEvent(t, "order.shipped", "u1", "paid", now)
	batch := []shared.Event{shipped, old, ev, created, shipped, {ID: shared.NewID(), Type: "inventory.reserved", Data: json.RawMessage(`{}`), OccurredAt: now}}
	if err := b.handle(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	items, _, _ = store.View(context.Background(), "u1", append(lists, notifyList{kind: listAdmins}), now)
	if ids := fmt.Sprint(len(items), items[0].ID == created.ID || items[1].ID == created.ID, items[2].ID == ev.ID); ids != "3 true true" {
		t.Errorf("after a batch: %+v, want the new order, the shipment and the earlier payment, once each", items)
	}
	down := &notifier{store: failingNotes{}, logger: a.logger, now: a.now}
	if err := down.handle(context.Background(), []shared.Event{ev}); !errors.Is(err, shared.ErrUnavailable) {
		t.Errorf("store down: err = %v, want ErrUnavailable (Consume retries)", err)
	}
	// An event that makes no notification needs no store.
	if err := down.handle(context.Background(), []shared.Event{{ID: shared.NewID(), Type: "inventory.updated", Data: json.RawMessage(`{"sku":"A"}`), OccurredAt: now}}); err != nil {
		t.Errorf("inventory.updated: err = %v, want nil", err)
	}
}

func orderEvent(t *testing.T, typ, userID, previous string, at time.Time) shared.Event {
	t.Helper()
	data, _ := json.Marshal(map[string]any{"order_id": "0123456789abcdef", "user_id": userID, "status": strings.TrimPrefix(typ, "order."),
		"previous_status": previous, "total_cents": 12345, "currency": "USD", "reason": ""})
	return shared.Event{ID: shared.NewID(), Type: typ, Data: data, OccurredAt: at}
}

// TestConsumerPushesNotifications: the per-instance consumer pushes a "notification" message for an
// event that makes one (the bell's live bump), to its user, and none for one that does not.
func TestConsumerPushesNotifications(t *testing.T) {
	t.Parallel()
	h := newHub(hubConfig{}, nil)
	t.Cleanup(h.shutdown)
	cons := newConsumer(h, shared.NewLogger(io.Discard, "realtime", "error"), time.Minute, nil)
	c, _, _, _, _ := h.register(shared.Identity{UserID: "u1", Role: shared.RoleCustomer}, "", 0, "")
	if err := cons.handle(context.Background(), orderEvent(t, "order.shipped", "u1", "paid", time.Now())); err != nil {
		t.Fatal(err)
	}
	if err := cons.handle(context.Background(), shared.Event{ID: shared.NewID(), Type: "user.updated", Data: json.RawMessage(`{"user_id":"u1"}`), OccurredAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range c.queue {
		var msg struct {
			Type string           `json:"type"`
			Data liveNotification `json:"data"`
		}
		json.Unmarshal(m.frame, &msg)
		got = append(got, msg.Type+":"+msg.Data.Audience+":"+msg.Data.UserID+":"+msg.Data.Title)
	}
	if want := "order.shipped::u1:,notification:user:u1:Order shipped,user.updated::u1:"; strings.Join(got, ",") != want {
		t.Errorf("queued for u1: %v, want %s", got, want)
	}
}

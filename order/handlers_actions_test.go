package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goshop/platform/shared"
)

func TestOrderPay(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	pending := h.create("p", `[{"sku":"MUG-1","quantity":1}]`).ID
	v := h.create("k", `[{"sku":"TSHIRT-1","quantity":1}]`)
	h.confirm(v.ID)
	path := "/orders/" + v.ID + "/pay"
	tests := []struct {
		name, path, auth, body string
		want                   int
		wantField              string
	}{
		{"anonymous", path, "", payJSON, http.StatusUnauthorized, ""},
		{"other customer", path, h.other, payJSON, http.StatusNotFound, ""},
		{"admin is not the payer", path, h.admin, payJSON, http.StatusForbidden, ""},
		{"pending order", "/orders/" + pending + "/pay", h.customer, payJSON, http.StatusConflict, ""},
		{"luhn fails", path, h.customer, `{"card_number":"4242424242424241","exp_month":12,"exp_year":2031,"cvc":"123"}`, http.StatusBadRequest, "card_number"},
		{"letters", path, h.customer, `{"card_number":"4242abcd42424242","exp_month":12,"exp_year":2031,"cvc":"123"}`, http.StatusBadRequest, "card_number"},
		{"expired", path, h.customer, `{"card_number":"4242424242424242","exp_month":1,"exp_year":2020,"cvc":"123"}`, http.StatusBadRequest, "exp_year"},
		{"bad month", path, h.customer, `{"card_number":"4242424242424242","exp_month":13,"exp_year":2031,"cvc":"123"}`, http.StatusBadRequest, "exp_month"},
		{"short cvc", path, h.customer, `{"card_number":"4242424242424242","exp_month":12,"exp_year":2031,"cvc":"12"}`, http.StatusBadRequest, "cvc"},
		{"declined", path, h.customer, `{"card_number":"4000 0000 0000 0002","exp_month":12,"exp_year":2031,"cvc":"123"}`, http.StatusBadRequest, "card_number"},
		{"approved", path, h.customer, payJSON, http.StatusOK, ""},
		{"paid again charges nothing", path, h.customer, payJSON, http.StatusOK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body, _ := h.do("POST", tt.path, tt.auth, tt.body)
			if code != tt.want {
				t.Fatalf("POST %s: status = %d, want %d: %s", tt.path, code, tt.want, body)
			}
			if tt.wantField != "" && !strings.Contains(body, `"`+tt.wantField+`":`) {
				t.Errorf("POST %s: body lacks field %s: %s", tt.path, tt.wantField, body)
			}
			if code == http.StatusOK {
				got := decodeView(t, body)
				if got.Status != StatusPaid || got.Payment == nil || got.Payment.Last4 != "4242" || got.Payment.Brand != "visa" || got.Payment.Amount != got.Total {
					t.Errorf("POST %s: order = %+v payment %+v", tt.path, got, got.Payment)
				}
			}
		})
	}
	if n := h.pay.chargeCount(); n != 1 {
		t.Errorf("charges = %d, want 1", n)
	}
	if got := h.outboxTypes(v.ID); strings.Join(got, ",") != "order.created,order.confirmed,order.paid" {
		t.Errorf("outbox = %v", got)
	}
	o, _ := h.store.Get(context.Background(), v.ID)
	raw, _ := json.Marshal(o)
	if strings.Contains(string(raw), "4242424242424242") || strings.Contains(string(raw), `"123"`) {
		t.Errorf("stored order keeps the card: %s", raw)
	}
}

// TestOrderPayConcurrent pays one order from many requests at once: one charge, one order.paid.
func TestOrderPayConcurrent(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	v := h.create("k", `[{"sku":"TSHIRT-1","quantity":1}]`)
	h.confirm(v.ID)
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			if code, body, _ := h.do("POST", "/orders/"+v.ID+"/pay", h.customer, payJSON); code != http.StatusOK {
				t.Errorf("POST pay: status = %d, want 200: %s", code, body)
			}
		})
	}
	wg.Wait()
	if n := h.pay.chargeCount(); n != 1 {
		t.Errorf("charges = %d, want 1", n)
	}
	if got := h.outboxTypes(v.ID); strings.Join(got, ",") != "order.created,order.confirmed,order.paid" {
		t.Errorf("outbox = %v", got)
	}
}

func TestOrderPayAfterReservationExpiry(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	v := h.create("k", `[{"sku":"TSHIRT-1","quantity":1}]`)
	past := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
	if err := h.inventoryEvent("", evReserved, map[string]any{"order_id": v.ID, "expires_at": past}); err != nil {
		t.Fatal(err)
	}
	if code, body, _ := h.do("POST", "/orders/"+v.ID+"/pay", h.customer, payJSON); code != http.StatusConflict || !strings.Contains(body, "expired") {
		t.Errorf("POST pay after expiry: status = %d, want 409 naming expiry: %s", code, body)
	}
	if n := h.pay.chargeCount(); n != 0 {
		t.Errorf("charges = %d, want 0", n)
	}
}

func TestOrderCancel(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	pending := h.create("a", `[{"sku":"MUG-1","quantity":1}]`).ID
	confirmed := h.create("b", `[{"sku":"MUG-1","quantity":1}]`).ID
	h.confirm(confirmed)
	paid := h.create("c", `[{"sku":"MUG-1","quantity":1}]`).ID
	h.confirm(paid)
	if code, body, _ := h.do("POST", "/orders/"+paid+"/pay", h.customer, payJSON); code != http.StatusOK {
		t.Fatalf("pay: %d %s", code, body)
	}
	shipped := h.create("d", `[{"sku":"MUG-1","quantity":1}]`).ID
	h.confirm(shipped)
	h.do("POST", "/orders/"+shipped+"/pay", h.customer, payJSON)
	if code, body, _ := h.do("PATCH", "/orders/"+shipped+"/status", h.admin, `{"status":"shipped"}`); code != http.StatusOK {
		t.Fatalf("ship: %d %s", code, body)
	}

	tests := []struct {
		name, id, auth, body string
		want                 int
		wantReason           string
	}{
		{"other customer", pending, h.other, "", http.StatusNotFound, ""},
		{"anonymous", pending, "", "", http.StatusUnauthorized, ""},
		{"bad body", pending, h.customer, `{"why":"x"}`, http.StatusBadRequest, ""},
		{"owner pending", pending, h.customer, "", http.StatusOK, "cancelled by the customer"},
		{"owner again is a no-op", pending, h.customer, "", http.StatusOK, "cancelled by the customer"},
		{"owner confirmed with reason", confirmed, h.customer, `{"reason":"changed my mind"}`, http.StatusOK, "changed my mind"},
		{"owner cannot cancel paid", paid, h.customer, "", http.StatusForbidden, ""},
		{"admin cancels paid with refund", paid, h.admin, "", http.StatusOK, "cancelled by an admin"},
		{"shipped cannot be cancelled", shipped, h.admin, "", http.StatusConflict, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := "/orders/" + tt.id + "/cancel"
			code, body, _ := h.do("POST", path, tt.auth, tt.body)
			if code != tt.want {
				t.Fatalf("POST %s: status = %d, want %d: %s", path, code, tt.want, body)
			}
			if code == http.StatusOK {
				if v := decodeView(t, body); v.Status != StatusCancelled || v.StatusReason != tt.wantReason {
					t.Errorf("POST %s: status %s reason %q, want cancelled %q", path, v.Status, v.StatusReason, tt.wantReason)
				}
			}
		})
	}
	// A body sent chunked with no data is no body (a client library may send one so): before, a 400.
	chunked := h.create("e", `[{"sku":"MUG-1","quantity":1}]`).ID
	r := httptest.NewRequest("POST", "/orders/"+chunked+"/cancel", strings.NewReader(""))
	r.ContentLength = -1
	r.Header.Set("Authorization", h.customer)
	rec := httptest.NewRecorder()
	h.handler.ServeHTTP(rec, r)
	if rec.Code != http.StatusOK {
		t.Errorf("POST cancel with an empty chunked body: %d %s, want 200", rec.Code, rec.Body)
	}
	if got := h.outboxTypes(pending); strings.Join(got, ",") != "order.created,order.cancelled" {
		t.Errorf("pending outbox = %v (one cancel event despite two calls)", got)
	}
	// Each event names the status the order left, so consumers can tell a refund from a cancellation.
	for id, want := range map[string]string{pending: "order.created:,order.cancelled:pending",
		paid: "order.created:,order.confirmed:pending,order.paid:confirmed,order.cancelled:paid"} {
		o, _ := h.store.Get(context.Background(), id)
		var got []string
		for _, e := range o.Events {
			var d orderEventData
			if err := json.Unmarshal([]byte(e.Data), &d); err != nil {
				t.Fatal(err)
			}
			got = append(got, e.Type+":"+string(d.PreviousStatus))
		}
		if strings.Join(got, ",") != want {
			t.Errorf("order events type:previous_status = %v, want %s", got, want)
		}
	}
	code, body, _ := h.do("GET", "/orders/"+paid, h.customer, "")
	if v := decodeView(t, body); code != http.StatusOK || v.Payment == nil || !v.Payment.Refunded {
		t.Errorf("GET paid-then-cancelled order: payment = %+v, want refunded", v.Payment)
	}
	if code, body, _ := h.do("GET", "/orders/"+shipped, h.customer, ""); code != http.StatusOK || decodeView(t, body).Status != StatusShipped {
		t.Errorf("shipped order changed: %s", body)
	}
}

func TestOrderStatusPatch(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	pending := h.create("a", `[{"sku":"MUG-1","quantity":1}]`).ID
	paid := h.create("b", `[{"sku":"MUG-1","quantity":1}]`).ID
	h.confirm(paid)
	h.do("POST", "/orders/"+paid+"/pay", h.customer, payJSON)
	tests := []struct {
		name, id, auth, body string
		want                 int
		wantMsg              string
	}{
		{"customer", paid, h.customer, `{"status":"shipped"}`, http.StatusForbidden, ""},
		{"unknown status", paid, h.admin, `{"status":"lost"}`, http.StatusBadRequest, "status"},
		{"no body", paid, h.admin, ``, http.StatusBadRequest, ""},
		{"unknown order", "0123456789abcdef0123456789abcdef", h.admin, `{"status":"shipped"}`, http.StatusNotFound, ""},
		{"skip ahead", pending, h.admin, `{"status":"shipped"}`, http.StatusConflict, "order is pending"},
		{"saga-only edge", pending, h.admin, `{"status":"confirmed"}`, http.StatusConflict, "checkout"},
		{"backwards", paid, h.admin, `{"status":"confirmed"}`, http.StatusConflict, "order is paid"},
		{"ship", paid, h.admin, `{"status":"shipped","reason":"UPS 1Z999"}`, http.StatusOK, ""},
		{"ship twice", paid, h.admin, `{"status":"shipped"}`, http.StatusConflict, "order is shipped"},
		{"deliver", paid, h.admin, `{"status":"delivered"}`, http.StatusOK, ""},
		{"cancel delivered", paid, h.admin, `{"status":"cancelled"}`, http.StatusConflict, "order is delivered"},
		{"admin cancels pending", pending, h.admin, `{"status":"cancelled","reason":"fraud"}`, http.StatusOK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := "/orders/" + tt.id + "/status"
			code, body, _ := h.do("PATCH", path, tt.auth, tt.body)
			if code != tt.want {
				t.Fatalf("PATCH %s %s: status = %d, want %d: %s", path, tt.body, code, tt.want, body)
			}
			if tt.wantMsg != "" && !strings.Contains(body, tt.wantMsg) {
				t.Errorf("PATCH %s: body %s lacks %q", path, body, tt.wantMsg)
			}
		})
	}
	if got := h.outboxTypes(paid); strings.Join(got, ",") != "order.created,order.confirmed,order.paid,order.shipped,order.delivered" {
		t.Errorf("outbox = %v", got)
	}
	if o, _ := h.store.Get(context.Background(), pending); o.Status != StatusCancelled || o.StatusReason != "fraud" {
		t.Errorf("pending order after admin cancel: %s %q", o.Status, o.StatusReason)
	}
}

// TestTransitionTable checks every (from, to, actor) triple against the documented state machine.
func TestTransitionTable(t *testing.T) {
	t.Parallel()
	legal := map[[2]Status][]actor{
		{StatusPending, StatusConfirmed}:   {actorSaga},
		{StatusPending, StatusRejected}:    {actorSaga},
		{StatusPending, StatusCancelled}:   {actorSaga, actorOwner, actorAdmin},
		{StatusConfirmed, StatusPaid}:      {actorPayment},
		{StatusConfirmed, StatusCancelled}: {actorSaga, actorOwner, actorAdmin},
		{StatusPaid, StatusShipped}:        {actorAdmin},
		{StatusPaid, StatusCancelled}:      {actorAdmin, actorSaga},
		{StatusShipped, StatusDelivered}:   {actorAdmin},
	}
	for _, from := range statuses {
		for _, to := range statuses {
			for _, by := range []actor{actorSaga, actorPayment, actorOwner, actorAdmin} {
				want := false
				for _, a := range legal[[2]Status{from, to}] {
					want = want || a == by
				}
				err := checkTransition(from, to, by)
				if (err == nil) != want {
					t.Errorf("checkTransition(%s, %s, %s) = %v, want allowed %v", from, to, by, err, want)
				}
				if err != nil && legal[[2]Status{from, to}] == nil && !strings.Contains(err.Error(), string(from)) {
					t.Errorf("checkTransition(%s, %s, %s) = %v: does not name the current state", from, to, by, err)
				}
			}
		}
	}
}

// flakyTransitionStore fails the next Transition, as a Mongo hiccup right after a charge would.
type flakyTransitionStore struct {
	orderStore
	fail atomic.Bool
}

func (f *flakyTransitionStore) Transition(ctx context.Context, id string, t transition) (Order, error) {
	if f.fail.CompareAndSwap(true, false) {
		return Order{}, errors.New("mongo: connection reset")
	}
	return f.orderStore.Transition(ctx, id, t)
}

// TestOrderPayStoreFailsAfterCharge: the charge is refunded, the request fails, and a retry charges
// anew and pays the order; the customer is charged once in the end.
func TestOrderPayStoreFailsAfterCharge(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	v := h.create("k", `[{"sku":"TSHIRT-1","quantity":1}]`)
	h.confirm(v.ID)
	flaky := &flakyTransitionStore{orderStore: h.store}
	h.co.store = flaky
	flaky.fail.Store(true)
	if code, body, _ := h.do("POST", "/orders/"+v.ID+"/pay", h.customer, payJSON); code != http.StatusInternalServerError {
		t.Fatalf("POST pay with store failing: status = %d, want 500: %s", code, body)
	}
	if h.status(v.ID) != StatusConfirmed || len(h.pay.refunds) != 1 {
		t.Fatalf("after failed pay: status %s refunds %d, want confirmed and 1 refund", h.status(v.ID), len(h.pay.refunds))
	}
	code, body, _ := h.do("POST", "/orders/"+v.ID+"/pay", h.customer, payJSON)
	if code != http.StatusOK || decodeView(t, body).Status != StatusPaid {
		t.Fatalf("POST pay retry: status = %d, want 200 paid: %s", code, body)
	}
	o, _ := h.store.Get(context.Background(), v.ID)
	if _, refunded := h.pay.refunds[o.Payment.ChargeID]; refunded || h.pay.chargeCount() != 2 {
		t.Errorf("paid with charge %s (refunded %v), charges %d; want a fresh, unrefunded second charge", o.Payment.ChargeID, refunded, h.pay.chargeCount())
	}
}

// racingPayments is a second order copy's provider that remembers its own charges only (as the stub
// does per process): before its charge returns, the other copy (first) pays the same order in full.
type racingPayments struct {
	*stubPayments
	first func()
}

func (p *racingPayments) Charge(ctx context.Context, req chargeRequest) (charge, error) {
	p.first()
	return p.stubPayments.Charge(ctx, req)
}

// TestOrderPayTwoCopiesOneCharge: two copies pay one order at once and the second's charge loses the
// race to mark it paid. The order keeps the first copy's charge and the second copy refunds its own;
// before, it answered "paid already" and kept the customer's second payment.
func TestOrderPayTwoCopiesOneCharge(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	v := h.create("k", `[{"sku":"TSHIRT-1","quantity":1}]`)
	h.confirm(v.ID)
	c := card{Number: "4242424242424242", ExpMonth: 12, ExpYear: 2031, CVC: "123"}
	second := &racingPayments{stubPayments: newStubPayments()}
	second.first = func() {
		if _, err := h.co.pay(context.Background(), v.ID, c); err != nil {
			t.Errorf("first copy's pay: %v", err)
		}
	}
	other := newCheckout(slog.New(slog.DiscardHandler), h.store, second, shared.NewMetrics("order"), nil)
	o, err := other.pay(context.Background(), v.ID, c)
	if err != nil || o.Status != StatusPaid {
		t.Fatalf("second copy's pay = %s, %v; want paid, nil", o.Status, err)
	}
	stored, _ := h.store.Get(context.Background(), v.ID)
	if _, ok := h.pay.byOrder[v.ID]; !ok || stored.Payment.ChargeID != h.pay.byOrder[v.ID].ID {
		t.Fatalf("the order's charge %s is not the first copy's", stored.Payment.ChargeID)
	}
	if second.charges != 1 || len(second.refunds) != 1 {
		t.Errorf("second copy: %d charges, %d refunds; want its losing charge refunded", second.charges, len(second.refunds))
	}
	if len(h.pay.refunds) != 0 {
		t.Errorf("the first copy's charge, which paid the order, was refunded")
	}
}

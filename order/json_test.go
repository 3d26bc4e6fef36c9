package main

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// FuzzOrderJSON holds the order's appenders to json.Marshal's bytes: event data (stored and
// published as written) and the canonical request a stored idempotency hash was taken of.
func FuzzOrderJSON(f *testing.F) {
	f.Add("o1", "u1", "TSHIRT-1", "T-shirt <&>", int64(1999), int64(2), "", "Demo", "addr-1", true)
	f.Add("o\"2", "u\\2", "\u2028", "bad \xff", int64(-1), int64(0), "out of stock: A (requested 3, available 1)", "", "", false)
	f.Fuzz(func(t *testing.T, id, user, sku, name string, cents, qty int64, reason, street, addrID string, withAddr bool) {
		for _, d := range []orderEventData{
			{OrderID: id, UserID: user, Status: StatusPending, Items: []eventDataLine{{SKU: sku, Name: name, UnitPriceCents: cents, Quantity: qty}, {SKU: name}},
				SubtotalCents: cents, TaxCents: qty, ShippingCents: -cents, TotalCents: cents * 2, Currency: sku, Reason: reason},
			{OrderID: id, Status: Status(reason), Items: []eventDataLine{}, PreviousStatus: Status(name)},
			{},
		} {
			want, err := json.Marshal(d)
			if err != nil {
				t.Fatal(err)
			}
			if got := d.appendJSON(nil); !bytes.Equal(got, want) {
				t.Fatalf("orderEventData.appendJSON\n got %s\nwant %s", got, want)
			}
		}
		reqs := []createOrderRequest{
			{Items: []orderLineInput{{SKU: sku, Quantity: qty}, {SKU: name, Quantity: cents}}, AddressID: addrID},
			{Items: []orderLineInput{}},
			{},
		}
		if withAddr {
			reqs[0].ShippingAddress = &Address{Name: name, Street: street, City: id, State: "", ZipCode: user, Country: reason}
		}
		for _, r := range reqs {
			want, err := json.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			if got := r.appendJSON(nil); !bytes.Equal(got, want) {
				t.Fatalf("createOrderRequest.appendJSON\n got %s\nwant %s", got, want)
			}
		}
	})
}

// TestRequestHashStable pins the idempotency hash of one request (the SHA-256 of the canonical
// JSON below, as json.Marshal wrote it): orders stored before keep matching their retries only while
// the canonical form does not change.
func TestRequestHashStable(t *testing.T) {
	t.Parallel()
	r := createOrderRequest{Items: []orderLineInput{{SKU: "TSHIRT-1", Quantity: 2}},
		ShippingAddress: &Address{Name: "Demo", Street: "1 Main St", City: "Springfield", State: "IL", ZipCode: "62701", Country: "US"}}
	// sha256 of {"items":[{"sku":"TSHIRT-1","quantity":2}],"shipping_address":{"name":"Demo","street":"1 Main St","city":"Springfield","state":"IL","zip_code":"62701","country":"US"}}
	const want = "38a1ddcb3a692f612464bf38913371fc7164233f5ae80e306382d41e8908b843"
	if got := r.hash(); got != want {
		t.Errorf("hash() = %s, want %s", got, want)
	}
}

// FuzzOrderViewJSON holds orderView.AppendJSON, which shared.Encode uses for one order's answer, to
// json.Marshal's bytes, with every optional part present and absent.
func FuzzOrderViewJSON(f *testing.F) {
	f.Add("o1", "T-shirt <&>", "demo@shop.local", int64(1999), int64(2), int64(1_700_000_000_123_456_789), true)
	f.Add("", "\u2028\xff", "", int64(-5), int64(0), int64(0), false)
	f.Fuzz(func(t *testing.T, id, name, email string, cents, qty, ns int64, full bool) {
		at := time.Unix(0, ns).UTC()
		o := Order{ID: id, UserID: email, Status: StatusConfirmed, StatusReason: name, Items: []Line{{SKU: id, Name: name, UnitPriceCents: cents, Quantity: qty}},
			SubtotalCents: cents, TaxCents: qty, ShippingCents: -cents, TotalCents: cents + qty, Currency: name,
			Address: Address{Name: name, Street: id, City: email, ZipCode: name, Country: id}, CreatedAt: at, UpdatedAt: at.Add(time.Second)}
		views := []orderView{newOrderView(o), {}}
		if full {
			o.CustomerEmail, o.CustomerName, o.ReservationExpiresAt = email, name, &at
			o.Payment = &Payment{Last4: id, Brand: name, AmountCents: cents, PaidAt: at, RefundID: email}
			v := newOrderView(o)
			v.NextStatuses = []Status{StatusPaid, Status(name)}
			v.History = []historyEntry{{Status: StatusPending, At: at, By: historyActor{Kind: "customer", UserID: id, Name: name, Email: email}},
				{Status: Status(name), At: at, Reason: name, By: historyActor{Kind: "system"}}}
			views = append(views, v)
		}
		for _, v := range views {
			want, err := json.Marshal(v)
			if err != nil {
				return // a time json.Marshal refuses (year past 9999): no order carries one
			}
			if got, _ := v.AppendJSON(nil); !bytes.Equal(got, want) {
				t.Fatalf("orderView.AppendJSON\n got %s\nwant %s", got, want)
			}
		}
	})
}

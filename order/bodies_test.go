package main

import (
	"testing"

	"github.com/goshop/platform/shared/sharedtest"
)

// TestRouteBodies: every body-taking route of routes.go answers 413 to a 2 MiB body and 400 to invalid
// UTF-8 in a text field (which encoding/json would otherwise store as U+FFFD).
func TestRouteBodies(t *testing.T) {
	t.Parallel()
	const lines1 = `[{"sku":"MUG-1","quantity":1}]`
	h := newHarness(t)
	toPay, toCancel, toShip := h.create("k-pay", lines1), h.create("k-cancel", lines1), h.create("k-ship", lines1)
	for _, o := range []orderView{toPay, toCancel, toShip} {
		h.confirm(o.ID)
	}
	m := sharedtest.Marker
	customer, admin := []string{"Authorization", h.customer}, []string{"Authorization", h.admin}
	sharedtest.CheckBodies(t, h.handler, "routes.go", map[string]sharedtest.BodyCase{
		"POST /orders": {Header: append(customer, "Idempotency-Key", "k-bodies"),
			Body: `{"items":` + lines1 + `,"shipping_address":{"name":"Demo` + m + `","street":"1 Main St","city":"Springfield","state":"IL","zip_code":"62701","country":"US"}}`},
		"POST /orders/{id}/pay": {Path: "/orders/" + toPay.ID + "/pay", Header: customer,
			Body: `{"card_number":"4242424242424242","exp_month":12,"exp_year":2031,"cvc":"123` + m + `"}`},
		"POST /orders/{id}/cancel":  {Path: "/orders/" + toCancel.ID + "/cancel", Header: customer, Body: `{"reason":"changed my mind` + m + `"}`},
		"PATCH /orders/{id}/status": {Path: "/orders/" + toShip.ID + "/status", Header: admin, Body: `{"status":"cancelled","reason":"out of stock` + m + `"}`},
	})
}

package main

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/goshop/platform/shared"
)

// BenchmarkMeGet measures GET /users/me through the whole stack (ES256 token verification, middleware,
// in-memory store, JSON).
func BenchmarkMeGet(b *testing.B) {
	env := newTestEnv(b)
	bearer := env.iss.Bearer(b, *ident("u1", shared.RoleCustomer))
	for b.Loop() {
		r := httptest.NewRequest(http.MethodGet, "/users/me", nil)
		r.Header.Set("Authorization", bearer)
		if rec := serve(env.h, r); rec.Code != http.StatusOK {
			b.Fatalf("GET /users/me: status = %d", rec.Code)
		}
	}
}

// BenchmarkAddressPatch measures one validated, atomic address edit without the token check.
func BenchmarkAddressPatch(b *testing.B) {
	profiles := newMemProfileStore()
	me := *ident("u1", shared.RoleCustomer)
	p := newProfile("u1", "u1@example.com", "U", shared.RoleCustomer, testTime)
	p.Addresses = []Address{{ID: "a1", Name: "Home", Street: "1 Main St", City: "X", ZipCode: "1", Country: "US"}}
	profiles.Create(b.Context(), p)
	h := http.NewServeMux()
	h.Handle("PATCH /users/me/addresses/{id}", handleAddressPatch(discardLogger(), profiles))
	for b.Loop() {
		r := httptest.NewRequest(http.MethodPatch, "/users/me/addresses/a1", stringsReader(`{"city":"Springfield","is_default":true}`))
		r = r.WithContext(shared.WithIdentity(r.Context(), me))
		if rec := serve(h, r); rec.Code != http.StatusOK {
			b.Fatalf("PATCH: status = %d %s", rec.Code, rec.Body.String())
		}
	}
}

// BenchmarkOrderMailRender measures building the order confirmation (both parts) from a decoded
// event and profile: what the order mail consumer does per checkout besides the store calls.
func BenchmarkOrderMailRender(b *testing.B) {
	env := newMailEnv(b)
	e := orderEventOf(b, "order.confirmed", mailUser, nil)
	var d orderEvent
	if err := e.Decode(&d); err != nil {
		b.Fatal(err)
	}
	p, err := env.profiles.Get(b.Context(), mailUser)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := env.om.render(e, orderMails[e.Type], d, p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOrderMailHandle measures the order mail consumer's handler for one order.confirmed:
// decode, profile read, render, enqueue (in memory).
func BenchmarkOrderMailHandle(b *testing.B) {
	env := newMailEnv(b)
	e := orderEventOf(b, "order.confirmed", mailUser, nil)
	b.ReportAllocs()
	for b.Loop() {
		e.ID = shared.NewID()
		if err := env.om.handle(b.Context(), e); err != nil {
			b.Fatal(err)
		}
	}
}

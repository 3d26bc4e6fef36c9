package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/goshop/platform/shared"
	"github.com/goshop/platform/shared/sharedtest"
)

func TestMeGetCreatesProfileFromToken(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	admin := sharedtest.Admin
	rec := env.do(t, http.MethodGet, "/users/me", &admin, "")
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /users/me: status = %d, want %d (%s)", rec.Code, http.StatusOK, rec.Body.String())
	}
	got := sharedtest.Decode[profileView](t, rec)
	if got.ID != admin.UserID || got.Email != admin.Email || got.Name != admin.Name || got.Role != shared.RoleAdmin ||
		got.Status != statusActive || got.Preferences.Currency != "USD" || got.CreatedAt.IsZero() {
		t.Errorf("GET /users/me = %+v, want the token's identity, active, USD", got)
	}
	// Twice is the same profile, not a second creation.
	again := sharedtest.Decode[profileView](t, env.do(t, http.MethodGet, "/users/me", &admin, ""))
	if again != got {
		t.Errorf("second GET /users/me = %+v, want %+v", again, got)
	}
}

// TestMeGetWithoutEmailWaits: a third-party app's token without the email scope carries no e-mail;
// a profile made from it would keep none (user.registered then changes nothing) and the customer's
// mail would stop. Before user.registered it is a 503 to retry; after, the profile has the e-mail.
func TestMeGetWithoutEmailWaits(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	app := &shared.Identity{UserID: "u2", Name: "App User", Role: shared.RoleCustomer, ClientID: "demo-app", Scope: "openid profile"}
	wantError(t, "GET", "/users/me", env.do(t, http.MethodGet, "/users/me", app, ""), http.StatusServiceUnavailable, shared.CodeUnavailable)
	ev, _ := shared.NewEvent(eventUserRegistered, "u2", userRegistered{UserID: "u2", Email: "u2@example.com", Name: "App User", Role: "customer"})
	if err := handleUserEvent(discardLogger(), env.profiles)(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	rec := env.do(t, http.MethodGet, "/users/me", app, "")
	if got := sharedtest.Decode[profileView](t, rec); rec.Code != http.StatusOK || got.Email != "u2@example.com" {
		t.Errorf("GET /users/me after user.registered: %d %+v, want 200 with u2@example.com", rec.Code, got)
	}
}

func TestMeGetPrefersRegisteredProfile(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ev, _ := shared.NewEvent(eventUserRegistered, "u1", userRegistered{UserID: "u1", Email: "u1@example.com", Name: "From Event", Role: "customer"})
	if err := handleUserEvent(discardLogger(), env.profiles)(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	got := sharedtest.Decode[profileView](t, env.do(t, http.MethodGet, "/users/me", ident("u1", shared.RoleCustomer), ""))
	if got.Name != "From Event" {
		t.Errorf("GET /users/me: name = %q, want the registered profile's %q", got.Name, "From Event")
	}
}

func TestMeAuth(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	for _, tt := range []struct{ method, path string }{
		{http.MethodGet, "/users/me"}, {http.MethodPatch, "/users/me"},
		{http.MethodGet, "/users/me/addresses"}, {http.MethodPost, "/users/me/addresses"},
		{http.MethodGet, "/users/me/addresses/a1"}, {http.MethodPut, "/users/me/addresses/a1"},
		{http.MethodPatch, "/users/me/addresses/a1"}, {http.MethodDelete, "/users/me/addresses/a1"},
		{http.MethodPut, "/users/me/addresses/a1/default"},
		{http.MethodGet, "/users"}, {http.MethodGet, "/users/u1"}, {http.MethodPatch, "/users/u1"},
		{http.MethodPatch, "/users/u1/status"},
	} {
		rec := env.do(t, tt.method, tt.path, nil, "")
		wantError(t, tt.method, tt.path, rec, http.StatusUnauthorized, shared.CodeUnauthorized)

		req := "Bearer not-a-token"
		r := newRequest(tt.method, tt.path, req)
		rec = serve(env.h, r)
		wantError(t, tt.method, tt.path+" (bad token)", rec, http.StatusUnauthorized, shared.CodeUnauthorized)
	}
}

func TestMeExpiredToken(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	r := newRequest(http.MethodGet, "/users/me", "Bearer "+env.iss.Token(t, sharedtest.Customer, -time.Hour))
	wantError(t, http.MethodGet, "/users/me (expired)", serve(env.h, r), http.StatusUnauthorized, shared.CodeUnauthorized)
}

func TestMePatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		body   string
		status int
		fields []string
		check  func(t *testing.T, p profileView)
	}{
		{name: "all fields", body: `{"name":"  Ann B  ","phone":"+1 (555) 010-2030","preferences":{"newsletter":true,"currency":"eur"}}`,
			status: http.StatusOK, check: func(t *testing.T, p profileView) {
				if p.Name != "Ann B" || p.Phone != "+15550102030" || !p.Preferences.Newsletter || p.Preferences.Currency != "EUR" {
					t.Errorf("PATCH /users/me = %+v, want normalized fields", p)
				}
			}},
		{name: "only newsletter keeps currency", body: `{"preferences":{"newsletter":true}}`, status: http.StatusOK,
			check: func(t *testing.T, p profileView) {
				if !p.Preferences.Newsletter || p.Preferences.Currency != "USD" || p.Name != "User u1" {
					t.Errorf("PATCH /users/me = %+v, want newsletter on, USD kept, name kept", p)
				}
			}},
		{name: "empty phone clears", body: `{"phone":""}`, status: http.StatusOK, check: func(t *testing.T, p profileView) {
			if p.Phone != "" {
				t.Errorf("phone = %q, want empty", p.Phone)
			}
		}},
		{name: "empty object is a no-op", body: `{}`, status: http.StatusOK},
		{name: "bad fields", body: `{"name":"  ","phone":"call me","preferences":{"currency":"XXX"}}`,
			status: http.StatusBadRequest, fields: []string{"name", "phone", "preferences.currency"}},
		{name: "short phone", body: `{"phone":"12345"}`, status: http.StatusBadRequest, fields: []string{"phone"}},
		{name: "control characters", body: `{"name":"a\u0000b"}`, status: http.StatusBadRequest, fields: []string{"name"}},
		{name: "too long name", body: `{"name":"` + strings.Repeat("é", maxNameLen+1) + `"}`, status: http.StatusBadRequest, fields: []string{"name"}},
		{name: "wrong type", body: `{"name":42}`, status: http.StatusBadRequest, fields: []string{"name"}},
		{name: "unknown field", body: `{"role":"admin"}`, status: http.StatusBadRequest},
		{name: "unknown nested field", body: `{"preferences":{"theme":"dark"}}`, status: http.StatusBadRequest},
		{name: "operator injection", body: `{"name":{"$ne":null}}`, status: http.StatusBadRequest, fields: []string{"name"}},
		{name: "malformed", body: `{"name":`, status: http.StatusBadRequest},
		{name: "empty body", body: ``, status: http.StatusBadRequest},
		{name: "trailing data", body: `{}{}`, status: http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := newTestEnv(t)
			rec := env.do(t, http.MethodPatch, "/users/me", ident("u1", shared.RoleCustomer), tt.body)
			if tt.status != http.StatusOK {
				wantError(t, http.MethodPatch, "/users/me", rec, tt.status, shared.CodeInvalid, tt.fields...)
				return
			}
			if rec.Code != tt.status {
				t.Fatalf("PATCH /users/me: status = %d, want %d (%s)", rec.Code, tt.status, rec.Body.String())
			}
			got := sharedtest.Decode[profileView](t, rec)
			if tt.check != nil {
				tt.check(t, got)
			}
			// The answer is what is stored.
			if stored := sharedtest.Decode[profileView](t, env.do(t, http.MethodGet, "/users/me", ident("u1", shared.RoleCustomer), "")); stored != got {
				t.Errorf("GET after PATCH = %+v, want %+v", stored, got)
			}
		})
	}
}

func TestMePatchNamePublishesUserUpdated(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	me := ident("u1", shared.RoleCustomer)
	if rec := env.do(t, http.MethodPatch, "/users/me", me, `{"phone":"+15550102030"}`); rec.Code != http.StatusOK {
		t.Fatalf("PATCH /users/me: status = %d", rec.Code)
	}
	if env.kicks.Load() != 0 {
		t.Errorf("a phone change kicked the relay; only name changes publish")
	}
	if rec := env.do(t, http.MethodPatch, "/users/me", me, `{"name":"New Name"}`); rec.Code != http.StatusOK {
		t.Fatalf("PATCH /users/me: status = %d", rec.Code)
	}
	if env.kicks.Load() != 1 {
		t.Errorf("kicks = %d, want 1", env.kicks.Load())
	}
	if err := env.relay.Flush(context.Background()); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	evs := env.pub.Events(shared.TopicUser)
	if len(evs) != 1 || evs[0].Type != eventUserUpdated || evs[0].AggregateID != "u1" {
		t.Fatalf("published %v, want one user.updated for u1", env.pub.Types(shared.TopicUser))
	}
	var d userUpdated
	if err := evs[0].Decode(&d); err != nil || d != (userUpdated{UserID: "u1", Name: "New Name"}) {
		t.Errorf("user.updated data = %+v (%v)", d, err)
	}
}

func TestMePatchSuspended(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	p := newProfile("u1", "u1@example.com", "U", shared.RoleCustomer, time.Now())
	p.Status = statusSuspended
	if err := env.profiles.Create(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	rec := env.do(t, http.MethodPatch, "/users/me", ident("u1", shared.RoleCustomer), `{"name":"x"}`)
	wantError(t, http.MethodPatch, "/users/me (suspended)", rec, http.StatusForbidden, shared.CodeForbidden)
}

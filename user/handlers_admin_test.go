package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/goshop/platform/shared"
	"github.com/goshop/platform/shared/sharedtest"
)

// seedProfiles stores the profiles directly, as if user.registered had created them.
func seedProfiles(t *testing.T, env *testEnv, ps ...Profile) {
	t.Helper()
	for _, p := range ps {
		if err := env.profiles.Create(context.Background(), p); err != nil {
			t.Fatal(err)
		}
	}
}

func TestUserList(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	suspended := newProfile("u3", "carol@shop.test", "Carol", shared.RoleCustomer, t0.Add(3*time.Second))
	suspended.Status = statusSuspended
	seedProfiles(t, env,
		newProfile("u1", "ann@example.com", "Ann", shared.RoleCustomer, t0.Add(1*time.Second)),
		newProfile("u2", "bob@example.com", "Bob", shared.RoleCustomer, t0.Add(2*time.Second)),
		suspended,
	)
	admin := sharedtest.Admin
	tests := []struct {
		query       string
		ids         []string
		total       int
		page, limit int
	}{
		{"", []string{"u1", "u2", "u3"}, 3, 1, 20},
		{"?limit=2", []string{"u1", "u2"}, 3, 1, 2},
		{"?limit=2&page=2", []string{"u3"}, 3, 2, 2},
		{"?page=9", []string{}, 3, 9, 20},
		{"?status=suspended", []string{"u3"}, 1, 1, 20},
		{"?status=active&q=EXAMPLE", []string{"u1", "u2"}, 2, 1, 20},
		{"?q=bo", []string{"u2"}, 1, 1, 20},
		{"?q=%7B%22%24ne%22%3Anull%7D", []string{}, 0, 1, 20}, // {"$ne":null} is only text
		{"?q=.%2A", []string{}, 0, 1, 20},                     // a pattern is only text too
		{"?limit=100", []string{"u1", "u2", "u3"}, 3, 1, 100},
	}
	for _, tt := range tests {
		path := "/users" + tt.query
		rec := env.do(t, http.MethodGet, path, &admin, "")
		if rec.Code != http.StatusOK {
			t.Errorf("GET %s: status = %d, want %d (%s)", path, rec.Code, http.StatusOK, rec.Body.String())
			continue
		}
		got := sharedtest.Decode[userList](t, rec)
		ids := []string{}
		for _, p := range got.Items {
			ids = append(ids, p.ID)
		}
		if !equalStrings(ids, tt.ids) || got.Total != tt.total || got.Page != tt.page || got.Limit != tt.limit {
			t.Errorf("GET %s = ids %v total %d page %d limit %d, want %v %d %d %d", path, ids, got.Total, got.Page, got.Limit, tt.ids, tt.total, tt.page, tt.limit)
		}
	}

	for _, tt := range []struct {
		query string
		field string
	}{
		{"?limit=101", "limit"}, {"?limit=0", "limit"}, {"?limit=x", "limit"},
		{"?page=0", "page"}, {"?page=-1", "page"}, {"?page=1e3", "page"},
		{"?status=deleted", "status"}, {"?q=%00", "q"},
	} {
		path := "/users" + tt.query
		wantError(t, http.MethodGet, path, env.do(t, http.MethodGet, path, &admin, ""), http.StatusBadRequest, shared.CodeInvalid, tt.field)
	}
	cust := sharedtest.Customer
	wantError(t, http.MethodGet, "/users", env.do(t, http.MethodGet, "/users", &cust, ""), http.StatusForbidden, shared.CodeForbidden)
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestUserListSortIndexed: the admin list, whole or by status, gets listSort from an index, so
// MongoDB reads one page rather than every account of the status sorted in memory per page.
func TestUserListSortIndexed(t *testing.T) {
	t.Parallel()
	for _, eq := range [][]string{nil, {"status"}} {
		if !sharedtest.SortIndexed(profileIndexes, eq, listSort, nil) {
			t.Errorf("GET /users with equality on %v: no index of profileIndexes gives the order %v", eq, listSort)
		}
	}
}

func TestUserGet(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	seedProfiles(t, env, newProfile("u1", "ann@example.com", "Ann", shared.RoleCustomer, time.Now()),
		newProfile("u2", "bob@example.com", "Bob", shared.RoleCustomer, time.Now()))
	admin, owner, other := ident("adm", shared.RoleAdmin), ident("u1", shared.RoleCustomer), ident("u2", shared.RoleCustomer)

	for _, as := range []*shared.Identity{admin, owner} {
		rec := env.do(t, http.MethodGet, "/users/u1", as, "")
		if rec.Code != http.StatusOK || sharedtest.Decode[profileView](t, rec).Email != "ann@example.com" {
			t.Errorf("GET /users/u1 as %s: status = %d (%s), want 200 with the profile", as.UserID, rec.Code, rec.Body.String())
		}
	}
	// Another customer gets the same 403 for an existing and a missing ID: nothing leaks.
	exists := env.do(t, http.MethodGet, "/users/u1", other, "")
	missing := env.do(t, http.MethodGet, "/users/nobody", other, "")
	wantError(t, http.MethodGet, "/users/u1 as u2", exists, http.StatusForbidden, shared.CodeForbidden)
	wantError(t, http.MethodGet, "/users/nobody as u2", missing, http.StatusForbidden, shared.CodeForbidden)
	if e1, e2 := sharedtest.Decode[sharedtest.ErrorBody](t, exists), sharedtest.Decode[sharedtest.ErrorBody](t, missing); e1.Error.Message != e2.Error.Message {
		t.Errorf("403 messages differ for existing and missing IDs: %q vs %q", e1.Error.Message, e2.Error.Message)
	}
	wantError(t, http.MethodGet, "/users/nobody", env.do(t, http.MethodGet, "/users/nobody", admin, ""), http.StatusNotFound, shared.CodeNotFound)
	wantError(t, http.MethodGet, "/users/a%2Fb", env.do(t, http.MethodGet, "/users/a%2Fb", admin, ""), http.StatusNotFound, shared.CodeNotFound)
}

func TestUserStatus(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	seedProfiles(t, env, newProfile("u1", "ann@example.com", "Ann", shared.RoleCustomer, time.Now()))
	admin := ident("adm", shared.RoleAdmin)
	ctx := context.Background()

	rec := env.do(t, http.MethodPatch, "/users/u1/status", admin, `{"status":"suspended"}`)
	if rec.Code != http.StatusOK || sharedtest.Decode[profileView](t, rec).Status != statusSuspended {
		t.Fatalf("PATCH /users/u1/status: status = %d (%s), want 200 suspended", rec.Code, rec.Body.String())
	}
	if env.kicks.Load() != 1 {
		t.Errorf("relay kicks = %d, want 1", env.kicks.Load())
	}
	if err := env.relay.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	evs := env.pub.Events(shared.TopicUser)
	if len(evs) != 1 || evs[0].Type != eventUserStatusChanged || evs[0].AggregateID != "u1" {
		t.Fatalf("published %v, want one user.status_changed", env.pub.Types(shared.TopicUser))
	}
	var d userStatusChanged
	if err := evs[0].Decode(&d); err != nil || d != (userStatusChanged{UserID: "u1", Status: statusSuspended}) {
		t.Errorf("event data = %+v (%v)", d, err)
	}

	// The same status again changes nothing and publishes nothing.
	rec = env.do(t, http.MethodPatch, "/users/u1/status", admin, `{"status":"suspended"}`)
	if rec.Code != http.StatusOK || env.kicks.Load() != 1 {
		t.Errorf("repeat PATCH: status = %d, kicks = %d; want 200 and no new event", rec.Code, env.kicks.Load())
	}
	// The suspended user still reads their profile, and sees the status.
	if got := sharedtest.Decode[profileView](t, env.do(t, http.MethodGet, "/users/me", ident("u1", shared.RoleCustomer), "")); got.Status != statusSuspended {
		t.Errorf("GET /users/me of suspended user: status %q", got.Status)
	}

	for _, tt := range []struct {
		name, path, body string
		as               *shared.Identity
		status           int
		code             string
		fields           []string
	}{
		{"customer", "/users/u1/status", `{"status":"active"}`, ident("u1", shared.RoleCustomer), 403, shared.CodeForbidden, nil},
		{"own status", "/users/adm/status", `{"status":"suspended"}`, admin, 403, shared.CodeForbidden, nil},
		{"bad status", "/users/u1/status", `{"status":"banned"}`, admin, 400, shared.CodeInvalid, []string{"status"}},
		{"missing status", "/users/u1/status", `{}`, admin, 400, shared.CodeInvalid, []string{"status"}},
		{"unknown field", "/users/u1/status", `{"status":"active","role":"admin"}`, admin, 400, shared.CodeInvalid, nil},
		{"malformed", "/users/u1/status", `status=active`, admin, 400, shared.CodeInvalid, nil},
		{"unknown user", "/users/nobody/status", `{"status":"active"}`, admin, 404, shared.CodeNotFound, nil},
		{"bad id", "/users/%24where/status", `{"status":"active"}`, admin, 404, shared.CodeNotFound, nil},
	} {
		wantError(t, http.MethodPatch, tt.path+" ("+tt.name+")", env.do(t, http.MethodPatch, tt.path, tt.as, tt.body), tt.status, tt.code, tt.fields...)
	}
	if p, _ := env.profiles.Get(ctx, "u1"); p.Status != statusSuspended || len(p.Outbox) != 0 {
		t.Errorf("after refused requests: status %q outbox %d, want suspended and empty", p.Status, len(p.Outbox))
	}
}

// TestUserStatusKafkaDown: the change is answered 200 and kept in the outbox while Kafka fails, and
// published when it returns; nothing is lost, nothing is claimed published early.
func TestUserStatusKafkaDown(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := context.Background()
	seedProfiles(t, env, newProfile("u1", "ann@example.com", "Ann", shared.RoleCustomer, time.Now()))
	admin := ident("adm", shared.RoleAdmin)
	env.pub.SetErr(errors.New("kafka: no broker reachable"))

	for _, s := range []string{statusSuspended, statusActive} {
		if rec := env.do(t, http.MethodPatch, "/users/u1/status", admin, `{"status":"`+s+`"}`); rec.Code != http.StatusOK {
			t.Fatalf("PATCH status %s with Kafka down: status = %d, want 200", s, rec.Code)
		}
	}
	if err := env.relay.Flush(ctx); err == nil {
		t.Fatal("Flush with Kafka down: err = nil")
	}
	if p, _ := env.profiles.Get(ctx, "u1"); len(p.Outbox) != 2 {
		t.Fatalf("outbox = %d events, want 2 kept while Kafka is down", len(p.Outbox))
	}
	env.pub.SetErr(nil)
	if err := env.relay.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	var statuses []string
	for _, e := range env.pub.Events(shared.TopicUser) {
		var d userStatusChanged
		e.Decode(&d)
		statuses = append(statuses, d.Status)
	}
	if !equalStrings(statuses, []string{statusSuspended, statusActive}) {
		t.Errorf("published statuses %v, want [suspended active] in order", statuses)
	}
	if p, _ := env.profiles.Get(ctx, "u1"); len(p.Outbox) != 0 {
		t.Errorf("outbox after Kafka returned = %d, want 0", len(p.Outbox))
	}
}

func TestHealthAndMetrics(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		if rec := env.do(t, http.MethodGet, path, nil, ""); rec.Code != http.StatusOK {
			t.Errorf("GET %s: status = %d, want %d", path, rec.Code, http.StatusOK)
		}
	}
	wantError(t, http.MethodGet, "/nope", env.do(t, http.MethodGet, "/nope", nil, ""), http.StatusNotFound, shared.CodeNotFound)
}

func TestUserPatch(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	suspended := newProfile("u2", "bob@example.com", "Bob", shared.RoleCustomer, time.Now())
	suspended.Status = statusSuspended
	seedProfiles(t, env, newProfile("u1", "ann@example.com", "Ann", shared.RoleCustomer, time.Now()), suspended)
	admin, owner, other := ident("adm", shared.RoleAdmin), ident("u1", shared.RoleCustomer), ident("u3", shared.RoleCustomer)

	rec := env.do(t, http.MethodPatch, "/users/u1", owner, `{"phone":"+15550102030"}`)
	if rec.Code != http.StatusOK || sharedtest.Decode[profileView](t, rec).Phone != "+15550102030" {
		t.Errorf("PATCH /users/u1 as owner: status = %d (%s)", rec.Code, rec.Body.String())
	}
	rec = env.do(t, http.MethodPatch, "/users/u2", admin, `{"name":"Robert"}`)
	if rec.Code != http.StatusOK || sharedtest.Decode[profileView](t, rec).Name != "Robert" {
		t.Errorf("PATCH /users/u2 (suspended) as admin: status = %d (%s), want 200", rec.Code, rec.Body.String())
	}
	if env.kicks.Load() != 1 {
		t.Errorf("name change by admin: kicks = %d, want 1 (user.updated)", env.kicks.Load())
	}
	for _, tt := range []struct {
		name, path, body string
		as               *shared.Identity
		status           int
		code             string
	}{
		{"other customer, existing", "/users/u1", `{"name":"x"}`, other, 403, shared.CodeForbidden},
		{"other customer, missing", "/users/nobody", `{"name":"x"}`, other, 403, shared.CodeForbidden},
		{"suspended owner", "/users/u2", `{"name":"x"}`, ident("u2", shared.RoleCustomer), 403, shared.CodeForbidden},
		{"admin, missing", "/users/nobody", `{"name":"x"}`, admin, 404, shared.CodeNotFound},
		{"admin, bad id", "/users/a%20b", `{"name":"x"}`, admin, 404, shared.CodeNotFound},
		{"bad phone", "/users/u1", `{"phone":"x"}`, owner, 400, shared.CodeInvalid},
		{"unknown field", "/users/u1", `{"status":"active"}`, owner, 400, shared.CodeInvalid},
	} {
		wantError(t, http.MethodPatch, tt.path+" ("+tt.name+")", env.do(t, http.MethodPatch, tt.path, tt.as, tt.body), tt.status, tt.code)
	}
	if p, _ := env.profiles.Get(context.Background(), "u1"); p.Name != "Ann" {
		t.Errorf("refused patches changed the profile: name %q", p.Name)
	}
}

// brokenStore fails every call with err, as a store does when Mongo is down.
type brokenStore struct{ err error }

func (s brokenStore) Get(context.Context, string) (Profile, error) { return Profile{}, s.err }
func (s brokenStore) Create(context.Context, Profile) error        { return s.err }
func (s brokenStore) Update(context.Context, string, func(*Profile) error) (Profile, error) {
	return Profile{}, s.err
}
func (s brokenStore) List(context.Context, listFilter) ([]Profile, int64, error) {
	return nil, 0, s.err
}
func (s brokenStore) Pending(context.Context, int) ([]Profile, error) { return nil, s.err }

// TestStoreFailures: with the store down every route answers 503 unavailable, and an unexpected store
// error becomes a 500 whose message says nothing about the cause.
func TestStoreFailures(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		err    error
		status int
		code   string
	}{
		{fmt.Errorf("profiles.get: %w: connection refused", shared.ErrUnavailable), http.StatusServiceUnavailable, shared.CodeUnavailable},
		{errors.New("mongo: secret internals"), http.StatusInternalServerError, shared.CodeInternal},
	} {
		iss := sharedtest.NewIssuer(t)
		h := NewServer(discardLogger(), shared.NewMetrics("user"), shared.NewReadiness(), brokenStore{tt.err}, func() {}, iss.Verifier(), testUnsubscribeKey)
		env := &testEnv{h: h, iss: iss}
		admin, me := ident("adm", shared.RoleAdmin), ident("u1", shared.RoleCustomer)
		for _, rt := range []struct {
			method, path, body string
			as                 *shared.Identity
		}{
			{http.MethodGet, "/users/me", "", me},
			{http.MethodPatch, "/users/me", `{"name":"x"}`, me},
			{http.MethodGet, "/users/me/addresses", "", me},
			{http.MethodPost, "/users/me/addresses", homeJSON, me},
			{http.MethodGet, "/users/me/addresses/a1", "", me},
			{http.MethodPut, "/users/me/addresses/a1", homeJSON, me},
			{http.MethodPatch, "/users/me/addresses/a1", `{"city":"x"}`, me},
			{http.MethodPut, "/users/me/addresses/a1/default", "", me},
			{http.MethodDelete, "/users/me/addresses/a1", "", me},
			{http.MethodGet, "/users", "", admin},
			{http.MethodGet, "/users/u1", "", admin},
			{http.MethodPatch, "/users/u1", `{"name":"x"}`, admin},
			{http.MethodPatch, "/users/u1/status", `{"status":"suspended"}`, admin},
		} {
			rec := env.do(t, rt.method, rt.path, rt.as, rt.body)
			wantError(t, rt.method, rt.path, rec, tt.status, tt.code)
			if strings.Contains(rec.Body.String(), "secret") || strings.Contains(rec.Body.String(), "refused") {
				t.Errorf("%s %s: error body leaks the cause: %s", rt.method, rt.path, rec.Body.String())
			}
		}
	}
}

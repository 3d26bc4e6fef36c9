package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/goshop/platform/shared"
	"github.com/goshop/platform/shared/sharedtest"
)

const homeJSON = `{"name":"Home","street":"1 Main St","city":"Springfield","state":"IL","zip_code":"62701","country":"us"}`

func addressJSON(name string, def bool) string {
	return fmt.Sprintf(`{"name":%q,"street":"1 Main St","city":"Springfield","zip_code":"62701","country":"US","is_default":%v}`, name, def)
}

// addAddressVia adds an address through the API and returns it.
func addAddressVia(t *testing.T, env *testEnv, as *shared.Identity, body string) Address {
	t.Helper()
	rec := env.do(t, http.MethodPost, "/users/me/addresses", as, body)
	if rec.Code != http.StatusCreated {
		t.Fatalf("POST /users/me/addresses: status = %d, want %d (%s)", rec.Code, http.StatusCreated, rec.Body.String())
	}
	return sharedtest.Decode[Address](t, rec)
}

func listAddresses(t *testing.T, env *testEnv, as *shared.Identity) addressList {
	t.Helper()
	rec := env.do(t, http.MethodGet, "/users/me/addresses", as, "")
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /users/me/addresses: status = %d, want %d", rec.Code, http.StatusOK)
	}
	return sharedtest.Decode[addressList](t, rec)
}

func defaultIDs(l addressList) []string {
	var out []string
	for _, a := range l.Items {
		if a.IsDefault {
			out = append(out, a.ID)
		}
	}
	return out
}

func TestAddressLifecycle(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	me := ident("u1", shared.RoleCustomer)

	if l := listAddresses(t, env, me); len(l.Items) != 0 || l.Total != 0 || l.Items == nil {
		t.Errorf("list before any address = %+v, want empty items array", l)
	}

	rec := env.do(t, http.MethodPost, "/users/me/addresses", me, homeJSON)
	if rec.Code != http.StatusCreated {
		t.Fatalf("POST /users/me/addresses: status = %d, want %d (%s)", rec.Code, http.StatusCreated, rec.Body.String())
	}
	home := sharedtest.Decode[Address](t, rec)
	want := Address{ID: home.ID, Name: "Home", Street: "1 Main St", City: "Springfield", State: "IL", ZipCode: "62701", Country: "US", IsDefault: true}
	if home != want || !validID(home.ID) {
		t.Errorf("created %+v, want %+v (first address is the default)", home, want)
	}
	if loc := rec.Header().Get("Location"); loc != "/users/me/addresses/"+home.ID {
		t.Errorf("Location = %q", loc)
	}
	// The raw JSON has exactly the documented keys.
	for _, k := range []string{`"id"`, `"name"`, `"street"`, `"city"`, `"state"`, `"zip_code"`, `"country"`, `"is_default"`} {
		if !strings.Contains(rec.Body.String(), k) {
			t.Errorf("address JSON %s lacks %s", rec.Body.String(), k)
		}
	}

	work := addAddressVia(t, env, me, addressJSON("Work", false))
	if work.IsDefault {
		t.Errorf("second address without is_default became the default")
	}

	path := "/users/me/addresses/" + work.ID
	if got := sharedtest.Decode[Address](t, env.do(t, http.MethodGet, path, me, "")); got != work {
		t.Errorf("GET %s = %+v, want %+v", path, got, work)
	}

	// PATCH changes only what is sent, and can move the default.
	rec = env.do(t, http.MethodPatch, path, me, `{"city":"  Chicago ","is_default":true}`)
	if rec.Code != http.StatusOK {
		t.Fatalf("PATCH %s: status = %d (%s)", path, rec.Code, rec.Body.String())
	}
	if got := sharedtest.Decode[Address](t, rec); got.City != "Chicago" || got.Name != "Work" || !got.IsDefault {
		t.Errorf("PATCH %s = %+v, want city Chicago, name kept, default", path, got)
	}
	if d := defaultIDs(listAddresses(t, env, me)); len(d) != 1 || d[0] != work.ID {
		t.Errorf("defaults after PATCH = %v, want only %s", d, work.ID)
	}

	// PUT replaces every field; without is_default the flag stays.
	rec = env.do(t, http.MethodPut, path, me, `{"name":"Office","street":"2 Side St","city":"Peoria","zip_code":"61602","country":"US"}`)
	if rec.Code != http.StatusOK {
		t.Fatalf("PUT %s: status = %d (%s)", path, rec.Code, rec.Body.String())
	}
	if got := sharedtest.Decode[Address](t, rec); got != (Address{ID: work.ID, Name: "Office", Street: "2 Side St", City: "Peoria", ZipCode: "61602", Country: "US", IsDefault: true}) {
		t.Errorf("PUT %s = %+v", path, got)
	}

	// The default route moves the default back, atomically clearing the other.
	rec = env.do(t, http.MethodPut, "/users/me/addresses/"+home.ID+"/default", me, "")
	if rec.Code != http.StatusOK || !sharedtest.Decode[Address](t, rec).IsDefault {
		t.Fatalf("PUT default: status = %d (%s)", rec.Code, rec.Body.String())
	}
	if d := defaultIDs(listAddresses(t, env, me)); len(d) != 1 || d[0] != home.ID {
		t.Errorf("defaults after PUT default = %v, want only %s", d, home.ID)
	}

	// is_default false clears the flag: no default at all is allowed.
	env.do(t, http.MethodPatch, "/users/me/addresses/"+home.ID, me, `{"is_default":false}`)
	if d := defaultIDs(listAddresses(t, env, me)); len(d) != 0 {
		t.Errorf("defaults after clearing = %v, want none", d)
	}

	if rec := env.do(t, http.MethodDelete, path, me, ""); rec.Code != http.StatusNoContent {
		t.Errorf("DELETE %s: status = %d, want %d", path, rec.Code, http.StatusNoContent)
	}
	wantError(t, http.MethodDelete, path, env.do(t, http.MethodDelete, path, me, ""), http.StatusNotFound, shared.CodeNotFound)
	wantError(t, http.MethodGet, path, env.do(t, http.MethodGet, path, me, ""), http.StatusNotFound, shared.CodeNotFound)
	if l := listAddresses(t, env, me); l.Total != 1 || l.Items[0].ID != home.ID {
		t.Errorf("list after delete = %+v, want only home", l)
	}
}

func TestAddressErrors(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	me, other := ident("u1", shared.RoleCustomer), ident("u2", shared.RoleCustomer)
	mine := addAddressVia(t, env, me, homeJSON)
	theirs := addAddressVia(t, env, other, homeJSON)
	tests := []struct {
		name, method, path, body string
		as                       *shared.Identity
		status                   int
		code                     string
		fields                   []string
	}{
		{"add missing fields", http.MethodPost, "/users/me/addresses", `{}`, me, 400, shared.CodeInvalid, []string{"name", "street", "city", "zip_code", "country"}},
		{"add bad country and zip", http.MethodPost, "/users/me/addresses", `{"name":"a","street":"b","city":"c","zip_code":"<script>","country":"USA"}`, me, 400, shared.CodeInvalid, []string{"zip_code", "country"}},
		{"add too long street", http.MethodPost, "/users/me/addresses", `{"name":"a","street":"` + strings.Repeat("s", maxStreetLen+1) + `","city":"c","zip_code":"1","country":"US"}`, me, 400, shared.CodeInvalid, []string{"street"}},
		{"add unknown field", http.MethodPost, "/users/me/addresses", `{"name":"a","id":"mine"}`, me, 400, shared.CodeInvalid, nil},
		{"get another user's address", http.MethodGet, "/users/me/addresses/" + theirs.ID, "", me, 404, shared.CodeNotFound, nil},
		{"get unknown", http.MethodGet, "/users/me/addresses/nope", "", me, 404, shared.CodeNotFound, nil},
		{"get bad id", http.MethodGet, "/users/me/addresses/" + strings.Repeat("x", 200), "", me, 404, shared.CodeNotFound, nil},
		{"get without profile", http.MethodGet, "/users/me/addresses/" + mine.ID, "", ident("u9", shared.RoleCustomer), 404, shared.CodeNotFound, nil},
		{"put another user's address", http.MethodPut, "/users/me/addresses/" + theirs.ID, homeJSON, me, 404, shared.CodeNotFound, nil},
		{"put missing fields", http.MethodPut, "/users/me/addresses/" + mine.ID, `{"name":"x"}`, me, 400, shared.CodeInvalid, []string{"street", "city", "zip_code", "country"}},
		{"put bad id", http.MethodPut, "/users/me/addresses/a%20b", homeJSON, me, 404, shared.CodeNotFound, nil},
		{"put without profile", http.MethodPut, "/users/me/addresses/" + mine.ID, homeJSON, ident("u9", shared.RoleCustomer), 404, shared.CodeNotFound, nil},
		{"patch bad field", http.MethodPatch, "/users/me/addresses/" + mine.ID, `{"country":"1"}`, me, 400, shared.CodeInvalid, []string{"country"}},
		{"patch empty required", http.MethodPatch, "/users/me/addresses/" + mine.ID, `{"name":" "}`, me, 400, shared.CodeInvalid, []string{"name"}},
		{"patch malformed", http.MethodPatch, "/users/me/addresses/" + mine.ID, `{"name":`, me, 400, shared.CodeInvalid, nil},
		{"patch another user's address", http.MethodPatch, "/users/me/addresses/" + theirs.ID, `{"city":"x"}`, me, 404, shared.CodeNotFound, nil},
		{"default another user's address", http.MethodPut, "/users/me/addresses/" + theirs.ID + "/default", "", me, 404, shared.CodeNotFound, nil},
		{"default bad id", http.MethodPut, "/users/me/addresses/%24ne/default", "", me, 404, shared.CodeNotFound, nil},
		{"delete another user's address", http.MethodDelete, "/users/me/addresses/" + theirs.ID, "", me, 404, shared.CodeNotFound, nil},
		{"delete bad id", http.MethodDelete, "/users/me/addresses/%7B%7D", "", me, 404, shared.CodeNotFound, nil},
		{"delete without profile", http.MethodDelete, "/users/me/addresses/x", "", ident("u9", shared.RoleCustomer), 404, shared.CodeNotFound, nil},
		{"method not allowed", http.MethodPost, "/users/me/addresses/" + mine.ID, "", me, 405, "method_not_allowed", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := env.do(t, tt.method, tt.path, tt.as, tt.body)
			wantError(t, tt.method, tt.path, rec, tt.status, tt.code, tt.fields...)
		})
	}
	r := newRequest(http.MethodPost, "/users/me/addresses", env.iss.Bearer(t, *me))
	r.Body = io.NopCloser(strings.NewReader(homeJSON))
	r.Header.Set("Content-Type", "text/plain")
	wantError(t, http.MethodPost, "/users/me/addresses (text/plain)", serve(env.h, r), http.StatusUnsupportedMediaType, shared.CodeUnsupportedMediaType)

	// Nothing above changed the other user's address.
	if got := sharedtest.Decode[Address](t, env.do(t, http.MethodGet, "/users/me/addresses/"+theirs.ID, other, "")); got != theirs {
		t.Errorf("other user's address = %+v, want unchanged %+v", got, theirs)
	}
}

func TestAddressLimit(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	me := ident("u1", shared.RoleCustomer)
	for i := range maxAddresses {
		addAddressVia(t, env, me, addressJSON(fmt.Sprintf("A%d", i), false))
	}
	rec := env.do(t, http.MethodPost, "/users/me/addresses", me, homeJSON)
	wantError(t, http.MethodPost, "/users/me/addresses (over limit)", rec, http.StatusConflict, shared.CodeConflict)
	if l := listAddresses(t, env, me); l.Total != maxAddresses {
		t.Errorf("addresses = %d, want %d", l.Total, maxAddresses)
	}
}

// TestAddressConcurrentDefaults races adds and default changes; the one-default invariant and the
// limit must hold whatever the interleaving.
func TestAddressConcurrentDefaults(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	me := ident("u1", shared.RoleCustomer)
	first := addAddressVia(t, env, me, homeJSON)
	var wg sync.WaitGroup
	for i := range maxAddresses + 5 {
		wg.Go(func() {
			env.do(t, http.MethodPost, "/users/me/addresses", me, addressJSON(fmt.Sprintf("A%d", i), i%2 == 0))
		})
		wg.Go(func() { env.do(t, http.MethodPut, "/users/me/addresses/"+first.ID+"/default", me, "") })
	}
	wg.Wait()
	l := listAddresses(t, env, me)
	if l.Total != maxAddresses || len(defaultIDs(l)) != 1 {
		t.Errorf("after racing: %d addresses, defaults %v; want %d and exactly one", l.Total, defaultIDs(l), maxAddresses)
	}
}

func TestAddressSuspended(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	me := ident("u1", shared.RoleCustomer)
	a := addAddressVia(t, env, me, homeJSON)
	if _, err := env.profiles.Update(context.Background(), "u1", func(p *Profile) error { p.Status = statusSuspended; return nil }); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ method, path, body string }{
		{http.MethodPost, "/users/me/addresses", homeJSON},
		{http.MethodPatch, "/users/me/addresses/" + a.ID, `{"city":"x"}`},
		{http.MethodPut, "/users/me/addresses/" + a.ID, homeJSON},
		{http.MethodPut, "/users/me/addresses/" + a.ID + "/default", ""},
		{http.MethodDelete, "/users/me/addresses/" + a.ID, ""},
	} {
		wantError(t, tt.method, tt.path, env.do(t, tt.method, tt.path, me, tt.body), http.StatusForbidden, shared.CodeForbidden)
	}
	// Reading still works (order may look an address up for an order placed before the suspension).
	if rec := env.do(t, http.MethodGet, "/users/me/addresses/"+a.ID, me, ""); rec.Code != http.StatusOK {
		t.Errorf("GET address of suspended user: status = %d, want 200", rec.Code)
	}
}

package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/goshop/platform/shared"
	"github.com/goshop/platform/shared/sharedtest"
)

var phoneShape = regexp.MustCompile(`^\+?[0-9]{7,15}$`)

func FuzzNormalizePhone(f *testing.F) {
	for _, s := range []string{"", "+1 (555) 010-2030", "555.010.2030", "++1555", "+", "1234567", "1234567890123456", "٣٣٣٣٣٣٣", "+1\x00555"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, msg := normalizePhone(s)
		if msg != "" {
			if out != "" {
				t.Errorf("normalizePhone(%q) = %q with problem %q, want empty", s, out, msg)
			}
			return
		}
		if out == "" {
			return // cleared
		}
		if !phoneShape.MatchString(out) {
			t.Errorf("normalizePhone(%q) = %q, not E.164-like", s, out)
		}
		if again, msg := normalizePhone(out); again != out || msg != "" {
			t.Errorf("normalizePhone not idempotent: %q → %q → %q (%s)", s, out, again, msg)
		}
	})
}

func FuzzAddressField(f *testing.F) {
	for _, s := range []string{"", " Home ", "US", "us", "U$", "62701", "SW1A 1AA", "a\x00b", "\xff", strings.Repeat("x", 300), "東京"} {
		f.Add(s)
	}
	fields := []string{"name", "street", "city", "state", "zip_code", "country"}
	f.Fuzz(func(t *testing.T, s string) {
		for _, field := range fields {
			out, msg := checkAddressField(field, s)
			if msg != "" {
				continue
			}
			if !utf8.ValidString(out) || strings.TrimSpace(out) != out || strings.ContainsFunc(out, unicode.IsControl) {
				t.Errorf("%s: checkAddressField(%q) = %q: not clean", field, s, out)
			}
			if again, msg := checkAddressField(field, out); again != out || msg != "" {
				t.Errorf("%s: not idempotent: %q → %q → %q (%s)", field, s, out, again, msg)
			}
		}
	})
}

func FuzzParseListQuery(f *testing.F) {
	for _, s := range []string{"", "page=2&limit=100", "limit=101", "page=0", "status=suspended&q=ann", "q=%00", "q=%ff", "page=99999999999999999999", "status=&status=active"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		lf, problems := parseListQuery(q)
		if len(problems) > 0 {
			return
		}
		if lf.Page < 1 || lf.Limit < 1 || lf.Limit > maxLimit || (lf.Status != "" && lf.Status != statusActive && lf.Status != statusSuspended) ||
			!utf8.ValidString(lf.Q) || utf8.RuneCountInString(lf.Q) > maxQueryLen {
			t.Errorf("parseListQuery(%q) = %+v accepted out-of-range values", raw, lf)
		}
		// A valid filter never fails the store.
		if _, _, err := newMemProfileStore().List(context.Background(), lf); err != nil {
			t.Errorf("List(%+v): %v", lf, err)
		}
	})
}

// FuzzAddressBody sends arbitrary bodies to POST /users/me/addresses: the answer is 201 or a 4xx in the
// error shape, never a 500.
func FuzzAddressBody(f *testing.F) {
	for _, s := range []string{homeJSON, `{}`, `{"name":{"$ne":null}}`, `[]`, `null`, `{"is_default":"yes"}`, `{"name":"a","street":"b","city":"c","zip_code":"1","country":"us","is_default":true}`} {
		f.Add(s)
	}
	// The handler itself, with the caller in the context: token checks are not what is fuzzed here, and
	// signing one per input would dominate the run.
	profiles := newMemProfileStore()
	h := handleAddressCreate(discardLogger(), profiles)
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest(http.MethodPost, "/users/me/addresses", strings.NewReader(body))
		r = r.WithContext(shared.WithIdentity(r.Context(), *ident("fuzz", shared.RoleCustomer)))
		rec := serve(h, r)
		switch {
		case rec.Code == http.StatusCreated:
			a := sharedtest.Decode[Address](t, rec)
			in := addressFields{Name: a.Name, Street: a.Street, City: a.City, State: a.State, ZipCode: a.ZipCode, Country: a.Country}
			if p := in.Valid(context.Background()); len(p) > 0 {
				t.Errorf("stored an invalid address %+v: %v", a, p)
			}
			profiles.Update(context.Background(), "fuzz", func(p *Profile) error { return deleteAddress(p, a.ID) })
		case rec.Code >= 500 || rec.Code < 400:
			t.Errorf("POST %q: status = %d", body, rec.Code)
		}
	})
}

// FuzzUserEvent feeds arbitrary event data to the consumer: it either creates a valid profile, ignores
// the event, or reports it as poison or a retryable error; it never panics.
func FuzzUserEvent(f *testing.F) {
	for _, s := range []string{`{"user_id":"u1","email":"a@b.c","name":"A","role":"admin"}`, `{}`, `null`, `{"user_id":"../x"}`, `{"user_id":"u","role":"root"}`, `"x"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data string) {
		profiles := newMemProfileStore()
		err := handleUserEvent(discardLogger(), profiles)(context.Background(), shared.Event{ID: "e", Type: eventUserRegistered, Data: []byte(data)})
		ps, _, _ := profiles.List(context.Background(), listFilter{Page: 1, Limit: 10})
		if err != nil {
			if len(ps) != 0 {
				t.Errorf("failed event %q created %d profiles", data, len(ps))
			}
			return
		}
		if len(ps) != 1 || !validID(ps[0].ID) || (ps[0].Role != shared.RoleAdmin && ps[0].Role != shared.RoleCustomer) || ps[0].Status != statusActive {
			t.Errorf("event %q created %+v", data, ps)
		}
	})
}

// FuzzProfilePatch sends arbitrary bodies to PATCH /users/me: a 200 or a 4xx in the error shape, and
// what is stored holds no replacement characters the input did not.
func FuzzProfilePatch(f *testing.F) {
	for _, s := range []string{`{"name":"Ann"}`, `{"phone":"+1 555 0100"}`, `{"preferences":{"newsletter":true,"currency":"EUR"}}`,
		`{"name":"a\udcff"}`, "{\"name\":\"\xff\xfe\"}", `{"name":{"$ne":null}}`, `{"role":"admin"}`, `[]`, ``} {
		f.Add(s)
	}
	env := newTestEnv(f)
	caller := ident("fuzz", shared.RoleCustomer)
	f.Fuzz(func(t *testing.T, body string) {
		sharedtest.ServeFuzz(t, env.h, http.MethodPatch, "/users/me", body, caller)
	})
}

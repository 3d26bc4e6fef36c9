package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/goshop/platform/shared"
	"github.com/goshop/platform/shared/sharedtest"
)

func TestAuthSessions(t *testing.T) {
	t.Parallel()
	iss := sharedtest.NewIssuer(t)
	good := iss.Token(t, alice, time.Minute)
	auth := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/session" {
			http.NotFound(w, r)
			return
		}
		switch r.Header.Get("X-Session-ID") {
		case "good":
			fmt.Fprintf(w, `{"user":{"id":%q,"role":"customer"},"access_token":%q,"token_type":"Bearer","expires_in":900}`, alice.UserID, good)
		case "forged":
			fmt.Fprint(w, `{"user":{"id":"u-x","role":"admin"},"access_token":"not-a-jwt"}`)
		case "broken":
			w.WriteHeader(http.StatusInternalServerError)
		default:
			w.WriteHeader(http.StatusUnauthorized)
		}
	}))
	defer auth.Close()
	s := newAuthSessions(auth.URL+"/", iss.Verifier())
	for _, tc := range []struct {
		sid         string
		wantUser    string
		unavailable bool
	}{
		{"good", alice.UserID, false},
		{"unknown", "", false},
		{"forged", "", true},
		{"broken", "", true},
	} {
		id, err := s.resolve(context.Background(), tc.sid)
		if id.UserID != tc.wantUser || errors.Is(err, shared.ErrUnavailable) != tc.unavailable {
			t.Errorf("resolve(%s) = %q, %v; want %q, unavailable %v", tc.sid, id.UserID, err, tc.wantUser, tc.unavailable)
		}
	}
	down := newAuthSessions("http://127.0.0.1:1", iss.Verifier())
	if _, err := down.resolve(context.Background(), "good"); !errors.Is(err, shared.ErrUnavailable) {
		t.Errorf("auth down: err = %v, want ErrUnavailable", err)
	}
}

func TestOriginPolicy(t *testing.T) {
	t.Parallel()
	p := newOriginPolicy([]string{"localhost:3000", "https://shop.example", "plain.example:80"})
	opts := p.acceptOptions()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, err := websocket.Accept(w, r, opts); err == nil {
			c.CloseNow()
		}
	}))
	defer srv.Close()
	for _, tc := range []struct {
		origin, host string
		want         bool
	}{
		{"", "x", true},
		{"http://localhost:3000", "127.0.0.1:3009", true},
		{"http://LOCALHOST:3000", "127.0.0.1:3009", true},
		{"https://shop.example", "127.0.0.1:3009", true},
		{"http://plain.example", "127.0.0.1:3009", true},
		{"http://127.0.0.1:3009", "127.0.0.1:3009", true}, // same host
		{"http://localhost:3001", "127.0.0.1:3009", false},
		{"https://evil.example", "127.0.0.1:3009", false},
		{"null", "127.0.0.1:3009", false},
		{"file://", "127.0.0.1:3009", false},
	} {
		r := httptest.NewRequest(http.MethodGet, "http://"+tc.host+"/ws", nil)
		if tc.origin != "" {
			r.Header.Set("Origin", tc.origin)
		}
		if got := p.allowed(r); got != tc.want {
			t.Errorf("Origin %q on host %s: allowed = %v, want %v", tc.origin, tc.host, got, tc.want)
		}
		// coder/websocket's Accept checks the Origin again with p's patterns: it must agree, or a
		// browser allowed here would get Accept's own plain-text 403.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		c, resp, err := websocket.Dial(ctx, srv.URL, &websocket.DialOptions{Host: tc.host, HTTPHeader: http.Header{"Origin": {tc.origin}}})
		cancel()
		if err == nil {
			c.CloseNow()
		}
		if got := err == nil; got != tc.want {
			status := 0
			if resp != nil {
				status = resp.StatusCode
			}
			t.Errorf("Origin %q on host %s: Accept upgraded = %v (status %d), want %v", tc.origin, tc.host, got, status, tc.want)
		}
	}
}

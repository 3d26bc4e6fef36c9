package main

import (
	"encoding/json"
	"net/http"
	"strings"
)

// Tokens the fake auth accepts in its mailed-link routes; any other is invalid_token.
const (
	fakeResetToken  = "reset-token-0123456789abcdefghijklmnopqrstu"
	fakeVerifyToken = "verify-token-0123456789abcdefghijklmnopqrst"
)

// accountRoutes adds auth's recovery and e-mail routes to the fake gateway: password forgot/reset/
// change and e-mail verify/resend/change, with auth's answers (docs/auth.md). An address starting
// with "busy" is throttled.
func (g *fakeGateway) accountRoutes(mux *http.ServeMux, body []byte, user apiUser, requireUser func(http.HandlerFunc) http.HandlerFunc) {
	var in map[string]string
	decode := func(w http.ResponseWriter) bool {
		if err := json.Unmarshal(body, &in); err != nil {
			g.writeErr(w, 400, "invalid", "malformed JSON", nil)
			return false
		}
		return true
	}
	invalidToken := func(w http.ResponseWriter) {
		g.writeErr(w, 400, "invalid_token", "the link is invalid or has expired; ask for a new one", nil)
	}
	mux.HandleFunc("POST /auth/password/forgot", func(w http.ResponseWriter, r *http.Request) {
		if !decode(w) {
			return
		}
		if strings.HasPrefix(in["email"], "busy") {
			w.Header().Set("Retry-After", "60")
			g.writeErr(w, 429, "too_many_requests", "too many failed attempts, retry in 60 s", nil)
			return
		}
		writeJSON(w, 202, map[string]string{"status": "accepted"})
	})
	mux.HandleFunc("POST /auth/password/reset", func(w http.ResponseWriter, r *http.Request) {
		if !decode(w) {
			return
		}
		if in["token"] != fakeResetToken {
			invalidToken(w)
			return
		}
		if len(in["password"]) < 10 {
			g.writeErr(w, 400, "invalid", "invalid request", map[string]string{"password": "must have at least 10 characters"})
			return
		}
		g.mu.Lock()
		g.passwords[fakeCustomer.Email] = in["password"]
		g.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /auth/email/verify", func(w http.ResponseWriter, r *http.Request) {
		if !decode(w) {
			return
		}
		if in["token"] != fakeVerifyToken {
			invalidToken(w)
			return
		}
		u := fakeCustomer
		u.EmailVerified = true
		// Like auth's account: every token of the user says so from now on.
		g.mu.Lock()
		for _, m := range []map[string]fakeGrant{g.tokens, g.refresh} {
			for k, grant := range m {
				if grant.user.ID == u.ID {
					grant.user.EmailVerified = true
					m[k] = grant
				}
			}
		}
		g.mu.Unlock()
		writeJSON(w, 200, map[string]apiUser{"user": u})
	})
	mux.HandleFunc("POST /auth/email/resend", requireUser(func(w http.ResponseWriter, r *http.Request) {
		if user.EmailVerified {
			g.writeErr(w, 409, "conflict", "your e-mail address is already verified", nil)
			return
		}
		g.mu.Lock()
		g.resends++
		n := g.resends
		g.mu.Unlock()
		if n > 1 { // as auth's throttleMail, sooner
			w.Header().Set("Retry-After", "120")
			g.writeErr(w, 429, "too_many_requests", "too many mails, retry later", nil)
			return
		}
		writeJSON(w, 202, map[string]string{"status": "sent"})
	}))
	mux.HandleFunc("POST /auth/password/change", requireUser(func(w http.ResponseWriter, r *http.Request) {
		if !decode(w) {
			return
		}
		g.mu.Lock()
		defer g.mu.Unlock()
		if g.passwords[user.Email] != in["current_password"] {
			g.writeErr(w, 400, "invalid", "invalid request", map[string]string{"current_password": "is not your current password"})
			return
		}
		g.passwords[user.Email] = in["password"]
		w.WriteHeader(http.StatusNoContent)
	}))
	mux.HandleFunc("POST /auth/email/change", requireUser(func(w http.ResponseWriter, r *http.Request) {
		if !decode(w) {
			return
		}
		g.mu.Lock()
		defer g.mu.Unlock()
		if g.passwords[user.Email] != in["password"] {
			g.writeErr(w, 400, "invalid", "invalid request", map[string]string{"password": "is not your current password"})
			return
		}
		writeJSON(w, 202, map[string]string{"status": "sent"})
	}))
}

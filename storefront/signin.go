package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/goshop/platform/shared"
)

// authState is a signed-in session: the tokens auth issued and who they belong to. It is the session
// value "auth" in the sessionStore and never leaves the server: the browser holds only the session ID.
type authState struct {
	AccessToken  string    `json:"access_token"`
	Expiry       time.Time `json:"expiry"`
	RefreshToken string    `json:"refresh_token"`
	// ClientID is the OAuth client the tokens were issued to ("" for the login API's), sent back
	// with refresh and revoke.
	ClientID string  `json:"client_id,omitempty"`
	User     apiUser `json:"user"`
	// AuthSession is the auth session the sign-in started (POST /auth/login), kept server-side only:
	// the tokens' refresh family hangs off it, and sign-out ends it with its cookie, which works
	// even after the access token has expired.
	AuthSession string `json:"auth_session,omitempty"`
}

// clientForm is an OAuth form with the state's client_id, when it has one.
func (a *authState) clientForm(kv ...string) url.Values {
	f := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		f.Set(kv[i], kv[i+1])
	}
	if a.ClientID != "" {
		f.Set("client_id", a.ClientID)
	}
	return f
}

// valueAuth names the session value holding the authState.
const valueAuth = "auth"

// refreshBefore is how long before its expiry an access token is replaced, so a page never calls
// the API with a token that expires on the way.
const refreshBefore = time.Minute

// refreshWait bounds how long a request waits for another instance's refresh of the same session.
const refreshWait = 3 * time.Second

// tokenAnswer is auth's /token (and /login) answer.
type tokenAnswer struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
	IDToken      string `json:"id_token"`
}

// needsRefresh reports whether a's access token is too close to its expiry to use.
func needsRefresh(a *authState, now time.Time) bool { return !now.Before(a.Expiry.Add(-refreshBefore)) }

// user returns the signed-in user, reading the session at most once per request and refreshing the
// access token when it is about to expire. It returns nil, nil when signed out (or the refresh token
// was refused: the session ended at auth), and nil, err when the session store or auth is unreachable.
func (s *site) user(r *http.Request) (*apiUser, error) {
	v := visitorFrom(r.Context())
	if v.sid == "" {
		return nil, nil
	}
	v.once.Do(func() { v.auth, v.err = s.loadAuth(r.Context(), v.sid) })
	if v.auth == nil {
		return nil, v.err
	}
	u := v.auth.User
	return &u, nil
}

// accessToken is the signed-in visitor's access token for API calls, "" when signed out.
func (s *site) accessToken(r *http.Request) string {
	if u, _ := s.user(r); u == nil {
		return ""
	}
	return visitorFrom(r.Context()).auth.AccessToken
}

func decodeAuth(v string) *authState {
	if v == "" {
		return nil
	}
	var a authState
	if json.Unmarshal([]byte(v), &a) != nil || a.AccessToken == "" || a.User.ID == "" {
		return nil
	}
	return &a
}

func (s *site) saveAuth(ctx context.Context, sid string, a *authState) error {
	b, _ := json.Marshal(a)
	return s.store.SetValue(ctx, sid, valueAuth, string(b))
}

// storedAuth reads the session's sign-in state as stored (nil when signed out), without refreshing.
func (s *site) storedAuth(ctx context.Context, sid string) (*authState, error) {
	vals, err := s.store.Values(ctx, sid)
	if err != nil {
		return nil, err
	}
	return decodeAuth(vals[valueAuth]), nil
}

// loadAuth reads the session's sign-in state, refreshing its tokens when due.
func (s *site) loadAuth(ctx context.Context, sid string) (*authState, error) {
	rctx, cancel := context.WithTimeout(ctx, storeReadTimeout)
	a, err := s.storedAuth(rctx, sid)
	cancel()
	if err != nil {
		return nil, err
	}
	if a == nil || !needsRefresh(a, time.Now()) {
		return a, nil
	}
	// One refresh per session at a time in this process (two tabs, parallel asset-less requests);
	// the store lock in refresh covers other instances. A refresh token works once: a second
	// concurrent use would make auth revoke the whole family.
	res, err, _ := s.refreshes.Do(sid, func() (any, error) {
		return s.refresh(context.WithoutCancel(ctx), sid, a)
	})
	if err != nil {
		return nil, err
	}
	a, _ = res.(*authState)
	return a, nil
}

// refresh replaces a's tokens through POST /auth/token (grant refresh_token) and stores them. A refused
// refresh token (revoked, expired, account suspended) signs the session out: nil, nil. While auth is
// unreachable, a token that has not expired yet is still used.
func (s *site) refresh(ctx context.Context, sid string, a *authState) (*authState, error) {
	ctx, cancel := context.WithTimeout(ctx, gatewayTimeout+refreshWait)
	defer cancel()
	locked, err := s.store.Lock(ctx, sid, "refresh", gatewayTimeout+time.Second)
	if err != nil {
		return nil, err
	}
	if !locked {
		// Another instance is refreshing this session: wait for its result.
		deadline := time.Now().Add(refreshWait)
		for time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
			b, err := s.storedAuth(ctx, sid)
			if err != nil {
				return nil, err
			}
			if b == nil || !needsRefresh(b, time.Now()) {
				return b, nil
			}
		}
		return stillValid(a)
	}
	defer s.store.Unlock(context.WithoutCancel(ctx), sid, "refresh")
	// Someone may have finished a refresh between our read and the lock.
	cur, err := s.storedAuth(ctx, sid)
	if err != nil {
		return nil, err
	}
	if cur == nil || !needsRefresh(cur, time.Now()) {
		return cur, nil
	}
	// Refresh with what is stored now, never with what this request read before the lock: if a
	// refresh finished in between, a's refresh token is spent, and presenting it again would make
	// auth revoke the whole family (reuse detection) and sign the visitor out.
	a = cur
	form := a.clientForm("grant_type", "refresh_token", "refresh_token", a.RefreshToken)
	var t tokenAnswer
	_, err = s.gw.do(ctx, call{method: http.MethodPost, path: "/auth/token", form: form, out: &t})
	var ae *apiError
	switch {
	case errors.As(err, &ae) && ae.Status >= 400 && ae.Status < 500:
		s.logger.InfoContext(ctx, "refresh token refused: signed out", "status", ae.Status)
		return nil, s.store.SetValue(ctx, sid, valueAuth, "")
	case err != nil:
		s.logger.WarnContext(ctx, "token refresh failed", "err", err)
		return stillValid(a)
	case t.AccessToken == "" || t.RefreshToken == "":
		return stillValid(a)
	}
	next := &authState{AccessToken: t.AccessToken, RefreshToken: t.RefreshToken, Expiry: expiry(t.ExpiresIn), ClientID: a.ClientID, User: a.User, AuthSession: a.AuthSession}
	if u, err := s.userinfo(ctx, t.AccessToken); err == nil {
		next.User = u
	}
	if err := s.saveAuth(ctx, sid, next); err != nil {
		// The old refresh token is spent: without storing the new one the session is lost anyway.
		return nil, err
	}
	return next, nil
}

// stillValid returns a while its access token has not expired, else the unavailable error.
func stillValid(a *authState) (*authState, error) {
	if time.Now().Before(a.Expiry) {
		return a, nil
	}
	return nil, &apiError{Status: http.StatusServiceUnavailable, Code: shared.CodeUnavailable,
		Message: "Signing you in is temporarily unavailable. Please try again in a moment."}
}

func expiry(expiresIn int) time.Time {
	if expiresIn <= 0 {
		expiresIn = 60
	}
	return time.Now().Add(time.Duration(expiresIn) * time.Second)
}

// userinfo reads who an access token belongs to (GET /auth/userinfo).
func (s *site) userinfo(ctx context.Context, token string) (apiUser, error) {
	var info struct {
		Sub   string `json:"sub"`
		Email string `json:"email"`
		Name  string `json:"name"`
		Role  string `json:"role"`

		EmailVerified bool `json:"email_verified"`
	}
	if _, err := s.gw.do(ctx, call{method: http.MethodGet, path: "/auth/userinfo", token: token, out: &info}); err != nil {
		return apiUser{}, err
	}
	if info.Sub == "" {
		return apiUser{}, &apiError{Status: http.StatusBadGateway, Code: shared.CodeUnavailable, Message: "Sign-in gave an unexpected answer. Please try again."}
	}
	return apiUser{ID: info.Sub, Email: info.Email, Name: info.Name, Role: info.Role, EmailVerified: info.EmailVerified}, nil
}

// signIn starts a signed-in session holding a: under a new session ID (the old one, which a visitor
// could have been handed by someone else, is retired), carrying the cart over, with a new CSRF key.
func (s *site) signIn(w http.ResponseWriter, r *http.Request, a *authState) error {
	v := visitorFrom(r.Context())
	sid := shared.RandomToken()
	if v.sid != "" {
		old, err := s.storedAuth(r.Context(), v.sid)
		if err != nil {
			return err
		}
		if old != nil {
			s.endAtAuth(r.Context(), old) // signing in again: the previous sign-in ends
		}
		if err := s.store.Rotate(r.Context(), v.sid, sid); err != nil {
			return err
		}
	}
	if err := s.saveAuth(r.Context(), sid, a); err != nil {
		return err
	}
	v.sid = sid
	v.once.Do(func() {})
	v.auth, v.err = a, nil
	s.setSessionCookie(w, sid)
	s.renewCSRF(w, r)
	return nil
}

// signOut ends the visitor's session at auth (the refresh token's family and the session it came
// from) and drops the storefront session, cart included: on a shared computer the next person should
// not find what the last one was about to buy.
func (s *site) signOut(w http.ResponseWriter, r *http.Request) error {
	v := visitorFrom(r.Context())
	if v.sid == "" {
		return nil
	}
	a, err := s.storedAuth(r.Context(), v.sid)
	if err != nil {
		return err
	}
	if a != nil {
		s.endAtAuth(r.Context(), a)
	}
	if err := s.store.Delete(r.Context(), v.sid); err != nil {
		return err
	}
	v.sid, v.auth = "", nil
	s.setCookie(w, cookieSession, "", -1)
	s.renewCSRF(w, r)
	return nil
}

// endAtAuth revokes a's refresh token (RFC 7009) and ends the auth session behind it, with every
// refresh family issued from it: by the session's own cookie when the sign-in kept it, else by the
// access token while it is valid. Best effort: failures are logged, the tokens then die with their
// lifetimes and the auth session after its idle timeout.
func (s *site) endAtAuth(ctx context.Context, a *authState) {
	form := a.clientForm("token", a.RefreshToken, "token_type_hint", "refresh_token")
	if _, err := s.gw.do(ctx, call{method: http.MethodPost, path: "/auth/revoke", form: form}); err != nil {
		s.logger.WarnContext(ctx, "revoke at auth failed", "err", err)
	}
	logout := call{method: http.MethodPost, path: "/auth/logout"}
	switch {
	case a.AuthSession != "":
		logout.header = map[string]string{"Cookie": (&http.Cookie{Name: "session_id", Value: a.AuthSession}).String()}
	case time.Now().Before(a.Expiry):
		logout.token = a.AccessToken
	default:
		return
	}
	if _, err := s.gw.do(ctx, logout); err != nil {
		s.logger.WarnContext(ctx, "logout at auth failed", "err", err)
	}
}

// updateUser changes the stored user (after a profile edit), so the header shows it at once.
func (s *site) updateUser(r *http.Request, change func(*apiUser)) {
	v := visitorFrom(r.Context())
	if u, _ := s.user(r); u == nil {
		return
	}
	change(&v.auth.User)
	if err := s.saveAuth(r.Context(), v.sid, v.auth); err != nil {
		s.logger.WarnContext(r.Context(), "session update failed", "err", err)
	}
}

package main

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/goshop/platform/shared"
)

// Sign-in is auth's OpenID Connect authorization code flow with PKCE, the storefront being the
// first-party public client "storefront" and also auth's login page (docs/storefront.md, "Sign-in"):
//
//  1. POST /login: auth checks the password (POST /auth/login) and starts an auth session. The
//     storefront keeps that session's ID server-side (sign-out ends it); the browser never sees it.
//  2. The storefront stores a pending login (state, PKCE verifier, where to go next) in the
//     browser's own session and makes the authorization request (GET /auth/authorize, S256
//     challenge) with the auth session, as auth's login page hands a signed-in browser back.
//  3. Auth answers with a redirect to the registered redirect URI carrying code, state and iss; the
//     storefront sends the browser to that callback on its own origin.
//  4. GET /auth/callback checks state against the pending login of this browser's session (so a code
//     injected into another browser is refused) and iss against AUTH_ISSUER (RFC 9207), then
//     exchanges code + verifier at POST /auth/token, server to server. The tokens go into the session
//     (signIn), never into a cookie or a page.

// valueLogin names the session value holding a pending login.
const valueLogin = "login"

// loginTTL is how long a pending login waits for its callback.
const loginTTL = 10 * time.Minute

// pendingLogin is a started authorization request, bound to the browser's session.
type pendingLogin struct {
	State    string    `json:"state"`
	Verifier string    `json:"verifier"`
	Next     string    `json:"next"`
	Flash    string    `json:"flash"`
	Created  time.Time `json:"created"`
	// AuthSession is the auth session of step 1, handed to the sign-in state at the callback.
	AuthSession string `json:"auth_session"`
}

// pkceChallenge is the S256 challenge of verifier (RFC 7636 §4.2).
func pkceChallenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

var errSignInFailed = &apiError{Status: http.StatusBadRequest, Code: shared.CodeInvalid,
	Message: "Signing in did not complete. Please sign in again."}

// startSignIn checks the credentials with auth and runs steps 1–3 above. It returns where to send
// the browser: the callback, on this origin. Wrong credentials and the like come back as the API's
// *apiError (401, 403, 429).
func (s *site) startSignIn(w http.ResponseWriter, r *http.Request, email, password, next, flash string) (string, error) {
	ctx := r.Context()
	resp, err := s.gw.do(ctx, call{method: http.MethodPost, path: "/auth/login", body: map[string]string{"email": email, "password": password}})
	if err != nil {
		return "", err
	}
	authSession := ""
	for _, c := range resp.Cookies() {
		if c.Name == "session_id" {
			authSession = c.Value
		}
	}
	if authSession == "" {
		return "", &apiError{Status: http.StatusBadGateway, Code: shared.CodeUnavailable, Message: "Sign-in is temporarily unavailable. Please try again."}
	}
	p := pendingLogin{State: shared.RandomToken(), Verifier: shared.RandomToken(), Next: safeNext(next), Flash: flash, Created: time.Now(), AuthSession: authSession}
	b, _ := json.Marshal(p)
	sid := s.ensureSession(w, r)
	if err := s.store.SetValue(ctx, sid, valueLogin, string(b)); err != nil {
		return "", err
	}
	q := url.Values{
		"response_type": {"code"}, "client_id": {s.cfg.ClientID}, "redirect_uri": {s.cfg.redirectURI()},
		"scope": {"openid email profile"}, "state": {p.State},
		"code_challenge": {pkceChallenge(p.Verifier)}, "code_challenge_method": {"S256"},
	}
	loc, err := s.gw.authorize(ctx, q, authSession)
	if err != nil {
		return "", err
	}
	// The answer must be our redirect URI; the browser goes to the same path and query on the origin
	// it is using (localhost or 127.0.0.1), where its session cookie lives.
	prefix := s.cfg.redirectURI() + "?"
	if !strings.HasPrefix(loc, prefix) {
		s.logger.WarnContext(ctx, "authorize redirected elsewhere", "location", loc)
		return "", &apiError{Status: http.StatusBadGateway, Code: shared.CodeUnavailable, Message: "Sign-in is temporarily unavailable. Please try again."}
	}
	return "/auth/callback?" + strings.TrimPrefix(loc, prefix), nil
}

// authorize makes the authorization request with the auth session and returns the redirect auth
// answers with (302 Location), without following it.
func (g *gatewayClient) authorize(ctx context.Context, q url.Values, authSession string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, g.base+"/auth/authorize?"+q.Encode(), nil)
	if err != nil {
		return "", err
	}
	req.AddCookie(&http.Cookie{Name: "session_id", Value: authSession})
	if id := shared.RequestIDFrom(ctx); id != "" {
		req.Header.Set(shared.RequestIDHeader, id)
	}
	if ip := clientIPFrom(ctx); ip != "" {
		req.Header.Set("X-Forwarded-For", ip)
	}
	resp, err := g.noRedirect.Do(req)
	if err != nil {
		g.calls.Inc("transport_error")
		return "", &apiError{Status: http.StatusServiceUnavailable, Code: shared.CodeUnavailable,
			Message: "Sign-in is temporarily unavailable. Please try again in a moment."}
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther {
		g.calls.Inc(strconv.Itoa(resp.StatusCode/100) + "xx")
		ae := decodeAPIError(resp, data)
		if ae.Status < 500 {
			// Our own request was refused (client or redirect URI not registered, ...): a
			// configuration error, not something the visitor can fix.
			ae = &apiError{Status: http.StatusBadGateway, Code: shared.CodeUnavailable, RequestID: ae.RequestID,
				Message: "Sign-in is not available right now. Please try again later."}
		}
		return "", ae
	}
	g.calls.Inc("3xx")
	return resp.Header.Get("Location"), nil
}

// handleAuthCallback finishes a sign-in (step 4): state and iss checked, the code exchanged
// server-side, the session rotated with the tokens in it. Every failure is a friendly page: a
// bad or replayed callback a 400 asking to sign in again, auth unreachable a 503.
func handleAuthCallback(s *site) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		q := r.URL.Query()
		v := visitorFrom(ctx)
		if v.sid == "" {
			s.renderError(w, r, errSignInFailed)
			return
		}
		vals, err := s.store.Values(ctx, v.sid)
		if err != nil {
			s.renderError(w, r, err)
			return
		}
		var p pendingLogin
		if json.Unmarshal([]byte(vals[valueLogin]), &p) != nil || p.State == "" {
			s.renderError(w, r, errSignInFailed)
			return
		}
		// One use: whatever happens next, this pending login is spent.
		if err := s.store.SetValue(ctx, v.sid, valueLogin, ""); err != nil {
			s.renderError(w, r, err)
			return
		}
		switch {
		case subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(p.State)) != 1:
			s.logger.WarnContext(ctx, "sign-in callback: state does not match")
			s.renderError(w, r, errSignInFailed)
			return
		case q.Get("iss") != s.cfg.Issuer:
			s.logger.WarnContext(ctx, "sign-in callback: unexpected issuer", "iss", q.Get("iss"))
			s.renderError(w, r, errSignInFailed)
			return
		case time.Since(p.Created) > loginTTL:
			s.renderError(w, r, errSignInFailed)
			return
		case q.Get("error") != "" || q.Get("code") == "":
			s.logger.WarnContext(ctx, "sign-in callback: authorization refused", "error", q.Get("error"), "description", q.Get("error_description"))
			s.renderError(w, r, errSignInFailed)
			return
		}
		form := url.Values{"grant_type": {"authorization_code"}, "code": {q.Get("code")}, "redirect_uri": {s.cfg.redirectURI()},
			"client_id": {s.cfg.ClientID}, "code_verifier": {p.Verifier}}
		var t tokenAnswer
		_, err = s.gw.do(ctx, call{method: http.MethodPost, path: "/auth/token", form: form, out: &t})
		if err == nil && (t.AccessToken == "" || t.RefreshToken == "") {
			err = &apiError{Status: http.StatusBadGateway, Code: shared.CodeUnavailable, Message: "Sign-in is temporarily unavailable. Please try again."}
		}
		if err != nil {
			if ae := asAPIError(err); ae.Status < 500 {
				s.logger.WarnContext(ctx, "sign-in callback: code exchange refused", "err", err)
				err = errSignInFailed
			}
			s.renderError(w, r, err)
			return
		}
		u, err := s.userinfo(ctx, t.AccessToken)
		if err != nil {
			s.renderError(w, r, err)
			return
		}
		a := &authState{AccessToken: t.AccessToken, RefreshToken: t.RefreshToken, Expiry: expiry(t.ExpiresIn), ClientID: s.cfg.ClientID, User: u,
			AuthSession: p.AuthSession}
		if err := s.signIn(w, r, a); err != nil {
			s.renderError(w, r, err)
			return
		}
		s.flash(w, p.Flash)
		redirect(w, r, p.Next)
	})
}

package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/goshop/platform/shared"
)

// Cookie names. Every cookie is HttpOnly, SameSite=Lax, Path=/ and Secure when configured.
const (
	// cookieSession holds the gateway's session_id value, copied at login.
	cookieSession = "sf_session"
	// cookieCSRF holds a random per-browser key the CSRF tokens are bound to.
	cookieCSRF = "sf_csrf"
	// cookieCart holds the signed cart.
	cookieCart = "sf_cart"
	// cookieFlash holds the code of a one-time notice shown after a redirect.
	cookieFlash = "sf_flash"
)

// sessionTTL is how long a session lookup (user and access token) is reused before asking auth
// again, like the gateway's own cache: a suspended user or a logout elsewhere shows within 30 s.
const sessionTTL = 30 * time.Second

// maxSessions bounds the lookup cache; past it, expired entries are dropped, then everything.
const maxSessions = 10000

// sessionCache remembers GET /auth/session answers per gateway session for sessionTTL.
type sessionCache struct {
	mu      sync.Mutex
	entries map[string]sessionEntry
}

type sessionEntry struct {
	info    sessionInfo
	expires time.Time
}

func newSessionCache() *sessionCache {
	return &sessionCache{entries: make(map[string]sessionEntry)}
}

func (c *sessionCache) get(id string) (sessionInfo, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[id]
	if !ok || !time.Now().Before(e.expires) {
		return sessionInfo{}, false
	}
	return e.info, true
}

func (c *sessionCache) put(id string, info sessionInfo) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	if len(c.entries) >= maxSessions {
		for k, e := range c.entries {
			if !now.Before(e.expires) {
				delete(c.entries, k)
			}
		}
		if len(c.entries) >= maxSessions {
			clear(c.entries)
		}
	}
	c.entries[id] = sessionEntry{info: info, expires: now.Add(sessionTTL)}
}

func (c *sessionCache) drop(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, id)
}

// visitor is what the storefront knows about the browser of a request: its CSRF key, its gateway
// session (if signed in) and, once looked up, the signed-in user.
type visitor struct {
	csrfKey string
	session string

	once sync.Once
	info *sessionInfo
	err  error
}

type visitorKey struct{}

func visitorFrom(ctx context.Context) *visitor {
	v, _ := ctx.Value(visitorKey{}).(*visitor)
	if v == nil {
		return &visitor{}
	}
	return v
}

// user returns the signed-in user, asking auth (through the cache) at most once per request. It
// returns nil, nil when signed out or when the session has ended, and nil, err when auth is
// unreachable.
func (s *site) user(r *http.Request) (*apiUser, error) {
	v := visitorFrom(r.Context())
	if v.session == "" {
		return nil, nil
	}
	v.once.Do(func() {
		if info, ok := s.sessions.get(v.session); ok {
			v.info = &info
			return
		}
		var info sessionInfo
		_, err := s.gw.do(r.Context(), call{method: http.MethodGet, path: "/auth/session", session: v.session, out: &info})
		switch {
		case err == nil && info.User.ID != "":
			s.sessions.put(v.session, info)
			v.info = &info
		case err == nil, isStatus(err, http.StatusUnauthorized), isStatus(err, http.StatusNotFound):
			// The session ended (logout elsewhere, expiry, suspension): the visitor is signed out.
			v.session = ""
		default:
			v.err = err
		}
	})
	if v.info == nil {
		return nil, v.err
	}
	u := v.info.User
	return &u, nil
}

// accessToken returns the signed-in visitor's short-lived access token, for the live-update socket.
func (s *site) accessToken(r *http.Request) string {
	if u, _ := s.user(r); u == nil {
		return ""
	}
	return visitorFrom(r.Context()).info.AccessToken
}

// csrfToken is the token forms carry: an HMAC of the browser's CSRF key and its session, so a token
// is useless in another browser and changes when the visitor signs in or out.
func (s *site) csrfToken(v *visitor) string {
	m := hmac.New(sha256.New, s.csrfSecret)
	m.Write([]byte(v.csrfKey))
	m.Write([]byte{0})
	m.Write([]byte(v.session))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

var errCSRF = errors.New("csrf token missing or invalid")

// checkCSRF verifies a form post: the csrf_token field matches this browser's token, and a present
// Origin header names this host.
func (s *site) checkCSRF(r *http.Request, v *visitor) error {
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		if o != "http://"+r.Host && o != "https://"+r.Host {
			return errCSRF
		}
	}
	if v.csrfKey == "" {
		return errCSRF
	}
	got := r.PostFormValue("csrf_token")
	if got == "" || !hmac.Equal([]byte(got), []byte(s.csrfToken(v))) {
		return errCSRF
	}
	return nil
}

// setCookie sets a storefront cookie with the platform's flags; maxAge < 0 deletes it.
func (s *site) setCookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.cfg.CookieSecure,
	})
}

// withVisitor puts the visitor in the context (issuing a CSRF key to a new browser) and rejects any
// unsafe request whose CSRF token does not check out, before a handler sees it.
func (s *site) withVisitor(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := &visitor{}
		if c, err := r.Cookie(cookieCSRF); err == nil && len(c.Value) == 32 {
			v.csrfKey = c.Value
		}
		if c, err := r.Cookie(cookieSession); err == nil && validSessionValue(c.Value) {
			v.session = c.Value
		}
		ctx := withClientIP(context.WithValue(r.Context(), visitorKey{}, v), r.RemoteAddr)
		r = r.WithContext(ctx)
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			if v.csrfKey == "" {
				v.csrfKey = shared.NewID()
				s.setCookie(w, cookieCSRF, v.csrfKey, 0)
			}
		default:
			r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
			if err := s.checkCSRF(r, v); err != nil {
				s.csrfRejected.Inc()
				s.renderError(w, r, &apiError{Status: http.StatusForbidden, Code: shared.CodeForbidden,
					Message: "This form has expired or did not come from this site. Please go back, reload the page and try again."})
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// validSessionValue accepts what a session ID can look like: 1–256 URL-safe characters.
func validSessionValue(s string) bool {
	if len(s) == 0 || len(s) > 256 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' || c == '=' || c == '+' || c == '/') {
			return false
		}
	}
	return true
}

// flash codes and their notices; a cookie only ever selects one of these fixed texts.
var flashes = map[string]string{
	"added":      "Added to your cart.",
	"cart":       "Cart updated.",
	"signedin":   "Welcome back! You are signed in.",
	"registered": "Your account is ready. Welcome!",
	"signedout":  "You are signed out.",
	"paid":       "Payment received. Thank you!",
	"cancelled":  "The order was cancelled.",
	"saved":      "Saved.",
	"deleted":    "Deleted.",
	"adjusted":   "Stock adjusted.",
	"status":     "Status changed.",
}

func (s *site) flash(w http.ResponseWriter, code string) { s.setCookie(w, cookieFlash, code, 60) }

// takeFlash returns the pending notice, if any, and clears it.
func (s *site) takeFlash(w http.ResponseWriter, r *http.Request) string {
	c, err := r.Cookie(cookieFlash)
	if err != nil {
		return ""
	}
	s.setCookie(w, cookieFlash, "", -1)
	return flashes[c.Value]
}

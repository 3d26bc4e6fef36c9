package main

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/goshop/platform/shared"
	"golang.org/x/sync/singleflight"
)

// sessionCookie is the cookie auth's login sets.
const sessionCookie = "session_id"

// identityHeaderPrefixes are request headers that claim an identity. Upstreams never trust them, and
// the gateway deletes them anyway so no code path can start to.
var identityHeaderPrefixes = []string{"X-User", "X-Identity", "X-Auth-", "X-Forwarded-User", "X-Remote-User",
	"Remote-User", "X-Role", "X-Email", "X-Internal-"}

// stripIdentityHeaders deletes every client-sent identity header.
func stripIdentityHeaders(h http.Header) {
	for k := range h {
		for _, p := range identityHeaderPrefixes {
			if strings.HasPrefix(k, p) {
				delete(h, k)
				break
			}
		}
	}
}

// sessionExchanger turns a session_id cookie into a short-lived access token at auth's GET /session.
// Answers are cached in the gateway's Redis, shared by every gateway copy: positive ones for at most
// ttl (30 s) and never past half the token's lifetime, negative ones for negTTL (5 s); one call per
// session at a time per copy. A logout through any copy replaces the session's entry with a tombstone
// (see endSession), so the old cookie is anonymous on the very next request at every copy. With Redis
// unreachable, nothing is cached and every cookie request asks auth (coalesced per session).
type sessionExchanger struct {
	authURL string
	client  *http.Client
	kv      kvStore // cached exchanges: the guarded store (short timeout, breaker)
	ends    kvStore // logouts' tombstones (endSession): the store without the guard
	group   singleflight.Group
	logger  *slog.Logger
	ttl     time.Duration
	negTTL  time.Duration
}

// sessionResult is one exchange's answer; the zero value is "no such session".
type sessionResult struct {
	token string
	sub   string // the token's subject, for the suspension check
}

func newSessionExchanger(authURL string, client *http.Client, kv kvStore, logger *slog.Logger) *sessionExchanger {
	return &sessionExchanger{authURL: authURL, client: client, kv: kv, ends: kv, logger: logger,
		ttl: 30 * time.Second, negTTL: 5 * time.Second}
}

// errAuthUnavailable means auth could not answer; the request passes on anonymous, uncached.
var errAuthUnavailable = errors.New("auth unavailable")

// sessionUnresolvedKey marks a request whose session cookie could not be exchanged (errAuthUnavailable):
// it goes on anonymous, so public routes serve, and the proxy answers an upstream's 401 to it with 503
// (errSessionUnresolved), since the caller may well be signed in and a 401 would tell it otherwise.
type sessionUnresolvedKey struct{}

// errSessionUnresolved replaces an upstream's 401 to a request marked with sessionUnresolvedKey.
var errSessionUnresolved = errors.New("the session could not be checked: auth is unavailable")

// sessionKey is the Redis key of a session's cached exchange: a hash, so the raw session ID is never
// stored outside auth.
func sessionKey(sid string) string {
	sum := sha256.Sum256([]byte(sid))
	return "gw:sess:" + hex.EncodeToString(sum[:])
}

// token returns the access token for session sid, "" when auth does not know it (or it was logged
// out through a gateway within the last tombstone TTL).
func (s *sessionExchanger) token(ctx context.Context, sid string) (sessionResult, error) {
	key := sessionKey(sid)
	b, err := s.kv.Get(ctx, key)
	if err == nil {
		sub, tok, _ := strings.Cut(string(b), "\n")
		return sessionResult{token: tok, sub: sub}, nil
	}
	cacheable := errors.Is(err, errCacheMiss)
	v, err, _ := s.group.Do(key, func() (any, error) {
		// Detached from one client's cancellation: others may be waiting on the same call.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Second)
		defer cancel()
		tok, ttl, err := s.exchange(cctx, sid)
		if err != nil {
			return sessionResult{}, err
		}
		res := sessionResult{token: tok, sub: tokenSubject(tok)}
		if cacheable {
			// SetNX: a logout's tombstone written meanwhile wins over this (older) answer.
			s.kv.SetNX(cctx, key, []byte(res.sub+"\n"+res.token), ttl)
		}
		return res, nil
	})
	if err != nil {
		return sessionResult{}, err
	}
	return v.(sessionResult), nil
}

// endSession makes sid anonymous at every gateway copy at once: its cached exchange becomes a
// tombstone that outlives any positive entry a fill in flight could still write (fills use SetNX).
// The tombstone is written to ends, past the guard: the guard's 250 ms limit and breaker keep a slow
// Redis from slowing every request, but a tombstone not written leaves the session's cached token
// working at the other copies for up to ttl after the logout. A logout can wait instead: up to
// endTries writes within endWithin.
func (s *sessionExchanger) endSession(ctx context.Context, sid string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), endWithin)
	defer cancel()
	var err error
	for try := range endTries {
		if try > 0 && !shared.SleepCtx(ctx, endPause) {
			break
		}
		if err = s.ends.Set(ctx, sessionKey(sid), nil, 2*s.ttl); err == nil {
			return nil
		}
	}
	return err
}

// How long and how often a logout tries to write its tombstone (endSession).
const (
	endWithin = 2 * time.Second
	endTries  = 3
	endPause  = 100 * time.Millisecond
)

func (s *sessionExchanger) exchange(ctx context.Context, sid string) (string, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.authURL+"/session", nil)
	if err != nil {
		return "", 0, err
	}
	req.Header.Set("X-Session-ID", sid)
	req.Header.Set("Accept", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return "", 0, fmt.Errorf("%w: %v", errAuthUnavailable, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusNotFound:
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return "", s.negTTL, nil
	case resp.StatusCode != http.StatusOK:
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return "", 0, fmt.Errorf("%w: GET /session answered %d", errAuthUnavailable, resp.StatusCode)
	}
	var body struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&body); err != nil || body.AccessToken == "" {
		return "", 0, fmt.Errorf("%w: GET /session: bad body", errAuthUnavailable)
	}
	ttl := s.ttl
	if body.ExpiresIn > 0 {
		// Keep a margin so a cached token never reaches an upstream expired.
		ttl = min(ttl, time.Duration(body.ExpiresIn)*time.Second/2)
	}
	return body.AccessToken, ttl, nil
}

// logoutRoute is auth's logout; after it the cookie it carried must not work at any gateway copy.
const logoutRoute = "/auth/logout"

// identity deletes client-sent identity headers and, for a request with a session cookie and no
// Authorization, injects the session's access token as a bearer token. An unknown session, or auth
// being down, leaves the request anonymous: the upstream decides whether that is enough. A request
// whose credential (bearer token, session, realtime's ?access_token=) belongs to a suspended account
// is refused with 403, except the logout that clears its cookie. After a logout with a cookie (with
// or without a bearer token) that did not fail at auth, the session is ended at every gateway copy
// (endSession). A bearer token's subject comes from creds.
func identity(creds *credentialMemo, sessions *sessionExchanger, suspended *suspensions, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		stripIdentityHeaders(r.Header)
		logout := r.Method == http.MethodPost && r.URL.Path == logoutRoute
		var sub, sid string
		if a := r.Header.Get("Authorization"); a != "" {
			sub = creds.get(a).sub
		} else if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" && len(c.Value) <= 512 {
			sid = c.Value
			res, err := sessions.token(r.Context(), sid)
			if err != nil {
				sessions.logger.WarnContext(r.Context(), "session exchange failed; passing on anonymous", "err", err)
				r = r.WithContext(context.WithValue(r.Context(), sessionUnresolvedKey{}, true))
			} else if res.token != "" {
				r.Header.Set("Authorization", "Bearer "+res.token)
				sub = res.sub
			}
		}
		// realtime's /ws also takes ?access_token= (browsers cannot set headers on a WebSocket) and
		// prefers it to a cookie: a suspended account's token there is refused like one in the header.
		var qsub string
		if strings.Contains(r.URL.RawQuery, "access_token") {
			qsub = tokenSubject(r.URL.Query().Get("access_token"))
		}
		if !logout && (sub != "" && suspended.suspended(r.Context(), sub) || qsub != "" && suspended.suspended(r.Context(), qsub)) {
			shared.WriteError(w, r, nil, shared.Errorf(shared.CodeForbidden, "this account is suspended"))
			return
		}
		if logout && sid == "" {
			// Auth's logout ends the cookie's session even when a bearer token came with it (it reads
			// the cookie first), so the cookie's cached exchange must end here too.
			if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" && len(c.Value) <= 512 {
				sid = c.Value
			}
		}
		if !logout || sid == "" {
			next.ServeHTTP(w, r)
			return
		}
		rec := &shared.StatusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		if rec.Status < 500 {
			if err := sessions.endSession(r.Context(), sid); err != nil {
				sessions.logger.WarnContext(r.Context(), "logout: session not ended at the gateway", "err", err)
			}
		}
	})
}

// tokenSubject is the sub claim of a JWT, read without checking the signature: it only ever denies
// (a forged token naming a suspended account is refused, which the upstream would do anyway), and the
// upstream verifies every token it accepts. "" for anything that is not a JWT with a sub.
func tokenSubject(tok string) string {
	_, rest, ok := strings.Cut(tok, ".")
	payload, _, ok2 := strings.Cut(rest, ".")
	if !ok || !ok2 || len(payload) > 8<<10 {
		return ""
	}
	b, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return ""
	}
	var claims struct {
		Sub string `json:"sub"`
	}
	if json.Unmarshal(b, &claims) != nil {
		return ""
	}
	return claims.Sub
}

package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

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

// sessionExchanger turns a session_id cookie into a short-lived access token at auth's GET /session,
// caching the answer (positive ≤ 30 s and never past the token's expiry, negative 5 s) in a bounded
// in-process map, and making one call per session at a time.
type sessionExchanger struct {
	authURL string
	client  *http.Client
	cache   *lru[sessionResult]
	group   singleflight.Group
	logger  *slog.Logger
	ttl     time.Duration
	negTTL  time.Duration
}

type sessionResult struct {
	token string // "" for an unknown or expired session
}

func newSessionExchanger(authURL string, client *http.Client, logger *slog.Logger) *sessionExchanger {
	return &sessionExchanger{authURL: authURL, client: client, cache: newLRU[sessionResult](10000),
		logger: logger, ttl: 30 * time.Second, negTTL: 5 * time.Second}
}

// errAuthUnavailable means auth could not answer; the request passes on anonymous, uncached.
var errAuthUnavailable = errors.New("auth unavailable")

// token returns the access token for session sid, "" when auth does not know it.
func (s *sessionExchanger) token(ctx context.Context, sid string) (string, error) {
	sum := sha256.Sum256([]byte(sid))
	key := hex.EncodeToString(sum[:]) // the raw session ID never sits in memory longer than the call
	if res, ok := s.cache.Get(key, time.Now()); ok {
		return res.token, nil
	}
	v, err, _ := s.group.Do(key, func() (any, error) {
		// Detached from one client's cancellation: others may be waiting on the same call.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Second)
		defer cancel()
		tok, ttl, err := s.exchange(cctx, sid)
		if err != nil {
			return "", err
		}
		s.cache.Set(key, sessionResult{token: tok}, time.Now().Add(ttl))
		return tok, nil
	})
	if err != nil {
		return "", err
	}
	return v.(string), nil
}

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

// identity deletes client-sent identity headers and, for a request with a session cookie and no
// Authorization, injects the session's access token as a bearer token. An unknown session, or auth
// being down, leaves the request anonymous: the upstream decides whether that is enough.
func (s *sessionExchanger) identity(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		stripIdentityHeaders(r.Header)
		if r.Header.Get("Authorization") == "" {
			if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" && len(c.Value) <= 512 {
				tok, err := s.token(r.Context(), c.Value)
				if err != nil {
					s.logger.WarnContext(r.Context(), "session exchange failed; passing on anonymous", "err", err)
				} else if tok != "" {
					r.Header.Set("Authorization", "Bearer "+tok)
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}

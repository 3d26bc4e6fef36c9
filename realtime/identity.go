package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/coder/websocket"

	"github.com/goshop/platform/shared"
)

// sessionResolver turns a session_id cookie into an identity. It returns the zero Identity (anonymous)
// for a session auth does not know, and an error wrapping ErrUnavailable when auth cannot answer.
type sessionResolver interface {
	resolve(ctx context.Context, sessionID string) (shared.Identity, error)
}

// authSessions resolves sessions through auth's GET /session (header X-Session-ID), once per
// connection, and verifies the access token auth returns, so the identity carries the same guarantees
// as a bearer token.
type authSessions struct {
	baseURL  string
	client   *http.Client
	verifier shared.Verifier
}

func newAuthSessions(baseURL string, verifier shared.Verifier) *authSessions {
	return &authSessions{baseURL: strings.TrimRight(baseURL, "/"), verifier: verifier,
		client: &http.Client{Transport: shared.TraceTransport(nil, "auth"), Timeout: 3 * time.Second}}
}

var _ sessionResolver = (*authSessions)(nil)

func (a *authSessions) resolve(ctx context.Context, sessionID string) (shared.Identity, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.baseURL+"/session", nil)
	if err != nil {
		return shared.Identity{}, fmt.Errorf("session: %w", err)
	}
	req.Header.Set("X-Session-ID", sessionID)
	req.Header.Set("Accept", "application/json")
	if rid := shared.RequestIDFrom(ctx); rid != "" {
		req.Header.Set(shared.RequestIDHeader, rid)
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return shared.Identity{}, fmt.Errorf("session: auth unreachable: %w", shared.ErrUnavailable)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusNotFound:
		return shared.Identity{}, nil
	case resp.StatusCode != http.StatusOK:
		return shared.Identity{}, fmt.Errorf("session: auth answered %d: %w", resp.StatusCode, shared.ErrUnavailable)
	}
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&body); err != nil || body.AccessToken == "" {
		return shared.Identity{}, fmt.Errorf("session: bad answer from auth: %w", shared.ErrUnavailable)
	}
	id, err := a.verifier.Verify(ctx, body.AccessToken)
	if err != nil {
		return shared.Identity{}, fmt.Errorf("session: token from auth does not verify: %w", shared.ErrUnavailable)
	}
	return id, nil
}

// identify returns the caller: the identity the Authenticate middleware verified, else the
// ?access_token= (verified here), else the session_id cookie resolved through auth. A bad token is
// ErrUnauthorized; an unknown or expired session is anonymous (the storefront still wants stock
// badges); auth (its session check, or its key set before any was fetched) being unreachable is
// ErrUnavailable.
func identify(r *http.Request, verifier shared.Verifier, sessions sessionResolver) (shared.Identity, error) {
	if id, ok := shared.IdentityFrom(r.Context()); ok {
		return id, nil
	}
	if tok := r.URL.Query().Get("access_token"); tok != "" {
		id, err := verifier.Verify(r.Context(), tok)
		if errors.Is(err, shared.ErrUnavailable) {
			return shared.Identity{}, err // auth's key set unreachable: the token cannot be judged
		}
		if err != nil {
			return shared.Identity{}, shared.Errorf(shared.CodeUnauthorized, "invalid or expired access token")
		}
		return id, nil
	}
	if ck, err := r.Cookie("session_id"); err == nil && ck.Value != "" && sessions != nil {
		return sessions.resolve(r.Context(), ck.Value)
	}
	return shared.Identity{}, nil
}

// originPolicy allows requests without an Origin (non-browser clients), same-host origins, and the
// configured host[:port] list (ALLOWED_ORIGINS).
type originPolicy struct{ hosts map[string]bool }

func newOriginPolicy(list []string) originPolicy {
	p := originPolicy{hosts: make(map[string]bool, len(list))}
	for _, o := range list {
		o = strings.ToLower(strings.TrimSpace(o))
		if u, err := url.Parse(o); err == nil && u.Host != "" {
			o = u.Host // accept full origins too: "http://localhost:3000"
		}
		if o != "" {
			p.hosts[o] = true
		}
	}
	return p
}

func (p originPolicy) allowed(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return false
	}
	host := strings.ToLower(u.Host)
	if p.hosts[host] || p.hosts["*"] || strings.EqualFold(host, r.Host) {
		return true
	}
	// Allow default ports written out: "localhost:80" matches "http://localhost".
	if _, _, err := net.SplitHostPort(host); err != nil {
		port := "80"
		if u.Scheme == "https" {
			port = "443"
		}
		return p.hosts[net.JoinHostPort(host, port)]
	}
	return false
}

// acceptOptions returns the coder/websocket Accept options for p. Accept checks the Origin again (by
// default it admits only the request's own host), so every configured origin becomes one of its
// OriginPatterns, escaped so that path.Match takes it literally, and "*" skips its check. allowed runs
// first and refuses in the platform error shape; the patterns admit at least what allowed admits (a
// "host:80" entry also admits "http://host", as allowed does), so Accept never refuses on its own.
func (p originPolicy) acceptOptions() *websocket.AcceptOptions {
	if p.hosts["*"] {
		return &websocket.AcceptOptions{InsecureSkipVerify: true}
	}
	var patterns []string
	for h := range p.hosts {
		patterns = append(patterns, escapePattern(h))
		// The origin's host is matched as written: "http://plain.example" has no port.
		if host, ok := strings.CutSuffix(h, ":80"); ok {
			patterns = append(patterns, "http://"+escapePattern(host))
		}
		if host, ok := strings.CutSuffix(h, ":443"); ok {
			patterns = append(patterns, "https://"+escapePattern(host))
		}
	}
	slices.Sort(patterns)
	return &websocket.AcceptOptions{OriginPatterns: patterns}
}

// escapePattern quotes path.Match's special characters (IPv6 hosts have brackets).
func escapePattern(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[]\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

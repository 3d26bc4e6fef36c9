package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

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
		client: &http.Client{Timeout: 3 * time.Second}}
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

package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"log/slog"
	"net/http"
	"strings"

	"github.com/goshop/platform/shared"
	"golang.org/x/sync/singleflight"
)

// site holds what every page handler needs: the parsed pages, the gateway client, the session store
// and the CSRF key. It is built once in NewServer; nothing in it is global.
type site struct {
	logger     *slog.Logger
	cfg        Config
	pages      *pages
	gw         *gatewayClient
	store      sessionStore
	refreshes  singleflight.Group // one token refresh in flight per session
	csrfSecret []byte
	csp        string
	catState
	bells bellCache // each session's notification bell, for a few seconds

	csrfRejected *shared.CounterVec
	ordersPlaced *shared.CounterVec
}

// deriveKey gives each purpose its own key from the one configured secret.
func deriveKey(secret []byte, purpose string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(purpose))
	return m.Sum(nil)
}

// NewServer returns the storefront's handler: the pages and forms of routes.go inside the platform's
// middleware, the visitor middleware (session, CSRF) and the browser security headers.
func NewServer(logger *slog.Logger, cfg Config, metrics *shared.Metrics, ready *shared.Readiness, pg *pages, gw *gatewayClient, store sessionStore) http.Handler {
	s := &site{
		logger:       logger,
		cfg:          cfg,
		pages:        pg,
		gw:           gw,
		store:        store,
		csrfSecret:   deriveKey(cfg.Secret, "storefront csrf v1"),
		csp:          contentSecurityPolicy(),
		csrfRejected: metrics.Counter("storefront_csrf_rejected_total", "Form posts refused for a missing or wrong CSRF token."),
		ordersPlaced: metrics.Counter("storefront_orders_placed_total", "Orders placed through the checkout form."),
	}
	mux := http.NewServeMux()
	addRoutes(mux, s, metrics, ready)
	return shared.Stack(logger, metrics, mux, s.browserHeaders, shared.SecureCookies(s.cfg.TrustedProxies))
}

// contentSecurityPolicy allows only this origin's scripts and styles (no inline script or style at
// all) and images from anywhere over HTTPS (product photos). The live socket is this origin too
// (handleRealtime), so connect-src is 'self' alone.
func contentSecurityPolicy() string {
	return strings.Join([]string{
		"default-src 'self'",
		"script-src 'self'",
		"style-src 'self'",
		"img-src 'self' data: https:",
		"connect-src 'self'",
		"font-src 'self'",
		"object-src 'none'",
		"base-uri 'none'",
		"form-action 'self'",
		"frame-ancestors 'none'",
	}, "; ")
}

// browserHeaders adds what a browser-facing site needs beyond shared.SecurityHeaders.
func (s *site) browserHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", s.csp)
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
		if s.cfg.CookieSecure || s.cfg.TrustedProxies.IsHTTPS(r) {
			h.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
		}
		next.ServeHTTP(w, r)
	})
}

// requireUser lets signed-in visitors through and sends others to the sign-in page; an unreachable
// auth service is an error page, not a sign-in loop.
func (s *site) requireUser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, err := s.user(r)
		if err != nil {
			s.renderError(w, r, err)
			return
		}
		if u == nil {
			loginRedirect(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// requireAdmin is requireUser plus the admin role; other users get the 403 page. The API enforces the
// role again on every call; this only keeps customers out of pages they cannot use.
func (s *site) requireAdmin(next http.Handler) http.Handler {
	return s.requireUser(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, _ := s.user(r); u == nil || u.Role != shared.RoleAdmin {
			s.renderError(w, r, &apiError{Status: http.StatusForbidden, Code: shared.CodeForbidden,
				Message: "The admin console is for administrators only."})
			return
		}
		next.ServeHTTP(w, r)
	}))
}

// handleStatic serves the embedded static files; URLs carry ?v=<hash>, so they can be cached long.
func handleStatic(pg *pages) http.Handler {
	fsrv := http.StripPrefix("/static/", http.FileServerFS(pg.static))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("v") == pg.version {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			w.Header().Set("Cache-Control", "public, max-age=300")
		}
		fsrv.ServeHTTP(w, r)
	})
}

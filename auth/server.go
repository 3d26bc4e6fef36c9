package main

import (
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/goshop/platform/shared"
)

// deps are the collaborators NewServer wires into handlers; run builds the real ones, tests fakes.
type deps struct {
	accounts accountStore
	sessions sessionStore
	grants   grantStore
	// accountLimiter counts failed logins per account and client address ("acct:<email>|ip:<addr>"),
	// ipLimiter per client address; see handleLogin for how they combine.
	accountLimiter limiter
	ipLimiter      limiter
	hasher         *hasher
	keys           *keyring
	wake           func() // wakes the outbox relay after a write
	metrics        *shared.Metrics
	ready          *shared.Readiness
}

// NewServer returns auth's HTTP handler: the routes of routes.go inside the platform middleware.
// Bearer tokens are checked only on the routes that use them (routes.go), so a stale Authorization
// header cannot make /login or /token fail.
func NewServer(logger *slog.Logger, cfg Config, d deps) http.Handler {
	mux := http.NewServeMux()
	addRoutes(mux, logger, cfg, d)
	return shared.Stack(logger, d.metrics, mux)
}

// clientIP is the caller's address: the peer, or, when the peer is a trusted proxy (the gateway), the
// last address it appended to X-Forwarded-For. Earlier entries are client-supplied and ignored.
func clientIP(r *http.Request, trusted []netip.Prefix) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	peer = peer.Unmap()
	if !isTrusted(peer, trusted) {
		return peer.String()
	}
	xff := r.Header.Values("X-Forwarded-For")
	if len(xff) == 0 {
		return peer.String()
	}
	parts := strings.Split(xff[len(xff)-1], ",")
	if a, err := netip.ParseAddr(strings.TrimSpace(parts[len(parts)-1])); err == nil {
		return a.Unmap().String()
	}
	return peer.String()
}

// ipLimitKey is the throttling key for a client address: the address itself for IPv4, its /64 for
// IPv6, since one subscriber usually holds a whole /64 and could otherwise rotate through it.
func ipLimitKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil || !a.Is6() || a.Is4In6() {
		return "ip:" + ip
	}
	p, _ := a.Prefix(64)
	return "ip:" + p.String()
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// overTLS reports whether the client reached us over TLS, directly or through a trusted proxy.
func overTLS(r *http.Request, trusted []netip.Prefix) bool {
	if r.TLS != nil {
		return true
	}
	host, _, _ := net.SplitHostPort(r.RemoteAddr)
	peer, err := netip.ParseAddr(host)
	return err == nil && isTrusted(peer.Unmap(), trusted) && strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

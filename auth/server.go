package main

import (
	"log/slog"
	"net/http"
	"net/netip"

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
	// mailLimiter counts mailed links per recipient address ("mail:to:<email>", mailPolicy),
	// mailIPLimiter the anonymous forgot requests per client address (mailIPPolicy).
	mailLimiter   limiter
	mailIPLimiter limiter
	links         linkStore
	mail          *accountMail
	hasher        *hasher
	keys          *keyring
	wake          func() // wakes the outbox relay after a write
	metrics       *shared.Metrics
	ready         *shared.Readiness
}

// NewServer returns auth's HTTP handler: the routes of routes.go inside the platform middleware.
// Bearer tokens are checked only on the routes that use them (routes.go), so a stale Authorization
// header cannot make /login or /token fail.
func NewServer(logger *slog.Logger, cfg Config, d deps) http.Handler {
	mux := http.NewServeMux()
	addRoutes(mux, logger, cfg, d)
	return shared.Stack(logger, d.metrics, mux)
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

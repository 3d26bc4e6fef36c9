package main

import (
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/goshop/platform/shared"
)

// The session cookie is sent by the browser with every request to the gateway, including ones a
// foreign page makes it send. crossSiteGuard stops those from acting on the visitor's behalf.

// sessionCreatingRoutes answer with a new session cookie: a cross-site request to them logs the
// visitor into an account the attacker chose (login CSRF), so they are guarded with or without a
// cookie.
var sessionCreatingRoutes = map[string]bool{"POST /auth/login": true, "POST /auth/register": true}

// formRoutes take form bodies by protocol and do not need the JSON rule: auth's consent form (a page
// of its own, with its own csrf_token) and the OAuth endpoints, authenticated by client credentials
// or codes rather than by the cookie. The origin rule still applies to them.
var formRoutes = map[string]bool{"POST /auth/authorize": true, "POST /auth/token": true,
	"POST /auth/revoke": true, "POST /auth/introspect": true}

// crossSiteGuard checks state-changing requests that the session cookie would authenticate (a
// session_id cookie and no Authorization header), and those to sessionCreatingRoutes:
//   - 403 forbidden when the request comes from another origin than this one or allowedOrigins: per
//     Sec-Fetch-Site, else Origin (net/http's CrossOriginProtection), else, when neither is sent, the
//     Referer's origin. A request with none of the three (not a browser, or the storefront calling
//     server-side) passes, as does a bearer request: a foreign page cannot make a browser send one.
//   - 415 unsupported_media_type when a body or Content-Type is there and it is not JSON
//     (application/json or application/*+json), except on formRoutes: a cross-site page can send a
//     form or text/plain without a CORS preflight, but not JSON. A request without body and
//     Content-Type (POST /order/orders/{id}/cancel, /auth/logout) passes this rule.
//
// GET, HEAD and OPTIONS are never checked: they change nothing.
type crossSiteGuard struct {
	cop     *http.CrossOriginProtection
	allowed map[string]bool // scheme://host[:port], lower case
}

// newCrossSiteGuard trusts allowed origins, given as full origins or as host:port (then both http and
// https). An entry that is neither is an error.
func newCrossSiteGuard(allowed []string) (*crossSiteGuard, error) {
	g := &crossSiteGuard{cop: http.NewCrossOriginProtection(), allowed: map[string]bool{}}
	for _, a := range allowed {
		origins := []string{a}
		if !strings.Contains(a, "://") {
			origins = []string{"http://" + a, "https://" + a}
		}
		for _, o := range origins {
			if err := g.cop.AddTrustedOrigin(o); err != nil {
				return nil, fmt.Errorf("%q: %w", a, err)
			}
			g.allowed[strings.ToLower(o)] = true
		}
	}
	return g, nil
}

// check returns the refusal for r, or nil.
func (g *crossSiteGuard) check(r *http.Request) *shared.Error {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return nil
	}
	route := r.Method + " " + r.URL.Path
	if !sessionCreatingRoutes[route] && !cookieAuthenticated(r) {
		return nil
	}
	if err := g.cop.Check(r); err != nil || !g.refererAllowed(r) {
		return shared.Errorf(shared.CodeForbidden, "cross-site request refused: the session cookie only works from the shop's own pages")
	}
	if !formRoutes[route] && !jsonBody(r) {
		return shared.Errorf(shared.CodeUnsupportedMediaType, "a request authenticated by the session cookie must send Content-Type: application/json")
	}
	return nil
}

// cookieAuthenticated reports whether the session cookie is what would authenticate r.
func cookieAuthenticated(r *http.Request) bool {
	if r.Header.Get("Authorization") != "" {
		return false
	}
	c, err := r.Cookie(sessionCookie)
	return err == nil && c.Value != ""
}

// refererAllowed applies only when the browser sent neither Sec-Fetch-Site nor Origin: a Referer then
// has to name this host or an allowed origin. No Referer at all passes (privacy settings strip it).
func (g *crossSiteGuard) refererAllowed(r *http.Request) bool {
	ref := r.Header.Get("Referer")
	if ref == "" || r.Header.Get("Sec-Fetch-Site") != "" || r.Header.Get("Origin") != "" {
		return true
	}
	u, err := url.Parse(ref)
	if err != nil || u.Host == "" {
		return false
	}
	return strings.EqualFold(u.Host, r.Host) || g.allowed[strings.ToLower(u.Scheme+"://"+u.Host)]
}

// jsonBody reports whether r has a JSON media type, or no body and no Content-Type at all.
func jsonBody(r *http.Request) bool {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return r.ContentLength == 0 || r.Body == nil || r.Body == http.NoBody
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	return mt == "application/json" || (strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))
}

// handler answers the requests check refuses, and passes the others to next.
func (g *crossSiteGuard) handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if e := g.check(r); e != nil {
			shared.WriteError(w, r, nil, e)
			return
		}
		next.ServeHTTP(w, r)
	})
}

package main

import (
	"context"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"time"

	"github.com/goshop/platform/shared"
)

type liveTokenKey struct{}

// handleRealtime forwards the browser's live-update WebSocket (GET /realtime/ws on the storefront's
// own origin, where static/realtime.js connects by default) to the gateway's /realtime/ws, adding the
// session's access token as a bearer token. So the token never reaches the browser, which holds only
// its session cookie, and the CSP needs no other origin. The visitor's cookies are not forwarded;
// ?since= and ?epoch= (the client's resume point) are; an ?access_token= from the browser is dropped.
// Signed out, the socket is anonymous (public stock updates).
func handleRealtime(s *site) http.Handler {
	target, _ := url.Parse(s.cfg.GatewayURL)
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			h := pr.Out.Header
			h.Del("Cookie")
			h.Del("Authorization")
			if tok, _ := pr.In.Context().Value(liveTokenKey{}).(string); tok != "" {
				h.Set("Authorization", "Bearer "+tok)
			}
			q := pr.Out.URL.Query()
			q.Del("access_token")
			pr.Out.URL.RawQuery = q.Encode()
			if ip := clientIPFrom(pr.In.Context()); ip != "" {
				h.Set("X-Forwarded-For", ip)
			}
			h.Set(shared.RequestIDHeader, shared.RequestIDFrom(pr.In.Context()))
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			s.logger.WarnContext(r.Context(), "live socket: gateway unreachable", "err", err)
			http.Error(w, "live updates unavailable", http.StatusBadGateway)
		},
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			http.Error(w, "WebSocket only", http.StatusBadRequest)
			return
		}
		// Refreshes the access token first when it is about to expire; a session that cannot be read
		// (store down) connects anonymously rather than not at all.
		tok := s.accessToken(r)
		// The hijacked connection keeps the server's read and write deadlines: clear them, or every
		// socket would die after WriteTimeout. Realtime's pings keep idle ones honest.
		rc := http.NewResponseController(w)
		rc.SetReadDeadline(time.Time{})
		rc.SetWriteDeadline(time.Time{})
		rp.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), liveTokenKey{}, tok)))
	})
}

package shared

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// TrustedProxies is the set of peers whose forwarding headers (X-Forwarded-For, X-Forwarded-Proto,
// X-Real-IP) a program believes: the reverse proxies in front of it. Headers from any other peer are
// the client's own words and are ignored, so a client cannot choose the address its rate limits and
// logs see, nor claim it came over TLS. The zero value trusts nobody.
type TrustedProxies struct {
	prefixes []netip.Prefix
}

// DefaultTrustedProxies is the TRUSTED_PROXIES default: loopback only. A loopback peer is a process
// on the same host, part of the deployment (the storefront calling the gateway, the gateway calling
// auth in `make run`); a remote client can never be one.
const DefaultTrustedProxies = "127.0.0.1/32,::1/128"

// NewTrustedProxies trusts the given prefixes (as Env.Prefixes reads TRUSTED_PROXIES); none trusts
// nobody. IPv4-mapped IPv6 prefixes are taken as their IPv4 form.
func NewTrustedProxies(prefixes []netip.Prefix) TrustedProxies {
	tp := TrustedProxies{prefixes: make([]netip.Prefix, 0, len(prefixes))}
	for _, p := range prefixes {
		if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
		}
		tp.prefixes = append(tp.prefixes, p.Masked())
	}
	return tp
}

// String lists the trusted prefixes, comma-separated, for start-up logs.
func (tp TrustedProxies) String() string {
	s := make([]string, len(tp.prefixes))
	for i, p := range tp.prefixes {
		s[i] = p.String()
	}
	return strings.Join(s, ",")
}

// Contains reports whether a is a trusted proxy address.
func (tp TrustedProxies) Contains(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range tp.prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// peer is r's direct peer address; ok is false when RemoteAddr is not an IP (a unix socket, a test).
func peer(r *http.Request) (addr netip.Addr, host string, ok bool) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, host, false
	}
	return a.Unmap(), host, true
}

// PeerTrusted reports whether r's direct peer is a trusted proxy.
func (tp TrustedProxies) PeerTrusted(r *http.Request) bool {
	a, _, ok := peer(r)
	return ok && tp.Contains(a)
}

// ClientIP is the address of the client r came from. For an untrusted peer it is the peer itself,
// whatever the headers say. For a trusted peer it is the right-most X-Forwarded-For address that is
// not a trusted proxy (each proxy appends the address it saw, so everything left of the first
// untrusted hop is the client's to invent), else X-Real-IP, else the peer. A malformed hop ends the
// walk there: the last good address (or the peer) is used, never an error.
func (tp TrustedProxies) ClientIP(r *http.Request) string {
	a, host, ok := peer(r)
	if !ok {
		return host
	}
	if !tp.Contains(a) {
		return a.String()
	}
	last := a
	if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
		hops := strings.Split(strings.Join(xff, ","), ",")
		for i := len(hops) - 1; i >= 0; i-- {
			h, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
			if err != nil {
				return last.String()
			}
			if h = h.Unmap(); !tp.Contains(h) {
				return h.String()
			}
			last = h
		}
		return last.String()
	}
	if h, err := netip.ParseAddr(strings.TrimSpace(r.Header.Get("X-Real-IP"))); err == nil {
		return h.Unmap().String()
	}
	return a.String()
}

// IsHTTPS reports whether r reached the shop over TLS: directly here, or at a trusted proxy that says
// so with X-Forwarded-Proto: https (the right-most value, the one the nearest proxy set).
func (tp TrustedProxies) IsHTTPS(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	v := r.Header.Values("X-Forwarded-Proto")
	if len(v) == 0 || !tp.PeerTrusted(r) {
		return false
	}
	protos := strings.Split(v[len(v)-1], ",")
	return strings.EqualFold(strings.TrimSpace(protos[len(protos)-1]), "https")
}

// SecureCookies adds the Secure attribute to every cookie an HTTPS request's answer sets (per
// trusted.IsHTTPS), whoever set it: a handler here or, in the gateway, an upstream. A browser that
// reached the shop over TLS then never sends those cookies over plain HTTP. Plain-HTTP requests are
// passed through untouched (development on http://localhost keeps working).
func SecureCookies(trusted TrustedProxies) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !trusted.IsHTTPS(r) {
				next.ServeHTTP(w, r)
				return
			}
			next.ServeHTTP(&secureCookieWriter{ResponseWriter: w}, r)
		})
	}
}

// secureCookieWriter marks the Set-Cookie headers Secure just before the header is sent.
type secureCookieWriter struct {
	http.ResponseWriter
	done bool
}

func (s *secureCookieWriter) secure() {
	if s.done {
		return
	}
	s.done = true
	cookies := s.Header()["Set-Cookie"]
	for i, c := range cookies {
		if !cookieHasSecure(c) {
			cookies[i] = c + "; Secure"
		}
	}
}

// cookieHasSecure reports whether a Set-Cookie value has the Secure attribute (not a cookie named or
// valued "Secure").
func cookieHasSecure(setCookie string) bool {
	attrs := strings.Split(setCookie, ";")
	for _, a := range attrs[1:] {
		if strings.EqualFold(strings.TrimSpace(a), "secure") {
			return true
		}
	}
	return false
}

func (s *secureCookieWriter) WriteHeader(code int) {
	if code >= 200 {
		s.secure()
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *secureCookieWriter) Write(b []byte) (int, error) {
	s.secure()
	return s.ResponseWriter.Write(b)
}

// Flush sends the header (cookies marked) and any buffered body.
func (s *secureCookieWriter) Flush() {
	s.secure()
	http.NewResponseController(s.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the underlying writer (Hijack for WebSocket upgrades).
func (s *secureCookieWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// HeaderHasToken reports whether the comma-separated values of header name hold token, ignoring case
// (Connection: keep-alive, Upgrade; Upgrade: websocket).
func HeaderHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

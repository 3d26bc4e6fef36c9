package shared

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"testing"
)

// testProxies is TrustedProxies for a constant list, read the way programs read TRUSTED_PROXIES.
func testProxies(tb testing.TB, list string) TrustedProxies {
	tb.Helper()
	env := NewEnv(func(string) string { return list })
	tp := NewTrustedProxies(env.Prefixes("TRUSTED_PROXIES", DefaultTrustedProxies))
	if err := env.Err(); err != nil {
		tb.Fatal(err)
	}
	return tp
}

func TestNewTrustedProxies(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		DefaultTrustedProxies:     "127.0.0.1/32,::1/128",
		" 10.0.0.0/8 , 192.0.2.7": "10.0.0.0/8,192.0.2.7/32",
		"10.1.2.3/8":              "10.0.0.0/8",
		"::ffff:10.0.0.1":         "10.0.0.1/32",
	} {
		if got := testProxies(t, in).String(); got != want {
			t.Errorf("TRUSTED_PROXIES=%q: trusted %q, want %q", in, got, want)
		}
	}
	if got := NewTrustedProxies(nil); got.PeerTrusted(httptest.NewRequest("GET", "/", nil)) || got.String() != "" {
		t.Errorf("no prefixes: trusted %q, want nobody", got.String())
	}
}

func TestClientIP(t *testing.T) {
	t.Parallel()
	tp := testProxies(t, "127.0.0.1/32,::1/128,10.0.0.0/8")
	for _, tc := range []struct {
		name, remote string
		header       map[string][]string
		want         string
	}{
		{"untrusted peer, spoofed XFF ignored", "203.0.113.9:4000", map[string][]string{"X-Forwarded-For": {"1.2.3.4"}}, "203.0.113.9"},
		{"untrusted peer, spoofed X-Real-IP ignored", "203.0.113.9:4000", map[string][]string{"X-Real-Ip": {"1.2.3.4"}}, "203.0.113.9"},
		{"untrusted mapped IPv6 peer", "[::ffff:203.0.113.9]:4000", nil, "203.0.113.9"},
		{"trusted peer, no header", "127.0.0.1:4000", nil, "127.0.0.1"},
		{"trusted peer, one hop", "127.0.0.1:4000", map[string][]string{"X-Forwarded-For": {"198.51.100.1"}}, "198.51.100.1"},
		{"right-most untrusted wins over client-chosen left", "127.0.0.1:4000", map[string][]string{"X-Forwarded-For": {"6.6.6.6, 198.51.100.1, 10.0.0.2"}}, "198.51.100.1"},
		{"storefront -> gateway -> auth: visitor, not the storefront", "127.0.0.1:4000", map[string][]string{"X-Forwarded-For": {"198.51.100.1, 127.0.0.1"}}, "198.51.100.1"},
		{"several header lines joined", "10.0.0.3:1", map[string][]string{"X-Forwarded-For": {"6.6.6.6", "198.51.100.1"}}, "198.51.100.1"},
		{"malformed right-most hop: peer", "127.0.0.1:4000", map[string][]string{"X-Forwarded-For": {"1.2.3.4, garbage"}}, "127.0.0.1"},
		{"malformed hop behind a trusted hop: last good", "127.0.0.1:4000", map[string][]string{"X-Forwarded-For": {"<script>, 10.0.0.9"}}, "10.0.0.9"},
		{"empty header", "127.0.0.1:4000", map[string][]string{"X-Forwarded-For": {""}}, "127.0.0.1"},
		{"X-Real-IP from trusted peer", "127.0.0.1:4000", map[string][]string{"X-Real-Ip": {"198.51.100.7"}}, "198.51.100.7"},
		{"malformed X-Real-IP", "127.0.0.1:4000", map[string][]string{"X-Real-Ip": {"x"}}, "127.0.0.1"},
		{"IPv6 client via proxy", "[::1]:4000", map[string][]string{"X-Forwarded-For": {"2001:db8::1"}}, "2001:db8::1"},
		{"RemoteAddr not an IP", "pipe", nil, "pipe"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tc.remote
		for k, v := range tc.header {
			r.Header[k] = v
		}
		if got := tp.ClientIP(r); got != tc.want {
			t.Errorf("%s: ClientIP = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestIsHTTPS(t *testing.T) {
	t.Parallel()
	tp := testProxies(t, DefaultTrustedProxies)
	for _, tc := range []struct {
		name, remote, proto string
		tls                 bool
		want                bool
	}{
		{"TLS here", "203.0.113.9:1", "", true, true},
		{"trusted proxy says https", "127.0.0.1:1", "https", false, true},
		{"trusted proxy says HTTPS", "127.0.0.1:1", "HTTPS", false, true},
		{"nearest proxy's value counts", "127.0.0.1:1", "https, http", false, false},
		{"trusted proxy says http", "127.0.0.1:1", "http", false, false},
		{"untrusted client claims https", "203.0.113.9:1", "https", false, false},
		{"no header", "127.0.0.1:1", "", false, false},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tc.remote
		if tc.proto != "" {
			r.Header.Set("X-Forwarded-Proto", tc.proto)
		}
		if tc.tls {
			r.TLS = &tls.ConnectionState{}
		}
		if got := tp.IsHTTPS(r); got != tc.want {
			t.Errorf("%s: IsHTTPS = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestSecureCookies(t *testing.T) {
	t.Parallel()
	tp := testProxies(t, DefaultTrustedProxies)
	h := SecureCookies(tp)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "session_id", Value: "s", HttpOnly: true})
		w.Header().Add("Set-Cookie", "already=1; Path=/; Secure")
		w.Header().Add("Set-Cookie", "Secure=x; Path=/")
		w.WriteHeader(http.StatusOK)
	}))
	for _, tc := range []struct {
		name, remote, proto string
		want                bool
	}{
		{"trusted proxy says https", "127.0.0.1:1", "https", true},
		{"untrusted client claims https", "203.0.113.9:1", "https", false},
		{"plain http", "127.0.0.1:1", "", false},
	} {
		r := httptest.NewRequest("POST", "/login", nil)
		r.RemoteAddr = tc.remote
		if tc.proto != "" {
			r.Header.Set("X-Forwarded-Proto", tc.proto)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		cookies := rec.Result().Cookies()
		if len(cookies) != 3 {
			t.Fatalf("%s: %d cookies, want 3", tc.name, len(cookies))
		}
		for _, c := range cookies {
			want := tc.want || c.Name == "already"
			if c.Secure != want {
				t.Errorf("%s: cookie %s Secure = %v, want %v (%q)", tc.name, c.Name, c.Secure, want, rec.Header().Values("Set-Cookie"))
			}
		}
	}
}

func TestHeaderHasToken(t *testing.T) {
	t.Parallel()
	h := http.Header{"Connection": {"keep-alive, Upgrade", "close"}, "Upgrade": {"WebSocket"}}
	for _, tc := range []struct {
		name, token string
		want        bool
	}{
		{"Connection", "upgrade", true}, {"Connection", "close", true}, {"Connection", "keep", false},
		{"Upgrade", "websocket", true}, {"Upgrade", "h2c", false}, {"X-None", "upgrade", false},
	} {
		if got := HeaderHasToken(h, tc.name, tc.token); got != tc.want {
			t.Errorf("HeaderHasToken(%s, %q) = %v, want %v", tc.name, tc.token, got, tc.want)
		}
	}
}

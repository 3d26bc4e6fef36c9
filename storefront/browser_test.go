package main

import (
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// browser is a cookie-keeping client against the storefront that does not follow redirects, so tests
// see each 303 and its Location.
type browser struct {
	t      testing.TB
	base   string
	client *http.Client
}

func newSite(t testing.TB) (*fakeGateway, *httptest.Server) {
	t.Helper()
	gw := newFakeGateway(t)
	srv := httptest.NewServer(newTestServer(t, gw))
	t.Cleanup(srv.Close)
	return gw, srv
}

func newBrowser(t testing.TB, srv *httptest.Server) *browser {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: srv.URL, client: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

type page struct {
	status int
	body   string
	resp   *http.Response
}

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return page{status: resp.StatusCode, body: string(data), resp: resp}
}

func (b *browser) get(path string) page {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.base+path, nil)
	return b.do(req)
}

func (b *browser) post(path string, form url.Values) page {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

var (
	csrfRe = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)
	idemRe = regexp.MustCompile(`name="idempotency_key" value="([0-9a-f]+)"`)
)

// csrf loads path and returns the CSRF token of its first form.
func (b *browser) csrf(path string) string {
	b.t.Helper()
	p := b.get(path)
	m := csrfRe.FindStringSubmatch(p.body)
	if m == nil {
		b.t.Fatalf("GET %s: no csrf_token in page (status %d)", path, p.status)
	}
	return html.UnescapeString(m[1])
}

// submit posts form to action with the CSRF token taken from the page at from.
func (b *browser) submit(from, action string, form url.Values) page {
	b.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf_token", b.csrf(from))
	return b.post(action, form)
}

// signIn logs in through the login form and checks that it ends in a redirect away from sign-in.
func (b *browser) signIn(email, password string) {
	b.t.Helper()
	p, _ := b.signInFollow("/login", url.Values{"email": {email}, "password": {password}})
	if p.status != http.StatusSeeOther || strings.HasPrefix(location(p), "/login") {
		b.t.Fatalf("sign-in: status = %d, Location %q, want a 303 away from /login\n%s", p.status, location(p), p.body)
	}
}

// signInFollow posts the login form of page from and follows the storefront's own redirects (the
// authorization callback) until one leaves the sign-in flow; it returns that answer and the last
// session cookie set on the way.
func (b *browser) signInFollow(from string, form url.Values) (page, string) {
	b.t.Helper()
	p := b.submit(from, "/login", form)
	var set string
	for range 5 {
		for _, v := range p.resp.Header.Values("Set-Cookie") {
			if strings.HasPrefix(v, cookieSession+"=") {
				set = v
			}
		}
		if p.status != http.StatusSeeOther || !strings.HasPrefix(location(p), "/auth/") {
			break
		}
		p = b.get(location(p))
	}
	return p, set
}

// follow follows the storefront's sign-in redirects (/auth/...) from p.
func (b *browser) follow(p page) page {
	b.t.Helper()
	for range 5 {
		if p.status != http.StatusSeeOther || !strings.HasPrefix(location(p), "/auth/") {
			break
		}
		p = b.get(location(p))
	}
	return p
}

func mustURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func (b *browser) cookie(name string) *http.Cookie {
	u, _ := url.Parse(b.base)
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func location(p page) string { return p.resp.Header.Get("Location") }

package main

import (
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// hostileNext are post-login destinations that leave the site in some browser, or are encoded or
// malformed variants of such: every one must become "/".
var hostileNext = []string{
	"", "evil.example", "//evil.example", "///evil.example", "https://evil.example/", "http:evil.example",
	"javascript:alert(1)", "data:text/html,x", "/\t/evil.example/x", "/\n/evil.example", "/\r/evil.example",
	"\t//evil.example", " /x", "/\\evil.example", "\\\\evil.example", "/\\/evil.example", "/x\\y",
	"/%09/evil.example", "/%0a/evil.example", "/%2F/evil.example", "/%2f%2fevil.example", "/%5Cevil.example",
	"/%5cevil.example", "/%zz", "/%", "/\x00", "/x\x7f", "/caf\u00e9", "/\u3000/evil.example", "//evil.example@shop",
	"/ /evil.example", "/" + strings.Repeat("a", 2048),
}

// TestSafeNext: hostile destinations become "/", local paths stay as they are.
func TestSafeNext(t *testing.T) {
	t.Parallel()
	for _, in := range hostileNext {
		if got := safeNext(in); got != "/" {
			t.Errorf("safeNext(%q) = %q, want /", in, got)
		}
	}
	for _, in := range []string{"/", "/orders", "/orders/ord-1", "/products?q=a%20b&page=2", "/products?category=books#top",
		"/account/addresses", "/products/p01?next=//evil.example"} {
		if got := safeNext(in); got != in {
			t.Errorf("safeNext(%q) = %q, want it unchanged", in, got)
		}
	}
}

// FuzzSafeNext: whatever the input, the answer is "/" or the input, and a browser following the
// redirect to it stays on this site (browsers drop TAB, CR and LF and read "\" as "/").
func FuzzSafeNext(f *testing.F) {
	for _, s := range hostileNext {
		f.Add(s)
	}
	f.Add("/orders?x=1")
	base, _ := url.Parse("https://shop.example/login")
	f.Fuzz(func(t *testing.T, in string) {
		out := safeNext(in)
		if out != "/" && out != in {
			t.Fatalf("safeNext(%q) = %q: want / or the input", in, out)
		}
		w := httptest.NewRecorder()
		redirect(w, httptest.NewRequest(http.MethodPost, "/auth/callback", nil), out)
		loc := strings.NewReplacer("\t", "", "\r", "", "\n", "", "\\", "/").Replace(w.Header().Get("Location"))
		u, err := url.Parse(loc)
		if err != nil {
			t.Fatalf("safeNext(%q) = %q: Location %q does not parse: %v", in, out, loc, err)
		}
		if got := base.ResolveReference(u); got.Host != base.Host || got.Scheme != base.Scheme {
			t.Fatalf("safeNext(%q) = %q: a browser goes to %s", in, out, got)
		}
	})
}

// TestSignInNextStaysOnSite drives the sign-in and register forms and the callback with each hostile
// next: the forms do not carry it and the final redirect goes to "/"; a local next is kept.
func TestSignInNextStaysOnSite(t *testing.T) {
	t.Parallel()
	_, srv := newSite(t)
	for _, next := range append([]string{"/orders"}, hostileNext...) {
		b := newBrowser(t, srv)
		want := safeNext(next)
		if page := b.get("/login?next=" + url.QueryEscape(next)); next != want && strings.Contains(html.UnescapeString(page.body), "evil.example") {
			t.Errorf("GET /login?next=%q: the page carries the hostile destination", next)
		}
		p, _ := b.signInFollow("/login", url.Values{"email": {fakeCustomer.Email}, "password": {"demo-Passw0rd!"}, "next": {next}})
		if p.status != http.StatusSeeOther || location(p) != want {
			t.Errorf("sign-in with next=%q: status %d, Location %q; want 303 to %q", next, p.status, location(p), want)
		}
	}
	for i, next := range append([]string{"/orders"}, hostileNext...) {
		b := newBrowser(t, srv)
		want := safeNext(next)
		if page := b.get("/register?next=" + url.QueryEscape(next)); next != want && strings.Contains(html.UnescapeString(page.body), "evil.example") {
			t.Errorf("GET /register?next=%q: the page carries the hostile destination", next)
		}
		form := url.Values{"name": {"N"}, "email": {fmt.Sprintf("next%d@shop.local", i)}, "password": {"long-enough-1"}, "next": {next}}
		if p := b.follow(b.submit("/register", "/register", form)); p.status != http.StatusSeeOther || location(p) != want {
			t.Errorf("register with next=%q: status %d, Location %q; want 303 to %q", next, p.status, location(p), want)
		}
	}
}

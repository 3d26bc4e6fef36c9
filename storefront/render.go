package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/goshop/platform/shared"
)

// pageNames are the page templates; each is parsed with base.html into its own set, so every page
// defines its own "title" and "content" without clashing with the others.
var pageNames = []string{
	"home.html", "catalog.html", "product.html", "cart.html", "checkout.html", "orders.html", "order.html",
	"login.html", "register.html", "account.html", "error.html", "notifications.html",
	"admin_products.html", "admin_product_form.html", "admin_product_delete.html", "admin_inventory.html", "admin_orders.html", "admin_users.html",
	"admin_order.html", "confirm.html",
	"admin_dashboard.html",
	"forgot_password.html", "reset_password.html", "verify_email.html",
}

// pages is the parsed template set of every page plus the static files' cache-busting version.
type pages struct {
	sets    map[string]*template.Template
	static  fs.FS
	version string // short hash of the static files, appended to their URLs
}

// parsePages parses every page at start-up, so a broken template stops the program instead of a request.
func parsePages(assets fs.FS) (*pages, error) {
	p := &pages{sets: make(map[string]*template.Template, len(pageNames))}
	for _, name := range pageNames {
		t, err := template.New(name).Funcs(templateFuncs).ParseFS(assets, "templates/base.html", "templates/"+name)
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", name, err)
		}
		if t.Lookup("base") == nil || t.Lookup("content") == nil {
			return nil, fmt.Errorf("parse %s: needs templates base and content", name)
		}
		p.sets[name] = t
	}
	static, err := fs.Sub(assets, "static")
	if err != nil {
		return nil, err
	}
	p.static = static
	h := sha256.New()
	err = fs.WalkDir(static, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(static, path)
		h.Write([]byte(path))
		h.Write(b)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("static: %w", err)
	}
	p.version = hex.EncodeToString(h.Sum(nil))[:12]
	return p, nil
}

// Image is the product's first displayable image URL, "" for the placeholder.
func (p product) Image() string {
	if imgs := p.DisplayImages(); len(imgs) > 0 {
		return imgs[0]
	}
	return ""
}

// DisplayImages are the product's image URLs that may be shown, in order: https and site-relative
// ones, what the pages' Content-Security-Policy (img-src 'self' data: https:) lets a browser load. A
// stored "javascript:" URL never reaches an attribute, and a plain http one (the API takes it) gives
// the placeholder rather than an image the browser blocks and shows broken.
func (p product) DisplayImages() []string {
	var out []string
	for _, img := range p.Images {
		if u, err := url.Parse(img); err == nil && (u.Scheme == "https" || (u.Scheme == "" && strings.HasPrefix(img, "/") && !strings.HasPrefix(img, "//"))) {
			out = append(out, img)
		}
	}
	return out
}

// moneyText renders an API amount (a JSON number kept as text) for people, "$1,234.50", exactly for
// any amount the API writes (shared.ParseCentsUnbounded: totals go far over the 10,000,000.00 bound on
// typed amounts); text that is not an amount is shown as it is.
func moneyText(n json.Number, currency string) string {
	c, err := shared.ParseCentsUnbounded(string(n))
	if err != nil {
		return string(n)
	}
	return shared.Money{Amount: c, Currency: currency}.String()
}

var templateFuncs = template.FuncMap{
	"ago":       timeAgo,
	"money":     moneyText,
	"hasPrefix": strings.HasPrefix,
	"date": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2 Jan 2006 15:04 UTC")
	},
	"initial": func(s string) string {
		for _, r := range s {
			return strings.ToUpper(string(r))
		}
		return "?"
	},
	"number": func(n json.Number) string { return string(n) },
	"shortid": func(s string) string {
		if len(s) > 8 {
			return s[:8]
		}
		return s
	},
	"title": title,
	"dict": func(kv ...string) map[string]string {
		m := make(map[string]string, len(kv)/2)
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	},
}

// title turns a slug such as "home-kitchen" into "Home kitchen".
func title(s string) string {
	if s == "" {
		return s
	}
	return upperFirst(strings.ReplaceAll(s, "-", " "))
}

// upperFirst returns s with its first character in upper case ("été" → "Été").
func upperFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}

// layout is what base.html needs; every page view embeds it.
type layout struct {
	Title     string
	User      *apiUser
	CSRF      string
	Flash     string
	FlashWarn bool // Flash is a warning (warnFlashes)
	CartCount int
	Path      string
	Static    string // version query for static URLs
	RequestID string
	Admin     bool // the admin console's navigation
	Bell      bell // the notification bell and the announcement banners
}

// newLayout fills the layout for r. A failing session lookup shows the page signed out rather than
// failing a public page.
func (s *site) newLayout(w http.ResponseWriter, r *http.Request, title string) layout {
	u, _ := s.user(r)
	flash, warn := s.takeFlash(w, r)
	return layout{
		Title:     title,
		User:      u,
		CSRF:      s.csrfToken(visitorFrom(r.Context())),
		Flash:     flash,
		FlashWarn: warn,
		CartCount: s.cartCount(r),
		Path:      r.URL.Path,
		Static:    s.pages.version,
		RequestID: shared.RequestIDFrom(r.Context()),
		Admin:     strings.HasPrefix(r.URL.Path, "/admin"),
		Bell:      s.bell(r),
	}
}

// render executes page with view into a buffer and only then writes it, so a template error still
// becomes a clean error page.
func (s *site) render(w http.ResponseWriter, r *http.Request, status int, page string, view any) {
	t, ok := s.pages.sets[page]
	if !ok {
		s.logger.ErrorContext(r.Context(), "unknown page", "page", page)
		s.renderFallback(w, r)
		return
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "base", view); err != nil {
		s.logger.ErrorContext(r.Context(), "render failed", "page", page, "err", err, "request_id", shared.RequestIDFrom(r.Context()))
		s.renderFallback(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	// Pages show the visitor's own cart, orders and tokens: never stored by shared caches.
	h.Set("Cache-Control", "private, no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// renderFallback is the last resort when a page template itself fails: static HTML, no data.
func (s *site) renderFallback(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusInternalServerError)
	fmt.Fprintf(w, `<!doctype html><html lang="en"><meta charset="utf-8"><title>Error</title><link rel="stylesheet" href="/static/app.css"><main class="container"><h1>Something went wrong</h1><p>Please try again. Request ID: <code>%s</code></p><p><a href="/">Back to the shop</a></p></main></html>`,
		template.HTMLEscapeString(shared.RequestIDFrom(r.Context())))
}

type errorView struct {
	layout
	Status  int
	Heading string
	Message string
	APIRef  string
	// BackURL and BackLabel lead back to the page of the form whose post failed (formBack).
	BackURL, BackLabel string
}

// renderError shows an error page in the layout: the API's message for 4xx, a friendly text for 5xx,
// and the request ID to quote to support; never a cause or a stack.
func (s *site) renderError(w http.ResponseWriter, r *http.Request, err error) {
	ae := asAPIError(err)
	if ae.Status >= 500 {
		s.logger.ErrorContext(r.Context(), "page failed", "path", r.URL.Path, "err", err, "request_id", shared.RequestIDFrom(r.Context()))
	}
	heading := map[int]string{
		http.StatusBadRequest:          "That did not work",
		http.StatusUnauthorized:        "Please sign in",
		http.StatusForbidden:           "Not allowed",
		http.StatusNotFound:            "Not found",
		http.StatusConflict:            "That clashes with something",
		http.StatusTooManyRequests:     "Slow down a little",
		http.StatusServiceUnavailable:  "Temporarily unavailable",
		http.StatusInternalServerError: "Something went wrong",
	}[ae.Status]
	if heading == "" {
		heading = http.StatusText(ae.Status)
	}
	view := errorView{layout: s.newLayout(w, r, heading), Status: ae.Status, Heading: heading, Message: ae.Message, APIRef: ae.RequestID}
	switch ae.Status {
	case http.StatusBadRequest, http.StatusConflict: // the page is still there
		view.BackURL, view.BackLabel = formBack(r)
	case http.StatusNotFound: // the thing is not (an old link, another account's order): its list
		view.BackURL, view.BackLabel = listOf(r.URL.Path)
	}
	s.render(w, r, ae.Status, "error.html", view)
}

// act makes the API call c of a form post as the caller (c.token is set here). When it succeeds it
// sets the flash and redirects to the page at to, so the message shows there once; otherwise it
// renders the error page.
func (s *site) act(w http.ResponseWriter, r *http.Request, c call, flash, to string) {
	c.token = s.accessToken(r)
	if _, err := s.gw.do(r.Context(), c); err != nil {
		s.renderError(w, r, err)
		return
	}
	s.flash(w, flash)
	redirect(w, r, to)
}

// redirect answers a form post or a guard with 303 See Other, so a reload never re-posts.
func redirect(w http.ResponseWriter, r *http.Request, to string) {
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// loginRedirect sends a signed-out visitor to the sign-in page, coming back to where they were.
func loginRedirect(w http.ResponseWriter, r *http.Request) {
	next := r.URL.Path
	if r.Method == http.MethodGet && r.URL.RawQuery != "" {
		next += "?" + r.URL.RawQuery
	}
	redirect(w, r, "/login?next="+url.QueryEscape(next))
}

// maxNext bounds a post-login destination; longer ones become "/".
const maxNext = 2048

// safeNext keeps a post-login destination on this site: it returns s when s is a local absolute path
// (with an optional query), else "/". Browsers drop TAB, CR and LF anywhere in a URL and read "\" as
// "/", so "/<TAB>/evil.example" or "/\evil.example" would leave the site as "//evil.example"; s is
// therefore accepted only when it is printable ASCII without backslashes, parses as a reference with
// no scheme, host or user, starts with exactly one "/", and its percent-decoded path has none of
// that either.
func safeNext(s string) string {
	if s == "" || len(s) > maxNext || !localPath(s) {
		return "/"
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return "/"
	}
	dec, err := url.PathUnescape(u.EscapedPath())
	if err != nil || !localPath(dec) {
		return "/"
	}
	return s
}

// localPath reports whether p is printable ASCII without backslashes that starts with "/" but not
// "//".
func localPath(p string) bool {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") {
		return false
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; c <= ' ' || c >= 0x7f || c == '\\' {
			return false
		}
	}
	return true
}

func shortID(s string) string {
	if len(s) > 8 {
		return s[:8]
	}
	return s
}

func validID(id string) bool { return id != "" && len(id) <= 128 && !strings.ContainsAny(id, "/?#") }

// idParam returns the {id} of a page about one thing (noun: "order", "product", ...); for one that
// cannot be an ID it answers 404 "No such <noun>." and returns false.
func (s *site) idParam(w http.ResponseWriter, r *http.Request, noun string) (string, bool) {
	id := r.PathValue("id")
	if !validID(id) {
		s.renderError(w, r, &apiError{Status: http.StatusNotFound, Code: shared.CodeNotFound, Message: "No such " + noun + "."})
		return "", false
	}
	return id, true
}

package shared

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// CheckTimeout bounds one dependency check of /readyz.
const CheckTimeout = 2 * time.Second

// Readiness answers /readyz: 200 when every registered dependency check passes, 503 with the failing
// ones and their reasons otherwise, and 503 for good once shutdown has begun. Checks run concurrently,
// each bounded by CheckTimeout.
type Readiness struct {
	mu       sync.Mutex
	checks   map[string]func(context.Context) error
	shutdown atomic.Bool
}

// NewReadiness returns a Readiness with no checks.
func NewReadiness() *Readiness {
	return &Readiness{checks: make(map[string]func(context.Context) error)}
}

// Add registers a named check, e.g. "mongo" with the client's Ping.
func (rd *Readiness) Add(name string, check func(context.Context) error) {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	rd.checks[name] = check
}

// ShuttingDown makes every later /readyz answer 503, so load balancers stop sending traffic.
func (rd *Readiness) ShuttingDown() { rd.shutdown.Store(true) }

// Check runs every check and returns each one's result: "ok" or the error text.
func (rd *Readiness) Check(ctx context.Context) (map[string]string, bool) {
	rd.mu.Lock()
	checks := make(map[string]func(context.Context) error, len(rd.checks))
	for n, c := range rd.checks {
		checks[n] = c
	}
	rd.mu.Unlock()

	var (
		mu  sync.Mutex
		wg  sync.WaitGroup
		out = make(map[string]string, len(checks))
		ok  = true
	)
	for name, check := range checks {
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, CheckTimeout)
			defer cancel()
			res := "ok"
			if err := check(cctx); err != nil {
				res = err.Error()
			}
			mu.Lock()
			out[name] = res
			if res != "ok" {
				ok = false
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	return out, ok
}

type readyBody struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks"`
	Failed []string          `json:"failed,omitempty"`
}

// Handler serves /readyz.
func (rd *Readiness) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if rd.shutdown.Load() {
			Encode(w, http.StatusServiceUnavailable, readyBody{Status: "shutting_down", Checks: map[string]string{}})
			return
		}
		res, ok := rd.Check(r.Context())
		if ok {
			Encode(w, http.StatusOK, readyBody{Status: "ok", Checks: res})
			return
		}
		var failed []string
		for n, v := range res {
			if v != "ok" {
				failed = append(failed, n)
			}
		}
		sort.Strings(failed)
		Encode(w, http.StatusServiceUnavailable, readyBody{Status: "unavailable", Checks: res, Failed: failed})
	})
}

// Healthz answers liveness: the process serves HTTP. It checks nothing.
func Healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	Encode(w, http.StatusOK, map[string]string{"status": "ok"})
}

// DocumentCacheControl is the Cache-Control of a served API document: browsers and shared caches
// may keep it five minutes, then revalidate with its ETag (a build with another document changes it).
const DocumentCacheControl = "public, max-age=300, must-revalidate"

// Document serves doc, a JSON document fixed at build time (a service's go:embed'ed openapi.json):
// Static with Content-Type application/json.
func Document(doc []byte) http.Handler { return Static("application/json", doc) }

// Static serves body, bytes fixed at build time or start-up, with contentType, a strong ETag (the
// first 128 bits of its SHA-256, the same on every instance) and DocumentCacheControl. The
// conditional and range rules are net/http's (http.ServeContent): If-None-Match naming the ETag (or
// *) answers 304 without a body, HEAD answers the headers, Range 206. body is not copied: the caller
// must not change it.
func Static(contentType string, body []byte) http.Handler {
	sum := sha256.Sum256(body)
	etag := `"` + hex.EncodeToString(sum[:16]) + `"`
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", DocumentCacheControl)
		h.Set("Etag", etag)
		h.Set("Content-Type", contentType)
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
	})
}

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

// ReadyzPodScope is the query that narrows /readyz to the instance's own state: GET
// /readyz?scope=pod, Kubernetes' readinessProbe (deploy/k8s/base/pod-defaults.yaml). ReadyzPodPath is
// the whole path.
const (
	ReadyzPodScope = "pod"
	ReadyzPodPath  = "/readyz?scope=" + ReadyzPodScope
)

// Readiness answers /readyz. It holds two kinds of check, and the registration says which:
//   - Add: a dependency every copy of the program shares (Mongo, Kafka, Redis, the gateway). GET
//     /readyz runs these: "dependencies reachable", what compose's depends_on and the dev launcher
//     wait for.
//   - AddOwn: the instance's own state (a start-up step not done yet, Program.Setup). Both answers
//     run these.
//
// GET /readyz answers 200 when every check passes, 503 with the failing ones and their reasons
// otherwise. GET /readyz?scope=pod (ReadyzPodPath) runs only the AddOwn checks: a load balancer that
// takes a failing instance out of rotation asks it, because a dependency all copies share fails on
// all of them at once, and taking every copy out turns a partial outage (order still takes
// checkouts into its outbox while Kafka is down) into a whole one. Both answer 503 for good once
// shutdown has begun. Checks run concurrently, each bounded by CheckTimeout.
type Readiness struct {
	mu       sync.Mutex
	checks   map[string]readyCheck
	shutdown atomic.Bool
}

type readyCheck struct {
	fn  func(context.Context) error
	own bool // AddOwn: in the pod-scoped answer too
}

// NewReadiness returns a Readiness with no checks.
func NewReadiness() *Readiness {
	return &Readiness{checks: make(map[string]readyCheck)}
}

// Add registers a named check of a dependency every copy of the program shares, e.g. "mongo" with
// the client's Ping: GET /readyz runs it, the pod-scoped answer does not.
func (rd *Readiness) Add(name string, check func(context.Context) error) {
	rd.add(name, readyCheck{fn: check})
}

// AddOwn registers a named check of this instance's own state, e.g. a start-up step that reports an
// error until it has run: both GET /readyz and the pod-scoped answer run it.
func (rd *Readiness) AddOwn(name string, check func(context.Context) error) {
	rd.add(name, readyCheck{fn: check, own: true})
}

func (rd *Readiness) add(name string, c readyCheck) {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	rd.checks[name] = c
}

// ShuttingDown makes every later /readyz answer 503, so load balancers stop sending traffic.
func (rd *Readiness) ShuttingDown() { rd.shutdown.Store(true) }

// Check runs every check and returns each one's result: "ok" or the error text.
func (rd *Readiness) Check(ctx context.Context) (map[string]string, bool) {
	return rd.check(ctx, false)
}

// check runs every check, or with ownOnly only the AddOwn ones.
func (rd *Readiness) check(ctx context.Context, ownOnly bool) (map[string]string, bool) {
	rd.mu.Lock()
	checks := make(map[string]func(context.Context) error, len(rd.checks))
	for n, c := range rd.checks {
		if c.own || !ownOnly {
			checks[n] = c.fn
		}
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
	Scope  string            `json:"scope,omitempty"` // "pod" for the pod-scoped answer
	Checks map[string]string `json:"checks"`
	Failed []string          `json:"failed,omitempty"`
}

// Handler serves /readyz, and /readyz?scope=pod (ReadyzPodPath) from the same route. Any other scope
// is a 400, so a misspelt probe fails at the first rollout instead of quietly checking everything.
func (rd *Readiness) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		scope := r.URL.Query().Get("scope")
		if scope != "" && scope != ReadyzPodScope {
			WriteError(w, r, nil, Invalid(map[string]string{"scope": `must be empty or "` + ReadyzPodScope + `"`}))
			return
		}
		if rd.shutdown.Load() {
			Encode(w, http.StatusServiceUnavailable, readyBody{Status: "shutting_down", Scope: scope, Checks: map[string]string{}})
			return
		}
		res, ok := rd.check(r.Context(), scope == ReadyzPodScope)
		if ok {
			Encode(w, http.StatusOK, readyBody{Status: "ok", Scope: scope, Checks: res})
			return
		}
		var failed []string
		for n, v := range res {
			if v != "ok" {
				failed = append(failed, n)
			}
		}
		sort.Strings(failed)
		Encode(w, http.StatusServiceUnavailable, readyBody{Status: "unavailable", Scope: scope, Checks: res, Failed: failed})
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

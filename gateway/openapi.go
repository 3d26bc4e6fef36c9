package main

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path"
	"sync"
	"time"

	"github.com/goshop/platform/shared"
)

// gatewayDocument is the gateway's own OpenAPI 3.1 document (its routes and the answers it gives on
// every proxied route); GET /openapi.json merges the services' documents into it.
//
//go:embed openapi.json
var gatewayDocument []byte

// apiDocsTTL is how long a complete merged document is served before the upstreams are asked again
// (a service deployed with a new document shows within it); the same as the document's max-age.
const apiDocsTTL = 5 * time.Minute

// maxAPIDocument bounds one upstream document read by the merge.
const maxAPIDocument = 4 << 20

// apiDocs serves GET /openapi.json: the merged document of the public API (mergeAPIDocuments), built
// on the first request from every service's GET /openapi.json, fetched through the service's proxy
// (its load balancing, breakers and retries). A complete merge is kept for apiDocsTTL. When services
// do not answer, the document of the others is served with their names in info.x-missing-services,
// Cache-Control: no-store, and is not kept: the next request asks again. With no service answering
// the answer is 503 unavailable. One build at a time; concurrent requests wait for it.
type apiDocs struct {
	logger   *slog.Logger
	services []string
	fetch    func(ctx context.Context, service string) ([]byte, error)
	timeout  time.Duration

	mu      sync.Mutex
	served  http.Handler // shared.Document of the last complete merge; nil before one
	builtAt time.Time
}

func newAPIDocs(logger *slog.Logger, gw *gateway, timeout time.Duration) *apiDocs {
	return &apiDocs{logger: logger, services: gw.services, timeout: timeout,
		fetch: func(ctx context.Context, service string) ([]byte, error) {
			return fetchThrough(ctx, gw.proxies[service], "/"+service+"/openapi.json")
		}}
}

func (d *apiDocs) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.served != nil && time.Since(d.builtAt) < apiDocsTTL {
		d.served.ServeHTTP(w, r)
		return
	}
	// The build outlives a client that goes away: the next request would only start it again.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), d.timeout)
	defer cancel()
	doc, missing, err := d.build(ctx)
	if err != nil {
		shared.WriteError(w, r, d.logger, err)
		return
	}
	if len(missing) > 0 {
		d.logger.WarnContext(r.Context(), "openapi: merged document without some services", "missing", missing)
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Content-Type", "application/json")
		w.Write(doc)
		return
	}
	d.served, d.builtAt = shared.Document(doc), time.Now()
	d.served.ServeHTTP(w, r)
}

// build fetches every service's document and merges them. missing names the services whose
// document could not be had; when that is all of them, the error is unavailable.
func (d *apiDocs) build(ctx context.Context) (doc []byte, missing []string, err error) {
	docs := make([]map[string]any, len(d.services))
	errs := make([]error, len(d.services))
	var wg sync.WaitGroup
	for i, svc := range d.services {
		wg.Go(func() {
			b, err := d.fetch(ctx, svc)
			if err == nil {
				err = json.Unmarshal(b, &docs[i])
			}
			errs[i] = err
		})
	}
	wg.Wait()
	var parts []apiPart
	for i, svc := range d.services {
		if errs[i] != nil || docs[i] == nil {
			d.logger.WarnContext(ctx, "openapi: no document", "service", svc, "err", errs[i])
			missing = append(missing, svc)
			continue
		}
		parts = append(parts, apiPart{service: svc, prefix: "/" + svc, doc: docs[i]})
	}
	if len(parts) == 0 {
		return nil, missing, &shared.Error{Code: shared.CodeUnavailable, Message: "no service answered with its API document, try again later",
			Err: errors.Join(errs...)}
	}
	var own map[string]any
	if err := json.Unmarshal(gatewayDocument, &own); err != nil {
		return nil, nil, fmt.Errorf("gateway openapi.json: %w", err)
	}
	if len(missing) > 0 {
		info, _ := own["info"].(map[string]any)
		info["x-missing-services"] = missing
	}
	doc, err = json.MarshalIndent(mergeAPIDocuments(own, parts), "", "  ")
	return doc, missing, err
}

// fetchThrough sends GET path through h (a service's proxy) and returns the body of a 200 answer.
func fetchThrough(ctx context.Context, h http.Handler, path string) ([]byte, error) {
	r, err := http.NewRequestWithContext(ctx, http.MethodGet, path, nil)
	if err != nil {
		return nil, err
	}
	r.Header.Set("Accept", "application/json")
	w := &bufferedResponse{header: http.Header{}}
	h.ServeHTTP(w, r)
	switch {
	case w.status != http.StatusOK:
		return nil, fmt.Errorf("GET %s: status %d", path, w.status)
	case w.body.Len() > maxAPIDocument:
		return nil, fmt.Errorf("GET %s: document over %d bytes", path, maxAPIDocument)
	}
	return w.body.Bytes(), nil
}

// bufferedResponse is an http.ResponseWriter that keeps the answer, up to one byte over
// maxAPIDocument, for fetchThrough.
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header { return b.header }

func (b *bufferedResponse) WriteHeader(status int) {
	if b.status == 0 {
		b.status = status
	}
}

func (b *bufferedResponse) Write(p []byte) (int, error) {
	b.WriteHeader(http.StatusOK)
	if room := maxAPIDocument + 1 - b.body.Len(); len(p) > room {
		b.body.Write(p[:max(room, 0)])
		return len(p), nil
	}
	return b.body.Write(p)
}

// docsFiles is the API reference page: a small viewer written for this gateway (docs/gateway.md says
// why it is not Swagger UI or Redoc), shipped in the binary, requesting nothing from other sites.
//
//go:embed docs
var docsFiles embed.FS

// docsCSP allows the reference page its own script, style sheet and requests to this origin (the
// merged document, and the calls "Try it" sends) and nothing else: no inline code, no other origin,
// no framing, no form posts.
const docsCSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// docsTypes are the page's files and their Content-Type; nothing else under docs/ is served.
var docsTypes = map[string]string{
	"index.html": "text/html; charset=utf-8",
	"viewer.js":  "text/javascript; charset=utf-8",
	"viewer.css": "text/css; charset=utf-8",
}

// handleDocs serves GET /docs (the page) and GET /docs/{file} (its script and style sheet) with
// docsCSP, ETags and DocumentCacheControl; any other file is 404 in the error shape.
func handleDocs() http.Handler {
	files := map[string]http.Handler{}
	for name, contentType := range docsTypes {
		// Every name is embedded (TestDocsPage asks for each); a missing one would just be a 404.
		if b, err := docsFiles.ReadFile(path.Join("docs", name)); err == nil {
			files[name] = shared.Static(contentType, b)
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("file")
		if name == "" {
			name = "index.html"
		}
		h, ok := files[name]
		if !ok || name == "index.html" && r.PathValue("file") != "" {
			shared.WriteError(w, r, nil, shared.Errorf(shared.CodeNotFound, "no such file %q", name))
			return
		}
		w.Header().Set("Content-Security-Policy", docsCSP)
		h.ServeHTTP(w, r)
	})
}

package main

import (
	"embed"
	"net/http"
	"path"

	"github.com/goshop/platform/shared"
)

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

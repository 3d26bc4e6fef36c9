package shared

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"time"
)

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

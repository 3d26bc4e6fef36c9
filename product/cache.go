package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"time"
)

// publicCacheControl lets the gateway and browsers reuse a public read for 30 s; after that they
// revalidate with If-None-Match and get a body-less 304 when nothing changed. privateCacheControl is
// for admin views (inactive products): never stored by shared caches, revalidated by the browser.
const (
	publicCacheControl  = "public, max-age=30"
	privateCacheControl = "private, no-cache"
	// notFoundCacheControl is a public single-product 404's: short, like the gateway's negative TTL.
	notFoundCacheControl = "public, max-age=10"
)

// writeCacheable answers a GET or HEAD read with body (JSON), Cache-Control cc, a strong ETag (the
// first 128 bits of the body's SHA-256, so every instance computes the same one) and Last-Modified
// when lastModified is not zero.
//
// The conditional and range rules are net/http's (http.ServeContent, RFC 9110 § 13): If-None-Match
// (weak comparison, lists, "*") answers 304 without body, Content-Type or Last-Modified, and wins
// over If-Modified-Since; If-Match and If-Unmodified-Since answer 412; Range answers 206. lastModified
// is a validator only when trustModified is set: for lists the newest updated_at can go backwards
// (the newest product deleted), so there Last-Modified is informative and only the ETag validates.
func writeCacheable(w http.ResponseWriter, r *http.Request, cc string, body []byte, lastModified time.Time, trustModified bool) {
	sum := sha256.Sum256(body)
	var tag [2 + 2*16]byte
	tag[0] = '"'
	hex.Encode(tag[1:], sum[:16])
	tag[len(tag)-1] = '"'

	h := w.Header()
	h.Set("Cache-Control", cc)
	h.Set("Etag", string(tag[:]))
	h.Set("Content-Type", "application/json")
	validator := lastModified
	if !trustModified {
		if !lastModified.IsZero() {
			h.Set("Last-Modified", lastModified.UTC().Format(http.TimeFormat))
		}
		validator = time.Time{}
	}
	http.ServeContent(w, r, "", validator, bytes.NewReader(body))
}

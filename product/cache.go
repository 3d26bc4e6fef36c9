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
// (weak comparison, lists, "*") answers 304 without body, Content-Type or Last-Modified; If-Match
// answers 412; Range answers 206. Last-Modified is informative, never a validator: it has whole
// seconds while a product changes within one (updated_at has milliseconds), so a client holding the
// copy read earlier in the second of a change would get a stale 304 to If-Modified-Since; and a list's
// newest updated_at can go backwards (the newest product deleted). Only the ETag validates.
func writeCacheable(w http.ResponseWriter, r *http.Request, cc string, body []byte, lastModified time.Time) {
	sum := sha256.Sum256(body)
	var tag [2 + 2*16]byte
	tag[0] = '"'
	hex.Encode(tag[1:], sum[:16])
	tag[len(tag)-1] = '"'

	h := w.Header()
	h.Set("Cache-Control", cc)
	h.Set("Etag", string(tag[:]))
	h.Set("Content-Type", "application/json")
	if !lastModified.IsZero() {
		h.Set("Last-Modified", lastModified.UTC().Format(http.TimeFormat))
	}
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

package main

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
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

// writeCacheable answers a read: body (JSON) with Cache-Control cc, a strong ETag (a hash of the
// body, so every instance computes the same one) and Last-Modified (when lastModified is not zero).
// A matching If-None-Match gets 304. If-Modified-Since is honoured only when trustModified is set:
// for lists the newest updated_at can go backwards (the newest product deleted), so only ETags are
// safe there.
func writeCacheable(w http.ResponseWriter, r *http.Request, cc string, body []byte, lastModified time.Time, trustModified bool) error {
	sum := sha256.Sum256(body)
	var tag [2 + 2*16]byte
	tag[0] = '"'
	hex.Encode(tag[1:], sum[:16])
	tag[len(tag)-1] = '"'
	etag := string(tag[:])

	h := w.Header()
	h.Set("Cache-Control", cc)
	h.Set("ETag", etag)
	if !lastModified.IsZero() {
		h.Set("Last-Modified", lastModified.UTC().Format(http.TimeFormat))
	}
	if notModified(r, etag, lastModified, trustModified) {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	h.Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return nil
	}
	_, err := w.Write(body)
	return err
}

// notModified applies RFC 9110 § 13.2.2: If-None-Match (weak comparison) wins; If-Modified-Since is
// consulted only without it.
func notModified(r *http.Request, etag string, lastModified time.Time, trustModified bool) bool {
	if inm := r.Header.Get("If-None-Match"); inm != "" {
		for _, t := range strings.Split(inm, ",") {
			t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
			if t == "*" || t == etag {
				return true
			}
		}
		return false
	}
	if !trustModified || lastModified.IsZero() {
		return false
	}
	ims, err := http.ParseTime(r.Header.Get("If-Modified-Since"))
	if err != nil {
		return false
	}
	return !lastModified.Truncate(time.Second).After(ims)
}

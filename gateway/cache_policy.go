package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/goshop/platform/shared"
)

// What may be shared, for how long, and how a shared answer meets one client's conditional request.

// conditionalHeaders make an answer specific to one client; a coalesced fetch drops them.
var conditionalHeaders = []string{"If-None-Match", "If-Modified-Since", "If-Match", "If-Unmodified-Since", "If-Range", "Range"}

// notModifiedHeaders are what a 304 carries from the entry (RFC 9110 15.4.5).
var notModifiedHeaders = []string{"Cache-Control", "Content-Location", "Etag", "Expires", "Vary", "Last-Modified"}

// etagMatches is If-None-Match's weak comparison: "*" or any listed tag equal to etag, W/ ignored.
func etagMatches(ifNoneMatch, etag string) bool {
	if ifNoneMatch == "" || etag == "" {
		return false
	}
	if strings.TrimSpace(ifNoneMatch) == "*" {
		return true
	}
	etag = strings.TrimPrefix(etag, "W/")
	for _, t := range strings.Split(ifNoneMatch, ",") {
		if strings.TrimPrefix(strings.TrimSpace(t), "W/") == etag {
			return true
		}
	}
	return false
}

// storable decides whether the upstream's answer may be shared, and for how long (cacheRoute says
// how the route's TTL and the upstream's Cache-Control combine): a status the route stores, no
// Set-Cookie, no private/no-store/no-cache, no max-age=0, no Vary beyond Origin and the route's own,
// no content encoding.
func storable(b *bufferWriter, route *cacheRoute) (time.Duration, bool) {
	h := b.header
	ttl := route.ttl(b.status)
	if ttl <= 0 || len(h.Values("Set-Cookie")) > 0 || h.Get("Content-Encoding") != "" {
		return 0, false
	}
	for _, v := range h.Values("Vary") {
		for _, f := range strings.Split(v, ",") {
			if f = strings.TrimSpace(f); f != "" && !route.varies(f) {
				return 0, false
			}
		}
	}
	var maxAge, sMaxAge = -1, -1
	for _, v := range h.Values("Cache-Control") {
		for _, d := range strings.Split(v, ",") {
			name, val, _ := strings.Cut(strings.TrimSpace(d), "=")
			switch strings.ToLower(name) {
			case "private", "no-store", "no-cache":
				return 0, false
			case "max-age":
				maxAge = atoiOr(val, 0)
			case "s-maxage":
				sMaxAge = atoiOr(val, 0)
			}
		}
	}
	if sMaxAge >= 0 {
		ttl = min(ttl, time.Duration(sMaxAge)*time.Second)
	} else if maxAge == 0 || maxAge > 0 && b.status >= 400 {
		// max-age=0 asks every cache to revalidate each time; on a negative answer max-age is the
		// upstream's own cap. Otherwise max-age is the browsers' and the route's TTL stands.
		ttl = min(ttl, time.Duration(maxAge)*time.Second)
	}
	return ttl, ttl > 0
}

func atoiOr(s string, def int) int {
	n, err := strconv.Atoi(strings.Trim(s, `"`))
	if err != nil || n < 0 {
		return def
	}
	return n
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// bufferWriter is the ResponseWriter a coalesced fetch proxies into.
type bufferWriter struct {
	header   http.Header
	status   int
	body     bytes.Buffer
	overflow bool
}

func newBufferWriter() *bufferWriter { return &bufferWriter{header: http.Header{}} }

func (b *bufferWriter) Header() http.Header { return b.header }

func (b *bufferWriter) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}

func (b *bufferWriter) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	if b.body.Len()+len(p) > maxCacheBody {
		b.overflow = true
	}
	return b.body.Write(p)
}

// unstoredHeaders are not kept in an entry: they belong to one response, or the gateway sets them per
// request.
var unstoredHeaders = []string{"Date", "Connection", "Keep-Alive", "Transfer-Encoding", "Content-Length",
	"Set-Cookie", "X-Cache-Status", "Age", shared.RequestIDHeader}

func (b *bufferWriter) entry(now time.Time) *entry {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	h := b.header.Clone()
	for _, k := range unstoredHeaders {
		delete(h, k)
	}
	body := b.body.Bytes()
	return &entry{Status: b.status, Header: h, Body: body, Stored: now, contentLength: []string{strconv.Itoa(len(body))}}
}

// withRequestID returns an error body (the platform's error shape) whose request_id is id. A shared
// error answer (a stored 404, or one coalesced fetch's answer to every waiter) names the request that
// fetched it; each client must read its own, the X-Request-ID it is answered with, or a client quoting
// it points at someone else's request. Bodies of another shape, and a missing id, are left as they are.
func withRequestID(body []byte, id string) []byte {
	var e shared.ErrorBody
	if id == "" || json.Unmarshal(body, &e) != nil || e.Error.RequestID == "" || e.Error.RequestID == id {
		return body
	}
	old, _ := json.Marshal(e.Error.RequestID)
	cur, _ := json.Marshal(id)
	return bytes.Replace(body, append([]byte(`"request_id":`), old...), append([]byte(`"request_id":`), cur...), 1)
}

package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/goshop/platform/shared"
)

// maxBody is the request body limit for service's routes.
func (c Config) maxBody(service string) int64 {
	if service == "auth" {
		return c.AuthMaxBody
	}
	return c.MaxBody
}

// bodyLimit admits request bodies of at most max bytes and answers anything larger with 413 in the
// error shape before the upstream sees a byte of it:
//   - a Content-Length over max is refused without reading the body;
//   - a body of unknown length (chunked) is read into memory up to max+1 bytes, never further; over
//     max it is refused, else it is sent on with its now known length, so an upstream never gets a
//     body that is cut off half way (which answered nothing, or a confusing 400, before);
//   - a body that is longer than its Content-Length cannot reach here (net/http reads no further).
//
// After a 413 the connection is closed: the unread rest of the body makes it unusable. Closing a
// socket with unread data makes the kernel send a reset, which can destroy the answer before the
// client has read it (the audit saw chunked uploads get no answer at all). net/http lingers for that
// (closeWriteAndWait) only in some cases (not when the client asked for Connection: close, nor when
// the limit was hit through a wrapped ResponseWriter), so the gateway does it itself: see linger.
func bodyLimit(max int64, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
			next.ServeHTTP(w, r)
			return
		}
		raw := r.Body
		if r.ContentLength > max {
			tooLarge(w, r, raw, max)
			return
		}
		// MaxBytesReader also tells the server the limit was hit, which makes it close the connection
		// gracefully after the answer.
		body := http.MaxBytesReader(w, raw, max)
		if r.ContentLength < 0 {
			buf, err := io.ReadAll(body)
			var maxErr *http.MaxBytesError
			switch {
			case errors.As(err, &maxErr):
				tooLarge(w, r, raw, max)
				return
			case err != nil:
				shared.WriteError(w, r, nil, shared.Errorf(shared.CodeInvalid, "request body could not be read"))
				return
			}
			r.ContentLength = int64(len(buf))
			r.TransferEncoding = nil
			body = io.NopCloser(bytes.NewReader(buf))
		}
		r.Body = body
		next.ServeHTTP(w, r)
	})
}

// lingerTime bounds how long a refused body is drained after the 413 (net/http's rstAvoidanceDelay).
const lingerTime = 500 * time.Millisecond

// tooLarge answers 413 in the error shape, complete with its length and Connection: close, then
// lingers on the unread body raw.
func tooLarge(w http.ResponseWriter, r *http.Request, raw io.Reader, max int64) {
	body := shared.ErrorJSON(shared.CodeTooLarge, fmt.Sprintf("request body is larger than %d bytes", max), shared.RequestIDFrom(r.Context()))
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Connection", "close")
	w.WriteHeader(http.StatusRequestEntityTooLarge)
	w.Write(body)
	linger(w, raw)
}

// linger sends the answer now and then reads and discards what the client still sends, for at most
// lingerTime, so that closing the connection does not reset it under the client before it has read
// the answer (RFC 9112 section 9.6, "lingering close"). Nothing read here is kept or forwarded; a
// client that takes the answer and closes (every HTTP client does on Connection: close) ends it at
// once.
func linger(w http.ResponseWriter, raw io.Reader) {
	rc := http.NewResponseController(w)
	if raw == nil || rc.Flush() != nil || rc.SetReadDeadline(time.Now().Add(lingerTime)) != nil {
		return
	}
	io.Copy(io.Discard, raw)
}

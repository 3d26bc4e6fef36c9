package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"sync/atomic"
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
		br := &bodyReader{ReadCloser: body}
		r = r.WithContext(context.WithValue(r.Context(), bodyReaderKey{}, br))
		r.Body = br
		next.ServeHTTP(w, r)
	})
}

// bodyReader is a request body on its way to the upstream that remembers whether reading it timed
// out: a client whose upload stalls past the server's ReadTimeout is still there, waiting for an
// answer, though net/http cancels the request's context as it does for a client that left. The
// proxy's error handler tells the two apart with it (proxy.errorHandler).
type bodyReader struct {
	io.ReadCloser
	timedOut atomic.Bool // read by the error handler while the transport may still be reading
}

func (b *bodyReader) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		b.timedOut.Store(true)
	}
	return n, err
}

// bodyReaderKey is the context key of a request's bodyReader: ReverseProxy wraps the body it sends,
// so the error handler finds it through the context.
type bodyReaderKey struct{}

// bodyTimedOut reports whether reading r's body (as bodyLimit passed it on) timed out.
func bodyTimedOut(r *http.Request) bool {
	b, ok := r.Context().Value(bodyReaderKey{}).(*bodyReader)
	return ok && b.timedOut.Load()
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

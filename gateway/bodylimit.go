package main

import (
	"bytes"
	"errors"
	"io"
	"net/http"

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
// After a 413 the connection is closed: the unread rest of the body makes it unusable. net/http then
// half-closes and lingers briefly (closeWriteAndWait) instead of resetting the connection, so the
// client reads the answer rather than a connection reset.
func bodyLimit(max int64, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
			next.ServeHTTP(w, r)
			return
		}
		if r.ContentLength > max {
			tooLarge(w, r, max)
			return
		}
		// MaxBytesReader also tells the server the limit was hit, which makes it close the connection
		// gracefully after the answer.
		body := http.MaxBytesReader(w, r.Body, max)
		if r.ContentLength < 0 {
			buf, err := io.ReadAll(body)
			var maxErr *http.MaxBytesError
			switch {
			case errors.As(err, &maxErr):
				tooLarge(w, r, max)
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

// tooLarge answers 413 in the error shape and closes the connection after it.
func tooLarge(w http.ResponseWriter, r *http.Request, max int64) {
	w.Header().Set("Connection", "close")
	shared.WriteError(w, r, nil, shared.Errorf(shared.CodeTooLarge, "request body is larger than %d bytes", max))
}

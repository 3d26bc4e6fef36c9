package shared

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"time"
)

// RequestIDHeader is the header that carries a request's ID between programs and back to the client.
const RequestIDHeader = "X-Request-ID"

type ctxKey int

const (
	requestIDKey ctxKey = iota
	identityKey
	routeKey
)

// RouteFrom returns the route pattern the mux matched for the request of ctx ("" before routing or when
// nothing matched). Middleware outside a WithContext copy cannot see r.Pattern, so Routes records it in
// a holder that RequestID puts in the context.
func RouteFrom(ctx context.Context, r *http.Request) string {
	if r != nil && r.Pattern != "" {
		return r.Pattern
	}
	if p, ok := ctx.Value(routeKey).(*string); ok {
		return *p
	}
	return ""
}

// RequestIDFrom returns the request ID RequestID stored in ctx, or "".
func RequestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// WithRequestID returns ctx carrying id, for outgoing calls made outside a request (consumers).
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey, id)
}

// NewID returns 16 random bytes in hex: request IDs, event IDs, tokens.
func NewID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// SaneRequestID reports whether an incoming request ID can be reused: 1 to 128 characters of
// [A-Za-z0-9._-], so it cannot smuggle anything into logs or headers.
func SaneRequestID(id string) bool {
	if len(id) == 0 || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// RequestID reuses a sane incoming X-Request-ID or makes one, stores it in the context and sets it on
// the response.
func RequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(RequestIDHeader)
		if !SaneRequestID(id) {
			id = NewID()
			r.Header.Set(RequestIDHeader, id)
		}
		w.Header().Set(RequestIDHeader, id)
		ctx := WithRequestID(r.Context(), id)
		if _, ok := ctx.Value(routeKey).(*string); !ok {
			ctx = context.WithValue(ctx, routeKey, new(string))
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// StatusRecorder wraps a ResponseWriter to remember the status and bytes written. It keeps Flush,
// Hijack (WebSocket upgrades) and Unwrap working through http.ResponseController.
type StatusRecorder struct {
	http.ResponseWriter
	Status int
	Bytes  int64
}

func (s *StatusRecorder) WriteHeader(code int) {
	if s.Status == 0 {
		s.Status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *StatusRecorder) Write(b []byte) (int, error) {
	if s.Status == 0 {
		s.Status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	s.Bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *StatusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// Flush forwards to the underlying writer when it can flush.
func (s *StatusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Hijack forwards to the underlying writer, for WebSocket upgrades.
func (s *StatusRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := s.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("hijack not supported")
	}
	if s.Status == 0 {
		s.Status = http.StatusSwitchingProtocols
	}
	return h.Hijack()
}

// AccessLog writes one line per request: method, path, route pattern, status, bytes, duration.
func AccessLog(logger *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			rec := &StatusRecorder{ResponseWriter: w}
			next.ServeHTTP(rec, r)
			if rec.Status == 0 {
				rec.Status = http.StatusOK
			}
			level := slog.LevelInfo
			if r.URL.Path == "/healthz" || r.URL.Path == "/readyz" || r.URL.Path == "/metrics" {
				level = slog.LevelDebug
			}
			logger.Log(r.Context(), level, "request",
				"request_id", RequestIDFrom(r.Context()),
				"method", r.Method,
				"path", r.URL.Path,
				"route", RouteFrom(r.Context(), r),
				"status", rec.Status,
				"bytes", rec.Bytes,
				"duration_ms", float64(time.Since(start).Microseconds())/1000,
				"remote", r.RemoteAddr,
			)
		})
	}
}

// Recover turns a panic in a handler into a logged 500 in the error shape. http.ErrAbortHandler is
// re-panicked, as net/http expects.
func Recover(logger *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() {
				v := recover()
				if v == nil {
					return
				}
				if v == http.ErrAbortHandler {
					panic(v)
				}
				logger.ErrorContext(r.Context(), "panic", "request_id", RequestIDFrom(r.Context()),
					"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				WriteError(w, r, nil, errors.New("panic"))
			}()
			next.ServeHTTP(w, r)
		})
	}
}

// SecurityHeaders sets headers every API response should carry: no MIME sniffing, no framing, no
// referrer leak.
func SecurityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
		next.ServeHTTP(w, r)
	})
}

// Chain wraps h in the middleware, the first listed outermost.
func Chain(h http.Handler, mw ...func(http.Handler) http.Handler) http.Handler {
	for i := len(mw) - 1; i >= 0; i-- {
		h = mw[i](h)
	}
	return h
}

// NotFound answers every unmatched route with the error shape instead of net/http's text.
func NotFound(w http.ResponseWriter, r *http.Request) {
	WriteError(w, r, nil, Errorf(CodeNotFound, "no route for %s %s", r.Method, r.URL.Path))
}

// Routes wraps mux so that requests it has no route for (404) or no method for (405, Allow kept)
// answer in the error shape instead of net/http's plain text. Matched routes are served unwrapped.
func Routes(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, pattern := mux.Handler(r)
		if p, ok := r.Context().Value(routeKey).(*string); ok {
			*p = pattern
		}
		if pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		mux.ServeHTTP(&plainErrorWriter{ResponseWriter: w, r: r}, r)
	})
}

// plainErrorWriter replaces net/http's text 404 and 405 bodies with the JSON error shape; redirects
// (cleaned paths) pass through.
type plainErrorWriter struct {
	http.ResponseWriter
	r        *http.Request
	replaced bool
}

func (p *plainErrorWriter) WriteHeader(code int) {
	if code != http.StatusNotFound && code != http.StatusMethodNotAllowed {
		p.ResponseWriter.WriteHeader(code)
		return
	}
	p.replaced = true
	p.Header().Del("X-Content-Type-Options")
	if code == http.StatusNotFound {
		NotFound(p.ResponseWriter, p.r)
		return
	}
	WriteError(p.ResponseWriter, p.r, nil, &Error{Code: "method_not_allowed", Message: fmt.Sprintf("method %s not allowed on %s", p.r.Method, p.r.URL.Path)})
}

func (p *plainErrorWriter) Write(b []byte) (int, error) {
	if p.replaced {
		return len(b), nil
	}
	return p.ResponseWriter.Write(b)
}

// Stack wraps a service's routes in the platform's middleware, outermost first: request ID, security
// headers, access log, metrics, panic recovery, then the given extra middleware (typically
// Authenticate), then the mux wrapped by Routes. Services call it once in NewServer.
func Stack(logger *slog.Logger, metrics *Metrics, mux *http.ServeMux, extra ...func(http.Handler) http.Handler) http.Handler {
	mw := []func(http.Handler) http.Handler{RequestID, SecurityHeaders, AccessLog(logger), metrics.Middleware, Recover(logger)}
	return Chain(Routes(mux), append(mw, extra...)...)
}

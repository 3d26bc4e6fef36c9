package shared

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"time"
)

// RequestIDHeader is the header that carries a request's ID between programs and back to the client.
const RequestIDHeader = "X-Request-ID"

// requestIDKeyCanonical is RequestIDHeader as a key of an http.Header map.
const requestIDKeyCanonical = "X-Request-Id"

type ctxKey int

const (
	requestIDKey ctxKey = iota
	identityKey
)

// requestInfo is what RequestID keeps in the context: the ID, and a holder for the route pattern that
// Routes fills in (one context value for both, so a request costs one WithValue). id never changes;
// route is written once by Routes before the handler runs, on the request's goroutine.
type requestInfo struct {
	id    string
	route string
}

// RouteFrom returns the route pattern the mux matched for the request of ctx ("" before routing or when
// nothing matched). Middleware outside a WithContext copy cannot see r.Pattern, so Routes records it in
// a holder that RequestID puts in the context.
func RouteFrom(ctx context.Context, r *http.Request) string {
	if r != nil && r.Pattern != "" {
		return r.Pattern
	}
	if info, ok := ctx.Value(requestIDKey).(*requestInfo); ok {
		return info.route
	}
	return ""
}

// RequestIDFrom returns the request ID RequestID stored in ctx, or "".
func RequestIDFrom(ctx context.Context) string {
	if info, ok := ctx.Value(requestIDKey).(*requestInfo); ok {
		return info.id
	}
	return ""
}

// WithRequestID returns ctx carrying id, for outgoing calls made outside a request (consumers).
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey, &requestInfo{id: id})
}

// NewID returns 16 random bytes in hex: request IDs, event IDs, tokens.
func NewID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// NewRequestID returns 16 random bytes in hex, like NewID, from the runtime's fast per-thread
// generator instead of crypto/rand: a request ID must be unique, not secret, and crypto/rand was the
// single most expensive step of the middleware (a getrandom call per request).
func NewRequestID() string {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], mrand.Uint64())
	binary.LittleEndian.PutUint64(b[8:], mrand.Uint64())
	var out [32]byte
	hex.Encode(out[:], b[:])
	return string(out[:])
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
		var v []string
		if SaneRequestID(id) {
			v = r.Header[requestIDKeyCanonical][:1:1]
		} else {
			id = NewRequestID()
			v = []string{id}
			r.Header[requestIDKeyCanonical] = v
		}
		// One slice for the request's and the response's header: header values are replaced (Set),
		// never written into, and the capacity of 1 makes an Add copy.
		w.Header()[requestIDKeyCanonical] = v
		if info, ok := r.Context().Value(requestIDKey).(*requestInfo); ok && info.id == id {
			next.ServeHTTP(w, r) // already done by an outer RequestID
			return
		}
		ctx := context.WithValue(r.Context(), requestIDKey, &requestInfo{id: id})
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

// AccessLog writes one line per request: method, path, route pattern, status, bytes, duration. When
// the logger's level drops the line (LOG_LEVEL=warn), the request costs nothing here.
func AccessLog(logger *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			level := slog.LevelInfo
			if r.URL.Path == "/healthz" || r.URL.Path == "/readyz" || r.URL.Path == "/metrics" {
				level = slog.LevelDebug
			}
			ctx := r.Context()
			if !logger.Enabled(ctx, level) {
				next.ServeHTTP(w, r)
				return
			}
			start := time.Now()
			rec := &StatusRecorder{ResponseWriter: w}
			next.ServeHTTP(rec, r)
			if rec.Status == 0 {
				rec.Status = http.StatusOK
			}
			LogAccess(ctx, logger, level, r, RequestIDFrom(ctx), RouteFrom(ctx, r), rec.Status, rec.Bytes, time.Since(start))
		})
	}
}

// LogAccess writes AccessLog's line for one request: for a handler that answers before the
// middleware stack runs.
func LogAccess(ctx context.Context, logger *slog.Logger, level slog.Level, r *http.Request, requestID, route string, status int, bytes int64, d time.Duration) {
	logger.LogAttrs(ctx, level, "request",
		slog.String("request_id", requestID),
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.String("route", route),
		slog.Int("status", status),
		slog.Int64("bytes", bytes),
		slog.Float64("duration_ms", float64(d.Microseconds())/1000),
		slog.String("remote", r.RemoteAddr),
	)
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

// SecurityHeaders sets headers every API response should carry (SetSecurityHeaders).
func SecurityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		SetSecurityHeaders(w.Header())
		next.ServeHTTP(w, r)
	})
}

// The security header values are built once and shared by every response (a handler replaces a
// value with Set or removes it with Del; nothing writes into a header's slice), which saves three
// allocations per request.
var nosniff, frameDeny, referrerPolicy = []string{"nosniff"}, []string{"DENY"}, []string{"strict-origin-when-cross-origin"}

// SetSecurityHeaders sets no MIME sniffing, no framing and no referrer leak on h: what SecurityHeaders
// adds, for a handler that answers before the middleware stack runs.
func SetSecurityHeaders(h http.Header) {
	h["X-Content-Type-Options"] = nosniff
	h["X-Frame-Options"] = frameDeny
	h["Referrer-Policy"] = referrerPolicy
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
// answer in the error shape instead of net/http's plain text, and names the request's server span
// (Tracing.Handler) by the pattern. Matched routes are served unwrapped.
// A pattern without wildcards is served by the handler the lookup found (with r.Pattern set, as the
// mux would), so the common request is matched once, not twice; patterns with {wildcards} go through
// the mux again, which records the path values.
func Routes(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, pattern := mux.Handler(r)
		if info, ok := r.Context().Value(requestIDKey).(*requestInfo); ok {
			info.route = pattern
		}
		nameServerSpan(r.Context(), pattern)
		switch {
		case pattern == "":
			mux.ServeHTTP(&plainErrorWriter{ResponseWriter: w, r: r}, r)
		case r.RequestURI == "*" || strings.IndexByte(pattern, '{') >= 0:
			mux.ServeHTTP(w, r)
		default:
			r.Pattern = pattern
			h.ServeHTTP(w, r)
		}
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
	WriteError(p.ResponseWriter, p.r, nil, &Error{Code: CodeMethodNotAllowed, Message: fmt.Sprintf("method %s not allowed on %s", p.r.Method, p.r.URL.Path)})
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

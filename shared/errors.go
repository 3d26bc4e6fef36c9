package shared

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
)

// Error codes of the platform's JSON error shape. The set is closed; codeStatus maps each to its status.
const (
	CodeInvalid              = "invalid"
	CodeUnauthorized         = "unauthorized"
	CodeForbidden            = "forbidden"
	CodeNotFound             = "not_found"
	CodeConflict             = "conflict"
	CodeTooManyRequests      = "too_many_requests"
	CodeTooLarge             = "too_large"
	CodeUnsupportedMediaType = "unsupported_media_type"
	CodeUnavailable          = "unavailable"
	CodeInternal             = "internal"
	// CodeInvalidToken: a mailed link's token is unknown, used or expired (auth's reset and verify).
	CodeInvalidToken = "invalid_token"
	// CodeEmailUnverified: the route needs a verified e-mail address (order's checkout, when required).
	CodeEmailUnverified = "email_unverified"
	// CodeMethodNotAllowed: the path is served under another method (Routes).
	CodeMethodNotAllowed = "method_not_allowed"
)

var codeStatus = map[string]int{
	CodeInvalid:              http.StatusBadRequest,
	CodeUnauthorized:         http.StatusUnauthorized,
	CodeForbidden:            http.StatusForbidden,
	CodeNotFound:             http.StatusNotFound,
	CodeConflict:             http.StatusConflict,
	CodeTooManyRequests:      http.StatusTooManyRequests,
	CodeTooLarge:             http.StatusRequestEntityTooLarge,
	CodeUnsupportedMediaType: http.StatusUnsupportedMediaType,
	CodeUnavailable:          http.StatusServiceUnavailable,
	CodeInternal:             http.StatusInternalServerError,
	CodeInvalidToken:         http.StatusBadRequest,
	CodeEmailUnverified:      http.StatusForbidden,
	CodeMethodNotAllowed:     http.StatusMethodNotAllowed,
}

// Sentinels that stores and handlers wrap (fmt.Errorf("products.get: %w", ErrNotFound)); WriteError
// maps them to their codes.
var (
	ErrNotFound     = errors.New("not found")
	ErrConflict     = errors.New("conflict")
	ErrUnauthorized = errors.New("unauthorized")
	ErrForbidden    = errors.New("forbidden")
	ErrUnavailable  = errors.New("unavailable")
)

// Error is an error a client may see. Code is one of the Code constants; Fields holds per-field
// messages for CodeInvalid.
type Error struct {
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Fields  map[string]string `json:"fields,omitempty"`
	// Err is the cause, logged but never shown.
	Err error `json:"-"`
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Code + ": " + e.Message + ": " + e.Err.Error()
	}
	return e.Code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Status is the HTTP status for e's code; an unknown code is 500.
func (e *Error) Status() int {
	if s, ok := codeStatus[e.Code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// Errorf returns an *Error with the code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// InvalidMessage is the message of every Invalid error: what is wrong is in its fields, so a client
// that shows the error (the storefront) shows the fields' messages instead.
const InvalidMessage = "invalid request"

// Invalid returns a 400 error carrying field messages.
func Invalid(fields map[string]string) *Error {
	return &Error{Code: CodeInvalid, Message: InvalidMessage, Fields: fields}
}

// AsError turns any error into the *Error a client sees: an *Error in the chain as it is, the package
// sentinels as their codes, anything else as a 500 "internal error" (its text stays in the log).
func AsError(err error) *Error {
	var e *Error
	switch {
	case errors.As(err, &e):
		return e
	case errors.Is(err, ErrNotFound):
		return &Error{Code: CodeNotFound, Message: "not found", Err: err}
	case errors.Is(err, ErrConflict):
		return &Error{Code: CodeConflict, Message: "conflict", Err: err}
	case errors.Is(err, ErrUnauthorized):
		return &Error{Code: CodeUnauthorized, Message: "authentication required", Err: err}
	case errors.Is(err, ErrForbidden):
		return &Error{Code: CodeForbidden, Message: "forbidden", Err: err}
	case errors.Is(err, ErrUnavailable):
		return &Error{Code: CodeUnavailable, Message: "a dependency is unavailable, try again", Err: err}
	}
	return &Error{Code: CodeInternal, Message: "internal error", Err: err}
}

// ErrorBody is the platform's JSON error shape, {"error":{...}}: what WriteError writes and what a
// client of a service decodes.
type ErrorBody struct {
	Error ErrorPayload `json:"error"`
}

// ErrorPayload is the inside of ErrorBody. Fields (per-field validation messages) is omitted when empty.
type ErrorPayload struct {
	Code      string            `json:"code"`
	Message   string            `json:"message"`
	RequestID string            `json:"request_id"`
	Fields    map[string]string `json:"fields,omitempty"`
}

// WriteError writes err in the platform's error shape with Cache-Control: no-store (unless the handler
// set a Cache-Control already). 5xx errors are logged with their cause.
func WriteError(w http.ResponseWriter, r *http.Request, logger *slog.Logger, err error) {
	e := AsError(err)
	status := e.Status()
	if status >= 500 && logger != nil {
		logger.ErrorContext(r.Context(), "request failed", "err", err, "path", r.URL.Path, "request_id", RequestIDFrom(r.Context()))
	}
	// Errors are not stored by caches, unless the handler said otherwise first: a public 404 may be
	// cached briefly (the gateway caches 404s for at most GATEWAY_CACHE_NEGATIVE_TTL).
	if w.Header().Get("Cache-Control") == "" {
		w.Header().Set("Cache-Control", "no-store")
	}
	Encode(w, status, ErrorBody{Error: ErrorPayload{
		Code:      e.Code,
		Message:   e.Message,
		RequestID: RequestIDFrom(r.Context()),
		Fields:    e.Fields,
	}})
}

// ErrorJSON returns the error body for code and message as bytes, for writers outside a handler
// (the gateway's proxy error handler, a breaker's 503).
func ErrorJSON(code, message, requestID string) []byte {
	b, _ := json.Marshal(ErrorBody{Error: ErrorPayload{Code: code, Message: message, RequestID: requestID}})
	return b
}

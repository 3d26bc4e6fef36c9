package shared

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"unicode/utf8"
)

// DefaultMaxBody is the body limit Decode applies: 1 MiB.
const DefaultMaxBody = 1 << 20

// Validator is implemented by request types that check themselves; Valid returns field messages, empty
// when the value is fine.
type Validator interface {
	Valid(ctx context.Context) map[string]string
}

// Page is the platform's list shape (ARCHITECTURE.md § JSON shapes), written by the services and
// read by their clients: {"items":[...],"total":N,"page":P,"limit":L}. Total counts every match, not
// only the items of this page; Page starts at 1.
type Page[T any] struct {
	Items []T `json:"items"`
	Total int `json:"total"`
	Page  int `json:"page"`
	Limit int `json:"limit"`
}

// JSONAppender is a value that appends its own JSON, byte for byte what json.Marshal writes for it,
// without reflection: Encode uses it for hot answers (and Event implements it for the publisher).
// It is not MarshalJSON, so json.Marshal of a value holding one (a list) is not changed by it.
type JSONAppender interface {
	AppendJSON(b []byte) ([]byte, error)
}

// Encode writes v as JSON with the status, through v's AppendJSON when it is a JSONAppender. An
// encoding error after the header is sent can only be logged by the caller, so Encode encodes first
// and writes a 500 body when v cannot be encoded.
func Encode(w http.ResponseWriter, status int, v any) error {
	var b []byte
	var err error
	if a, ok := v.(JSONAppender); ok {
		b, err = a.AppendJSON(make([]byte, 0, 1024))
	} else {
		b, err = json.Marshal(v)
	}
	if err != nil {
		// The error shape with the request's ID (RequestID set it on the response), and the reason in
		// the log: callers rarely look at the error returned, and a 500 nobody can trace helps no one.
		id := w.Header().Get(RequestIDHeader)
		slog.Error("response not encodable", "err", err, "status", status, "request_id", id)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusInternalServerError)
		w.Write(append(ErrorJSON(CodeInternal, "internal error", id), '\n'))
		return fmt.Errorf("encode: %w", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	b = append(b, '\n')
	_, err = w.Write(b)
	return err
}

// Decode reads one JSON value of type T from the body: at most DefaultMaxBody bytes, valid UTF-8, no
// unknown fields, no trailing data. If T implements Validator its field messages become a 400 *Error.
// Every error returned is an *Error: too_large (413) for a body over the limit,
// unsupported_media_type (415) for a Content-Type other than application/json (see checkMediaType;
// a request without Content-Type is read as JSON), invalid (400) for anything else.
func Decode[T any](w http.ResponseWriter, r *http.Request) (T, error) {
	return DecodeLimit[T](w, r, DefaultMaxBody)
}

// DecodeLimit is Decode with a body limit of max bytes.
func DecodeLimit[T any](w http.ResponseWriter, r *http.Request, max int64) (T, error) {
	var v T
	if err := jsonType(r); err != nil {
		return v, err
	}
	body, err := ReadBody(w, r, max)
	if err != nil {
		return v, err
	}
	return decodeValid[T](r, body)
}

// DecodeOptional is DecodeLimit for a route whose body may be left out: an empty body, however it
// was sent (no Content-Length, or chunked with no data), is T's zero value, not a 400.
func DecodeOptional[T any](w http.ResponseWriter, r *http.Request, max int64) (T, error) {
	var v T
	if r.ContentLength == 0 {
		return v, nil
	}
	body, err := ReadBody(w, r, max)
	if err != nil || len(body) == 0 {
		return v, err
	}
	if err := jsonType(r); err != nil {
		return v, err
	}
	return decodeValid[T](r, body)
}

// jsonType refuses a Content-Type other than application/json; a request without one is read as JSON.
func jsonType(r *http.Request) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		return checkMediaType(ct, "application/json")
	}
	return nil
}

// decodeValid decodes body into a T and runs T's Validator, if it has one.
func decodeValid[T any](r *http.Request, body []byte) (T, error) {
	var v T
	if err := decodeJSONBytes(body, &v); err != nil {
		return v, err
	}
	if val, ok := any(&v).(Validator); ok {
		if fields := val.Valid(r.Context()); len(fields) > 0 {
			return v, Invalid(fields)
		}
	} else if val, ok := any(v).(Validator); ok {
		if fields := val.Valid(r.Context()); len(fields) > 0 {
			return v, Invalid(fields)
		}
	}
	return v, nil
}

// ReadBody reads the whole request body, at most max bytes: a Content-Length over max is refused
// before anything is read, and a body that runs past max is read no further than max+1 bytes (the
// server then closes the connection rather than draining the rest). Errors are *Error: too_large (413)
// over the limit, unsupported_media_type (415) for a body with a Content-Encoding other than
// identity (nothing here decompresses, and ignoring the label would misread the body), invalid (400)
// when the body breaks off or is not valid UTF-8.
func ReadBody(w http.ResponseWriter, r *http.Request, max int64) ([]byte, error) {
	if ce := r.Header.Get("Content-Encoding"); ce != "" && !strings.EqualFold(strings.TrimSpace(ce), "identity") {
		return nil, Errorf(CodeUnsupportedMediaType, "Content-Encoding is not supported: send the body uncompressed")
	}
	if r.ContentLength > max {
		return nil, tooLarge(max)
	}
	if r.Body == nil {
		return nil, nil
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	var maxErr *http.MaxBytesError
	switch {
	case errors.As(err, &maxErr):
		return nil, tooLarge(max)
	case err != nil:
		return nil, &Error{Code: CodeInvalid, Message: "request body could not be read", Err: err}
	case !utf8.Valid(b):
		return nil, Errorf(CodeInvalid, "request body is not valid UTF-8")
	}
	return b, nil
}

// checkMediaType returns nil when the Content-Type header value ct names exactly the media type want
// (type and subtype compared without regard to case, per RFC 9110), with no charset parameter or
// charset utf-8; other parameters are ignored. Anything else (another type, a type that only starts
// with want such as application/jsonx or application/json-patch+json, a malformed value, an empty one,
// another charset) is a 415 unsupported_media_type *Error naming want.
func checkMediaType(ct, want string) error {
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != want {
		return Errorf(CodeUnsupportedMediaType, "Content-Type must be %s", want)
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return Errorf(CodeUnsupportedMediaType, "Content-Type charset must be utf-8")
	}
	return nil
}

func tooLarge(max int64) *Error {
	return Errorf(CodeTooLarge, "request body is larger than %d bytes", max)
}

// DecodeForm reads an application/x-www-form-urlencoded body of at most max bytes into its values
// (the body only: query parameters are not merged in). Errors are *Error: too_large (413) over the
// limit, unsupported_media_type (415) for a missing or other Content-Type (see checkMediaType),
// invalid (400) for a malformed body, or a key or value that is not valid UTF-8 once percent-decoded.
func DecodeForm(w http.ResponseWriter, r *http.Request, max int64) (url.Values, error) {
	if err := checkMediaType(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded"); err != nil {
		return nil, err
	}
	body, err := ReadBody(w, r, max)
	if err != nil {
		return nil, err
	}
	vals, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, &Error{Code: CodeInvalid, Message: "malformed form body", Err: err}
	}
	if err := ValidUTF8Values(vals); err != nil {
		return nil, err
	}
	return vals, nil
}

// ValidUTF8Values returns a 400 *Error naming the first key (in no set order) whose name or values
// are not valid UTF-8, or nil: for form bodies and query strings, whose percent-escapes can carry any
// bytes.
func ValidUTF8Values(vals url.Values) error {
	for k, vs := range vals {
		if !utf8.ValidString(k) {
			return Errorf(CodeInvalid, "a parameter name is not valid UTF-8")
		}
		for _, v := range vs {
			if !utf8.ValidString(v) {
				return &Error{Code: CodeInvalid, Message: fmt.Sprintf("parameter %q is not valid UTF-8", k),
					Fields: map[string]string{k: "must be valid UTF-8"}}
			}
		}
	}
	return nil
}

// DecodeJSON decodes exactly one JSON value from rd into v, rejecting unknown fields and trailing data,
// and explains what was wrong in an *Error with code invalid. encoding/json silently turns invalid
// UTF-8 and lone UTF-16 surrogate escapes ("\udcff") into U+FFFD, so DecodeJSON reads the raw bytes
// and refuses both first.
func DecodeJSON(rd io.Reader, v any) error {
	raw, err := io.ReadAll(rd)
	var maxErr *http.MaxBytesError
	switch {
	case errors.As(err, &maxErr):
		return tooLarge(maxErr.Limit)
	case err != nil:
		return &Error{Code: CodeInvalid, Message: "request body could not be read", Err: err}
	}
	return decodeJSONBytes(raw, v)
}

// decodeJSONBytes is DecodeJSON of a body already read (Decode's, which ReadBody read whole).
func decodeJSONBytes(raw []byte, v any) error {
	switch {
	case !utf8.Valid(raw):
		return Errorf(CodeInvalid, "request body is not valid UTF-8")
	case loneSurrogate(raw):
		return Errorf(CodeInvalid, "request body holds an unpaired UTF-16 surrogate escape")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		return Errorf(CodeInvalid, "body must hold a single JSON value")
	}
	return nil
}

// loneSurrogate reports whether raw JSON holds a \uXXXX escape of a UTF-16 surrogate that is not a
// high surrogate directly followed by a low one. Backslashes only occur inside strings in valid JSON;
// in invalid JSON the answer does not matter, the decoder refuses it anyway.
func loneSurrogate(raw []byte) bool {
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' {
			continue
		}
		if i+1 >= len(raw) || raw[i+1] != 'u' {
			i++ // an escaped character, possibly a backslash
			continue
		}
		r, ok := hex4(raw, i+2)
		i += 5
		switch {
		case !ok || r < 0xd800 || r > 0xdfff:
		case r >= 0xdc00:
			return true
		default:
			if i+6 >= len(raw) || raw[i+1] != '\\' || raw[i+2] != 'u' {
				return true
			}
			if lo, ok := hex4(raw, i+3); !ok || lo < 0xdc00 || lo > 0xdfff {
				return true
			}
			i += 6
		}
	}
	return false
}

// hex4 parses the four hex digits at raw[i:i+4].
func hex4(raw []byte, i int) (rune, bool) {
	if i+4 > len(raw) {
		return 0, false
	}
	var r rune
	for _, c := range raw[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

func decodeError(err error) *Error {
	var (
		syntaxErr *json.SyntaxError
		typeErr   *json.UnmarshalTypeError
		maxErr    *http.MaxBytesError
	)
	switch {
	case errors.Is(err, io.EOF):
		return Errorf(CodeInvalid, "request body is empty")
	case errors.As(err, &maxErr):
		return tooLarge(maxErr.Limit)
	case errors.As(err, &syntaxErr):
		return Errorf(CodeInvalid, "malformed JSON at offset %d", syntaxErr.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return Errorf(CodeInvalid, "malformed JSON: unexpected end")
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			field = "body"
		}
		return Invalid(map[string]string{field: fmt.Sprintf("must be %s, not %s", typeName(typeErr.Type), typeErr.Value)})
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return Invalid(map[string]string{name: "unknown field"})
	}
	return Errorf(CodeInvalid, "malformed JSON")
}

// typeName names t in JSON terms for a client ("an integer", "an object"), never by its Go name,
// which would show package-qualified struct names and field tags.
func typeName(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return "a JSON value of another type"
}

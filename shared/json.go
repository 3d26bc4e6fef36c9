package shared

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
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

// Encode writes v as JSON with the status. An encoding error after the header is sent can only be
// logged by the caller, so Encode marshals first and writes a 500 body when v cannot be encoded.
func Encode(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		w.Write([]byte(`{"error":{"code":"internal","message":"internal error"}}`))
		return fmt.Errorf("encode: %w", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	b = append(b, '\n')
	_, err = w.Write(b)
	return err
}

// Decode reads one JSON value of type T from the body: at most DefaultMaxBody bytes, no unknown
// fields, no trailing data. If T implements Validator its field messages become a 400 *Error. Every
// error returned is an *Error with code invalid.
func Decode[T any](w http.ResponseWriter, r *http.Request) (T, error) {
	return DecodeLimit[T](w, r, DefaultMaxBody)
}

// DecodeLimit is Decode with a body limit of max bytes.
func DecodeLimit[T any](w http.ResponseWriter, r *http.Request, max int64) (T, error) {
	var v T
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(strings.ToLower(ct), "application/json") {
		return v, Errorf(CodeInvalid, "Content-Type must be application/json")
	}
	body := http.MaxBytesReader(w, r.Body, max)
	if err := DecodeJSON(body, &v); err != nil {
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

// DecodeJSON decodes exactly one JSON value from rd into v, rejecting unknown fields and trailing data,
// and explains what was wrong in an *Error with code invalid.
func DecodeJSON(rd io.Reader, v any) error {
	dec := json.NewDecoder(rd)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		return Errorf(CodeInvalid, "body must hold a single JSON value")
	}
	return nil
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
		return Errorf(CodeInvalid, "request body is larger than %d bytes", maxErr.Limit)
	case errors.As(err, &syntaxErr):
		return Errorf(CodeInvalid, "malformed JSON at offset %d", syntaxErr.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return Errorf(CodeInvalid, "malformed JSON: unexpected end")
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			field = "body"
		}
		return &Error{Code: CodeInvalid, Message: "invalid request", Fields: map[string]string{
			field: fmt.Sprintf("must be %s, not %s", typeName(typeErr.Type.String()), typeErr.Value),
		}}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return &Error{Code: CodeInvalid, Message: "invalid request", Fields: map[string]string{name: "unknown field"}}
	}
	return Errorf(CodeInvalid, "malformed JSON")
}

func typeName(t string) string {
	switch {
	case strings.HasPrefix(t, "int"), strings.HasPrefix(t, "uint"):
		return "an integer"
	case strings.HasPrefix(t, "float"):
		return "a number"
	case t == "string":
		return "a string"
	case t == "bool":
		return "true or false"
	case strings.HasPrefix(t, "[]"):
		return "an array"
	case strings.HasPrefix(t, "map["):
		return "an object"
	}
	return "a " + t
}

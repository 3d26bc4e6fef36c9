package sharedtest

import (
	"encoding/json"
	"net/http/httptest"
	"testing"
)

// ErrorBody is the platform's JSON error shape as a client reads it
// ({"error":{"code","message","request_id","fields"}}, shared/ARCHITECTURE.md § Errors).
type ErrorBody struct {
	Error struct {
		Code      string            `json:"code"`
		Message   string            `json:"message"`
		RequestID string            `json:"request_id"`
		Fields    map[string]string `json:"fields"`
	} `json:"error"`
}

// Decode decodes the JSON body a handler wrote into a T; a body that is not a T fails tb.
func Decode[T any](tb testing.TB, w *httptest.ResponseRecorder) T {
	tb.Helper()
	var v T
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
		tb.Fatalf("decode %q: %v", w.Body.String(), err)
	}
	return v
}

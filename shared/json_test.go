package shared

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"
)

type createReq struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
	Note  string `json:"note,omitempty"`
}

func (c createReq) Valid(context.Context) map[string]string {
	if c.Name == "" {
		return map[string]string{"name": "required"}
	}
	return nil
}

// newPost is a POST to target with body, and with Content-Type ct unless ct is empty.
func newPost(target, body, ct string) *http.Request {
	r := httptest.NewRequest("POST", target, strings.NewReader(body))
	if ct != "" {
		r.Header.Set("Content-Type", ct)
	}
	return r
}

// TestEncodeFailure: a value that cannot be encoded is a 500 in the error shape with the response's
// request ID (before, the body had none, so nobody could trace it), never cached.
func TestEncodeFailure(t *testing.T) {
	t.Parallel()
	w := httptest.NewRecorder()
	w.Header().Set(RequestIDHeader, "req-123")
	if err := Encode(w, http.StatusOK, map[string]any{"bad": math.NaN()}); err == nil {
		t.Fatal("Encode(NaN) = nil, want an error")
	}
	var body ErrorBody
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || w.Code != 500 || body.Error.Code != CodeInternal ||
		body.Error.RequestID != "req-123" || w.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("Encode(NaN) = %d %q (Cache-Control %q), want 500 internal with request_id req-123, no-store", w.Code, w.Body, w.Header().Get("Cache-Control"))
	}
}

func TestDecode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body, ct string
		status         int // 0: no error
		field          string
	}{
		{"ok", `{"name":"a","count":2}`, "application/json", 0, ""},
		{"ok escaped pair", `{"name":"a","count":2,"note":"\ud83d\ude00"}`, "", 0, ""},
		{"ok escaped backslash then u", `{"name":"a","note":"\\udcff"}`, "", 0, ""},
		{"ok utf8", `{"name":"a","note":"Grüße 😀"}`, "", 0, ""},
		{"unknown field", `{"name":"a","extra":1}`, "", 400, "extra"},
		{"wrong type", `{"name":{"$gt":""}}`, "", 400, "name"},
		{"trailing", `{"name":"a"} {}`, "", 400, ""},
		{"empty", ``, "", 400, ""},
		{"syntax", `{"name":`, "", 400, ""},
		{"validation", `{"count":1}`, "", 400, "name"},
		{"content type", `{"name":"a"}`, "text/plain", 415, ""},
		{"ok charset", `{"name":"a"}`, "application/json; charset=utf-8", 0, ""},
		{"ok charset upper case", `{"name":"a"}`, "Application/JSON; Charset=\"UTF-8\"", 0, ""},
		{"prefix jsonx", `{"name":"a"}`, "application/jsonx", 415, ""},
		{"prefix jsonp", `{"name":"a"}`, "application/jsonp", 415, ""},
		{"json-patch", `{"name":"a"}`, "application/json-patch+json", 415, ""},
		{"merge-patch", `{"name":"a"}`, "application/merge-patch+json", 415, ""},
		{"other charset", `{"name":"a"}`, "application/json; charset=iso-8859-1", 415, ""},
		{"malformed media type", `{"name":"a"}`, "application/json; charset", 415, ""},
		{"form", `{"name":"a"}`, "application/x-www-form-urlencoded", 415, ""},
		{"invalid utf8 bytes", "{\"name\":\"a\xff\xfe\"}", "", 400, ""},
		{"invalid utf8 in a key", "{\"na\xffme\":\"a\"}", "", 400, ""},
		{"lone low surrogate", `{"name":"a\udcff"}`, "", 400, ""},
		{"lone high surrogate", `{"name":"a\ud83d"}`, "", 400, ""},
		{"high surrogate then non-surrogate", `{"name":"\ud83d\u0041"}`, "", 400, ""},
		{"high surrogate at the end", `{"name":"\ud83d`, "", 400, ""},
		{"too big", `{"name":"` + strings.Repeat("a", DefaultMaxBody) + `"}`, "", 413, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newPost("/", tt.body, tt.ct)
			v, err := Decode[createReq](httptest.NewRecorder(), r)
			if (err != nil) != (tt.status != 0) {
				t.Fatalf("Decode(%q) err = %v, want status %d", tt.name, err, tt.status)
			}
			if err == nil {
				if v.Name != "a" {
					t.Errorf("Name = %q, want a", v.Name)
				}
				return
			}
			e := AsError(err)
			if e.Status() != tt.status {
				t.Errorf("status = %d, want %d (%v)", e.Status(), tt.status, err)
			}
			if tt.field != "" && e.Fields[tt.field] == "" {
				t.Errorf("fields = %v, want a message for %q", e.Fields, tt.field)
			}
		})
	}
}

// TestDecodeOptional: a route whose body may be left out takes an empty body however it was sent
// (before, a chunked request with no data was a 400 "empty body"); a body that is there is held to
// Decode's rules.
func TestDecodeOptional(t *testing.T) {
	t.Parallel()
	type opt struct {
		Reason string `json:"reason"`
	}
	for _, tt := range []struct {
		name, body, ct string
		chunked        bool
		status         int // 0: no error
		want           string
	}{
		{"no body", "", "", false, 0, ""},
		{"chunked, no data", "", "", true, 0, ""},
		{"chunked, no data, any type", "", "text/plain", true, 0, ""},
		{"body", `{"reason":"r"}`, "application/json", false, 0, "r"},
		{"chunked body", `{"reason":"r"}`, "", true, 0, "r"},
		{"wrong type", `{"reason":"r"}`, "text/plain", true, 415, ""},
		{"unknown field", `{"why":"r"}`, "", true, 400, ""},
		{"not JSON", `reason=r`, "", false, 400, ""},
		{"too big", `{"reason":"` + strings.Repeat("a", 100) + `"}`, "", true, 413, ""},
	} {
		r := newPost("/", tt.body, tt.ct)
		if tt.chunked {
			r.ContentLength = -1
		}
		v, err := DecodeOptional[opt](httptest.NewRecorder(), r, 64)
		if status := AsError(err).Status(); err != nil && status != tt.status || err == nil && (tt.status != 0 || v.Reason != tt.want) {
			t.Errorf("%s: DecodeOptional = %+v, %v; want status %d, reason %q", tt.name, v, err, tt.status, tt.want)
		}
	}
}

// TestDecodeTypeMessages: a value of the wrong JSON type is named in JSON terms; the Go type it
// would have filled (a package-qualified struct name such as main.quoteRequest) never reaches the
// client.
func TestDecodeTypeMessages(t *testing.T) {
	t.Parallel()
	type nested struct {
		Inner struct {
			N int `json:"n"`
		} `json:"inner"`
		Items []struct {
			N int `json:"n"`
		} `json:"items"`
		Ptr *struct {
			N int `json:"n"`
		} `json:"ptr"`
	}
	tests := []struct{ body, field, want string }{
		{`[1]`, "body", "must be an object, not array"},
		{`"x"`, "body", "must be an object, not string"},
		{`{"inner":[]}`, "inner", "must be an object, not array"},
		{`{"items":[[1]]}`, "items", "must be an object, not array"},
		{`{"ptr":"x"}`, "ptr", "must be an object, not string"},
		{`{"items":{}}`, "items", "must be an array, not object"},
		{`{"inner":{"n":"1"}}`, "inner.n", "must be an integer, not string"},
	}
	for _, tt := range tests {
		err := DecodeJSON(strings.NewReader(tt.body), &nested{})
		e := AsError(err)
		if e == nil || e.Fields[tt.field] != tt.want {
			t.Errorf("DecodeJSON(%s): %v, fields = %v, want %s: %q", tt.body, err, e.Fields, tt.field, tt.want)
		}
	}
}

// TestReadBodyContentEncoding: no service decodes a compressed body, so one that says it is coded
// is refused with 415 whatever it holds: a gzip body is not misreported as bad UTF-8, and plain JSON
// labelled gzip is not taken as if the label were not there.
func TestReadBodyContentEncoding(t *testing.T) {
	t.Parallel()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(`{"name":"a"}`))
	zw.Close()
	tests := []struct {
		encoding, body string
		status         int
	}{
		{"", `{"name":"a"}`, 0},
		{"identity", `{"name":"a"}`, 0},
		{"gzip", gz.String(), 415},
		{"gzip", `{"name":"a"}`, 415},
		{"br", `{"name":"a"}`, 415},
		{"GZIP", `{"name":"a"}`, 415},
	}
	for _, tt := range tests {
		r := newPost("/", tt.body, "application/json")
		if tt.encoding != "" {
			r.Header.Set("Content-Encoding", tt.encoding)
		}
		_, err := Decode[createReq](httptest.NewRecorder(), r)
		if (err != nil) != (tt.status != 0) || err != nil && AsError(err).Status() != tt.status {
			t.Errorf("Decode with Content-Encoding %q: err = %v, want status %d", tt.encoding, err, tt.status)
		}
		r = newPost("/", tt.body, "application/x-www-form-urlencoded")
		if tt.encoding != "" {
			r.Header.Set("Content-Encoding", tt.encoding)
		}
		if _, err := DecodeForm(httptest.NewRecorder(), r, 1<<10); tt.status != 0 && (err == nil || AsError(err).Status() != tt.status) {
			t.Errorf("DecodeForm with Content-Encoding %q: err = %v, want status %d", tt.encoding, err, tt.status)
		}
	}
}

// countingReader counts the bytes read from an endless body.
type countingReader struct{ n int64 }

func (c *countingReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'a'
	}
	c.n += int64(len(p))
	return len(p), nil
}

// TestReadBodyLimit: an oversized body is a 413 in the error shape; a declared Content-Length over the
// limit is refused before a byte is read, and a chunked one is read no further than limit+1 bytes.
func TestReadBodyLimit(t *testing.T) {
	t.Parallel()
	const max = 1000
	for _, declared := range []bool{true, false} {
		body := &countingReader{}
		r := httptest.NewRequest("POST", "/", io.LimitReader(body, 10*max))
		r.ContentLength = -1
		if declared {
			r.ContentLength = 10 * max
		}
		rec := httptest.NewRecorder()
		_, err := ReadBody(rec, r, max)
		if e := AsError(err); e.Status() != http.StatusRequestEntityTooLarge || e.Code != CodeTooLarge {
			t.Fatalf("declared=%v: err = %v, want 413 too_large", declared, err)
		}
		if declared && body.n != 0 {
			t.Errorf("declared=%v: read %d bytes, want none", declared, body.n)
		}
		// MaxBytesReader asks for max+1 bytes; the reader fills whole buffers, so allow one read's slack.
		if !declared && body.n > max+1+bytes.MinRead {
			t.Errorf("declared=%v: read %d bytes of a %d-byte limit", declared, body.n, max)
		}
		WriteError(rec, r, nil, err)
		if rec.Code != http.StatusRequestEntityTooLarge || decodeErr(t, rec).Error.Code != CodeTooLarge {
			t.Errorf("declared=%v: answer %d %s, want 413 in the error shape", declared, rec.Code, rec.Body)
		}
	}
}

func TestDecodeForm(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body, ct string
		status         int
	}{
		{"ok", "a=1&b=Gr%C3%BC%C3%9Fe", "application/x-www-form-urlencoded", 0},
		{"ok charset", "a=1", "application/x-www-form-urlencoded; charset=utf-8", 0},
		{"ok upper case", "a=1", "Application/X-WWW-Form-Urlencoded", 0},
		{"json", `{"a":1}`, "application/json", 415},
		{"no content type", "a=1", "", 415},
		{"prefix", "a=1", "application/x-www-form-urlencodedx", 415},
		{"other charset", "a=1", "application/x-www-form-urlencoded; charset=windows-1252", 415},
		{"multipart", "a=1", "multipart/form-data; boundary=x", 415},
		{"invalid utf8 value", "a=%FF%FE", "application/x-www-form-urlencoded", 400},
		{"invalid utf8 key", "%FF=1", "application/x-www-form-urlencoded", 400},
		{"raw invalid utf8", "a=\xff", "application/x-www-form-urlencoded", 400},
		{"bad escape", "a=%zz", "application/x-www-form-urlencoded", 400},
		{"too big", "a=" + strings.Repeat("b", 100), "application/x-www-form-urlencoded", 413},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newPost("/?q=from-query", tt.body, tt.ct)
			vals, err := DecodeForm(httptest.NewRecorder(), r, 64)
			if tt.status == 0 {
				if err != nil || vals.Get("a") != "1" && vals.Get("b") == "" || vals.Has("q") {
					t.Fatalf("DecodeForm(%q) = %v, %v; want the body's values only", tt.body, vals, err)
				}
				return
			}
			if err == nil || AsError(err).Status() != tt.status {
				t.Errorf("DecodeForm(%q) err = %v, want status %d", tt.body, err, tt.status)
			}
		})
	}
}

func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{`{"name":"a"}`, `{"name":1}`, `[]`, `{"name":"a"}x`, `{"count":1e400}`, "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var v createReq
		err := DecodeJSON(strings.NewReader(s), &v)
		if err != nil && AsError(err).Status() != 400 {
			t.Fatalf("DecodeJSON(%q) = %v, want a 400 error", s, err)
		}
	})
}

// FuzzDecodeJSONNoReplacement: whatever DecodeJSON accepts decodes to strings without U+FFFD unless the
// input spelt one: invalid UTF-8 and unpaired surrogate escapes are refused, not replaced.
func FuzzDecodeJSONNoReplacement(f *testing.F) {
	for _, s := range []string{`{"name":"a","note":"\ud83d\ude00"}`, `{"name":"\udcff"}`, "{\"name\":\"\xff\"}", `{"name":"\\udcff"}`,
		`{"name":"\ud83d\u0041"}`, `{"name":"\ufffd"}`, `{"name":"a","note":"\ud83d"}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var v createReq
		if err := DecodeJSON(strings.NewReader(s), &v); err != nil {
			if e := AsError(err); e.Status() != http.StatusBadRequest {
				t.Fatalf("DecodeJSON(%q) = %v, want a 400", s, err)
			}
			return
		}
		spelt := strings.Contains(strings.ToLower(s), `\ufffd`) || strings.Contains(s, "\uFFFD")
		if !spelt && (strings.ContainsRune(v.Name, utf8.RuneError) || strings.ContainsRune(v.Note, utf8.RuneError)) {
			t.Fatalf("DecodeJSON(%q) accepted and produced U+FFFD: %+v", s, v)
		}
	})
}

// FuzzDecodeForm: a form DecodeForm accepts holds only valid UTF-8 keys and values; everything else is a
// 400, or a 413 over the limit.
func FuzzDecodeForm(f *testing.F) {
	for _, s := range []string{"a=1&b=2", "a=%FF", "%FE=1", "a=%zz", "a=" + strings.Repeat("x", 100), "a;b=1", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		vals, err := DecodeForm(httptest.NewRecorder(), newPost("/", s, "application/x-www-form-urlencoded"), 64)
		if err != nil {
			if st := AsError(err).Status(); st != http.StatusBadRequest && st != http.StatusRequestEntityTooLarge {
				t.Fatalf("DecodeForm(%q) = %v, want a 400 or 413", s, err)
			}
			return
		}
		for k, vs := range vals {
			for _, v := range append(vs, k) {
				if !utf8.ValidString(v) {
					t.Fatalf("DecodeForm(%q) accepted invalid UTF-8 %q", s, v)
				}
			}
		}
	})
}

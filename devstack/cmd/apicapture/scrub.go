package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// secretFields are the answer fields whose values are credentials: their values never reach a
// document (scrubber.apply replaces them wherever they appear).
var secretFields = []string{"access_token", "refresh_token", "id_token", "client_secret", "code", "token"}

// scrubber remembers every secret the script saw (tokens in answers, the session cookie, the links
// mailed for a reset or verification, client secrets) and replaces each, wherever it appears in an
// example, with a placeholder of the same shape: the same length, each character of the same class,
// separators kept, and a JWT's header and claims kept with its signature replaced, so it still reads
// like the real thing but authenticates nobody. The same secret always becomes the same placeholder,
// so a refresh token in one answer and in the next request still match.
type scrubber struct {
	secrets map[string]string // real → placeholder
	order   []string
}

func newScrubber() *scrubber { return &scrubber{secrets: map[string]string{}} }

// add registers a secret.
func (s *scrubber) add(secret string) {
	if len(secret) < 8 || s.secrets[secret] != "" {
		return
	}
	s.order = append(s.order, secret)
	s.secrets[secret] = placeholder(secret, len(s.order))
}

// learn registers the secrets of an answer: the session cookie and the secret fields of a JSON body.
func (s *scrubber) learn(a *answer) {
	for _, c := range (&http.Response{Header: a.header}).Cookies() {
		if c.Name == "session_id" || strings.Contains(strings.ToLower(c.Name), "csrf") {
			s.add(c.Value)
		}
	}
	var body map[string]any
	if json.Unmarshal(a.body, &body) != nil {
		return
	}
	for _, f := range secretFields {
		if v, ok := body[f].(string); ok {
			s.add(v)
		}
	}
}

// apply replaces every known secret in raw, longest first (so a secret inside another cannot leave
// part of the longer one).
func (s *scrubber) apply(raw []byte) []byte {
	keys := append([]string(nil), s.order...)
	for i := range keys { // longest first: a few dozen secrets, insertion sort is enough
		for j := i; j > 0 && len(keys[j]) > len(keys[j-1]); j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	for _, k := range keys {
		raw = bytes.ReplaceAll(raw, []byte(k), []byte(s.secrets[k]))
	}
	return raw
}

// placeholder makes the n-th secret's stand-in: a JWT keeps header and claims and gets another
// signature; anything else keeps a short prefix before its first '.' ("rt1.") and its separators.
func placeholder(secret string, n int) string {
	keep := 0
	if parts := strings.Split(secret, "."); len(parts) == 3 && strings.HasPrefix(secret, "eyJ") {
		keep = len(parts[0]) + len(parts[1]) + 2
	} else if i := strings.IndexByte(secret, '.'); i > 0 && i <= 4 {
		keep = i + 1
	}
	var stream []byte
	for block := 0; len(stream) < len(secret); block++ {
		sum := sha256.Sum256(fmt.Appendf(nil, "apicapture placeholder %d/%d", n, block))
		stream = append(stream, sum[:]...)
	}
	const hex, lower, upper = "0123456789abcdef", "abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	out := []byte(secret)
	for i := keep; i < len(out); i++ {
		r := stream[i]
		switch c := out[i]; {
		case strings.IndexByte(hex, c) >= 0:
			out[i] = hex[int(r)%len(hex)]
		case c >= 'a' && c <= 'z':
			out[i] = lower[int(r)%len(lower)]
		case c >= 'A' && c <= 'Z':
			out[i] = upper[int(r)%len(upper)]
		}
	}
	return string(out)
}

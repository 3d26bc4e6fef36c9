package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
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
// so a refresh token in one answer and in the next request still match. It also moves the ports of
// the capture's platform back to the defaults (ports), in JWT claims too, so the documents show
// http://localhost:3008 whatever offset the capture ran at.
type scrubber struct {
	secrets map[string]string // real → placeholder, made by apply
	order   []string
	ports   *strings.Replacer
}

func newScrubber(ports *strings.Replacer) *scrubber {
	return &scrubber{secrets: map[string]string{}, ports: ports}
}

// add registers a secret.
func (s *scrubber) add(secret string) {
	if len(secret) < 8 {
		return
	}
	if _, ok := s.secrets[secret]; ok {
		return
	}
	s.order = append(s.order, secret)
	s.secrets[secret] = ""
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
// part of the longer one), and moves the ports back to the defaults.
func (s *scrubber) apply(raw []byte) []byte {
	keys := append([]string(nil), s.order...)
	for i := range keys { // longest first: a few dozen secrets, insertion sort is enough
		for j := i; j > 0 && len(keys[j]) > len(keys[j-1]); j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	for i, k := range s.order {
		if s.secrets[k] == "" {
			s.secrets[k] = s.placeholder(k, i+1)
		}
	}
	for _, k := range keys {
		raw = bytes.ReplaceAll(raw, []byte(k), []byte(s.secrets[k]))
	}
	return []byte(s.ports.Replace(string(raw)))
}

// placeholder makes the n-th secret's stand-in: a JWT keeps its header and its claims (with the
// ports moved back) and gets another signature; anything else keeps a short prefix before its first
// '.' ("rt1.") and its separators.
func (s *scrubber) placeholder(secret string, n int) string {
	keep := 0
	if parts := strings.Split(secret, "."); len(parts) == 3 && strings.HasPrefix(secret, "eyJ") {
		if claims, err := base64.RawURLEncoding.DecodeString(parts[1]); err == nil {
			parts[1] = base64.RawURLEncoding.EncodeToString([]byte(s.ports.Replace(string(claims))))
		}
		keep = len(parts[0]) + len(parts[1]) + 2
		secret = strings.Join(parts, ".")
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

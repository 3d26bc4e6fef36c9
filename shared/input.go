package shared

import (
	"crypto/rand"
	"encoding/base64"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// RandomTokenLen is the length of every RandomToken: 32 bytes in unpadded base64url.
const RandomTokenLen = 43

// RandomToken returns 32 bytes from crypto/rand in unpadded base64url (RandomTokenLen characters,
// safe in URLs and cookies): session IDs, refresh tokens, authorization codes, OAuth state and PKCE
// verifiers. 256 bits cannot be guessed; crypto/rand.Read never fails on supported platforms.
func RandomToken() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// ValidRandomToken reports whether s has the shape RandomToken makes, so a forged or truncated cookie
// is refused before any store is asked.
func ValidRandomToken(s string) bool {
	if len(s) != RandomTokenLen {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil
}

// ValidID reports whether s has the shape NewID makes: 32 lower-case hex digits. Services check path
// IDs with it so a malformed one is answered before any store is asked.
func ValidID(s string) bool {
	if len(s) != 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// IsWord reports whether s is 1 to maxLen bytes, each an ASCII letter, an ASCII digit or one of the
// bytes in punct. It is the one check of names that end up in URLs, cache keys and Mongo field names
// (SKUs, categories, IDs of other services): with punct free of '.' and '$' a word can never be a
// Mongo operator or path, and nothing outside ASCII ever gets through.
func IsWord(s string, maxLen int, punct string) bool {
	if len(s) == 0 || len(s) > maxLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(punct, c) >= 0) {
			return false
		}
	}
	return true
}

// MaxIdempotencyKey bounds an Idempotency-Key header (order's create, inventory's adjust).
const MaxIdempotencyKey = 255

// ValidIdempotencyKey reports whether k is an Idempotency-Key: 1 to MaxIdempotencyKey visible ASCII
// characters.
func ValidIdempotencyKey(k string) bool {
	if k == "" || len(k) > MaxIdempotencyKey {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x21 || k[i] > 0x7e {
			return false
		}
	}
	return true
}

// Printable reports whether s is valid UTF-8 without control characters (Unicode category Cc: C0,
// DEL and C1) and without the bidirectional embedding, override and isolate controls (U+202A–U+202E,
// U+2066–U+2069); with multiline, newlines, carriage returns and tabs are allowed. It is the check of
// free text (names, descriptions, reasons, addresses) before it is stored, logged or rendered. The
// bidi controls reorder the text around them wherever it is shown: a customer named
// "\u202Egnp.exe" reads as "exe.png" on an admin's page, and a name can make the columns beside it
// appear in another order. The marks (U+200E, U+200F) that right-to-left text needs stay allowed.
func Printable(s string, multiline bool) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) && !(multiline && (r == '\n' || r == '\r' || r == '\t')) {
			return false
		}
		if r >= '\u202a' && r <= '\u202e' || r >= '\u2066' && r <= '\u2069' {
			return false
		}
	}
	return true
}

// QueryInt reads the integer query parameter name of v (a list's page or limit): def when absent,
// the value when it is an integer from lo to hi; anything else sets fields[name] and returns def,
// so every bad parameter of a request is reported at once.
func QueryInt(v url.Values, name string, def, lo, hi int, fields map[string]string) int {
	s := v.Get(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		fields[name] = "must be an integer from " + strconv.Itoa(lo) + " to " + strconv.Itoa(hi)
		return def
	}
	return n
}

// QueryBool reads the flag name from v: "" is def, "true" and "false" are themselves, anything else
// is reported in fields.
func QueryBool(v url.Values, name string, def bool, fields map[string]string) bool {
	switch v.Get(name) {
	case "":
		return def
	case "true":
		return true
	case "false":
		return false
	}
	fields[name] = "must be true or false"
	return def
}

package main

import (
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/goshop/platform/shared"
)

// Limits of user input.
const (
	maxNameLen      = 100 // runes of a profile or address name
	maxStreetLen    = 200
	maxCityLen      = 100
	maxStateLen     = 100
	maxZipLen       = 20
	maxQueryLen     = 100 // runes of the admin list's q
	maxAddresses    = 20  // addresses per user
	defaultLimit    = 20  // admin list page size
	maxLimit        = 100
	defaultCurrency = "USD"
)

// currencies are the preference values the shop can display prices in.
var currencies = map[string]bool{
	"USD": true, "EUR": true, "GBP": true, "CAD": true, "AUD": true, "JPY": true, "CHF": true,
	"SEK": true, "NOK": true, "DKK": true, "PLN": true, "INR": true, "BRL": true, "MXN": true,
}

// validID reports whether s can be a user or address ID: 1 to 128 characters of [A-Za-z0-9._-]. Path
// values failing it are answered 404 without touching the store.
func validID(s string) bool { return shared.IsWord(s, 128, "-_.") }

// cleanText trims s and checks it is valid UTF-8 without control characters, of at most max runes and,
// when required, not empty. It returns the cleaned text or a message for the field.
func cleanText(s string, max int, required bool) (string, string) {
	s = strings.TrimSpace(s)
	switch {
	case !utf8.ValidString(s):
		return "", "must be valid UTF-8"
	case required && s == "":
		return "", "is required"
	case utf8.RuneCountInString(s) > max:
		return "", "must be at most " + strconv.Itoa(max) + " characters"
	}
	if !shared.Printable(s, false) {
		return "", "must not contain control characters"
	}
	return s, ""
}

// normalizePhone turns a phone number as people write it ("+1 (555) 010-2030") into E.164-like form
// ("+15550102030"): an optional leading +, then 7 to 15 digits; spaces, dots, dashes and parentheses
// are dropped. An empty string clears the phone.
func normalizePhone(s string) (string, string) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", ""
	}
	var b strings.Builder
	digits := 0
	for i, r := range s {
		switch {
		case r == '+' && i == 0:
			b.WriteRune(r)
		case r >= '0' && r <= '9':
			b.WriteRune(r)
			digits++
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')':
		default:
			return "", "must be a phone number: digits, optionally a leading +"
		}
	}
	if digits < 7 || digits > 15 {
		return "", "must have 7 to 15 digits"
	}
	return b.String(), ""
}

// normalizeCurrency upper-cases an ISO 4217 code and checks the shop supports it.
func normalizeCurrency(s string) (string, string) {
	c := strings.ToUpper(strings.TrimSpace(s))
	if !currencies[c] {
		return "", "must be a supported ISO 4217 currency code, e.g. USD"
	}
	return c, ""
}

// normalizeCountry upper-cases an ISO 3166-1 alpha-2 code ("us" → "US").
func normalizeCountry(s string) (string, string) {
	c := strings.ToUpper(strings.TrimSpace(s))
	if len(c) != 2 || c[0] < 'A' || c[0] > 'Z' || c[1] < 'A' || c[1] > 'Z' {
		return "", "must be a two-letter ISO 3166 country code, e.g. US"
	}
	return c, ""
}

// normalizeZip checks a postal code: 1 to 20 letters, digits, spaces or dashes.
func normalizeZip(s string) (string, string) {
	z := strings.TrimSpace(s)
	if z == "" {
		return "", "is required"
	}
	if len(z) > maxZipLen {
		return "", "must be at most " + strconv.Itoa(maxZipLen) + " characters"
	}
	for i := 0; i < len(z); i++ {
		c := z[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == ' ' || c == '-') {
			return "", "must hold only letters, digits, spaces and dashes"
		}
	}
	return z, ""
}

// checkAddressField validates and normalizes one address field by its JSON name.
func checkAddressField(field, v string) (string, string) {
	switch field {
	case "name":
		return cleanText(v, maxNameLen, true)
	case "street":
		return cleanText(v, maxStreetLen, true)
	case "city":
		return cleanText(v, maxCityLen, true)
	case "state":
		return cleanText(v, maxStateLen, false)
	case "zip_code":
		return normalizeZip(v)
	case "country":
		return normalizeCountry(v)
	}
	return "", "unknown field"
}

// parseListQuery reads the admin list's query: page (≥1, default 1), limit (1..100, default 20),
// status ("", active, suspended) and q (at most 100 characters). Every bad parameter is reported.
func parseListQuery(q url.Values) (listFilter, map[string]string) {
	var f listFilter
	problems := map[string]string{}
	f.Page = shared.QueryInt(q, "page", 1, 1, 1_000_000, problems)
	f.Limit = shared.QueryInt(q, "limit", defaultLimit, 1, maxLimit, problems)
	switch s := q.Get("status"); s {
	case "", statusActive, statusSuspended:
		f.Status = s
	default:
		problems["status"] = "must be active or suspended"
	}
	if v, msg := cleanText(q.Get("q"), maxQueryLen, false); msg != "" {
		problems["q"] = msg
	} else {
		f.Q = v
	}
	return f, problems
}

package main

import (
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"unicode/utf8"

	"github.com/goshop/platform/shared"
	"golang.org/x/crypto/bcrypt"
)

// Password policy (NIST SP 800-63B: length and a deny list, no composition rules). bcrypt reads at
// most 72 bytes, so longer passwords are refused rather than silently truncated.
const (
	minPasswordRunes = 10
	maxPasswordBytes = 72
	maxEmailBytes    = 254
	maxNameRunes     = 100
)

// commonPasswords is a small deny list of passwords that pass the length rule but are first in every
// guessing dictionary.
var commonPasswords = map[string]bool{
	"password123": true, "password1234": true, "1234567890": true, "qwertyuiop": true,
	"123456789a": true, "iloveyou123": true, "passw0rd123": true, "letmein1234": true,
	"welcome1234": true, "administrator": true, "0987654321": true, "1q2w3e4r5t": true,
}

// normalizeEmail trims and lower-cases an address and checks it is one plain address
// ("a@b.c", no display name). Lower-casing the local part is not RFC 5321 strict, but every mailbox
// provider in practice is case-insensitive and it makes the unique index catch "A@x" vs "a@x".
func normalizeEmail(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	switch {
	case s == "":
		return "", errors.New("is required")
	case len(s) > maxEmailBytes:
		return "", fmt.Errorf("must be at most %d characters", maxEmailBytes)
	}
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Address != s || addr.Name != "" {
		return "", errors.New("must be an email address like name@example.com")
	}
	at := strings.LastIndexByte(s, '@')
	if at < 1 || !strings.Contains(s[at+1:], ".") {
		return "", errors.New("must be an email address like name@example.com")
	}
	return s, nil
}

// newEmail is normalizeEmail for an address an account is to take (registration, a change of
// address): it must also be one the mailer can send to (shared.CheckMailAddress: plain ASCII), or
// the account could never get its verification, reset or order mails. Sign-in and forgot keep
// normalizeEmail alone, so an account that already has such an address can still sign in.
func newEmail(s string) (string, error) {
	email, err := normalizeEmail(s)
	if err == nil {
		err = shared.CheckMailAddress(email)
	}
	return email, err
}

// checkPassword applies the policy; the message is for the "password" field.
func checkPassword(password, email string) error {
	switch {
	case !utf8.ValidString(password):
		return errors.New("must be valid UTF-8")
	case utf8.RuneCountInString(password) < minPasswordRunes:
		return fmt.Errorf("must be at least %d characters", minPasswordRunes)
	case len(password) > maxPasswordBytes:
		return fmt.Errorf("must be at most %d bytes", maxPasswordBytes)
	case strings.TrimSpace(password) == "":
		return errors.New("must not be blank")
	case commonPasswords[strings.ToLower(password)]:
		return errors.New("is too common, choose another")
	}
	if at := strings.IndexByte(email, '@'); at > 2 && strings.Contains(strings.ToLower(password), email[:at]) {
		return errors.New("must not contain your email name")
	}
	return nil
}

// checkName requires a display name without control characters or bidirectional embedding, override
// and isolate controls (shared.Printable, as the user service checks the names it is sent): the name
// goes into mails, the admin's lists and, through user.registered, the user's profile, where mail
// refuses it in a To header.
func checkName(name string) error {
	switch {
	case strings.TrimSpace(name) == "":
		return errors.New("is required")
	case utf8.RuneCountInString(name) > maxNameRunes:
		return fmt.Errorf("must be at most %d characters", maxNameRunes)
	case !shared.Printable(name, false):
		return errors.New("must not contain control characters")
	}
	return nil
}

// hasher hashes and checks passwords with bcrypt at a fixed cost. dummy is a hash of a random
// password at the same cost: a login for an unknown email compares against it, so it takes as long as
// a wrong password for a real account and timing does not reveal which emails exist.
type hasher struct {
	cost  int
	dummy []byte
	// compare is bcrypt.CompareHashAndPassword; tests count its calls to check that known and unknown
	// emails cost the same work.
	compare func(hash, password []byte) error
}

func newHasher(cost int) (*hasher, error) {
	dummy, err := bcrypt.GenerateFromPassword([]byte("dummy password never matches"), cost)
	if err != nil {
		return nil, fmt.Errorf("bcrypt: %w", err)
	}
	return &hasher{cost: cost, dummy: dummy, compare: bcrypt.CompareHashAndPassword}, nil
}

func (h *hasher) hash(password string) ([]byte, error) {
	b, err := bcrypt.GenerateFromPassword([]byte(password), h.cost)
	if err != nil {
		return nil, fmt.Errorf("bcrypt: %w", err)
	}
	return b, nil
}

// outdated reports whether hash was made at another cost than the configured one, so a successful
// login should re-hash the password.
func (h *hasher) outdated(hash []byte) bool {
	c, err := bcrypt.Cost(hash)
	return err == nil && c != h.cost
}

// matches reports whether password matches hash (constant-time inside bcrypt). A nil hash is checked
// against the dummy and never matches.
func (h *hasher) matches(hash []byte, password string) bool {
	if hash == nil {
		h.compare(h.dummy, []byte(password))
		return false
	}
	return h.compare(hash, []byte(password)) == nil
}

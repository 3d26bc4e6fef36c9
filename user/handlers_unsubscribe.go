package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"time"

	"github.com/goshop/platform/shared"
)

// unsubscribeKey signs the one-click unsubscribe links of optional mail: a token is
// HMAC-SHA256(key, purpose + user ID), so a link turns off one user's order mails and nothing else,
// and cannot be made for another user. It never expires: a mail may be read months later.
type unsubscribeKey []byte

// unsubscribePurpose separates these tokens from any other use of the key.
const unsubscribePurpose = "goshop unsubscribe order_emails\x00"

// newUnsubscribeKey returns the key of secret, or a random one (logged) when secret is empty.
func newUnsubscribeKey(logger *slog.Logger, secret string) unsubscribeKey {
	if secret != "" {
		return unsubscribeKey(secret)
	}
	logger.Warn("UNSUBSCRIBE_SECRET is not set: unsubscribe links stop working at the next restart")
	k := make([]byte, 32)
	rand.Read(k)
	return k
}

func (k unsubscribeKey) token(userID string) string {
	mac := hmac.New(sha256.New, k)
	mac.Write([]byte(unsubscribePurpose + userID))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// valid reports whether token is userID's, in constant time.
func (k unsubscribeKey) valid(userID, token string) bool {
	return len(k) > 0 && hmac.Equal([]byte(k.token(userID)), []byte(token))
}

// maxUnsubscribeBody bounds the one-click body, "List-Unsubscribe=One-Click".
const maxUnsubscribeBody = 1 << 10

// decodeOneClick reads the one-click body, at most maxUnsubscribeBody bytes. RFC 8058 3.2 has mail
// receivers send it as multipart/form-data (SHOULD) or application/x-www-form-urlencoded (MAY), so
// both are read; any other type is 415 as for every form route (shared.DecodeForm). A multipart body
// is read whole into memory (it is small) and its parts are taken as form values, never as files.
func decodeOneClick(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		return shared.DecodeForm(w, r, maxUnsubscribeBody)
	}
	body, err := shared.ReadBody(w, r, maxUnsubscribeBody)
	if err != nil {
		return nil, err
	}
	malformed := func(err error) error {
		return &shared.Error{Code: shared.CodeInvalid, Message: "malformed multipart/form-data body", Err: err}
	}
	if params["boundary"] == "" {
		return nil, malformed(errors.New("no boundary"))
	}
	vals := url.Values{}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, malformed(err)
		}
		v, err := io.ReadAll(p)
		if err != nil {
			return nil, malformed(err)
		}
		vals.Add(p.FormName(), string(v))
	}
	return vals, shared.ValidUTF8Values(vals)
}

// handleUnsubscribe answers POST /users/{id}/unsubscribe?token=...: RFC 8058's one-click
// unsubscribe, which mail programs send without a session, with the form body
// "List-Unsubscribe=One-Click" (multipart/form-data or urlencoded: decodeOneClick). A valid token turns the user's order_emails off (again: harmless);
// a missing or wrong token or body is 400, an unknown user 404. The answer is JSON, or a page for a
// browser (the form of handleUnsubscribePage, the GET of the same link, which changes nothing).
func handleUnsubscribe(logger *slog.Logger, profiles profileStore, key unsubscribeKey) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		form, err := decodeOneClick(w, r)
		if err != nil {
			shared.WriteError(w, r, logger, err)
			return
		}
		if form.Get("List-Unsubscribe") != "One-Click" {
			shared.WriteError(w, r, logger, shared.Invalid(map[string]string{"List-Unsubscribe": "must be One-Click"}))
			return
		}
		if !validID(id) || !key.valid(id, r.URL.Query().Get("token")) {
			shared.WriteError(w, r, logger, shared.Invalid(map[string]string{"token": "is not a valid unsubscribe link"}))
			return
		}
		_, err = profiles.Update(r.Context(), id, func(p *Profile) error {
			p.Preferences.OrderEmailsOff = true
			p.UpdatedAt = time.Now().UTC().Truncate(time.Millisecond)
			return nil
		})
		if errNoProfile(err) {
			err = errUserNotFound
		}
		if err != nil {
			shared.WriteError(w, r, logger, err)
			return
		}
		logger.InfoContext(r.Context(), "order mails turned off by one-click unsubscribe", "user_id", id)
		if wantsPage(r) {
			unsubscribedPage(w, r, logger)
			return
		}
		shared.Encode(w, http.StatusOK, map[string]any{"order_emails": false})
	})
}

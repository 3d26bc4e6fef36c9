package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/goshop/platform/shared"
)

// Cookie names. Every cookie is HttpOnly, SameSite=Lax, Path=/ and Secure when configured.
const (
	// cookieSession holds the storefront session ID: 256 random bits naming the server-side session
	// (cart, sign-in state) in the sessionStore. Set when a visitor first needs a session.
	cookieSession = "sf_sid"
	// cookieCSRF holds a random per-browser key the CSRF tokens are bound to; renewed at sign-in and
	// sign-out.
	cookieCSRF = "sf_csrf"
	// cookieFlash holds the code of a one-time notice shown after a redirect.
	cookieFlash = "sf_flash"
)

// visitor is what the storefront knows about the browser of a request: its CSRF key, its storefront
// session (if it has one) and, once looked up, its sign-in state.
type visitor struct {
	csrfKey string
	sid     string

	once sync.Once
	auth *authState
	err  error

	notes *notificationList // read once per request by s.notifications
}

type visitorKey struct{}

func visitorFrom(ctx context.Context) *visitor {
	v, _ := ctx.Value(visitorKey{}).(*visitor)
	if v == nil {
		return &visitor{}
	}
	return v
}

// ensureSession returns the visitor's session ID, starting a session (and setting its cookie) when the
// visitor has none yet. Nothing is stored until the session is written to.
func (s *site) ensureSession(w http.ResponseWriter, r *http.Request) string {
	v := visitorFrom(r.Context())
	if v.sid == "" {
		v.sid = shared.RandomToken()
		s.setSessionCookie(w, v.sid)
	}
	return v.sid
}

// setSessionCookie (re)sets the session cookie; it lives as long as an untouched session in the store.
func (s *site) setSessionCookie(w http.ResponseWriter, sid string) {
	s.setCookie(w, cookieSession, sid, int(sessionTTL.Seconds()))
}

// readCart returns the visitor's cart; no session is an empty cart without asking the store.
func (s *site) readCart(r *http.Request) (cart, error) {
	sid := visitorFrom(r.Context()).sid
	if sid == "" {
		return cart{}, nil
	}
	ctx, cancel := context.WithTimeout(r.Context(), storeReadTimeout)
	defer cancel()
	return s.store.Cart(ctx, sid)
}

// storeReadTimeout bounds the session reads every page makes (sign-in state, cart), so a session
// store that is down or hanging costs a page at most this before it shows signed out or the 503
// page; go-redis would otherwise retry for over a second. A healthy Redis answers in well under 1 ms.
const storeReadTimeout = 500 * time.Millisecond

// cartCount is the item count for the header. It never fails a page: a slow or absent store shows 0.
func (s *site) cartCount(r *http.Request) int {
	if visitorFrom(r.Context()).sid == "" {
		return 0
	}
	if _, err := s.user(r); errors.Is(err, shared.ErrUnavailable) {
		return 0 // the store already failed this request: do not wait for it twice
	}
	c, err := s.readCart(r)
	if err != nil {
		s.logger.WarnContext(r.Context(), "cart count unavailable", "err", err)
		return 0
	}
	return c.count()
}

// csrfToken is the token forms carry: an HMAC, under the server's CSRF secret (derived from
// STOREFRONT_SECRET), of the browser's CSRF key and its storefront session ID ("" before it has one).
// A token is therefore useless in another browser and with another session: a key and token an
// attacker minted for themselves and planted next to the victim's sf_sid do not check out, because
// the victim's session ID is part of the MAC and the attacker cannot compute it without the secret.
// Both inputs change at sign-in and sign-out, so a token from before no longer works.
func (s *site) csrfToken(v *visitor) string {
	m := hmac.New(sha256.New, s.csrfSecret)
	m.Write([]byte(v.csrfKey))
	m.Write([]byte{0})
	m.Write([]byte(v.sid))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// renewCSRF gives the browser a new CSRF key, for the rest of this request too.
func (s *site) renewCSRF(w http.ResponseWriter, r *http.Request) {
	v := visitorFrom(r.Context())
	v.csrfKey = shared.NewID()
	s.setCookie(w, cookieCSRF, v.csrfKey, 0)
}

var errCSRF = errors.New("csrf token missing or invalid")

// checkCSRF verifies a form post: the csrf_token field matches, in constant time, the token of this
// browser's key and session, and a present Origin header names this host.
func (s *site) checkCSRF(r *http.Request, v *visitor) error {
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		if o != "http://"+r.Host && o != "https://"+r.Host {
			return errCSRF
		}
	}
	if v.csrfKey == "" {
		return errCSRF
	}
	got := r.PostFormValue("csrf_token")
	if got == "" || !hmac.Equal([]byte(got), []byte(s.csrfToken(v))) {
		return errCSRF
	}
	return nil
}

// setCookie sets a storefront cookie with the platform's flags; maxAge < 0 deletes it.
func (s *site) setCookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.cfg.CookieSecure,
	})
}

// withVisitor puts the visitor in the context (issuing a CSRF key to a new browser) and rejects any
// unsafe request whose CSRF token does not check out, before a handler sees it.
func (s *site) withVisitor(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := &visitor{}
		if c, err := r.Cookie(cookieCSRF); err == nil && len(c.Value) == 32 {
			v.csrfKey = c.Value
		}
		if c, err := r.Cookie(cookieSession); err == nil && shared.ValidRandomToken(c.Value) {
			v.sid = c.Value
		}
		ctx := withClientIP(context.WithValue(r.Context(), visitorKey{}, v), s.cfg.TrustedProxies.ClientIP(r))
		r = r.WithContext(ctx)
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			if v.csrfKey == "" {
				v.csrfKey = shared.NewID()
				s.setCookie(w, cookieCSRF, v.csrfKey, 0)
			}
		default:
			r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
			if err := r.ParseForm(); err != nil {
				if tooBig := (*http.MaxBytesError)(nil); errors.As(err, &tooBig) {
					s.renderError(w, r, &apiError{Status: http.StatusRequestEntityTooLarge, Code: shared.CodeTooLarge,
						Message: "What you sent is too long for this form. Please shorten it and try again."})
					return
				}
				// A malformed body leaves the form empty: the CSRF check below refuses it.
			}
			if err := s.checkCSRF(r, v); err != nil {
				s.csrfRejected.Inc()
				s.renderError(w, r, &apiError{Status: http.StatusForbidden, Code: shared.CodeForbidden,
					Message: "This form has expired or did not come from this site. Please go back, reload the page and try again."})
				return
			}
			// encoding/json would send invalid UTF-8 on to the API as U+FFFD, so the services'
			// own 400 for it never fires and the mangled text is stored: refuse it here.
			if shared.ValidUTF8Values(r.PostForm) != nil {
				s.renderError(w, r, badForm("Something you typed is not valid text (it holds bytes that are not UTF-8). Please type it again."))
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// flash codes and their notices; a cookie only ever selects one of these fixed texts.
var flashes = map[string]string{
	"added":         "Added to your cart.",
	"cart":          "Cart updated.",
	"capped":        "We do not have that many in stock, so the quantity is now all that is available.",
	"soldout":       "That product is out of stock now, so it was taken out of your cart.",
	"removed":       "Removed from your cart.",
	"cleared":       "Your cart is empty now.",
	"signedin":      "Welcome back! You are signed in.",
	"registered":    "Your account is ready. Welcome!",
	"signedout":     "You are signed out.",
	"paid":          "Payment received. Thank you!",
	"repriced":      "Prices changed since you opened the checkout, so this order's total is not the one shown there. Please check it before you pay.",
	"cancelled":     "The order was cancelled.",
	"reordered":     "The order's products are in your cart again.",
	"reorderedsome": "Added what can be bought now: some of the order's products are sold out, no longer sold or fewer than before, or your cart is full.",
	"saved":         "Saved.",
	"deleted":       "Deleted.",
	"adjusted":      "Stock adjusted.",
	"adjustonce":    "That change was already made (the form was sent twice); it was not applied again.",
	"status":        "Status changed.",
	"read":          "Marked as read.",

	"passwordreset":   "Your password is changed. Sign in with the new one; every device that was signed in is signed out.",
	"passwordchanged": "Your password is changed. Other devices that were signed in are signed out.",
	"emailverified":   "Thank you! Your email address is confirmed.",
	"emailchange":     "Almost done: we have sent a link to your new address. Your address changes when you follow it.",
	"verifysent":      "We have sent you a new link. It works for 30 minutes.",
	"alreadydeleted":  "That product was already deleted.",
}

// warnFlashes are the notices that report something other than what the visitor asked for, or ask
// them to act (check a total before paying): shown as warnings, not as the green "done".
var warnFlashes = map[string]bool{"capped": true, "soldout": true, "repriced": true, "adjustonce": true, "alreadydeleted": true, "reorderedsome": true}

func (s *site) flash(w http.ResponseWriter, code string) { s.setCookie(w, cookieFlash, code, 60) }

// takeFlash returns the pending notice, if any, and whether it is a warning, and clears it.
func (s *site) takeFlash(w http.ResponseWriter, r *http.Request) (notice string, warn bool) {
	c, err := r.Cookie(cookieFlash)
	if err != nil {
		return "", false
	}
	s.setCookie(w, cookieFlash, "", -1)
	return flashes[c.Value], warnFlashes[c.Value]
}

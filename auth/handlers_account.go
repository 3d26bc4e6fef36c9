package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/goshop/platform/shared"
)

// userJSON is the user object of login, session and register answers.
type userJSON struct {
	ID    string `json:"id"`
	Email string `json:"email"`
	Name  string `json:"name"`
	Role  string `json:"role"`
	// EmailVerified: the account holder followed a link mailed to Email.
	EmailVerified bool `json:"email_verified"`
}

func userOf(a account) userJSON {
	return userJSON{ID: a.ID, Email: a.Email, Name: a.Name, Role: a.Role, EmailVerified: a.EmailVerified}
}

// sessionCookies sets and reads the session_id cookie.
type sessionCookies struct{ cfg Config }

const sessionCookie = "session_id"

// id returns the session ID of the request: the session_id cookie, or X-Session-ID for
// server-to-server callers (the gateway, realtime).
func (sc sessionCookies) id(r *http.Request) string {
	if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
		return c.Value
	}
	return r.Header.Get("X-Session-ID")
}

func (sc sessionCookies) set(w http.ResponseWriter, r *http.Request, id string) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: sc.cfg.CookieSecure || sc.cfg.TrustedProxies.IsHTTPS(r),
		MaxAge: int(sc.cfg.SessionMaxTTL.Seconds())})
}

func (sc sessionCookies) clear(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: sc.cfg.CookieSecure || sc.cfg.TrustedProxies.IsHTTPS(r), MaxAge: -1})
}

type registerRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	Name     string `json:"name"`
}

func (req *registerRequest) Valid(context.Context) map[string]string {
	fields := map[string]string{}
	email, err := newEmail(req.Email)
	if err != nil {
		fields["email"] = err.Error()
	}
	req.Email = email
	if err := checkPassword(req.Password, email); err != nil {
		fields["password"] = err.Error()
	}
	if err := checkName(req.Name); err != nil {
		fields["name"] = err.Error()
	}
	return fields
}

// handleRegister creates a customer account and mails it a verification link: 201 {"user":{...}}, 409
// when the email is taken, 400 with field messages, 429 with Retry-After while the address is
// throttled. It does not sign in; the client calls /login next.
//
// A 409 tells whether an email is registered, so each one counts as a failure of the caller's address
// (ipLimiter, key "reg:<addr>", the address policy): an address that keeps hitting taken emails is
// refused before any lookup, which caps enumeration through this endpoint per address.
func handleRegister(logger *slog.Logger, cfg Config, d deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := shared.Decode[registerRequest](w, r)
		if err != nil {
			shared.WriteError(w, r, logger, err)
			return
		}
		regKey := "reg:" + ipLimitKey(cfg.TrustedProxies.ClientIP(r))
		st, err := d.ipLimiter.State(r.Context(), regKey)
		if err == nil && st.Wait > 0 {
			err = tooMany(w, st.Wait)
		}
		if err != nil {
			shared.WriteError(w, r, logger, err)
			return
		}
		a, err := createAccount(r.Context(), d.accounts, d.hasher, req.Email, req.Password, req.Name, shared.RoleCustomer)
		if errors.Is(err, shared.ErrConflict) {
			if _, err := d.ipLimiter.Fail(r.Context(), regKey); err != nil {
				shared.WriteError(w, r, logger, err)
				return
			}
			shared.WriteError(w, r, logger, &shared.Error{Code: shared.CodeConflict, Message: "email already registered",
				Fields: map[string]string{"email": "is already registered"}})
			return
		}
		if err != nil {
			shared.WriteError(w, r, logger, err)
			return
		}
		d.wake() // the account is saved with its user.registered pending: the relay publishes it
		// The account exists either way: a lost verification mail is one POST /email/resend away.
		if err := d.mail.sendLink(r.Context(), d.links, mailEmailVerify, linkVerify, a, a.Email); err != nil {
			logger.WarnContext(r.Context(), "verification mail", "user_id", a.ID, "err", err)
		}
		shared.Encode(w, http.StatusCreated, map[string]userJSON{"user": userOf(a)})
	})
}

// createAccount hashes the password and inserts the account with its user.registered pending.
func createAccount(ctx context.Context, accounts accountStore, h *hasher, email, password, name, role string) (account, error) {
	hash, err := h.hash(password)
	if err != nil {
		return account{}, err
	}
	now := time.Now().UTC()
	a := account{ID: shared.NewID(), Email: email, Name: name, Role: role, PasswordHash: hash,
		Status: statusActive, CreatedAt: now, UpdatedAt: now, EventPending: true}
	if err := accounts.Create(ctx, a); err != nil {
		return account{}, err
	}
	return a, nil
}

type loginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

func (req *loginRequest) Valid(context.Context) map[string]string {
	return required("email", req.Email, "password", req.Password)
}

type loginResponse struct {
	AccessToken  string   `json:"access_token"`
	TokenType    string   `json:"token_type"`
	ExpiresIn    int      `json:"expires_in"`
	RefreshToken string   `json:"refresh_token"`
	User         userJSON `json:"user"`
}

// errBadCredentials is the one answer for an unknown email and a wrong password.
var errBadCredentials = shared.Errorf(shared.CodeUnauthorized, "invalid email or password")

// handleLogin checks credentials under the login throttles and starts a session: 200 with the
// session_id cookie, an access token and a refresh token. 401 for bad credentials, 429 with
// Retry-After while throttled, 403 for a suspended account (after the right password only), 503 when
// Redis is down.
//
// Throttling counts failures per client (account+address) and per address; successes are not
// counted. A client is refused while its own lockout runs, or while its address is locked and it has
// itself failed on this account: a client that has not failed from its address is never refused, so
// an attacker behind the same NAT or proxy cannot lock other people out, while a locked address gets
// one guess per account. Known and unknown emails are counted and answered alike (an unknown one is
// checked against a dummy bcrypt hash, a throttled one is refused before any hash is checked), so
// status, body and time do not tell whether an account exists.
func handleLogin(logger *slog.Logger, cfg Config, d deps, tokens tokenIssuer, sc sessionCookies) http.Handler {
	failures := d.metrics.Counter("auth_login_failures_total", "Failed logins by reason.", "reason")
	logins := d.metrics.Counter("auth_logins_total", "Successful logins.")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		req, err := shared.Decode[loginRequest](w, r)
		if err != nil {
			shared.WriteError(w, r, logger, err)
			return
		}
		email, err := normalizeEmail(req.Email)
		if err != nil {
			// Not an address at all: nothing to throttle or look up, and no account can match.
			shared.WriteError(w, r, logger, shared.Invalid(map[string]string{"email": err.Error()}))
			return
		}
		ipKey := ipLimitKey(cfg.TrustedProxies.ClientIP(r))
		acctKey := "acct:" + email + "|" + ipKey
		if wait, err := throttled(ctx, d, acctKey, ipKey); err != nil || wait > 0 {
			if err == nil {
				failures.Inc("throttled")
				err = tooMany(w, wait)
			}
			shared.WriteError(w, r, logger, err)
			return
		}
		a, err := d.accounts.ByEmail(ctx, email)
		if err != nil && !errors.Is(err, shared.ErrNotFound) {
			shared.WriteError(w, r, logger, err)
			return
		}
		if !d.hasher.matches(a.PasswordHash, req.Password) {
			failures.Inc("bad_credentials")
			_, err1 := d.accountLimiter.Fail(ctx, acctKey)
			_, err2 := d.ipLimiter.Fail(ctx, ipKey)
			if err := errors.Join(err1, err2); err != nil {
				shared.WriteError(w, r, logger, err)
				return
			}
			shared.WriteError(w, r, logger, errBadCredentials)
			return
		}
		if a.suspended() {
			failures.Inc("suspended")
			shared.WriteError(w, r, logger, shared.Errorf(shared.CodeForbidden, "account is suspended"))
			return
		}
		if err := d.accountLimiter.Reset(ctx, acctKey); err != nil {
			shared.WriteError(w, r, logger, err)
			return
		}
		if d.hasher.outdated(a.PasswordHash) {
			// The cost changed (AUTH_BCRYPT_COST): upgrade the hash now that we hold the password.
			// A failure only postpones it to the next login.
			if hash, err := d.hasher.hash(req.Password); err == nil {
				if err := d.accounts.SetPasswordHash(ctx, a.ID, hash); err != nil {
					logger.WarnContext(ctx, "password re-hash", "user_id", a.ID, "err", err)
				}
			}
		}
		now := time.Now()
		sess := session{ID: shared.RandomToken(), UserID: a.ID, CreatedAt: now.UTC(), ExpiresAt: now.Add(cfg.SessionMaxTTL).UTC()}
		if err := d.sessions.Create(ctx, sess, cfg.SessionIdleTTL); err != nil {
			shared.WriteError(w, r, logger, err)
			return
		}
		sid := sessionSID(sess.ID)
		refresh, _ := newFamilyToken()
		g := grant{UserID: a.ID, SessionID: sid, AuthTime: now.UTC(), ExpiresAt: now.Add(cfg.RefreshTTL).UTC()}
		if err := d.grants.StartFamily(ctx, g, refresh); err != nil {
			shared.WriteError(w, r, logger, err)
			return
		}
		access, err := tokens.access(a, sid, "", "")
		if err != nil {
			shared.WriteError(w, r, logger, err)
			return
		}
		logins.Inc()
		logger.InfoContext(ctx, "login", "user_id", a.ID, "sid", sid[:12])
		sc.set(w, r, sess.ID)
		w.Header().Set("Cache-Control", "no-store")
		shared.Encode(w, http.StatusOK, loginResponse{AccessToken: access, TokenType: "Bearer",
			ExpiresIn: int(cfg.AccessTTL.Seconds()), RefreshToken: refresh, User: userOf(a)})
	})
}

// throttled returns how long the client (acctKey, an account+address pair) must wait: its own
// lockout, or its address's lockout when the client has failed itself. 0 means go ahead.
func throttled(ctx context.Context, d deps, acctKey, ipKey string) (time.Duration, error) {
	client, err1 := d.accountLimiter.State(ctx, acctKey)
	addr, err2 := d.ipLimiter.State(ctx, ipKey)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	if client.Failures == 0 {
		return client.Wait, nil
	}
	return max(client.Wait, addr.Wait), nil
}

// tooMany sets Retry-After (whole seconds, rounded up) and returns the 429 error.
func tooMany(w http.ResponseWriter, wait time.Duration) error {
	secs := int(math.Ceil(wait.Seconds()))
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	return shared.Errorf(shared.CodeTooManyRequests, "too many failed attempts, retry in %d s", secs)
}

// handleLogout ends the caller's session (from the cookie, X-Session-ID, or the sid of a valid
// first-party bearer token) and every refresh token issued from it, and clears the cookie. Always 204,
// also for an invalid or third-party token or no session: logging out twice is not an error. Access tokens already issued stay
// valid until they expire (≤ 15 min): services verify them offline.
func handleLogout(logger *slog.Logger, sessions sessionStore, grants grantStore, sc sessionCookies, v shared.Verifier) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var sid string
		if id := sc.id(r); id != "" {
			sid = sessionSID(id)
		} else if raw := shared.BearerToken(r); raw != "" {
			// A third-party app's token names the sign-in it was granted from, but ending that
			// sign-in (and every app's grant from it) is the account holder's: an app revokes its
			// own grant at /revoke.
			if ident, err := v.Verify(r.Context(), raw); err == nil && !ident.Delegated() {
				sid = ident.SessionID
			}
		}
		if sid != "" {
			err := errors.Join(sessions.Delete(r.Context(), sid), grants.RevokeSession(r.Context(), sid))
			if err != nil {
				shared.WriteError(w, r, logger, err)
				return
			}
		}
		sc.clear(w, r)
		w.WriteHeader(http.StatusNoContent)
	})
}

type sessionResponse struct {
	User        userJSON `json:"user"`
	AccessToken string   `json:"access_token"`
	TokenType   string   `json:"token_type"`
	ExpiresIn   int      `json:"expires_in"`
}

// handleSession turns a live session into a fresh access token and slides the session's expiry: 200
// with user and token, 401 without a live session or when the account is gone or suspended, 503 when
// Redis is down.
func handleSession(logger *slog.Logger, cfg Config, accounts accountStore, sessions sessionStore, tokens tokenIssuer, sc sessionCookies) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		a, sess, err := liveSession(ctx, cfg, accounts, sessions, sc.id(r))
		if err != nil {
			shared.WriteError(w, r, logger, err)
			return
		}
		access, err := tokens.access(a, sessionSID(sess.ID), "", "")
		if err != nil {
			shared.WriteError(w, r, logger, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		shared.Encode(w, http.StatusOK, sessionResponse{User: userOf(a), AccessToken: access, TokenType: "Bearer",
			ExpiresIn: int(cfg.AccessTTL.Seconds())})
	})
}

var errNoSession = shared.Errorf(shared.CodeUnauthorized, "no valid session")

// liveSession resolves a session ID to its active account and the session (CreatedAt is when the
// user signed in), sliding its expiry. A session whose account is gone or suspended is ended on the
// spot.
func liveSession(ctx context.Context, cfg Config, accounts accountStore, sessions sessionStore, id string) (account, session, error) {
	if id == "" || len(id) > 128 {
		return account{}, session{}, errNoSession
	}
	sess, err := sessions.Touch(ctx, id, cfg.SessionIdleTTL)
	if errors.Is(err, shared.ErrNotFound) {
		return account{}, session{}, errNoSession
	}
	if err != nil {
		return account{}, session{}, err
	}
	sid := sessionSID(id)
	a, err := accounts.ByID(ctx, sess.UserID)
	if err == nil && a.suspended() {
		err = fmt.Errorf("account suspended: %w", shared.ErrNotFound)
	}
	if errors.Is(err, shared.ErrNotFound) {
		if err := sessions.Delete(ctx, sid); err != nil {
			return account{}, session{}, err
		}
		return account{}, session{}, errNoSession
	}
	if err != nil {
		return account{}, session{}, err
	}
	return a, sess, nil
}

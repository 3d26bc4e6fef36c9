package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/goshop/platform/shared"
)

// Mail throttling: every mailed link counts against its recipient address (and, for the anonymous
// POST /password/forgot, the caller's address) whether an account exists or not. The first two mails
// within an hour are free, the third locks for a minute, each further one doubles it up to an hour,
// so nobody can flood an inbox through auth. An address (or a NAT) gets ten forgot requests an hour
// before the same lock.
var (
	mailPolicy   = limitPolicy{Threshold: 3, Base: time.Minute, Max: time.Hour, Window: time.Hour}
	mailIPPolicy = limitPolicy{Threshold: 10, Base: time.Minute, Max: time.Hour, Window: time.Hour}
)

// errInvalidToken is the one answer for an unknown, used, expired or malformed mailed token.
var errInvalidToken = shared.Errorf(shared.CodeInvalidToken, "the link is invalid or has expired; ask for a new one")

// throttleMail refuses with 429 (and Retry-After) while a recipient key ("to:<email>", d.mailLimiter)
// or the caller's address (ipKey, d.mailIPLimiter; "" for signed-in routes) is locked, and otherwise
// counts this mail against both.
func throttleMail(ctx context.Context, w http.ResponseWriter, d deps, email, ipKey string) error {
	type counted struct {
		l   limiter
		key string
	}
	keys := []counted{{d.mailLimiter, "mail:to:" + email}}
	if ipKey != "" {
		keys = append(keys, counted{d.mailIPLimiter, "mail:" + ipKey})
	}
	for _, k := range keys {
		st, err := k.l.State(ctx, k.key)
		if err != nil {
			return err
		}
		if st.Wait > 0 {
			return tooMany(w, st.Wait)
		}
	}
	for _, k := range keys {
		if _, err := k.l.Fail(ctx, k.key); err != nil {
			return err
		}
	}
	return nil
}

type forgotRequest struct {
	Email string `json:"email"`
}

func (req *forgotRequest) Valid(context.Context) map[string]string {
	email, err := normalizeEmail(req.Email)
	if err != nil {
		return map[string]string{"email": err.Error()}
	}
	req.Email = email
	return nil
}

// forgotAnswer is the one answer of POST /password/forgot, account or not.
var forgotAnswer = map[string]string{"status": "accepted",
	"message": "If an account uses this address, a link to choose a new password is on its way. It works for 30 minutes."}

// handleForgot mails a password-reset link: 202 with the same body whether an account uses the
// address or not (an unknown or suspended one gets nothing), 400 for a malformed address, 429 while
// the address or the caller is throttled (counted for known and unknown addresses alike). The mail is
// rendered either way so the work differs only by the two writes of a real one.
func handleForgot(logger *slog.Logger, cfg Config, d deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		req, err := shared.Decode[forgotRequest](w, r)
		if err == nil {
			err = throttleMail(ctx, w, d, req.Email, ipLimitKey(cfg.TrustedProxies.ClientIP(r)))
		}
		var a account
		if err == nil {
			a, err = d.accounts.ByEmail(ctx, req.Email)
		}
		switch {
		case errors.Is(err, shared.ErrNotFound) || (err == nil && a.suspended()):
			// Same rendering as a real mail, nothing stored or sent.
			_, err = d.mail.render(mailPasswordReset, account{Email: req.Email}, req.Email, mailData{Link: d.mail.link("/reset-password", shared.RandomToken())})
		case err == nil:
			err = d.mail.sendLink(ctx, d.links, mailPasswordReset, linkReset, a, a.Email)
		}
		if err != nil {
			shared.WriteError(w, r, logger, err)
			return
		}
		shared.Encode(w, http.StatusAccepted, forgotAnswer)
	})
}

type resetRequest struct {
	Token    string `json:"token"`
	Password string `json:"password"`
}

func (req *resetRequest) Valid(context.Context) map[string]string {
	return required("token", req.Token, "password", req.Password)
}

// required returns "is required" for every field (name, value pairs) whose value is empty.
func required(kv ...string) map[string]string {
	fields := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			fields[kv[i]] = "is required"
		}
	}
	return fields
}

// handleReset sets a new password with a mailed reset link: 204, then every session and refresh
// family of the account is over and a notice goes to its address. 400 invalid_token for an unknown,
// used, expired or malformed token; 400 with fields.password when the password breaks the policy
// (the link then still works, for a better password).
func handleReset(logger *slog.Logger, d deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		req, err := shared.Decode[resetRequest](w, r)
		if err != nil {
			shared.WriteError(w, r, logger, err)
			return
		}
		a, l, err := takeLink(ctx, d, linkReset, req.Token)
		if err == nil && a.Email != l.Email {
			err = errInvalidToken // mailed to an address the account no longer has
		}
		if err != nil {
			shared.WriteError(w, r, logger, err)
			return
		}
		if perr := checkPassword(req.Password, a.Email); perr != nil {
			// Put the link back: a rejected password must not cost the user the mail.
			err = d.links.Save(ctx, l)
			if err == nil {
				err = shared.Invalid(map[string]string{"password": perr.Error()})
			}
			shared.WriteError(w, r, logger, err)
			return
		}
		if err := setPassword(ctx, d, a, req.Password); err != nil {
			// Put the link back so the user can retry once the store answers again, unless the new
			// password is already stored: then the link is spent (single use holds whatever failed
			// after), and the user signs in with the new password or asks for a new link.
			if errors.Is(err, errPasswordStored) {
				err = passwordStoredError(err)
			} else if serr := d.links.Save(ctx, l); serr != nil {
				logger.WarnContext(ctx, "reset link not restored", "user_id", a.ID, "err", serr)
			}
			shared.WriteError(w, r, logger, err)
			return
		}
		logger.InfoContext(ctx, "password reset", "user_id", a.ID)
		w.WriteHeader(http.StatusNoContent)
	})
}

// takeLink consumes the mailed link of purpose named by token and returns it with its account.
// errInvalidToken for a malformed, unknown, used or expired token, or one whose account is gone.
func takeLink(ctx context.Context, d deps, purpose, token string) (account, link, error) {
	if !shared.ValidRandomToken(token) {
		return account{}, link{}, errInvalidToken
	}
	l, err := d.links.Take(ctx, purpose, tokenHash(token), time.Now())
	if errors.Is(err, shared.ErrNotFound) {
		return account{}, link{}, errInvalidToken
	}
	if err != nil {
		return account{}, link{}, err
	}
	a, err := d.accounts.ByID(ctx, l.UserID)
	if errors.Is(err, shared.ErrNotFound) {
		return account{}, link{}, errInvalidToken
	}
	return a, l, err
}

// setPassword stores a new password for a, ends every session and refresh family of the account and
// any pending reset or verification link, and mails the notice. Sessions end before and after the new hash is stored:
// killed in between, nothing signed in with the old password survives but what started in that
// instant, and a session that logs in with the old password while the hash changes is ended by the
// second pass. The notice comes last, so a failure never announces a change that did not happen.
func setPassword(ctx context.Context, d deps, a account, password string) error {
	hash, err := d.hasher.hash(password)
	if err != nil {
		return err
	}
	if err := endSessions(ctx, d, a.ID); err != nil {
		return err
	}
	if err := d.accounts.SetPasswordHash(ctx, a.ID, hash); err != nil {
		return err
	}
	// A pending e-mail change goes too: whoever asked for it knew the old password, and its link
	// would move the account to their address, where the next reset link goes. (A verification of
	// the current address goes with it; POST /email/resend mails a new one.)
	err = errors.Join(endSessions(ctx, d, a.ID), d.links.Delete(ctx, a.ID, linkReset), d.links.Delete(ctx, a.ID, linkVerify))
	if err == nil {
		err = d.mail.send(ctx, mailPasswordChanged, a, a.Email, mailData{Link: d.mail.link("/forgot-password", "")})
	}
	if err != nil {
		return fmt.Errorf("%w: %w", errPasswordStored, err)
	}
	return nil
}

// errPasswordStored marks a setPassword failure that came after the new hash was stored: the
// password has changed, so whatever authorised the change (a reset link) must not be handed back.
var errPasswordStored = errors.New("new password stored")

// passwordStoredError is the answer to a setPassword failure marked errPasswordStored: a 503 that
// tells the user the new password works, so nobody retries a change that happened.
func passwordStoredError(err error) error {
	return &shared.Error{Code: shared.CodeUnavailable, Err: err,
		Message: "the new password is set, but ending other sessions or mailing the notice failed: sign in with the new password"}
}

// endSessions ends every session and refresh-token family of the user.
func endSessions(ctx context.Context, d deps, userID string) error {
	_, err := d.sessions.DeleteUser(ctx, userID)
	return errors.Join(err, d.grants.RevokeUser(ctx, userID))
}

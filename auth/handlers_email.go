package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/goshop/platform/shared"
)

// requireFirstParty lets in only a signed-in caller holding a first-party token (POST /login, the
// session exchange, the storefront): no OAuth scope hands a third-party app or a service client the
// power to change the account's credentials or address. 401 without a caller, 403 otherwise.
func requireFirstParty(next http.Handler) http.Handler {
	return shared.RequireAuth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if id, _ := shared.IdentityFrom(r.Context()); id.Delegated() {
			w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_scope"`)
			shared.WriteError(w, r, nil, shared.Errorf(shared.CodeForbidden, "only the account holder's own sign-in may change the account"))
			return
		}
		next.ServeHTTP(w, r)
	}))
}

// callerAccount returns the signed-in caller's active account; 401 when it is gone or suspended.
func callerAccount(ctx context.Context, accounts accountStore) (account, error) {
	id, _ := shared.IdentityFrom(ctx)
	a, err := accounts.ByID(ctx, id.UserID)
	if errors.Is(err, shared.ErrNotFound) || (err == nil && a.suspended()) {
		return account{}, errNoSession
	}
	return a, err
}

// callerRequest decodes the body into T (shared.Decode) and, when that succeeds, loads the signed-in
// caller's account (callerAccount).
func callerRequest[T any](w http.ResponseWriter, r *http.Request, accounts accountStore) (T, account, error) {
	req, err := shared.Decode[T](w, r)
	if err != nil {
		return req, account{}, err
	}
	a, err := callerAccount(r.Context(), accounts)
	return req, a, err
}

type verifyRequest struct {
	Token string `json:"token"`
}

func (req *verifyRequest) Valid(context.Context) map[string]string {
	return required("token", req.Token)
}

// handleVerify confirms the address a verification link was mailed to: 200 {"user":{...}} with
// email_verified true; when the link came from an e-mail change, the account's email is now that
// address. 400 invalid_token for an unknown, used, expired or malformed token; 409 when another
// account took the address meanwhile. No sign-in needed: the link is the proof, and it may be opened
// on another device. The user service learns it from user.email_verified.
func handleVerify(logger *slog.Logger, d deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		req, err := shared.Decode[verifyRequest](w, r)
		var a account
		var l link
		if err == nil {
			a, l, err = takeLink(ctx, d, linkVerify, req.Token)
		}
		if err == nil {
			// Whole milliseconds: what Mongo keeps, so the outbox's conditional acknowledgement matches.
			// Later than the account's last verification even when another copy's clock ran ahead (or
			// ours stepped back): user applies only a newer occurred_at, and the ms is in the event ID.
			at := time.Now().UTC().Truncate(time.Millisecond)
			if !at.After(a.EmailVerifiedAt) {
				at = a.EmailVerifiedAt.UTC().Truncate(time.Millisecond).Add(time.Millisecond)
			}
			err = d.accounts.VerifyEmail(ctx, a.ID, l.Email, at)
		}
		if errors.Is(err, shared.ErrConflict) {
			err = &shared.Error{Code: shared.CodeConflict, Message: "another account uses this address now",
				Fields: map[string]string{"email": "is already registered"}}
		}
		if err == nil {
			d.wake()
			a, err = d.accounts.ByID(ctx, a.ID)
		}
		if err != nil {
			shared.WriteError(w, r, logger, err)
			return
		}
		logger.InfoContext(ctx, "email verified", "user_id", a.ID)
		shared.Encode(w, http.StatusOK, map[string]userJSON{"user": userOf(a)})
	})
}

// handleResend mails the signed-in caller a new verification link (the old one stops working): 202,
// 409 when the address is already verified and no change waits, 429 while the address is throttled.
// While a change of address waits for its link (POST /email/change, the link not yet expired), the
// new link goes to the new address: the account has one live verification link, so a link for the
// current address would void the change the caller asked for, without a word.
func handleResend(logger *slog.Logger, d deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		a, err := callerAccount(ctx, d.accounts)
		to := a.Email
		if err == nil {
			to, err = resendTo(ctx, d.links, a)
		}
		if err == nil {
			err = throttleMail(ctx, w, d, to, "")
		}
		if err == nil {
			err = d.mail.sendLink(ctx, d.links, mailEmailVerify, linkVerify, a, to)
		}
		if err != nil {
			shared.WriteError(w, r, logger, err)
			return
		}
		shared.Encode(w, http.StatusAccepted, map[string]string{"status": "sent"})
	})
}

// resendTo is where a resent verification link goes: the new address of a change that waits for its
// link, else the account's own address unless it is verified already (409).
func resendTo(ctx context.Context, links linkStore, a account) (string, error) {
	l, err := links.Live(ctx, a.ID, linkVerify, time.Now())
	switch {
	case err == nil && l.Email != a.Email:
		return l.Email, nil
	case err != nil && !errors.Is(err, shared.ErrNotFound):
		return "", err
	case a.EmailVerified:
		return "", shared.Errorf(shared.CodeConflict, "your e-mail address is already verified")
	}
	return a.Email, nil
}

// checkCurrentPassword checks the caller's password under the login throttle (the same keys and
// policy as POST /login, so this route is no side door for guessing): nil when it matches, 429 while
// throttled, 400 with fields[field] when wrong (counted as a failed login).
func checkCurrentPassword(ctx context.Context, w http.ResponseWriter, r *http.Request, cfg Config, d deps, a account, password, field string) error {
	ipKey := ipLimitKey(cfg.TrustedProxies.ClientIP(r))
	acctKey := "acct:" + a.Email + "|" + ipKey
	if wait, err := throttled(ctx, d, acctKey, ipKey); err != nil || wait > 0 {
		if err == nil {
			err = tooMany(w, wait)
		}
		return err
	}
	if d.hasher.matches(a.PasswordHash, password) {
		return d.accountLimiter.Reset(ctx, acctKey)
	}
	_, err1 := d.accountLimiter.Fail(ctx, acctKey)
	_, err2 := d.ipLimiter.Fail(ctx, ipKey)
	if err := errors.Join(err1, err2); err != nil {
		return err
	}
	return shared.Invalid(map[string]string{field: "is not your current password"})
}

type changePasswordRequest struct {
	CurrentPassword string `json:"current_password"`
	Password        string `json:"password"`
}

func (req *changePasswordRequest) Valid(context.Context) map[string]string {
	return required("current_password", req.CurrentPassword, "password", req.Password)
}

// handleChangePassword sets a new password for the signed-in caller, who must give the current one:
// 204, then every session and refresh family of the account is over (this one too: the client signs
// in again with the new password, as the storefront does at once) and a notice is mailed. 400 with
// fields for a wrong current password or a new one that breaks the policy; 429 under the login
// throttle.
func handleChangePassword(logger *slog.Logger, cfg Config, d deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		req, a, err := callerRequest[changePasswordRequest](w, r, d.accounts)
		if err == nil {
			err = checkCurrentPassword(ctx, w, r, cfg, d, a, req.CurrentPassword, "current_password")
		}
		if err == nil {
			if perr := checkPassword(req.Password, a.Email); perr != nil {
				err = shared.Invalid(map[string]string{"password": perr.Error()})
			}
		}
		if err == nil {
			if err = setPassword(ctx, d, a, req.Password); errors.Is(err, errPasswordStored) {
				err = passwordStoredError(err)
			}
		}
		if err != nil {
			shared.WriteError(w, r, logger, err)
			return
		}
		logger.InfoContext(ctx, "password changed", "user_id", a.ID)
		w.WriteHeader(http.StatusNoContent)
	})
}

type changeEmailRequest struct {
	Password string `json:"password"`
	Email    string `json:"email"`
}

func (req *changeEmailRequest) Valid(context.Context) map[string]string {
	fields := required("password", req.Password)
	email, err := newEmail(req.Email)
	if err != nil {
		fields["email"] = err.Error()
	}
	req.Email = email
	return fields
}

// handleChangeEmail starts a change of the signed-in caller's address, who must give the password:
// 202, a verification link goes to the new address and a notice to the current one; the account's
// address changes only when the link is followed (POST /email/verify). 400 with fields for a wrong
// password or a bad or unchanged address; 429 while throttled. Whether another account uses the new
// address is not told here (that would be a way to probe addresses); the verification answers 409.
func handleChangeEmail(logger *slog.Logger, cfg Config, d deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		req, a, err := callerRequest[changeEmailRequest](w, r, d.accounts)
		if err == nil && req.Email == a.Email {
			err = shared.Invalid(map[string]string{"email": "is already your address"})
		}
		if err == nil {
			err = checkCurrentPassword(ctx, w, r, cfg, d, a, req.Password, "password")
		}
		if err == nil {
			err = throttleMail(ctx, w, d, req.Email, "")
		}
		if err == nil {
			err = d.mail.sendLink(ctx, d.links, mailEmailVerify, linkVerify, a, req.Email)
		}
		if err == nil {
			err = d.mail.send(ctx, mailEmailChangeRequested, a, a.Email,
				mailData{NewEmail: req.Email, Link: d.mail.link("/forgot-password", "")})
		}
		if err != nil {
			shared.WriteError(w, r, logger, err)
			return
		}
		shared.Encode(w, http.StatusAccepted, map[string]string{"status": "sent"})
	})
}

package main

import (
	"net/http"
	"strings"

	"github.com/goshop/platform/shared"
)

// securityView is the account page's sign-in section: change password, change email, resend the
// verification link. Errors are keyed by input name ("current_password", "password", "confirm",
// "email", "email_password").
type securityView struct {
	NewEmail string
	Errors   map[string]string
	Message  string
}

// renderSecurityError shows the account page again with the sign-in section's errors.
func (s *site) renderSecurityError(w http.ResponseWriter, r *http.Request, status int, sec securityView) {
	if sec.Errors == nil {
		sec.Errors = map[string]string{}
	}
	s.renderAccount(w, r, status, accountView{Security: sec})
}

// apiFailure handles an auth error on the sign-in section: 5xx and 401 are the error page (true
// when done), anything else fills sec from the answer's fields and message.
func (s *site) apiFailure(w http.ResponseWriter, r *http.Request, err error, sec *securityView, fields map[string]string) (int, bool) {
	ae := asAPIError(err)
	if ae.Status >= 500 || ae.Status == http.StatusUnauthorized {
		s.renderError(w, r, err)
		return 0, true
	}
	for api, input := range fields {
		if msg := ae.Fields[api]; msg != "" {
			sec.Errors[input] = "This " + msg + "."
		}
	}
	if len(sec.Errors) == 0 {
		sec.Message = ae.Message
	}
	return ae.Status, false
}

// handleAccountPassword changes the password (POST /auth/password/change). Auth then ends every
// session of the account, this one included, so the visitor is signed in again here with the new
// password: other devices are signed out, this one is not.
func handleAccountPassword(s *site) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sec := securityView{Errors: map[string]string{}}
		current, password := r.PostFormValue("current_password"), r.PostFormValue("password")
		switch {
		case current == "":
			sec.Errors["current_password"] = "Enter your current password."
		case password == "":
			sec.Errors["password"] = "Choose a new password."
		case password != r.PostFormValue("confirm"):
			sec.Errors["confirm"] = "The two passwords differ."
		}
		if len(sec.Errors) > 0 {
			s.renderSecurityError(w, r, http.StatusBadRequest, sec)
			return
		}
		_, err := s.gw.do(r.Context(), call{method: http.MethodPost, path: "/auth/password/change", token: s.accessToken(r),
			body: map[string]string{"current_password": current, "password": password}})
		if err != nil {
			status, done := s.apiFailure(w, r, err, &sec, map[string]string{"current_password": "current_password", "password": "password"})
			if !done {
				s.renderSecurityError(w, r, status, sec)
			}
			return
		}
		u, _ := s.user(r)
		callback, err := s.startSignIn(w, r, u.Email, password, "/account", "passwordchanged")
		if err != nil {
			s.logger.WarnContext(r.Context(), "sign-in after password change failed", "err", err)
			if serr := s.signOut(w, r); serr != nil {
				s.logger.WarnContext(r.Context(), "sign-out after password change", "err", serr)
			}
			s.flash(w, "passwordchanged")
			redirect(w, r, "/login?next=/account")
			return
		}
		redirect(w, r, callback)
	})
}

// handleAccountEmail starts a change of address (POST /auth/email/change): a link goes to the new
// address, which replaces the old one only when the link is followed.
func handleAccountEmail(s *site) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sec := securityView{NewEmail: strings.TrimSpace(r.PostFormValue("email")), Errors: map[string]string{}}
		password := r.PostFormValue("password")
		if !strings.Contains(sec.NewEmail, "@") || len(sec.NewEmail) > 254 {
			sec.Errors["email"] = "Enter a valid email address."
		}
		if password == "" {
			sec.Errors["email_password"] = "Enter your password to confirm it is you."
		}
		if len(sec.Errors) > 0 {
			s.renderSecurityError(w, r, http.StatusBadRequest, sec)
			return
		}
		_, err := s.gw.do(r.Context(), call{method: http.MethodPost, path: "/auth/email/change", token: s.accessToken(r),
			body: map[string]string{"email": sec.NewEmail, "password": password}})
		if err != nil {
			status, done := s.apiFailure(w, r, err, &sec, map[string]string{"email": "email", "password": "email_password"})
			if !done {
				s.renderSecurityError(w, r, status, sec)
			}
			return
		}
		s.flash(w, "emailchange")
		redirect(w, r, "/account")
	})
}

// handleAccountVerifyResend mails a new verification link (POST /auth/email/resend).
func handleAccountVerifyResend(s *site) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := s.gw.do(r.Context(), call{method: http.MethodPost, path: "/auth/email/resend", token: s.accessToken(r)})
		if err != nil && asAPIError(err).Code == shared.CodeConflict {
			// Verified meanwhile (maybe on another device): the stored user catches up.
			s.updateUser(r, func(u *apiUser) { u.EmailVerified = true })
			err = nil
		}
		if err != nil {
			sec := securityView{Errors: map[string]string{}}
			status, done := s.apiFailure(w, r, err, &sec, nil)
			if !done {
				if status == http.StatusTooManyRequests {
					sec.Message = "We have sent several links lately. Please check your inbox (and spam folder), or ask again in " + waitText(asAPIError(err).RetryAfter) + "."
				}
				s.renderSecurityError(w, r, status, sec)
			}
			return
		}
		s.flash(w, "verifysent")
		redirect(w, r, "/account")
	})
}

package main

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/goshop/platform/shared"
)

// recoveryView is the view of the forgot-password, reset-password and verify-email pages.
type recoveryView struct {
	layout
	Email   string
	Token   string // the mailed token, carried in a hidden input (never in a link on the page)
	Sent    bool   // forgot: the request was accepted
	Expired bool   // the link is unknown, used or expired: offer a new one
	Message string
	Errors  map[string]string
}

// maxTokenLen bounds a token read from the URL or a form before it goes anywhere.
const maxTokenLen = 128

// tokenPage marks a page whose URL holds a mailed token: no caching, no referrer at all.
func tokenPage(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
}

// readToken returns the trimmed token, "" when it is missing or longer than any real one.
func readToken(v string) string {
	if v = strings.TrimSpace(v); len(v) > maxTokenLen {
		return ""
	}
	return v
}

func handleForgotPassword(s *site) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		view := recoveryView{layout: s.newLayout(w, r, "Forgot your password?"), Errors: map[string]string{}}
		if u, _ := s.user(r); u != nil {
			view.Email = u.Email
		}
		s.render(w, r, http.StatusOK, "forgot_password.html", view)
	})
}

// handleForgotPasswordPost asks auth to mail a reset link (POST /auth/password/forgot). The answer is
// the same whether an account uses the address, as auth's is.
func handleForgotPasswordPost(s *site) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		view := recoveryView{Email: strings.TrimSpace(r.PostFormValue("email")), Errors: map[string]string{}}
		status := http.StatusOK
		if !strings.Contains(view.Email, "@") || len(view.Email) > 254 {
			view.Errors["email"], status = "Enter the email address of your account.", http.StatusBadRequest
		} else if _, err := s.gw.do(r.Context(), call{method: http.MethodPost, path: "/auth/password/forgot", body: map[string]string{"email": view.Email}}); err != nil {
			ae := asAPIError(err)
			if ae.Status >= 500 {
				s.renderError(w, r, err)
				return
			}
			status, view.Message = ae.Status, ae.Message
			if ae.Status == http.StatusBadRequest {
				view.Message, view.Errors["email"] = "", "Enter a valid email address."
			}
			if ae.Status == http.StatusTooManyRequests {
				view.Message = "We have sent several links to this address lately. Please check your inbox (and spam folder), or ask again in " + waitText(ae.RetryAfter) + "."
			}
		} else {
			view.Sent = true
		}
		view.layout = s.newLayout(w, r, "Forgot your password?")
		s.render(w, r, status, "forgot_password.html", view)
	})
}

func handleResetPassword(s *site) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tokenPage(w)
		view := recoveryView{layout: s.newLayout(w, r, "Choose a new password"), Token: readToken(r.URL.Query().Get("token")), Errors: map[string]string{}}
		view.Expired = view.Token == ""
		s.render(w, r, http.StatusOK, "reset_password.html", view)
	})
}

// handleResetPasswordPost sets the new password with the mailed token (POST /auth/password/reset),
// then sends the visitor to sign in with it: auth has ended every session of the account.
func handleResetPasswordPost(s *site) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tokenPage(w)
		view := recoveryView{Token: readToken(r.PostFormValue("token")), Errors: map[string]string{}}
		password := r.PostFormValue("password")
		status := http.StatusBadRequest
		switch {
		case view.Token == "":
			view.Expired = true
		case password == "":
			view.Errors["password"] = "Choose a new password."
		case password != r.PostFormValue("confirm"):
			view.Errors["confirm"] = "The two passwords differ."
		default:
			_, err := s.gw.do(r.Context(), call{method: http.MethodPost, path: "/auth/password/reset",
				body: map[string]string{"token": view.Token, "password": password}})
			if err == nil {
				// The visitor's own storefront session, if any, belonged to the old password.
				if serr := s.signOut(w, r); serr != nil {
					s.logger.WarnContext(r.Context(), "sign-out after reset", "err", serr)
				}
				s.flash(w, "passwordreset")
				redirect(w, r, "/login")
				return
			}
			ae := asAPIError(err)
			if ae.Status >= 500 {
				s.renderError(w, r, err)
				return
			}
			status = ae.Status
			switch {
			case ae.Code == shared.CodeInvalidToken:
				view.Expired = true
			case ae.Fields["password"] != "":
				view.Errors["password"] = "Your password " + ae.Fields["password"] + "."
			default:
				view.Message = ae.Message
			}
		}
		view.layout = s.newLayout(w, r, "Choose a new password")
		s.render(w, r, status, "reset_password.html", view)
	})
}

// handleVerifyEmail shows a button that confirms the address: the link itself changes nothing, so a
// mail scanner that opens every link cannot confirm an address for anyone.
func handleVerifyEmail(s *site) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tokenPage(w)
		view := recoveryView{layout: s.newLayout(w, r, "Confirm your email address"), Token: readToken(r.URL.Query().Get("token"))}
		view.Expired = view.Token == ""
		s.render(w, r, http.StatusOK, "verify_email.html", view)
	})
}

// handleVerifyEmailPost confirms the address (POST /auth/email/verify). A signed-in visitor's stored
// user shows it at once, and its access token is renewed on the next page so the claim follows.
func handleVerifyEmailPost(s *site) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tokenPage(w)
		view := recoveryView{Token: readToken(r.PostFormValue("token"))}
		var out struct {
			User apiUser `json:"user"`
		}
		err := errors.New("no token")
		if view.Token != "" {
			_, err = s.gw.do(r.Context(), call{method: http.MethodPost, path: "/auth/email/verify", body: map[string]string{"token": view.Token}, out: &out})
		}
		if err == nil {
			next := "/login"
			if u, _ := s.user(r); u != nil && u.ID == out.User.ID {
				s.updateUser(r, func(u *apiUser) { u.Email, u.EmailVerified = out.User.Email, true })
				s.renewToken(r)
				next = "/account"
			}
			s.flash(w, "emailverified")
			redirect(w, r, next)
			return
		}
		status := http.StatusBadRequest
		if view.Token != "" {
			ae := asAPIError(err)
			if ae.Status >= 500 {
				s.renderError(w, r, err)
				return
			}
			status = ae.Status
			view.Expired = ae.Code == shared.CodeInvalidToken
			if !view.Expired {
				view.Message = ae.Message
			}
		} else {
			view.Expired = true
		}
		view.layout = s.newLayout(w, r, "Confirm your email address")
		s.render(w, r, status, "verify_email.html", view)
	})
}

// renewToken makes the next request refresh the signed-in visitor's access token, so a claim auth
// changed (email_verified) reaches the services without waiting for the token's expiry.
func (s *site) renewToken(r *http.Request) {
	v := visitorFrom(r.Context())
	if u, _ := s.user(r); u == nil {
		return
	}
	// Due for refresh at once, yet still usable if auth cannot be reached right now.
	if soon := time.Now().Add(refreshBefore); soon.Before(v.auth.Expiry) {
		v.auth.Expiry = soon
	}
	if err := s.saveAuth(r.Context(), v.sid, v.auth); err != nil {
		s.logger.WarnContext(r.Context(), "session update failed", "err", err)
	}
}

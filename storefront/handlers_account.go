package main

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/goshop/platform/shared"
)

type authView struct {
	layout
	Next    string
	Email   string
	Name    string
	Message string
	Errors  map[string]string
}

func handleLogin(s *site) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		view := authView{layout: s.newLayout(w, r, "Sign in"), Next: safeNext(r.URL.Query().Get("next"))}
		s.render(w, r, http.StatusOK, "login.html", view)
	})
}

// passwordSignIn checks the credentials with auth and returns the tokens for a new session.
func (s *site) passwordSignIn(ctx context.Context, email, password string) (*authState, error) {
	var answer struct {
		tokenAnswer
		User apiUser `json:"user"`
	}
	_, err := s.gw.do(ctx, call{method: http.MethodPost, path: "/auth/login", body: map[string]string{"email": email, "password": password}, out: &answer})
	if err != nil {
		return nil, err
	}
	if answer.AccessToken == "" || answer.User.ID == "" {
		return nil, &apiError{Status: http.StatusBadGateway, Code: shared.CodeUnavailable, Message: "Sign-in is temporarily unavailable. Please try again."}
	}
	return &authState{AccessToken: answer.AccessToken, RefreshToken: answer.RefreshToken, Expiry: expiry(answer.ExpiresIn), User: answer.User}, nil
}

// handleLoginPost signs in through POST /auth/login and keeps the session in the storefront's cookie.
func handleLoginPost(s *site) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		view := authView{Next: safeNext(r.PostFormValue("next")), Email: strings.TrimSpace(r.PostFormValue("email"))}
		password := r.PostFormValue("password")
		if view.Email == "" || password == "" {
			view.layout = s.newLayout(w, r, "Sign in")
			view.Message = "Enter your email and password."
			s.render(w, r, http.StatusBadRequest, "login.html", view)
			return
		}
		a, err := s.passwordSignIn(r.Context(), view.Email, password)
		if err == nil {
			err = s.signIn(w, r, a)
		}
		if err != nil {
			ae := asAPIError(err)
			if ae.Status >= 500 {
				s.renderError(w, r, err)
				return
			}
			view.layout = s.newLayout(w, r, "Sign in")
			view.Message = ae.Message
			if ae.Status == http.StatusUnauthorized {
				view.Message = "Email or password is incorrect."
			}
			s.render(w, r, ae.Status, "login.html", view)
			return
		}
		s.flash(w, "signedin")
		redirect(w, r, view.Next)
	})
}

func handleRegister(s *site) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		view := authView{layout: s.newLayout(w, r, "Create account"), Next: safeNext(r.URL.Query().Get("next"))}
		s.render(w, r, http.StatusOK, "register.html", view)
	})
}

// handleRegisterPost creates the account through POST /auth/register and signs in: with the session
// the answer carries, or else with a login call.
func handleRegisterPost(s *site) http.Handler {
	type registerRequest struct {
		Email    string `json:"email"`
		Password string `json:"password"`
		Name     string `json:"name"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		view := authView{
			Next: safeNext(r.PostFormValue("next")), Email: strings.TrimSpace(r.PostFormValue("email")),
			Name: strings.TrimSpace(r.PostFormValue("name")), Errors: map[string]string{},
		}
		req := registerRequest{Email: view.Email, Password: r.PostFormValue("password"), Name: view.Name}
		if req.Name == "" {
			view.Errors["name"] = "Tell us your name."
		}
		if !strings.Contains(req.Email, "@") {
			view.Errors["email"] = "Enter a valid email address."
		}
		if len(req.Password) < 8 {
			view.Errors["password"] = "Use at least 8 characters."
		}
		fail := func(status int) {
			view.layout = s.newLayout(w, r, "Create account")
			s.render(w, r, status, "register.html", view)
		}
		if len(view.Errors) > 0 {
			fail(http.StatusBadRequest)
			return
		}
		_, err := s.gw.do(r.Context(), call{method: http.MethodPost, path: "/auth/register", body: req})
		if err != nil {
			ae := asAPIError(err)
			if ae.Status >= 500 {
				s.renderError(w, r, err)
				return
			}
			view.Message = ae.Message
			for k, v := range ae.Fields {
				view.Errors[k] = v
			}
			fail(ae.Status)
			return
		}
		a, err := s.passwordSignIn(r.Context(), req.Email, req.Password)
		if err == nil {
			err = s.signIn(w, r, a)
		}
		if err != nil {
			// The account exists; only the automatic sign-in failed.
			s.logger.WarnContext(r.Context(), "sign-in after register failed", "err", err)
			s.flash(w, "registered")
			redirect(w, r, "/login?next="+url.QueryEscape(view.Next))
			return
		}
		s.flash(w, "registered")
		redirect(w, r, view.Next)
	})
}

// handleLogout revokes the session's tokens at auth and drops the session (see signOut). With the
// session store down it says so and keeps the cookie, so signing out again later still works.
func handleLogout(s *site) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.signOut(w, r); err != nil {
			s.renderError(w, r, err)
			return
		}
		s.flash(w, "signedout")
		redirect(w, r, "/")
	})
}

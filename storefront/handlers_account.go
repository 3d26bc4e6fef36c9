package main

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"
)

type authView struct {
	layout
	Next    string
	Email   string
	Name    string
	Message string
	Errors  map[string]string
	Taken   bool // register: the address already has an account
}

func handleLogin(s *site) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		view := authView{layout: s.newLayout(w, r, "Sign in"), Next: safeNext(r.URL.Query().Get("next"))}
		s.render(w, r, http.StatusOK, "login.html", view)
	})
}

// handleLoginPost checks the credentials and starts the authorization code flow (oidc.go); the
// browser goes on to /auth/callback, which finishes the sign-in.
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
		callback, err := s.startSignIn(w, r, view.Email, password, view.Next, "signedin")
		if err != nil {
			ae := asAPIError(err)
			if ae.Status >= 500 {
				s.renderError(w, r, err)
				return
			}
			view.layout = s.newLayout(w, r, "Sign in")
			view.Message = ae.Message
			switch {
			case ae.Status == http.StatusUnauthorized:
				view.Message = "Email or password is incorrect."
			case ae.Status == http.StatusTooManyRequests:
				// auth's own words are "too many failed attempts, retry in 75 s".
				view.Message = "Too many failed sign-in attempts. Please wait " + waitText(ae.RetryAfter) + ", then try again."
			case ae.Status == http.StatusForbidden:
				// auth refuses a suspended account's right password with "account is suspended".
				view.Message = "This account is suspended. If you think this is a mistake, please contact us."
			case ae.Status == http.StatusBadRequest && ae.Fields["email"] != "":
				// auth says only "invalid request" and names the field.
				view.Message = "Enter a valid email address, like name@example.com."
			}
			s.render(w, r, ae.Status, "login.html", view)
			return
		}
		redirect(w, r, callback)
	})
}

func handleRegister(s *site) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		view := authView{layout: s.newLayout(w, r, "Create account"), Next: safeNext(r.URL.Query().Get("next"))}
		s.render(w, r, http.StatusOK, "register.html", view)
	})
}

// handleRegisterPost creates the account through POST /auth/register, then signs in through the
// same code flow as the login form.
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
		if utf8.RuneCountInString(req.Password) < 10 { // auth's minimum (auth/password.go)
			view.Errors["password"] = "Use at least 10 characters."
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
			view.Message = ae.FormMessage("name", "email", "password")
			// auth's field messages continue a subject ("must not contain your email name"), as
			// the reset and profile pages write them.
			subjects := map[string]string{"name": "Your name ", "email": "Your email address ", "password": "Your password "}
			for k, v := range ae.Fields {
				view.Errors[k] = subjects[k] + v + "."
			}
			if ae.Status == http.StatusConflict && ae.Fields["email"] != "" {
				// auth's "email already registered": the page offers sign-in and a reset instead.
				view.Taken, view.Message = true, ""
			}
			fail(ae.Status)
			return
		}
		callback, err := s.startSignIn(w, r, req.Email, req.Password, view.Next, "registered")
		if err != nil {
			// The account exists; only the automatic sign-in failed.
			s.logger.WarnContext(r.Context(), "sign-in after register failed", "err", err)
			s.flash(w, "registered")
			redirect(w, r, "/login?next="+url.QueryEscape(view.Next))
			return
		}
		redirect(w, r, callback)
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

// waitText says a wait of secs seconds (a Retry-After) for people: "1 second", "40 seconds",
// "2 minutes" (rounded up), or "a moment" when unknown.
func waitText(secs int) string {
	switch {
	case secs <= 0:
		return "a moment"
	case secs == 1:
		return "1 second"
	case secs < 60:
		return strconv.Itoa(secs) + " seconds"
	case secs == 60:
		return "1 minute"
	}
	return strconv.Itoa((secs+59)/60) + " minutes"
}

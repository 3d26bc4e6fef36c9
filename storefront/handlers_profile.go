package main

import (
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"
)

// profile is the user service's GET /user/users/me, with the fields the account page shows.
type profile struct {
	ID    string `json:"id"`
	Email string `json:"email"`
	Name  string `json:"name"`
	Phone string `json:"phone"`
}

type accountView struct {
	layout
	Profile      profile
	Addresses    []address
	NewAddress   address
	Errors       map[string]string
	Message      string
	ProfileError string
	ProfileName  string // the name as typed, shown again when it was refused
	// Security is the sign-in section (handlers_credentials.go).
	Security securityView
}

// AddressForm is the account page's address being added; its inputs are #a-name, #a-street, ...
func (v accountView) AddressForm() addressForm {
	return addressForm{ID: "a", Address: v.NewAddress, Errors: v.Errors}
}

// renderAccount shows the profile and the saved addresses; a failing address list only hides them.
func (s *site) renderAccount(w http.ResponseWriter, r *http.Request, status int, view accountView) {
	token := s.accessToken(r)
	var p profile
	if _, err := s.gw.do(r.Context(), call{method: http.MethodGet, path: "/user/users/me", token: token, out: &p}); err != nil {
		s.renderError(w, r, err)
		return
	}
	var saved struct {
		Items []address `json:"items"`
	}
	if _, err := s.gw.do(r.Context(), call{method: http.MethodGet, path: "/user/users/me/addresses", token: token, out: &saved}); err != nil {
		view.Message = "Your saved addresses cannot be shown right now."
	}
	view.layout = s.newLayout(w, r, "Your account")
	view.Profile, view.Addresses = p, saved.Items
	if view.ProfileName == "" {
		view.ProfileName = p.Name
	}
	if status == http.StatusOK && view.NewAddress == (address{}) {
		view.NewAddress.Name = p.Name // as checkout's new address: most addresses are the customer's own
	}
	if view.Errors == nil {
		view.Errors = map[string]string{}
	}
	if view.Security.Errors == nil {
		view.Security.Errors = map[string]string{}
	}
	s.render(w, r, status, "account.html", view)
}

func handleAccount(s *site) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.renderAccount(w, r, http.StatusOK, accountView{})
	})
}

// handleAccountProfile changes the display name (PATCH /user/users/me).
func handleAccountProfile(s *site) http.Handler {
	type patch struct {
		Name string `json:"name"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimSpace(r.PostFormValue("name"))
		if name == "" {
			s.renderAccount(w, r, http.StatusBadRequest, accountView{ProfileName: name, ProfileError: "Enter your name."})
			return
		}
		if utf8.RuneCountInString(name) > 100 {
			s.renderAccount(w, r, http.StatusBadRequest, accountView{ProfileName: name, ProfileError: "Your name must have 1 to 100 characters."})
			return
		}
		_, err := s.gw.do(r.Context(), call{method: http.MethodPatch, path: "/user/users/me", token: s.accessToken(r), body: patch{Name: name}})
		if err != nil {
			if ae := asAPIError(err); ae.Status < 500 && ae.Status != http.StatusUnauthorized {
				msg := ae.Message
				if ae.Fields["name"] != "" {
					msg = "Your name " + ae.Fields["name"] + "."
				}
				s.renderAccount(w, r, ae.Status, accountView{ProfileName: name, ProfileError: msg})
				return
			}
			s.renderError(w, r, err)
			return
		}
		// The name in the header comes from the session: change it there so it shows at once.
		s.updateUser(r, func(u *apiUser) { u.Name = name })
		s.flash(w, "saved")
		redirect(w, r, "/account")
	})
}

// handleAddressCreate saves a new address (POST /user/users/me/addresses).
func handleAddressCreate(s *site) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, errs := readAddress(r)
		if len(errs) > 0 {
			s.renderAccount(w, r, http.StatusBadRequest, accountView{NewAddress: a, Errors: errs})
			return
		}
		_, err := s.gw.do(r.Context(), call{method: http.MethodPost, path: "/user/users/me/addresses", token: s.accessToken(r), body: a})
		if err != nil {
			ae := asAPIError(err)
			if ae.Status >= 500 || ae.Status == http.StatusUnauthorized {
				s.renderError(w, r, err)
				return
			}
			for k, v := range ae.Fields {
				errs[k] = v
			}
			s.renderAccount(w, r, ae.Status, accountView{NewAddress: a, Errors: errs, Message: ae.FormMessage("name", "street", "city", "state", "zip_code", "country")})
			return
		}
		s.flash(w, "saved")
		redirect(w, r, "/account")
	})
}

func handleAddressDelete(s *site) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := s.idParam(w, r, "address")
		if !ok {
			return
		}
		if !confirmed(r) {
			s.confirmAddressDelete(w, r, id)
			return
		}
		if _, err := s.gw.do(r.Context(), call{method: http.MethodDelete, path: "/user/users/me/addresses/" + url.PathEscape(id), token: s.accessToken(r)}); err != nil {
			s.renderError(w, r, err)
			return
		}
		s.flash(w, "deleted")
		redirect(w, r, "/account")
	})
}

// readAddress reads and checks the address inputs shared by checkout and the account page.
func readAddress(r *http.Request) (address, map[string]string) {
	a := address{
		Name: strings.TrimSpace(r.PostFormValue("name")), Street: strings.TrimSpace(r.PostFormValue("street")),
		City: strings.TrimSpace(r.PostFormValue("city")), State: strings.TrimSpace(r.PostFormValue("state")),
		ZipCode: strings.TrimSpace(r.PostFormValue("zip_code")), Country: strings.TrimSpace(r.PostFormValue("country")),
	}
	vals := map[string]string{"name": a.Name, "street": a.Street, "city": a.City, "state": a.State, "zip_code": a.ZipCode, "country": a.Country}
	errs := map[string]string{}
	for _, f := range addressFields {
		v := vals[f.Name]
		switch {
		case v == "" && f.Name != "state":
			errs[f.Name] = f.Label + " is required."
		case utf8.RuneCountInString(v) > 200:
			errs[f.Name] = f.Label + " is too long."
		}
	}
	return a, errs
}

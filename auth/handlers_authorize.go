package main

import (
	"crypto/subtle"
	"embed"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/goshop/platform/shared"
)

//go:embed templates
var templatesFS embed.FS

// codeTTL is how long an authorization code can be exchanged.
const codeTTL = time.Minute

type consentParam struct{ Name, Value string }

type consentView struct {
	Style                         template.CSS // shared.PageStyle
	ClientID, Email, Action, CSRF string
	Scopes                        []consentScope
	Params                        []consentParam
	// Offline is how long the app may keep acting for the user when offline_access is asked for.
	Offline string
}

// consentScope is one line of the consent page: the scope and what it lets the app do.
type consentScope struct{ Name, Text string }

// scopeTexts say what each scope lets an app do, in the words the consent page uses.
var scopeTexts = map[string]string{
	"openid":                 "know who you are on this shop (your account ID)",
	shared.ScopeProfile:      "see your name and your profile (with your e-mail address, phone and preferences)",
	"email":                  "see your e-mail address",
	scopeOfflineAccess:       "keep this access while you are away",
	shared.ScopeProfileWrite: "change your profile",
	shared.ScopeAddresses:    "see and change your saved addresses",
	shared.ScopeOrdersRead:   "see your orders, with their delivery addresses",
	shared.ScopeOrdersWrite:  "place, pay for and cancel orders for you",
}

// handleAuthorize runs the authorization code flow (PKCE S256 only). The user is identified by the
// session cookie; without one the browser goes to AUTH_LOGIN_URL (return_to = this request) or, when
// that is unset, gets 401 JSON. First-party clients get a code at once; others see a consent page
// whose form POSTs back here.
func handleAuthorize(logger *slog.Logger, cfg Config, clients clientRegistry, d deps, sc sessionCookies) http.Handler {
	consent := template.Must(template.ParseFS(templatesFS, "templates/consent.html"))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		params := r.URL.Query()
		if r.Method == http.MethodPost {
			form, err := shared.DecodeForm(w, r, maxFormBody)
			if err != nil {
				shared.WriteError(w, r, logger, err)
				return
			}
			params = form
		} else if err := shared.ValidUTF8Values(params); err != nil {
			shared.WriteError(w, r, logger, err)
			return
		}
		req, oerr, redirectable := parseAuthorize(params, clients)
		if oerr != nil && !redirectable {
			shared.WriteError(w, r, logger, shared.Errorf(shared.CodeInvalid, "%s", oerr.Description))
			return
		}
		if oerr != nil {
			redirectError(w, r, cfg, req, oerr.Code, oerr.Description)
			return
		}
		id := sc.id(r)
		a, sess, err := liveSession(ctx, cfg, d.accounts, d.sessions, id)
		if errors.Is(err, errNoSession) {
			switch {
			case req.prompts("none"):
				redirectError(w, r, cfg, req, "login_required", "no session")
			case cfg.LoginURL != "" && r.Method == http.MethodGet:
				// The login page signs the user in anew, which is all prompt=login and max_age ask for:
				// the way back must not ask again.
				q := r.URL.Query()
				q.Del("prompt")
				q.Del("max_age")
				back := cfg.Issuer + "/authorize?" + q.Encode()
				http.Redirect(w, r, addQuery(cfg.LoginURL, url.Values{"return_to": {back}}), http.StatusSeeOther)
			default:
				shared.WriteError(w, r, logger, shared.Errorf(shared.CodeUnauthorized, "sign in first (POST /login), then retry this request"))
			}
			return
		}
		if err != nil {
			shared.WriteError(w, r, logger, err)
			return
		}
		if req.needsSignIn(sess.CreatedAt, time.Now()) {
			// Auth cannot ask a signed-in user for the password again itself, and must not pass the
			// old sign-in off as a new one (OIDC Core §3.1.2.1): the client signs the user in anew.
			redirectError(w, r, cfg, req, "login_required", "the client asked for a new sign-in")
			return
		}
		if !req.Client.FirstParty {
			csrf := tokenHash("consent|" + id)
			switch {
			case req.prompts("none"):
				redirectError(w, r, cfg, req, "consent_required", "the user has not approved this client")
				return
			case r.Method == http.MethodGet:
				renderConsent(w, r, logger, consent, req, a, params, csrf, cfg.Issuer+"/authorize", roughly(cfg.RefreshTTL))
				return
			case subtle.ConstantTimeCompare([]byte(params.Get("csrf_token")), []byte(csrf)) != 1:
				shared.WriteError(w, r, logger, shared.Errorf(shared.CodeForbidden, "bad or missing csrf_token"))
				return
			case params.Get("consent") != "approve":
				redirectError(w, r, cfg, req, "access_denied", "the user denied the request")
				return
			}
		}
		code, fam := newFamilyToken()
		c := authCode{ClientID: req.Client.ID, RedirectURI: req.RedirectURI, Scope: strings.Join(req.Scope, " "),
			Nonce: req.Nonce, Challenge: req.Challenge, UserID: a.ID, SessionID: sessionSID(sess.ID),
			// auth_time is when the user signed in (OIDC Core §2), not this request.
			AuthTime: sess.CreatedAt.UTC(), FamilyID: fam}
		if err := d.grants.SaveCode(ctx, code, c, codeTTL); err != nil {
			shared.WriteError(w, r, logger, err)
			return
		}
		q := url.Values{"code": {code}, "iss": {cfg.Issuer}}
		if req.State != "" {
			q.Set("state", req.State)
		}
		http.Redirect(w, r, addQuery(req.RedirectURI, q), http.StatusFound)
	})
}

func renderConsent(w http.ResponseWriter, r *http.Request, logger *slog.Logger, t *template.Template,
	req authorizeRequest, a account, params url.Values, csrf, action, offlineFor string) {
	v := consentView{Style: shared.PageStyle, ClientID: req.Client.ID, Email: a.Email, Action: action, CSRF: csrf}
	for _, s := range req.Scope {
		v.Scopes = append(v.Scopes, consentScope{Name: s, Text: scopeTexts[s]})
		if s == scopeOfflineAccess {
			v.Offline = offlineFor
		}
	}
	names := make([]string, 0, len(params))
	for n := range params {
		if n != "csrf_token" && n != "consent" {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		v.Params = append(v.Params, consentParam{Name: n, Value: params.Get(n)})
	}
	shared.WritePage(w, r, logger, http.StatusOK, t, v)
}

// roughly says d in whole days, hours or minutes (rounded down), for a person to read.
func roughly(d time.Duration) string {
	unit, name := time.Minute, "minute"
	switch {
	case d >= 48*time.Hour:
		unit, name = 24*time.Hour, "day"
	case d >= 2*time.Hour:
		unit, name = time.Hour, "hour"
	}
	n := int64(d / unit)
	if n == 1 {
		return "1 " + name
	}
	return strconv.FormatInt(n, 10) + " " + name + "s"
}

// redirectError sends an authorization error back to the client's (already validated) redirect URI.
func redirectError(w http.ResponseWriter, r *http.Request, cfg Config, req authorizeRequest, code, desc string) {
	q := url.Values{"error": {code}, "error_description": {desc}, "iss": {cfg.Issuer}}
	if req.State != "" {
		q.Set("state", req.State)
	}
	http.Redirect(w, r, addQuery(req.RedirectURI, q), http.StatusFound)
}

// addQuery appends q to a URL that may already have a query.
func addQuery(base string, q url.Values) string {
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + q.Encode()
}

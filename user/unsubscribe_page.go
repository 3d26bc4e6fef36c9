package main

import (
	"embed"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/goshop/platform/shared"
)

//go:embed templates/unsubscribe.html
var pageFS embed.FS

var unsubscribePage = template.Must(template.ParseFS(pageFS, "templates/unsubscribe.html"))

// unsubscribeView is what unsubscribe.html shows: Action, when set, is the form that turns the mails
// off (the link itself, posted with the one-click body).
type unsubscribeView struct {
	Style  template.CSS
	Title  string
	Text   []string
	Action string
}

// handleUnsubscribePage answers GET /users/{id}/unsubscribe?token=...: a mail program without
// RFC 8058's one-click support opens the List-Unsubscribe link in a browser, so the link answers a
// page whose button posts the one-click body to the same link. The GET itself changes nothing (link
// scanners follow links) and answers a bad link with a page saying so.
func handleUnsubscribePage(logger *slog.Logger, key unsubscribeKey) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, token := r.PathValue("id"), r.URL.Query().Get("token")
		if !validID(id) || !key.valid(id, token) {
			renderUnsubscribe(w, r, logger, http.StatusBadRequest, unsubscribeView{Title: "This unsubscribe link does not work",
				Text: []string{"It may be cut short: open the whole link from the mail, or turn order updates off in your account on the shop."}})
			return
		}
		// Relative, so it is this very URL behind the gateway's /user prefix too.
		renderUnsubscribe(w, r, logger, http.StatusOK, unsubscribeView{Title: "Stop order update e-mails?",
			Text:   []string{"You get an e-mail when an order of yours ships and when it is delivered. This stops those e-mails."},
			Action: "?" + url.Values{"token": {token}}.Encode()})
	})
}

// wantsPage reports whether r came from a browser (the page's form), which reads HTML, rather than a
// mail program's one-click request, which reads the JSON answer.
func wantsPage(r *http.Request) bool { return strings.Contains(r.Header.Get("Accept"), "text/html") }

// unsubscribedPage is the answer to the page's form once the mails are off.
func unsubscribedPage(w http.ResponseWriter, r *http.Request, logger *slog.Logger) {
	renderUnsubscribe(w, r, logger, http.StatusOK, unsubscribeView{Title: "Order update e-mails are off",
		Text: []string{"You will not get e-mails about shipping and delivery any more."}})
}

func renderUnsubscribe(w http.ResponseWriter, r *http.Request, logger *slog.Logger, status int, v unsubscribeView) {
	v.Style = shared.PageStyle
	shared.WritePage(w, r, logger, status, unsubscribePage, v)
}

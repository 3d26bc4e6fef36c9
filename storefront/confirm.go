package main

import (
	"net/http"
	"net/url"
	"strings"
)

// Actions that cannot be undone or that move money ask first, without JavaScript: their form posts
// as before, and a post without confirm=yes renders confirm.html, which says what will happen and
// posts the same fields again with confirm=yes (and a fresh CSRF token, like every form). Only the
// confirmed post calls the API, so its URL, answer and flash stay what they were. The pages ask:
// cancelling an order (customer or admin: it cannot be reopened, and a paid one is refunded),
// suspending a user, deleting a saved address. The product delete asks with its own GET page
// (admin_product_delete.html), which this page's layout follows. Clearing the cart does not ask: a
// cart is a few SKUs in the session, nothing is reserved, and it is rebuilt in a few clicks.

// confirmField is the name of the form field that says the visitor has seen the confirmation.
const confirmField = "confirm"

// confirmed reports whether r is the second, confirming post of an action that asks first.
func confirmed(r *http.Request) bool { return r.PostFormValue(confirmField) == "yes" }

// confirmView is the question before an action, laid out like the product delete's page: Heading
// asks it, Details say what it acts on, Notice says plainly what will happen; Fields are the original
// form's fields, posted again to Action with confirm=yes by Button, and Back ("Keep it") leaves
// everything as it was.
type confirmView struct {
	layout
	Crumb     crumb // the list the action belongs to, for the breadcrumb
	Heading   string
	Details   []string
	Notice    string
	Action    string
	Fields    []formField
	Button    string
	Back      string
	BackLabel string
}

type crumb struct{ Href, Label string }

type formField struct{ Name, Value string }

// confirm renders the confirmation page for v. It answers 200: nothing failed, the visitor is asked.
func (s *site) confirm(w http.ResponseWriter, r *http.Request, v confirmView) {
	v.layout = s.newLayout(w, r, v.Heading)
	v.Action = r.URL.Path
	if v.BackLabel == "" {
		v.BackLabel = "Keep it"
	}
	s.render(w, r, http.StatusOK, "confirm.html", v)
}

// confirmOrderCancel asks before cancelling order id, by its owner or (admin) by an admin. It reads
// the order first so the question names it and, when it is paid, the refund: the amount and card.
// fields are carried to the confirming post; back is where "Keep the order" goes.
func (s *site) confirmOrderCancel(w http.ResponseWriter, r *http.Request, id string, admin bool, fields []formField, back string) {
	var o order
	if _, err := s.gw.do(r.Context(), call{method: http.MethodGet, path: "/order/orders/" + url.PathEscape(id), token: s.accessToken(r), out: &o}); err != nil {
		s.renderError(w, r, err)
		return
	}
	v := confirmView{Crumb: crumb{"/orders", "My orders"}, Heading: "Cancel order #" + shortID(o.ID) + "?", Fields: fields,
		Button: "Cancel order", Back: back, BackLabel: "Keep the order"}
	card := "your card"
	if admin {
		v.Crumb, card = crumb{"/admin/orders", "Orders"}, "the customer's card"
	}
	detail := "Placed " + o.CreatedAt.UTC().Format("2 Jan 2006") + " · " + title(o.Status) + " · total " + moneyText(o.Total, o.Currency)
	if c := o.Customer; admin && c != nil {
		who := c.Name // an order an app placed without the email scope has no e-mail
		if c.Email != "" {
			who = strings.TrimSpace(who + " <" + c.Email + ">")
		}
		detail += " · " + who
	}
	v.Details = []string{detail}
	for _, f := range fields {
		if f.Name == "reason" && f.Value != "" {
			v.Details = append(v.Details, "Reason: "+f.Value)
		}
	}
	if o.Status == "paid" {
		amount, last4 := o.Total, ""
		if p := o.Payment; p != nil {
			amount, last4 = p.Amount, p.Last4
		}
		if last4 != "" {
			card += " ending " + last4
		}
		refund := moneyText(amount, o.Currency)
		v.Heading = "Cancel order #" + shortID(o.ID) + " and refund " + refund + "?"
		v.Notice = refund + " is refunded to " + card + ". A cancelled order cannot be reopened."
		v.Button = "Cancel and refund " + refund
	} else {
		v.Notice = "Nothing has been charged, so nothing is refunded. A cancelled order cannot be reopened."
	}
	s.confirm(w, r, v)
}

// confirmSuspend asks before suspending user id, naming them and what a suspension does.
func (s *site) confirmSuspend(w http.ResponseWriter, r *http.Request, id string) {
	var u apiUser
	if _, err := s.gw.do(r.Context(), call{method: http.MethodGet, path: "/user/users/" + url.PathEscape(id), token: s.accessToken(r), out: &u}); err != nil {
		s.renderError(w, r, err)
		return
	}
	name := u.Name
	if name == "" {
		name = u.Email
	}
	back := listReturn(r, "/admin/users") // the list as it was filtered, after the answer or "Keep it"
	s.confirm(w, r, confirmView{Crumb: crumb{"/admin/users", "Users"}, Heading: "Suspend " + name + "?",
		Details: []string{u.Name + " <" + u.Email + "> · " + u.Role},
		Notice:  "They will be signed out everywhere at once and cannot sign in again until an admin reactivates the account. Their orders and addresses are kept.",
		Fields:  []formField{{"status", "suspended"}, {"next", back}}, Button: "Suspend " + name, Back: back})
}

// confirmAddressDelete asks before deleting the signed-in customer's saved address id.
func (s *site) confirmAddressDelete(w http.ResponseWriter, r *http.Request, id string) {
	var a address
	if _, err := s.gw.do(r.Context(), call{method: http.MethodGet, path: "/user/users/me/addresses/" + url.PathEscape(id), token: s.accessToken(r), out: &a}); err != nil {
		s.renderError(w, r, err)
		return
	}
	where := a.City
	if a.State != "" {
		where += ", " + a.State
	}
	notice := "Orders already placed keep their shipping address."
	if a.IsDefault {
		notice = "This is your default address. " + notice
	}
	s.confirm(w, r, confirmView{Crumb: crumb{"/account", "Your account"}, Heading: "Delete the address " + a.Street + ", " + a.City + "?",
		Details: []string{a.Name + ", " + a.Street + ", " + where + " " + a.ZipCode + ", " + a.Country},
		Notice:  notice, Button: "Delete address", Back: "/account"})
}

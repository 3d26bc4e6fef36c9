package main

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/goshop/platform/shared"
)

// An admin's view of an order adds what the admin pages need: the moves the transition table allows
// an admin from the current state, and, for one order, its history from the events it keeps.

// customerView is who placed the order, as the order recorded it at creation.
type customerView struct {
	Email string `json:"email"`
	Name  string `json:"name"`
}

// historyEntry is one change of an order: the state it moved to, when, why and by whom.
type historyEntry struct {
	Status Status       `json:"status"`
	At     time.Time    `json:"at"`
	Reason string       `json:"reason,omitempty"`
	By     historyActor `json:"by"`
}

// historyActor is who made a change. Kind is "customer" (placing, paying, cancelling their own
// order), "admin", "system" (the checkout saga: inventory's answers, expiries) or "unknown" for a
// change recorded before actors were; UserID, Name and Email are set when a person is known.
type historyActor struct {
	Kind   string `json:"kind"`
	UserID string `json:"user_id,omitempty"`
	Name   string `json:"name,omitempty"`
	Email  string `json:"email,omitempty"`
}

// viewFor is o as caller id sees it: everyone gets newOrderView; an admin (first-party) also the
// next statuses an admin may set and, with detail, the history.
func viewFor(o Order, id shared.Identity, detail bool) orderView {
	v := newOrderView(o)
	if !id.IsAdmin() {
		return v
	}
	v.NextStatuses = adminNext(o.Status)
	if detail {
		v.History = history(o)
	}
	return v
}

// adminNext lists the states an admin may move an order in state s to, in lifecycle order, straight
// from the transitions table; an empty slice when none.
func adminNext(s Status) []Status {
	out := []Status{}
	for _, to := range statuses {
		if transitions[s][to]&actorAdmin != 0 {
			out = append(out, to)
		}
	}
	return out
}

// history turns o's status changes into its timeline, oldest first. Each event's data names the
// state and the reason; its By names the actor. Events stored before actors were recorded get one from their
// type: creation and payment are the customer's, confirmation and rejection the saga's.
func history(o Order) []historyEntry {
	out := make([]historyEntry, 0, len(o.Events))
	for _, e := range o.Events {
		var d struct {
			Status Status `json:"status"`
			Reason string `json:"reason"`
		}
		if json.Unmarshal([]byte(e.Data), &d) != nil || d.Status == "" {
			d.Status = Status(strings.TrimPrefix(e.Type, "order."))
			if d.Status == "created" {
				d.Status = StatusPending
			}
		}
		if len(out) > 0 && out[len(out)-1].Status == d.Status {
			// Not a change: an event queued again without one (reconcile's order.created nudge, the
			// order.cancelled that releases a late reservation); the table has no self-loops.
			continue
		}
		out = append(out, historyEntry{Status: d.Status, At: e.OccurredAt, Reason: d.Reason, By: historyBy(o, e)})
	}
	return out
}

// historyBy names the actor of event e of order o.
func historyBy(o Order, e storedEvent) historyActor {
	if e.By == nil {
		switch e.Type {
		case eventType(StatusPending), eventType(StatusPaid):
			return historyActor{Kind: "customer", UserID: o.UserID}
		case eventType(StatusConfirmed), eventType(StatusRejected):
			return historyActor{Kind: "system"}
		}
		return historyActor{Kind: "unknown"}
	}
	a := historyActor{UserID: e.By.UserID, Name: e.By.Name, Email: e.By.Email}
	switch e.By.Kind {
	case actorOwner.String(), actorPayment.String():
		a.Kind = "customer"
	case actorAdmin.String():
		a.Kind = "admin"
	default:
		a = historyActor{Kind: "system"}
	}
	return a
}

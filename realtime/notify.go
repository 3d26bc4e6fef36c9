package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/goshop/platform/shared"
)

// The notification centre keeps what happened to a user for the bell and the notifications page,
// beside the live push: a notification is built from an event (notificationFor) or a broadcast, kept
// in one of three lists (a user's, the admins' shared one, everyone's announcements) and merged per
// reader, with a read flag per reader. docs/realtime.md § Notifications has the Redis layout.
const (
	// notifyKeep is how many notifications each list keeps, and how many a reader sees (newest first).
	notifyKeep = 50
	// notifyTTL is how long a notification lives: older ones are not shown, and a list or read set
	// nobody wrote to for this long expires.
	notifyTTL = 30 * 24 * time.Hour
	// notifyMaxEventAge bounds which events become notifications, and is how long an event's ID is
	// remembered: an older event (a fresh consumer group reading history) is skipped, a younger one
	// seen before is a redelivery. Together they make "one event, at most one notification" exact.
	notifyMaxEventAge = 24 * time.Hour
)

// notifyList names the list a notification is kept in.
type notifyList struct {
	kind   string // listUser, listAdmins or listAll
	userID string // for listUser
}

const (
	listUser   = "user"
	listAdmins = "admins"
	listAll    = "all"
)

// notification is one entry of the notification centre, as stored and as GET /notifications answers
// it (Read is the reader's own state, false in storage). Level is set for announcements only.
type notification struct {
	ID        string    `json:"id"`
	Type      string    `json:"type"`
	Title     string    `json:"title"`
	Body      string    `json:"body"`
	Link      string    `json:"link"`
	Level     string    `json:"level,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	Read      bool      `json:"read"`
}

// readerLists are the lists id reads: its own, the announcements, and the admins' list for an admin
// with a first-party token (a third-party app acting for an admin gets no admin powers).
func readerLists(id shared.Identity) []notifyList {
	lists := []notifyList{{kind: listUser, userID: id.UserID}, {kind: listAll}}
	if id.IsAdmin() {
		lists = append(lists, notifyList{kind: listAdmins})
	}
	return lists
}

// notifyData is the part of an event's data the notifications read (docs/events.md).
type notifyData struct {
	OrderID        string `json:"order_id"`
	UserID         string `json:"user_id"`
	Status         string `json:"status"`
	PreviousStatus string `json:"previous_status"`
	TotalCents     int64  `json:"total_cents"`
	Currency       string `json:"currency"`
	Reason         string `json:"reason"`
	ProductID      string `json:"product_id"`
	SKU            string `json:"sku"`
	Name           string `json:"name"`
	Available      int64  `json:"available"`
	Threshold      int64  `json:"low_stock_threshold"`
}

// notificationFor returns the notification event e makes and the list it belongs to; ok is false for
// events that make none (and for an order event without its user or order ID). Its ID is derived from
// the event's, so every instance builds the same notification from one event.
func notificationFor(e shared.Event) (n notification, list notifyList, ok bool) {
	if !makesNotification(e.Type) {
		return notification{}, notifyList{}, false // most events of a checkout: no data to decode
	}
	var d notifyData
	if json.Unmarshal(e.Data, &d) != nil {
		return notification{}, notifyList{}, false
	}
	return notificationOf(e, d)
}

// notificationOf is notificationFor with e's data already decoded into d.
func notificationOf(e shared.Event, d notifyData) (n notification, list notifyList, ok bool) {
	n = notification{ID: notificationID(e.ID), Type: e.Type, CreatedAt: e.OccurredAt.UTC()}
	order := "#" + shortID(d.OrderID)
	total := shared.Money{Amount: shared.Cents(d.TotalCents), Currency: d.Currency}.String()
	user := notifyList{kind: listUser, userID: d.UserID}
	admins := notifyList{kind: listAdmins}
	if orderRepeat(e.Type, d.Status, d.PreviousStatus) {
		return notification{}, notifyList{}, false // the move was announced when it was made
	}
	switch e.Type {
	case "order.confirmed", "order.rejected", "order.paid", "order.shipped", "order.delivered", "order.cancelled":
		if d.UserID == "" || d.OrderID == "" {
			return notification{}, notifyList{}, false
		}
		n.Link, list = "/orders/"+d.OrderID, user
	case "order.created":
		if d.OrderID == "" {
			return notification{}, notifyList{}, false
		}
		n.Title, n.Body = "New order", fmt.Sprintf("Order %s was placed: %s.", order, total)
		n.Link, list = "/admin/orders/"+d.OrderID, admins
		return n, list, true
	case "inventory.low_stock":
		n.Title, n.Body = "Low stock: "+d.SKU, fmt.Sprintf("Only %d left (alert at %d).", d.Available, d.Threshold)
		n.Link, list = "/admin/inventory", admins
		return n, list, d.SKU != ""
	case "product.created", "product.updated":
		verb := "created"
		if e.Type == "product.updated" {
			verb = "updated"
		}
		n.Title, n.Body = "Product "+verb, fmt.Sprintf("%s (%s) was %s.", d.Name, d.SKU, verb)
		n.Link, list = "/admin/products/"+d.ProductID+"/edit", admins
		return n, list, d.ProductID != ""
	default:
		return notification{}, notifyList{}, false
	}
	reason := ""
	if d.Reason != "" {
		reason = " Reason: " + d.Reason + "."
	}
	switch e.Type {
	case "order.confirmed":
		n.Title, n.Body = "Order confirmed", fmt.Sprintf("Order %s (%s) is confirmed. Pay to complete it.", order, total)
	case "order.rejected":
		n.Title, n.Body = "Order rejected", fmt.Sprintf("Order %s could not be placed.%s", order, reason)
	case "order.paid":
		n.Title, n.Body = "Payment received", fmt.Sprintf("We received %s for order %s.", total, order)
	case "order.shipped":
		n.Title, n.Body = "Order shipped", fmt.Sprintf("Order %s is on its way.", order)
	case "order.delivered":
		n.Title, n.Body = "Order delivered", fmt.Sprintf("Order %s was delivered.", order)
	case "order.cancelled":
		// Cancelling a paid order refunds it: the shopper cares about the money more than the status.
		if d.PreviousStatus == "paid" {
			n.Type, n.Title = "order.refunded", "Refund issued"
			n.Body = fmt.Sprintf("Order %s was cancelled and %s refunded.%s", order, total, reason)
		} else {
			n.Title, n.Body = "Order cancelled", fmt.Sprintf("Order %s was cancelled.%s", order, reason)
		}
	}
	return n, list, true
}

// notificationTypes are the event types that can make a notification: the types notificationFor's
// switch knows. They are the notifier's ConsumerConfig.Types, so the others of its topics
// (inventory.reserved, inventory.updated, ...) are skipped before they are decoded.
var notificationTypes = []string{"order.confirmed", "order.rejected", "order.paid", "order.shipped", "order.delivered",
	"order.cancelled", "order.created", "inventory.low_stock", "product.created", "product.updated"}

// makesNotification reports whether an event of type typ can make a notification. The live consumer
// asks for every event, so the others are turned away before their data is decoded.
func makesNotification(typ string) bool {
	return slices.Contains(notificationTypes, typ)
}

// announcementNotification is the notification of a POST /broadcast.
func announcementNotification(message, level string, at time.Time) notification {
	return notification{ID: shared.NewID(), Type: evAnnouncement, Title: "Announcement", Body: message, Level: level, CreatedAt: at.UTC()}
}

// notificationID is an event's ID when it is a platform ID (32 hex digits), else a hash of it, so a
// notification ID is always safe in a URL, a form and a Redis key.
func notificationID(eventID string) string {
	if shared.ValidID(eventID) {
		return eventID
	}
	sum := sha256.Sum256([]byte(eventID))
	return hex.EncodeToString(sum[:16])
}

// shortID is the first 8 characters of an ID, as the pages show order numbers.
func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// liveNotification is the data of a "notification" WebSocket message: the notification and whom it
// is for ("user" with the user's ID, "admins" or "all"). Admins' connections receive every user's
// messages, so a page bumps its bell only for its own user, for "admins" when it is an admin's, and
// for "all".
type liveNotification struct {
	notification
	Audience string `json:"audience"`
	UserID   string `json:"user_id,omitempty"`
}

// pushNotification sends n to the connections of this instance that read list.
func pushNotification(h *hub, n notification, list notifyList) {
	live := liveNotification{notification: n, Audience: list.kind, UserID: list.userID}
	aud := audience{}
	switch list.kind {
	case listUser:
		aud.userID = list.userID
	case listAll:
		aud.public = true
	}
	h.publish("notification", mustJSON(live), n.CreatedAt, aud)
}

// validNotificationID reports whether s may be a notification ID in a request: 1 to 64 letters,
// digits, '-' or '_'. IDs that name nothing of the caller's are ignored, not refused.
func validNotificationID(s string) bool { return shared.IsWord(s, 64, "-_") }

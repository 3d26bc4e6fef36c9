package main

import (
	"context"
	"time"

	"github.com/goshop/platform/shared"
)

// Status is an order's state. The lifecycle (ARCHITECTURE.md § Order states, plus the owner's cancel
// of a pending order) lives in the transitions table below and nowhere else.
type Status string

const (
	StatusPending   Status = "pending"
	StatusConfirmed Status = "confirmed"
	StatusRejected  Status = "rejected"
	StatusPaid      Status = "paid"
	StatusCancelled Status = "cancelled"
	StatusShipped   Status = "shipped"
	StatusDelivered Status = "delivered"
)

// statuses lists every state, for validation of filters and PATCH bodies.
var statuses = []Status{StatusPending, StatusConfirmed, StatusRejected, StatusPaid, StatusCancelled, StatusShipped, StatusDelivered}

func validStatus(s Status) bool {
	for _, v := range statuses {
		if v == s {
			return true
		}
	}
	return false
}

// actor says who asks for a transition; the table names who may make each one.
type actor uint8

const (
	actorSaga    actor = 1 << iota // inventory events: reservation made, refused or expired
	actorPayment                   // POST /orders/{id}/pay after the provider approved
	actorOwner                     // the customer who placed the order
	actorAdmin                     // an admin: cancel (refund), ship, deliver
)

func (a actor) String() string {
	switch a {
	case actorSaga:
		return "saga"
	case actorPayment:
		return "payment"
	case actorOwner:
		return "owner"
	case actorAdmin:
		return "admin"
	}
	return "unknown"
}

// statusNone is the state before an order exists: creating an order is the move statusNone →
// pending, made by its owner, and writes order.created.
const statusNone Status = ""

// transitions is the state machine: from → to → who may move it. Anything absent is illegal.
// pending → cancelled is the owner withdrawing before inventory answered and the saga
// when a reservation expires; paid → cancelled refunds: an admin's decision, or the saga's when the
// payment reached inventory after the reservation expired and the stock was gone (handleInventoryEvent).
var transitions = map[Status]map[Status]actor{
	statusNone: {
		StatusPending: actorOwner,
	},
	StatusPending: {
		StatusConfirmed: actorSaga,
		StatusRejected:  actorSaga,
		StatusCancelled: actorSaga | actorOwner | actorAdmin,
	},
	StatusConfirmed: {
		StatusPaid:      actorPayment,
		StatusCancelled: actorSaga | actorOwner | actorAdmin,
	},
	StatusPaid: {
		StatusShipped:   actorAdmin,
		StatusCancelled: actorAdmin | actorSaga,
	},
	StatusShipped: {
		StatusDelivered: actorAdmin,
	},
}

// checkTransition reports whether by may move an order from → to: nil, a 409 naming the current
// state when the table has no such edge, or a 403 when the edge exists for someone else.
func checkTransition(from, to Status, by actor) error {
	allowed, ok := transitions[from][to]
	if !ok {
		return shared.Errorf(shared.CodeConflict, "order is %s: cannot move to %s", from, to)
	}
	if allowed&by == 0 {
		if by == actorAdmin || by == actorOwner {
			if allowed&(actorAdmin|actorOwner) == 0 {
				return shared.Errorf(shared.CodeConflict, "order is %s: %s is set by the checkout, not by hand", from, to)
			}
		}
		return shared.Errorf(shared.CodeForbidden, "only an admin can move a %s order to %s", from, to)
	}
	return nil
}

// Line is one priced order line. Prices come from the product service, never from the client.
type Line struct {
	SKU            string `bson:"sku"`
	Name           string `bson:"name"`
	UnitPriceCents int64  `bson:"unit_price_cents"`
	Quantity       int64  `bson:"quantity"`
}

// Address is a shipping address, copied into the order so later edits of a saved address do not
// change it.
type Address struct {
	Name    string `bson:"name" json:"name"`
	Street  string `bson:"street" json:"street"`
	City    string `bson:"city" json:"city"`
	State   string `bson:"state" json:"state"`
	ZipCode string `bson:"zip_code" json:"zip_code"`
	Country string `bson:"country" json:"country"`
}

// Payment is what the order keeps of a charge: never the card number, only its last four digits and
// brand.
type Payment struct {
	ChargeID    string    `bson:"charge_id"`
	Last4       string    `bson:"last4"`
	Brand       string    `bson:"brand"`
	AmountCents int64     `bson:"amount_cents"`
	PaidAt      time.Time `bson:"paid_at"`
	RefundID    string    `bson:"refund_id,omitempty"`
}

// storedEvent is one order.* event in the order's outbox. Events are appended in the same atomic
// write as the state change they describe; the relay publishes events[SentSeq:EventSeq] in order.
type storedEvent struct {
	ID         string    `bson:"id"`
	Type       string    `bson:"type"`
	OccurredAt time.Time `bson:"occurred_at"`
	Data       string    `bson:"data"` // the JSON of orderEventData
	// By is who made the change: the actor kind always (saga, payment, owner, admin), the person's
	// ID, name and e-mail when a signed-in user did. Events stored before it was recorded have none.
	By *eventActor `bson:"by,omitempty"`
	// TraceParent and TraceState are the trace of the request or event that made it (withTrace),
	// published with it; empty without tracing.
	TraceParent string `bson:"traceparent,omitempty"`
	TraceState  string `bson:"tracestate,omitempty"`
}

// eventActor is who made one change of an order (storedEvent.By). It is kept in the order only,
// not published: consumers learn the user from the event's data.
type eventActor struct {
	Kind   string `bson:"kind"`
	UserID string `bson:"user_id,omitempty"`
	Name   string `bson:"name,omitempty"`
	Email  string `bson:"email,omitempty"`
}

// withTrace returns se carrying the trace of ctx (shared.TraceOf).
func (se storedEvent) withTrace(ctx context.Context) storedEvent {
	se.TraceParent, se.TraceState = shared.TraceOf(ctx)
	return se
}

// Order is the aggregate as stored. IdempotencyKey and RequestHash are the idempotency record of the
// POST that created it; (UserID, IdempotencyKey) is unique.
type Order struct {
	ID     string `bson:"_id"`
	UserID string `bson:"user_id"`
	// CustomerEmail (lower case) and CustomerName are the customer's as the access token named them
	// when the order was placed, so the admin list shows and filters them without asking the user
	// service. Orders placed before they were recorded have neither.
	CustomerEmail  string   `bson:"customer_email,omitempty"`
	CustomerName   string   `bson:"customer_name,omitempty"`
	IdempotencyKey string   `bson:"idempotency_key"`
	RequestHash    string   `bson:"request_hash"`
	Status         Status   `bson:"status"`
	StatusReason   string   `bson:"status_reason"`
	Items          []Line   `bson:"items"`
	SubtotalCents  int64    `bson:"subtotal_cents"`
	TaxCents       int64    `bson:"tax_cents"`
	ShippingCents  int64    `bson:"shipping_cents"`
	TotalCents     int64    `bson:"total_cents"` // SubtotalCents + TaxCents + ShippingCents
	Currency       string   `bson:"currency"`
	Address        Address  `bson:"shipping_address"`
	Payment        *Payment `bson:"payment,omitempty"`
	// ReservationExpiresAt is when inventory lets the reservation go (from inventory.reserved); pay
	// refuses after it.
	ReservationExpiresAt *time.Time `bson:"reservation_expires_at,omitempty"`
	// AppliedEvents are the IDs of inventory events already applied, so a redelivery changes nothing.
	AppliedEvents []string      `bson:"applied_events"`
	Events        []storedEvent `bson:"events"`
	EventSeq      int           `bson:"event_seq"`      // len(Events)
	SentSeq       int           `bson:"sent_seq"`       // events[:SentSeq] are published
	OutboxPending bool          `bson:"outbox_pending"` // EventSeq > SentSeq (maybe stale-true)
	CreatedAt     time.Time     `bson:"created_at"`
	UpdatedAt     time.Time     `bson:"updated_at"`
	// CreatedDay is the UTC date of CreatedAt (YYYY-MM-DD), set by the Mongo store on insert: the
	// stats aggregation groups by it (see stats.go).
	CreatedDay string `bson:"created_day,omitempty"`
}

// applied reports whether the inventory event id was already applied to o.
func (o Order) applied(eventID string) bool {
	for _, id := range o.AppliedEvents {
		if id == eventID {
			return true
		}
	}
	return false
}

// clone returns a deep copy, so the in-memory store never shares slices with callers.
func (o Order) clone() Order {
	o.Items = append([]Line(nil), o.Items...)
	o.AppliedEvents = append([]string(nil), o.AppliedEvents...)
	o.Events = append([]storedEvent(nil), o.Events...)
	for i, e := range o.Events {
		if e.By != nil {
			by := *e.By
			o.Events[i].By = &by
		}
	}
	if o.Payment != nil {
		p := *o.Payment
		o.Payment = &p
	}
	if o.ReservationExpiresAt != nil {
		t := *o.ReservationExpiresAt
		o.ReservationExpiresAt = &t
	}
	return o
}

// orderEventData is the data of every order.* event (docs/events.md).
type orderEventData struct {
	OrderID       string          `json:"order_id"`
	UserID        string          `json:"user_id"`
	Status        Status          `json:"status"`
	Items         []eventDataLine `json:"items"`
	SubtotalCents int64           `json:"subtotal_cents"`
	TaxCents      int64           `json:"tax_cents"`
	ShippingCents int64           `json:"shipping_cents"`
	TotalCents    int64           `json:"total_cents"`
	Currency      string          `json:"currency"`
	Reason        string          `json:"reason"`
	// PreviousStatus is the status the order left (absent in order.created): order.cancelled with
	// previous_status "paid" is a refund, which the shopper is told about as such.
	PreviousStatus Status `json:"previous_status,omitempty"`
}

type eventDataLine struct {
	SKU            string `json:"sku"`
	Name           string `json:"name"`
	UnitPriceCents int64  `json:"unit_price_cents"`
	Quantity       int64  `json:"quantity"`
}

// eventType is the type of the event a move into status writes: order.created for the creation (the
// only move into pending), order.<status> for every other.
func eventType(status Status) string {
	if status == StatusPending {
		return "order.created"
	}
	return "order." + string(status)
}

// newOrderEvent builds the outbox entry eventType(status) describing o, read before the move, in
// status with reason.
func newOrderEvent(o Order, status Status, reason string, at time.Time) storedEvent {
	d := o.eventData(status, reason)
	if o.Status != status {
		d.PreviousStatus = o.Status
	}
	return d.stored(eventType(status), at)
}

// newRepeatEvent builds an outbox entry of type typ that asks inventory to act again on o without
// o moving: reconciliation's order.created, the order.cancelled that releases a late reservation.
// Its status and previous_status are both o's status, which tells consumers it is no change, so
// nobody is told about it (docs/events.md).
func newRepeatEvent(o Order, typ, reason string, at time.Time) storedEvent {
	d := o.eventData(o.Status, reason)
	d.PreviousStatus = o.Status
	return d.stored(typ, at)
}

// eventData is the data of an order.* event describing o in status with reason.
func (o Order) eventData(status Status, reason string) orderEventData {
	d := orderEventData{OrderID: o.ID, UserID: o.UserID, Status: status, SubtotalCents: o.SubtotalCents,
		TaxCents: o.TaxCents, ShippingCents: o.ShippingCents, TotalCents: o.TotalCents, Currency: o.Currency, Reason: reason,
		Items: make([]eventDataLine, 0, len(o.Items))}
	for _, l := range o.Items {
		d.Items = append(d.Items, eventDataLine{SKU: l.SKU, Name: l.Name, UnitPriceCents: l.UnitPriceCents, Quantity: l.Quantity})
	}
	return d
}

// stored is the outbox entry of type typ carrying d, with a new event ID.
func (d *orderEventData) stored(typ string, at time.Time) storedEvent {
	return storedEvent{ID: shared.NewID(), Type: typ, OccurredAt: at, Data: string(d.appendJSON(make([]byte, 0, 256+128*len(d.Items))))}
}

// envelope turns a stored event back into the Kafka envelope for order id.
func (se storedEvent) envelope(orderID string) shared.Event {
	return shared.Event{ID: se.ID, Type: se.Type, Version: 1, OccurredAt: se.OccurredAt, AggregateID: orderID, Data: []byte(se.Data),
		TraceParent: se.TraceParent, TraceState: se.TraceState}
}

// maxCents bounds every amount the service computes (100 billion in major units). Unit prices are at
// most shared.MaxCents, so a subtotal (quantity ≤ maxQuantity, lines ≤ maxLines) never overflows int64
// before it is checked against this bound.
const maxCents = 10_000_000_000_000

// taxCents is subtotal × bps / 10000 rounded half up, in integers.
func taxCents(subtotal, bps int64) int64 {
	return (subtotal*bps + 5000) / 10000
}

package main

import (
	"time"

	"github.com/goshop/platform/shared"
)

// lineView, paymentView and orderView are the order's JSON (ARCHITECTURE.md § JSON shapes).
type lineView struct {
	SKU       string       `json:"sku"`
	Name      string       `json:"name"`
	UnitPrice shared.Cents `json:"unit_price"`
	Quantity  int64        `json:"quantity"`
	LineTotal shared.Cents `json:"line_total"`
}

type paymentView struct {
	Last4    string       `json:"last4"`
	Brand    string       `json:"brand"`
	Amount   shared.Cents `json:"amount"`
	PaidAt   time.Time    `json:"paid_at"`
	Refunded bool         `json:"refunded"`
}

// priceView is an order's lines and amounts; alone, it is the answer of POST /orders/quote.
type priceView struct {
	Items    []lineView   `json:"items"`
	Subtotal shared.Cents `json:"subtotal"`
	Tax      shared.Cents `json:"tax"`
	Shipping shared.Cents `json:"shipping"`
	Total    shared.Cents `json:"total"`
	Currency string       `json:"currency"`
}

type orderView struct {
	ID       string        `json:"id"`
	UserID   string        `json:"user_id"`
	Customer *customerView `json:"customer,omitempty"` // absent on orders placed before it was recorded
	Status   Status        `json:"status"`
	priceView
	ShippingAddress      Address      `json:"shipping_address"`
	StatusReason         string       `json:"status_reason"`
	Payment              *paymentView `json:"payment,omitempty"`
	ReservationExpiresAt *time.Time   `json:"reservation_expires_at,omitempty"`
	CreatedAt            time.Time    `json:"created_at"`
	UpdatedAt            time.Time    `json:"updated_at"`
	// NextStatuses (admins only) are the states an admin may set now; History (admins, one order)
	// is the order's timeline. See viewFor.
	NextStatuses []Status       `json:"next_statuses,omitempty"`
	History      []historyEntry `json:"history,omitempty"`
}

func newOrderView(o Order) orderView {
	v := orderView{ID: o.ID, UserID: o.UserID, Status: o.Status, priceView: priceView{Items: make([]lineView, 0, len(o.Items)),
		Subtotal: shared.Cents(o.SubtotalCents), Tax: shared.Cents(o.TaxCents), Shipping: shared.Cents(o.ShippingCents), Total: shared.Cents(o.TotalCents), Currency: o.Currency},
		ShippingAddress: o.Address, StatusReason: o.StatusReason, CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt}
	for _, l := range o.Items {
		v.Items = append(v.Items, lineView{SKU: l.SKU, Name: l.Name, UnitPrice: shared.Cents(l.UnitPriceCents), Quantity: l.Quantity, LineTotal: shared.Cents(l.UnitPriceCents * l.Quantity)})
	}
	if o.CustomerEmail != "" || o.CustomerName != "" {
		v.Customer = &customerView{Email: o.CustomerEmail, Name: o.CustomerName}
	}
	if p := o.Payment; p != nil {
		v.Payment = &paymentView{Last4: p.Last4, Brand: p.Brand, Amount: shared.Cents(p.AmountCents), PaidAt: p.PaidAt, Refunded: p.RefundID != ""}
	}
	if o.Status == StatusConfirmed {
		v.ReservationExpiresAt = o.ReservationExpiresAt
	}
	return v
}

package main

import (
	"strconv"

	"github.com/goshop/platform/shared"
)

// The order's hot JSON is written by appending, without reflection: the data of every order.* event
// (twice per checkout: order.created, then order.confirmed or order.rejected) and the canonical form
// of a POST /orders body that its idempotency hash is taken of. Each writes byte for byte what
// json.Marshal writes for the same struct, which FuzzOrderJSON checks: event data is compared and
// stored as it is, and a request hash stored before must still match a retry's.

// appendJSON appends d as json.Marshal writes it.
func (d *orderEventData) appendJSON(b []byte) []byte {
	b = append(b, `{"order_id":`...)
	b = shared.AppendJSONString(b, d.OrderID)
	b = append(b, `,"user_id":`...)
	b = shared.AppendJSONString(b, d.UserID)
	b = append(b, `,"status":`...)
	b = shared.AppendJSONString(b, string(d.Status))
	b = append(b, `,"items":`...)
	if d.Items == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, l := range d.Items {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"sku":`...)
			b = shared.AppendJSONString(b, l.SKU)
			b = append(b, `,"name":`...)
			b = shared.AppendJSONString(b, l.Name)
			b = append(b, `,"unit_price_cents":`...)
			b = strconv.AppendInt(b, l.UnitPriceCents, 10)
			b = append(b, `,"quantity":`...)
			b = strconv.AppendInt(b, l.Quantity, 10)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = append(b, `,"subtotal_cents":`...)
	b = strconv.AppendInt(b, d.SubtotalCents, 10)
	b = append(b, `,"tax_cents":`...)
	b = strconv.AppendInt(b, d.TaxCents, 10)
	b = append(b, `,"shipping_cents":`...)
	b = strconv.AppendInt(b, d.ShippingCents, 10)
	b = append(b, `,"total_cents":`...)
	b = strconv.AppendInt(b, d.TotalCents, 10)
	b = append(b, `,"currency":`...)
	b = shared.AppendJSONString(b, d.Currency)
	b = append(b, `,"reason":`...)
	b = shared.AppendJSONString(b, d.Reason)
	if d.PreviousStatus != "" {
		b = append(b, `,"previous_status":`...)
		b = shared.AppendJSONString(b, string(d.PreviousStatus))
	}
	return append(b, '}')
}

// appendJSON appends r as json.Marshal writes it.
func (r *createOrderRequest) appendJSON(b []byte) []byte {
	b = append(b, `{"items":`...)
	if r.Items == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, l := range r.Items {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"sku":`...)
			b = shared.AppendJSONString(b, l.SKU)
			b = append(b, `,"quantity":`...)
			b = strconv.AppendInt(b, l.Quantity, 10)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if a := r.ShippingAddress; a != nil {
		b = append(b, `,"shipping_address":{"name":`...)
		b = shared.AppendJSONString(b, a.Name)
		b = append(b, `,"street":`...)
		b = shared.AppendJSONString(b, a.Street)
		b = append(b, `,"city":`...)
		b = shared.AppendJSONString(b, a.City)
		b = append(b, `,"state":`...)
		b = shared.AppendJSONString(b, a.State)
		b = append(b, `,"zip_code":`...)
		b = shared.AppendJSONString(b, a.ZipCode)
		b = append(b, `,"country":`...)
		b = shared.AppendJSONString(b, a.Country)
		b = append(b, '}')
	}
	if r.AddressID != "" {
		b = append(b, `,"address_id":`...)
		b = shared.AppendJSONString(b, r.AddressID)
	}
	return append(b, '}')
}

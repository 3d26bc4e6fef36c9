package main

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/goshop/platform/shared"
)

// card is a validated payment card. Number stays in memory for the length of the pay request only.
type card struct {
	Number   string // digits only
	ExpMonth int
	ExpYear  int
	CVC      string
}

// last4 and brand are all the order keeps of a card.
func (c card) last4() string { return c.Number[len(c.Number)-4:] }

func (c card) brand() string {
	n := c.Number
	switch {
	case strings.HasPrefix(n, "4"):
		return "visa"
	case strings.HasPrefix(n, "34"), strings.HasPrefix(n, "37"):
		return "amex"
	case len(n) >= 2 && n[0] == '5' && n[1] >= '1' && n[1] <= '5',
		len(n) >= 4 && n[:4] >= "2221" && n[:4] <= "2720":
		return "mastercard"
	case strings.HasPrefix(n, "6011"), strings.HasPrefix(n, "65"):
		return "discover"
	}
	return "unknown"
}

// luhn reports whether digits (only '0'..'9') pass the Luhn checksum.
func luhn(digits string) bool {
	sum, double := 0, false
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
		if double {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return len(digits) > 0 && sum%10 == 0
}

// parseCard validates the pay body's fields at now and returns the card or field messages.
// Spaces and dashes in the number are ignored; 12–19 digits passing Luhn; exp_month 1–12;
// exp_year four digits, the card valid through the end of its expiry month; cvc 3 or 4 digits.
func parseCard(number string, expMonth, expYear int, cvc string, now time.Time) (card, map[string]string) {
	fields := map[string]string{}
	digits := strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		return r
	}, number)
	switch {
	case digits == "":
		fields["card_number"] = "is required"
	case strings.Trim(digits, "0123456789") != "" || len(digits) < 12 || len(digits) > 19:
		fields["card_number"] = "must be 12 to 19 digits"
	case !luhn(digits):
		fields["card_number"] = "is not a valid card number"
	}
	if expMonth < 1 || expMonth > 12 {
		fields["exp_month"] = "must be 1 to 12"
	}
	if expYear < 1000 || expYear > 9999 {
		fields["exp_year"] = "must be a four-digit year"
	}
	if fields["exp_month"] == "" && fields["exp_year"] == "" {
		// Valid through the last instant of the expiry month (UTC).
		end := time.Date(expYear, time.Month(expMonth)+1, 1, 0, 0, 0, 0, time.UTC)
		if !now.Before(end) {
			fields["exp_year"] = "card has expired"
		} else if expYear > now.Year()+20 {
			fields["exp_year"] = "is too far in the future"
		}
	}
	if len(cvc) < 3 || len(cvc) > 4 || strings.Trim(cvc, "0123456789") != "" {
		fields["cvc"] = "must be 3 or 4 digits"
	}
	if len(fields) > 0 {
		return card{}, fields
	}
	return card{Number: digits, ExpMonth: expMonth, ExpYear: expYear, CVC: cvc}, nil
}

// chargeRequest asks a provider to take AmountCents for OrderID. OrderID is the provider's
// idempotency key: a provider charges an order at most once, whatever the number of calls.
type chargeRequest struct {
	OrderID     string
	AmountCents int64
	Currency    string
	Card        card
}

// charge is an approved payment.
type charge struct {
	ID          string
	AmountCents int64
}

// errDeclined is returned by paymentProvider.Charge when the card was refused.
var errDeclined = errors.New("card declined")

// paymentProvider takes and refunds payments; the stub below stands in for a real one (Stripe and
// the like offer the same idempotent Charge/Refund).
type paymentProvider interface {
	// Charge charges the card once per OrderID: a repeated call for an order already charged (and
	// not refunded) returns the first charge without charging again. Declines return errDeclined and are not remembered, so
	// the customer may retry with another card.
	Charge(ctx context.Context, req chargeRequest) (charge, error)
	// Refund returns the whole charge; refunding twice returns the same refund ID.
	Refund(ctx context.Context, chargeID string) (string, error)
}

// declineCard is the test card the stub always declines; every other valid card is approved
// (4242 4242 4242 4242 is the usual approving one).
const declineCard = "4000000000000002"

// stubMemory is how many charges and how many refunds the stub remembers, the newest ones. Its
// idempotency has to cover a pay retried after a lost answer or a failed store (seconds to minutes:
// once the order is stored as paid, pay never charges again) and a refund asked twice (the order
// stores the refund ID once it has one). Without the bound the stub kept an entry per paid order for
// the life of the process, in every copy, and each Refund scanned them all under the lock.
const stubMemory = 10_000

// stubPayments approves every valid card but declineCard, in memory.
type stubPayments struct {
	mu        sync.Mutex
	byOrder   map[string]charge // approved, unrefunded charges by order ID
	orderOf   map[string]string // charge ID → order ID, of byOrder's charges
	chargeIDs []string          // the remembered charges' IDs, oldest first (at most stubMemory)
	refunds   map[string]string // charge ID → refund ID
	refunded  []string          // refunds' charge IDs, oldest first (at most stubMemory)
	charges   int               // approved charges made, for tests
}

var _ paymentProvider = (*stubPayments)(nil)

func newStubPayments() *stubPayments {
	return &stubPayments{byOrder: make(map[string]charge), orderOf: make(map[string]string), refunds: make(map[string]string)}
}

func (p *stubPayments) Charge(_ context.Context, req chargeRequest) (charge, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c, ok := p.byOrder[req.OrderID]; ok {
		return c, nil
	}
	if req.Card.Number == declineCard {
		return charge{}, errDeclined
	}
	c := charge{ID: "ch_" + shared.NewID(), AmountCents: req.AmountCents}
	p.byOrder[req.OrderID], p.orderOf[c.ID] = c, req.OrderID
	p.charges++
	p.chargeIDs = append(p.chargeIDs, c.ID)
	if len(p.chargeIDs) > stubMemory {
		p.forgetCharge(p.chargeIDs[0])
		p.chargeIDs = p.chargeIDs[1:]
	}
	return c, nil
}

// forgetCharge drops chargeID from byOrder and orderOf. Call with p.mu held.
func (p *stubPayments) forgetCharge(chargeID string) {
	if order, ok := p.orderOf[chargeID]; ok {
		if p.byOrder[order].ID == chargeID {
			delete(p.byOrder, order)
		}
		delete(p.orderOf, chargeID)
	}
}

func (p *stubPayments) Refund(_ context.Context, chargeID string) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if id, ok := p.refunds[chargeID]; ok {
		return id, nil
	}
	id := "re_" + shared.NewID()
	p.refunds[chargeID] = id
	p.refunded = append(p.refunded, chargeID)
	if len(p.refunded) > stubMemory {
		delete(p.refunds, p.refunded[0])
		p.refunded = p.refunded[1:]
	}
	// A refunded charge no longer covers its order: a later Charge for it charges anew.
	p.forgetCharge(chargeID)
	return id, nil
}

// chargeCount returns how many approved charges the stub made.
func (p *stubPayments) chargeCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.charges
}

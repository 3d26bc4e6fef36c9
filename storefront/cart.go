package main

import "github.com/goshop/platform/shared"

// The cart lives in the visitor's server-side session (sessionStore: Redis DB 6, a hash SKU →
// quantity). It holds SKUs and quantities only; names and prices are read from the catalog when the
// cart is shown, and the order service prices the order itself.

const (
	maxCartLines = 20
	maxQuantity  = 99
)

type cartLine struct {
	SKU string
	Qty int
}

type cart struct {
	Lines []cartLine
}

// count is the number of items in the cart.
func (c cart) count() int {
	n := 0
	for _, l := range c.Lines {
		n += l.Qty
	}
	return n
}

// validSKU accepts 1–64 characters of letters, digits, '-', '_' and '.'.
func validSKU(s string) bool { return shared.IsWord(s, 64, "-_.") }

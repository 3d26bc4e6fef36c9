package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
)

// The cart lives in a signed cookie (sf_cart), not on the server: it works signed out, survives a
// storefront restart when STOREFRONT_SECRET is set, needs no Redis, and scales to any number of
// instances. It holds SKUs and quantities only; names and prices are read from the catalog when the
// cart is shown, and the order service prices the order itself, so a stale cookie cannot change a price.

const (
	maxCartLines = 20
	maxQuantity  = 99
)

type cartLine struct {
	SKU string `json:"s"`
	Qty int    `json:"q"`
}

type cart struct {
	Lines []cartLine `json:"l"`
}

// count is the number of items in the cart.
func (c cart) count() int {
	n := 0
	for _, l := range c.Lines {
		n += l.Qty
	}
	return n
}

// set puts qty of sku in the cart (0 removes the line); add adds to what is there. Both clamp to
// [0, maxQuantity] and refuse a new line past maxCartLines.
func (c *cart) set(sku string, qty int) {
	qty = min(max(qty, 0), maxQuantity)
	for i, l := range c.Lines {
		if l.SKU == sku {
			if qty == 0 {
				c.Lines = append(c.Lines[:i], c.Lines[i+1:]...)
			} else {
				c.Lines[i].Qty = qty
			}
			return
		}
	}
	if qty > 0 && len(c.Lines) < maxCartLines {
		c.Lines = append(c.Lines, cartLine{SKU: sku, Qty: qty})
	}
}

func (c *cart) add(sku string, qty int) {
	for _, l := range c.Lines {
		if l.SKU == sku {
			c.set(sku, l.Qty+qty)
			return
		}
	}
	c.set(sku, qty)
}

func (s *site) signCart(payload string) string {
	m := hmac.New(sha256.New, s.cartSecret)
	m.Write([]byte(payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// encodeCart renders c as "payload.signature".
func (s *site) encodeCart(c cart) string {
	b, _ := json.Marshal(c)
	p := base64.RawURLEncoding.EncodeToString(b)
	return p + "." + s.signCart(p)
}

// decodeCart reads a cookie value; anything unsigned, tampered or malformed is an empty cart.
func (s *site) decodeCart(v string) cart {
	p, sig, ok := strings.Cut(v, ".")
	if !ok || !hmac.Equal([]byte(sig), []byte(s.signCart(p))) {
		return cart{}
	}
	b, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		return cart{}
	}
	var c cart
	if json.Unmarshal(b, &c) != nil {
		return cart{}
	}
	// Re-apply the limits, so even a validly signed old cookie holds sane lines.
	var out cart
	for _, l := range c.Lines {
		if validSKU(l.SKU) {
			out.set(l.SKU, l.Qty)
		}
	}
	return out
}

func (s *site) readCart(r *http.Request) cart {
	c, err := r.Cookie(cookieCart)
	if err != nil {
		return cart{}
	}
	return s.decodeCart(c.Value)
}

func (s *site) writeCart(w http.ResponseWriter, c cart) {
	if len(c.Lines) == 0 {
		s.setCookie(w, cookieCart, "", -1)
		return
	}
	s.setCookie(w, cookieCart, s.encodeCart(c), 30*24*3600)
}

// validSKU accepts 1–64 characters of letters, digits, '-', '_' and '.'.
func validSKU(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

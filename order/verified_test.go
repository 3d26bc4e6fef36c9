package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/goshop/platform/shared"
	"github.com/goshop/platform/shared/sharedtest"
)

// TestCheckoutNeedsVerifiedEmail: with REQUIRE_VERIFIED_EMAIL_FOR_CHECKOUT a token without
// email_verified cannot place an order (403 email_unverified, nothing stored), one with it can; by
// default nobody is asked.
func TestCheckoutNeedsVerifiedEmail(t *testing.T) {
	t.Parallel()
	verified := sharedtest.Customer
	verified.EmailVerified = true
	body := fmt.Sprintf(`{"items":[{"sku":"MUG-1","quantity":1}],"shipping_address":%s}`, addrJSON)
	for _, tt := range []struct {
		name     string
		required bool
		caller   shared.Identity
		want     int
	}{
		{"required, unverified", true, sharedtest.Customer, http.StatusForbidden},
		{"required, verified", true, verified, http.StatusCreated},
		{"not required, unverified", false, sharedtest.Customer, http.StatusCreated},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, func(c *Config) { c.RequireVerifiedEmail = tt.required })
			code, got, _ := h.do("POST", "/orders", h.iss.Bearer(t, tt.caller), body, "Idempotency-Key", "k1")
			if code != tt.want {
				t.Fatalf("POST /orders: status = %d, want %d; body %s", code, tt.want, got)
			}
			if tt.want == http.StatusForbidden {
				if !strings.Contains(got, `"code":"email_unverified"`) {
					t.Errorf("refusal body %s, want code email_unverified", got)
				}
				if code, list, _ := h.do("GET", "/orders", h.iss.Bearer(t, tt.caller), ""); code != 200 || strings.Contains(list, `"id"`) {
					t.Errorf("orders after the refusal: %d %s, want none", code, list)
				}
			}
		})
	}
}

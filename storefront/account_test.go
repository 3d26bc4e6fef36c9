package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestAccount(t *testing.T) {
	t.Parallel()
	gw, srv := newSite(t)
	b := newBrowser(t, srv)
	if p := b.get("/account"); p.status != http.StatusSeeOther {
		t.Errorf("GET /account signed out: status = %d, want 303", p.status)
	}
	b.signIn(fakeCustomer.Email, "demo-Passw0rd!")
	p := b.get("/account")
	if p.status != 200 || !strings.Contains(p.body, "1 Main St") || !strings.Contains(p.body, fakeCustomer.Email) {
		t.Fatalf("GET /account: status = %d\n%s", p.status, p.body)
	}
	// The new address's name starts as the customer's own, as at checkout (the journey audit).
	if !strings.Contains(p.body, `id="a-name" name="name" value="`+fakeCustomer.Name+`"`) {
		t.Errorf("GET /account: the new address's name is not prefilled with %q\n%s", fakeCustomer.Name, p.body)
	}
	bad := b.submit("/account", "/account/addresses", url.Values{"name": {"Demo"}})
	if bad.status != http.StatusBadRequest || !strings.Contains(bad.body, "Street and number is required") && !strings.Contains(bad.body, "Street is required") {
		t.Errorf("POST /account/addresses incomplete: status = %d, want 400 with field messages", bad.status)
	}
	ok := b.submit("/account", "/account/addresses", url.Values{"name": {"Demo"}, "street": {"2 Side St"}, "city": {"Shelbyville"}, "zip_code": {"54321"}, "country": {"US"}})
	if ok.status != http.StatusSeeOther {
		t.Fatalf("POST /account/addresses: status = %d, want 303", ok.status)
	}
	calls := gw.calls("POST /user/users/me/addresses")
	if len(calls) != 1 || !strings.Contains(calls[0].Body, `"street":"2 Side St"`) || strings.Contains(calls[0].Body, `"id"`) {
		t.Errorf("address create calls = %+v", calls)
	}
	if p := b.get("/account"); !strings.Contains(p.body, "2 Side St") || !strings.Contains(p.body, "Saved.") {
		t.Error("GET /account after adding: new address or notice missing")
	}
	// With two addresses, each Delete button says which one it deletes (screen readers list buttons).
	if p := b.get("/account"); !strings.Contains(p.body, `aria-label="Delete the address 1 Main St, Springfield">Delete</button>`) ||
		!strings.Contains(p.body, `aria-label="Delete the address 2 Side St, Shelbyville">Delete</button>`) {
		t.Errorf("GET /account: the Delete buttons do not name their address\n%s", p.body)
	}
	if p := b.submit("/account", "/account/addresses/addr-1/delete", url.Values{"confirm": {"yes"}}); p.status != http.StatusSeeOther {
		t.Errorf("POST delete address: status = %d, want 303", p.status)
	}
	if p := b.get("/account"); strings.Contains(p.body, "1 Main St") {
		t.Error("deleted address still shown")
	}
	// The message says what to do and is tied to the input, as on every other form.
	if p := b.submit("/account", "/account/profile", url.Values{"name": {""}}); p.status != http.StatusBadRequest ||
		!strings.Contains(p.body, `autocomplete="name" maxlength="100" required aria-invalid="true" aria-describedby="p-name-error">`) ||
		!strings.Contains(p.body, `<p class="field-error" id="p-name-error">Enter your name.</p>`) {
		t.Errorf("POST /account/profile empty name: status = %d, want 400 asking for a name, tied to the input\n%s", p.status, p.body)
	}
	if p := b.submit("/account", "/account/profile", url.Values{"name": {"Renamed Person"}}); p.status != http.StatusSeeOther {
		t.Errorf("POST /account/profile: status = %d, want 303", p.status)
	}
	if p := b.get("/account"); !strings.Contains(p.body, `value="Renamed Person"`) {
		t.Error("renamed profile not shown")
	}
}

// TestLimitsCountCharacters: the forms' length limits count characters as the services do, not
// bytes, so text in a non-Latin script within the limit is accepted; a refused name stays in the
// input as typed.
func TestLimitsCountCharacters(t *testing.T) {
	t.Parallel()
	gw, srv := newSite(t)
	b := newBrowser(t, srv)
	b.signIn(fakeAdmin.Email, "admin-Passw0rd!")
	name := strings.Repeat("名", 90) // 90 characters, 270 bytes
	if p := b.submit("/account", "/account/profile", url.Values{"name": {name}}); p.status != http.StatusSeeOther {
		t.Errorf("POST /account/profile with a 90-character name: status = %d, want 303", p.status)
	}
	long := strings.Repeat("名", 101)
	p := b.submit("/account", "/account/profile", url.Values{"name": {long}})
	if p.status != http.StatusBadRequest || !strings.Contains(p.body, `value="`+long+`"`) {
		t.Errorf("POST /account/profile with a 101-character name: status = %d, want 400 with the name kept in the input", p.status)
	}
	street := strings.Repeat("街", 150)
	if p := b.submit("/account", "/account/addresses", url.Values{"name": {name}, "street": {street}, "city": {"Kyoto"}, "zip_code": {"600-8216"}, "country": {"JP"}}); p.status != http.StatusSeeOther {
		t.Errorf("POST /account/addresses with a 150-character street: status = %d, want 303", p.status)
	}
	form := url.Values{"name": {strings.Repeat("品", 150)}, "description": {strings.Repeat("説", 3000)}, "sku": {"JP-1"}, "price": {"10.00"}, "category": {"books"}}
	if p := b.submit("/admin/products/new", "/admin/products", form); p.status != http.StatusSeeOther {
		t.Errorf("POST /admin/products with a 150-character name and a 3,000-character description: status = %d, want 303", p.status)
	}
	if n := len(gw.calls("POST /product/products")); n != 1 {
		t.Errorf("product create calls = %d, want 1", n)
	}
}

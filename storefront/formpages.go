package main

// Where a form's page is: the way back from the error page of its failed post, the answer to a GET
// of its path, and the list a page about one thing belongs to.

import (
	"net/http"
	"net/url"
	"strings"
)

// formBack is where the error page of a failed form post leads back to (formPage), so an admin told
// to "reload the inventory" has it one click away, not only the shop. Empty for a GET.
func formBack(r *http.Request) (href, label string) {
	if r.Method != http.MethodPost {
		return "", ""
	}
	return formPage(r)
}

// formPage is the page a form posted to r's path lives on (an admin list as it was filtered,
// listReturn) and a link's label for it: where the error page of its failed post leads back
// (formBack), and where a GET of its path goes (handleFormReload). Empty for forms with no page of
// their own.
func formPage(r *http.Request) (href, label string) {
	p, id := r.URL.Path, url.PathEscape(r.PathValue("id"))
	switch {
	case strings.HasPrefix(p, "/admin/inventory/"):
		return listReturn(r, "/admin/inventory"), "Back to the inventory"
	case id != "" && p == "/admin/products/"+id: // a product's changes: its edit page
		return p + "/edit", "Back to the product"
	case strings.HasPrefix(p, "/admin/products"):
		return listReturn(r, "/admin/products"), "Back to the products"
	case strings.HasPrefix(p, "/admin/users/"):
		return listReturn(r, "/admin/users"), "Back to the users"
	case strings.HasPrefix(p, "/admin/orders/") && id != "":
		return "/admin/orders/" + id, "Back to the order"
	case strings.HasPrefix(p, "/orders/") && id != "":
		return "/orders/" + id, "Back to the order"
	case strings.HasPrefix(p, "/cart/"):
		return "/cart", "Back to your cart"
	case strings.HasPrefix(p, "/account/"):
		return "/account", "Back to your account"
	case strings.HasPrefix(p, "/notifications/"):
		return "/notifications", "Back to your notifications"
	case p == "/logout":
		return "/", "Back to the shop"
	}
	return "", ""
}

// listOf is the list a page about one thing at path belongs to, for its 404 page; "" for none.
func listOf(path string) (href, label string) {
	switch {
	case strings.HasPrefix(path, "/admin/orders/"):
		return "/admin/orders", "Back to the orders"
	case strings.HasPrefix(path, "/admin/products/"):
		return "/admin/products", "Back to the products"
	case strings.HasPrefix(path, "/orders/"):
		return "/orders", "Your orders"
	case strings.HasPrefix(path, "/products/"):
		return "/products", "All products"
	}
	return "", ""
}

// handleFormReload answers a GET of a form's POST path with a redirect to the form's page
// (formPage), so that reloading a page the POST answered in place goes back to where the form lives;
// a path no form posts to is the 404 page. Whoever may see the page is checked there.
func handleFormReload(s *site) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if href, _ := formPage(r); href != "" {
			redirect(w, r, href)
			return
		}
		handleNotFound(s).ServeHTTP(w, r)
	})
}

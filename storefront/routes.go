package main

import (
	"net/http"

	"github.com/goshop/platform/shared"
)

// addRoutes is the whole site on one screen. Every POST is a form protected by the CSRF check in
// withVisitor; pages that need a user or the admin role say so here.
func addRoutes(mux *http.ServeMux, s *site, metrics *shared.Metrics, ready *shared.Readiness) {
	user := s.requireUser
	admin := s.requireAdmin
	v := s.withVisitor

	mux.HandleFunc("GET /healthz", shared.Healthz)
	mux.Handle("GET /readyz", ready.Handler())
	mux.Handle("GET /metrics", metrics.Handler())
	mux.Handle("GET /static/", handleStatic(s.pages))

	// Shop.
	mux.Handle("GET /{$}", v(handleHome(s)))
	mux.Handle("GET /products", v(handleCatalog(s)))
	mux.Handle("GET /products/{id}", v(handleProduct(s)))
	mux.Handle("GET /cart", v(handleCart(s)))
	mux.Handle("POST /cart/add", v(handleCartAdd(s)))
	mux.Handle("POST /cart/update", v(handleCartUpdate(s)))
	mux.Handle("POST /cart/remove", v(handleCartRemove(s)))
	mux.Handle("POST /cart/clear", v(handleCartClear(s)))
	mux.Handle("GET /checkout", v(user(handleCheckout(s))))
	mux.Handle("POST /checkout", v(user(handleCheckoutPost(s))))
	mux.Handle("GET /orders", v(user(handleOrders(s))))
	mux.Handle("GET /orders/{id}", v(user(handleOrder(s))))
	mux.Handle("POST /orders/{id}/pay", v(user(handleOrderPay(s))))
	mux.Handle("POST /orders/{id}/cancel", v(user(handleOrderCancel(s))))
	mux.Handle("POST /orders/{id}/buy-again", v(user(handleOrderBuyAgain(s))))

	// Account.
	mux.Handle("GET /login", v(handleLogin(s)))
	mux.Handle("POST /login", v(handleLoginPost(s)))
	mux.Handle("GET /register", v(handleRegister(s)))
	mux.Handle("POST /register", v(handleRegisterPost(s)))
	mux.Handle("GET /auth/callback", v(handleAuthCallback(s)))
	mux.Handle("POST /logout", v(handleLogout(s)))
	mux.Handle("GET /realtime/ws", v(handleRealtime(s)))
	mux.Handle("GET /account", v(user(handleAccount(s))))
	mux.Handle("POST /account/profile", v(user(handleAccountProfile(s))))
	mux.Handle("POST /account/addresses", v(user(handleAddressCreate(s))))
	mux.Handle("POST /account/addresses/{id}/delete", v(user(handleAddressDelete(s))))
	mux.Handle("GET /notifications", v(user(handleNotifications(s))))
	mux.Handle("POST /notifications/read", v(user(handleNotificationsRead(s))))
	mux.Handle("POST /account/password", v(user(handleAccountPassword(s))))
	mux.Handle("POST /account/email", v(user(handleAccountEmail(s))))
	mux.Handle("POST /account/verify", v(user(handleAccountVerifyResend(s))))
	mux.Handle("GET /forgot-password", v(handleForgotPassword(s)))
	mux.Handle("POST /forgot-password", v(handleForgotPasswordPost(s)))
	mux.Handle("GET /reset-password", v(handleResetPassword(s)))
	mux.Handle("POST /reset-password", v(handleResetPasswordPost(s)))
	mux.Handle("GET /verify-email", v(handleVerifyEmail(s)))
	mux.Handle("POST /verify-email", v(handleVerifyEmailPost(s)))

	// Admin console.
	mux.Handle("GET /admin", v(admin(handleAdminDashboard(s))))
	mux.Handle("GET /admin/products", v(admin(handleAdminProducts(s))))
	mux.Handle("GET /admin/products/new", v(admin(handleAdminProductNew(s))))
	mux.Handle("POST /admin/products", v(admin(handleAdminProductCreate(s))))
	mux.Handle("GET /admin/products/{id}/edit", v(admin(handleAdminProductEdit(s))))
	mux.Handle("POST /admin/products/{id}", v(admin(handleAdminProductUpdate(s))))
	mux.Handle("GET /admin/products/{id}/delete", v(admin(handleAdminProductDeleteConfirm(s))))
	mux.Handle("POST /admin/products/{id}/delete", v(admin(handleAdminProductDelete(s))))
	mux.Handle("GET /admin/inventory", v(admin(handleAdminInventory(s))))
	mux.Handle("POST /admin/inventory/{sku}/adjust", v(admin(handleAdminInventoryAdjust(s))))
	mux.Handle("GET /admin/orders", v(admin(handleAdminOrders(s))))
	mux.Handle("GET /admin/orders/{id}", v(admin(handleAdminOrder(s))))
	mux.Handle("POST /admin/orders/{id}/status", v(admin(handleAdminOrderStatus(s))))
	mux.Handle("GET /admin/users", v(admin(handleAdminUsers(s))))
	mux.Handle("POST /admin/users/{id}/status", v(admin(handleAdminUserStatus(s))))

	// A page a form's POST answered in place (an error, a question) leaves the POST's path in the
	// address bar: reloading or sharing it asks GET, which goes back to the form's page, not the 404.
	reload := v(handleFormReload(s))
	for _, path := range []string{"/cart/{action}", "/logout", "/orders/{id}/{action}", "/account/{action...}",
		"/notifications/{action}", "/admin/products/{id}", "/admin/inventory/{sku}/{action}",
		"/admin/orders/{id}/{action}", "/admin/users/{id}/{action}"} {
		mux.Handle("GET "+path, reload)
	}

	// Everything else is the HTML 404 page, not the API's JSON one.
	mux.Handle("/", v(handleNotFound(s)))
}

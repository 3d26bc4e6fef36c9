package main

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/goshop/platform/shared"
)

// handleReservationGet serves GET /reservations/{order_id} (admin): where an order's reservation
// stands, for support ("why was my order rejected?", "when does the hold expire?").
func handleReservationGet(logger *slog.Logger, store stockStore) http.Handler {
	type response struct {
		OrderID   string     `json:"order_id"`
		UserID    string     `json:"user_id"`
		State     resState   `json:"state"`
		Items     []Line     `json:"items"`
		Shortages []Shortage `json:"shortages,omitempty"`
		Reason    string     `json:"reason,omitempty"`
		ExpiresAt *time.Time `json:"expires_at,omitempty"`
		CreatedAt time.Time  `json:"created_at"`
		UpdatedAt time.Time  `json:"updated_at"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		orderID := r.PathValue("order_id")
		if !validOrderID(orderID) {
			shared.WriteError(w, r, logger, shared.Invalid(map[string]string{"order_id": "must be 1 to 64 characters of letters, digits, '-' and '_'"}))
			return
		}
		res, err := store.GetReservation(r.Context(), orderID)
		if err != nil {
			shared.WriteError(w, r, logger, err)
			return
		}
		out := response{OrderID: res.OrderID, UserID: res.UserID, State: res.State, Items: res.Items,
			Shortages: res.Shortages, Reason: res.Reason, CreatedAt: res.CreatedAt.UTC(), UpdatedAt: res.UpdatedAt.UTC()}
		if out.Items == nil {
			out.Items = []Line{}
		}
		if !res.ExpiresAt.IsZero() {
			exp := res.ExpiresAt.UTC()
			out.ExpiresAt = &exp
		}
		w.Header().Set("Cache-Control", "no-store")
		shared.Encode(w, http.StatusOK, out)
	})
}

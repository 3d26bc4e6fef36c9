package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/goshop/platform/shared"
)

// userList is the answer of GET /users.
type userList struct {
	Items []profileView `json:"items"`
	Total int64         `json:"total"`
	Page  int           `json:"page"`
	Limit int           `json:"limit"`
}

// handleUserList answers GET /users (admin): ?page=&limit= (≤100), ?status=active|suspended, ?q= on
// email and name.
func handleUserList(logger *slog.Logger, profiles profileStore) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, problems := parseListQuery(r.URL.Query())
		if len(problems) > 0 {
			shared.WriteError(w, r, logger, shared.Invalid(problems))
			return
		}
		ps, total, err := profiles.List(r.Context(), f)
		if err != nil {
			shared.WriteError(w, r, logger, err)
			return
		}
		items := make([]profileView, 0, len(ps))
		for _, p := range ps {
			items = append(items, viewProfile(p))
		}
		shared.Encode(w, http.StatusOK, userList{Items: items, Total: total, Page: f.Page, Limit: f.Limit})
	})
}

// errNotYours answers a customer asking for another user's profile. It is given before the store is
// asked, whatever the ID, so it says nothing about which IDs exist.
var errNotYours = shared.Errorf(shared.CodeForbidden, "you may only read your own profile")

// handleUserGet answers GET /users/{id} for the owner or an admin.
func handleUserGet(logger *slog.Logger, profiles profileStore) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, who := r.PathValue("id"), caller(r)
		if !who.IsAdmin() && id != who.UserID {
			shared.WriteError(w, r, logger, errNotYours)
			return
		}
		if !validID(id) {
			shared.WriteError(w, r, logger, shared.Errorf(shared.CodeNotFound, "user not found"))
			return
		}
		p, err := profiles.Get(r.Context(), id)
		if errNoProfile(err) {
			err = shared.Errorf(shared.CodeNotFound, "user not found")
		}
		if err != nil {
			shared.WriteError(w, r, logger, err)
			return
		}
		shared.Encode(w, http.StatusOK, viewProfile(p))
	})
}

// statusBody is the body of PATCH /users/{id}/status.
type statusBody struct {
	Status string `json:"status"`
}

// Valid accepts active or suspended.
func (b statusBody) Valid(context.Context) map[string]string {
	if b.Status != statusActive && b.Status != statusSuspended {
		return map[string]string{"status": "must be active or suspended"}
	}
	return nil
}

// errUnchanged stops an Update that would change nothing.
var errUnchanged = errors.New("unchanged")

// handleUserStatus answers PATCH /users/{id}/status (admin). A change is written together with its
// user.status_changed event in one atomic write (the profile's outbox), then the relay publishes it, so
// a change made while Kafka is down is published when Kafka returns. Setting the current status again
// is a no-op without an event. An admin cannot change their own status (no self lock-out).
func handleUserStatus(logger *slog.Logger, profiles profileStore, kick func()) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		if !validID(id) {
			shared.WriteError(w, r, logger, shared.Errorf(shared.CodeNotFound, "user not found"))
			return
		}
		body, err := shared.Decode[statusBody](w, r)
		if err != nil {
			shared.WriteError(w, r, logger, err)
			return
		}
		if id == caller(r).UserID {
			shared.WriteError(w, r, logger, shared.Errorf(shared.CodeForbidden, "you cannot change your own status"))
			return
		}
		var unchanged Profile
		p, err := profiles.Update(r.Context(), id, func(p *Profile) error {
			if p.Status == body.Status {
				unchanged = *p
				return errUnchanged
			}
			p.Status = body.Status
			p.UpdatedAt = time.Now().UTC().Truncate(time.Millisecond)
			return addEvent(p, eventUserStatusChanged, userStatusChanged{UserID: p.ID, Status: p.Status})
		})
		switch {
		case errors.Is(err, errUnchanged):
			p, err = unchanged, nil
		case errNoProfile(err):
			err = shared.Errorf(shared.CodeNotFound, "user not found")
		case err == nil:
			logger.InfoContext(r.Context(), "user status changed", "user_id", id, "status", body.Status,
				"by", caller(r).UserID, "request_id", shared.RequestIDFrom(r.Context()))
			kick()
		}
		if err != nil {
			shared.WriteError(w, r, logger, err)
			return
		}
		shared.Encode(w, http.StatusOK, viewProfile(p))
	})
}

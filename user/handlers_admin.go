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
type userList = shared.Page[profileView]

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
		shared.Encode(w, http.StatusOK, userList{Items: items, Total: int(total), Page: f.Page, Limit: f.Limit})
	})
}

// errNotYours answers a customer asking for another user's profile. It is given before the store is
// asked, whatever the ID, so it says nothing about which IDs exist.
var errNotYours = shared.Errorf(shared.CodeForbidden, "you may only access your own profile")

// errUserNotFound answers an admin asking for a profile that does not exist.
var errUserNotFound = shared.Errorf(shared.CodeNotFound, "user not found")

// ownerOrAdmin returns the path's user ID if the caller may act on it: the owner or an admin. Anyone
// else gets errNotYours whatever the ID, before any store call; a malformed ID is not found.
func ownerOrAdmin(r *http.Request) (string, error) {
	id, who := r.PathValue("id"), caller(r)
	if !who.IsAdmin() && id != who.UserID {
		return "", errNotYours
	}
	if !validID(id) {
		return "", errUserNotFound
	}
	return id, nil
}

// handleUserGet answers GET /users/{id} for the owner or an admin.
func handleUserGet(logger *slog.Logger, profiles profileStore) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := ownerOrAdmin(r)
		if err != nil {
			shared.WriteError(w, r, logger, err)
			return
		}
		p, err := profiles.Get(r.Context(), id)
		if errNoProfile(err) {
			err = errUserNotFound
		}
		if err != nil {
			shared.WriteError(w, r, logger, err)
			return
		}
		shared.Encode(w, http.StatusOK, viewProfile(p))
	})
}

// handleUserPatch answers PATCH /users/{id} for the owner (like PATCH /users/me) or an admin (who may
// also edit a suspended user's profile). Body as PATCH /users/me.
func handleUserPatch(logger *slog.Logger, profiles profileStore, kick func()) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := ownerOrAdmin(r)
		if err != nil {
			shared.WriteError(w, r, logger, err)
			return
		}
		body, err := shared.Decode[profilePatch](w, r)
		if err != nil {
			shared.WriteError(w, r, logger, err)
			return
		}
		patchProfile(w, r, logger, profiles, kick, id, &body, caller(r).IsAdmin())
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
			shared.WriteError(w, r, logger, errUserNotFound)
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
			err = errUserNotFound
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

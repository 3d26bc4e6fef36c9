package main

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/goshop/platform/shared"
)

// maxNotifyBody caps POST /notifications/read: 100 IDs of 64 characters fit with room to spare.
const maxNotifyBody = 16 << 10

// notificationsView is the body of GET /notifications.
type notificationsView struct {
	Items  []notification `json:"items"`
	Unread int            `json:"unread"`
}

// handleNotifications serves GET /notifications: the caller's notifications (its own, the
// announcements, and for an admin the admins' list), newest first, at most 50, and the unread count.
// Never cached: it is one user's and changes with every event.
func handleNotifications(logger *slog.Logger, store notificationStore, now func() time.Time) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := shared.IdentityFrom(r.Context())
		items, unread, err := store.View(r.Context(), id.UserID, readerLists(id), now())
		if err != nil {
			shared.WriteError(w, r, logger, err)
			return
		}
		if items == nil {
			items = []notification{}
		}
		w.Header().Set("Cache-Control", "private, no-store")
		shared.Encode(w, http.StatusOK, notificationsView{Items: items, Unread: unread})
	})
}

// markReadRequest is the body of POST /notifications/read: ids, or all.
type markReadRequest struct {
	IDs []string `json:"ids"`
	All bool     `json:"all"`
}

// Valid wants exactly one of ids (1 to 100 IDs, each 1 to 64 letters, digits, '-' or '_') and
// all: true.
func (m markReadRequest) Valid(context.Context) map[string]string {
	p := map[string]string{}
	switch {
	case m.All && len(m.IDs) > 0:
		p["ids"] = "send either ids or all, not both"
	case !m.All && len(m.IDs) == 0:
		p["ids"] = "required unless all is true"
	case len(m.IDs) > 100:
		p["ids"] = "at most 100"
	}
	for _, id := range m.IDs {
		if !validNotificationID(id) {
			p["ids"] = "each must be 1 to 64 letters, digits, '-' or '_'"
			break
		}
	}
	return p
}

// handleMarkRead serves POST /notifications/read: marks the caller's notifications read and answers
// 200 {"marked": n, "unread": m}. IDs that are not among the caller's (another user's, expired,
// unknown) change nothing.
func handleMarkRead(logger *slog.Logger, store notificationStore, now func() time.Time) http.Handler {
	type answer struct {
		Marked int `json:"marked"`
		Unread int `json:"unread"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := shared.DecodeLimit[markReadRequest](w, r, maxNotifyBody)
		if err != nil {
			shared.WriteError(w, r, logger, err)
			return
		}
		id, _ := shared.IdentityFrom(r.Context())
		lists := readerLists(id)
		marked, err := store.MarkRead(r.Context(), id.UserID, lists, req.IDs, req.All, now())
		if err != nil {
			shared.WriteError(w, r, logger, err)
			return
		}
		_, unread, err := store.View(r.Context(), id.UserID, lists, now())
		if err != nil {
			shared.WriteError(w, r, logger, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		shared.Encode(w, http.StatusOK, answer{Marked: marked, Unread: unread})
	})
}

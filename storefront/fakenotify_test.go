package main

import (
	"encoding/json"
	"net/http"
	"slices"
	"sync"
)

// fakeNotifications is realtime's notification centre in the fake gateway: each user's list (newest
// first; user ID "" holds the announcements everyone sees) and read set, with the API's rules for
// GET /realtime/notifications and POST /realtime/notifications/read.
type fakeNotifications struct {
	mu    sync.Mutex
	items map[string][]notificationItem
	read  map[string]map[string]bool
}

// notify adds n at the head of userID's list ("" for everyone).
func (g *fakeGateway) notify(userID string, n notificationItem) {
	f := &g.notes
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.items == nil {
		f.items, f.read = map[string][]notificationItem{}, map[string]map[string]bool{}
	}
	f.items[userID] = append([]notificationItem{n}, f.items[userID]...)
}

// view is what userID sees, with read flags, and the unread count. Callers hold f.mu.
func (f *fakeNotifications) view(userID string) notificationList {
	l := notificationList{Items: []notificationItem{}}
	for _, n := range slices.Concat(f.items[userID], f.items[""]) {
		n.Read = f.read[userID][n.ID]
		if !n.Read {
			l.Unread++
		}
		l.Items = append(l.Items, n)
	}
	slices.SortStableFunc(l.Items, func(a, b notificationItem) int { return b.CreatedAt.Compare(a.CreatedAt) })
	return l
}

func (f *fakeNotifications) routes(mux *http.ServeMux, g *fakeGateway, user apiUser, signedIn bool, body []byte) {
	mux.HandleFunc("GET /realtime/notifications", func(w http.ResponseWriter, r *http.Request) {
		if !signedIn {
			g.writeErr(w, 401, "unauthorized", "authentication required", nil)
			return
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		writeJSON(w, 200, f.view(user.ID))
	})
	mux.HandleFunc("POST /realtime/notifications/read", func(w http.ResponseWriter, r *http.Request) {
		if !signedIn {
			g.writeErr(w, 401, "unauthorized", "authentication required", nil)
			return
		}
		var in struct {
			IDs []string `json:"ids"`
			All bool     `json:"all"`
		}
		if json.Unmarshal(body, &in) != nil || in.All == (len(in.IDs) > 0) {
			g.writeErr(w, 400, "invalid", "send ids or all", nil)
			return
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.read == nil {
			f.read = map[string]map[string]bool{}
		}
		if f.read[user.ID] == nil {
			f.read[user.ID] = map[string]bool{}
		}
		marked := 0
		for _, n := range f.view(user.ID).Items {
			if !n.Read && (in.All || slices.Contains(in.IDs, n.ID)) {
				f.read[user.ID][n.ID] = true
				marked++
			}
		}
		writeJSON(w, 200, map[string]int{"marked": marked, "unread": f.view(user.ID).Unread})
	})
}

package main

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/goshop/platform/shared"
)

// The notification centre's pages: the bell in every page's header (base.html) with the unread count
// from realtime's GET /realtime/notifications, the /notifications page, the mark-read form, and the
// banner of unread announcements. They work without JavaScript; live.js bumps the bell as
// "notification" messages arrive.

// bellTimeout bounds the bell's API call: a page never waits long for its count, and shows the bell
// without one when realtime is slow or down.
const bellTimeout = time.Second

// maxBanners is how many unread announcements a page shows at once (newest first).
const maxBanners = 3

// bellTTL is how long a session's bell is reused: a shopper clicking through pages (or a cart
// flow loading several) costs one API call per bellTTL against the user's gateway budget instead of
// one per page. The /notifications page and the mark-read form always refresh it, and live.js
// bumps the count in open pages, so a reload shows at most bellTTL of lag.
const bellTTL = 3 * time.Second

// maxBellCache bounds the bells kept; when full (after dropping expired ones) a bell is not kept.
const maxBellCache = 10000

// bellCache keeps each session's bell (the count and at most maxBanners banners: small) for bellTTL,
// in this instance's memory. The zero value is ready to use.
type bellCache struct {
	mu sync.Mutex
	m  map[string]bellEntry
}

type bellEntry struct {
	b   bell
	exp time.Time
}

// get returns sid's bell unless it expired.
func (c *bellCache) get(sid string) (bell, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[sid]
	if !ok || !time.Now().Before(e.exp) {
		return bell{}, false
	}
	return e.b, true
}

// put keeps b for sid for bellTTL.
func (c *bellCache) put(sid string, b bell) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	if c.m == nil {
		c.m = make(map[string]bellEntry)
	}
	if len(c.m) >= maxBellCache {
		for k, e := range c.m {
			if !now.Before(e.exp) {
				delete(c.m, k)
			}
		}
		if len(c.m) >= maxBellCache {
			return
		}
	}
	c.m[sid] = bellEntry{b: b, exp: now.Add(bellTTL)}
}

// forget drops sid's bell (after the visitor marked something read).
func (c *bellCache) forget(sid string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, sid)
}

// notificationItem is one notification as realtime's API answers it.
type notificationItem struct {
	ID        string    `json:"id"`
	Type      string    `json:"type"`
	Title     string    `json:"title"`
	Body      string    `json:"body"`
	Link      string    `json:"link"`
	Level     string    `json:"level"`
	CreatedAt time.Time `json:"created_at"`
	Read      bool      `json:"read"`
}

// Href is the notification's link when it stays on this site (safeNext), else "" (no link).
func (n notificationItem) Href() string {
	if n.Link == "" || safeNext(n.Link) != n.Link {
		return ""
	}
	return n.Link
}

// BannerLevel is the announcement's level as a CSS class suffix: info, warning or critical.
func (n notificationItem) BannerLevel() string {
	switch n.Level {
	case "warning", "critical":
		return n.Level
	}
	return "info"
}

// notificationList is the body of GET /realtime/notifications.
type notificationList struct {
	Items  []notificationItem `json:"items"`
	Unread int                `json:"unread"`
}

// bell is what the header shows: Known is false when the count could not be read (signed out, or
// realtime unavailable), and the bell is then a plain link.
type bell struct {
	Known   bool
	Unread  int
	Banners []notificationItem // unread announcements, newest first, at most maxBanners
}

// Label is the bell's text for screen readers, with the count.
func (b bell) Label() string {
	switch {
	case !b.Known:
		return "Notifications"
	case b.Unread == 0:
		return "Notifications, none unread"
	case b.Unread == 1:
		return "Notifications, 1 unread"
	}
	return fmt.Sprintf("Notifications, %d unread", b.Unread)
}

// notifications reads the visitor's notifications once per request (the page and its bell share
// them). An error is an *apiError; signed out is a 401 one without a call.
func (s *site) notifications(r *http.Request) (notificationList, error) {
	v := visitorFrom(r.Context())
	if v != nil && v.notes != nil {
		return *v.notes, nil
	}
	tok := s.accessToken(r)
	if tok == "" {
		return notificationList{}, &apiError{Status: http.StatusUnauthorized, Code: shared.CodeUnauthorized, Message: "Please sign in."}
	}
	ctx, cancel := context.WithTimeout(r.Context(), bellTimeout)
	defer cancel()
	var l notificationList
	if _, err := s.gw.do(ctx, call{method: http.MethodGet, path: "/realtime/notifications", token: tok, out: &l}); err != nil {
		return notificationList{}, err
	}
	if v != nil {
		v.notes = &l
	}
	return l, nil
}

// bell is the header's bell for r: the session's kept one when fresh (bellCache), else from the API
// (the notifications this request already read, if any); signed out or on failure, an unknown count
// (logged, not shown, not kept).
func (s *site) bell(r *http.Request) bell {
	if u, _ := s.user(r); u == nil {
		return bell{}
	}
	v := visitorFrom(r.Context())
	if v.notes == nil {
		if b, ok := s.bells.get(v.sid); ok {
			return b
		}
	}
	l, err := s.notifications(r)
	if err != nil {
		s.logger.WarnContext(r.Context(), "notification count unavailable", "err", err)
		return bell{}
	}
	b := bell{Known: true, Unread: l.Unread}
	for _, n := range l.Items {
		if n.Type == "announcement" && !n.Read && len(b.Banners) < maxBanners {
			b.Banners = append(b.Banners, n)
		}
	}
	s.bells.put(v.sid, b)
	return b
}

type notificationsView struct {
	layout
	Items []notificationItem
	Now   time.Time
}

// handleNotifications serves GET /notifications: the last 50 notifications, newest first, unread
// ones marked, each with its time ago, link and a mark-read button, and "mark all read".
func handleNotifications(s *site) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l, err := s.notifications(r)
		if err != nil {
			s.renderError(w, r, err)
			return
		}
		view := notificationsView{layout: s.newLayout(w, r, "Notifications"), Items: l.Items, Now: time.Now()}
		s.render(w, r, http.StatusOK, "notifications.html", view)
	})
}

// handleNotificationsRead serves the form POST /notifications/read: id=<one ID> or all=1, and
// next=<a local path> to return to (default /notifications; safeNext keeps it on this site). Another
// user's ID changes nothing (realtime ignores it).
func handleNotificationsRead(s *site) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body any
		switch id := r.PostFormValue("id"); {
		case r.PostFormValue("all") == "1":
			body = map[string]bool{"all": true}
		case id != "":
			body = map[string][]string{"ids": {id}}
		default:
			s.renderError(w, r, &apiError{Status: http.StatusBadRequest, Code: shared.CodeInvalid, Message: "Choose a notification to mark as read."})
			return
		}
		s.bells.forget(visitorFrom(r.Context()).sid)
		next := "/notifications"
		if n := r.PostFormValue("next"); n != "" {
			next = safeNext(n)
		}
		s.act(w, r, call{method: http.MethodPost, path: "/realtime/notifications/read", body: body}, "read", next)
	})
}

// timeAgo says how long before now t was, for people: "just now", "5 min ago", "3 h ago", "2 days
// ago", and the date after 30 days.
func timeAgo(t, now time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d/time.Minute))
	case d < 24*time.Hour:
		return fmt.Sprintf("%d h ago", int(d/time.Hour))
	case d < 48*time.Hour:
		return "yesterday"
	case d < 30*24*time.Hour:
		return fmt.Sprintf("%d days ago", int(d/(24*time.Hour)))
	}
	return t.UTC().Format("2 Jan 2006")
}

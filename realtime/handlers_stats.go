package main

import (
	"context"
	"log/slog"
	"net/http"
	"runtime"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/goshop/platform/shared"
)

// handleStats serves GET /stats: connection and message counts (no user IDs), for dashboards and the
// load benchmark.
func handleStats(cfg Config, h *hub, cons *consumer) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := h.stats()
		s.Instance = cfg.InstanceID
		var lag time.Duration
		s.EventsConsumed, s.EventsDuplicate, s.EventsStale, lag = cons.counts()
		s.LastEventLagMilli = lag.Milliseconds()
		w.Header().Set("Cache-Control", "no-store")
		shared.Encode(w, http.StatusOK, s)
	})
}

// handleGC serves admin-only POST /debug/gc: a full garbage collection, then the memory the process
// holds for live objects and goroutine stacks. The load benchmark (devstack/cmd/rtload) reads it
// before and after opening connections for the memory per connection; an operator can use it to tell
// live memory from garbage. It costs one GC (milliseconds, stop-the-world phases only microseconds).
func handleGC() http.Handler {
	type memory struct {
		HeapAlloc  uint64 `json:"heap_alloc_bytes"`  // live objects
		HeapInuse  uint64 `json:"heap_inuse_bytes"`  // spans holding them (includes fragmentation)
		StackInuse uint64 `json:"stack_inuse_bytes"` // goroutine stacks
		Sys        uint64 `json:"sys_bytes"`         // obtained from the OS
		Goroutines int    `json:"goroutines"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		w.Header().Set("Cache-Control", "no-store")
		shared.Encode(w, http.StatusOK, memory{HeapAlloc: ms.HeapAlloc, HeapInuse: ms.HeapInuse, StackInuse: ms.StackInuse,
			Sys: ms.Sys, Goroutines: runtime.NumGoroutine()})
	})
}

// broadcastRequest is the body of POST /broadcast.
type broadcastRequest struct {
	Message string `json:"message"`
	Level   string `json:"level"`
}

// Valid checks the message (1–500 characters of free text: shared.Printable, lines allowed) and
// level (info, warning, critical; default info).
func (b broadcastRequest) Valid(context.Context) map[string]string {
	p := map[string]string{}
	if n := utf8.RuneCountInString(strings.TrimSpace(b.Message)); n == 0 || n > 500 {
		p["message"] = "must be 1 to 500 characters"
	} else if !shared.Printable(b.Message, true) {
		p["message"] = "must be valid text without control characters"
	}
	switch b.Level {
	case "", "info", "warning", "critical":
	default:
		p["level"] = "must be info, warning or critical"
	}
	return p
}

// handleBroadcast serves admin-only POST /broadcast: an "announcement" message to every connection
// of this instance (public, so buffered for resume like any public event), kept once in the
// notification centre's announcement list (every reader sees it, until it dismisses it) and pushed
// as a "notification" too. Answers 202 with its seq and the notification's ID; 503 when the
// notification cannot be stored, and then nothing is sent.
func handleBroadcast(logger *slog.Logger, h *hub, notes notificationStore) http.Handler {
	type announcement struct {
		Message string `json:"message"`
		Level   string `json:"level"`
		By      string `json:"by"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := shared.Decode[broadcastRequest](w, r)
		if err != nil {
			shared.WriteError(w, r, logger, err)
			return
		}
		if req.Level == "" {
			req.Level = "info"
		}
		id, _ := shared.IdentityFrom(r.Context())
		now := time.Now().UTC()
		msg := strings.TrimSpace(req.Message)
		n := announcementNotification(msg, req.Level, now)
		all := notifyList{kind: listAll}
		if _, err := addNotification(r.Context(), notes, all, n, n.ID, notifyMaxEventAge); err != nil {
			shared.WriteError(w, r, logger, err)
			return
		}
		seq := h.publish("announcement", mustJSON(announcement{Message: msg, Level: req.Level, By: id.UserID}), now, audience{public: true})
		pushNotification(h, n, all)
		logger.InfoContext(r.Context(), "broadcast", "by", id.UserID, "seq", seq, "notification_id", n.ID)
		shared.Encode(w, http.StatusAccepted, map[string]any{"seq": seq, "type": "announcement", "notification_id": n.ID})
	})
}

// hubStats is the body of GET /stats.
type hubStats struct {
	Instance          string            `json:"instance"`
	Epoch             string            `json:"epoch"`
	Seq               uint64            `json:"seq"`
	Connections       int               `json:"connections"`
	Users             int               `json:"users"`
	Admins            int               `json:"admins"`
	Anonymous         int               `json:"anonymous"`
	MessagesSent      uint64            `json:"messages_sent"`
	MessagesDropped   uint64            `json:"messages_dropped"`
	SlowConsumers     uint64            `json:"slow_consumers_disconnected"`
	BufferedUsers     int               `json:"buffered_users"`
	MessagesByType    map[string]uint64 `json:"messages_by_type"`
	EventsConsumed    uint64            `json:"events_consumed"`
	EventsDuplicate   uint64            `json:"events_duplicate"`
	EventsStale       uint64            `json:"events_stale"`
	LastEventLagMilli int64             `json:"last_event_lag_ms"`
}

func (h *hub) stats() hubStats {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := hubStats{Epoch: h.epoch, Seq: h.seq, Connections: len(h.clients), Users: len(h.byUser),
		Admins: len(h.admins), MessagesSent: h.sent.Load(), MessagesDropped: h.dropped, SlowConsumers: h.kicks,
		BufferedUsers: len(h.users), Anonymous: h.anon, MessagesByType: make(map[string]uint64, len(h.perType))}
	for k, v := range h.perType {
		s.MessagesByType[k] = v
	}
	return s
}

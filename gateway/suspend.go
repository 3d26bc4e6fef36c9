package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/goshop/platform/shared"
)

// suspensions is the gateway's deny list of suspended accounts, by token subject. Auth stops issuing
// and refreshing tokens of a suspended account and ends its sessions, but access tokens already out
// stay valid for their lifetime (15 min); the gateway refuses them meanwhile.
//
// It is fed by user.status_changed, which every gateway copy consumes (each has its own consumer
// group), so each copy learns of a suspension as soon as the event arrives. Each status is also kept in
// the gateway's Redis for ttl, so a copy that starts after the event (restarted, added) knows it too:
// a subject this copy has no event-fed entry for is looked up there, and the answer believed for
// recheck. Events carry their time; an older event never overrides a newer status (replays,
// redelivery, a lagging copy).
type suspensions struct {
	kv      kvStore
	local   *lru[userStatus]
	ttl     time.Duration // how long a status is remembered: ≥ the access-token lifetime
	recheck time.Duration // how long a Redis answer is believed here
	logger  *slog.Logger
	now     func() time.Time
}

// userStatus is an account's last known status, as stored in Redis (JSON).
type userStatus struct {
	Suspended bool      `json:"suspended"`
	At        time.Time `json:"at"` // when the status was set (the event's time)
}

// newSuspensions remembers a status for ttl (GATEWAY_SUSPENSION_TTL) and believes a Redis answer for
// 2 s: a suspension that reached another copy but not this one takes at most that long here.
func newSuspensions(kv kvStore, ttl time.Duration, logger *slog.Logger) *suspensions {
	return &suspensions{kv: kv, local: newLRU[userStatus](100_000), ttl: ttl, recheck: 2 * time.Second,
		logger: logger, now: time.Now}
}

func statusKey(sub string) string { return "gw:user:" + sub }

// suspended reports whether sub is a suspended account. With Redis unreachable and no event-fed
// entry here it answers false (fails open, like the rate limits) and asks again after recheck.
func (s *suspensions) suspended(ctx context.Context, sub string) bool {
	now := s.now()
	if st, ok := s.local.Get(sub, now); ok {
		return st.Suspended
	}
	st, err := s.stored(ctx, sub)
	if err != nil && !errors.Is(err, errCacheMiss) {
		s.logger.WarnContext(ctx, "suspension lookup failed; passing", "err", err)
	}
	s.local.Set(sub, st, now.Add(s.recheck))
	return st.Suspended
}

func (s *suspensions) stored(ctx context.Context, sub string) (userStatus, error) {
	var st userStatus
	b, err := s.kv.Get(ctx, statusKey(sub))
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return userStatus{}, fmt.Errorf("status of %s: %w", sub, err)
	}
	return st, nil
}

// handle applies user.status_changed; other events are ignored. An event older than ttl is skipped:
// every token issued before it has expired. A Redis failure is returned, so shared.Consume retries
// the event; this copy's own view is updated first, so it refuses the account meanwhile.
func (s *suspensions) handle(ctx context.Context, e shared.Event) error {
	if e.Type != evStatusChanged {
		return nil
	}
	var d struct {
		UserID string `json:"user_id"`
		Status string `json:"status"`
	}
	if err := e.Decode(&d); err != nil || d.UserID == "" || (d.Status != "active" && d.Status != "suspended") {
		return e.Poison("user_id %q status %q (%v)", d.UserID, d.Status, err)
	}
	at := e.OccurredAt
	if at.IsZero() {
		at = s.now()
	}
	if s.now().Sub(at) > s.ttl {
		return nil
	}
	st := userStatus{Suspended: d.Status == "suspended", At: at}
	if cur, ok := s.local.Get(d.UserID, s.now()); ok && cur.At.After(st.At) {
		return nil
	}
	s.local.Set(d.UserID, st, at.Add(s.ttl))
	if cur, err := s.stored(ctx, d.UserID); err == nil && cur.At.After(st.At) {
		s.local.Set(d.UserID, cur, cur.At.Add(s.ttl))
		return nil
	}
	b, _ := json.Marshal(st)
	if err := s.kv.Set(ctx, statusKey(d.UserID), b, at.Add(s.ttl).Sub(s.now())); err != nil {
		return fmt.Errorf("store status of %s: %w", d.UserID, err)
	}
	s.logger.InfoContext(ctx, "account status applied", "user_id", d.UserID, "status", d.Status, "event_id", e.ID,
		"lag_ms", s.now().Sub(at).Milliseconds())
	return nil
}

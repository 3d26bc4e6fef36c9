package main

import (
	"cmp"
	"context"
	"encoding/json"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/goshop/platform/shared"
)

// notificationStore keeps the notification centre. Errors wrap shared.ErrUnavailable when the
// backend cannot answer.
type notificationStore interface {
	// Add keeps, in order, each add's notification at the head of its list (trimmed to notifyKeep,
	// expiring notifyTTL after the last write) unless its key was added before within dedupTTL (also
	// earlier in adds); it reports for each whether it was added. Each add's check and write are one
	// atomic step, so two instances handling one event write it once; Redis does all of them in one
	// round trip. On an error some may have been added: adding them again is safe (their keys).
	Add(ctx context.Context, adds []notifyAdd, dedupTTL time.Duration) ([]bool, error)
	// View returns what reader sees of lists at now: the newest notifyKeep notifications younger than
	// notifyTTL, newest first, each with reader's read flag, and how many of them are unread.
	View(ctx context.Context, reader string, lists []notifyList, now time.Time) ([]notification, int, error)
	// MarkRead marks as read for reader the notifications of ids (all of them when all is set) that
	// View would show it now; other IDs change nothing. It returns how many became read.
	MarkRead(ctx context.Context, reader string, lists []notifyList, ids []string, all bool, now time.Time) (int, error)
}

// notifyAdd is one notification for notificationStore.Add: n for list, written once per key.
type notifyAdd struct {
	list notifyList
	n    notification
	key  string
}

// addNotification adds n to list once per key (notificationStore.Add of one).
func addNotification(ctx context.Context, s notificationStore, list notifyList, n notification, key string, dedupTTL time.Duration) (bool, error) {
	added, err := s.Add(ctx, []notifyAdd{{list: list, n: n, key: key}}, dedupTTL)
	if err != nil {
		return false, err
	}
	return added[0], nil
}

// mergeView is View's rule over the raw lists: drop what is older than notifyTTL and IDs seen already
// (an entry read from two lists), newest first (ties by ID, so the order is stable), at most
// notifyKeep, with read flags from read.
func mergeView(lists [][]notification, read map[string]bool, now time.Time) (items []notification, unread int) {
	seen := make(map[string]bool)
	cutoff := now.Add(-notifyTTL)
	for _, l := range lists {
		for _, n := range l {
			if seen[n.ID] || n.CreatedAt.Before(cutoff) {
				continue
			}
			seen[n.ID] = true
			items = append(items, n)
		}
	}
	slices.SortFunc(items, func(a, b notification) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	if len(items) > notifyKeep {
		items = items[:notifyKeep]
	}
	for i := range items {
		items[i].Read = read[items[i].ID]
		if !items[i].Read {
			unread++
		}
	}
	return items, unread
}

// redisNotifications is the notificationStore on Redis (realtime's DB, 5 by default). Keys:
// notify:list:user:<user ID>, notify:list:admins, notify:list:all (lists of JSON notifications, newest
// first), notify:read:<user ID> (set of the IDs that user read) and notify:event:<event ID> (the
// idempotency key of an event, for dedupTTL). prefix goes before every key ("" in production; tests
// use their own, so they can share a Redis).
type redisNotifications struct {
	rdb    *redis.Client
	prefix string
}

var _ notificationStore = (*redisNotifications)(nil)

func listKey(l notifyList) string {
	if l.kind == listUser {
		return "notify:list:user:" + l.userID
	}
	return "notify:list:" + l.kind
}

func (s *redisNotifications) listKey(l notifyList) string  { return s.prefix + listKey(l) }
func (s *redisNotifications) readKey(reader string) string { return s.prefix + "notify:read:" + reader }

// addScript: KEYS[1] the idempotency key, KEYS[2] the list; ARGV the notification, the cap, the
// list's TTL and the key's TTL (ms). SET NX answers nil (false in Lua) when the key exists.
var addScript = redis.NewScript(`
if not redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[4]) then return 0 end
redis.call('LPUSH', KEYS[2], ARGV[1])
redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[2]) - 1)
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return 1`)

func (s *redisNotifications) Add(ctx context.Context, adds []notifyAdd, dedupTTL time.Duration) ([]bool, error) {
	args := make([][]any, len(adds))
	for i, a := range adds {
		a.n.Read = false
		b, err := json.Marshal(a.n)
		if err != nil {
			return nil, err
		}
		args[i] = []any{b, notifyKeep, notifyTTL.Milliseconds(), dedupTTL.Milliseconds()}
	}
	keys := func(i int) []string {
		return []string{s.prefix + "notify:event:" + adds[i].key, s.listKey(adds[i].list)}
	}
	// One pipeline of EVALSHAs; a Redis that lost its script cache answers NOSCRIPT to each, and those
	// are sent again with the script's body, which caches it.
	cmds := make([]*redis.Cmd, len(adds))
	pipe := s.rdb.Pipeline()
	for i := range adds {
		cmds[i] = addScript.EvalSha(ctx, pipe, keys(i), args[i]...)
	}
	pipe.Exec(ctx) // errors are read per command below
	var retry []int
	for i, c := range cmds {
		if redis.HasErrorPrefix(c.Err(), "NOSCRIPT") {
			retry = append(retry, i)
		}
	}
	if len(retry) > 0 {
		pipe = s.rdb.Pipeline()
		for _, i := range retry {
			cmds[i] = addScript.Eval(ctx, pipe, keys(i), args[i]...)
		}
		pipe.Exec(ctx)
	}
	added := make([]bool, len(adds))
	for i, c := range cmds {
		n, err := c.Int()
		if err != nil {
			return nil, shared.RedisErr("notifications.add", err)
		}
		added[i] = n == 1
	}
	return added, nil
}

// read fetches lists and reader's read set in one round trip. Entries that do not decode are skipped.
func (s *redisNotifications) read(ctx context.Context, op, reader string, lists []notifyList) ([][]notification, map[string]bool, error) {
	pipe := s.rdb.Pipeline()
	ranges := make([]*redis.StringSliceCmd, len(lists))
	for i, l := range lists {
		ranges[i] = pipe.LRange(ctx, s.listKey(l), 0, notifyKeep-1)
	}
	members := pipe.SMembers(ctx, s.readKey(reader))
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, nil, shared.RedisErr(op, err)
	}
	out := make([][]notification, len(lists))
	for i, r := range ranges {
		for _, raw := range r.Val() {
			var n notification
			if json.Unmarshal([]byte(raw), &n) == nil && n.ID != "" {
				out[i] = append(out[i], n)
			}
		}
	}
	read := make(map[string]bool)
	for _, id := range members.Val() {
		read[id] = true
	}
	return out, read, nil
}

func (s *redisNotifications) View(ctx context.Context, reader string, lists []notifyList, now time.Time) ([]notification, int, error) {
	raw, read, err := s.read(ctx, "notifications.view", reader, lists)
	if err != nil {
		return nil, 0, err
	}
	items, unread := mergeView(raw, read, now)
	return items, unread, nil
}

func (s *redisNotifications) MarkRead(ctx context.Context, reader string, lists []notifyList, ids []string, all bool, now time.Time) (int, error) {
	raw, read, err := s.read(ctx, "notifications.mark_read", reader, lists)
	if err != nil {
		return 0, err
	}
	items, _ := mergeView(raw, read, now)
	add, stale := markPlan(items, read, ids, all)
	if len(add) == 0 && len(stale) == 0 {
		return 0, nil
	}
	_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		if len(add) > 0 {
			p.SAdd(ctx, s.readKey(reader), add...)
		}
		if len(stale) > 0 {
			p.SRem(ctx, s.readKey(reader), stale...)
		}
		p.PExpire(ctx, s.readKey(reader), notifyTTL)
		return nil
	})
	if err != nil {
		return 0, shared.RedisErr("notifications.mark_read", err)
	}
	return len(add), nil
}

// markPlan decides a MarkRead over visible (what the reader sees now) and read (its read set): the
// IDs to add (requested or all, visible and unread) and the stale ones to drop (read but no longer
// visible: they can never show again, since lists only lose their oldest entries), so a read set
// stays as small as what it describes.
func markPlan(visible []notification, read map[string]bool, ids []string, all bool) (add, stale []any) {
	want := make(map[string]bool, len(ids))
	for _, id := range ids {
		want[id] = true
	}
	shown := make(map[string]bool, len(visible))
	for _, n := range visible {
		shown[n.ID] = true
		if !n.Read && (all || want[n.ID]) {
			add = append(add, n.ID)
		}
	}
	for id := range read {
		if !shown[id] {
			stale = append(stale, id)
		}
	}
	return add, stale
}

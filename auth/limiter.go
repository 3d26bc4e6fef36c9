package main

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/goshop/platform/shared"
	"github.com/redis/go-redis/v9"
)

// limitPolicy says how failures turn into lockouts: the first Threshold-1 failures within Window are
// free; the Threshold-th locks the key for Base, every further one doubles it, up to Max. Window
// restarts with each failure, so the count is forgotten after Window without one.
type limitPolicy struct {
	Threshold int
	Base      time.Duration
	Max       time.Duration
	Window    time.Duration
}

// Login throttling defaults: one client (an account from one address) locks after 5 failures (1 s, 2 s,
// 4 s ... 15 min), an address after 20 failures on any accounts (it may be a NAT or a proxy with many
// people behind it, so an address lock only holds back clients that have failed themselves; see
// handleLogin).
var (
	accountPolicy = limitPolicy{Threshold: 5, Base: time.Second, Max: 15 * time.Minute, Window: 15 * time.Minute}
	ipPolicy      = limitPolicy{Threshold: 20, Base: time.Second, Max: 15 * time.Minute, Window: 15 * time.Minute}
)

// lockFor is the lockout after the n-th failure.
func (p limitPolicy) lockFor(n int) time.Duration {
	if n < p.Threshold {
		return 0
	}
	d := p.Base
	for i := p.Threshold; i < n && d < p.Max; i++ {
		d *= 2
	}
	return min(d, p.Max)
}

// limitState is a key's live state: its failures within the window and the lockout still to wait.
type limitState struct {
	Failures int
	Wait     time.Duration
}

// limiter throttles attempts per key (an account+address pair or an address). Errors wrap
// shared.ErrUnavailable.
type limiter interface {
	// State returns the key's failures and how long it must still wait; the zero state means go ahead.
	State(ctx context.Context, key string) (limitState, error)
	// Fail records a failed attempt and returns the lockout it caused (0 for none).
	Fail(ctx context.Context, key string) (time.Duration, error)
	// Reset forgets the key's failures, after a success.
	Reset(ctx context.Context, key string) error
}

// redisLimiter keeps a hash per key at <prefix><key>: n (failures) and until (unix ms of the lockout's
// end), expiring after the policy window (or the lockout, if longer). The decision is one Lua script,
// so concurrent failures from many instances all count. until is on Redis's clock, the one every
// copy shares: on each copy's own, a copy ahead of the one that locked saw the lockout over early (a
// guesser spread over both got twice the tries), and a copy behind kept it for the skew on top.
type redisLimiter struct {
	rdb    redis.UniversalClient
	prefix string
	policy limitPolicy
}

var _ limiter = (*redisLimiter)(nil)

// failOpPrefix names the one-minute keys that remember each counted failure (failScript).
const failOpPrefix = "auth:rlop:"

// failScript counts one failure of KEYS[1] and returns the lockout it caused (ms). KEYS[2] is the
// failure's own key (a random name per call): a repeat of that very call (go-redis resends a script
// whose answer missed the read timeout, after Redis ran it) answers as the first run did instead of
// counting the failure again.
var failScript = redis.NewScript(`
local done = redis.call('GET', KEYS[2])
if done then return done end
local n = redis.call('HINCRBY', KEYS[1], 'n', 1)
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local thr, base, max, win = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local lock = 0
if n >= thr then
  lock = base * (2 ^ math.min(n - thr, 40))
  if lock > max then lock = max end
  redis.call('HSET', KEYS[1], 'until', string.format('%.0f', now + lock))
end
redis.call('PEXPIRE', KEYS[1], string.format('%.0f', math.max(win, lock)))
redis.call('SET', KEYS[2], string.format('%.0f', lock), 'PX', 60000)
return string.format('%.0f', lock)`)

func (l *redisLimiter) State(ctx context.Context, key string) (limitState, error) {
	var hm *redis.SliceCmd
	var now *redis.TimeCmd
	_, err := l.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		hm, now = p.HMGet(ctx, l.prefix+key, "n", "until"), p.Time(ctx)
		return nil
	})
	if err != nil {
		return limitState{}, shared.RedisErr("limiter.state", err)
	}
	v := hm.Val()
	var st limitState
	if n, ok := v[0].(string); ok {
		if st.Failures, err = strconv.Atoi(n); err != nil {
			return limitState{}, fmt.Errorf("limiter.state: bad n %q", n)
		}
	}
	if u, ok := v[1].(string); ok {
		until, err := strconv.ParseInt(u, 10, 64)
		if err != nil {
			return limitState{}, fmt.Errorf("limiter.state: bad until %q", u)
		}
		st.Wait = max(0, time.UnixMilli(until).Sub(now.Val()))
	}
	return st, nil
}

func (l *redisLimiter) Fail(ctx context.Context, key string) (time.Duration, error) {
	p := l.policy
	v, err := failScript.Run(ctx, l.rdb, []string{l.prefix + key, failOpPrefix + shared.RandomToken()}, p.Threshold,
		p.Base.Milliseconds(), p.Max.Milliseconds(), p.Window.Milliseconds()).Text()
	if err != nil {
		return 0, shared.RedisErr("limiter.fail", err)
	}
	ms, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("limiter.fail: bad lock %q", v)
	}
	return time.Duration(ms) * time.Millisecond, nil
}

func (l *redisLimiter) Reset(ctx context.Context, key string) error {
	return shared.RedisErr("limiter.reset", l.rdb.Del(ctx, l.prefix+key).Err())
}

// memLimiter is the in-memory limiter for tests (under testing/synctest) and for running without
// Redis; one instance only.
type memLimiter struct {
	policy limitPolicy
	mu     sync.Mutex
	keys   map[string]memLimit
}

type memLimit struct {
	n       int
	until   time.Time
	forgets time.Time
}

var _ limiter = (*memLimiter)(nil)

func newMemLimiter(p limitPolicy) *memLimiter {
	return &memLimiter{policy: p, keys: map[string]memLimit{}}
}

// get returns the key's live state. Callers hold mu.
func (l *memLimiter) get(key string) memLimit {
	s, ok := l.keys[key]
	if ok && !time.Now().Before(s.forgets) {
		delete(l.keys, key)
		return memLimit{}
	}
	return s
}

func (l *memLimiter) State(_ context.Context, key string) (limitState, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.get(key)
	return limitState{Failures: s.n, Wait: max(0, time.Until(s.until))}, nil
}

func (l *memLimiter) Fail(_ context.Context, key string) (time.Duration, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.get(key)
	s.n++
	now := time.Now()
	lock := l.policy.lockFor(s.n)
	if lock > 0 {
		s.until = now.Add(lock)
	}
	s.forgets = now.Add(max(l.policy.Window, lock))
	l.keys[key] = s
	return lock, nil
}

func (l *memLimiter) Reset(_ context.Context, key string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.keys, key)
	return nil
}

package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"
)

// kvStore is what the gateway keeps in Redis (DB 2): cached responses and rate-limit buckets. Every
// method may fail when Redis is down; callers then bypass the cache or let the request through.
type kvStore interface {
	// Get returns the value stored at key, or errCacheMiss.
	Get(ctx context.Context, key string) ([]byte, error)
	// Set stores val at key for ttl and records key in each index, so that Purge of any of them
	// deletes it.
	Set(ctx context.Context, key string, val []byte, ttl time.Duration, indexes ...string) error
	// SetNX stores val at key for ttl only when key holds nothing; it reports whether it stored.
	SetNX(ctx context.Context, key string, val []byte, ttl time.Duration) (bool, error)
	// Purge deletes every key recorded in each index, and the indexes themselves.
	Purge(ctx context.Context, indexes ...string) error
	// Take takes up to want (≥ 1) tokens from the token bucket at key (GCRA: spec.Rate per spec.Per,
	// spec.Burst saved up) at time now: as many as are there, at least one, or none and a refusal.
	// A store shared by several copies uses its own clock instead of now (theirs may disagree).
	Take(ctx context.Context, key string, spec rateSpec, want int, now time.Time) (rateResult, error)
	// Ping checks the store is reachable.
	Ping(ctx context.Context) error
}

// rateResult is the outcome of one Take.
type rateResult struct {
	Allowed    bool
	Granted    int // tokens taken, ≥ 1 when Allowed
	Remaining  int
	RetryAfter time.Duration // when not allowed: until one token is back
	Reset      time.Duration // until the bucket is full again
}

// errCacheMiss is Get's answer for an absent key.
var errCacheMiss = errors.New("cache miss")

// indexTTL bounds how long an index set lives without writes; entries never outlive it (max TTL +
// stale window is well under it).
const indexTTL = 24 * time.Hour

// redisStore is the kvStore on Redis. maxPerIndex bounds the live entries recorded in each index
// (0: unbounded): a Set that takes an index over it deletes the entries that expire soonest.
type redisStore struct {
	rdb         *redis.Client
	maxPerIndex int
}

var _ kvStore = (*redisStore)(nil)

func newRedisStore(rdb *redis.Client, maxPerIndex int) *redisStore {
	return &redisStore{rdb: rdb, maxPerIndex: maxPerIndex}
}

func (s *redisStore) Get(ctx context.Context, key string) ([]byte, error) {
	b, err := s.rdb.Get(ctx, key).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, errCacheMiss
	}
	return b, err
}

// Set stores the entry and records it in each index, a sorted set scored by the entry's expiry (unix
// ms). Each Set also drops the members that have already expired, so the index holds about as many
// members as there are live entries: with a plain set, every distinct query string ever cached would
// stay in the index until the next purge, which would then delete them all in one blocking call.
// Over maxPerIndex members, the entries that expire soonest are deleted with their members. The
// scores are on Redis's clock, which every copy shares: on each copy's own, a copy ahead dropped the
// members of live entries a copy behind had stored, and the next purge left those entries served.
func (s *redisStore) Set(ctx context.Context, key string, val []byte, ttl time.Duration, indexes ...string) error {
	if len(indexes) == 0 {
		return s.rdb.Set(ctx, key, val, ttl).Err()
	}
	ms := max(ttl.Milliseconds(), 1) // PX needs a positive number, as go-redis rounds a shorter TTL
	return setScript.Run(ctx, s.rdb, append([]string{key}, indexes...), val, ms,
		int64(indexTTL/time.Second), s.maxPerIndex).Err()
}

// setScript stores KEYS[1] and records it in the indexes KEYS[2..], atomically. ARGV: the value, its
// TTL (ms), the indexes' TTL (s), the most members an index keeps (0: no bound). Now is Redis's TIME.
var setScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl, max = tonumber(ARGV[2]), tonumber(ARGV[4])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
for i = 2, #KEYS do
  redis.call('ZADD', KEYS[i], now + ttl, KEYS[1])
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now)
  local over = max > 0 and redis.call('ZCARD', KEYS[i]) - max or 0
  if over > 0 then
    local old = redis.call('ZRANGE', KEYS[i], 0, over - 1)
    redis.call('ZREMRANGEBYRANK', KEYS[i], 0, over - 1)
    for j = 1, #old, 500 do
      redis.call('DEL', unpack(old, j, math.min(j + 499, #old)))
    end
  end
  redis.call('EXPIRE', KEYS[i], ARGV[3])
end
return 0
`)

func (s *redisStore) SetNX(ctx context.Context, key string, val []byte, ttl time.Duration) (bool, error) {
	return s.rdb.SetNX(ctx, key, val, ttl).Result()
}

// indexLen is the number of entries recorded in index (for tests and metrics).
func (s *redisStore) indexLen(ctx context.Context, index string) (int64, error) {
	return s.rdb.ZCard(ctx, index).Result()
}

// purgeScript deletes every member of each index (KEYS) and the indexes, atomically.
var purgeScript = redis.NewScript(`
local n = 0
for _, index in ipairs(KEYS) do
  local keys = redis.call('ZRANGE', index, 0, -1)
  for i = 1, #keys, 500 do
    redis.call('DEL', unpack(keys, i, math.min(i + 499, #keys)))
  end
  redis.call('DEL', index)
  n = n + #keys
end
return n
`)

func (s *redisStore) Purge(ctx context.Context, indexes ...string) error {
	if len(indexes) == 0 {
		return nil
	}
	return purgeScript.Run(ctx, s.rdb, indexes).Err()
}

// gcraScript is a token bucket as GCRA over one key holding the theoretical arrival time (µs).
// ARGV: emission interval µs, burst, tokens wanted. It grants as many tokens as are there, up to the
// wanted number. Returns {granted, remaining, retry_after µs, reset µs}. Now is Redis's clock, the one
// every gateway copy shares: with each copy's own, a copy 30 s behind another saw the bucket spent
// for 30 s more (429s) and the copy ahead saw it full again (a second burst).
var gcraScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local want = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]))
if not tat or tat < now then tat = now end
local avail = math.floor((burst * interval - (tat - now)) / interval)
if avail < 1 then
  return {0, 0, tat + interval - now - burst * interval, tat - now}
end
local grant = math.min(want, avail)
local newtat = tat + grant * interval
local diff = newtat - now
redis.call('SET', KEYS[1], string.format('%d', newtat), 'PX', math.ceil(diff / 1000) + 1)
return {grant, avail - grant, 0, diff}
`)

// Take ignores now: the bucket is shared by every copy, so it runs on Redis's clock (gcraScript).
func (s *redisStore) Take(ctx context.Context, key string, spec rateSpec, want int, _ time.Time) (rateResult, error) {
	res, err := gcraScript.Run(ctx, s.rdb, []string{key},
		spec.interval().Microseconds(), spec.Burst, max(want, 1)).Int64Slice()
	if err != nil {
		return rateResult{}, err
	}
	if len(res) != 4 {
		return rateResult{}, fmt.Errorf("gcra: unexpected reply %v", res)
	}
	return rateResult{Allowed: res[0] > 0, Granted: int(res[0]), Remaining: int(res[1]),
		RetryAfter: time.Duration(res[2]) * time.Microsecond, Reset: time.Duration(res[3]) * time.Microsecond}, nil
}

func (s *redisStore) Ping(ctx context.Context) error { return s.rdb.Ping(ctx).Err() }

// guardedStore puts a short timeout and a circuit breaker in front of a kvStore, so a Redis outage
// costs each request at most one timeout until the breaker opens, and nothing after that.
type guardedStore struct {
	kv      kvStore
	breaker *Breaker
	timeout time.Duration
}

var _ kvStore = (*guardedStore)(nil)

// errStoreOpen is returned while the store's breaker is open.
var errStoreOpen = errors.New("redis unavailable (breaker open)")

func newGuardedStore(kv kvStore, logger *slog.Logger) *guardedStore {
	return &guardedStore{kv: kv, timeout: 250 * time.Millisecond, breaker: NewBreaker(Settings{
		Name:        "redis",
		MaxRequests: 1,
		Timeout:     5 * time.Second,
		OnStateChange: func(_ string, from, to State) {
			if to == StateOpen {
				logger.Warn("redis unavailable: cache bypassed, rate limits fail open", "from", from.String(), "to", to.String())
				return
			}
			logger.Info("redis breaker state change", "from", from.String(), "to", to.String())
		},
	})}
}

func (g *guardedStore) do(ctx context.Context, fn func(context.Context) error) error {
	done, err := g.breaker.Allow()
	if err != nil {
		return errStoreOpen
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), g.timeout)
	defer cancel()
	err = fn(ctx)
	if errors.Is(err, errCacheMiss) {
		done(nil)
	} else {
		done(err)
	}
	return err
}

func (g *guardedStore) Get(ctx context.Context, key string) (b []byte, err error) {
	err = g.do(ctx, func(ctx context.Context) error { b, err = g.kv.Get(ctx, key); return err })
	return b, err
}

func (g *guardedStore) Set(ctx context.Context, key string, val []byte, ttl time.Duration, indexes ...string) error {
	return g.do(ctx, func(ctx context.Context) error { return g.kv.Set(ctx, key, val, ttl, indexes...) })
}

func (g *guardedStore) SetNX(ctx context.Context, key string, val []byte, ttl time.Duration) (ok bool, err error) {
	err = g.do(ctx, func(ctx context.Context) error { ok, err = g.kv.SetNX(ctx, key, val, ttl); return err })
	return ok, err
}

func (g *guardedStore) Purge(ctx context.Context, indexes ...string) error {
	return g.do(ctx, func(ctx context.Context) error { return g.kv.Purge(ctx, indexes...) })
}

func (g *guardedStore) Take(ctx context.Context, key string, spec rateSpec, want int, now time.Time) (r rateResult, err error) {
	err = g.do(ctx, func(ctx context.Context) error { r, err = g.kv.Take(ctx, key, spec, want, now); return err })
	return r, err
}

func (g *guardedStore) Ping(ctx context.Context) error {
	// Ping bypasses the breaker so /health/detailed shows the truth.
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	return g.kv.Ping(ctx)
}

// purgeChannel is the Redis pub/sub channel on which gateways announce purges.
const purgeChannel = "gw:purge"

// purgeBus tells every gateway instance that a service's cached entries were purged, so each drops
// its in-process layer at once instead of serving it until the layer's TTL ends.
type purgeBus interface {
	// Publish announces a purge of service.
	Publish(ctx context.Context, service string) error
	// Run calls fn for every announced purge (this instance's included) until ctx ends.
	Run(ctx context.Context, fn func(service string))
}

// redisBus is the purgeBus on Redis pub/sub; go-redis resubscribes by itself after a reconnect.
type redisBus struct{ rdb *redis.Client }

var _ purgeBus = (*redisBus)(nil)

func (b *redisBus) Publish(ctx context.Context, service string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 250*time.Millisecond)
	defer cancel()
	return b.rdb.Publish(ctx, purgeChannel, service).Err()
}

func (b *redisBus) Run(ctx context.Context, fn func(service string)) {
	ps := b.rdb.Subscribe(ctx, purgeChannel)
	defer ps.Close()
	ch := ps.Channel()
	for {
		select {
		case <-ctx.Done():
			return
		case m, ok := <-ch:
			if !ok {
				return
			}
			fn(m.Payload)
		}
	}
}

package main

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"sort"
	"strconv"
	"time"

	"github.com/goshop/platform/shared"
	"github.com/redis/go-redis/v9"
)

// sessionTTL is how long a storefront session (its cart and, when signed in, its tokens) lives after
// it was last used. Every read and write slides it.
const sessionTTL = 7 * 24 * time.Hour

// errCartFull is returned when a new line would take the cart past maxCartLines.
var errCartFull = errors.New("cart: too many lines")

// sessionStore keeps the storefront's server-side sessions: the cart (SKU → quantity) and a few
// named values (the sign-in state). A session is named by the random ID in the visitor's cookie;
// implementations key their data by a hash of it, so a dump of the store holds no usable cookie.
//
// Every method returns an error wrapping shared.ErrUnavailable when the backend cannot be reached,
// and nothing else except errCartFull. An unknown session is simply empty.
type sessionStore interface {
	// Cart returns the session's cart, lines sorted by SKU, and slides the session's TTL.
	Cart(ctx context.Context, sid string) (cart, error)
	// AddToCart adds qty (≥ 1) of sku in one atomic step, clamping the line to maxQuantity; a new line
	// past maxCartLines is refused with errCartFull.
	AddToCart(ctx context.Context, sid, sku string, qty int) error
	// SetCartLine sets sku's quantity (clamped to maxQuantity; 0 or less removes the line) in one
	// atomic step; a new line past maxCartLines is refused with errCartFull.
	SetCartLine(ctx context.Context, sid, sku string, qty int) error
	// ClearCart empties the cart.
	ClearCart(ctx context.Context, sid string) error
	// Values returns the session's named values and slides the session's TTL.
	Values(ctx context.Context, sid string) (map[string]string, error)
	// SetValue sets (value != "") or deletes (value == "") one named value.
	SetValue(ctx context.Context, sid, name, value string) error
	// Rotate moves everything of session from to session to (which must be new) in one atomic step;
	// afterwards from is empty. Used at sign-in against session fixation.
	Rotate(ctx context.Context, from, to string) error
	// Delete removes the session and its cart.
	Delete(ctx context.Context, sid string) error
	// Lock takes a short lock named name in the session, for work that must not run twice at once
	// on several instances (refreshing tokens); it reports whether the lock was taken. Unlock frees it.
	Lock(ctx context.Context, sid, name string, ttl time.Duration) (bool, error)
	Unlock(ctx context.Context, sid, name string) error
}

// sessionKey is the hash a session is stored under: the cookie value itself never reaches the store.
func sessionKey(sid string) string {
	h := sha256.Sum256([]byte(sid))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

// redisSessionStore keeps sessions in Redis (DB 6 by default): sf:s:<key> is a hash of named values,
// sf:c:<key> a hash SKU → quantity, sf:l:<key>:<name> a lock. Both hashes share the session's TTL.
type redisSessionStore struct {
	rdb *redis.Client
}

var _ sessionStore = (*redisSessionStore)(nil)

func redisKeys(sid string) (values, cartKey string) {
	k := sessionKey(sid)
	return "sf:s:" + k, "sf:c:" + k
}

// readSliding reads the hash read and slides the TTL of both of a session's hashes, in one
// transaction.
func (s *redisSessionStore) readSliding(ctx context.Context, op, read, other string) (map[string]string, error) {
	var get *redis.MapStringStringCmd
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		get = p.HGetAll(ctx, read)
		p.PExpire(ctx, read, sessionTTL)
		p.PExpire(ctx, other, sessionTTL)
		return nil
	})
	if err != nil {
		return nil, shared.RedisErr("sessions."+op, err)
	}
	return get.Val(), nil
}

func (s *redisSessionStore) Cart(ctx context.Context, sid string) (cart, error) {
	vk, ck := redisKeys(sid)
	m, err := s.readSliding(ctx, "cart", ck, vk)
	if err != nil {
		return cart{}, err
	}
	return cartFromMap(m), nil
}

// cartFromMap builds a cart from stored lines, dropping anything that is not a valid line, so even
// data written by an older version obeys today's limits.
func cartFromMap(m map[string]string) cart {
	var c cart
	for sku, v := range m {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 || !validSKU(sku) {
			continue
		}
		c.Lines = append(c.Lines, cartLine{SKU: sku, Qty: min(n, maxQuantity)})
	}
	sort.Slice(c.Lines, func(i, j int) bool { return c.Lines[i].SKU < c.Lines[j].SKU })
	if len(c.Lines) > maxCartLines {
		c.Lines = c.Lines[:maxCartLines]
	}
	return c
}

// cartScript changes one line atomically, so two tabs adding at once both count and the limits hold.
// KEYS: cart, values, the change's own key (a random name per call). ARGV: sku, qty, mode ("add" or
// "set"), maxQuantity, maxCartLines, ttl ms. Returns the new quantity, or -1 when a new line would
// exceed maxCartLines. A change that finds its own key was applied already (go-redis resends a
// script whose answer missed the read timeout, after Redis ran it): it is not added a second time.
var cartScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[3]) == 1 then
  return tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
end
local cur = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
local n = tonumber(ARGV[2])
if ARGV[3] == 'add' then n = cur + n end
if n > tonumber(ARGV[4]) then n = tonumber(ARGV[4]) end
if n <= 0 then
  redis.call('HDEL', KEYS[1], ARGV[1])
  n = 0
else
  if cur == 0 and redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[5]) then return -1 end
  redis.call('HSET', KEYS[1], ARGV[1], n)
end
redis.call('SET', KEYS[3], '1', 'PX', 60000)
redis.call('PEXPIRE', KEYS[1], ARGV[6])
redis.call('PEXPIRE', KEYS[2], ARGV[6])
return n
`)

func (s *redisSessionStore) changeLine(ctx context.Context, op, sid, sku string, qty int, mode string) error {
	vk, ck := redisKeys(sid)
	change := "sf:op:" + shared.RandomToken()
	n, err := cartScript.Run(ctx, s.rdb, []string{ck, vk, change}, sku, qty, mode, maxQuantity, maxCartLines, sessionTTL.Milliseconds()).Int()
	if err != nil {
		return shared.RedisErr("sessions."+op, err)
	}
	if n < 0 {
		return errCartFull
	}
	return nil
}

func (s *redisSessionStore) AddToCart(ctx context.Context, sid, sku string, qty int) error {
	return s.changeLine(ctx, "addToCart", sid, sku, qty, "add")
}

func (s *redisSessionStore) SetCartLine(ctx context.Context, sid, sku string, qty int) error {
	return s.changeLine(ctx, "setCartLine", sid, sku, qty, "set")
}

func (s *redisSessionStore) ClearCart(ctx context.Context, sid string) error {
	_, ck := redisKeys(sid)
	return shared.RedisErr("sessions.clearCart", s.rdb.Del(ctx, ck).Err())
}

func (s *redisSessionStore) Values(ctx context.Context, sid string) (map[string]string, error) {
	vk, ck := redisKeys(sid)
	return s.readSliding(ctx, "values", vk, ck)
}

func (s *redisSessionStore) SetValue(ctx context.Context, sid, name, value string) error {
	vk, _ := redisKeys(sid)
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		if value == "" {
			p.HDel(ctx, vk, name)
		} else {
			p.HSet(ctx, vk, name, value)
			p.PExpire(ctx, vk, sessionTTL)
		}
		return nil
	})
	return shared.RedisErr("sessions.setValue", err)
}

// rotateScript renames both hashes of a session. KEYS: old values, old cart, new values, new cart.
// ARGV: ttl ms. (The keys of two sessions hash to different slots: one Redis, not Redis Cluster.)
var rotateScript = redis.NewScript(`
for i = 1, 2 do
  if redis.call('EXISTS', KEYS[i]) == 1 then
    redis.call('RENAME', KEYS[i], KEYS[i + 2])
    redis.call('PEXPIRE', KEYS[i + 2], ARGV[1])
  end
end
return 1
`)

func (s *redisSessionStore) Rotate(ctx context.Context, from, to string) error {
	fv, fc := redisKeys(from)
	tv, tc := redisKeys(to)
	return shared.RedisErr("sessions.rotate", rotateScript.Run(ctx, s.rdb, []string{fv, fc, tv, tc}, sessionTTL.Milliseconds()).Err())
}

func (s *redisSessionStore) Delete(ctx context.Context, sid string) error {
	vk, ck := redisKeys(sid)
	return shared.RedisErr("sessions.delete", s.rdb.Del(ctx, vk, ck).Err())
}

func (s *redisSessionStore) Lock(ctx context.Context, sid, name string, ttl time.Duration) (bool, error) {
	ok, err := s.rdb.SetNX(ctx, "sf:l:"+sessionKey(sid)+":"+name, "1", ttl).Result()
	return ok, shared.RedisErr("sessions.lock", err)
}

func (s *redisSessionStore) Unlock(ctx context.Context, sid, name string) error {
	return shared.RedisErr("sessions.unlock", s.rdb.Del(ctx, "sf:l:"+sessionKey(sid)+":"+name).Err())
}

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/goshop/platform/shared"
	"github.com/redis/go-redis/v9"
)

// Refresh tokens and authorization codes are "<family>.<secret>": the family ID names the grant they
// belong to (so a store can find it without a lookup), the secret makes them unguessable, and stores
// keep only the SHA-256 of the whole string.
var (
	// errRefreshReused: a refresh token that was already rotated came back, so one of its holders is
	// an attacker; the family is revoked and every token of it stops working (RFC 9700 §4.14).
	errRefreshReused = errors.New("refresh token reused; grant revoked")
	// errCodeReused: an authorization code came back a second time; tokens issued for it are revoked
	// (RFC 6749 §4.1.2).
	errCodeReused = errors.New("authorization code reused; grant revoked")
)

// grant is one refresh-token family: the user's consent to a client (or a direct login), alive until
// ExpiresAt or revocation. Rotation replaces the token, never the family.
type grant struct {
	FamilyID string `json:"-"`
	// Rotated is set by Peek for a token already rotated that is within the reuse grace: it may
	// rotate once more (a lost answer), but is no live token (introspection says inactive).
	Rotated   bool      `json:"-"`
	UserID    string    `json:"user_id"`
	ClientID  string    `json:"client_id,omitempty"`  // empty for tokens from POST /login
	SessionID string    `json:"session_id,omitempty"` // the session's public sid, see sessionSID
	Scope     string    `json:"scope,omitempty"`
	AuthTime  time.Time `json:"auth_time"`
	ExpiresAt time.Time `json:"expires_at"`
}

// authCode is what /authorize remembers for /token.
type authCode struct {
	ClientID      string    `json:"client_id"`
	RedirectURI   string    `json:"redirect_uri"`
	Scope         string    `json:"scope"`
	Nonce         string    `json:"nonce,omitempty"`
	Challenge     string    `json:"code_challenge"`
	UserID        string    `json:"user_id"`
	SessionID     string    `json:"session_id"`
	AuthTime      time.Time `json:"auth_time"`
	FamilyID      string    `json:"-"`
	OfflineAccess bool      `json:"offline_access,omitempty"`
}

// newFamilyToken returns a token for a new family and the family ID.
func newFamilyToken() (token, family string) {
	family = shared.NewID()
	return family + "." + shared.RandomToken(), family
}

// tokenFamily returns the family of a token, or false when it does not have the shape.
func tokenFamily(token string) (string, bool) {
	fam, secret, ok := strings.Cut(token, ".")
	if !ok || len(fam) != 32 || len(secret) < 32 || len(token) > 200 {
		return "", false
	}
	for i := 0; i < len(fam); i++ {
		if c := fam[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return "", false
		}
	}
	return fam, true
}

// grantStore keeps authorization codes and refresh-token families. Errors other than the documented
// ones wrap shared.ErrUnavailable.
type grantStore interface {
	// SaveCode stores a single-use code for ttl.
	SaveCode(ctx context.Context, code string, c authCode, ttl time.Duration) error
	// TakeCode returns a code's data and consumes it; ErrNotFound when unknown or expired;
	// errCodeReused when it was taken before (and the family started with it is revoked).
	TakeCode(ctx context.Context, code string) (authCode, error)
	// StartFamily stores g (FamilyID from token) with token as its live refresh token.
	StartFamily(ctx context.Context, g grant, token string) error
	// Rotate consumes token and makes next the family's live token; ErrNotFound when unknown,
	// expired or revoked; errRefreshReused when token was already rotated (the family is revoked).
	Rotate(ctx context.Context, token, next string) (grant, error)
	// Peek returns the family of a live refresh token without consuming it, or of a rotated one
	// within the reuse grace with Rotated set (Rotate may rotate it again); ErrNotFound.
	Peek(ctx context.Context, token string) (grant, error)
	// RevokeFamily ends a family; unknown families are not an error.
	RevokeFamily(ctx context.Context, family string) error
	// RevokeSession ends every family started from the session.
	RevokeSession(ctx context.Context, sessionID string) error
	// RevokeUser ends every family of the user.
	RevokeUser(ctx context.Context, userID string) error
}

// redisGrantStore keys (h = SHA-256 of a token):
//
//	auth:fam:<family>     grant JSON, TTL until the family expires
//	auth:rt:<h>           the family's live refresh token
//	auth:rtu:<family>     the family's rotated (used) refresh tokens, kept to detect reuse: a hash
//	                      from h to the hash of the token that replaced it and when (ms), see
//	                      rotateScript; auth:rtq:<family> lists them oldest first, so only the
//	                      newest usedTokensKept stay
//	auth:rtu:<h>          one rotated token's marker as written before auth:rtu:<family> (read
//	                      until it expires, with its family)
//	auth:code:<h>         authCode JSON, TTL the code lifetime
//	auth:codeu:<h>        a taken code, kept to detect reuse (the take's nonce and the code)
//	auth:ufams:<user>     the user's unexpired families, a sorted set scored by expiry (ms), see
//	                      indexScript; auth:sfam:<session> the session's families (a set)
//	auth:ufam:<user>      the set of a user's families written before auth:ufams (read by RevokeUser
//	                      until it expires)
type redisGrantStore struct {
	rdb redis.UniversalClient
	// grace is how long after a rotation the rotated token may rotate again, as long as its successor
	// was never used: the client lost the answer (refreshGrace).
	grace time.Duration
	// now is the clock of the grace: nil, Redis's (rotateScript, Peek), the one every auth copy
	// shares; a test sets its own. Each copy's time.Now made a retry at a copy 30 s ahead of the one
	// that rotated a reuse (the family revoked), and one behind a grace of 30 s plus the skew.
	now func() time.Time
}

var _ grantStore = (*redisGrantStore)(nil)

// usedMarkerTTL is how long consumed codes are remembered for reuse detection.
const usedMarkerTTL = 10 * time.Minute

// usedTokensKept is how many rotated refresh tokens of a family are remembered to detect reuse, the
// newest. A marker per rotation for the family's whole life (30 days, a rotation every 15 minutes or,
// by a client that rotates on purpose, 50 a second) filled Redis: about 216 bytes a rotation, 900 MB
// a day from one customer. An older token is refused as unknown rather than as a reuse, so the
// family is not revoked for it: a token stolen and held unused for over a hundred rotations (a day of
// constant use) is still worthless, it no longer raises the alarm.
const usedTokensKept = 100

func famKey(f string) string { return "auth:fam:" + f }

// familyKeys are a family's grant and its used-token markers: what revoking it deletes.
func familyKeys(f string) []string { return []string{famKey(f), "auth:rtu:" + f, "auth:rtq:" + f} }

func (s *redisGrantStore) SaveCode(ctx context.Context, code string, c authCode, ttl time.Duration) error {
	b, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("grants.save_code: %w", err)
	}
	return shared.RedisErr("grants.save_code", s.rdb.Set(ctx, "auth:code:"+tokenHash(code), b, ttl).Err())
}

// takeCodeScript takes a code once. The taken marker holds ARGV[2], a nonce of the take, followed by
// the code: a repeat of that very take (go-redis resends a script whose answer missed the read
// timeout, after Redis ran it) answers as the first run did instead of as a reuse.
var takeCodeScript = redis.NewScript(`
local c = redis.call('GET', KEYS[1])
if c then
  redis.call('DEL', KEYS[1])
  redis.call('SET', KEYS[2], ARGV[2] .. c, 'PX', ARGV[1])
  return {'ok', c}
end
local u = redis.call('GET', KEYS[2])
if u and string.sub(u, 1, #ARGV[2]) == ARGV[2] then
  return {'ok', string.sub(u, #ARGV[2] + 1)}
end
if u then
  redis.call('DEL', KEYS[3])
  return {'reused'}
end
return {'gone'}`)

func (s *redisGrantStore) TakeCode(ctx context.Context, code string) (authCode, error) {
	fam, ok := tokenFamily(code)
	if !ok {
		return authCode{}, fmt.Errorf("grants.take_code: %w", shared.ErrNotFound)
	}
	h := tokenHash(code)
	res, err := takeCodeScript.Run(ctx, s.rdb, []string{"auth:code:" + h, "auth:codeu:" + h, famKey(fam)},
		usedMarkerTTL.Milliseconds(), shared.RandomToken()).StringSlice()
	c, err := scriptAnswer[authCode]("grants.take_code", res, err, errCodeReused)
	if err != nil {
		return authCode{}, err
	}
	c.FamilyID = fam
	return c, nil
}

// scriptAnswer reads the answer of takeCodeScript or rotateScript: {'ok', json} is the JSON decoded
// into T, {'reused'} the error reused, anything else shared.ErrNotFound; a failed call (err) is a
// shared.RedisErr. Every error is prefixed with op and comes with the zero T.
func scriptAnswer[T any](op string, res []string, err error, reused error) (T, error) {
	var v T
	switch {
	case err != nil:
		return v, shared.RedisErr(op, err)
	case res[0] == "reused":
		return v, fmt.Errorf("%s: %w", op, reused)
	case res[0] != "ok":
		return v, fmt.Errorf("%s: %w", op, shared.ErrNotFound)
	}
	if err := json.Unmarshal([]byte(res[1]), &v); err != nil {
		return *new(T), fmt.Errorf("%s: %w", op, err)
	}
	return v, nil
}

func (s *redisGrantStore) StartFamily(ctx context.Context, g grant, token string) error {
	fam, ok := tokenFamily(token)
	if !ok {
		return fmt.Errorf("grants.start: malformed token")
	}
	b, err := json.Marshal(g)
	if err != nil {
		return fmt.Errorf("grants.start: %w", err)
	}
	ttl := time.Until(g.ExpiresAt)
	_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, famKey(fam), b, ttl)
		p.Set(ctx, "auth:rt:"+tokenHash(token), "1", ttl)
		indexScript.Eval(ctx, p, []string{"auth:ufams:" + g.UserID}, fam, g.ExpiresAt.UnixMilli(), s.clock().UnixMilli())
		if g.SessionID != "" {
			p.SAdd(ctx, "auth:sfam:"+g.SessionID, fam)
			p.Expire(ctx, "auth:sfam:"+g.SessionID, ttl)
		}
		return nil
	})
	return shared.RedisErr("grants.start", err)
}

// rotateScript consumes a live token (KEYS[2], hash ARGV[4]) and makes ARGV[1]'s token live
// (KEYS[4]). The used marker (field ARGV[4] of the family's hash KEYS[3], listed in KEYS[5], at most
// ARGV[5] kept) holds "<hash of the successor> <ms of the first rotation>": a repeat of that very
// rotation (go-redis resends a script whose answer missed the read timeout, after Redis ran it)
// answers as the first run did. Within ARGV[3] ms of the first rotation, a used token whose successor
// was never used is rotated again: the client lost the answer and still holds it. The successor then
// becomes a used token itself, so whoever holds it and uses it later is a reuse. Anything else is a
// reuse and revokes the family. A marker without a time (written before the grace) has none; one
// written before the per-family hash is its own key (KEYS[6]). ARGV[2] is now (ms), "" for Redis's.
var rotateScript = redis.NewScript(`
local now = ARGV[2]
if now == '' then
  local t = redis.call('TIME')
  now = string.format('%d', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
end
local g = redis.call('GET', KEYS[1])
if not g then
  redis.call('DEL', KEYS[2])
  return {'gone'}
end
local ttl = redis.call('PTTL', KEYS[1])
local function mark(h, v)
  if redis.call('HSET', KEYS[3], h, v) == 1 then
    redis.call('RPUSH', KEYS[5], h)
    while redis.call('LLEN', KEYS[5]) > tonumber(ARGV[5]) do
      redis.call('HDEL', KEYS[3], redis.call('LPOP', KEYS[5]))
    end
  end
  redis.call('PEXPIRE', KEYS[3], ttl)
  redis.call('PEXPIRE', KEYS[5], ttl)
end
if redis.call('DEL', KEYS[2]) == 1 then
  mark(ARGV[4], ARGV[1] .. ' ' .. now)
  redis.call('SET', KEYS[4], '1', 'PX', ttl)
  return {'ok', g}
end
local used = redis.call('HGET', KEYS[3], ARGV[4]) or redis.call('GET', KEYS[6])
if not used then
  return {'gone'}
end
local succ, at = string.match(used, '^(%x+) (%d+)$')
if not succ then
  succ, at = used, '0'
end
if succ == ARGV[1] then
  return {'ok', g}
end
if tonumber(now) - tonumber(at) < tonumber(ARGV[3]) and redis.call('DEL', 'auth:rt:' .. succ) == 1 then
  mark(succ, ARGV[1] .. ' ' .. at)
  mark(ARGV[4], ARGV[1] .. ' ' .. at)
  redis.call('SET', KEYS[4], '1', 'PX', ttl)
  return {'ok', g}
end
redis.call('DEL', KEYS[1], KEYS[3], KEYS[5])
return {'reused'}`)

func (s *redisGrantStore) Rotate(ctx context.Context, token, next string) (grant, error) {
	fam, ok := tokenFamily(token)
	nfam, nok := tokenFamily(next)
	if !ok || !nok || fam != nfam {
		return grant{}, fmt.Errorf("grants.rotate: %w", shared.ErrNotFound)
	}
	h, nh := tokenHash(token), tokenHash(next)
	grace := s.grace
	if next == token {
		grace = 0 // a check for reuse, never a rotation
	}
	res, err := rotateScript.Run(ctx, s.rdb,
		[]string{famKey(fam), "auth:rt:" + h, "auth:rtu:" + fam, "auth:rt:" + nh, "auth:rtq:" + fam, "auth:rtu:" + h},
		nh, s.scriptNow(), grace.Milliseconds(), h, usedTokensKept).StringSlice()
	g, err := scriptAnswer[grant]("grants.rotate", res, err, errRefreshReused)
	if err != nil {
		return grant{}, err
	}
	g.FamilyID = fam
	return g, nil
}

func (s *redisGrantStore) Peek(ctx context.Context, token string) (grant, error) {
	fam, ok := tokenFamily(token)
	if !ok {
		return grant{}, fmt.Errorf("grants.peek: %w", shared.ErrNotFound)
	}
	h := tokenHash(token)
	var live, used, legacy, g *redis.StringCmd
	var now *redis.TimeCmd
	cmds, _ := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		now = p.Time(ctx)
		live = p.Get(ctx, "auth:rt:"+h)
		used = p.HGet(ctx, "auth:rtu:"+fam, h)
		legacy = p.Get(ctx, "auth:rtu:"+h)
		g = p.Get(ctx, famKey(fam))
		return nil
	})
	for _, c := range cmds {
		if err := c.Err(); err != nil && !errors.Is(err, redis.Nil) {
			return grant{}, shared.RedisErr("grants.peek", err)
		}
	}
	marker := used.Val()
	if marker == "" {
		marker = legacy.Val()
	}
	var out grant
	if err := json.Unmarshal([]byte(g.Val()), &out); err != nil || live.Val() == "" && !s.inGrace(marker, now.Val()) {
		return grant{}, fmt.Errorf("grants.peek: %w", shared.ErrNotFound)
	}
	out.FamilyID, out.Rotated = fam, live.Val() == ""
	return out, nil
}

// inGrace tells whether a used marker's first rotation lies within the grace window at redisNow
// (Redis's clock, unless the test's s.now is set), so Rotate may rotate its token again
// (rotateScript decides, with the successor's state).
func (s *redisGrantStore) inGrace(marker string, redisNow time.Time) bool {
	_, at, ok := strings.Cut(marker, " ")
	ms, err := strconv.ParseInt(at, 10, 64)
	if s.now != nil {
		redisNow = s.now()
	}
	return ok && err == nil && redisNow.UnixMilli()-ms < s.grace.Milliseconds()
}

// scriptNow is rotateScript's ARGV[2]: "" (Redis's clock) unless the test's s.now is set.
func (s *redisGrantStore) scriptNow() string {
	if s.now == nil {
		return ""
	}
	return strconv.FormatInt(s.now().UnixMilli(), 10)
}

func (s *redisGrantStore) clock() time.Time {
	if s.now != nil {
		return s.now()
	}
	return time.Now()
}

func (s *redisGrantStore) RevokeFamily(ctx context.Context, family string) error {
	return shared.RedisErr("grants.revoke", s.rdb.Del(ctx, familyKeys(family)...).Err())
}

// revokeSetScript ends the families listed in KEYS (each a set or a sorted set of family IDs, or
// absent) and deletes the lists.
var revokeSetScript = redis.NewScript(indexMembers + `
local n = 0
for _, key in ipairs(KEYS) do
  local fs = members(key)
  for _, f in ipairs(fs) do redis.call('DEL', 'auth:fam:' .. f, 'auth:rtu:' .. f, 'auth:rtq:' .. f) end
  redis.call('DEL', key)
  n = n + #fs
end
return n`)

func (s *redisGrantStore) RevokeSession(ctx context.Context, sessionID string) error {
	return shared.RedisErr("grants.revoke_session", revokeSetScript.Run(ctx, s.rdb, []string{"auth:sfam:" + sessionID}).Err())
}

func (s *redisGrantStore) RevokeUser(ctx context.Context, userID string) error {
	return shared.RedisErr("grants.revoke_user", revokeSetScript.Run(ctx, s.rdb, []string{"auth:ufams:" + userID, "auth:ufam:" + userID}).Err())
}

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/goshop/platform/shared"
	"github.com/redis/go-redis/v9"
)

// session is a signed-in browser or API client. The ID is a random secret held by the client; stores
// key sessions by its SHA-256 so a store dump holds no usable session.
type session struct {
	ID        string    `json:"-"`
	UserID    string    `json:"user_id"`
	CreatedAt time.Time `json:"created_at"`
	// ExpiresAt is the absolute end (AUTH_SESSION_MAX_TTL after creation), however active the session.
	ExpiresAt time.Time `json:"expires_at"`
}

// sessionSID is the public name of a session: the "sid" claim of its access tokens and the key of its
// refresh-token families. It is the SHA-256 of the secret ID, so a token (seen by every service)
// never reveals the cookie value.
func sessionSID(id string) string { return tokenHash(id) }

// sessionStore keeps sessions with sliding expiry. Every error other than ErrNotFound wraps
// shared.ErrUnavailable (the store is down), so handlers answer 503, not 500.
type sessionStore interface {
	// Create stores s, idle for at most idle before it expires.
	Create(ctx context.Context, s session, idle time.Duration) error
	// Touch returns the live session and extends its idle expiry to idle from now (never past
	// ExpiresAt); ErrNotFound when absent or expired.
	Touch(ctx context.Context, id string, idle time.Duration) (session, error)
	// Delete ends the session named by its public sid (sessionSID); deleting an absent one is not an
	// error.
	Delete(ctx context.Context, sid string) error
	// DeleteUser ends every session of the user and reports how many there were.
	DeleteUser(ctx context.Context, userID string) (int, error)
	// Alive reports whether the session named by its public sid (sessionSID) is live, without
	// extending it.
	Alive(ctx context.Context, sid string) (bool, error)
}

// redisSessionStore keeps a session as JSON at auth:sess:<hash> with a TTL (the idle expiry), and the
// user's sessions that have not reached their absolute end at auth:usessz:<user> (indexScript), so
// suspension can end them all. auth:usess:<user> is the set that index used to be: DeleteUser reads
// it too until it expires.
type redisSessionStore struct {
	rdb redis.UniversalClient
	now func() time.Time // nil: time.Now
}

var _ sessionStore = (*redisSessionStore)(nil)

func sessKey(hash string) string       { return "auth:sess:" + hash }
func userSessKey(userID string) string { return "auth:usessz:" + userID }

// oldUserSessKey is the set userSessKey was before it became a sorted set.
func oldUserSessKey(userID string) string { return "auth:usess:" + userID }

// indexScript adds member ARGV[1], which ends at ARGV[2] (ms), to the per-user sorted set KEYS[1]
// (the score is the end), removes the members that ended by ARGV[3] (now, ms), and keeps the set until
// its last member ends. It indexes a user's sessions and refresh families, which suspension and a
// password change end. The indexes used to be plain sets that every sign-in added to and pushed the
// expiry of, so a user who signed in at least once a lifetime (30 days) kept every session and family
// ever started: a script that logs in each minute, half a million a year, all walked in one blocking
// Lua call when the account was suspended.
var indexScript = redis.NewScript(`
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if last[2] then redis.call('PEXPIREAT', KEYS[1], last[2]) end
return redis.call('ZCARD', KEYS[1])`)

// indexMembers is the Lua that reads the members of an index, a sorted set or the set it was
// before (or nothing), into fs; for scripts that end what an index lists.
const indexMembers = `
local function members(key)
  local t = redis.call('TYPE', key)['ok']
  if t == 'zset' then return redis.call('ZRANGE', key, 0, -1) end
  if t == 'set' then return redis.call('SMEMBERS', key) end
  return {}
end
`

func (s *redisSessionStore) clock() time.Time {
	if s.now != nil {
		return s.now()
	}
	return time.Now()
}

func (s *redisSessionStore) Create(ctx context.Context, sess session, idle time.Duration) error {
	b, err := json.Marshal(sess)
	if err != nil {
		return fmt.Errorf("sessions.create: %w", err)
	}
	h := tokenHash(sess.ID)
	ttl := min(idle, time.Until(sess.ExpiresAt))
	_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, sessKey(h), b, ttl)
		indexScript.Eval(ctx, p, []string{userSessKey(sess.UserID)}, h, sess.ExpiresAt.UnixMilli(), s.clock().UnixMilli())
		return nil
	})
	return shared.RedisErr("sessions.create", err)
}

// touchScript reads a session and extends its TTL in one step, so a concurrent Delete cannot be
// undone by a Touch that read before it. ARGV[1] is the idle TTL in ms.
var touchScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if not v then return false end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return v`)

func (s *redisSessionStore) Touch(ctx context.Context, id string, idle time.Duration) (session, error) {
	v, err := touchScript.Run(ctx, s.rdb, []string{sessKey(tokenHash(id))}, idle.Milliseconds()).Text()
	if err != nil {
		return session{}, shared.RedisErr("sessions.touch", err)
	}
	var sess session
	if err := json.Unmarshal([]byte(v), &sess); err != nil {
		return session{}, fmt.Errorf("sessions.touch: %w", err)
	}
	sess.ID = id
	left := time.Until(sess.ExpiresAt)
	if left <= 0 {
		s.Delete(ctx, sessionSID(id))
		return session{}, fmt.Errorf("sessions.touch: %w", shared.ErrNotFound)
	}
	if left < idle {
		// Never slide past the absolute end.
		s.rdb.PExpire(ctx, sessKey(tokenHash(id)), left)
	}
	return sess, nil
}

func (s *redisSessionStore) Delete(ctx context.Context, sid string) error {
	return shared.RedisErr("sessions.delete", s.rdb.Del(ctx, sessKey(sid)).Err())
}

func (s *redisSessionStore) Alive(ctx context.Context, sid string) (bool, error) {
	// The key's TTL never runs past the session's absolute end (Create, Touch), so it exists only
	// while the session is live.
	n, err := s.rdb.Exists(ctx, sessKey(sid)).Result()
	if err != nil {
		return false, shared.RedisErr("sessions.alive", err)
	}
	return n == 1, nil
}

// deleteUserScript removes every session in the user's indexes (KEYS) and the indexes, atomically.
var deleteUserScript = redis.NewScript(indexMembers + `
local n = 0
for _, key in ipairs(KEYS) do
  for _, h in ipairs(members(key)) do n = n + redis.call('DEL', ARGV[1] .. h) end
  redis.call('DEL', key)
end
return n`)

func (s *redisSessionStore) DeleteUser(ctx context.Context, userID string) (int, error) {
	n, err := deleteUserScript.Run(ctx, s.rdb, []string{userSessKey(userID), oldUserSessKey(userID)}, "auth:sess:").Int()
	if err != nil {
		return 0, shared.RedisErr("sessions.delete_user", err)
	}
	return n, nil
}

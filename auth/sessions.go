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
// set of a user's session hashes at auth:usess:<user>, so suspension can end them all.
type redisSessionStore struct {
	rdb redis.UniversalClient
}

var _ sessionStore = (*redisSessionStore)(nil)

func sessKey(hash string) string       { return "auth:sess:" + hash }
func userSessKey(userID string) string { return "auth:usess:" + userID }

func (s *redisSessionStore) Create(ctx context.Context, sess session, idle time.Duration) error {
	b, err := json.Marshal(sess)
	if err != nil {
		return fmt.Errorf("sessions.create: %w", err)
	}
	h := tokenHash(sess.ID)
	ttl := min(idle, time.Until(sess.ExpiresAt))
	_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, sessKey(h), b, ttl)
		p.SAdd(ctx, userSessKey(sess.UserID), h)
		// The newest session ends last, so the index lives as long as any session it lists; members
		// whose session expired are harmless (DEL of a missing key).
		p.Expire(ctx, userSessKey(sess.UserID), time.Until(sess.ExpiresAt))
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

// deleteUserScript removes every session in the user's index and the index, atomically.
var deleteUserScript = redis.NewScript(`
local hs = redis.call('SMEMBERS', KEYS[1])
local n = 0
for _, h in ipairs(hs) do n = n + redis.call('DEL', ARGV[1] .. h) end
redis.call('DEL', KEYS[1])
return n`)

func (s *redisSessionStore) DeleteUser(ctx context.Context, userID string) (int, error) {
	n, err := deleteUserScript.Run(ctx, s.rdb, []string{userSessKey(userID)}, "auth:sess:").Int()
	if err != nil {
		return 0, shared.RedisErr("sessions.delete_user", err)
	}
	return n, nil
}

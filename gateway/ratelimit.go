package main

import (
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/goshop/platform/shared"
	"golang.org/x/sync/singleflight"
)

// rateLimiter keeps a token bucket per client IP in Redis for every proxied request, one per
// credential (bearer token or session cookie, hashed) so a stolen token spread over many addresses is
// still bounded, and a stricter one per IP for login and registration (credential stuffing, account
// spam). The credential bucket only ever adds a limit, so it needs no verification: a forged token
// just gets a bucket of its own, and the IP bucket still applies. When Redis is unavailable it
// fails open: an outage of the limiter must not become an outage of the shop (logged by the store's
// breaker when it opens).
//
// To keep the cost of a request low, the IP and credential buckets are taken from Redis in leases of
// Burst/20 tokens (at most 50), spent in process for up to a second; a client can therefore exceed
// its budget by at most one lease per gateway instance. The login bucket is never leased.
type rateLimiter struct {
	kv       kvStore
	leases   *lru[*lease]
	general  rateSpec
	user     rateSpec
	auth     rateSpec
	trusted  []netip.Prefix
	logger   *slog.Logger
	limited  *shared.CounterVec
	failOpen *shared.CounterVec
	refills  singleflight.Group // one lease refill in flight per bucket key
}

func newRateLimiter(kv kvStore, cfg Config, logger *slog.Logger, metrics *shared.Metrics) *rateLimiter {
	return &rateLimiter{kv: kv, leases: newLRU[*lease](100_000), general: cfg.RateLimit, user: cfg.UserRateLimit, auth: cfg.AuthRateLimit, trusted: cfg.TrustedProxies, logger: logger,
		limited:  metrics.Counter("gateway_rate_limited_total", "Requests refused with 429, by bucket.", "bucket"),
		failOpen: metrics.Counter("gateway_rate_limit_fail_open_total", "Requests let through because the limiter's store failed.", "bucket"),
	}
}

// isAuthWrite reports whether r is a login or registration attempt.
func isAuthWrite(r *http.Request) bool {
	return r.Method == http.MethodPost && (r.URL.Path == "/auth/login" || r.URL.Path == "/auth/register")
}

// limit wraps a proxied route.
func (l *rateLimiter) limit(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if l.allow(w, r) {
			next.ServeHTTP(w, r)
		}
	})
}

// allow takes r's tokens from every bucket that applies and sets the RateLimit headers; it answers
// 429 and returns false when one is empty.
func (l *rateLimiter) allow(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodOptions {
		return true
	}
	authWrite := isAuthWrite(r) && l.auth.Rate != 0
	if authWrite || l.general.Rate != 0 { // the address is work: only when a limit needs it
		ip := clientIP(r, l.trusted)
		if authWrite && !l.take(w, r, "auth", "gw:rl:auth:"+ip, l.auth) {
			return false
		}
		if !l.take(w, r, "ip", "gw:rl:ip:"+ip, l.general) {
			return false
		}
	}
	if cred := credentialKey(r); cred != "" && !l.take(w, r, "user", "gw:rl:user:"+cred, l.user) {
		return false
	}
	return true
}

// takeLeased takes r's token from its IP bucket's in-process lease and sets the RateLimit headers,
// for a request that needs no other bucket (not credentialed, not a login). false: nothing was
// taken or written, and r must go through allow (the lease is empty or gone: a refill, maybe a 429).
func (l *rateLimiter) takeLeased(w http.ResponseWriter, r *http.Request) bool {
	if l.general.Rate == 0 {
		return true
	}
	ls, ok := l.leases.Get("gw:rl:ip:"+clientIP(r, l.trusted), time.Now())
	if !ok {
		return false
	}
	left := ls.tokens.Add(-1)
	if left < 0 {
		return false
	}
	setRateHeaders(w.Header(), l.general, ls.remaining+int(left), ls.reset)
	return true
}

// credentialKey names the caller's credential without keeping it: a hash of the bearer token, else
// of the session cookie, else "".
func credentialKey(r *http.Request) string {
	cred := r.Header.Get("Authorization")
	if cred == "" {
		if c, err := r.Cookie(sessionCookie); err == nil {
			cred = "s:" + c.Value
		}
	}
	if cred == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(cred))
	return hex.EncodeToString(sum[:12])
}

// lease is tokens taken from Redis ahead of need for one bucket key.
type lease struct {
	tokens    atomic.Int64
	remaining int // what Redis had left after granting the lease
	reset     time.Duration
}

// leaseTTL is how long unspent leased tokens stay usable; they are lost (charged) afterwards.
const leaseTTL = time.Second

func leaseSize(spec rateSpec) int { return min(max(spec.Burst/20, 1), 50) }

// take takes a token and sets the RateLimit headers; it answers 429 and returns false when the bucket
// is empty.
//
// Leased buckets refill one flight per key at a time: requests that find the lease empty wait for the
// one Take in flight and share what it granted. Without that, N concurrent requests on a cold key each
// leased Burst/20 tokens and overwrote each other's leases, so a burst of 60 requests could exhaust a
// bucket of 150 and answer 429 to a client far inside its budget.
func (l *rateLimiter) take(w http.ResponseWriter, r *http.Request, bucket, key string, spec rateSpec) bool {
	if spec.Rate == 0 {
		return true // limit off
	}
	if bucket == "auth" {
		return l.answer(w, r, bucket, spec, l.takeStore(r, bucket, key, spec, 1))
	}
	want := leaseSize(spec)
	for attempt := 0; ; attempt++ {
		now := time.Now()
		if ls, ok := l.leases.Get(key, now); ok {
			if left := ls.tokens.Add(-1); left >= 0 {
				setRateHeaders(w.Header(), spec, ls.remaining+int(left), ls.reset)
				return true
			}
		}
		if attempt == 3 {
			// Crowded out of three refills in a row: take a single token, never wait longer.
			return l.answer(w, r, bucket, spec, l.takeStore(r, bucket, key, spec, 1))
		}
		v, _, _ := l.refills.Do(key, func() (any, error) {
			res := l.takeStore(r, bucket, key, spec, want)
			if res.Allowed {
				ls := &lease{remaining: res.Remaining, reset: res.Reset}
				ls.tokens.Store(int64(res.Granted))
				l.leases.Set(key, ls, now.Add(leaseTTL))
			}
			return res, nil
		})
		if res := v.(rateResult); !res.Allowed {
			return l.answer(w, r, bucket, spec, res) // the bucket is empty: everyone waiting is refused
		}
	}
}

// takeStore takes want tokens from the store; a store failure lets the request through (fail open).
func (l *rateLimiter) takeStore(r *http.Request, bucket, key string, spec rateSpec, want int) rateResult {
	res, err := l.kv.Take(r.Context(), key, spec, want, time.Now())
	if err != nil {
		l.failOpen.Inc(bucket)
		l.logger.DebugContext(r.Context(), "rate limit store failed; letting the request through", "bucket", bucket, "err", err)
		return rateResult{Allowed: true, Granted: want, Remaining: spec.Burst}
	}
	return res
}

// answer applies one store result to the request: headers, and a 429 when it was refused.
func (l *rateLimiter) answer(w http.ResponseWriter, r *http.Request, bucket string, spec rateSpec, res rateResult) bool {
	setRateHeaders(w.Header(), spec, res.Remaining, res.Reset)
	if res.Allowed {
		return true
	}
	l.limited.Inc(bucket)
	secs := max(1, ceilSeconds(res.RetryAfter))
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	shared.WriteError(w, r, nil, shared.Errorf(shared.CodeTooManyRequests, "too many requests, retry in %d s", secs))
	return false
}

func setRateHeaders(h http.Header, spec rateSpec, remaining int, reset time.Duration) {
	h.Set("RateLimit-Limit", strconv.Itoa(spec.Burst))
	h.Set("RateLimit-Remaining", strconv.Itoa(remaining))
	h.Set("RateLimit-Reset", strconv.Itoa(ceilSeconds(reset)))
}

func ceilSeconds(d time.Duration) int { return int((d + time.Second - 1) / time.Second) }

// clientIP is the peer's address, or, when the peer is a trusted proxy, the right-most address of
// X-Forwarded-For that is not itself a trusted proxy.
func clientIP(r *http.Request, trusted []netip.Prefix) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	peer = peer.Unmap()
	if !isTrusted(peer, trusted) {
		if peer.Is4() && strings.IndexByte(host, ':') < 0 {
			return host // dotted IPv4 (ParseAddr takes only the canonical form): host is peer.String()
		}
		return peer.String()
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		if a = a.Unmap(); !isTrusted(a, trusted) {
			return a.String()
		}
	}
	return peer.String()
}

// peerTrusted reports whether the request's direct peer is a trusted proxy.
func peerTrusted(r *http.Request, trusted []netip.Prefix) bool {
	if len(trusted) == 0 {
		return false
	}
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	return err == nil && isTrusted(ap.Addr().Unmap(), trusted)
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

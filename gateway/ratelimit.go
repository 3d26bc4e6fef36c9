package main

import (
	"context"
	"log/slog"
	"net/http"
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
// To keep the cost of a request low, the IP and credential buckets are taken from Redis in leases,
// spent in process for up to a second: Burst/20 tokens (at most 50) at first, twice as many each time
// a client spends one within a quarter second, up to Burst/4. A client can therefore exceed its
// budget by at most one lease per gateway instance. The login bucket is never leased.
type rateLimiter struct {
	kv       kvStore
	leases   *lru[*lease]
	general  rateSpec
	user     rateSpec
	auth     rateSpec
	trusted  shared.TrustedProxies
	logger   *slog.Logger
	limited  *shared.CounterVec
	failOpen *shared.CounterVec
	refills  singleflight.Group // one lease refill in flight per bucket key
	// creds names the credential buckets; addRoutes hands it to the identity step too, which takes
	// bearer tokens' subjects from it.
	creds *credentialMemo
}

func newRateLimiter(kv kvStore, cfg Config, logger *slog.Logger, metrics *shared.Metrics) *rateLimiter {
	return &rateLimiter{kv: kv, leases: newLRU[*lease](100_000), general: cfg.RateLimit, user: cfg.UserRateLimit, auth: cfg.AuthRateLimit, trusted: cfg.TrustedProxies, logger: logger,
		creds:    newCredentialMemo(),
		limited:  metrics.Counter("gateway_rate_limited_total", "Requests refused with 429, by bucket.", "bucket"),
		failOpen: metrics.Counter("gateway_rate_limit_fail_open_total", "Requests let through because the limiter's store failed.", "bucket"),
	}
}

// authWrites are the anonymous credential routes under the stricter auth budget: guesses at a
// password or a mailed token, and requests that make auth send mail.
var authWrites = map[string]bool{"/auth/login": true, "/auth/register": true, "/auth/password/forgot": true,
	"/auth/password/reset": true, "/auth/email/verify": true}

// isAuthWrite reports whether r is a login, registration, password-reset or verification attempt.
func isAuthWrite(r *http.Request) bool {
	return r.Method == http.MethodPost && authWrites[r.URL.Path]
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
	cred := credentialOf(r)
	// A request that also takes from its credential's bucket gets that bucket's RateLimit headers,
	// which replace the IP bucket's: the IP bucket writes them only when it refuses.
	userBucket := cred != "" && l.user.Rate != 0
	if authWrite || l.general.Rate != 0 { // the address is work: only when a limit needs it
		ip := l.trusted.ClientIP(r)
		if authWrite && !l.take(w, r, "auth", "gw:rl:auth:"+ip, l.auth, true) {
			return false
		}
		if !l.take(w, r, "ip", "gw:rl:ip:"+ip, l.general, !userBucket) {
			return false
		}
	}
	if userBucket && !l.take(w, r, "user", l.creds.get(cred).bucket, l.user, true) {
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
	return l.spendLeased(w, r, "ip", "gw:rl:ip:"+l.trusted.ClientIP(r), l.general, true)
}

// credentialOf is the caller's credential as its bucket is named after (credentialMemo): the
// Authorization header (a bearer token as "Bearer <token>" however the client spelled the scheme and
// spaces, so respelling it does not open a fresh bucket), else "s:" and the session cookie, else "".
func credentialOf(r *http.Request) string {
	if cred := r.Header.Get("Authorization"); cred != "" {
		// The usual spelling is returned as it is: no allocation on the hot path.
		if tok, ok := shared.BearerOf(cred); ok && !(strings.HasPrefix(cred, "Bearer ") && len(cred) == len("Bearer ")+len(tok)) {
			return "Bearer " + tok
		}
		return cred
	}
	if c, err := r.Cookie(sessionCookie); err == nil {
		return "s:" + c.Value
	}
	return ""
}

// lease is tokens taken from Redis ahead of need for one bucket key. Refills add to it; the counter
// never stays below zero, so a request that found it empty costs nothing.
type lease struct {
	tokens    atomic.Int64
	size      atomic.Int64 // what the last refill asked for
	remaining atomic.Int64 // what Redis had left after the last grant
	reset     atomic.Int64 // time.Duration until Redis's bucket is full again, as of the last grant
	granted   atomic.Int64 // when the last grant came, Unix nanoseconds
}

// spend takes a token; false when the lease is empty (nothing taken).
func (ls *lease) spend() (left int64, ok bool) {
	left = ls.tokens.Add(-1)
	if left < 0 {
		ls.tokens.Add(1)
		return 0, false
	}
	return left, true
}

// busy reports whether the lease was spent down within a quarter of leaseTTL of its last grant.
func (ls *lease) busy(now time.Time) bool {
	return now.UnixNano()-ls.granted.Load() < int64(leaseTTL/4)
}

// add adds what Redis granted for a refill of size.
func (ls *lease) add(res rateResult, size int, now time.Time) {
	ls.size.Store(int64(size))
	ls.remaining.Store(int64(res.Remaining))
	ls.reset.Store(int64(res.Reset))
	ls.granted.Store(now.UnixNano())
	ls.tokens.Add(int64(res.Granted))
}

// leaseTTL is how long unspent leased tokens stay usable; they are lost (charged) afterwards.
const leaseTTL = time.Second

// leaseSize is a first lease: Burst/20, at most 50. A busy client's leases double from there up to
// maxLeaseSize, so that one address sending thousands of requests a second (a load test, a server
// calling the shop) costs a Redis call per few hundred requests, not per 50; an idle one goes back
// to leaseSize.
func leaseSize(spec rateSpec) int { return min(max(spec.Burst/20, 1), 50) }

// maxLeaseSize caps a busy client's leases at a quarter of its burst: what it can lose to an expired
// lease when it stops.
func maxLeaseSize(spec rateSpec) int { return max(leaseSize(spec), spec.Burst/4) }

// take takes a token and sets the RateLimit headers (with headers false, only when it refuses); it
// answers 429 and returns false when the bucket is empty.
//
// Leased buckets refill one flight per key at a time: requests that find the lease empty wait for the
// one Take in flight and share what it granted. Without that, N concurrent requests on a cold key each
// leased Burst/20 tokens and overwrote each other's leases, so a burst of 60 requests could exhaust a
// bucket of 150 and answer 429 to a client far inside its budget.
func (l *rateLimiter) take(w http.ResponseWriter, r *http.Request, bucket, key string, spec rateSpec, headers bool) bool {
	if spec.Rate == 0 {
		return true // limit off
	}
	if bucket == "auth" {
		return l.answer(w, r, bucket, spec, l.takeStore(r.Context(), bucket, key, spec, 1), headers)
	}
	for attempt := 0; ; attempt++ {
		if l.spendLeased(w, r, bucket, key, spec, headers) {
			return true
		}
		var res rateResult
		if attempt == 3 {
			// Crowded out of three refills in a row: take a single token, never wait longer.
			res = l.takeStore(r.Context(), bucket, key, spec, 1)
		} else if res = l.refill(r.Context(), bucket, key, spec); res.Allowed {
			continue
		}
		// Redis's bucket is empty, but a refill that landed meanwhile may have left tokens in the
		// lease: refuse only when it has none either.
		if !res.Allowed && l.spendLeased(w, r, bucket, key, spec, headers) {
			return true
		}
		return l.answer(w, r, bucket, spec, res, headers)
	}
}

// spendLeased takes a token from key's in-process lease and sets the RateLimit headers if headers is
// set; false: the lease is empty or gone, nothing was taken or written.
func (l *rateLimiter) spendLeased(w http.ResponseWriter, r *http.Request, bucket, key string, spec rateSpec, headers bool) bool {
	now := time.Now()
	ls, ok := l.leases.Get(key, now)
	if !ok {
		return false
	}
	left, ok := ls.spend()
	if !ok {
		return false
	}
	if headers {
		setRateHeaders(w.Header(), spec, int(ls.remaining.Load()+left), time.Duration(ls.reset.Load()))
	}
	return true
}

// refill takes a lease for key from the store, one flight per key at a time, and adds it to key's
// lease (a new one if it has none or it expired): twice the last one's size if that was spent busily,
// else leaseSize. A lease that the flight before this one refilled, after this one's caller found it
// empty, is left as it is.
func (l *rateLimiter) refill(ctx context.Context, bucket, key string, spec rateSpec) rateResult {
	v, _, _ := l.refills.Do(key, func() (any, error) {
		now := time.Now()
		ls, ok := l.leases.Get(key, now)
		size := leaseSize(spec)
		if ok {
			if ls.tokens.Load() > 0 {
				return rateResult{Allowed: true}, nil
			}
			if ls.busy(now) {
				size = min(int(ls.size.Load())*2, maxLeaseSize(spec))
			}
		} else {
			ls = &lease{}
		}
		res := l.takeStore(ctx, bucket, key, spec, size)
		if res.Allowed {
			now = time.Now()
			ls.add(res, size, now)
			l.leases.Set(key, ls, now.Add(leaseTTL))
		}
		return res, nil
	})
	return v.(rateResult)
}

// takeStore takes want tokens from the store; a store failure lets the request through (fail open).
func (l *rateLimiter) takeStore(ctx context.Context, bucket, key string, spec rateSpec, want int) rateResult {
	res, err := l.kv.Take(ctx, key, spec, want, time.Now())
	if err != nil {
		l.failOpen.Inc(bucket)
		l.logger.DebugContext(ctx, "rate limit store failed; letting the request through", "bucket", bucket, "err", err)
		return rateResult{Allowed: true, Granted: want, Remaining: spec.Burst}
	}
	return res
}

// answer applies one store result to the request: headers (if headers is set, or it was refused),
// and a 429 when it was refused.
func (l *rateLimiter) answer(w http.ResponseWriter, r *http.Request, bucket string, spec rateSpec, res rateResult, headers bool) bool {
	if headers || !res.Allowed {
		setRateHeaders(w.Header(), spec, res.Remaining, res.Reset)
	}
	if res.Allowed {
		return true
	}
	l.limited.Inc(bucket)
	secs := max(1, ceilSeconds(res.RetryAfter))
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	shared.WriteError(w, r, nil, shared.Errorf(shared.CodeTooManyRequests, "too many requests, retry in %d s", secs))
	return false
}

// setRateHeaders sets the RateLimit headers, as http.Header.Set would, under keys canonicalised once.
func setRateHeaders(h http.Header, spec rateSpec, remaining int, reset time.Duration) {
	h[rateLimitLimitKey] = []string{strconv.Itoa(spec.Burst)}
	h[rateLimitRemainingKey] = []string{strconv.Itoa(remaining)}
	h[rateLimitResetKey] = []string{strconv.Itoa(ceilSeconds(reset))}
}

// The RateLimit headers' canonical keys ("RateLimit-Limit" is not canonical, so Set would make
// "Ratelimit-Limit" anew on every call).
var (
	rateLimitLimitKey     = http.CanonicalHeaderKey("RateLimit-Limit")
	rateLimitRemainingKey = http.CanonicalHeaderKey("RateLimit-Remaining")
	rateLimitResetKey     = http.CanonicalHeaderKey("RateLimit-Reset")
)

func ceilSeconds(d time.Duration) int { return int((d + time.Second - 1) / time.Second) }

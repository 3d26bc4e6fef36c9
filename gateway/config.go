package main

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/goshop/platform/shared"
)

// serviceDefaults lists the services the gateway fronts, in the order /health/detailed shows them,
// with their default instance URL (ports from ARCHITECTURE.md).
var serviceDefaults = []struct{ name, url string }{
	{"auth", "http://127.0.0.1:4000"},
	{"user", "http://127.0.0.1:3001"},
	{"product", "http://127.0.0.1:3002"},
	{"inventory", "http://127.0.0.1:3003"},
	{"order", "http://127.0.0.1:5003"},
	{"realtime", "http://127.0.0.1:3009"},
}

// Config is the gateway's configuration, read once at start by loadConfig.
type Config struct {
	shared.ServiceConfig // HTTP_ADDR 127.0.0.1:3008, LOG_LEVEL, OTEL_*, PPROF_ADDR
	Redis                shared.RedisConfig
	// Brokers are the Kafka brokers the cache reads product.events and inventory.events from
	// (KAFKA_BROKERS, default 127.0.0.1:9092), as consumer group ConsumerGroup().
	Brokers []string
	// InstanceID names this instance's consumer group "gateway-<InstanceID>": every instance must
	// see every event (each holds its own in-process cache layer), so instances cannot share a group.
	// Default: GATEWAY_INSTANCE_ID, else "<HOSTNAME>-<port>" (stable across restarts of one
	// container, so the group's committed offsets are reused), else "local-<port>".
	InstanceID string
	// AuthURL is auth's base URL for the session → access token exchange (GET /session).
	AuthURL string
	// Services are the upstreams, in serviceDefaults order.
	Services []ServiceConfig
	// HealthInterval is the period of the active /healthz checks. Default 3 s.
	HealthInterval time.Duration
	// BreakerFailures consecutive failures open an instance's breaker for BreakerTimeout. Default 5 and
	// 30 s.
	BreakerFailures int
	BreakerTimeout  time.Duration
	// UpstreamTimeout bounds the wait for an upstream's response headers. Default 10 s.
	UpstreamTimeout time.Duration
	// TryTimeout bounds the first try of a bodiless GET/HEAD when another instance could take it:
	// without response headers by then, the try counts as a breaker failure and the request goes to
	// the other instance (with the rest of UpstreamTimeout), so a hung instance costs at most this
	// much per request. Default 800 ms; 0 turns it off.
	TryTimeout time.Duration
	// UpstreamTransport is "direct" (default: bodiless plain-HTTP requests on connTransport, the rest
	// on http.Transport) or "std" (everything on http.Transport).
	UpstreamTransport string
	// MaxBody is the request body limit of every service but auth (GATEWAY_MAX_BODY_BYTES, default
	// 1 MiB); AuthMaxBody auth's (GATEWAY_AUTH_MAX_BODY_BYTES, default 64 KiB: its requests are
	// credentials and small forms).
	MaxBody     int64
	AuthMaxBody int64
	// AllowedOrigins are the browser origins CORS allows, with credentials, and whose pages may send
	// cookie-authenticated writes (host:port or full origin).
	AllowedOrigins []string
	// RateLimit is the per-client-IP budget for every proxied request; AuthRateLimit the stricter one
	// for the anonymous credential routes (authWrites: login, register, password forgot and reset,
	// e-mail verify). The zero value (env "off") disables a limit.
	RateLimit     rateSpec
	AuthRateLimit rateSpec
	// UserRateLimit is the budget per credential (bearer token or session cookie).
	UserRateLimit rateSpec
	// SuspensionTTL is how long the gateway remembers that an account was suspended
	// (GATEWAY_SUSPENSION_TTL, default 30m). It must be at least auth's access-token lifetime
	// (AUTH_ACCESS_TTL, 15m): tokens issued before the suspension live that long.
	SuspensionTTL time.Duration
	// TrustedProxies are the peers whose X-Forwarded-For / X-Forwarded-Proto / X-Real-IP are believed
	// (TRUSTED_PROXIES, default loopback: see shared.DefaultTrustedProxies).
	TrustedProxies shared.TrustedProxies
	// CacheRoutes is the cache table (cacheRoute, defaultCacheRoutes), with each row's TTL from its
	// GATEWAY_CACHE_<ROUTE>_TTL (0 drops the row). CacheStale is how long an expired entry is kept
	// for stale-if-error. Default 5 min.
	CacheRoutes []cacheRoute
	CacheStale  time.Duration
	// CacheStatuses are the upstream statuses a cacheable route stores (default 200, 301, 404): below
	// 400 for the route's TTL, 4xx (negative answers) for at most CacheNegative (default 10 s; 0
	// stores none).
	CacheStatuses []int
	CacheNegative time.Duration
	// L1Entries bounds the in-process cache layer; L1TTL caps how long an entry lives there, which
	// bounds how stale another gateway instance's purge can leave this one. Default 4096 and 2 s.
	L1Entries int
	L1TTL     time.Duration
	// CacheMaxEntries bounds the entries Redis keeps per cache-table row and per path
	// (GATEWAY_CACHE_MAX_ENTRIES, default 10 000; 0: unbounded): the services ignore query parameters
	// they do not know, so every made-up query string is an entry of its own, and without a bound
	// anonymous clients could fill Redis (which also holds sessions and rate limits) at their request
	// rate times the entries' lifetime. Over the bound, the entries that expire soonest go.
	CacheMaxEntries int
}

// ConsumerGroup is this instance's Kafka consumer group.
func (c Config) ConsumerGroup() string { return "gateway-" + c.InstanceID }

// cacheableStatuses are the statuses a response may be stored with: RFC 9110's heuristically
// cacheable ones, minus 206 (the gateway drops Range from shared fetches).
var cacheableStatuses = []int{200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501}

// ServiceConfig is one upstream service and its instances.
type ServiceConfig struct {
	Name string
	URLs []*url.URL
}

// rateSpec is a token bucket: Rate tokens per Per, at most Burst saved up.
type rateSpec struct {
	Rate  int
	Per   time.Duration
	Burst int
}

// interval is the time one token takes to come back.
func (r rateSpec) interval() time.Duration { return r.Per / time.Duration(r.Rate) }

func (r rateSpec) String() string {
	return fmt.Sprintf("%d/%s:%d", r.Rate, strings.TrimPrefix(r.Per.String(), "1"), r.Burst)
}

// parseRate parses "RATE/UNIT:BURST" with UNIT s, m or h, e.g. "20/s:200" or "10/m:20", or "off"
// (the zero rateSpec: no limit).
func parseRate(s string) (rateSpec, error) {
	if s == "off" {
		return rateSpec{}, nil
	}
	rate, rest, ok := strings.Cut(s, "/")
	unit, burst, ok2 := strings.Cut(rest, ":")
	if !ok || !ok2 {
		return rateSpec{}, fmt.Errorf("%q is not RATE/UNIT:BURST", s)
	}
	var r rateSpec
	var err1, err2 error
	r.Rate, err1 = strconv.Atoi(rate)
	r.Burst, err2 = strconv.Atoi(burst)
	switch unit {
	case "s":
		r.Per = time.Second
	case "m":
		r.Per = time.Minute
	case "h":
		r.Per = time.Hour
	default:
		return rateSpec{}, fmt.Errorf("%q: unit must be s, m or h", s)
	}
	if err1 != nil || err2 != nil || r.Rate <= 0 || r.Burst <= 0 || r.Rate > 1_000_000 || r.Burst > 1_000_000 {
		return rateSpec{}, fmt.Errorf("%q: rate and burst must be positive integers", s)
	}
	return r, nil
}

// loadConfig reads the configuration from getenv, with defaults in code, and reports every bad value
// at once.
func loadConfig(getenv func(string) string) (Config, error) { return readConfig(shared.NewEnv(getenv)) }

// readConfig is loadConfig on an Env, so that the docs test can see what was read.
func readConfig(env *shared.Env) (Config, error) {
	const positive, forever = time.Nanosecond, time.Duration(math.MaxInt64)
	rate := func(name, def string) rateSpec {
		return shared.EnvParse(env, name, "rate RATE/UNIT:BURST (UNIT s, m or h) or off", def, parseRate)
	}
	cfg := Config{
		ServiceConfig:     env.Service("127.0.0.1:3008"),
		Redis:             env.Redis(2),
		AuthURL:           env.BaseURL("AUTH_URL", "http://127.0.0.1:4000"),
		HealthInterval:    env.Duration("GATEWAY_HEALTH_INTERVAL", 3*time.Second, positive, forever),
		UpstreamTimeout:   env.Duration("GATEWAY_UPSTREAM_TIMEOUT", 10*time.Second, positive, forever),
		TryTimeout:        env.Duration("GATEWAY_TRY_TIMEOUT", 800*time.Millisecond, 0, forever),
		UpstreamTransport: env.OneOf("GATEWAY_UPSTREAM_TRANSPORT", "direct", "direct", "std"),
		BreakerFailures:   env.Int("GATEWAY_BREAKER_FAILURES", 5, 1, math.MaxInt),
		BreakerTimeout:    env.Duration("GATEWAY_BREAKER_TIMEOUT", 30*time.Second, positive, forever),
		MaxBody:           env.Int64("GATEWAY_MAX_BODY_BYTES", 1<<20, 1, math.MaxInt64),
		AuthMaxBody:       env.Int64("GATEWAY_AUTH_MAX_BODY_BYTES", 64<<10, 1, math.MaxInt64),
		SuspensionTTL:     env.Duration("GATEWAY_SUSPENSION_TTL", 30*time.Minute, time.Minute, forever),
		AllowedOrigins:    env.List("ALLOWED_ORIGINS", "localhost:3000,127.0.0.1:3000,localhost:3008,127.0.0.1:3008"),
		RateLimit:         rate("GATEWAY_RATE_LIMIT", "50/s:200"),
		AuthRateLimit:     rate("GATEWAY_AUTH_RATE_LIMIT", "20/m:30"),
		UserRateLimit:     rate("GATEWAY_USER_RATE_LIMIT", "30/s:150"),
		CacheStale:        env.Duration("GATEWAY_CACHE_STALE", 5*time.Minute, 0, forever),
		CacheNegative:     env.Duration("GATEWAY_CACHE_NEGATIVE_TTL", 10*time.Second, 0, forever),
		Brokers:           env.HostPorts("KAFKA_BROKERS", "127.0.0.1:9092"),
		L1Entries:         env.Int("GATEWAY_CACHE_L1_ENTRIES", 4096, 0, math.MaxInt),
		L1TTL:             env.Duration("GATEWAY_CACHE_L1_TTL", 2*time.Second, 0, forever),
		CacheMaxEntries:   env.Int("GATEWAY_CACHE_MAX_ENTRIES", 10000, 0, math.MaxInt),
		CacheStatuses:     shared.EnvParse(env, "GATEWAY_CACHE_STATUSES", "list of statuses", "200,301,404", parseCacheStatuses),
		TrustedProxies:    shared.NewTrustedProxies(env.Prefixes("TRUSTED_PROXIES", shared.DefaultTrustedProxies)),
	}
	cfg.CacheRoutes = loadCacheRoutes(func(name string, def time.Duration) time.Duration { return env.Duration(name, def, 0, forever) },
		cfg.CacheStatuses, cfg.CacheNegative)
	cfg.InstanceID = env.InstanceID("GATEWAY_INSTANCE_ID", cfg.HTTPAddr)
	if _, err := newCrossSiteGuard(cfg.AllowedOrigins); err != nil {
		env.Errorf("ALLOWED_ORIGINS", "%v", err)
	}
	for _, s := range serviceDefaults {
		urls := shared.EnvParse(env, strings.ToUpper(s.name)+"_SERVICE_URLS", "list of instance urls", s.url, parseInstanceURLs)
		cfg.Services = append(cfg.Services, ServiceConfig{Name: s.name, URLs: urls})
	}
	return cfg, env.Err()
}

// parseCacheStatuses parses a comma-separated list of statuses, each one of cacheableStatuses.
func parseCacheStatuses(s string) ([]int, error) {
	var out []int
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || !slices.Contains(cacheableStatuses, n) {
			return nil, fmt.Errorf("%q is not one of %v", v, cacheableStatuses)
		}
		out = append(out, n)
	}
	return out, nil
}

// parseInstanceURLs parses a comma-separated list of at least one instance URL (parseInstanceURL).
func parseInstanceURLs(s string) ([]*url.URL, error) {
	var out []*url.URL
	for _, raw := range strings.Split(s, ",") {
		if raw = strings.TrimSpace(raw); raw == "" {
			continue
		}
		u, err := parseInstanceURL(raw)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	if len(out) == 0 {
		return nil, errors.New("no instance")
	}
	return out, nil
}

// parseInstanceURL accepts http(s)://host:port with no path, query or credentials: the gateway
// appends the stripped request path itself.
func parseInstanceURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%q is not an http(s) URL", raw)
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil || u.Fragment != "" {
		return nil, fmt.Errorf("%q: an instance URL has no path, query or credentials", raw)
	}
	u.Path = ""
	return u, nil
}

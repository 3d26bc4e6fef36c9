package main

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
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
	Addr     string
	LogLevel string
	Redis    shared.RedisConfig
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
	// UpstreamTransport is "direct" (default: bodiless plain-HTTP requests on connTransport, the rest
	// on http.Transport) or "std" (everything on http.Transport).
	UpstreamTransport string
	// MaxBody is the request body limit. Default 1 MiB.
	MaxBody int64
	// AllowedOrigins are the browser origins CORS allows, with credentials (host:port or full origin).
	AllowedOrigins []string
	// RateLimit is the per-client-IP budget for every proxied request; AuthRateLimit the stricter one
	// for POST /auth/login and /auth/register. The zero value (env "off") disables a limit.
	RateLimit     rateSpec
	AuthRateLimit rateSpec
	// UserRateLimit is the budget per credential (bearer token or session cookie).
	UserRateLimit rateSpec
	// TrustedProxies are the peers whose X-Forwarded-For names the client (default none).
	TrustedProxies []netip.Prefix
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
func loadConfig(getenv func(string) string) (Config, error) {
	var errs []error
	get := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	dur := func(name string, def time.Duration, zeroOK bool) time.Duration {
		v := get(name, "")
		if v == "" {
			return def
		}
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 || (d == 0 && !zeroOK) {
			errs = append(errs, fmt.Errorf("%s: %q is not a valid duration", name, v))
			return def
		}
		return d
	}
	integer := func(name string, def int) int {
		v := get(name, "")
		if v == "" {
			return def
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			errs = append(errs, fmt.Errorf("%s: %q is not a non-negative integer", name, v))
			return def
		}
		return n
	}
	rate := func(name, def string) rateSpec {
		r, err := parseRate(get(name, def))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			r, _ = parseRate(def)
		}
		return r
	}

	cfg := Config{
		Addr:     get("HTTP_ADDR", "127.0.0.1:3008"),
		LogLevel: get("LOG_LEVEL", "info"),
		Redis: shared.RedisConfig{
			URL:      get("REDIS_URL", ""),
			Host:     get("REDIS_HOST", "127.0.0.1"),
			Port:     integer("REDIS_PORT", 6379),
			Password: getenv("REDIS_PASSWORD"),
			DB:       integer("REDIS_DB", 2),
		},
		AuthURL:           strings.TrimRight(get("AUTH_URL", "http://127.0.0.1:4000"), "/"),
		HealthInterval:    dur("GATEWAY_HEALTH_INTERVAL", 3*time.Second, false),
		UpstreamTimeout:   dur("GATEWAY_UPSTREAM_TIMEOUT", 10*time.Second, false),
		UpstreamTransport: get("GATEWAY_UPSTREAM_TRANSPORT", "direct"),
		BreakerFailures:   integer("GATEWAY_BREAKER_FAILURES", 5),
		BreakerTimeout:    dur("GATEWAY_BREAKER_TIMEOUT", 30*time.Second, false),
		MaxBody:           int64(integer("GATEWAY_MAX_BODY_BYTES", 1<<20)),
		AllowedOrigins:    splitList(get("ALLOWED_ORIGINS", "localhost:3000,127.0.0.1:3000,localhost:3008,127.0.0.1:3008")),
		RateLimit:         rate("GATEWAY_RATE_LIMIT", "50/s:200"),
		AuthRateLimit:     rate("GATEWAY_AUTH_RATE_LIMIT", "20/m:30"),
		UserRateLimit:     rate("GATEWAY_USER_RATE_LIMIT", "30/s:150"),
		CacheStale:        dur("GATEWAY_CACHE_STALE", 5*time.Minute, true),
		CacheNegative:     dur("GATEWAY_CACHE_NEGATIVE_TTL", 10*time.Second, true),
		Brokers:           shared.ParseBrokers(get("KAFKA_BROKERS", "127.0.0.1:9092")),
		L1Entries:         integer("GATEWAY_CACHE_L1_ENTRIES", 4096),
		L1TTL:             dur("GATEWAY_CACHE_L1_TTL", 2*time.Second, true),
	}
	if u, err := shared.RedisURLWithDB(cfg.Redis.URL, cfg.Redis.DB); err != nil {
		errs = append(errs, err) // never echoes the URL: it may hold a password
	} else {
		cfg.Redis.URL = u
	}
	for _, v := range splitList(get("GATEWAY_CACHE_STATUSES", "200,301,404")) {
		n, err := strconv.Atoi(v)
		if err != nil || !slices.Contains(cacheableStatuses, n) {
			errs = append(errs, fmt.Errorf("GATEWAY_CACHE_STATUSES: %q is not one of %v", v, cacheableStatuses))
			continue
		}
		cfg.CacheStatuses = append(cfg.CacheStatuses, n)
	}
	cfg.CacheRoutes = loadCacheRoutes(func(name string, def time.Duration) time.Duration { return dur(name, def, true) },
		cfg.CacheStatuses, cfg.CacheNegative)
	cfg.InstanceID = get("GATEWAY_INSTANCE_ID", "")
	if cfg.InstanceID == "" {
		_, port, _ := net.SplitHostPort(cfg.Addr)
		cfg.InstanceID = get("HOSTNAME", "local") + "-" + port
	}
	if cfg.UpstreamTransport != "direct" && cfg.UpstreamTransport != "std" {
		errs = append(errs, fmt.Errorf("GATEWAY_UPSTREAM_TRANSPORT: %q is not direct or std", cfg.UpstreamTransport))
	}
	if cfg.BreakerFailures == 0 {
		errs = append(errs, errors.New("GATEWAY_BREAKER_FAILURES: must be positive"))
	}
	if cfg.MaxBody == 0 {
		errs = append(errs, errors.New("GATEWAY_MAX_BODY_BYTES: must be positive"))
	}
	if u, err := url.Parse(cfg.AuthURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("AUTH_URL: %q is not an http(s) URL", cfg.AuthURL))
	}
	for _, p := range splitList(getenv("GATEWAY_TRUSTED_PROXIES")) {
		pfx, err := netip.ParsePrefix(p)
		if err != nil {
			addr, err2 := netip.ParseAddr(p)
			if err2 != nil {
				errs = append(errs, fmt.Errorf("GATEWAY_TRUSTED_PROXIES: %q is not an IP or CIDR", p))
				continue
			}
			pfx = netip.PrefixFrom(addr, addr.BitLen())
		}
		cfg.TrustedProxies = append(cfg.TrustedProxies, pfx.Masked())
	}
	for _, s := range serviceDefaults {
		name := strings.ToUpper(s.name) + "_SERVICE_URLS"
		sc := ServiceConfig{Name: s.name}
		for _, raw := range splitList(get(name, s.url)) {
			u, err := parseInstanceURL(raw)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", name, err))
				continue
			}
			sc.URLs = append(sc.URLs, u)
		}
		if len(sc.URLs) == 0 {
			errs = append(errs, fmt.Errorf("%s: no instance", name))
		}
		cfg.Services = append(cfg.Services, sc)
	}
	return cfg, errors.Join(errs...)
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

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

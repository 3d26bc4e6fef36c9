package shared

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Env reads a program's configuration through the getenv its loadConfig received (os.Getenv in main, a
// map in tests); shared itself reads no environment. Each method reads one variable:
//   - an unset or all-blank value means the default; set values are trimmed (secrets are not);
//   - a bad value is recorded as "NAME=\"value\": want ..." (a secret's value is never shown) and the
//     method returns the default, so loadConfig reads on and Err reports every bad value at once;
//   - every read is recorded in Vars (name, kind, default), which each program's docs test compares
//     with docs/config.md.
//
// Rules that relate several variables stay in the program; it reports them with Errorf.
// An Env is used by one goroutine, once, at start.
type Env struct {
	getenv func(string) string
	vars   []EnvVar
	errs   []error
}

// EnvVar is one variable a program reads: its name, its kind (what values it accepts, as
// docs/config.md shows it) and its default as text ("" when it has none).
type EnvVar struct {
	Name, Kind, Default string
}

// NewEnv returns an Env reading through getenv.
func NewEnv(getenv func(string) string) *Env { return &Env{getenv: getenv} }

// Err joins every bad value reported so far, in reading order; nil when all were good.
func (e *Env) Err() error { return errors.Join(e.errs...) }

// Vars lists the variables read so far, in reading order.
func (e *Env) Vars() []EnvVar { return slices.Clone(e.vars) }

// Errorf reports a bad value of name that the program found itself (a rule across variables, or
// parsing of its own): the message is "NAME: " + the formatted text.
func (e *Env) Errorf(name, format string, args ...any) {
	e.errs = append(e.errs, fmt.Errorf("%s: %s", name, fmt.Sprintf(format, args...)))
}

// IsSet reports whether name has a non-blank value. It records nothing: the variable must also be
// read by one of the typed methods.
func (e *Env) IsSet(name string) bool { return strings.TrimSpace(e.getenv(name)) != "" }

// read records the variable and returns its trimmed value, "" when unset.
func (e *Env) read(name, kind, def string) string {
	e.vars = append(e.vars, EnvVar{Name: name, Kind: kind, Default: def})
	return strings.TrimSpace(e.getenv(name))
}

func (e *Env) bad(name, value, want string) {
	e.errs = append(e.errs, fmt.Errorf("%s=%q: want %s", name, value, want))
}

// String returns name's value, or def.
func (e *Env) String(name, def string) string {
	if v := e.read(name, "string", def); v != "" {
		return v
	}
	return def
}

// Secret returns name's value exactly as set (not trimmed: a password may end in a blank), default
// empty. Its value never appears in an error.
func (e *Env) Secret(name string) string {
	e.vars = append(e.vars, EnvVar{Name: name, Kind: "secret"})
	return e.getenv(name)
}

// Int returns name as an integer in [lo, hi], or def.
func (e *Env) Int(name string, def, lo, hi int) int {
	return int(e.Int64(name, int64(def), int64(lo), int64(hi)))
}

// Int64 returns name as an integer in [lo, hi], or def.
func (e *Env) Int64(name string, def, lo, hi int64) int64 {
	kind := fmt.Sprintf("integer %d..%d", lo, hi)
	if hi == math.MaxInt64 {
		kind = fmt.Sprintf("integer >= %d", lo)
	}
	v := e.read(name, kind, strconv.FormatInt(def, 10))
	if v == "" {
		return def
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < lo || n > hi {
		e.bad(name, v, "an "+kind)
		return def
	}
	return n
}

// Duration returns name as a time.ParseDuration value in [lo, hi], or def.
func (e *Env) Duration(name string, def, lo, hi time.Duration) time.Duration {
	kind := "duration " + FormatDuration(lo) + ".." + FormatDuration(hi)
	switch {
	case hi == math.MaxInt64 && lo == 1:
		kind = "duration > 0"
	case hi == math.MaxInt64:
		kind = "duration >= " + FormatDuration(lo)
	}
	v := e.read(name, kind, FormatDuration(def))
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < lo || d > hi {
		e.bad(name, v, "a "+kind)
		return def
	}
	return d
}

// Bool returns name as a strconv.ParseBool value (true, false, 1, 0, ...), or def.
func (e *Env) Bool(name string, def bool) bool {
	v := e.read(name, "bool", strconv.FormatBool(def))
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		e.bad(name, v, "true or false")
		return def
	}
	return b
}

// OneOf returns name's value, lower-cased, if it is one of allowed (compared ignoring case), or def.
func (e *Env) OneOf(name, def string, allowed ...string) string {
	kind := strings.Join(allowed, "/")
	v := e.read(name, kind, def)
	if v == "" {
		return def
	}
	for _, a := range allowed {
		if strings.EqualFold(v, a) {
			return a
		}
	}
	e.bad(name, v, "one of "+strings.Join(allowed, ", "))
	return def
}

// LogLevel returns LOG_LEVEL: debug, info (the default), warn or error.
func (e *Env) LogLevel() string {
	return e.OneOf("LOG_LEVEL", "info", "debug", "info", "warn", "error")
}

// List returns name's comma-separated items, blanks trimmed and empty items dropped; def is parsed
// the same way. The result may be empty.
func (e *Env) List(name, def string) []string {
	v := e.read(name, "list", def)
	if v == "" {
		v = def
	}
	return splitComma(v)
}

// HostPort returns name as host:port (host may be empty: ":3000" listens on every interface), or def.
func (e *Env) HostPort(name, def string) string {
	v := e.read(name, "host:port", def)
	if v == "" {
		return def
	}
	if _, _, err := net.SplitHostPort(v); err != nil {
		e.bad(name, v, "host:port")
		return def
	}
	return v
}

// HostPorts returns name as a comma-separated list of at least one host:port (Kafka brokers), or def.
func (e *Env) HostPorts(name, def string) []string {
	v := e.read(name, "list of host:port", def)
	if v == "" {
		return splitComma(def)
	}
	items := splitComma(v)
	if len(items) == 0 {
		e.bad(name, v, "at least one host:port")
		return splitComma(def)
	}
	for _, it := range items {
		if _, _, err := net.SplitHostPort(it); err != nil {
			e.bad(name, it, "host:port")
			return splitComma(def)
		}
	}
	return items
}

// URL returns name as an absolute http(s) URL with a host, as written, or def.
func (e *Env) URL(name, def string) string { return e.url(name, def, "url", false) }

// BaseURL is URL with the trailing "/" removed, so that paths can be appended (an issuer, a service's
// root). def is returned as written.
func (e *Env) BaseURL(name, def string) string { return e.url(name, def, "base url", true) }

func (e *Env) url(name, def, kind string, trim bool) string {
	v := e.read(name, kind, def)
	if v == "" {
		return def
	}
	if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		e.bad(name, v, "an http(s) URL with a host")
		return def
	}
	if trim {
		v = strings.TrimRight(v, "/")
	}
	return v
}

// MongoURI returns MONGO_URI, a mongodb:// or mongodb+srv:// URI; empty (the default) means the
// program keeps its data in memory. The value may hold a password and is never shown.
func (e *Env) MongoURI() string {
	v := e.read("MONGO_URI", "mongodb url", "")
	if v != "" && !strings.HasPrefix(v, "mongodb://") && !strings.HasPrefix(v, "mongodb+srv://") {
		e.Errorf("MONGO_URI", "want a mongodb:// or mongodb+srv:// URI")
		return ""
	}
	return v
}

// Prefixes returns name as a comma-separated list of CIDR prefixes or single IP addresses (masked
// prefixes; an address becomes its /32 or /128), or def parsed the same way.
func (e *Env) Prefixes(name, def string) []netip.Prefix {
	v := e.read(name, "list of IP or CIDR", def)
	if v == "" {
		v = def
	}
	var out []netip.Prefix
	for _, p := range splitComma(v) {
		pfx, err := netip.ParsePrefix(p)
		if err != nil {
			addr, err2 := netip.ParseAddr(p)
			if err2 != nil {
				e.bad(name, p, "an IP address or CIDR prefix")
				continue
			}
			pfx = netip.PrefixFrom(addr, addr.BitLen())
		}
		out = append(out, pfx.Masked())
	}
	return out
}

// InstanceID returns name, the ID of one instance of a program that runs several (its Kafka consumer
// group is "<program>-<ID>", since every instance must see every event), or by default
// "<HOSTNAME>-<port of httpAddr>": stable across restarts of one container, so the group's committed
// offsets are reused; "local-<port>" without HOSTNAME. Letters, digits, '-', '_' and '.' only.
func (e *Env) InstanceID(name, httpAddr string) string {
	id := e.String(name, "")
	if id == "" {
		_, port, _ := net.SplitHostPort(httpAddr)
		id = e.String("HOSTNAME", "local") + "-" + port
	}
	for _, r := range id {
		if !(r == '-' || r == '_' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			e.bad(name, id, "letters, digits, '-', '_' and '.' only")
			break
		}
	}
	return id
}

// BackendConfig is the block of variables every back-end service with a store and events reads
// (user, product, inventory, order); a program's Config embeds it.
type BackendConfig struct {
	ServiceConfig          // HTTP_ADDR, LOG_LEVEL, OTEL_*, PPROF_ADDR (see Env.Service)
	MongoURI      string   // MONGO_URI, default empty: the in-memory store (see MongoURI)
	MongoDB       string   // MONGO_DB, default the program's name
	KafkaBrokers  []string // KAFKA_BROKERS, at least one host:port; default 127.0.0.1:9092
	JWKSURL       string   // JWKS_URL, auth's key set; default http://127.0.0.1:4000/.well-known/jwks.json
	AuthIssuer    string   // AUTH_ISSUER, the "iss" of access tokens; default http://localhost:3008/auth
}

// Backend reads the BackendConfig of the program called name, whose default HTTP_ADDR is httpAddr.
func (e *Env) Backend(name, httpAddr string) BackendConfig {
	return BackendConfig{
		ServiceConfig: e.Service(httpAddr),
		MongoURI:      e.MongoURI(),
		MongoDB:       e.String("MONGO_DB", name),
		KafkaBrokers:  e.HostPorts("KAFKA_BROKERS", "127.0.0.1:9092"),
		JWKSURL:       e.URL("JWKS_URL", "http://127.0.0.1:4000/.well-known/jwks.json"),
		AuthIssuer:    e.BaseURL("AUTH_ISSUER", "http://localhost:3008/auth"),
	}
}

// Redis reads REDIS_URL, REDIS_HOST (default 127.0.0.1), REDIS_PORT (6379), REDIS_PASSWORD and
// REDIS_DB (defDB, 0..15). A REDIS_URL without a database gets REDIS_DB (see RedisURLWithDB); its value
// may hold a password and is never shown.
func (e *Env) Redis(defDB int) RedisConfig {
	cfg := RedisConfig{
		URL:      e.read("REDIS_URL", "redis url", ""),
		Host:     e.String("REDIS_HOST", "127.0.0.1"),
		Port:     e.Int("REDIS_PORT", 6379, 1, 65535),
		Password: e.Secret("REDIS_PASSWORD"),
		DB:       e.Int("REDIS_DB", defDB, 0, 15),
	}
	u, err := RedisURLWithDB(cfg.URL, cfg.DB)
	if err != nil {
		e.errs = append(e.errs, err)
	}
	cfg.URL = u
	return cfg
}

// EnvParse reads name with the program's own parser, for kinds only one program has (a rate spec, a
// JSON client list): an unset value parses def, a bad one is reported as "NAME: <parse error>" and
// def is parsed instead. kind is how docs/config.md shows the accepted form.
func EnvParse[T any](e *Env, name, kind, def string, parse func(string) (T, error)) T {
	v := e.read(name, kind, def)
	if v != "" {
		t, err := parse(v)
		if err == nil {
			return t
		}
		e.Errorf(name, "%v", err)
	}
	t, err := parse(def)
	if err != nil {
		e.Errorf(name, "default %q: %v", def, err)
	}
	return t
}

// FormatDuration writes d as time.Duration.String does, without zero trailing units: "15m" rather
// than "15m0s", "720h" rather than "720h0m0s".
func FormatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func splitComma(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

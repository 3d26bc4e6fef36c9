package shared

import (
	"math"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
)

func mapEnv(m map[string]string) *Env { return NewEnv(func(k string) string { return m[k] }) }

func TestEnvDefaultsAndValues(t *testing.T) {
	t.Parallel()
	e := mapEnv(map[string]string{
		"S": "  text ", "P": " pw ", "I": "7", "D": "90s", "B": "false", "O": "WARN", "L": " a, ,b ",
		"HP": ":3000", "HPS": "k1:9092, k2:9093", "U": "https://x.example/jwks.json", "BU": "http://x.example/auth/",
		"MONGO_URI": "mongodb://m:27017", "TP": "10.0.0.0/8, 192.168.1.7", "R": "5/s",
	})
	if got := e.String("S", "def"); got != "text" {
		t.Errorf("String = %q, want text", got)
	}
	if got := e.String("UNSET", "def"); got != "def" {
		t.Errorf("String unset = %q, want def", got)
	}
	if got := e.Secret("P"); got != " pw " {
		t.Errorf("Secret = %q, want it untrimmed", got)
	}
	if got := e.Int("I", 1, 0, 10); got != 7 {
		t.Errorf("Int = %d, want 7", got)
	}
	if got := e.Duration("D", time.Second, 0, time.Hour); got != 90*time.Second {
		t.Errorf("Duration = %s, want 90s", got)
	}
	if got := e.Bool("B", true); got {
		t.Errorf("Bool = true, want false")
	}
	if got := e.OneOf("O", "info", "debug", "info", "warn", "error"); got != "warn" {
		t.Errorf("OneOf = %q, want warn", got)
	}
	if got := e.List("L", "x"); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("List = %q, want [a b]", got)
	}
	if got := e.List("UNSET_LIST", "x, y"); !slices.Equal(got, []string{"x", "y"}) {
		t.Errorf("List default = %q, want [x y]", got)
	}
	if got := e.HostPort("HP", "127.0.0.1:1"); got != ":3000" {
		t.Errorf("HostPort = %q, want :3000", got)
	}
	if got := e.HostPorts("HPS", "127.0.0.1:9092"); !slices.Equal(got, []string{"k1:9092", "k2:9093"}) {
		t.Errorf("HostPorts = %q", got)
	}
	if got := e.URL("U", ""); got != "https://x.example/jwks.json" {
		t.Errorf("URL = %q", got)
	}
	if got := e.BaseURL("BU", ""); got != "http://x.example/auth" {
		t.Errorf("BaseURL = %q, want the trailing / trimmed", got)
	}
	if got := e.MongoURI(); got != "mongodb://m:27017" {
		t.Errorf("MongoURI = %q", got)
	}
	want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.168.1.7/32")}
	if got := e.Prefixes("TP", ""); !slices.Equal(got, want) {
		t.Errorf("Prefixes = %v, want %v", got, want)
	}
	rate := func(s string) (int, error) { n, _, _ := strings.Cut(s, "/"); return len(n), nil }
	if got := EnvParse(e, "R", "rate", "100/s", rate); got != 1 {
		t.Errorf("EnvParse = %d, want 1", got)
	}
	if got := e.Redis(6); got != (RedisConfig{Host: "127.0.0.1", Port: 6379, DB: 6}) {
		t.Errorf("Redis defaults = %+v", got)
	}
	if err := e.Err(); err != nil {
		t.Fatalf("Err = %v, want nil", err)
	}
}

// TestEnvReportsEveryBadValue checks the property loadConfig relies on: each bad value is named in
// one error, the defaults are kept, and secrets never appear.
func TestEnvReportsEveryBadValue(t *testing.T) {
	t.Parallel()
	bad := map[string]string{
		"I": "x", "I2": "11", "D": "soon", "D2": "2h", "B": "maybe", "O": "loud", "HP": "nope",
		"HPS": " , ", "HPS2": "k1", "U": "ftp://x", "BU": "/relative", "MONGO_URI": "postgres://u:s3cret@db",
		"TP": "10.0.0.0/8,nope", "R": "bad", "REDIS_URL": "http://:s3cret@r:6379", "REDIS_PORT": "0", "REDIS_DB": "16",
	}
	e := mapEnv(bad)
	if e.Int("I", 1, 0, 10) != 1 || e.Int("I2", 1, 0, 10) != 1 {
		t.Error("a bad Int did not keep the default")
	}
	if e.Duration("D", time.Second, 0, time.Hour) != time.Second || e.Duration("D2", time.Second, 0, time.Hour) != time.Second {
		t.Error("a bad Duration did not keep the default")
	}
	if !e.Bool("B", true) || e.OneOf("O", "info", "info", "warn") != "info" || e.HostPort("HP", "h:1") != "h:1" {
		t.Error("a bad Bool, OneOf or HostPort did not keep the default")
	}
	if got := e.HostPorts("HPS", "d:1"); !slices.Equal(got, []string{"d:1"}) {
		t.Errorf("HostPorts blank = %q, want the default", got)
	}
	e.HostPorts("HPS2", "d:1")
	if e.URL("U", "http://d") != "http://d" || e.BaseURL("BU", "http://d") != "http://d" || e.MongoURI() != "" {
		t.Error("a bad URL, BaseURL or MongoURI did not keep the default")
	}
	if got := e.Prefixes("TP", ""); len(got) != 1 {
		t.Errorf("Prefixes = %v, want the good one kept", got)
	}
	EnvParse(e, "R", "rate", "1", func(s string) (int, error) {
		if s == "bad" {
			return 0, errString("not a rate")
		}
		return 1, nil
	})
	e.Redis(2)
	e.Errorf("CROSS", "must not be shorter than %s", "OTHER")
	err := e.Err()
	if err == nil {
		t.Fatal("Err = nil")
	}
	for name := range bad {
		if !strings.Contains(err.Error(), name+"=") && !strings.Contains(err.Error(), name+":") {
			t.Errorf("error does not name %s: %v", name, err)
		}
	}
	if !strings.Contains(err.Error(), "CROSS: must not be shorter than OTHER") {
		t.Errorf("error lacks the program's own message: %v", err)
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Errorf("error shows a secret: %v", err)
	}
}

type errString string

func (e errString) Error() string { return string(e) }

func TestEnvVarsRecordsEveryRead(t *testing.T) {
	t.Parallel()
	e := mapEnv(nil)
	e.HostPort("HTTP_ADDR", "127.0.0.1:3000")
	e.Duration("TTL", 15*time.Minute, time.Second, 7*24*time.Hour)
	e.Int("N", 5, 0, 1<<62)
	e.Duration("POLL", time.Second, 1, math.MaxInt64)
	e.Secret("PASSWORD")
	e.LogLevel()
	e.IsSet("NOT_RECORDED")
	want := []EnvVar{
		{"HTTP_ADDR", "host:port", "127.0.0.1:3000"},
		{"TTL", "duration 1s..168h", "15m"},
		{"N", "integer 0..4611686018427387904", "5"},
		{"POLL", "duration > 0", "1s"},
		{"PASSWORD", "secret", ""},
		{"LOG_LEVEL", "debug/info/warn/error", "info"},
	}
	if got := e.Vars(); !slices.Equal(got, want) {
		t.Errorf("Vars =\n%v\nwant\n%v", got, want)
	}
}

func TestFormatDuration(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{15 * time.Minute: "15m", 720 * time.Hour: "720h", 90 * time.Second: "1m30s",
		10 * time.Millisecond: "10ms", 0: "0s", time.Hour + time.Second: "1h0m1s"} {
		if got := FormatDuration(d); got != want {
			t.Errorf("FormatDuration(%d) = %q, want %q", d, got, want)
		}
	}
}

func TestAllTopicsIsACopy(t *testing.T) {
	t.Parallel()
	a := AllTopics()
	a[0] = "changed"
	if b := AllTopics(); b[0] != TopicUser || len(b) != 4 {
		t.Errorf("AllTopics() = %v after a caller changed its copy", b)
	}
}

func TestEnvInstanceID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		env     map[string]string
		want    string
		wantErr bool
	}{
		{env: nil, want: "local-3009"},
		{env: map[string]string{"HOSTNAME": "rt-7f9c"}, want: "rt-7f9c-3009"},
		{env: map[string]string{"HOSTNAME": "rt-7f9c", "X_INSTANCE_ID": "blue.1"}, want: "blue.1"},
		{env: map[string]string{"X_INSTANCE_ID": "a b"}, want: "a b", wantErr: true},
		{env: map[string]string{"HOSTNAME": "evil/host"}, want: "evil/host-3009", wantErr: true},
	}
	for _, tt := range tests {
		e := mapEnv(tt.env)
		got := e.InstanceID("X_INSTANCE_ID", "127.0.0.1:3009")
		if err := e.Err(); got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("InstanceID with %v = %q, err %v; want %q, error %v", tt.env, got, err, tt.want, tt.wantErr)
		}
	}
}

// FuzzEnv feeds one value to every reader: none may panic, and each either returns a value within its
// bounds or reports the variable and keeps the default.
func FuzzEnv(f *testing.F) {
	for _, s := range []string{"", "7", "-1", "90s", "1h", "true", "WARN", "a,b", ":3000", "k:1,k:2", "http://x/", "mongodb://m",
		"10.0.0.0/8", "::1", "redis://:p@r:6379", "9223372036854775807", "1e9", " , ", "\x00", "http://%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		e := NewEnv(func(string) string { return v })
		if n := e.Int("I", 5, 0, 100); n < 0 || n > 100 {
			t.Errorf("Int(%q) = %d, outside [0, 100]", v, n)
		}
		if d := e.Duration("D", time.Second, time.Millisecond, time.Hour); d < time.Millisecond || d > time.Hour {
			t.Errorf("Duration(%q) = %s, outside [1ms, 1h]", v, d)
		}
		e.Bool("B", true)
		if l := e.OneOf("O", "info", "debug", "info"); l != "debug" && l != "info" {
			t.Errorf("OneOf(%q) = %q", v, l)
		}
		e.List("L", "x")
		e.HostPort("HP", "h:1")
		if hs := e.HostPorts("HPS", "h:1"); len(hs) == 0 {
			t.Errorf("HostPorts(%q) is empty", v)
		}
		e.URL("U", "http://d")
		e.BaseURL("BU", "http://d")
		e.MongoURI()
		e.Prefixes("TP", "")
		e.Redis(2)
		e.InstanceID("ID", "127.0.0.1:1")
		// 17 reads, and HOSTNAME when the instance ID is unset.
		if n := len(e.Vars()); n != 17 && !(strings.TrimSpace(v) == "" && n == 18) {
			t.Errorf("Vars recorded %d reads, want 17", n)
		}
	})
}

package main

import (
	"context"
	"github.com/goshop/platform/shared/sharedtest"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// TestRun starts the real program against a fake gateway, waits for /readyz, and stops it.
func TestRun(t *testing.T) {
	gw := newFakeGateway(t)
	env := map[string]string{"HTTP_ADDR": sharedtest.FreeAddr(t), "GATEWAY_URL": gw.srv.URL}
	p := sharedtest.Start(t, run, []string{"storefront"}, env, "/readyz", 10*time.Second)
	if status, _ := sharedtest.Get(t, p.Base+"/"); status != http.StatusOK {
		t.Errorf("GET /: status = %d, want %d", status, http.StatusOK)
	}
	if err := p.Stop(t); err != nil {
		t.Errorf("run: %v", err)
	}
}

func TestRunFailsOnBadConfig(t *testing.T) {
	t.Parallel()
	err := run(context.Background(), nil, mapEnv(map[string]string{"GATEWAY_URL": "ftp://x", "LOG_LEVEL": "loud"}), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "GATEWAY_URL") || !strings.Contains(err.Error(), "LOG_LEVEL") {
		t.Fatalf("run with bad config: err = %v, want both bad values reported", err)
	}
}

func TestLoadConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		env     map[string]string
		wantErr []string
		check   func(t *testing.T, c Config)
	}{
		{name: "defaults", env: map[string]string{}, check: func(t *testing.T, c Config) {
			if c.HTTPAddr != "127.0.0.1:3000" || c.GatewayURL != "http://127.0.0.1:3008" || c.ClientID != "storefront" ||
				c.PublicURL != "http://localhost:3000" || c.Issuer != "http://localhost:3008/auth" {
				t.Errorf("defaults = %+v", c)
			}
			if !c.secretGenerated || len(c.Secret) != 32 {
				t.Errorf("secret not generated")
			}
			if c.RedisConfigured || c.Redis.DB != 6 {
				t.Errorf("redis = %+v configured %v, want unconfigured with DB 6", c.Redis, c.RedisConfigured)
			}
		}},
		{name: "secure, redis by host", env: map[string]string{"STOREFRONT_SECRET": strings.Repeat("k", 40), "STOREFRONT_COOKIE_SECURE": "true",
			"REDIS_HOST": "cache", "REDIS_PORT": "6380", "AUTH_ISSUER": "https://shop.example.com/auth/", "STOREFRONT_PUBLIC_URL": "https://shop.example.com/"}, check: func(t *testing.T, c Config) {
			if !c.CookieSecure || c.secretGenerated {
				t.Errorf("cfg = %+v", c)
			}
			if !c.RedisConfigured || c.Redis.Host != "cache" || c.Redis.Port != 6380 || c.Redis.DB != 6 {
				t.Errorf("redis = %+v", c.Redis)
			}
			if c.Issuer != "https://shop.example.com/auth" || c.redirectURI() != "https://shop.example.com/auth/callback" {
				t.Errorf("issuer %q, redirect URI %q", c.Issuer, c.redirectURI())
			}
		}},
		{name: "redis URL without a database gets DB 6", env: map[string]string{"REDIS_URL": "redis://:pw@cache:6379"}, check: func(t *testing.T, c Config) {
			if c.Redis.URL != "redis://:pw@cache:6379/6" {
				t.Errorf("REDIS_URL = %q", c.Redis.URL)
			}
		}},
		{name: "all bad at once", env: map[string]string{"GATEWAY_URL": "nope", "STOREFRONT_SECRET": "short", "STOREFRONT_COOKIE_SECURE": "maybe", "LOG_LEVEL": "x",
			"REDIS_URL": "http://x", "REDIS_DB": "-1", "AUTH_ISSUER": "x", "STOREFRONT_PUBLIC_URL": "ftp://x", "REDIS_PORT": "70000", "HTTP_ADDR": "3000"},
			wantErr: []string{"GATEWAY_URL", "STOREFRONT_SECRET", "STOREFRONT_COOKIE_SECURE", "LOG_LEVEL", "REDIS_URL", "REDIS_DB", "AUTH_ISSUER", "STOREFRONT_PUBLIC_URL",
				"REDIS_PORT", "HTTP_ADDR"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := loadConfig(mapEnv(tt.env))
			for _, w := range tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("loadConfig: err = %v, want it to mention %s", err, w)
				}
			}
			if len(tt.wantErr) == 0 && err != nil {
				t.Fatalf("loadConfig: %v", err)
			}
			if tt.check != nil {
				tt.check(t, c)
			}
		})
	}
}

// TestParsePages proves every page parses at start-up and that a broken template fails start-up.
func TestParsePages(t *testing.T) {
	t.Parallel()
	pg, err := parsePages(assets)
	if err != nil {
		t.Fatalf("parsePages: %v", err)
	}
	if len(pg.sets) != len(pageNames) || pg.version == "" {
		t.Errorf("parsed %d sets (version %q), want %d", len(pg.sets), pg.version, len(pageNames))
	}
	broken := fstest.MapFS{"templates/base.html": {Data: []byte(`{{define "base"}}{{template "content" .}}{{end}}`)}, "static/a.css": {Data: []byte("x")}}
	for _, n := range pageNames {
		broken["templates/"+n] = &fstest.MapFile{Data: []byte(`{{define "content"}}{{end}}`)}
	}
	broken["templates/cart.html"] = &fstest.MapFile{Data: []byte(`{{define "content"}}{{if}}{{end}}`)}
	if _, err := parsePages(broken); err == nil || !strings.Contains(err.Error(), "cart.html") {
		t.Errorf("parsePages(broken cart.html): err = %v, want a parse error naming cart.html", err)
	}
}

// TestRunRedisReadiness: with REDIS_URL set, run keeps sessions in Redis and /readyz names Redis when
// it is unreachable; without any REDIS_* variable it warns that sessions are in memory.
func TestRunRedisReadiness(t *testing.T) {
	t.Parallel()
	gw := newFakeGateway(t)
	env := map[string]string{"HTTP_ADDR": sharedtest.FreeAddr(t), "GATEWAY_URL": gw.srv.URL, "REDIS_URL": "redis://" + sharedtest.ClosedAddr}
	p := sharedtest.Start(t, run, nil, env, "/healthz", 10*time.Second)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		status, body := sharedtest.Get(t, p.Base+"/readyz")
		if status == http.StatusServiceUnavailable && strings.Contains(body, "redis") {
			break
		}
		if status == http.StatusOK {
			t.Fatalf("GET /readyz with Redis down: 200 %s", body)
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET /readyz never named redis as failing (last: %d %s)", status, body)
		}
	}
	if err := p.Stop(t); err != nil {
		t.Errorf("run: %v", err)
	}

	var logs strings.Builder
	ctx2, cancel2 := context.WithCancel(context.Background())
	cancel2()
	run(ctx2, nil, mapEnv(map[string]string{"HTTP_ADDR": sharedtest.FreeAddr(t), "GATEWAY_URL": gw.srv.URL}), &logs, io.Discard)
	if !strings.Contains(logs.String(), "kept in memory") {
		t.Errorf("run without Redis did not warn about in-memory sessions:\n%s", logs.String())
	}
}

package main

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/goshop/platform/shared/sharedtest"
)

func TestLoadConfig(t *testing.T) {
	t.Parallel()
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

	cfg, err := loadConfig(env(nil))
	if err != nil {
		t.Fatalf("defaults: %v", err)
	}
	if cfg.HTTPAddr != "127.0.0.1:3008" || cfg.Redis.DB != 2 || len(cfg.Services) != 6 || cfg.HealthInterval != 3*time.Second ||
		cfg.BreakerFailures != 5 || cfg.BreakerTimeout != 30*time.Second || cfg.Services[2].URLs[0].String() != "http://127.0.0.1:3002" {
		t.Errorf("defaults = %+v", cfg)
	}

	if cfg.ConsumerGroup() != "gateway-local-3008" || !slices.Equal(cfg.CacheStatuses, []int{200, 301, 404}) ||
		cfg.CacheNegative != 10*time.Second || !slices.Equal(cfg.Brokers, []string{"127.0.0.1:9092"}) {
		t.Errorf("defaults: group %q, statuses %v, negative TTL %s, brokers %v", cfg.ConsumerGroup(), cfg.CacheStatuses, cfg.CacheNegative, cfg.Brokers)
	}
	cfg, err = loadConfig(env(map[string]string{"HOSTNAME": "gw-7f", "HTTP_ADDR": ":3008", "KAFKA_BROKERS": "k1:9092, k2:9092"}))
	if err != nil || cfg.ConsumerGroup() != "gateway-gw-7f-3008" || len(cfg.Brokers) != 2 {
		t.Errorf("HOSTNAME gw-7f: group %q, brokers %v, err %v; want gateway-gw-7f-3008 and 2 brokers", cfg.ConsumerGroup(), cfg.Brokers, err)
	}

	cfg, err = loadConfig(env(map[string]string{
		"PRODUCT_SERVICE_URLS": " http://a:3002 , http://b:3002/ ",
		"REDIS_URL":            "redis://r:6379",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Services[2].URLs; len(got) != 2 || got[1].String() != "http://b:3002" {
		t.Errorf("PRODUCT_SERVICE_URLS parsed as %v", got)
	}
	if cfg.Redis.URL != "redis://r:6379/2" {
		t.Errorf("REDIS_URL without a database = %q, want DB 2 added", cfg.Redis.URL)
	}

	err = sharedtest.CheckBadConfig(t, loadConfig, map[string]string{
		"USER_SERVICE_URLS":          "http://u:1/base",
		"ORDER_SERVICE_URLS":         ",",
		"GATEWAY_HEALTH_INTERVAL":    "soon",
		"REDIS_PORT":                 "x",
		"AUTH_URL":                   "auth",
		"TRUSTED_PROXIES":            "10.0.0.0/8,nope",
		"GATEWAY_MAX_BODY_BYTES":     "0",
		"GATEWAY_CACHE_STATUSES":     "200,302",
		"GATEWAY_UPSTREAM_TRANSPORT": "fast",
		"REDIS_URL":                  "http://:s3cret@r:6379",
		"GATEWAY_RATE_LIMIT":         "5/d:10",
		"GATEWAY_BREAKER_FAILURES":   "0",
		"GATEWAY_CACHE_STALE":        "-1s",
		"GATEWAY_INSTANCE_ID":        "gw 1",
		"KAFKA_BROKERS":              "k1",
		"HTTP_ADDR":                  "3008",
		"LOG_LEVEL":                  "loud",
	})
	if strings.Contains(err.Error(), "s3cret") {
		t.Errorf("bad config error shows the Redis password: %v", err)
	}
}

func TestConfigDoc(t *testing.T) {
	t.Parallel()
	sharedtest.CheckConfigDoc(t, "gateway", readConfig)
}

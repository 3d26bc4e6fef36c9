package main

import (
	"testing"

	"github.com/goshop/platform/shared/sharedtest"
)

func TestLoadConfig(t *testing.T) {
	t.Parallel()
	cfg, err := loadConfig(func(string) string { return "" })
	if err != nil {
		t.Fatalf("defaults: %v", err)
	}
	if cfg.HTTPAddr != "127.0.0.1:3009" || cfg.ConsumerGroup() != "realtime-local-3009" || len(cfg.AllowedOrigins) != 4 {
		t.Fatalf("defaults = %+v", cfg)
	}
	env := map[string]string{"HOSTNAME": "rt-7f9c", "HTTP_ADDR": ":3009", "ALLOWED_ORIGINS": "shop.example, https://admin.example"}
	cfg, err = loadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ConsumerGroup() != "realtime-rt-7f9c-3009" || cfg.CatalogGroup() != "realtime-rt-7f9c-3009-catalog" || len(cfg.AllowedOrigins) != 2 {
		t.Fatalf("cfg = %+v, want groups realtime-rt-7f9c-3009(-catalog) and 2 origins", cfg)
	}

	bad := map[string]string{"HTTP_ADDR": "nope", "KAFKA_BROKERS": " , ", "JWKS_URL": "ftp://x", "AUTH_URL": "::", "LOG_LEVEL": "loud", "REALTIME_INSTANCE_ID": "a b",
		"AUTH_ISSUER": "issuer"}
	sharedtest.CheckBadConfig(t, loadConfig, bad)
}

func TestConfigDoc(t *testing.T) {
	t.Parallel()
	sharedtest.CheckConfigDoc(t, "realtime", readConfig)
}

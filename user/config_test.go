package main

import (
	"reflect"
	"testing"
	"time"

	"github.com/goshop/platform/shared"
	"github.com/goshop/platform/shared/sharedtest"
)

func TestLoadConfig(t *testing.T) {
	t.Parallel()
	want := Config{
		BackendConfig: shared.BackendConfig{
			ServiceConfig: shared.ServiceConfig{HTTPAddr: "127.0.0.1:3001", LogLevel: "info", Tracing: shared.TracingConfig{BatchDelay: 5 * time.Second}},
			MongoDB:       "user",
			KafkaBrokers:  []string{"127.0.0.1:9092"},
			JWKSURL:       "http://127.0.0.1:4000/.well-known/jwks.json",
			AuthIssuer:    "http://localhost:3008/auth",
		},
		Mail:          shared.MailConfig{From: `"GoShop" <shop@localhost>`, ShopName: "GoShop", ShopAddress: "1 Market Street, Springfield"},
		StorefrontURL: "http://localhost:3000", PublicAPIURL: "http://localhost:3008", OrderMailMaxAge: 24 * time.Hour}
	if cfg, err := loadConfig(func(string) string { return "" }); err != nil || !reflect.DeepEqual(cfg, want) {
		t.Errorf("defaults: cfg = %+v, err = %v; want %+v", cfg, err, want)
	}
	good := map[string]string{"HTTP_ADDR": ":3001", "KAFKA_BROKERS": "k1:9092, k2:9092", "LOG_LEVEL": "DEBUG", "MONGO_URI": "mongodb+srv://m.example"}
	cfg, err := loadConfig(func(k string) string { return good[k] })
	if err != nil || cfg.HTTPAddr != ":3001" || len(cfg.KafkaBrokers) != 2 || cfg.LogLevel != "debug" || cfg.MongoURI != good["MONGO_URI"] {
		t.Errorf("good values: cfg = %+v, err = %v", cfg, err)
	}
	bad := map[string]string{"HTTP_ADDR": "3001", "MONGO_URI": "http://m", "KAFKA_BROKERS": "k1", "JWKS_URL": "/jwks", "LOG_LEVEL": "loud",
		"SMTP_ADDR": "mailpit", "MAIL_FROM": "shop", "STOREFRONT_PUBLIC_URL": "shop.example", "PUBLIC_API_URL": "ftp://x", "UNSUBSCRIBE_SECRET": "short", "ORDER_MAIL_MAX_AGE": "10s"}
	sharedtest.CheckBadConfig(t, loadConfig, bad)
}

func TestConfigDoc(t *testing.T) {
	t.Parallel()
	sharedtest.CheckConfigDoc(t, "user", readConfig)
}

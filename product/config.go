package main

import "github.com/goshop/platform/shared"

// Config is the product service's configuration, read once at start (docs/config.md).
type Config struct {
	HTTPAddr     string   // HTTP_ADDR, default 127.0.0.1:3002
	MongoURI     string   // MONGO_URI; empty = in-memory store
	MongoDB      string   // MONGO_DB, default "product"
	KafkaBrokers []string // KAFKA_BROKERS, default 127.0.0.1:9092
	JWKSURL      string   // JWKS_URL, default http://127.0.0.1:4000/.well-known/jwks.json
	AuthIssuer   string   // AUTH_ISSUER, default http://localhost:3008/auth
	SeedDemoData bool     // SEED_DEMO_DATA, default true
	LogLevel     string   // LOG_LEVEL, default info
}

// loadConfig reads the configuration through getenv, applying defaults and reporting every bad value.
func loadConfig(getenv func(string) string) (Config, error) { return readConfig(shared.NewEnv(getenv)) }

// readConfig is loadConfig on an Env, so that the docs test can see what was read.
func readConfig(env *shared.Env) (Config, error) {
	cfg := Config{
		HTTPAddr:     env.HostPort("HTTP_ADDR", "127.0.0.1:3002"),
		MongoURI:     env.MongoURI(),
		MongoDB:      env.String("MONGO_DB", "product"),
		KafkaBrokers: env.HostPorts("KAFKA_BROKERS", "127.0.0.1:9092"),
		JWKSURL:      env.URL("JWKS_URL", "http://127.0.0.1:4000/.well-known/jwks.json"),
		AuthIssuer:   env.BaseURL("AUTH_ISSUER", "http://localhost:3008/auth"),
		SeedDemoData: env.Bool("SEED_DEMO_DATA", true),
		LogLevel:     env.LogLevel(),
	}
	return cfg, env.Err()
}

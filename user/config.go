package main

import (
	"fmt"

	"github.com/goshop/platform/shared"
)

// Config is the user service's configuration, read once at start from the environment
// (docs/config.md).
type Config struct {
	HTTPAddr   string   // HTTP_ADDR, default 127.0.0.1:3001
	MongoURI   string   // MONGO_URI, default empty: in-memory store
	MongoDB    string   // MONGO_DB, default "user"
	Brokers    []string // KAFKA_BROKERS, default 127.0.0.1:9092
	JWKSURL    string   // JWKS_URL, default http://127.0.0.1:4000/.well-known/jwks.json
	AuthIssuer string   // AUTH_ISSUER, default http://localhost:3008/auth
	LogLevel   string   // LOG_LEVEL, default info
}

// loadConfig reads the configuration through getenv, applying defaults, and reports every bad value at
// once.
func loadConfig(getenv func(string) string) (Config, error) { return readConfig(shared.NewEnv(getenv)) }

// readConfig is loadConfig on an Env, so that the docs test can see what was read.
func readConfig(env *shared.Env) (Config, error) {
	cfg := Config{
		HTTPAddr:   env.HostPort("HTTP_ADDR", "127.0.0.1:3001"),
		MongoURI:   env.MongoURI(),
		MongoDB:    env.String("MONGO_DB", "user"),
		Brokers:    env.HostPorts("KAFKA_BROKERS", "127.0.0.1:9092"),
		JWKSURL:    env.URL("JWKS_URL", "http://127.0.0.1:4000/.well-known/jwks.json"),
		AuthIssuer: env.BaseURL("AUTH_ISSUER", "http://localhost:3008/auth"),
		LogLevel:   env.LogLevel(),
	}
	if err := env.Err(); err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	return cfg, nil
}

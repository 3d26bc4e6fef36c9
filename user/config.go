package main

import (
	"fmt"

	"github.com/goshop/platform/shared"
)

// Config is the user service's configuration, read once at start from the environment
// (docs/config.md): only the common block, with HTTP_ADDR 127.0.0.1:3001 and MONGO_DB "user".
type Config struct {
	shared.BackendConfig
}

// loadConfig reads the configuration through getenv, applying defaults, and reports every bad value at
// once.
func loadConfig(getenv func(string) string) (Config, error) { return readConfig(shared.NewEnv(getenv)) }

// readConfig is loadConfig on an Env, so that the docs test can see what was read.
func readConfig(env *shared.Env) (Config, error) {
	cfg := Config{BackendConfig: env.Backend("user", "127.0.0.1:3001")}
	if err := env.Err(); err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	return cfg, nil
}

package main

import "github.com/goshop/platform/shared"

// Config is the product service's configuration, read once at start (docs/config.md): the common
// block (HTTP_ADDR 127.0.0.1:3002, MONGO_DB "product") and SEED_DEMO_DATA.
type Config struct {
	shared.BackendConfig
	SeedDemoData bool // SEED_DEMO_DATA, default true
}

// loadConfig reads the configuration through getenv, applying defaults and reporting every bad value.
func loadConfig(getenv func(string) string) (Config, error) { return readConfig(shared.NewEnv(getenv)) }

// readConfig is loadConfig on an Env, so that the docs test can see what was read.
func readConfig(env *shared.Env) (Config, error) {
	cfg := Config{
		BackendConfig: env.Backend("product", "127.0.0.1:3002"),
		SeedDemoData:  env.Bool("SEED_DEMO_DATA", true),
	}
	return cfg, env.Err()
}

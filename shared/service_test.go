package shared_test

import (
	"bytes"
	"context"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/goshop/platform/shared"
)

// TestServiceOpen: each Open* registers its readiness check (and a closer that Abort runs cleanly);
// no MONGO_URI means no Mongo, a warning and no "mongo" check; a bad Redis URL is an error and
// registers nothing. Nothing here needs a server: clients connect lazily.
func TestServiceOpen(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, mongoURI    string
		redis             shared.RedisConfig
		wantDB, wantRedis bool // a database from OpenMongo, a client from OpenRedis
		wantChecks        []string
		wantLog           string // "": nothing logged
	}{
		{name: "memory", redis: shared.RedisConfig{Port: 1}, wantRedis: true,
			wantChecks: []string{"kafka", "redis"}, wantLog: "MONGO_URI not set"},
		{name: "mongo", mongoURI: "mongodb://127.0.0.1:1", redis: shared.RedisConfig{Port: 1}, wantDB: true, wantRedis: true,
			wantChecks: []string{"kafka", "mongo", "redis"}},
		{name: "bad redis url", redis: shared.RedisConfig{URL: "redis://[::1"},
			wantChecks: []string{"kafka"}, wantLog: "MONGO_URI not set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			s := shared.NewService(&out, "svc", "info")
			db, err := s.OpenMongo(t.Context(), tt.mongoURI, "svcdb")
			if err != nil {
				t.Fatalf("OpenMongo(%q): %v", tt.mongoURI, err)
			}
			if (db != nil) != tt.wantDB || db != nil && db.Name() != "svcdb" {
				t.Errorf("OpenMongo(%q) = %v, want a database: %v", tt.mongoURI, db, tt.wantDB)
			}
			s.OpenKafkaPublisher([]string{"127.0.0.1:1"})
			rdb, err := s.OpenRedis(tt.redis)
			if (err == nil) != tt.wantRedis || (rdb != nil) != tt.wantRedis {
				t.Errorf("OpenRedis(%+v) = %v, %v; want a client: %v", tt.redis, rdb, err, tt.wantRedis)
			}

			ctx, cancel := context.WithCancel(t.Context())
			cancel() // only the names matter: every check fails at once
			results, _ := s.Ready.Check(ctx)
			if got := slices.Sorted(maps.Keys(results)); !slices.Equal(got, tt.wantChecks) {
				t.Errorf("readiness checks = %v, want %v", got, tt.wantChecks)
			}
			if err := s.Abort(nil); err != nil {
				t.Errorf("Abort: closers failed: %v", err)
			}
			log := out.String()
			if tt.wantLog != "" && !strings.Contains(log, tt.wantLog) || tt.wantLog == "" && log != "" {
				t.Errorf("log = %q, want it to contain %q (or be empty)", log, tt.wantLog)
			}
			if tt.wantLog != "" && !strings.Contains(log, `"service":"svc"`) {
				t.Errorf("log = %q, want every line to name the service", log)
			}
		})
	}
}

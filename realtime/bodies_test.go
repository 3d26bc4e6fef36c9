package main

import (
	"io"
	"testing"

	"github.com/goshop/platform/shared"
	"github.com/goshop/platform/shared/sharedtest"
)

// TestRouteBodies: every body-taking route of routes.go answers 413 to a 2 MiB body and 400 to invalid
// UTF-8 in a text field (which encoding/json would otherwise store as U+FFFD).
func TestRouteBodies(t *testing.T) {
	t.Parallel()
	cfg, err := loadConfig(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	iss := sharedtest.NewIssuer(t)
	h := newHub(cfg.Hub, nil)
	t.Cleanup(h.shutdown)
	logger := shared.NewLogger(io.Discard, "realtime", "error")
	handler := NewServer(logger, cfg, shared.NewMetrics("realtime"), shared.NewReadiness(), h,
		newConsumer(h, logger, cfg.MaxEventAge, nil), iss.Verifier(), fakeSessions{}, &conns{})
	sharedtest.CheckBodies(t, handler, "routes.go", map[string]sharedtest.BodyCase{
		"POST /broadcast": {Header: []string{"Authorization", iss.Bearer(t, sharedtest.Admin)}, Body: `{"message":"hello` + sharedtest.Marker + `"}`},
		"POST /debug/gc":  {},
	})
}

package sharedtest

import (
	"context"
	"errors"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/goshop/platform/shared"
)

// TestGetReadyz reads a real shared.Readiness answer: a failing check makes it 503, named in Checks
// and Failed, while the passing one reads "ok".
func TestGetReadyz(t *testing.T) {
	t.Parallel()
	rd := shared.NewReadiness()
	rd.Add("mongo", func(context.Context) error { return nil })
	rd.Add("kafka", func(context.Context) error { return errors.New("no brokers") })
	srv := httptest.NewServer(rd.Handler())
	defer srv.Close()

	got := GetReadyz(t, srv.URL)
	if got.Status != 503 {
		t.Errorf("status = %d, want 503", got.Status)
	}
	if got.Checks["mongo"] != "ok" || got.Checks["kafka"] == "ok" || got.Checks["kafka"] == "" {
		t.Errorf("checks = %v, want mongo ok and kafka failing", got.Checks)
	}
	if !slices.Equal(got.Failed, []string{"kafka"}) {
		t.Errorf("failed = %v, want [kafka]", got.Failed)
	}
}

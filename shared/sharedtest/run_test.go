package sharedtest

import (
	"context"
	"errors"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

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

// TestCheckReadyKafkaDown: the check passes a 503 naming kafka (with mongo ok when asked), and
// reports a ready program, or a failing mongo check when the program runs on Mongo.
func TestCheckReadyKafkaDown(t *testing.T) {
	mongoReadyWait = 300 * time.Millisecond // only this package's test uses it: a failing row fails soon
	t.Parallel()
	fail := func(context.Context) error { return errors.New("down") }
	ok := func(context.Context) error { return nil }
	for _, tt := range []struct {
		name         string
		kafka, mongo func(context.Context) error
		onMongo      bool
		want         int // messages reported
	}{
		{"kafka down, mongo ok", fail, ok, true, 0},
		{"kafka down, no mongo asked", fail, fail, false, 0},
		{"kafka down, mongo down", fail, fail, true, 1},
		{"all ready", ok, ok, true, 1},
	} {
		rd := shared.NewReadiness()
		rd.Add("mongo", tt.mongo)
		rd.Add("kafka", tt.kafka)
		srv := httptest.NewServer(rd.Handler())
		rec := &recordTB{}
		CheckReadyKafkaDown(rec, srv.URL, tt.onMongo)
		srv.Close()
		if len(rec.msgs) != tt.want {
			t.Errorf("%s: reported %q, want %d messages", tt.name, rec.msgs, tt.want)
		}
	}
}

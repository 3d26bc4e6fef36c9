package main

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/goshop/platform/shared"
)

// handleHealth answers that the gateway itself is alive.
func handleHealth() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		shared.Encode(w, http.StatusOK, map[string]string{"status": "ok"})
	})
}

// handleHealthDetailed reports Redis, Kafka and every instance of every service: healthy (active
// checks), circuit state and last check latency. 200 with status "ok" when every service has an
// instance that can take requests and Redis and Kafka answer, else 503 with status "degraded" (the
// gateway still serves what it can; Redis down means no cache and no rate limits, Kafka down means
// writes that bypass the gateway are seen only when their cached answers expire).
func handleHealthDetailed(gw *gateway) http.Handler {
	type depStatus struct {
		Status string `json:"status"`
		Error  string `json:"error,omitempty"`
	}
	type response struct {
		Status string         `json:"status"`
		Info   map[string]any `json:"info"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res := response{Status: "ok", Info: map[string]any{}}
		redisErr, kafkaErr := gw.health.check(r.Context(), gw)
		rs := depStatus{Status: "up"}
		if redisErr != nil {
			rs = depStatus{Status: "down", Error: redisErr.Error()}
			res.Status = "degraded"
		}
		res.Info["redis"] = rs
		if gw.kafkaPing != nil {
			ks := depStatus{Status: "up"}
			if kafkaErr != nil {
				ks = depStatus{Status: "down", Error: kafkaErr.Error()}
				res.Status = "degraded"
			}
			res.Info["kafka"] = ks
		}
		for i, name := range gw.services {
			st := gw.pools[i].status()
			if st.Status != "up" {
				res.Status = "degraded"
			}
			res.Info[name] = st
		}
		status := http.StatusOK
		if res.Status != "ok" {
			status = http.StatusServiceUnavailable
		}
		w.Header().Set("Cache-Control", "no-store")
		shared.Encode(w, status, res)
	})
}

// depChecks runs /health/detailed's checks of Redis and Kafka at most once per ttl (1 s), one at a
// time, and shares the outcome: the route is public and never rate limited (monitors poll it), and
// each Kafka check is a new TCP connection to a broker, so without the bound every request made one
// (2 000 anonymous requests left 2 000 connections in TIME_WAIT, heading for the ephemeral port
// range towards the broker the gateway's consumer needs). A second is well under any monitor's
// polling period.
type depChecks struct {
	ttl time.Duration
	now func() time.Time

	mu           sync.Mutex
	at           time.Time // of the last check; zero: none yet
	redis, kafka error
}

func newDepChecks() *depChecks { return &depChecks{ttl: time.Second, now: time.Now} }

// check returns the errors of the last checks of Redis and gw's Kafka (nil: up), checking again
// first when they are older than ttl. The checks are detached from the caller's cancellation: their
// outcome is shared.
func (d *depChecks) check(ctx context.Context, gw *gateway) (redisErr, kafkaErr error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.at.IsZero() && d.now().Sub(d.at) < d.ttl {
		return d.redis, d.kafka
	}
	ctx = context.WithoutCancel(ctx)
	d.redis, d.kafka = gw.kv.Ping(ctx), nil
	if gw.kafkaPing != nil {
		kctx, cancel := context.WithTimeout(ctx, time.Second)
		d.kafka = gw.kafkaPing(kctx)
		cancel()
	}
	d.at = d.now()
	return d.redis, d.kafka
}

// handleHealthService reports one service's instances: 200 when it can take requests, 503 when not,
// 404 for a service the gateway does not front.
func handleHealthService(gw *gateway) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("service")
		p, ok := gw.pool(name)
		if !ok {
			shared.WriteError(w, r, nil, shared.Errorf(shared.CodeNotFound, "unknown service %q", name))
			return
		}
		st := p.status()
		status := http.StatusOK
		if st.Status != "up" {
			status = http.StatusServiceUnavailable
		}
		w.Header().Set("Cache-Control", "no-store")
		shared.Encode(w, status, st)
	})
}

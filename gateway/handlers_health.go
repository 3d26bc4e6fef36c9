package main

import (
	"context"
	"net/http"
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
		rs := depStatus{Status: "up"}
		if err := gw.kv.Ping(r.Context()); err != nil {
			rs = depStatus{Status: "down", Error: err.Error()}
			res.Status = "degraded"
		}
		res.Info["redis"] = rs
		if gw.kafkaPing != nil {
			ks := depStatus{Status: "up"}
			ctx, cancel := context.WithTimeout(r.Context(), time.Second)
			if err := gw.kafkaPing(ctx); err != nil {
				ks = depStatus{Status: "down", Error: err.Error()}
				res.Status = "degraded"
			}
			cancel()
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

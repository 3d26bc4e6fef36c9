package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/goshop/platform/shared"
)

// instance is one upstream process of a service.
type instance struct {
	url     *url.URL
	raw     string
	breaker *Breaker

	// healthy is the active health check's verdict; an instance starts healthy so the gateway serves
	// before the first check completes.
	healthy atomic.Bool
	// checkSeq numbers health checks; mu guards the result of the newest one applied, so a slow
	// check that finishes after a newer one cannot overwrite it.
	checkSeq atomic.Uint64
	mu       sync.Mutex
	applied  uint64
	fails    int
	latency  time.Duration
	lastErr  string
	checked  time.Time
}

// healthFallThreshold is how many failed checks in a row take an instance out; one success puts it back
// and turns an open breaker half-open (Breaker.Probe).
const healthFallThreshold = 2

// pool is a service's instances, picked round-robin among those healthy with a breaker that admits.
type pool struct {
	service   string
	instances []*instance
	next      atomic.Uint64
	logger    *slog.Logger
}

// errNoInstance is returned by pick when no instance can take a request; retryAfter says when one
// breaker turns half-open.
type errNoInstance struct {
	service    string
	retryAfter time.Duration
}

func (e *errNoInstance) Error() string {
	return fmt.Sprintf("no healthy instance of %s", e.service)
}

// newPool makes the pool of service; each instance's breaker opens after failures consecutive
// failures for timeout (zero values: the Settings defaults, 5 and 30 s).
func newPool(service string, urls []*url.URL, failures int, timeout time.Duration, logger *slog.Logger, metrics *shared.Metrics) *pool {
	p := &pool{service: service, logger: logger}
	transitions := metrics.Counter("gateway_breaker_transitions_total", "Circuit breaker state changes.", "upstream", "instance", "to")
	for _, u := range urls {
		inst := &instance{url: u, raw: u.String()}
		inst.healthy.Store(true)
		var trip func(Counts) bool
		if failures > 0 {
			trip = func(c Counts) bool { return c.ConsecutiveFailures >= uint32(failures) }
		}
		inst.breaker = NewBreaker(Settings{
			Name:        inst.raw,
			Timeout:     timeout,
			ReadyToTrip: trip,
			OnStateChange: func(name string, from, to State) {
				level := slog.LevelWarn
				if to == StateClosed {
					level = slog.LevelInfo
				}
				logger.Log(context.Background(), level, "circuit breaker state change", "upstream", service,
					"instance", name, "from", from.String(), "to", to.String())
				transitions.Inc(service, name, to.String())
			},
		})
		metrics.Gauge(fmt.Sprintf("gateway_breaker_state{upstream=%q,instance=%q}", service, inst.raw),
			"Circuit breaker state per instance: 0 closed, 1 half-open, 2 open.",
			func() float64 { return float64(inst.breaker.State()) })
		metrics.Gauge(fmt.Sprintf("gateway_instance_healthy{upstream=%q,instance=%q}", service, inst.raw),
			"Active health check verdict per instance: 1 healthy, 0 not.",
			func() float64 {
				if inst.healthy.Load() {
					return 1
				}
				return 0
			})
		p.instances = append(p.instances, inst)
	}
	return p
}

// pick returns the next healthy instance whose breaker admits a request, skipping exclude (the
// instance a retry is moving away from), and the breaker's done callback. When every instance
// failed its health check it tries them anyway ("panic mode", as Envoy does): a broken /healthz or a
// partitioned checker must not black-hole a service, and the breakers still stop real failures.
func (p *pool) pick(exclude *instance) (*instance, func(error), error) {
	n := len(p.instances)
	start := p.next.Add(1) - 1
	var retryAfter time.Duration
	anyHealthy := false
	for pass := range 2 {
		for i := range n {
			inst := p.instances[(start+uint64(i))%uint64(n)]
			if inst == exclude {
				continue
			}
			if healthy := inst.healthy.Load(); pass == 0 && !healthy {
				continue
			} else if healthy {
				anyHealthy = true
				if pass == 1 {
					continue // already tried
				}
			}
			done, err := inst.breaker.Allow()
			if err == nil {
				return inst, done, nil
			}
			if ra := inst.breaker.RetryAfter(); ra > 0 && (retryAfter == 0 || ra < retryAfter) {
				retryAfter = ra
			}
		}
		if anyHealthy {
			break
		}
	}
	return nil, nil, &errNoInstance{service: p.service, retryAfter: retryAfter}
}

// checkAll runs one active health check of every instance concurrently and returns when all finished.
func (p *pool) checkAll(ctx context.Context, client *http.Client, timeout time.Duration) {
	var wg sync.WaitGroup
	for _, inst := range p.instances {
		wg.Go(func() { p.check(ctx, client, inst, timeout) })
	}
	wg.Wait()
}

func (p *pool) check(ctx context.Context, client *http.Client, inst *instance, timeout time.Duration) {
	seq := inst.checkSeq.Add(1)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	err := probe(ctx, client, inst.raw+"/healthz")
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return // the gateway is shutting down; say nothing about the instance
	}
	inst.applyCheck(seq, time.Since(start), err, p.logger, p.service)
}

// applyCheck records the result of check number seq unless a newer one was already applied.
func (inst *instance) applyCheck(seq uint64, latency time.Duration, err error, logger *slog.Logger, service string) {
	inst.mu.Lock()
	defer inst.mu.Unlock()
	if seq <= inst.applied {
		return
	}
	inst.applied = seq
	inst.latency = latency
	inst.checked = time.Now()
	was := inst.healthy.Load()
	if err == nil {
		inst.fails = 0
		inst.lastErr = ""
		// A process that answers /healthz again is worth trying now, not when the breaker's open
		// timeout (30 s by default) runs out: a restarted instance must take traffic within one
		// health interval. The half-open trials still decide whether it really serves.
		inst.breaker.Probe()
		if !was {
			inst.healthy.Store(true)
			logger.Info("instance healthy again", "upstream", service, "instance", inst.raw)
		}
		return
	}
	inst.fails++
	inst.lastErr = err.Error()
	if was && inst.fails >= healthFallThreshold {
		inst.healthy.Store(false)
		logger.Warn("instance unhealthy", "upstream", service, "instance", inst.raw, "err", err)
	}
}

func probe(ctx context.Context, client *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthz answered %d", resp.StatusCode)
	}
	return nil
}

// healthTimeout bounds one /healthz probe. It does not shrink with the interval: a loaded but
// working instance must not be taken out because checks are frequent.
const healthTimeout = 2 * time.Second

// runHealthChecks checks every instance of every pool each interval until ctx ends.
func runHealthChecks(ctx context.Context, pools []*pool, client *http.Client, interval time.Duration) {
	timeout := healthTimeout
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		var wg sync.WaitGroup
		for _, p := range pools {
			wg.Go(func() { p.checkAll(ctx, client, timeout) })
		}
		wg.Wait()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// instanceStatus is one instance in /health/detailed.
type instanceStatus struct {
	URL       string  `json:"url"`
	Healthy   bool    `json:"healthy"`
	Circuit   string  `json:"circuit"`
	LatencyMS float64 `json:"latency_ms"`
	LastError string  `json:"last_error,omitempty"`
	CheckedAt string  `json:"checked_at,omitempty"`
}

// serviceStatus is one service in /health/detailed: up when an instance can take requests.
type serviceStatus struct {
	Status    string           `json:"status"`
	Instances []instanceStatus `json:"instances"`
}

func (p *pool) status() serviceStatus {
	s := serviceStatus{Status: "down"}
	for _, inst := range p.instances {
		inst.mu.Lock()
		is := instanceStatus{
			URL:       inst.raw,
			Healthy:   inst.healthy.Load(),
			Circuit:   inst.breaker.State().String(),
			LatencyMS: float64(inst.latency.Microseconds()) / 1000,
			LastError: inst.lastErr,
		}
		if !inst.checked.IsZero() {
			is.CheckedAt = inst.checked.UTC().Format(time.RFC3339)
		}
		inst.mu.Unlock()
		if is.Healthy && is.Circuit != StateOpen.String() {
			s.Status = "up"
		}
		s.Instances = append(s.Instances, is)
	}
	return s
}

package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// State is a circuit breaker's state.
type State int

const (
	// StateClosed lets every request through and counts failures.
	StateClosed State = iota
	// StateHalfOpen lets a few trial requests through; their outcome closes or reopens the breaker.
	StateHalfOpen
	// StateOpen rejects every request until Settings.Timeout has passed.
	StateOpen
)

func (s State) String() string {
	switch s {
	case StateClosed:
		return "closed"
	case StateHalfOpen:
		return "half-open"
	case StateOpen:
		return "open"
	}
	return fmt.Sprintf("unknown state %d", int(s))
}

// Errors Allow returns when a request may not proceed.
var (
	ErrOpenState       = errors.New("circuit breaker is open")
	ErrTooManyRequests = errors.New("circuit breaker is half-open and its trial requests are in flight")
)

// Counts are the request counts of the current generation. They are cleared on every state change and,
// in the closed state, every Settings.Interval.
type Counts struct {
	Requests             uint32
	TotalSuccesses       uint32
	TotalFailures        uint32
	ConsecutiveSuccesses uint32
	ConsecutiveFailures  uint32
}

// Settings configures a Breaker, in the shape of sony/gobreaker. A zero field selects its default.
type Settings struct {
	// Name identifies the breaker in logs and OnStateChange (the instance URL).
	Name string
	// MaxRequests is how many trial requests the half-open state lets through at once, and how many
	// consecutive successes close the breaker again. Default 3.
	MaxRequests uint32
	// Interval is how often the closed state clears its counts. Default 0: never, so only consecutive
	// failures matter.
	Interval time.Duration
	// Timeout is how long the breaker stays open before it turns half-open. Default 30 s.
	Timeout time.Duration
	// ReadyToTrip is called with the counts after every failure in the closed state; true opens the
	// breaker. Default: 5 consecutive failures.
	ReadyToTrip func(Counts) bool
	// IsSuccessful classifies a request's outcome. Default: err == nil. The caller passes a non-nil
	// error for transport errors, timeouts and 5xx responses.
	IsSuccessful func(err error) bool
	// IsExcluded marks outcomes that count neither way. Default: a context.Canceled error, i.e. the
	// client went away, which says nothing about the upstream.
	IsExcluded func(err error) bool
	// OnStateChange is called on every transition, with the breaker's lock held: it must not call back
	// into the breaker. Default: nothing.
	OnStateChange func(name string, from, to State)
}

// Breaker is a per-upstream circuit breaker. It is safe for concurrent use; one mutex guards all state.
// Every state change starts a new generation, and an outcome reported for a request admitted in an
// earlier generation is ignored, so a slow request cannot flip a breaker that already moved on.
type Breaker struct {
	name          string
	maxRequests   uint32
	interval      time.Duration
	timeout       time.Duration
	readyToTrip   func(Counts) bool
	isSuccessful  func(error) bool
	isExcluded    func(error) bool
	onStateChange func(name string, from, to State)

	mu         sync.Mutex
	state      State
	generation uint64
	counts     Counts
	// expiry is when the closed state's interval ends (zero: never) or the open state's timeout ends.
	expiry time.Time
}

// NewBreaker returns a closed Breaker configured by st.
func NewBreaker(st Settings) *Breaker {
	b := &Breaker{
		name:          st.Name,
		maxRequests:   st.MaxRequests,
		interval:      st.Interval,
		timeout:       st.Timeout,
		readyToTrip:   st.ReadyToTrip,
		isSuccessful:  st.IsSuccessful,
		isExcluded:    st.IsExcluded,
		onStateChange: st.OnStateChange,
	}
	if b.maxRequests == 0 {
		b.maxRequests = 3
	}
	if b.timeout <= 0 {
		b.timeout = 30 * time.Second
	}
	if b.readyToTrip == nil {
		b.readyToTrip = func(c Counts) bool { return c.ConsecutiveFailures >= 5 }
	}
	if b.isSuccessful == nil {
		b.isSuccessful = func(err error) bool { return err == nil }
	}
	if b.isExcluded == nil {
		b.isExcluded = func(err error) bool { return errors.Is(err, context.Canceled) }
	}
	b.toNewGeneration(time.Now())
	return b
}

// Name returns the breaker's name.
func (b *Breaker) Name() string { return b.name }

// State returns the current state, after applying any timeout that has passed.
func (b *Breaker) State() State {
	b.mu.Lock()
	defer b.mu.Unlock()
	st, _ := b.currentState(time.Now())
	return st
}

// Counts returns the current generation's counts.
func (b *Breaker) Counts() Counts {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.currentState(time.Now())
	return b.counts
}

// RetryAfter returns how long until an open breaker turns half-open (0 unless open).
func (b *Breaker) RetryAfter() time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now()
	if st, _ := b.currentState(now); st != StateOpen {
		return 0
	}
	return b.expiry.Sub(now)
}

// Probe tells an open breaker that an out-of-band check (the gateway's active health check) found
// its instance alive again: the breaker turns half-open at once instead of waiting out
// Settings.Timeout, so trial requests decide within one health interval whether it closes. In any
// other state Probe does nothing: a closed breaker has nothing to learn, and a half-open one is
// already trying.
func (b *Breaker) Probe() {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now()
	if st, _ := b.currentState(now); st == StateOpen {
		b.setState(StateHalfOpen, now)
	}
}

// Allow admits one request or returns ErrOpenState or ErrTooManyRequests. When it admits, the caller
// must call done exactly once with the request's outcome (nil for success).
func (b *Breaker) Allow() (done func(err error), err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now()
	st, gen := b.currentState(now)
	switch {
	case st == StateOpen:
		return nil, ErrOpenState
	case st == StateHalfOpen && b.counts.Requests >= b.maxRequests:
		return nil, ErrTooManyRequests
	}
	b.counts.Requests++
	var once sync.Once
	return func(err error) { once.Do(func() { b.afterRequest(gen, err) }) }, nil
}

func (b *Breaker) afterRequest(gen uint64, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now()
	st, cur := b.currentState(now)
	if gen != cur {
		return // admitted in an earlier generation: stale
	}
	switch {
	case b.isExcluded(err):
		// Give the half-open slot back; nothing learned.
		if b.counts.Requests > 0 {
			b.counts.Requests--
		}
	case b.isSuccessful(err):
		b.counts.TotalSuccesses++
		b.counts.ConsecutiveSuccesses++
		b.counts.ConsecutiveFailures = 0
		if st == StateHalfOpen && b.counts.ConsecutiveSuccesses >= b.maxRequests {
			b.setState(StateClosed, now)
		}
	default:
		b.counts.TotalFailures++
		b.counts.ConsecutiveFailures++
		b.counts.ConsecutiveSuccesses = 0
		switch st {
		case StateClosed:
			if b.readyToTrip(b.counts) {
				b.setState(StateOpen, now)
			}
		case StateHalfOpen:
			b.setState(StateOpen, now)
		}
	}
}

// currentState applies the passage of time (interval end, open timeout) and returns the state and
// generation. b.mu must be held.
func (b *Breaker) currentState(now time.Time) (State, uint64) {
	switch b.state {
	case StateClosed:
		if !b.expiry.IsZero() && !now.Before(b.expiry) {
			b.toNewGeneration(now)
		}
	case StateOpen:
		if !now.Before(b.expiry) {
			b.setState(StateHalfOpen, now)
		}
	}
	return b.state, b.generation
}

func (b *Breaker) setState(st State, now time.Time) {
	if b.state == st {
		return
	}
	prev := b.state
	b.state = st
	b.toNewGeneration(now)
	if b.onStateChange != nil {
		b.onStateChange(b.name, prev, st)
	}
}

func (b *Breaker) toNewGeneration(now time.Time) {
	b.generation++
	b.counts = Counts{}
	switch b.state {
	case StateClosed:
		if b.interval > 0 {
			b.expiry = now.Add(b.interval)
		} else {
			b.expiry = time.Time{}
		}
	case StateOpen:
		b.expiry = now.Add(b.timeout)
	default:
		b.expiry = time.Time{}
	}
}

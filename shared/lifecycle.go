package shared

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// CloseTimeout bounds each closer Program runs at the end (producer flush, Mongo disconnect, ...).
const CloseTimeout = 5 * time.Second

// Program is a service's lifecycle: the background workers that must outlive HTTP, the setup steps
// retried until their dependency answers, and the clients to close, run in the order STYLE.md gives.
// A run() builds its dependencies, registers them here and ends with Run:
//
//	p := shared.NewProgram(logger, ready)
//	p.OnClose("mongo", client.Disconnect)
//	p.Setup("mongo_indexes", store.EnsureIndexes)
//	p.Go("outbox", relay.Run)
//	return p.Run(ctx, cfg.HTTPAddr, NewServer(...))
//
// Register everything before Run; Program is not safe for concurrent registration.
type Program struct {
	logger  *slog.Logger
	ready   *Readiness
	workers []namedFunc
	closers []namedFunc
}

type namedFunc struct {
	name string
	fn   func(context.Context) error
}

// NewProgram returns a Program that logs to logger and turns ready to 503 when shutdown begins.
func NewProgram(logger *slog.Logger, ready *Readiness) *Program {
	return &Program{logger: logger, ready: ready}
}

// Go registers a worker (consumer, relay, sweeper) that Run starts before serving. Its context ends
// only after HTTP has drained, so requests in flight can still use it. A worker that returns an error
// ends the program; one that returns nil early simply stops.
func (p *Program) Go(name string, fn func(context.Context) error) {
	p.workers = append(p.workers, namedFunc{name, fn})
}

// Setup registers a background start-up step (creating indexes, seeding): each of steps runs in turn,
// retried with Retry's backoff until it succeeds, while HTTP already serves. Until all succeeded the
// readiness check called name fails, so /readyz answers 503, the pod-scoped answer too (AddOwn: the
// step is this instance's own). A cancelled setup is not an error.
func (p *Program) Setup(name string, steps ...func(context.Context) error) {
	var done atomic.Bool
	if p.ready != nil {
		p.ready.AddOwn(name, func(context.Context) error {
			if !done.Load() {
				return errors.New("in progress")
			}
			return nil
		})
	}
	p.Go(name, func(ctx context.Context) error {
		for _, step := range steps {
			if Retry(ctx, p.logger, name, step) != nil {
				return nil // cancelled
			}
		}
		done.Store(true)
		return nil
	})
}

// OnClose registers fn to run after the workers stopped. Closers run in reverse order of
// registration, like defers: register a client right after opening it, and the Kafka producer (opened
// after Mongo) is flushed before Mongo disconnects. Each gets a fresh CloseTimeout context.
func (p *Program) OnClose(name string, fn func(context.Context) error) {
	p.closers = append(p.closers, namedFunc{name, fn})
}

// Abort runs the closers registered so far and returns err joined with their errors: for a run()
// that fails after opening clients but before Run.
func (p *Program) Abort(err error) error {
	return errors.Join(err, p.close())
}

// Run binds addr (a taken port fails at once), starts the workers and serves handler until ctx ends or
// a worker fails. Then it shuts down in order: HTTP drains (readiness turns 503) while the workers
// still run, then the workers are cancelled and awaited, then the closers run. It returns every error
// joined; nil after a clean shutdown.
func (p *Program) Run(ctx context.Context, addr string, handler http.Handler) error {
	ln, err := Listen(ctx, addr)
	if err != nil {
		return p.Abort(err)
	}
	srv := NewHTTPServer(handler, p.logger)

	serveCtx, stopServe := context.WithCancel(ctx)
	defer stopServe()
	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	var wg sync.WaitGroup
	errs := make([]error, len(p.workers))
	for i, w := range p.workers {
		wg.Go(func() {
			if err := w.fn(workCtx); err != nil {
				errs[i] = fmt.Errorf("%s: %w", w.name, err)
				p.logger.Error("worker failed, shutting down", "worker", w.name, "err", err)
				stopServe()
			}
		})
	}
	serveErr := Serve(serveCtx, p.logger, srv, ln, p.ready)
	stopWork()
	wg.Wait()
	err = errors.Join(serveErr, errors.Join(errs...), p.close())
	p.logger.Info("stopped")
	return err
}

// close runs the closers in reverse order of registration and joins their errors.
func (p *Program) close() error {
	var errs []error
	for i := len(p.closers) - 1; i >= 0; i-- {
		c := p.closers[i]
		ctx, cancel := context.WithTimeout(context.Background(), CloseTimeout)
		if err := c.fn(ctx); err != nil {
			errs = append(errs, fmt.Errorf("%s close: %w", c.name, err))
		}
		cancel()
	}
	p.closers = nil
	return errors.Join(errs...)
}

// Backoff is an exponential backoff: Next returns Min, then doubles up to Max. Reset starts over. The
// zero value is not useful; set Min and Max.
type Backoff struct {
	Min, Max time.Duration
	next     time.Duration
}

// Next returns the wait before the next attempt.
func (b *Backoff) Next() time.Duration {
	if b.next == 0 {
		b.next = b.Min
	}
	d := b.next
	b.next = min(b.next*2, b.Max)
	return d
}

// Reset makes the next wait Min again, after a success.
func (b *Backoff) Reset() { b.next = 0 }

// Retry backoff: 500 ms doubling to 10 s, short because writes may wait for what setup creates.
const (
	retryMin = 500 * time.Millisecond
	retryMax = 10 * time.Second
)

// Retry calls fn until it succeeds or ctx ends, waiting 500 ms doubling to 10 s between attempts and
// logging each failure as "<what> failed, retrying". It returns nil on success and ctx's error when
// cancelled.
func Retry(ctx context.Context, logger *slog.Logger, what string, fn func(context.Context) error) error {
	b := Backoff{Min: retryMin, Max: retryMax}
	for {
		err := fn(ctx)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		wait := b.Next()
		logger.Warn(what+" failed, retrying", "err", err, "retry_in", wait.String())
		if !SleepCtx(ctx, wait) {
			return ctx.Err()
		}
	}
}

// Every calls fn each interval until ctx ends, the first time one interval after the start, and
// returns once ctx is done. Calls never overlap: after one that ran longer than interval the next
// comes at once (time.Ticker keeps one missed tick) and the ticks missed besides are dropped.
func Every(ctx context.Context, interval time.Duration, fn func(context.Context)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fn(ctx)
		}
	}
}

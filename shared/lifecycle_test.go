package shared_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/goshop/platform/shared"
	"github.com/goshop/platform/shared/sharedtest"
)

// steps records what happened, in order, from several goroutines.
type steps struct {
	mu  sync.Mutex
	log []string
}

func (s *steps) add(step string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = append(s.log, step)
}

func (s *steps) get() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.log)
}

// TestProgramShutdownOrder: on cancel, /readyz turns 503 and an in-flight request completes while the
// workers still run; then the workers stop; then the closers run, the last registered first.
func TestProgramShutdownOrder(t *testing.T) {
	var s steps
	ready := shared.NewReadiness()
	p := shared.NewProgram(quiet(), ready)
	p.OnClose("mongo", func(context.Context) error { s.add("close mongo"); return nil })
	p.OnClose("kafka", func(context.Context) error { s.add("close kafka"); return nil })
	workerUp := make(chan struct{})
	p.Go("relay", func(ctx context.Context) error {
		close(workerUp)
		<-ctx.Done()
		s.add("worker stopped")
		return nil
	})
	inHandler, release := make(chan struct{}), make(chan struct{})
	mux := http.NewServeMux()
	mux.Handle("GET /readyz", ready.Handler())
	mux.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		close(inHandler)
		<-release
		s.add("request done")
	})
	addr := sharedtest.FreeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- p.Run(ctx, addr, mux) }()
	sharedtest.WaitReady(t, "http://"+addr+"/readyz", 5*time.Second)
	<-workerUp

	reqDone := make(chan error)
	go func() {
		resp, err := http.Get("http://" + addr + "/slow")
		if err == nil {
			resp.Body.Close()
		}
		reqDone <- err
	}()
	<-inHandler
	cancel()
	// Wait until shutdown has begun (readiness is the first thing Serve changes), then let the request finish.
	for !readyIs503(ready) {
		time.Sleep(time.Millisecond)
	}
	s.add("shutdown begun")
	close(release)
	if err := <-reqDone; err != nil {
		t.Errorf("in-flight request: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
	want := []string{"shutdown begun", "request done", "worker stopped", "close kafka", "close mongo"}
	if got := s.get(); !slices.Equal(got, want) {
		t.Errorf("shutdown order = %v, want %v", got, want)
	}
}

func readyIs503(ready *shared.Readiness) bool {
	rec := &statusWriter{header: http.Header{}}
	ready.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	return rec.status == http.StatusServiceUnavailable
}

type statusWriter struct {
	header http.Header
	status int
}

func (w *statusWriter) Header() http.Header         { return w.header }
func (w *statusWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *statusWriter) WriteHeader(code int)        { w.status = code }

// TestProgramWorkerErrorEndsProgram: a failing worker stops the server and the other workers, Run
// returns its error named after it, and the closers still run.
func TestProgramWorkerErrorEndsProgram(t *testing.T) {
	var s steps
	p := shared.NewProgram(quiet(), shared.NewReadiness())
	p.OnClose("redis", func(context.Context) error { s.add("close redis"); return errors.New("already closed") })
	boom := errors.New("boom")
	p.Go("consumer", func(context.Context) error { return boom })
	p.Go("sweeper", func(ctx context.Context) error { <-ctx.Done(); s.add("sweeper stopped"); return nil })
	err := p.Run(context.Background(), sharedtest.FreeAddr(t), http.NotFoundHandler())
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "consumer: boom") || !strings.Contains(err.Error(), "redis close: already closed") {
		t.Errorf("Run = %v, want the worker's error named and the close error", err)
	}
	if got, want := s.get(), []string{"sweeper stopped", "close redis"}; !slices.Equal(got, want) {
		t.Errorf("steps = %v, want %v", got, want)
	}
}

// TestProgramListenFailureCloses: a taken port fails Run at once and still closes what was opened.
func TestProgramListenFailureCloses(t *testing.T) {
	ln, err := shared.Listen(context.Background(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	closed := false
	p := shared.NewProgram(quiet(), nil)
	p.OnClose("mongo", func(context.Context) error { closed = true; return nil })
	if err := p.Run(context.Background(), ln.Addr().String(), http.NotFoundHandler()); err == nil {
		t.Error("Run on a taken port = nil, want an error")
	}
	if !closed {
		t.Error("closer not run after a listen failure")
	}
}

// TestRetryBackoff: a failing step is retried after 500 ms doubling to 10 s until it succeeds; a
// cancelled retry returns the context's error.
func TestRetryBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var attempts []time.Duration
		start := time.Now()
		err := shared.Retry(context.Background(), quiet(), "indexes", func(context.Context) error {
			attempts = append(attempts, time.Since(start))
			if len(attempts) < 7 {
				return errors.New("mongo down")
			}
			return nil
		})
		want := []time.Duration{0, 500 * time.Millisecond, 1500 * time.Millisecond, 3500 * time.Millisecond,
			7500 * time.Millisecond, 15500 * time.Millisecond, 25500 * time.Millisecond}
		if err != nil || !slices.Equal(attempts, want) {
			t.Errorf("Retry = %v, attempts at %v; want nil at %v", err, attempts, want)
		}

		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		err = shared.Retry(ctx, quiet(), "indexes", func(context.Context) error { return errors.New("mongo down") })
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != 25500*time.Millisecond+2*time.Second {
			t.Errorf("cancelled Retry = %v after %v, want the deadline error when it passed", err, time.Since(start))
		}
	})
}

// TestProgramSetupReadiness: /readyz fails the setup step's check until the step succeeded.
func TestProgramSetupReadiness(t *testing.T) {
	ready := shared.NewReadiness()
	p := shared.NewProgram(quiet(), ready)
	release, finished := make(chan struct{}), make(chan struct{})
	p.Setup("mongo_indexes", func(ctx context.Context) error {
		<-release
		return nil
	}, func(context.Context) error { close(finished); return nil })
	addr := sharedtest.FreeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- p.Run(ctx, addr, ready.Handler()) }()
	if res, ok := ready.Check(ctx); ok || res["mongo_indexes"] == "ok" {
		t.Errorf("readiness during setup = %v, want mongo_indexes failing", res)
	}
	// A start-up step is the instance's own: the pod-scoped answer (Kubernetes' probe) waits for it too.
	rec := httptest.NewRecorder()
	ready.Handler().ServeHTTP(rec, httptest.NewRequest("GET", shared.ReadyzPodPath, nil))
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "mongo_indexes") {
		t.Errorf("GET %s during setup: status = %d %s, want 503 naming mongo_indexes", shared.ReadyzPodPath, rec.Code, rec.Body)
	}
	close(release)
	<-finished
	sharedtest.WaitReady(t, "http://"+addr+"/readyz", 5*time.Second)
	sharedtest.WaitReady(t, "http://"+addr+shared.ReadyzPodPath, 5*time.Second)
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
}

// TestEvery runs in a synctest bubble: calls come one interval apart starting one interval in, the
// call after a slow one comes as soon as it returns (not overlapping it) and then the schedule
// resumes, and Every returns when its context ends.
func TestEvery(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second+time.Millisecond)
		defer cancel()
		var at []time.Duration
		shared.Every(ctx, 2*time.Second, func(context.Context) {
			at = append(at, time.Since(start))
			if len(at) == 2 {
				time.Sleep(3 * time.Second) // slower than the interval: the 6 s tick waits until 7 s
			}
		})
		if ended := time.Since(start); ended != 10*time.Second+time.Millisecond {
			t.Errorf("Every returned after %v, want when its context ended (10.001s)", ended)
		}
		want := []time.Duration{2 * time.Second, 4 * time.Second, 7 * time.Second, 8 * time.Second, 10 * time.Second}
		if len(at) != len(want) {
			t.Fatalf("calls at %v, want %v", at, want)
		}
		for i := range want {
			if at[i] != want[i] {
				t.Errorf("calls at %v, want %v", at, want)
				break
			}
		}
	})
}

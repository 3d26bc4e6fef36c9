package sharedtest

import (
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/goshop/platform/shared"
)

// RunFunc is a program's run: what main does, with the process's context, arguments, environment
// and output passed in (STYLE.md).
type RunFunc func(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error

// Program is a program started in this test process by Start, for end-to-end tests of run.
type Program struct {
	// Base is "http://" followed by the HTTP_ADDR the program was given.
	Base string
	// Logs holds everything the program wrote to stdout and stderr.
	Logs *LogBuffer

	cancel  context.CancelFunc
	done    chan error
	stopped bool
	err     error
}

// stopWithin bounds how long Stop waits for run to return after its context is cancelled (auth may be
// hashing its seeded accounts with bcrypt then).
const stopWithin = 30 * time.Second

// Start runs run(ctx, args, getenv, logs, logs) on its own goroutine, where getenv answers from env
// alone (env must hold HTTP_ADDR), and waits up to within for GET Base+readyPath to answer 200. It
// fails tb if run returns before that or the program is not ready in time. A program the test does
// not Stop is stopped when the test ends.
func Start(tb testing.TB, run RunFunc, args []string, env map[string]string, readyPath string, within time.Duration) *Program {
	tb.Helper()
	env = maps.Clone(env)
	ctx, cancel := context.WithCancel(context.Background())
	p := &Program{Base: "http://" + env["HTTP_ADDR"], Logs: &LogBuffer{}, cancel: cancel, done: make(chan error, 1)}
	go func() { p.done <- run(ctx, args, func(k string) string { return env[k] }, p.Logs, p.Logs) }()
	tb.Cleanup(func() {
		if !p.stopped {
			p.Stop(tb)
		}
	})
	deadline := time.Now().Add(within)
	for {
		resp, err := http.Get(p.Base + readyPath)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		if time.Now().After(deadline) {
			tb.Fatalf("GET %s%s: not ready within %s (last err %v); log:\n%s", p.Base, readyPath, within, err, p.Logs)
		}
		select {
		case err := <-p.done:
			p.stopped, p.err = true, err
			tb.Fatalf("run returned before GET %s answered 200: %v; log:\n%s", readyPath, err, p.Logs)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Cancel cancels the program's context, as a signal would, without waiting for run to return.
func (p *Program) Cancel() { p.cancel() }

// Stop cancels the program's context and returns what run returned. It fails tb when run has not
// returned within 30 s. Stopping twice returns the first answer again.
func (p *Program) Stop(tb testing.TB) error {
	tb.Helper()
	if p.stopped {
		return p.err
	}
	p.stopped = true
	p.cancel()
	select {
	case p.err = <-p.done:
		return p.err
	case <-time.After(stopWithin):
		tb.Fatalf("run did not return within %s of cancel; log:\n%s", stopWithin, p.Logs)
		return nil
	}
}

// Get sends GET url and returns the status and body; a transport error fails tb.
func Get(tb testing.TB, url string) (int, string) {
	tb.Helper()
	resp, err := http.Get(url)
	if err != nil {
		tb.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("GET %s: body: %v", url, err)
	}
	return resp.StatusCode, string(b)
}

// Readyz is a program's /readyz answer: the status code, each check's result by name, and the names
// of the checks that failed.
type Readyz struct {
	Status int               `json:"-"`
	Checks map[string]string `json:"checks"`
	Failed []string          `json:"failed"`
}

// GetReadyz sends GET base+"/readyz" and decodes the answer; a transport error or a body that is not
// the readiness JSON fails tb.
func GetReadyz(tb testing.TB, base string) Readyz {
	tb.Helper()
	status, body := Get(tb, base+"/readyz")
	var rd Readyz
	if err := json.Unmarshal([]byte(body), &rd); err != nil {
		tb.Fatalf("GET %s/readyz: status %d, body %q: %v", base, status, body, err)
	}
	rd.Status = status
	return rd
}

// mongoReadyWait is how long CheckReadyKafkaDown asks again while the mongo check fails.
var mongoReadyWait = 15 * time.Second

// CheckReadyKafkaDown checks the /readyz of a back-end program started with KAFKA_BROKERS where no
// broker answers: 503 with the kafka check failed, and, when onMongo, the mongo check ok. The mongo
// ping has CheckTimeout (2 s), and the contract run's FerretDB answers one command at a time for
// every package's tests at once, so one slow ping is asked again, for up to mongoReadyWait.
func CheckReadyKafkaDown(tb testing.TB, base string, onMongo bool) {
	tb.Helper()
	rd := GetReadyz(tb, base)
	for deadline := time.Now().Add(mongoReadyWait); onMongo && rd.Checks["mongo"] != "ok" && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
		rd = GetReadyz(tb, base)
	}
	if rd.Status != http.StatusServiceUnavailable || !slices.Contains(rd.Failed, "kafka") {
		tb.Errorf("GET /readyz with Kafka down: status = %d checks %v, want 503 naming kafka", rd.Status, rd.Checks)
	}
	if onMongo && rd.Checks["mongo"] != "ok" {
		tb.Errorf("GET /readyz: mongo check = %q, want ok", rd.Checks["mongo"])
	}
}

// MongoDB returns a fresh database name, prefix followed by random characters, for a test against
// the MongoDB at uri; the database is dropped when the test ends (a failure to reach uri then is
// only logged: the test itself reports whether Mongo worked).
func MongoDB(tb testing.TB, uri, prefix string) string {
	tb.Helper()
	name := prefix + shared.NewID()[:12]
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, err := shared.ConnectMongo(ctx, uri, shared.MongoOptions{}, false)
		if err != nil {
			tb.Logf("drop %s: %v", name, err)
			return
		}
		defer c.Disconnect(context.Background())
		if err := c.Database(name).Drop(ctx); err != nil {
			tb.Logf("drop %s: %v", name, err)
		}
	})
	return name
}

package shared

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/mongo"
)

func TestReadiness(t *testing.T) {
	t.Parallel()
	rd := NewReadiness()
	var redisErr error
	rd.Add("mongo", func(context.Context) error { return nil })
	rd.Add("redis", func(context.Context) error { return redisErr })
	get := func() (int, map[string]any) {
		rec := httptest.NewRecorder()
		rd.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
		var body map[string]any
		json.Unmarshal(rec.Body.Bytes(), &body)
		return rec.Code, body
	}
	if code, body := get(); code != 200 {
		t.Fatalf("all up: status = %d, want 200 (%v)", code, body)
	}
	redisErr = errors.New("dial tcp 127.0.0.1:6379: connection refused")
	code, body := get()
	if code != 503 {
		t.Fatalf("redis down: status = %d, want 503", code)
	}
	checks, _ := body["checks"].(map[string]any)
	if checks["redis"] != redisErr.Error() || checks["mongo"] != "ok" {
		t.Errorf("redis down: checks = %v, want the reason for redis and ok for mongo", body["checks"])
	}
	redisErr = nil
	if code, _ := get(); code != 200 {
		t.Errorf("redis back: status = %d, want 200", code)
	}
	rd.ShuttingDown()
	if code, _ := get(); code != 503 {
		t.Errorf("shutting down: status = %d, want 503", code)
	}
}

// TestReadinessPodScope: /readyz?scope=pod, Kubernetes' readiness probe, runs only the instance's
// own checks (AddOwn): a dependency every copy shares that fails makes /readyz 503 but leaves the
// pod-scoped answer 200; an unfinished start-up step fails both; so does shutdown. Any other scope
// is a 400 in the error shape.
func TestReadinessPodScope(t *testing.T) {
	t.Parallel()
	kafkaDown := func(context.Context) error { return errors.New("no broker answers") }
	ok := func(context.Context) error { return nil }
	stepPending := func(context.Context) error { return errors.New("in progress") }
	tests := []struct {
		name             string
		deps, own        map[string]func(context.Context) error
		shutdown         bool
		wantAll, wantPod int
		wantPodChecks    []string
	}{
		{name: "all up", deps: map[string]func(context.Context) error{"kafka": ok, "redis": ok},
			own: map[string]func(context.Context) error{"setup": ok}, wantAll: 200, wantPod: 200, wantPodChecks: []string{"setup"}},
		{name: "shared dependency down", deps: map[string]func(context.Context) error{"kafka": kafkaDown, "redis": ok},
			own: map[string]func(context.Context) error{"setup": ok}, wantAll: 503, wantPod: 200, wantPodChecks: []string{"setup"}},
		{name: "start-up step unfinished", deps: map[string]func(context.Context) error{"kafka": ok},
			own: map[string]func(context.Context) error{"setup": stepPending}, wantAll: 503, wantPod: 503, wantPodChecks: []string{"setup"}},
		{name: "shutting down", deps: map[string]func(context.Context) error{"kafka": ok},
			own: map[string]func(context.Context) error{"setup": ok}, shutdown: true, wantAll: 503, wantPod: 503, wantPodChecks: []string{}},
		{name: "no own checks", deps: map[string]func(context.Context) error{"kafka": kafkaDown},
			wantAll: 503, wantPod: 200, wantPodChecks: []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rd := NewReadiness()
			for n, c := range tt.deps {
				rd.Add(n, c)
			}
			for n, c := range tt.own {
				rd.AddOwn(n, c)
			}
			if tt.shutdown {
				rd.ShuttingDown()
			}
			for _, c := range []struct {
				path string
				want int
			}{{"/readyz", tt.wantAll}, {ReadyzPodPath, tt.wantPod}} {
				rec := httptest.NewRecorder()
				rd.Handler().ServeHTTP(rec, httptest.NewRequest("GET", c.path, nil))
				if rec.Code != c.want {
					t.Errorf("GET %s: status = %d, want %d (%s)", c.path, rec.Code, c.want, rec.Body)
				}
				if c.path != ReadyzPodPath {
					continue
				}
				var body readyBody
				if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
					t.Fatalf("GET %s: %v", c.path, err)
				}
				got := slices.Sorted(maps.Keys(body.Checks))
				if body.Scope != "pod" || !slices.Equal(got, tt.wantPodChecks) {
					t.Errorf("GET %s: scope %q checks %v, want scope pod and only the own checks %v", c.path, body.Scope, got, tt.wantPodChecks)
				}
			}
		})
	}
	t.Run("unknown scope", func(t *testing.T) {
		t.Parallel()
		rec := httptest.NewRecorder()
		NewReadiness().Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/readyz?scope=pods", nil))
		var body ErrorBody
		if err := json.Unmarshal(rec.Body.Bytes(), &body); rec.Code != 400 || err != nil || body.Error.Code != CodeInvalid || body.Error.Fields["scope"] == "" {
			t.Errorf("GET /readyz?scope=pods: status = %d body %s, want 400 invalid naming scope", rec.Code, rec.Body)
		}
	})
}

func TestServeDrainsInFlightRequests(t *testing.T) {
	t.Parallel()
	started, release := make(chan struct{}), make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
		io.WriteString(w, "done")
	})
	ctx, cancel := context.WithCancel(context.Background())
	ln, err := Listen(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	rd := NewReadiness()
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, logger, NewHTTPServer(h, logger), ln, rd) }()

	got := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String() + "/")
		if err != nil {
			got <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got <- string(b)
	}()
	<-started
	cancel() // SIGTERM arrives while the request is in flight
	for deadline := time.Now().Add(5 * time.Second); !rd.shutdown.Load(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("readiness not marked shutting down after the context ended")
		}
	}
	close(release)
	if body := <-got; body != "done" {
		t.Errorf("in-flight request got %q, want done", body)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve = %v, want nil after a clean shutdown", err)
	}
}

func TestListenFailsFastOnTakenPort(t *testing.T) {
	t.Parallel()
	ln, err := Listen(context.Background(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if _, err := Listen(context.Background(), ln.Addr().String()); err == nil {
		t.Errorf("Listen on a taken port succeeded")
	}
}

func TestEventRoundTrip(t *testing.T) {
	t.Parallel()
	type data struct {
		OrderID    string `json:"order_id"`
		TotalCents int64  `json:"total_cents"`
	}
	e, err := NewEvent("order.created", "o1", data{"o1", 1999})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(e)
	var back Event
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	var d data
	if err := back.Decode(&d); err != nil || d.TotalCents != 1999 || back.Version != 1 || back.ID == "" || back.AggregateID != "o1" {
		t.Errorf("round trip = %+v %+v, %v", back, d, err)
	}
	var raw map[string]any
	json.Unmarshal(b, &raw)
	for _, k := range []string{"id", "type", "version", "occurred_at", "aggregate_id", "data"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("envelope lacks %q: %s", k, b)
		}
	}
}

func TestParseBrokers(t *testing.T) {
	t.Parallel()
	got := ParseBrokers(" a:9092, b:9093 ,,")
	if want := []string{"a:9092", "b:9093"}; !reflect.DeepEqual(got, want) {
		t.Errorf("ParseBrokers = %v, want %v", got, want)
	}
}

func TestNewRedisConfig(t *testing.T) {
	t.Parallel()
	c, err := NewRedis(RedisConfig{URL: "redis://:pw@10.0.0.1:6380/4"})
	if err != nil {
		t.Fatal(err)
	}
	if o := c.Options(); o.Addr != "10.0.0.1:6380" || o.DB != 4 || o.Password != "pw" || o.MaxRetries != 3 {
		t.Errorf("from URL: %+v", o)
	}
	c, _ = NewRedis(RedisConfig{DB: 2})
	if o := c.Options(); o.Addr != "127.0.0.1:6379" || o.DB != 2 {
		t.Errorf("defaults: addr %s db %d", o.Addr, o.DB)
	}
	if _, err := NewRedis(RedisConfig{URL: "http://nope"}); err == nil {
		t.Error("bad URL accepted")
	}
}

func TestRedisURLWithDB(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ raw, want string }{
		{"", ""},
		{"redis://cache:6379", "redis://cache:6379/6"},
		{"redis://:pw@cache:6379/", "redis://:pw@cache:6379/6"},
		{"rediss://cache:6380/3", "rediss://cache:6380/3"},
	} {
		if got, err := RedisURLWithDB(tc.raw, 6); err != nil || got != tc.want {
			t.Errorf("RedisURLWithDB(%q, 6) = %q, %v; want %q", tc.raw, got, err, tc.want)
		}
	}
	for _, raw := range []string{"http://x", "cache:6379", "redis://:secret@[::1"} {
		_, err := RedisURLWithDB(raw, 6)
		if err == nil {
			t.Errorf("RedisURLWithDB(%q) accepted", raw)
		} else if strings.Contains(err.Error(), "secret") {
			t.Errorf("error %q shows the password", err)
		}
	}
}

func TestMongoErr(t *testing.T) {
	t.Parallel()
	dup := mongo.WriteException{WriteErrors: []mongo.WriteError{{Code: 11000, Message: "E11000 duplicate key"}}}
	tests := []struct {
		err  error
		want error
	}{
		{mongo.ErrNoDocuments, ErrNotFound},
		{dup, ErrConflict},
		{mongo.ErrClientDisconnected, ErrUnavailable},
		{context.DeadlineExceeded, ErrUnavailable},
	}
	for _, tt := range tests {
		if got := MongoErr("op", tt.err); !errors.Is(got, tt.want) {
			t.Errorf("MongoErr(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
	if MongoErr("op", nil) != nil {
		t.Error("MongoErr(nil) != nil")
	}
	if got := MongoErr("products.get", fmt.Errorf("x")); got.Error() != "products.get: x" {
		t.Errorf("prefix: %v", got)
	}
}

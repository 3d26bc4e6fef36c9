package integration

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"
)

// otlpReceiver is an OTLP/HTTP trace receiver (POST /v1/traces, protobuf ExportTraceServiceRequest)
// that keeps every span it is sent, as Jaeger would.
type otlpReceiver struct {
	srv   *httptest.Server
	mu    sync.Mutex
	spans []receivedSpan
}

// receivedSpan is what the tests check of a span: who made it, where it sits in its trace.
type receivedSpan struct {
	Service, Name           string
	TraceID, SpanID, Parent string
}

func newOTLPReceiver() *otlpReceiver {
	r := &otlpReceiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(r.export))
	return r
}

func (r *otlpReceiver) export(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost || req.URL.Path != "/v1/traces" || req.Header.Get("Content-Type") != "application/x-protobuf" {
		http.Error(w, "want POST /v1/traces protobuf", http.StatusBadRequest)
		return
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, 16<<20))
	var msg coltracepb.ExportTraceServiceRequest
	if err == nil {
		err = proto.Unmarshal(body, &msg)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	for _, rs := range msg.ResourceSpans {
		service := ""
		for _, a := range rs.GetResource().GetAttributes() {
			if a.Key == "service.name" {
				service = a.GetValue().GetStringValue()
			}
		}
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				r.spans = append(r.spans, receivedSpan{Service: service, Name: s.Name, TraceID: hex.EncodeToString(s.TraceId),
					SpanID: hex.EncodeToString(s.SpanId), Parent: hex.EncodeToString(s.ParentSpanId)})
			}
		}
	}
	r.mu.Unlock()
	out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.Write(out)
}

// trace returns the spans received so far of traceID.
func (r *otlpReceiver) trace(traceID string) []receivedSpan {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []receivedSpan
	for _, s := range r.spans {
		if s.TraceID == traceID {
			out = append(out, s)
		}
	}
	return out
}

// randomHex returns n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// TestCheckoutIsOneTrace: a checkout whose client sends a traceparent is one trace, that trace:
// gateway → order → (order.events) inventory → (inventory.events) order → (order.events) realtime,
// every span's parent in the trace and the gateway's server span a child of the client's span.
func TestCheckoutIsOneTrace(t *testing.T) {
	admin := newClient(t, platform.URL("gateway"))
	admin.login(adminEmail, adminPass)
	sku := fmt.Sprintf("TR-%d", time.Now().UnixNano()%1e9)
	newStockedProduct(t, admin, sku, "Traced Lamp", 9.99, 3)

	c := newClient(t, platform.URL("gateway"))
	c.login(demoEmail, demoPass)
	traceID, clientSpan := randomHex(16), randomHex(8)
	var o order
	c.must(201, "POST", "/order/orders", orderBody(sku, 1), &o, "Idempotency-Key", "trace-"+traceID,
		"Traceparent", "00-"+traceID+"-"+clientSpan+"-01")
	eventually(t, 10*time.Second, "order confirmed", func() bool {
		c.must(200, "GET", "/order/orders/"+o.ID, nil, &o)
		return o.Status == "confirmed"
	})

	// Spans reach the receiver within a batch delay (OTEL_BSP_SCHEDULE_DELAY, 100 ms here).
	want := []struct{ service, name string }{
		{"gateway", "POST order"},         // the gateway's call of order
		{"order", "publish order.events"}, // order.created, published by the relay
		{"inventory", "process order.events"},
		{"inventory", "publish inventory.events"}, // inventory.reserved
		{"order", "process inventory.events"},
		{"realtime", "process order.events"},
	}
	// Parents end after their children, so a batch may bring a child first: wait for the whole.
	var problems []string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		problems = traceProblems(traces.trace(traceID), clientSpan, want)
		if len(problems) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("trace %s after 10 s:\n%s", traceID, strings.Join(problems, "\n"))
		}
	}
}

// traceProblems lists what spans lacks to be one checkout's whole trace continued from the client's
// span: a wanted span, a parent within the trace, or exactly one child of the client's span (the
// gateway's server span).
func traceProblems(spans []receivedSpan, clientSpan string, want []struct{ service, name string }) []string {
	var problems []string
	for _, w := range want {
		if !slices.ContainsFunc(spans, func(s receivedSpan) bool { return s.Service == w.service && s.Name == w.name }) {
			problems = append(problems, "no span "+w.service+" "+w.name)
		}
	}
	ids := map[string]bool{}
	for _, s := range spans {
		ids[s.SpanID] = true
	}
	roots := 0
	for _, s := range spans {
		switch {
		case s.Parent == clientSpan && s.Service == "gateway":
			roots++
		case s.Parent == clientSpan:
			problems = append(problems, fmt.Sprintf("%s %q is a child of the client's span", s.Service, s.Name))
		case !ids[s.Parent]:
			problems = append(problems, fmt.Sprintf("%s %q: parent %q is not a span of the trace", s.Service, s.Name, s.Parent))
		}
	}
	if roots != 1 {
		problems = append(problems, fmt.Sprintf("%d gateway spans are children of the client's span, want 1", roots))
	}
	return problems
}

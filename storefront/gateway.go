package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/goshop/platform/shared"
)

// gatewayTimeout bounds one call to the public API; a page never waits longer for one backend.
const gatewayTimeout = 5 * time.Second

// maxAPIBody caps how much of a gateway response is read.
const maxAPIBody = 4 << 20

// gatewayClient calls the public API. Every call forwards the request ID and, when the visitor is
// signed in, the session's access token as a bearer token.
type gatewayClient struct {
	base       string
	client     *http.Client
	noRedirect *http.Client // same transport, answers 3xx instead of following (authorize)
	calls      *shared.CounterVec
}

func newGatewayClient(base string, metrics *shared.Metrics) *gatewayClient {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	tr.ResponseHeaderTimeout = gatewayTimeout
	traced := shared.TraceTransport(tr, "gateway")
	return &gatewayClient{
		base:   base,
		client: &http.Client{Transport: traced, Timeout: gatewayTimeout},
		noRedirect: &http.Client{Transport: traced, Timeout: gatewayTimeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		calls: metrics.Counter("storefront_gateway_calls_total", "Calls to the public API by outcome.", "outcome"),
	}
}

func (g *gatewayClient) close() { g.client.CloseIdleConnections() }

// ping is the readiness check: the gateway answers its own /health.
func (g *gatewayClient) ping(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, g.base+"/health", nil)
	if err != nil {
		return err
	}
	resp, err := g.client.Do(req)
	if err != nil {
		return fmt.Errorf("gateway unreachable: %w", err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 500 {
		return fmt.Errorf("gateway /health answered %d", resp.StatusCode)
	}
	return nil
}

// apiError is a non-2xx answer of the API (or a transport failure, as 503), carrying what the visitor
// may see: the API's message and field messages, never a cause.
type apiError struct {
	Status    int
	Code      string
	Message   string
	Fields    map[string]string
	RequestID string
	// RetryAfter is the answer's Retry-After in seconds (a 429's wait), 0 when absent.
	RetryAfter int
}

func (e *apiError) Error() string {
	return fmt.Sprintf("gateway: %d %s: %s", e.Status, e.Code, e.Message)
}

// FormMessage is the message over a form whose inputs show e's field messages: the services'
// message for refused fields is only "invalid request" (shared.Invalid), so when one of the form's
// inputs (any, when inputs is empty) has a field message, the form asks to correct the marked
// fields. Any other message (say, "payment declined") is kept.
func (e *apiError) FormMessage(inputs ...string) string {
	if e.Message != shared.InvalidMessage {
		return e.Message
	}
	for k := range e.Fields {
		if len(inputs) == 0 || slices.Contains(inputs, strings.TrimPrefix(k, "shipping_address.")) {
			return "Please correct the marked fields."
		}
	}
	return e.Message
}

// asAPIError returns the *apiError in err's chain; a session store outage is a 503 (the visitor can
// retry); anything else a 500.
func asAPIError(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	if errors.Is(err, shared.ErrUnavailable) {
		return &apiError{Status: http.StatusServiceUnavailable, Code: shared.CodeUnavailable,
			Message: "Your cart and sign-in are temporarily unavailable. Please try again in a moment."}
	}
	return &apiError{Status: http.StatusInternalServerError, Code: shared.CodeInternal, Message: "Something went wrong on our side."}
}

// isStatus reports whether err is an API answer with the status.
func isStatus(err error, status int) bool {
	var ae *apiError
	return errors.As(err, &ae) && ae.Status == status
}

// call is one request to the API.
type call struct {
	method string
	path   string     // with the service prefix and query, e.g. /product/products?page=2
	token  string     // the visitor's access token, sent as a bearer token; "" when signed out
	body   any        // JSON-encoded when non-nil
	form   url.Values // form-encoded when non-nil (OAuth endpoints)
	header map[string]string
	out    any // decoded from a 2xx body when non-nil
}

// do performs c. A 2xx answer is decoded into c.out and its response returned (body closed), so the
// caller can read headers and cookies; anything else becomes an *apiError.
func (g *gatewayClient) do(ctx context.Context, c call) (*http.Response, error) {
	var body io.Reader
	if c.form != nil {
		body = strings.NewReader(c.form.Encode())
	}
	if c.body != nil {
		b, err := json.Marshal(c.body)
		if err != nil {
			return nil, fmt.Errorf("encode %s %s: %w", c.method, c.path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, c.method, g.base+c.path, body)
	if err != nil {
		return nil, fmt.Errorf("request %s %s: %w", c.method, c.path, err)
	}
	req.Header.Set("Accept", "application/json")
	if c.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if id := shared.RequestIDFrom(ctx); id != "" {
		req.Header.Set(shared.RequestIDHeader, id)
	}
	if ip := clientIPFrom(ctx); ip != "" {
		req.Header.Set("X-Forwarded-For", ip)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for k, v := range c.header {
		req.Header.Set(k, v)
	}
	resp, err := g.client.Do(req)
	if err != nil {
		g.calls.Inc("transport_error")
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &apiError{Status: http.StatusServiceUnavailable, Code: shared.CodeUnavailable,
			Message: "The shop is temporarily unavailable. Please try again in a moment."}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAPIBody))
	if err != nil {
		g.calls.Inc("transport_error")
		return nil, &apiError{Status: http.StatusBadGateway, Code: shared.CodeUnavailable,
			Message: "The shop is temporarily unavailable. Please try again in a moment."}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		g.calls.Inc(strconv.Itoa(resp.StatusCode/100) + "xx")
		return resp, decodeAPIError(resp, data)
	}
	g.calls.Inc("2xx")
	if c.out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, c.out); err != nil {
			return resp, fmt.Errorf("decode %s %s: %w", c.method, c.path, err)
		}
	}
	return resp, nil
}

// decodeAPIError reads the platform's error shape; anything else keeps a generic message for its status.
func decodeAPIError(resp *http.Response, data []byte) *apiError {
	var body shared.ErrorBody
	ae := &apiError{Status: resp.StatusCode, RequestID: resp.Header.Get(shared.RequestIDHeader)}
	if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && secs > 0 {
		ae.RetryAfter = secs
	}
	if json.Unmarshal(data, &body) == nil && body.Error.Message != "" {
		ae.Code, ae.Message, ae.Fields = body.Error.Code, body.Error.Message, body.Error.Fields
		if body.Error.RequestID != "" {
			ae.RequestID = body.Error.RequestID
		}
	}
	if ae.Message == "" {
		ae.Message = http.StatusText(resp.StatusCode)
		if ae.Message == "" {
			ae.Message = "Unexpected answer from the shop's backend."
		}
	}
	if ae.Status >= 500 && ae.Status != http.StatusServiceUnavailable {
		// A backend's internal failure: its message is already generic, but keep the visitor's wording.
		ae.Message = "Something went wrong on our side. Please try again."
	}
	return ae
}

// clientIPFrom returns the visitor's IP stored by the server, for X-Forwarded-For, so the gateway's
// per-client rate limit sees visitors rather than the storefront.
func clientIPFrom(ctx context.Context) string {
	v, _ := ctx.Value(clientIPKey{}).(string)
	return v
}

type clientIPKey struct{}

func withClientIP(ctx context.Context, ip string) context.Context {
	return context.WithValue(ctx, clientIPKey{}, ip)
}

// pathEscape escapes one path segment taken from a URL or a form.
func pathEscape(s string) string { return url.PathEscape(s) }

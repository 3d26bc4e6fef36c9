package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/goshop/platform/devstack/apidocs"
)

// apiContract is the gateway's merged OpenAPI document (GET /openapi.json), loaded and validated as
// OpenAPI 3.1 once per run, with a router over its paths.
type apiContract struct {
	doc    *openapi3.T
	router routers.Router
	err    error

	mu        sync.Mutex
	validated int             // request/response pairs checked
	seen      map[string]bool // operations exercised ("POST /order/orders")
}

var (
	contractOnce sync.Once
	contract     apiContract
)

// loadContract fetches and parses the merged document from the gateway at base. It must be complete:
// a service missing from it would leave its traffic unchecked.
func loadContract(base string) *apiContract {
	contractOnce.Do(func() {
		contract.seen = map[string]bool{}
		contract.err = func() error {
			resp, err := http.Get(base + "/openapi.json")
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			data, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("GET /openapi.json: status %d: %s", resp.StatusCode, data)
			}
			doc, err := apidocs.Parse(context.Background(), data)
			if err != nil {
				return fmt.Errorf("the merged document: %w", err)
			}
			if missing := doc.Info.Extensions["x-missing-services"]; missing != nil {
				return fmt.Errorf("the merged document lacks services %v", missing)
			}
			doc.Servers = nil // match any host: the suite's gateway port is not the document's
			contract.doc = doc
			contract.router, err = legacy.NewRouter(doc)
			return err
		}()
	})
	return &contract
}

func init() {
	// Pages (auth's consent page, /docs) are text like text/plain; the validator has no HTML decoder.
	openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.PlainBodyDecoder)
	openapi3filter.RegisterBodyDecoder("text/javascript", openapi3filter.PlainBodyDecoder)
	openapi3filter.RegisterBodyDecoder("text/css", openapi3filter.PlainBodyDecoder)
}

// validatingTransport is the integration client's RoundTripper for requests through the gateway: it
// sends each request, then checks the pair against the merged document with kin-openapi's
// openapi3filter and fails the test on a mismatch:
//   - the answer must be one the operation describes (status, headers, body schema), errors included;
//   - a request the document refuses (a bad parameter or body) must be refused by the platform (4xx):
//     a 2xx or 3xx means the document is stricter than the code;
//   - a path and method the document does not have may only be answered 404 or 405 in the error shape.
//
// Security requirements are not checked (any credential passes): the scope tables in each service's
// tests decide who gets in.
type validatingTransport struct {
	tb       testing.TB
	base     http.RoundTripper
	contract *apiContract
}

func (v *validatingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var reqBody []byte
	if req.Body != nil {
		var err error
		if reqBody, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		req.Body.Close()
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
	}
	resp, err := v.base.RoundTrip(req)
	if err != nil || resp.StatusCode == http.StatusSwitchingProtocols {
		return resp, err
	}
	respBody, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(respBody))
	if err != nil {
		return resp, nil // the caller sees the short body and fails on it
	}
	if problem := v.contract.check(req, reqBody, resp, respBody); problem != "" {
		v.tb.Errorf("OpenAPI contract: %s %s → %d: %s\nresponse body: %.300s", req.Method, req.URL.RequestURI(), resp.StatusCode, problem, respBody)
	}
	return resp, nil
}

// check returns what is wrong with the pair, or "".
func (c *apiContract) check(req *http.Request, reqBody []byte, resp *http.Response, respBody []byte) string {
	vreq := req.Clone(context.Background())
	vreq.Body = io.NopCloser(bytes.NewReader(reqBody))
	route, pathParams, err := c.router.FindRoute(vreq)
	if err != nil {
		var e struct {
			Error struct{ Code string } `json:"error"`
		}
		json.Unmarshal(respBody, &e)
		if (resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusMethodNotAllowed) && e.Error.Code != "" {
			return ""
		}
		return "no operation in the document (" + err.Error() + ")"
	}
	c.mu.Lock()
	c.validated++
	c.seen[req.Method+" "+route.Path] = true
	c.mu.Unlock()

	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true, MultiError: true}
	in := &openapi3filter.RequestValidationInput{Request: vreq, PathParams: pathParams, Route: route, Options: opts}
	reqErr := openapi3filter.ValidateRequest(context.Background(), in)
	if reqErr != nil && resp.StatusCode < 400 {
		return "the document refuses the request, the platform accepted it: " + oneLine(reqErr)
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header,
		Body: io.NopCloser(bytes.NewReader(respBody)), Options: opts}
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		return "the answer is not what the document describes: " + oneLine(err)
	}
	return ""
}

// oneLine keeps the first lines of a validation error (kin-openapi appends the whole schema).
func oneLine(err error) string {
	lines := strings.Split(err.Error(), "\n")
	return strings.Join(lines[:min(len(lines), 4)], " | ")
}

// coverage lists the document's operations the suite exercised and those it did not.
func (c *apiContract) coverage() (validated int, exercised, missed []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for path, item := range c.doc.Paths.Map() {
		for method := range item.Operations() {
			op := method + " " + path
			if c.seen[op] {
				exercised = append(exercised, op)
			} else {
				missed = append(missed, op)
			}
		}
	}
	slices.Sort(missed)
	return c.validated, exercised, missed
}

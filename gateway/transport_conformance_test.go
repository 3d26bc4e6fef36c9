package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/http/httputil"
	"net/textproto"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// The conformance test holds connTransport to http.Transport's behaviour: the same requests go
// through an httputil.ReverseProxy on each transport to the same real upstreams, and a client must see
// the same answers, 1xx and trailers included.

// largeBody is bigger than every buffer on the way (bufio, ReverseProxy's copy buffer, the socket's).
var largeBody = bytes.Repeat([]byte("0123456789abcdef"), 1<<19) // 8 MiB

// conformanceUpstream answers each hard case with net/http's own server.
func conformanceUpstream(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/chunked":
		for i := range 3 {
			fmt.Fprintf(w, "part %d;", i)
			w.(http.Flusher).Flush()
		}
	case "/trailers":
		w.Header().Set("Trailer", "X-Checksum, X-Count")
		io.WriteString(w, "body with trailers")
		w.Header().Set("X-Checksum", "abc")
		w.Header().Set("X-Count", "1")
	case "/early-hints":
		w.Header().Set("Link", "</app.css>; rel=preload; as=style")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "after hints")
	case "/no-content":
		w.WriteHeader(http.StatusNoContent)
	case "/not-modified":
		w.Header().Set("Etag", `"v1"`)
		w.WriteHeader(http.StatusNotModified)
	case "/close":
		w.Header().Set("Connection", "close")
		io.WriteString(w, "closing")
	case "/large":
		w.Write(largeBody)
	case "/echo":
		b, err := io.ReadAll(r.Body)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		fmt.Fprintf(w, "%s %s cl=%d te=%v len=%d sha=%x", r.Method, r.URL.RequestURI(), r.ContentLength, r.TransferEncoding, len(b), sha256.Sum256(b))
	default:
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "hello "+r.Method)
	}
}

// rawUpstream answers with the bytes of canned[path], written as they are, then closes the connection
// when the answer is one that must end it; it serves several requests on one connection otherwise.
func rawUpstream(tb testing.TB, canned map[string]string) string {
	tb.Helper()
	ln := listenLocal(tb)
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				br := bufio.NewReader(conn)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					io.Copy(io.Discard, req.Body)
					answer := canned[req.URL.Path]
					if _, err := io.WriteString(conn, answer); err != nil || !strings.Contains(answer, "Content-Length") && !strings.Contains(answer, "chunked") ||
						strings.HasSuffix(req.URL.Path, "-cut") {
						return
					}
				}
			}()
		}
	}()
	return "http://" + ln.Addr().String()
}

// seen is what a client of the proxy sees of one answer.
type seen struct {
	Status  int
	Info    []int // 1xx statuses, in order
	Header  http.Header
	Body    string
	Trailer http.Header
	Err     bool // the body could not be read to its end
	Failed  bool // no answer at all: the connection ended before the headers
}

func (s seen) String() string {
	return fmt.Sprintf("%d info=%v header=%v trailer=%v err=%v failed=%v body=%.80q (%d bytes)", s.Status, s.Info, s.Header, s.Trailer, s.Err, s.Failed, s.Body, len(s.Body))
}

// proxyVia is a reverse proxy to target on rt, as a test server.
func proxyVia(tb testing.TB, target string, rt http.RoundTripper) string {
	tb.Helper()
	u, err := url.Parse(target)
	if err != nil {
		tb.Fatal(err)
	}
	rp := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(u) }, Transport: rt,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) { w.WriteHeader(http.StatusBadGateway) }}
	srv := httptest.NewServer(rp)
	tb.Cleanup(srv.Close)
	return srv.URL
}

// ask sends one request to the proxy at base on a fresh client connection and records what comes
// back.
func ask(tb testing.TB, base, method, path string, body io.Reader, header http.Header) seen {
	tb.Helper()
	var s seen
	trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, _ textproto.MIMEHeader) error {
		s.Info = append(s.Info, code)
		return nil
	}}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(tb.Context(), trace), method, base+path, body)
	if err != nil {
		tb.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true, DisableCompression: true}}
	resp, err := client.Do(req)
	if err != nil {
		s.Failed = true
		return s
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	s.Status, s.Body, s.Err, s.Trailer = resp.StatusCode, string(b), err != nil, resp.Trailer
	s.Header = resp.Header.Clone()
	s.Header.Del("Date")
	return s
}

// TestConnTransportConformance: over each hard case, a client of the proxy sees the same answer
// whether the proxy uses connTransport or http.Transport, and a transport that saw an upstream fail
// serves the next request normally.
func TestConnTransportConformance(t *testing.T) {
	t.Parallel()
	up := httptest.NewServer(http.HandlerFunc(conformanceUpstream))
	t.Cleanup(up.Close)
	// A streamed answer without Content-Type gets one sniffed by the proxy's server or not depending
	// on whether ReverseProxy's first flush beats its first write, whichever the transport: streamed
	// canned answers carry their own.
	raw := rawUpstream(t, map[string]string{
		"/unsolicited-continue": "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
		"/two-hints":            "HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </b.js>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
		"/until-close":          "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nread until the upstream closes",
		"/length-cut":           "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b",
		"/chunked-cut":          "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
		"/headers-cut":          "HTTP/1.1 200 OK\r\nContent-Len",
		"/http10":               "HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello",
		"/ok":                   "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
		"/two-lengths":          "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok!",
		"/length-and-chunked":   "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
		"/extra-bytes":          "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstray",
		"/head-with-body":       "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
		"/bad-status":           "HTTP/1.1 2x0 OK\r\nContent-Length: 2\r\n\r\nok",
	})
	type step struct {
		target, method, path, body string
		header                     http.Header
	}
	steps := []step{
		{up.URL, "GET", "/plain", "", nil},
		{up.URL, "GET", "/chunked", "", nil},
		{up.URL, "GET", "/trailers", "", nil},
		{up.URL, "GET", "/early-hints", "", nil},
		{up.URL, "HEAD", "/plain", "", nil},
		{up.URL, "HEAD", "/large", "", nil},
		{up.URL, "GET", "/no-content", "", nil},
		{up.URL, "GET", "/not-modified", "", nil},
		{up.URL, "GET", "/close", "", nil},
		{up.URL, "GET", "/plain", "", nil}, // after Connection: close, on a new connection
		{up.URL, "GET", "/large", "", nil},
		{up.URL, "POST", "/echo", "", nil},
		{up.URL, "DELETE", "/echo?x=1", "", nil},
		{up.URL, "POST", "/echo", "a small body", nil},
		{up.URL, "PUT", "/echo", string(largeBody), nil},
		{up.URL, "POST", "/echo", "expecting", http.Header{"Expect": {"100-continue"}}},
		{up.URL, "GET", "/plain", "", http.Header{"Connection": {"close"}}},
		{raw, "GET", "/unsolicited-continue", "", nil},
		{raw, "GET", "/two-hints", "", nil},
		{raw, "GET", "/until-close", "", nil},
		{raw, "GET", "/http10", "", nil},
		{raw, "GET", "/length-cut", "", nil},
		{raw, "GET", "/ok", "", nil}, // reuse after an error
		{raw, "GET", "/chunked-cut", "", nil},
		{raw, "GET", "/ok", "", nil},
		{raw, "GET", "/headers-cut", "", nil},
		{raw, "GET", "/ok", "", nil},
		{raw, "GET", "/two-lengths", "", nil},
		{raw, "GET", "/ok", "", nil},
		{raw, "GET", "/length-and-chunked", "", nil},
		{raw, "GET", "/extra-bytes", "", nil},
		{raw, "GET", "/ok", "", nil}, // the stray answer must not be taken for this one's
		{raw, "HEAD", "/head-with-body", "", nil},
		{raw, "GET", "/ok", "", nil},
		{raw, "GET", "/bad-status", "", nil},
		{raw, "GET", "/ok", "", nil},
		{up.URL, "GET", "/plain", "", nil},
	}
	stdTr := newTransport(5 * time.Second)
	connTr := newConnTransport(newTransport(5*time.Second), 5*time.Second)
	t.Cleanup(stdTr.CloseIdleConnections)
	t.Cleanup(connTr.CloseIdleConnections)
	std := map[string]string{up.URL: proxyVia(t, up.URL, stdTr), raw: proxyVia(t, raw, stdTr)}
	conn := map[string]string{up.URL: proxyVia(t, up.URL, connTr), raw: proxyVia(t, raw, connTr)}
	for _, s := range steps {
		body := func() io.Reader {
			if s.body == "" {
				return nil
			}
			return strings.NewReader(s.body)
		}
		want := ask(t, std[s.target], s.method, s.path, body(), s.header)
		got := ask(t, conn[s.target], s.method, s.path, body(), s.header)
		// With Expect: 100-continue the proxy's own server may send its automatic 100 as well as
		// forwarding the upstream's, whichever transport (both use http.Transport for it): net/http's
		// race, not the transport's.
		want.Info, got.Info = slices.Compact(want.Info), slices.Compact(got.Info)
		if got.Status != want.Status || !slices.Equal(got.Info, want.Info) || !headersEqual(got.Header, want.Header) ||
			got.Body != want.Body || !headersEqual(got.Trailer, want.Trailer) || got.Err != want.Err || got.Failed != want.Failed {
			t.Errorf("%s %s:\nconnTransport %s\nhttp.Transport %s", s.method, s.path, got, want)
		}
	}
}

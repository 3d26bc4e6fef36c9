// Command floorproxy is the reference gateway/bench/compare.sh measures the gateway against besides
// nginx: the least a Go server on net/http can do for the same two jobs, so the table shows which
// part of the gateway's cost is its own and which is net/http's and httputil.ReverseProxy's.
//
//   - GET /hit answers a fixed body from memory with the headers a gateway HIT carries (a fresh
//     request ID, the three security headers, X-Cache-Status, Age and the upstream's own), nothing
//     else: no routing, no middleware, no cache lookup.
//   - /pass/... is a bare httputil.ReverseProxy with Rewrite (prefix stripped, SetURL) over a
//     keep-alive http.Transport to -upstream: no balancing, breaker, retries, identity or headers.
//
// Usage (compare.sh starts it so):
//
//	floorproxy -addr 127.0.0.1:18084 -upstream http://127.0.0.1:18081 -body data.json
package main

import (
	"encoding/binary"
	"encoding/hex"
	"flag"
	"log"
	"math/rand/v2"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18084", "listen address")
	upstream := flag.String("upstream", "http://127.0.0.1:18081", "the backend /pass/ forwards to")
	bodyFile := flag.String("body", "", "the file GET /hit answers with")
	flag.Parse()
	body, err := os.ReadFile(*bodyFile)
	if err != nil {
		log.Fatal(err)
	}
	up, err := url.Parse(*upstream)
	if err != nil {
		log.Fatal(err)
	}
	stored := time.Now()
	header := http.Header{
		"Content-Type":           {"application/json"},
		"Content-Length":         {strconv.Itoa(len(body))},
		"Etag":                   {`"floor"`},
		"Last-Modified":          {stored.UTC().Format(http.TimeFormat)},
		"Accept-Ranges":          {"bytes"},
		"X-Content-Type-Options": {"nosniff"},
		"X-Frame-Options":        {"DENY"},
		"Referrer-Policy":        {"strict-origin-when-cross-origin"},
		"X-Cache-Status":         {"HIT"},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /hit", func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		for k, v := range header {
			h[k] = v
		}
		var id [16]byte
		binary.LittleEndian.PutUint64(id[:8], rand.Uint64())
		binary.LittleEndian.PutUint64(id[8:], rand.Uint64())
		h["X-Request-Id"] = []string{hex.EncodeToString(id[:])}
		h["Age"] = []string{strconv.Itoa(int(time.Since(stored) / time.Second))}
		w.Write(body)
	})
	mux.Handle("/pass/", &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Path = strings.TrimPrefix(pr.In.URL.Path, "/pass")
			pr.SetURL(up)
		},
		Transport: &http.Transport{MaxIdleConnsPerHost: 256, IdleConnTimeout: 90 * time.Second, DisableCompression: true},
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {})
	log.Fatal((&http.Server{Addr: *addr, Handler: mux}).ListenAndServe())
}

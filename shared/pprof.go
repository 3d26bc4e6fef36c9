package shared

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// Pprof returns PPROF_ADDR: the host:port of the profiling listener (ServePprof); empty, the default,
// turns it off.
func (e *Env) Pprof() string { return e.HostPort("PPROF_ADDR", "") }

// ServePprof serves net/http/pprof's handlers (/debug/pprof/...) on addr, a listener of their own so
// they are never reachable through the program's port or the gateway, until shutdown. Empty addr:
// nothing. Bind it to loopback: profiles show memory contents and cost CPU while they run. The error
// is a listener that cannot be opened, so a taken port fails start-up as HTTP_ADDR's does.
func (s *Service) ServePprof(addr string) error {
	if addr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("pprof: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	// No write timeout: a CPU profile or trace streams for as long as its ?seconds= asks.
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: time.Minute}
	go srv.Serve(ln)
	s.OnClose("pprof", func(ctx context.Context) error { return srv.Close() })
	s.Logger.Info("pprof on", "addr", ln.Addr().String())
	return nil
}

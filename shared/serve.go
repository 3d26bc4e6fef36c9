package shared

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// ShutdownTimeout is how long Serve waits for in-flight requests after its context is cancelled.
const ShutdownTimeout = 15 * time.Second

// NewHTTPServer returns an http.Server with the platform's timeouts: 5 s to read headers, 30 s to read
// the request, 60 s to write the response, 120 s idle. Streaming handlers (WebSocket) extend their own
// deadlines with http.ResponseController.
func NewHTTPServer(handler http.Handler, logger *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}

// Listen binds addr now, so a taken port fails start-up at once rather than after other work.
func Listen(ctx context.Context, addr string) (net.Listener, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	return ln, nil
}

// Serve serves srv on ln until ctx is cancelled, then marks ready as shutting down (so /readyz turns
// 503), and shuts the server down with a fresh ShutdownTimeout context so in-flight requests drain.
// It returns nil after a clean shutdown.
func Serve(ctx context.Context, logger *slog.Logger, srv *http.Server, ln net.Listener, ready *Readiness) error {
	errc := make(chan error, 1)
	go func() {
		logger.Info("listening", "addr", ln.Addr().String())
		errc <- srv.Serve(ln)
	}()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	if ready != nil {
		ready.ShuttingDown()
	}
	logger.Info("shutting down", "timeout", ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

// NewLogger returns the platform's JSON logger for service at level ("debug", "info", "warn", "error";
// anything else is info). A line logged with a context that holds a span carries trace_id and
// span_id.
func NewLogger(w io.Writer, service, level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(traceLogHandler{slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l})}).With("service", service)
}

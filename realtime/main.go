// Command realtime pushes platform events to browsers over WebSocket: order progress to the order's
// owner, stock and catalog changes to everyone, everything to admins, with resume after reconnects.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/goshop/platform/shared"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "realtime:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := loadConfig(getenv)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	// `realtime -healthcheck` probes the running instance's /readyz: the container healthcheck.
	if shared.IsHealthcheck(args) {
		return shared.Probe(ctx, cfg.HTTPAddr)
	}
	logger := shared.NewLogger(stdout, "realtime", cfg.LogLevel)
	metrics := shared.NewMetrics("realtime")
	ready := shared.NewReadiness()
	ready.Add("kafka", shared.KafkaPing(cfg.Brokers))

	verifier := shared.NewJWKSVerifier(cfg.JWKSURL, cfg.Issuer, "")
	h := newHub(cfg.Hub, nil)
	cons := newConsumer(h, logger, cfg.MaxEventAge, nil)
	live := &conns{}
	handler := NewServer(logger, cfg, metrics, ready, h, cons, verifier, newAuthSessions(cfg.AuthURL, verifier), live)

	ln, err := shared.Listen(ctx, cfg.HTTPAddr)
	if err != nil {
		return err
	}
	srv := shared.NewHTTPServer(handler, logger)
	logger.Info("starting", "addr", ln.Addr().String(), "consumer_group", cfg.ConsumerGroup(), "brokers", cfg.Brokers)

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return shared.Serve(gctx, logger, srv, ln, ready) })
	g.Go(func() error {
		return shared.Consume(gctx, logger, shared.ConsumerConfig{Brokers: cfg.Brokers, Group: cfg.ConsumerGroup(), Topics: shared.AllTopics(),
			CommitInterval: cfg.CommitInterval}, cons.handle)
	})
	g.Go(func() error {
		t := time.NewTicker(time.Minute)
		defer t.Stop()
		for {
			select {
			case <-gctx.Done():
				return nil
			case <-t.C:
				h.sweep()
			}
		}
	})
	g.Go(func() error {
		<-gctx.Done()
		// http.Server.Shutdown does not see hijacked connections: close them ourselves, going-away,
		// so clients reconnect (to another instance) at once.
		ready.ShuttingDown()
		h.shutdown()
		return live.wait(cfg.ShutdownGrace)
	})
	err = g.Wait()
	logger.Info("stopped")
	return err
}

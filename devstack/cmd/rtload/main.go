// Command rtload measures a running realtime end to end, through Kafka. It holds -conns WebSocket
// connections of three classes (admins, signed-in customers, anonymous shoppers), lets each
// non-admin connection subscribe to the products "on its page", publishes events to Kafka at -rate
// per second with shared.KafkaPublisher, and reports per class the p50/p99 latency from the Kafka
// publish call to client receipt, deliveries per second, messages realtime dropped, realtime's CPU
// per 1,000 deliveries (from /proc/<pid>/stat) and its memory per idle connection (heap and stacks
// after a forced GC, from its admin-only POST /debug/gc).
//
// Routed traffic, as a shop uses realtime (a broker and realtime running; see docs/realtime.md):
//
//	go run ./cmd/rtload -url ws://127.0.0.1:39009/ws -brokers 127.0.0.1:39092 -jwks 127.0.0.1:39400 \
//	    -pid $(pgrep -n realtime-bin) -conns 5000 -admins 5 -users 1000 -subscribe 20 -skus 2000 \
//	    -events 30000 -rate 1000
//
// The broadcast worst case (every event to every connection): -subscribe 0 -admins 0 -users 0.
// Realtime must trust the issuer rtload runs on -jwks: JWKS_URL=http://<jwks>/.well-known/jwks.json
// and AUTH_ISSUER=rtload. `rtload -kafka-serve 127.0.0.1:39092` only runs a Kafka-protocol broker
// (kfake, as the devstack does) until interrupted.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/goshop/platform/shared"
)

func main() { shared.Main("rtload", run) }

// warmupSKU is the SKU of the events that check the pipeline before the measurement; a probe
// connection subscribes to it alone.
const warmupSKU = "RTLOAD-WARMUP"

func run(ctx context.Context, args []string, _ func(string) string, stdout, _ io.Writer) error {
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	wsURL := fs.String("url", "ws://127.0.0.1:3009/ws", "realtime WebSocket URL")
	brokers := fs.String("brokers", "127.0.0.1:9092", "Kafka brokers")
	kafkaServe := fs.String("kafka-serve", "", "only run a kfake broker on this host:port until interrupted")
	jwks := fs.String("jwks", "", "serve a token issuer's JWKS on this host:port (needed for -admins, -users and the memory figure)")
	issuerName := fs.String("issuer", "rtload", `the issuer's "iss" (realtime's AUTH_ISSUER)`)
	pid := fs.Int("pid", 0, "realtime's process ID, for its CPU time (0: not measured)")
	conns := fs.Int("conns", 1000, "connections to hold")
	admins := fs.Int("admins", 0, "of which admins (they receive every event)")
	users := fs.Int("users", 0, "of which signed-in customers, each a distinct user (they receive their order events)")
	subscribe := fs.Int("subscribe", 0, "SKUs each non-admin connection subscribes to (0: none, every public event)")
	skus := fs.Int("skus", 1000, "SKUs the events and subscriptions are drawn from")
	zipf := fs.Float64("zipf", 0, "popularity of SKUs: Zipf exponent (> 1), or 0 for uniform")
	orders := fs.Float64("orders", 0.1, "share of events that are order events for a signed-in customer")
	events := fs.Int("events", 1000, "events to publish")
	rate := fs.Int("rate", 1000, "events per second")
	publishers := fs.Int("publishers", 64, "concurrent Kafka publish calls (each waits for its ack)")
	seed := fs.Uint64("seed", 1, "random seed of the traffic model")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *kafkaServe != "" {
		return serveKafka(ctx, *kafkaServe, stdout)
	}
	if (*admins > 0 || *users > 0) && *jwks == "" {
		return errors.New("-admins and -users need -jwks (realtime must trust rtload's issuer)")
	}
	m, err := newModel(*conns, *admins, *users, *subscribe, *skus, *zipf, *orders, *seed)
	if err != nil {
		return err
	}
	base := strings.TrimSuffix(strings.Replace(strings.Replace(*wsURL, "ws://", "http://", 1), "wss://", "https://", 1), "/ws")
	var iss *issuer
	if *jwks != "" {
		if iss, err = newIssuer(*jwks, *issuerName); err != nil {
			return err
		}
		defer iss.close()
	}
	fmt.Fprintf(stdout, "loadavg %s", loadavg())

	// The baseline needs a realtime without connections (a previous run's may still be closing).
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		st, err := getStats(ctx, base)
		if err != nil {
			return err
		}
		if st.Connections == 0 {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("realtime still holds %d connections: run rtload against an idle realtime", st.Connections)
		}
	}
	mem0, err := memory(ctx, base, iss)
	if err != nil {
		return err
	}
	probe, err := dial(ctx, *wsURL, "", []string{warmupSKU})
	if err != nil {
		return fmt.Errorf("probe connection: %w", err)
	}
	defer probe.CloseNow()
	clients, err := dialAll(ctx, *wsURL, m, iss)
	defer func() {
		for _, c := range clients {
			if c != nil {
				c.CloseNow()
			}
		}
	}()
	if err != nil {
		return err
	}
	if mem1, err := memory(ctx, base, iss); err != nil {
		return err
	} else if mem1 != nil {
		n := float64(len(clients) + 1)
		fmt.Fprintf(stdout, "held %d connections (%d admin, %d customer, %d anonymous; %d SKUs subscribed each): realtime heap in use + stacks after GC %+.1f KiB/conn (heap %+.1f of which live objects %+.1f, stacks %+.1f), goroutines %+.2f/conn\n",
			len(clients), *admins, *users, *conns-*admins-*users, *subscribe,
			(mem1.total()-mem0.total())/1024/n, (mem1.HeapInuse-mem0.HeapInuse)/1024/n, (mem1.HeapAlloc-mem0.HeapAlloc)/1024/n,
			(mem1.StackInuse-mem0.StackInuse)/1024/n, (mem1.Goroutines-mem0.Goroutines)/n)
	} else {
		fmt.Fprintf(stdout, "held %d connections (no -jwks: memory not measured)\n", len(clients))
	}

	var (
		hist     [numClasses]histogram
		received atomic.Int64
		lost     atomic.Int64
		wg       sync.WaitGroup
	)
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for i, c := range clients {
		h := &hist[m.class[i]]
		wg.Go(func() {
			for {
				_, p, err := c.Read(rctx)
				if err != nil {
					if rctx.Err() == nil {
						lost.Add(1)
					}
					return
				}
				if t, ok := stamp(p); ok {
					h.add(time.Since(time.Unix(0, t)))
					received.Add(1)
				}
			}
		})
	}

	pub := shared.NewKafkaPublisher(shared.ParseBrokers(*brokers))
	defer pub.Close()
	if err := releaseSKUs(ctx, pub, m.skus); err != nil {
		return err
	}
	if err := warmUp(ctx, pub, probe); err != nil {
		return err
	}
	stats0, err := getStats(ctx, base)
	if err != nil {
		return err
	}
	cpu0, err := cpuTime(*pid)
	if err != nil {
		return err
	}
	self0, _ := cpuTime(os.Getpid())
	var want atomic.Int64
	jobs := make(chan event, *publishers)
	var pubErrs atomic.Int64
	var pwg sync.WaitGroup
	for range *publishers {
		pwg.Go(func() {
			for e := range jobs {
				if err := publish(ctx, pub, e); err != nil {
					pubErrs.Add(1)
				}
			}
		})
	}
	start := time.Now()
	interval := time.Second / time.Duration(*rate)
	for i := range *events {
		if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
			time.Sleep(d)
		}
		e := m.next()
		want.Add(int64(e.want))
		jobs <- e
	}
	close(jobs)
	pwg.Wait()
	published := time.Since(start)
	deadline := time.Now().Add(time.Minute)
	for received.Load() < want.Load() && time.Now().Before(deadline) && ctx.Err() == nil && lost.Load() == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	elapsed := time.Since(start)
	cpu1, _ := cpuTime(*pid)
	self1, _ := cpuTime(os.Getpid())
	stats1, err := getStats(ctx, base)
	if err != nil {
		return err
	}
	cancel()
	wg.Wait()

	got := received.Load()
	fmt.Fprintf(stdout, "published %d events in %s (%.0f/s, %d failed); delivered %d of %d in %s: %.0f deliveries/s\n",
		*events, published.Round(time.Millisecond), float64(*events)/published.Seconds(), pubErrs.Load(), got, want.Load(),
		elapsed.Round(time.Millisecond), float64(got)/elapsed.Seconds())
	if lag := elapsed - published; got == want.Load() && lag > time.Second {
		fmt.Fprintf(stdout, "  fell behind: the last delivery came %s after the last publish, so the latencies below are queueing, not response time\n",
			lag.Round(time.Millisecond))
	}
	for c := range numClasses {
		h := &hist[c]
		if h.n.Load() == 0 {
			continue
		}
		fmt.Fprintf(stdout, "  %-9s  %9d deliveries  Kafka publish -> client p50 %8s  p99 %8s  max %8s\n", className[c], h.n.Load(),
			h.quantile(0.5).Round(100*time.Microsecond), h.quantile(0.99).Round(100*time.Microsecond), h.quantile(1).Round(100*time.Microsecond))
	}
	fmt.Fprintf(stdout, "realtime: dropped %d, slow consumers disconnected %d, connections lost %d\n",
		stats1.MessagesDropped-stats0.MessagesDropped, stats1.SlowConsumers-stats0.SlowConsumers, lost.Load())
	if *pid != 0 && got > 0 {
		cpu := cpu1 - cpu0
		fmt.Fprintf(stdout, "realtime CPU %.2f s over the run: %.1f ms per 1,000 deliveries, %.0f µs per event\n",
			cpu.Seconds(), cpu.Seconds()*1e6/float64(got), cpu.Seconds()*1e6/float64(*events))
	}
	fmt.Fprintf(stdout, "rtload CPU %.2f s (its clients and publishers, on the same machine)\n", (self1 - self0).Seconds())
	fmt.Fprintf(stdout, "loadavg %s", loadavg())
	if got < want.Load() {
		return errors.New("not every message was delivered")
	}
	return nil
}

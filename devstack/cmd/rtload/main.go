// Command rtload measures a running realtime end to end: it holds -conns WebSocket connections,
// publishes -events inventory.updated events to Kafka at -rate per second, and reports how many
// connections it held, deliveries per second, the p50/p99 latency from the Kafka publish call to
// client receipt, and realtime's memory per connection (from its /metrics, idle, after connecting).
//
//	cd devstack && go run ./cmd/rtload -url ws://127.0.0.1:3009/ws -brokers 127.0.0.1:9092 -conns 5000 -events 2000 -rate 1000
//
// Every connection is anonymous, so every event (public) goes to every connection.
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/coder/websocket"

	"github.com/goshop/platform/shared"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "rtload:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	wsURL := fs.String("url", "ws://127.0.0.1:3009/ws", "realtime WebSocket URL")
	metricsURL := fs.String("metrics", "", "realtime /metrics URL (default: from -url)")
	brokers := fs.String("brokers", "127.0.0.1:9092", "Kafka brokers")
	conns := fs.Int("conns", 1000, "connections to hold")
	events := fs.Int("events", 1000, "events to publish")
	rate := fs.Int("rate", 1000, "events per second")
	publishers := fs.Int("publishers", 32, "concurrent Kafka publish calls (each waits for its ack)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *metricsURL == "" {
		u := strings.Replace(strings.Replace(*wsURL, "ws://", "http://", 1), "wss://", "https://", 1)
		*metricsURL = strings.TrimSuffix(u, "/ws") + "/metrics"
	}

	heap0, gor0, err := scrape(ctx, *metricsURL)
	if err != nil {
		return err
	}
	clients, err := dialAll(ctx, *wsURL, *conns)
	defer func() {
		for _, c := range clients {
			c.CloseNow()
		}
	}()
	if err != nil {
		return err
	}
	time.Sleep(2 * time.Second) // let the server's allocations settle before measuring
	heap1, gor1, err := scrape(ctx, *metricsURL)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "held %d connections: server heap_alloc %+.1f KiB/conn (no forced GC: indicative only), goroutines %+.2f/conn\n",
		len(clients), float64(int64(heap1)-int64(heap0))/1024/float64(len(clients)), float64(gor1-gor0)/float64(len(clients)))

	var (
		received atomic.Int64
		mu       sync.Mutex
		lat      []time.Duration
		wg       sync.WaitGroup
	)
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for i, c := range clients {
		wg.Go(func() {
			var local []time.Duration
			for {
				_, p, err := c.Read(rctx)
				if err != nil {
					break
				}
				if t, ok := stamp(p); ok {
					received.Add(1)
					if i%10 == 0 { // sample a tenth of the connections
						local = append(local, time.Since(time.Unix(0, t)))
					}
				}
			}
			mu.Lock()
			lat = append(lat, local...)
			mu.Unlock()
		})
	}

	pub := shared.NewKafkaPublisher(shared.ParseBrokers(*brokers))
	defer pub.Close()
	// Warm the writer (metadata, connections) so the first events do not carry that cost.
	if err := publish(ctx, pub, -1); err != nil {
		return fmt.Errorf("kafka: %w", err)
	}
	want := int64(*events) * int64(len(clients))
	start := time.Now()
	base := received.Load() // the warm-up event
	want += base
	jobs := make(chan int)
	var pubErr atomic.Value
	var pwg sync.WaitGroup
	for range *publishers {
		pwg.Go(func() {
			for i := range jobs {
				if err := publish(ctx, pub, i); err != nil {
					pubErr.Store(err)
				}
			}
		})
	}
	tick := time.NewTicker(time.Second / time.Duration(*rate))
	for i := range *events {
		<-tick.C
		jobs <- i
	}
	tick.Stop()
	close(jobs)
	pwg.Wait()
	published := time.Since(start)
	deadline := time.Now().Add(time.Minute)
	for received.Load() < want && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(5 * time.Millisecond)
	}
	elapsed := time.Since(start)
	cancel()
	wg.Wait()
	if err, _ := pubErr.Load().(error); err != nil {
		fmt.Fprintf(stdout, "some publishes failed: %v\n", err)
	}
	got := received.Load() - base
	slices.Sort(lat)
	pct := func(p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[int(p*float64(len(lat)-1))]
	}
	fmt.Fprintf(stdout, "published %d events in %s (%.0f/s); delivered %d of %d in %s: %.0f deliveries/s\n",
		*events, published.Round(time.Millisecond), float64(*events)/published.Seconds(), got, want-base,
		elapsed.Round(time.Millisecond), float64(got)/elapsed.Seconds())
	fmt.Fprintf(stdout, "latency Kafka publish -> client: p50 %s  p99 %s  max %s (%d samples)\n",
		pct(0.5).Round(100*time.Microsecond), pct(0.99).Round(100*time.Microsecond), pct(1).Round(100*time.Microsecond), len(lat))
	if got < want-base {
		return errors.New("not every message was delivered")
	}
	return nil
}

// dialAll opens n connections, 64 at a time, each read up to its hello.
func dialAll(ctx context.Context, url string, n int) ([]*websocket.Conn, error) {
	out := make([]*websocket.Conn, n)
	sem := make(chan struct{}, 64)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			c, _, err := websocket.Dial(dctx, url, nil)
			if err == nil {
				_, _, err = c.Read(dctx) // hello
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if first == nil {
					first = fmt.Errorf("connection %d: %w", i, err)
				}
				return
			}
			out[i] = c
		})
	}
	wg.Wait()
	held := out[:0]
	for _, c := range out {
		if c != nil {
			held = append(held, c)
		}
	}
	return held, first
}

func publish(ctx context.Context, pub *shared.KafkaPublisher, i int) error {
	data := fmt.Sprintf(`{"sku":"LOAD-%d","on_hand":%d,"reserved":0,"available":%d,"t":%d}`, i%100, i, i, time.Now().UnixNano())
	e, err := shared.NewEvent("inventory.updated", fmt.Sprintf("LOAD-%d", i%100), jsonRaw(data))
	if err != nil {
		return err
	}
	return pub.Publish(ctx, shared.TopicInventory, e)
}

type jsonRaw string

func (j jsonRaw) MarshalJSON() ([]byte, error) { return []byte(j), nil }

// stamp extracts "t":<unix nanos> from a message.
func stamp(p []byte) (int64, bool) {
	k := bytes.Index(p, []byte(`"t":`))
	if k < 0 {
		return 0, false
	}
	end := k + 4
	for end < len(p) && p[end] >= '0' && p[end] <= '9' {
		end++
	}
	t, err := strconv.ParseInt(string(p[k+4:end]), 10, 64)
	return t, err == nil
}

// scrape reads go_memstats_heap_alloc_bytes and go_goroutines from a /metrics page.
func scrape(ctx context.Context, url string) (heap uint64, goroutines int, err error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, 0, fmt.Errorf("metrics: %w", err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		f := strings.Fields(line)
		if len(f) != 2 {
			continue
		}
		switch {
		case strings.HasPrefix(line, "go_memstats_heap_alloc_bytes{"):
			heap, _ = strconv.ParseUint(f[1], 10, 64)
		case strings.HasPrefix(line, "go_goroutines{"):
			goroutines, _ = strconv.Atoi(f[1])
		}
	}
	return heap, goroutines, sc.Err()
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/goshop/platform/shared"
)

// benchInt reads an integer knob from the environment.
func benchInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// cpuTime is the user+system CPU this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// heapAndStacks is the memory the Go runtime holds for live objects and goroutine stacks.
func heapAndStacks() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse + m.StackInuse
}

// BenchmarkFanout holds RT_BENCH_CONNS WebSocket connections (default 1000; anonymous, so every
// public message goes to all of them) on a real server over loopback, then publishes b.N public
// messages at RT_BENCH_RATE per second (default 1000) and waits until every connection got every
// message. It reports the delivery latency (hub publish to client receipt) p50/p99, deliveries per
// second, and the memory per idle connection (both ends: server and client run in this process).
//
//	RT_BENCH_CONNS=5000 go test -run=NONE -bench=Fanout -benchtime=2000x ./realtime/
func BenchmarkFanout(b *testing.B) {
	conns := benchInt("RT_BENCH_CONNS", 1000)
	rate := benchInt("RT_BENCH_RATE", 1000)
	e := newTestEnv(b, func(c *Config) {
		c.Hub.SendQueue = 1024
		// A starved machine must not turn a late pong into a lost connection mid-benchmark.
		c.Conn.PongTimeout = time.Minute
	})

	before := heapAndStacks()
	goBefore := runtime.NumGoroutine()
	clients := make([]*websocket.Conn, conns)
	for i := range clients {
		clients[i], _ = e.dial(b, "", nil)
	}
	perConn := float64(heapAndStacks()-before) / float64(conns)
	goPerConn := float64(runtime.NumGoroutine()-goBefore) / float64(conns)

	var (
		mu        sync.Mutex
		latencies = make([]time.Duration, 0, b.N*min(conns, 200))
		received  atomic.Int64
		wg        sync.WaitGroup
	)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for i, c := range clients {
		wg.Go(func() {
			local := make([]time.Duration, 0, b.N)
			for {
				_, p, err := c.Read(ctx)
				if err != nil {
					break
				}
				// Cheap parse of "t":<unix nanos> so the clients' CPU does not dominate the bench.
				if k := bytes.Index(p, []byte(`"t":`)); k >= 0 {
					end := k + 4
					for end < len(p) && p[end] >= '0' && p[end] <= '9' {
						end++
					}
					if ts, err := strconv.ParseInt(string(p[k+4:end]), 10, 64); err == nil && i < 200 {
						// sample latencies from 200 connections to bound memory
						local = append(local, time.Since(time.Unix(0, ts)))
					}
					received.Add(1)
				}
			}
			mu.Lock()
			latencies = append(latencies, local...)
			mu.Unlock()
		})
	}

	want := int64(b.N) * int64(conns)
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	b.ResetTimer()
	cpu0 := cpuTime()
	start := time.Now()
	for i := range b.N {
		<-tick.C
		data := fmt.Appendf(nil, `{"sku":"SKU-%d","available":%d,"t":%d}`, i%100, i, time.Now().UnixNano())
		e.hub.publish("inventory.updated", data, time.Now(), audience{public: true})
	}
	deadline := time.Now().Add(time.Minute)
	for received.Load() < want && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	elapsed := time.Since(start)
	cpu := cpuTime() - cpu0
	b.StopTimer()
	cancel()
	wg.Wait()

	if got := received.Load(); got < want {
		s := e.hub.stats()
		b.Fatalf("delivered %d of %d messages within a minute (dropped %d, connections open %d of %d)",
			got, want, s.MessagesDropped, s.Connections, conns)
	}
	slices.Sort(latencies)
	pct := func(p float64) float64 {
		if len(latencies) == 0 {
			return 0
		}
		return float64(latencies[int(p*float64(len(latencies)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(float64(conns), "conns")
	b.ReportMetric(float64(want)/elapsed.Seconds(), "deliveries/s")
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(perConn/1024, "KiB/conn")
	b.ReportMetric(goPerConn, "goroutines/conn")
	b.ReportMetric(float64(e.hub.stats().MessagesDropped), "dropped")
	// CPU per delivery does not depend on what else runs on the machine (both ends included).
	b.ReportMetric(float64(cpu.Microseconds())/float64(want), "cpu-µs/delivery")
}

// BenchmarkParseLive compares the live consumer's decode of an order event that makes a
// notification: routing fields and notification in two decodes (before) and in one pass.
func BenchmarkParseLive(b *testing.B) {
	e := shared.Event{ID: shared.NewID(), Type: "order.confirmed", OccurredAt: time.Now(),
		Data: json.RawMessage(`{"order_id":"0f8fad5bd9cb469fa16570867728950e","user_id":"7c9e6679742540de944be07fc1f90ae7","status":"confirmed","items":[{"sku":"ELEC-CAM-005","name":"Action Camera","unit_price_cents":19999,"quantity":1}],"subtotal_cents":19999,"tax_cents":1600,"shipping_cents":0,"total_cents":21599,"currency":"USD","reason":"","previous_status":"pending"}`)}
	b.Run("two-decodes", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := parseEventData(e); err != nil {
				b.Fatal(err)
			}
			if _, _, ok := notificationFor(e); !ok {
				b.Fatal("no notification")
			}
		}
	})
	b.Run("one-pass", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, _, ok, err := parseLive(e); err != nil || !ok {
				b.Fatal(err, ok)
			}
		}
	})
}

// BenchmarkFrame compares the encoding of one pushed message by reflection (before) with
// message.appendJSON.
func BenchmarkFrame(b *testing.B) {
	m := message{Seq: 123456, Type: "order.confirmed", OccurredAt: time.Now().UTC(),
		Data: json.RawMessage(`{"order_id":"0f8fad5bd9cb469fa16570867728950e","user_id":"7c9e6679742540de944be07fc1f90ae7","status":"confirmed","items":[{"sku":"ELEC-CAM-005","name":"Action Camera","unit_price_cents":19999,"quantity":1}],"subtotal_cents":19999,"tax_cents":1600,"shipping_cents":0,"total_cents":21599,"currency":"USD","reason":"","previous_status":"pending"}`)}
	b.Run("json.Marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(m); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("appendJSON", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			m.appendJSON(make([]byte, 0, 96+len(m.Type)+len(m.Data)))
		}
	})
}

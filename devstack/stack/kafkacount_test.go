package stack

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/goshop/platform/shared"
	"github.com/twmb/franz-go/pkg/kfake"
)

// TestKafkaCounter publishes and consumes through a counted kfake and checks the served counts name
// the APIs, the topic and the group.
func TestKafkaCounter(t *testing.T) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(0), kfake.SeedTopics(3, "t"),
		kfake.ListenFn(func(network, _ string) (net.Listener, error) { return net.Listen(network, "127.0.0.1:0") }))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	var c kafkaCounter
	c.watch(cluster)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	stop, err := c.serve(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()

	brokers := cluster.ListenAddrs()
	pub := shared.NewKafkaPublisher(brokers)
	defer pub.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	e, err := shared.NewEvent("test.counted", "k", map[string]int{"n": 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.Publish(ctx, "t", e); err != nil {
		t.Fatal(err)
	}
	cctx, stopConsume := context.WithCancel(ctx)
	got := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- shared.Consume(cctx, slog.New(slog.DiscardHandler), shared.ConsumerConfig{Brokers: brokers, Group: "g", Topics: []string{"t"}, MaxWait: 100 * time.Millisecond},
			func(context.Context, shared.Event) error { close(got); return nil })
	}()
	select {
	case <-got:
	case <-ctx.Done():
		t.Fatal("the event was not consumed")
	}
	stopConsume()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	resp, err := http.Get("http://" + addr + KafkaCountsPath)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var counts map[string]int64
	if err := json.NewDecoder(resp.Body).Decode(&counts); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"Produce", "Produce t", "Fetch", "Fetch t", "JoinGroup g", "OffsetCommit g"} {
		if counts[k] < 1 {
			t.Errorf("counts[%q] = %d, want ≥ 1 (all: %v)", k, counts[k], counts)
		}
	}
	if counts["Fetch"] < counts["Fetch t"] || counts["Produce"] != counts["Produce t"] {
		t.Errorf("a total is below its parts: %v", counts)
	}
}

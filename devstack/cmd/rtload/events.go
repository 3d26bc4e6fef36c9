package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"

	"github.com/coder/websocket"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/goshop/platform/shared"
	"golang.org/x/sync/errgroup"
)

// warmUp publishes warm-up events until the probe connection receives one: realtime's consumer has
// joined its group and caught up, so the measurement does not include that.
func warmUp(ctx context.Context, pub *shared.KafkaPublisher, probe *websocket.Conn) error {
	got := make(chan error, 1)
	go func() {
		_, _, err := probe.Read(ctx)
		got <- err
	}()
	deadline := time.After(90 * time.Second)
	for {
		e, _ := shared.NewEvent("inventory.updated", warmupSKU, map[string]any{"sku": warmupSKU, "available": 0})
		if err := pub.Publish(ctx, shared.TopicInventory, e); err != nil {
			return fmt.Errorf("kafka: %w", err)
		}
		select {
		case err := <-got:
			return err
		case <-time.After(500 * time.Millisecond):
		case <-deadline:
			return errors.New("warm-up: no event reached realtime's clients within 90 s (is realtime consuming this broker?)")
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// releaseSKUs publishes a product.created of an active product for each of the n SKUs and the
// warm-up SKU: realtime sends stock updates to anonymous and customer connections only for SKUs it
// knows as released. The events are stamped an hour ago, so realtime learns them without passing
// them on to the connections (it skips events that old).
func releaseSKUs(ctx context.Context, pub *shared.KafkaPublisher, n int) error {
	at := time.Now().Add(-time.Hour)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(32) // as the measured publishing: the publisher batches concurrent calls
	for i := -1; i < n; i++ {
		sku := warmupSKU
		if i >= 0 {
			sku = skuName(i)
		}
		g.Go(func() error {
			e, err := shared.NewEvent("product.created", "rtload-"+sku, map[string]any{"product_id": "rtload-" + sku, "sku": sku, "active": true})
			if err != nil {
				return err
			}
			e.OccurredAt = at
			if err := pub.Publish(gctx, shared.TopicProduct, e); err != nil {
				return fmt.Errorf("kafka: %w", err)
			}
			return nil
		})
	}
	return g.Wait()
}

// publish sends e, stamped with the time of the publish call ("t", Unix nanoseconds).
func publish(ctx context.Context, pub *shared.KafkaPublisher, e event) error {
	t := time.Now().UnixNano()
	if e.user >= 0 {
		u := userID(e.user)
		ev, err := shared.NewEvent("order.confirmed", "rtload-order", jsonRaw(fmt.Sprintf(`{"order_id":"rtload-order-%d","user_id":%q,"status":"confirmed","t":%d}`, t, u, t)))
		if err != nil {
			return err
		}
		return pub.Publish(ctx, shared.TopicOrder, ev)
	}
	sku := skuName(e.sku)
	ev, err := shared.NewEvent("inventory.updated", sku, jsonRaw(fmt.Sprintf(`{"sku":%q,"on_hand":10,"reserved":0,"available":10,"t":%d}`, sku, t)))
	if err != nil {
		return err
	}
	return pub.Publish(ctx, shared.TopicInventory, ev)
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

// serveKafka runs a single kfake broker on addr with the platform's topics (3 partitions each, as
// the devstack does) until ctx ends.
func serveKafka(ctx context.Context, addr string, stdout io.Writer) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("-kafka-serve %q: %w", addr, err)
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return fmt.Errorf("-kafka-serve %q: bad port", addr)
	}
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(p), kfake.SeedTopics(3, shared.AllTopics()...),
		kfake.AllowAutoTopicCreation(), kfake.DefaultNumPartitions(3),
		kfake.ListenFn(func(network, a string) (net.Listener, error) {
			return net.Listen(network, net.JoinHostPort(host, port))
		}))
	if err != nil {
		return fmt.Errorf("kfake: %w", err)
	}
	defer c.Close()
	fmt.Fprintf(stdout, "kfake broker on %s\n", addr)
	<-ctx.Done()
	return nil
}

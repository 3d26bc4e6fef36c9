package kafkatest

import (
	"context"
	"encoding/json"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/goshop/platform/shared"
)

// TestPublishPartitions: each event lands on the partition kafka.Hash gives its key (the one kafka-go's
// Writer chose, so keys keep their partitions across the change of publisher), one key's events in
// the order published, with the type header, in a topic that did not exist before the publish.
func TestPublishPartitions(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(0), kfake.AllowAutoTopicCreation(), kfake.DefaultNumPartitions(4),
		kfake.ListenFn(func(network, address string) (net.Listener, error) {
			return net.Listen(network, "127.0.0.1:0")
		}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	brokers := c.ListenAddrs()
	const topic = "created.on.publish"
	keys := []string{"a", "b", "c", "d", "e", "f", "g", "h"}
	publish(t, brokers, topic, keys, 0, 3)
	publish(t, brokers, topic, keys, 3, 2)

	all := []int{0, 1, 2, 3}
	var h kafka.Hash
	got := map[string][]int{}
	for p := range 4 {
		conn, err := kafka.DialLeader(context.Background(), "tcp", brokers[0], topic, p)
		if err != nil {
			t.Fatal(err)
		}
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		last, err := conn.ReadLastOffset()
		if err != nil {
			t.Fatal(err)
		}
		for off := int64(0); off < last; {
			batch := conn.ReadBatch(1, 1<<20)
			for {
				m, err := batch.ReadMessage()
				if err != nil {
					break
				}
				off = m.Offset + 1
				if want := h.Balance(kafka.Message{Key: m.Key}, all...); want != p {
					t.Errorf("key %q on partition %d, kafka.Hash says %d", m.Key, p, want)
				}
				if len(m.Headers) == 0 || m.Headers[0].Key != "type" || string(m.Headers[0].Value) != "test.numbered" {
					t.Errorf("headers %v, want type test.numbered first", m.Headers)
				}
				e, ok := decode(m.Value)
				if !ok || e.Key != string(m.Key) {
					t.Fatalf("value %s of key %q", m.Value, m.Key)
				}
				got[e.Key] = append(got[e.Key], e.N)
			}
			if err := batch.Close(); err != nil {
				t.Fatal(err)
			}
		}
		conn.Close()
	}
	for _, k := range keys {
		if want := []int{0, 1, 2, 3, 4}; !slices.Equal(got[k], want) {
			t.Errorf("key %s: %v, want %v", k, got[k], want)
		}
	}
}

func decode(b []byte) (numbered, bool) {
	var e shared.Event
	var d numbered
	if err := json.Unmarshal(b, &e); err != nil || e.Type != "test.numbered" {
		return d, false
	}
	return d, e.Decode(&d) == nil
}

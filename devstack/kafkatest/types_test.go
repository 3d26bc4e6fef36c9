package kafkatest

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/goshop/platform/shared"
)

// TestConsumeTypes: a consumer that names its types (ConsumerConfig.Types) never sees the others,
// still gets a message without the type header, gets the wanted events in order per key, and has
// committed what it skipped: started again in its group without a type filter, it sees only what
// was published since, not the unwanted events it skipped at the end of every partition. Consume
// with synchronous commits, ConsumeBatches with background commits.
func TestConsumeTypes(t *testing.T) {
	for _, tc := range []struct {
		name     string
		interval time.Duration
		run      func(t *testing.T, cfg shared.ConsumerConfig, rec *recorder)
	}{
		{"Consume", 0, consume},
		{"ConsumeBatches", 200 * time.Millisecond, func(t *testing.T, cfg shared.ConsumerConfig, rec *recorder) { consumeBatches(t, cfg, rec) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			const topic = "test.events"
			brokers := broker(t, topic)
			keys := []string{"a", "b", "c", "d", "e", "f"}
			cfg := shared.ConsumerConfig{Brokers: brokers, Group: "svc", Topics: []string{topic}, Types: []string{"test.numbered"},
				MaxWait: 100 * time.Millisecond, RetryMax: 200 * time.Millisecond, CommitInterval: tc.interval}

			// Unwanted events numbered 100 and up, between and after the wanted 0..19: seeing one
			// breaks a key's sequence.
			for i := range 4 {
				publishTyped(t, brokers, topic, "test.noise", keys, 100+i, 1)
				publish(t, brokers, topic, keys, i*5, 5)
			}
			publishTyped(t, brokers, topic, "test.noise", keys, 200, 3)
			publishBare(t, brokers, topic, "test.noise", "z", 3)

			rec := newRecorder(len(keys)*20 + 3)
			// The handler's last event comes before the skipped tail: wait for the tail's commits.
			rec.settle = func() { waitCommitted(t, brokers, cfg.Group, topic) }
			tc.run(t, cfg, rec)
			for _, k := range keys {
				if got, want := fmt.Sprint(rec.seen[k]), fmt.Sprint(seq(0, 20)); got != want {
					t.Errorf("key %s handled %s, want %s", k, got, want)
				}
			}
			if got, want := fmt.Sprint(rec.seen["z"]), fmt.Sprint(seq(0, 3)); got != want {
				t.Errorf("messages without a type header: handled %s, want %s", got, want)
			}

			cfg.Types = nil
			checkResumes(t, brokers, topic, keys, 20, func(rec *recorder) { tc.run(t, cfg, rec) })
		})
	}
}

// publishBare writes n events of type typ, numbered, under key with kafka-go's own writer and no
// headers, as a producer from before the type header did.
func publishBare(t *testing.T, brokers []string, topic, typ, key string, n int) {
	t.Helper()
	w := &kafka.Writer{Addr: kafka.TCP(brokers...), Topic: topic, Balancer: &kafka.Hash{}, RequiredAcks: kafka.RequireAll}
	defer w.Close()
	msgs := make([]kafka.Message, n)
	for i := range msgs {
		e, err := shared.NewEvent(typ, key, map[string]any{"key": key, "n": i})
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		msgs[i] = kafka.Message{Key: []byte(key), Value: b}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
}

// waitCommitted waits up to 10 s for group's committed offsets to reach the end of every partition
// of topic, and fails t if they do not: messages were left uncommitted.
func waitCommitted(t *testing.T, brokers []string, group, topic string) {
	t.Helper()
	c := &kafka.Client{Addr: kafka.TCP(brokers...)}
	parts := []int{0, 1, 2}
	var behind []string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		ends, err := c.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{
			topic: {kafka.LastOffsetOf(0), kafka.LastOffsetOf(1), kafka.LastOffsetOf(2)}}})
		var committed *kafka.OffsetFetchResponse
		if err == nil {
			committed, err = c.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: parts}})
		}
		cancel()
		if err != nil {
			behind = []string{err.Error()}
			continue
		}
		end := map[int]int64{}
		for _, p := range ends.Topics[topic] {
			end[p.Partition] = p.LastOffset
		}
		behind = nil
		for _, p := range committed.Topics[topic] {
			if end[p.Partition] > 0 && p.CommittedOffset < end[p.Partition] { // an empty partition has nothing to commit
				behind = append(behind, fmt.Sprintf("partition %d committed %d of %d", p.Partition, p.CommittedOffset, end[p.Partition]))
			}
		}
		if len(behind) == 0 && len(committed.Topics[topic]) == len(parts) {
			return
		}
	}
	t.Errorf("group %s did not commit to the end of %s: %v", group, topic, behind)
}

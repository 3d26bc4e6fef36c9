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

package kafkatest

import (
	"context"
	"testing"

	"github.com/segmentio/kafka-go"

	"github.com/goshop/platform/shared"
)

// TestKeepTopic: shared.KeepTopic gives a topic unlimited retention whether it is absent (created
// with it), auto-created with the broker's default (set), already kept or compacted (left alone),
// over the wire against kfake. Product runs it for product.events, which realtime and inventory
// read from its start.
func TestKeepTopic(t *testing.T) {
	t.Parallel()
	brokers := broker(t, "seeded.events")
	ctx := context.Background()
	c := &kafka.Client{Addr: kafka.TCP(brokers...)}
	config := func(topic string) map[string]string {
		t.Helper()
		res, err := c.DescribeConfigs(ctx, &kafka.DescribeConfigsRequest{Resources: []kafka.DescribeConfigRequestResource{
			{ResourceType: kafka.ResourceTypeTopic, ResourceName: topic, ConfigNames: []string{"retention.ms", "cleanup.policy"}}}})
		if err != nil {
			t.Fatalf("describe %s: %v", topic, err)
		}
		out := map[string]string{}
		for _, r := range res.Resources {
			for _, e := range r.ConfigEntries {
				out[e.ConfigName] = e.ConfigValue
			}
		}
		return out
	}
	keep := func(topic, want string) {
		t.Helper()
		did, err := shared.KeepTopic(ctx, brokers, topic)
		if err != nil || did != want {
			t.Errorf("KeepTopic(%s) = %q, %v; want %q", topic, did, err, want)
		}
		if got := config(topic); got["retention.ms"] != "-1" && got["cleanup.policy"] != "compact" {
			t.Errorf("%s after KeepTopic: %v, want retention.ms -1", topic, got)
		}
	}

	keep("fresh.events", "created")
	keep("fresh.events", "")
	before := config("seeded.events")["retention.ms"]
	if before == "-1" {
		t.Fatalf("a seeded topic already keeps everything (retention.ms %s): the test shows nothing", before)
	}
	keep("seeded.events", "retention.ms was "+before)
	keep("seeded.events", "")

	created, err := c.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{{Topic: "compacted.events",
		NumPartitions: 1, ReplicationFactor: 1, ConfigEntries: []kafka.ConfigEntry{{ConfigName: "cleanup.policy", ConfigValue: "compact"}}}}})
	if err != nil || created.Errors["compacted.events"] != nil {
		t.Fatalf("create compacted: %v %v", err, created)
	}
	keep("compacted.events", "")
	if got := config("compacted.events")["retention.ms"]; got == "-1" {
		t.Errorf("a compacted topic's retention was changed to %s", got)
	}
}

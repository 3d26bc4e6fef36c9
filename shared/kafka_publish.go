package shared

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
	metadataAPI "github.com/segmentio/kafka-go/protocol/metadata"
	"go.opentelemetry.io/otel/trace"
)

// publishAttempts bounds the tries of one partition's produce request on errors the broker calls
// temporary (no leader yet for a topic just created, a leader moving) or a broken connection; the
// wait between tries doubles from publishBackoff. What still fails is returned, and the caller (the
// outbox relay) retries the whole publish later.
const (
	publishAttempts = 5
	publishBackoff  = 50 * time.Millisecond
)

// KafkaPublisher is a Publisher that sends each Publish as one produce request per partition
// (usually one: an outbox batch is mostly one aggregate's events) and returns when the broker
// acknowledged it: hash partitioning by key as kafka.Hash (the partition a key maps to is kafka-go's
// Writer's), acks from all in-sync replicas, topics created on first use.
//
// It calls the produce API directly instead of through a kafka.Writer: every caller publishes
// synchronously and waits for the ack, so the Writer's batching only added work and waiting to
// each publish (a hand-off to a goroutine per partition, a batch timer, and a 100-message buffer
// allocated and cleared per batch; docs/performance.md).
type KafkaPublisher struct {
	addr      net.Addr
	transport *kafka.Transport
	client    *kafka.Client
	balancer  kafka.Hash
	tracing   *Tracing // producer spans; nil: none
}

// NewKafkaPublisher returns a publisher for brokers. It connects lazily; Close closes its connections.
func NewKafkaPublisher(brokers []string) *KafkaPublisher {
	addr := kafka.TCP(brokers...)
	tr := &kafka.Transport{}
	return &KafkaPublisher{addr: addr, transport: tr, client: &kafka.Client{Addr: addr, Transport: tr, Timeout: 10 * time.Second}}
}

// Publish writes events to topic keyed by aggregate ID, with the request ID of ctx and the trace
// context (of the envelope, else of ctx) as headers. One aggregate's events keep their order: they
// map to one partition and go in one request.
func (p *KafkaPublisher) Publish(ctx context.Context, topic string, events ...Event) error {
	if len(events) == 0 {
		return nil
	}
	var n int
	err := retry(ctx, func() (err error) { n, err = p.partitions(ctx, topic); return err })
	if err != nil {
		return fmt.Errorf("publish %s: %w", topic, err)
	}
	all := make([]int, n)
	for i := range all {
		all[i] = i
	}
	var (
		spans  []trace.Span
		order  []int // partitions in the order of their first event
		byPart = map[int][]kafka.Message{}
		now    = time.Now()
	)
	for _, e := range events {
		b, err := json.Marshal(e)
		if err != nil {
			endSpans(spans, err)
			return fmt.Errorf("publish %s: %w", e.Type, err)
		}
		m := kafka.Message{Topic: topic, Key: []byte(e.AggregateID), Value: b,
			Headers: []kafka.Header{{Key: "type", Value: []byte(e.Type)}}}
		if id := RequestIDFrom(ctx); id != "" {
			m.Headers = append(m.Headers, kafka.Header{Key: RequestIDHeader, Value: []byte(id)})
		}
		if span := p.tracing.startPublish(ctx, topic, e, &m); span != nil {
			spans = append(spans, span)
		}
		part := p.balancer.Balance(m, all...)
		if _, ok := byPart[part]; !ok {
			order = append(order, part)
		}
		m.Time = now
		byPart[part] = append(byPart[part], m)
	}
	err = p.produceAll(ctx, topic, order, byPart)
	endSpans(spans, err)
	if err != nil {
		return fmt.Errorf("publish %s: %w", topic, err)
	}
	return nil
}

// produceAll sends each partition's records, the partitions concurrently, and joins their errors.
func (p *KafkaPublisher) produceAll(ctx context.Context, topic string, order []int, byPart map[int][]kafka.Message) error {
	if len(order) == 1 {
		return p.produce(ctx, topic, order[0], byPart[order[0]])
	}
	errs := make([]error, len(order))
	var wg sync.WaitGroup
	for i, part := range order {
		wg.Go(func() { errs[i] = p.produce(ctx, topic, part, byPart[part]) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// produce sends msgs to one partition and waits for the ack, retrying temporary failures.
func (p *KafkaPublisher) produce(ctx context.Context, topic string, partition int, msgs []kafka.Message) error {
	err := retry(ctx, func() error {
		// A record's key and value are readers, used up by a request: each attempt gets new ones.
		records := make([]kafka.Record, len(msgs))
		for i, m := range msgs {
			records[i] = kafka.Record{Time: m.Time, Key: kafka.NewBytes(m.Key), Value: kafka.NewBytes(m.Value), Headers: m.Headers}
		}
		res, err := p.client.Produce(ctx, &kafka.ProduceRequest{Topic: topic, Partition: partition,
			RequiredAcks: kafka.RequireAll, Records: kafka.NewRecordReader(records...)})
		if err != nil {
			return err
		}
		if res.Error != nil {
			return res.Error
		}
		for i, rerr := range res.RecordErrors {
			return fmt.Errorf("record %d: %w", i, rerr)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("partition %d: %w", partition, err)
	}
	return nil
}

// retry calls f up to publishAttempts times while it fails with a retriable error, waiting
// publishBackoff doubling in between, and returns its last error.
func retry(ctx context.Context, f func() error) error {
	backoff := publishBackoff
	err := f()
	for attempt := 2; attempt <= publishAttempts && err != nil && retriable(err); attempt++ {
		if !SleepCtx(ctx, backoff) {
			return errors.Join(err, ctx.Err())
		}
		backoff *= 2
		err = f()
	}
	return err
}

// retriable reports whether a failed produce may succeed when tried again: a broker error Kafka
// marks temporary, or a network failure.
func retriable(err error) bool {
	var kerr kafka.Error
	if errors.As(err, &kerr) {
		return kerr.Temporary()
	}
	var nerr net.Error
	return errors.As(err, &nerr) || errors.Is(err, net.ErrClosed) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}

// partitions returns topic's partition count, creating the topic when the broker allows it. The
// transport caches metadata, so this is a round trip only now and then.
func (p *KafkaPublisher) partitions(ctx context.Context, topic string) (int, error) {
	r, err := p.transport.RoundTrip(ctx, p.addr, &metadataAPI.Request{TopicNames: []string{topic}, AllowAutoTopicCreation: true})
	if err != nil {
		return 0, err
	}
	for _, t := range r.(*metadataAPI.Response).Topics {
		if t.Name != topic {
			continue
		}
		if t.ErrorCode != 0 {
			return 0, kafka.Error(t.ErrorCode)
		}
		if len(t.Partitions) == 0 {
			return 0, kafka.UnknownTopicOrPartition
		}
		return len(t.Partitions), nil
	}
	return 0, kafka.UnknownTopicOrPartition
}

// Close closes the publisher's idle connections. Publish returns only once its events are
// acknowledged, so there is nothing buffered to flush.
func (p *KafkaPublisher) Close() error {
	p.transport.CloseIdleConnections()
	return nil
}

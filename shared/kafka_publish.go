package shared

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"
	metadataAPI "github.com/segmentio/kafka-go/protocol/metadata"
	produceAPI "github.com/segmentio/kafka-go/protocol/produce"
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

// KafkaPublisher is a Publisher that sends each Publish as one produce request per partition leader
// (one request in a one-broker cluster, whatever partitions the events map to) and returns when the
// broker acknowledged it: hash partitioning by key as kafka.Hash (the partition a key maps to is
// kafka-go's Writer's), acks from all in-sync replicas, topics created on first use.
//
// It speaks the produce API itself instead of going through a kafka.Writer: every caller publishes
// synchronously and waits for the ack, so the Writer's batching only added work and waiting to each
// publish (a hand-off to a goroutine per partition, a batch timer, a 100-message buffer allocated and
// cleared per batch) and sent one request per partition where the protocol takes a leader's
// partitions in one (docs/performance.md).
type KafkaPublisher struct {
	addr      net.Addr
	transport *kafka.Transport
	balancer  kafka.Hash
	tracing   *Tracing // producer spans; nil: none

	mu     sync.Mutex
	layout map[string]topicLayout // by topic; see leaders
}

// topicLayout is a topic's partition leaders as the broker last named them.
type topicLayout struct {
	leaders map[int32]int32 // partition → leader broker ID
	at      time.Time
}

// layoutTTL is how long a topic's partition leaders are used without asking the broker again; a
// failed produce forgets them at once.
const layoutTTL = 5 * time.Second

// NewKafkaPublisher returns a publisher for brokers. It connects lazily; Close closes its connections.
func NewKafkaPublisher(brokers []string) *KafkaPublisher {
	return &KafkaPublisher{addr: kafka.TCP(brokers...), transport: &kafka.Transport{}}
}

// Publish writes events to topic keyed by aggregate ID, with the request ID of ctx and the trace
// context (of the envelope, else of ctx) as headers. One aggregate's events keep their order: they
// map to one partition, in one request.
func (p *KafkaPublisher) Publish(ctx context.Context, topic string, events ...Event) error {
	if len(events) == 0 {
		return nil
	}
	var leaders map[int32]int32
	err := retry(ctx, func() (err error) { leaders, err = p.cachedLeaders(ctx, topic); return err })
	if err != nil {
		return fmt.Errorf("publish %s: %w", topic, err)
	}
	all := make([]int, len(leaders))
	for i := range all {
		all[i] = i
	}
	var (
		spans  []trace.Span
		byPart = map[int32][]kafka.Message{}
		now    = time.Now()
	)
	for _, e := range events {
		b, err := e.AppendJSON(make([]byte, 0, 256+len(e.Data)))
		if err != nil {
			endSpans(spans, err)
			return fmt.Errorf("publish %s: %w", e.Type, err)
		}
		m := kafka.Message{Key: []byte(e.AggregateID), Value: b, Time: now,
			Headers: []kafka.Header{{Key: TypeHeader, Value: []byte(e.Type)}}}
		if id := RequestIDFrom(ctx); id != "" {
			m.Headers = append(m.Headers, kafka.Header{Key: RequestIDHeader, Value: []byte(id)})
		}
		if span := p.tracing.startPublish(ctx, topic, e, &m); span != nil {
			spans = append(spans, span)
		}
		part := int32(p.balancer.Balance(m, all...))
		byPart[part] = append(byPart[part], m)
	}
	byLeader := map[int32]map[int32][]kafka.Message{}
	for part, msgs := range byPart {
		l := leaders[part]
		if byLeader[l] == nil {
			byLeader[l] = map[int32][]kafka.Message{}
		}
		byLeader[l][part] = msgs
	}
	errs := make([]error, 0, len(byLeader))
	if len(byLeader) == 1 {
		for _, parts := range byLeader {
			errs = append(errs, p.produce(ctx, topic, parts))
		}
	} else {
		var mu sync.Mutex
		var wg sync.WaitGroup
		for _, parts := range byLeader {
			wg.Go(func() {
				err := p.produce(ctx, topic, parts)
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			})
		}
		wg.Wait()
	}
	err = errors.Join(errs...)
	endSpans(spans, err)
	if err != nil {
		p.forget(topic) // a leader may have moved
		return fmt.Errorf("publish %s: %w", topic, err)
	}
	return nil
}

// produce sends parts (partition → its messages, all led by one broker) in one produce request and
// waits for the ack; partitions that fail with a temporary error are sent again.
func (p *KafkaPublisher) produce(ctx context.Context, topic string, parts map[int32][]kafka.Message) error {
	return retry(ctx, func() error {
		req := &produceAPI.Request{Acks: int16(kafka.RequireAll), Timeout: timeoutMs(ctx),
			Topics: []produceAPI.RequestTopic{{Topic: topic, Partitions: make([]produceAPI.RequestPartition, 0, len(parts))}}}
		for part, msgs := range parts {
			// A record's key and value are readers, used up by a request: each attempt gets new ones.
			records := make([]kafka.Record, len(msgs))
			for i, m := range msgs {
				records[i] = kafka.Record{Time: m.Time, Key: kafka.NewBytes(m.Key), Value: kafka.NewBytes(m.Value), Headers: m.Headers}
			}
			req.Topics[0].Partitions = append(req.Topics[0].Partitions, produceAPI.RequestPartition{Partition: part,
				RecordSet: protocol.RecordSet{Records: protocol.NewRecordReader(records...)}})
		}
		r, err := p.transport.RoundTrip(ctx, p.addr, req)
		if err != nil {
			return err
		}
		var errs []error
		for _, t := range r.(*produceAPI.Response).Topics {
			for _, rp := range t.Partitions {
				switch {
				case rp.ErrorCode != 0:
					errs = append(errs, fmt.Errorf("partition %d: %w", rp.Partition, kafka.Error(rp.ErrorCode)))
				case len(rp.RecordErrors) > 0:
					errs = append(errs, fmt.Errorf("partition %d record %d: %s", rp.Partition, rp.RecordErrors[0].BatchIndex, rp.RecordErrors[0].BatchIndexErrorMessage))
				default:
					delete(parts, rp.Partition) // acknowledged: not sent again
				}
			}
		}
		if len(errs) == 0 && len(parts) > 0 {
			errs = append(errs, fmt.Errorf("%d partitions missing from the produce response", len(parts)))
		}
		return errors.Join(errs...)
	})
}

// timeoutMs is the broker-side bound of a produce request: what is left of ctx, else 10 s.
func timeoutMs(ctx context.Context) int32 {
	if d, ok := ctx.Deadline(); ok {
		return int32(max(time.Until(d).Milliseconds(), 1))
	}
	return 10_000
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

// cachedLeaders is leaders, remembered for layoutTTL: asking the transport (which caches too) cost
// a fifth of each publish.
func (p *KafkaPublisher) cachedLeaders(ctx context.Context, topic string) (map[int32]int32, error) {
	p.mu.Lock()
	l, ok := p.layout[topic]
	p.mu.Unlock()
	if ok && time.Since(l.at) < layoutTTL {
		return l.leaders, nil
	}
	leaders, err := p.leaders(ctx, topic)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	if p.layout == nil {
		p.layout = map[string]topicLayout{}
	}
	p.layout[topic] = topicLayout{leaders: leaders, at: time.Now()}
	p.mu.Unlock()
	return leaders, nil
}

// forget drops topic's remembered leaders, so the next publish asks the broker.
func (p *KafkaPublisher) forget(topic string) {
	p.mu.Lock()
	delete(p.layout, topic)
	p.mu.Unlock()
}

// leaders returns the leader broker of each of topic's partitions, creating the topic when the
// broker allows it. The transport caches metadata, so this is a round trip only now and then.
func (p *KafkaPublisher) leaders(ctx context.Context, topic string) (map[int32]int32, error) {
	r, err := p.transport.RoundTrip(ctx, p.addr, &metadataAPI.Request{TopicNames: []string{topic}, AllowAutoTopicCreation: true})
	if err != nil {
		return nil, err
	}
	for _, t := range r.(*metadataAPI.Response).Topics {
		if t.Name != topic {
			continue
		}
		if t.ErrorCode != 0 {
			return nil, kafka.Error(t.ErrorCode)
		}
		out := make(map[int32]int32, len(t.Partitions))
		for _, pt := range t.Partitions {
			if pt.ErrorCode != 0 {
				return nil, kafka.Error(pt.ErrorCode)
			}
			out[pt.PartitionIndex] = pt.LeaderID
		}
		for i := range int32(len(out)) {
			if _, ok := out[i]; !ok {
				return nil, fmt.Errorf("partition %d: %w", i, kafka.UnknownTopicOrPartition)
			}
		}
		if len(out) == 0 {
			return nil, kafka.UnknownTopicOrPartition
		}
		return out, nil
	}
	return nil, kafka.UnknownTopicOrPartition
}

// Close closes the publisher's idle connections. Publish returns only once its events are
// acknowledged, so there is nothing buffered to flush.
func (p *KafkaPublisher) Close() error {
	p.transport.CloseIdleConnections()
	return nil
}

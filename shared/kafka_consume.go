package shared

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/segmentio/kafka-go"
)

// ConsumerConfig configures Consume. Group is the consumer group (the service's name). MaxWait bounds
// how long a fetch waits for new data (default 500 ms; tests use ~100 ms so Close is quick).
// RetryMax caps the backoff between attempts of a failing handler (default 30 s).
//
// CommitInterval 0 (the default) commits each message synchronously after its handler returned: one
// broker round trip per event, and a crash redelivers at most the event in hand. A positive interval
// commits handled offsets in the background that often (and once more when Consume returns): much
// cheaper per event, at the price of redelivering up to an interval's worth of events after a crash.
// Only for consumers whose handlers are cheap to repeat (realtime drops duplicates by ID; the
// gateway's purges are idempotent); never needed for correctness, since every handler must be
// idempotent anyway.
type ConsumerConfig struct {
	Brokers        []string
	Group          string
	Topics         []string
	MaxWait        time.Duration
	RetryMax       time.Duration
	CommitInterval time.Duration
	Tracing        *Tracing // a consumer span per event, in the trace its headers carry; nil: none
}

// SagaCommitInterval (100 ms) is the CommitInterval of the checkout saga's consumers (order,
// inventory, user's order mail). A synchronous commit per event was one broker round trip on every
// hop of every order, in series with the next event, and most of the consumers' CPU. At-least-once
// is kept: an offset is still committed only after its handler returned, only the commit is batched,
// so a consumer killed with kill -9 redelivers at most the last 100 ms of handled events, and those
// handlers remember the event IDs they applied (order's AppliedEvents, inventory's reservations by
// order, mail IDs equal to event IDs), so a redelivery changes nothing. The faults suite's kill -9
// tests check that no order is lost or applied twice.
const SagaCommitInterval = 100 * time.Millisecond

// EventHandler handles one event. It must be idempotent: Consume delivers at least once.
type EventHandler func(ctx context.Context, e Event) error

// ErrPoison marks an event the handler can never apply (malformed data); Consume logs it and moves on
// instead of retrying forever.
var ErrPoison = errors.New("poison event")

// Consume reads cfg.Topics as consumer group cfg.Group until ctx is cancelled and calls handle for each
// event in partition order. A message is committed only after handle returned nil (or ErrPoison, or the
// value is not an event envelope); a handler error is retried with exponential backoff (100 ms doubling
// to cfg.RetryMax), so no event is lost while a dependency is down. It returns nil when ctx ends.
func Consume(ctx context.Context, logger *slog.Logger, cfg ConsumerConfig, handle EventHandler) error {
	if cfg.MaxWait == 0 {
		cfg.MaxWait = 500 * time.Millisecond
	}
	if cfg.RetryMax == 0 {
		cfg.RetryMax = 30 * time.Second
	}
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers:        cfg.Brokers,
		GroupID:        cfg.Group,
		GroupTopics:    cfg.Topics,
		MaxWait:        cfg.MaxWait,
		StartOffset:    kafka.FirstOffset,
		CommitInterval: cfg.CommitInterval,
		MinBytes:       1,
		MaxBytes:       10 << 20,
		// A consumer killed without leaving its group keeps its partitions until the broker gives up
		// on it: the session timeout, or the rebalance timeout when its replacement joins. kafka-go's
		// default of 30 s for both would hold a restarted service's events that long; 10 s (Kafka's
		// own session default before 3.0) is still three heartbeats.
		SessionTimeout:   10 * time.Second,
		RebalanceTimeout: 10 * time.Second,
	})
	defer r.Close()
	logger = logger.With("group", cfg.Group)
	for {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			logger.Warn("kafka fetch", "err", err)
			if !SleepCtx(ctx, time.Second) {
				return nil
			}
			continue
		}
		if e, ok := decodeEvent(logger, m); ok && !handleWithRetry(ctx, logger, cfg.Tracing, cfg.Group, cfg.RetryMax, e, m, handle) {
			return nil
		}
		if err := r.CommitMessages(context.WithoutCancel(ctx), m); err != nil {
			logger.Warn("kafka commit", "err", err, "topic", m.Topic, "offset", m.Offset)
		}
	}
}

// ReadTopic reads topic from the first offset of every partition up to its end as of the call (the
// high watermark), calls handle for each event in partition order and returns nil once all are read:
// a start-up step that rebuilds state from a topic. No consumer group, nothing committed. Partitions
// are read one after another, so handle is never called concurrently; later events are left to a
// consumer. A topic that does not exist reads as empty. Events are treated as in Consume (malformed
// values and ErrPoison skipped, other handler errors retried with backoff up to 30 s). maxWait bounds
// a fetch's wait (default 500 ms). An unreachable or silent broker fails the read (retry it whole, as
// Program.Setup does); it returns ctx's error as soon as ctx ends.
func ReadTopic(ctx context.Context, logger *slog.Logger, brokers []string, topic string, maxWait time.Duration, handle EventHandler) error {
	if maxWait == 0 {
		maxWait = 500 * time.Millisecond
	}
	ends, err := partitionEnds(ctx, brokers, topic)
	if err != nil {
		return fmt.Errorf("read %s: %w", topic, err)
	}
	for _, p := range ends {
		if p.LastOffset <= p.FirstOffset {
			continue // empty, or emptied by retention
		}
		if err := readPartition(ctx, logger, brokers, topic, p, maxWait, handle); err != nil {
			return fmt.Errorf("read %s partition %d: %w", topic, p.Partition, err)
		}
	}
	return nil
}

// partitionEnds returns each partition's first and end (next to be written) offsets, by partition.
func partitionEnds(ctx context.Context, brokers []string, topic string) ([]kafka.PartitionOffsets, error) {
	c := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 10 * time.Second}
	md, err := c.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return nil, err
	}
	var reqs []kafka.OffsetRequest
	for _, t := range md.Topics { // the one asked for
		if errors.Is(t.Error, kafka.UnknownTopicOrPartition) {
			return nil, nil
		}
		if t.Error != nil {
			return nil, t.Error
		}
		for _, p := range t.Partitions {
			reqs = append(reqs, kafka.FirstOffsetOf(p.ID), kafka.LastOffsetOf(p.ID))
		}
	}
	if len(reqs) == 0 {
		return nil, nil
	}
	res, err := c.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: reqs}})
	if err != nil {
		return nil, err
	}
	ends := res.Topics[topic]
	for _, p := range ends {
		if p.Error != nil {
			return nil, fmt.Errorf("partition %d offsets: %w", p.Partition, p.Error)
		}
	}
	slices.SortFunc(ends, func(a, b kafka.PartitionOffsets) int { return a.Partition - b.Partition })
	return ends, nil
}

// readPartition hands one partition's events from its first offset up to p.LastOffset to handle. It
// fetches batches from the leader itself: a kafka.Reader prefetches, so each partition would cost a
// MaxWait at its end.
func readPartition(ctx context.Context, logger *slog.Logger, brokers []string, topic string, p kafka.PartitionOffsets, maxWait time.Duration, handle EventHandler) error {
	conn, err := dialLeader(ctx, brokers, topic, p.Partition)
	if err != nil {
		return err
	}
	defer conn.Close()
	defer context.AfterFunc(ctx, func() { conn.Close() })() // ends a fetch when ctx ends
	// The first offset now, not p.FirstOffset: retention may have dropped that one since.
	if _, err := conn.Seek(0, kafka.SeekStart); err != nil {
		return errors.Join(ctx.Err(), err)
	}
	for {
		// The offset after the last one read; past the end also when the end is not a message.
		if next, _ := conn.Offset(); next >= p.LastOffset {
			return nil
		}
		conn.SetReadDeadline(time.Now().Add(maxWait + 10*time.Second)) // a silent broker fails the read
		batch := conn.ReadBatchWith(kafka.ReadBatchConfig{MinBytes: 1, MaxBytes: 10 << 20, MaxWait: maxWait})
		for {
			m, err := batch.ReadMessage()
			if err != nil {
				break // the batch's end, or its error, which Close returns
			}
			// No spans: a rebuild replays history into traces long finished; the handler's log lines
			// still carry each event's trace ID.
			if e, ok := decodeEvent(logger, m); ok && !handleWithRetry(ctx, logger, nil, "", 30*time.Second, e, m, handle) {
				batch.Close()
				return ctx.Err()
			}
			if m.Offset+1 >= p.LastOffset {
				batch.Close()
				return nil
			}
		}
		if err := batch.Close(); err != nil {
			return errors.Join(ctx.Err(), err)
		}
	}
}

// dialLeader connects to the leader of topic's partition through the first broker that answers.
func dialLeader(ctx context.Context, brokers []string, topic string, partition int) (*kafka.Conn, error) {
	d := &kafka.Dialer{Timeout: 10 * time.Second}
	var errs []error
	for _, b := range brokers {
		conn, err := d.DialLeader(ctx, "tcp", b, topic, partition)
		if err == nil {
			return conn, nil
		}
		errs = append(errs, err)
	}
	return nil, errors.Join(errs...)
}

// decodeEvent unmarshals m's value as an event envelope; a value that is not one is logged and
// reported false, to be skipped.
func decodeEvent(logger *slog.Logger, m kafka.Message) (Event, bool) {
	var e Event
	if err := json.Unmarshal(m.Value, &e); err != nil || e.ID == "" || e.Type == "" {
		logger.Error("dropping malformed event", "topic", m.Topic, "partition", m.Partition, "offset", m.Offset, "err", err)
		return Event{}, false
	}
	return e, true
}

// handleWithRetry calls handle until it succeeds or reports ErrPoison; false means ctx ended first.
// The handler's context carries the message's request ID and trace, in a consumer span of group
// when tracing is on.
func handleWithRetry(ctx context.Context, logger *slog.Logger, tracing *Tracing, group string, max time.Duration, e Event, m kafka.Message, handle EventHandler) bool {
	hctx := ctx
	for _, h := range m.Headers {
		if h.Key == RequestIDHeader && SaneRequestID(string(h.Value)) {
			hctx = WithRequestID(ctx, string(h.Value))
		}
	}
	hctx, span := tracing.startConsume(hctx, group, e, m)
	if span != nil {
		defer span.End()
	}
	backoff := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := handle(hctx, e)
		if err == nil {
			return true
		}
		if errors.Is(err, ErrPoison) {
			logger.Error("dropping poison event", "type", e.Type, "id", e.ID, "err", err)
			return true
		}
		logger.Warn("event handler failed, retrying", "type", e.Type, "id", e.ID, "attempt", attempt, "err", err, "backoff", backoff.String())
		if !SleepCtx(ctx, backoff) {
			return false
		}
		backoff = min(backoff*2, max)
	}
}

// SleepCtx sleeps d or until ctx ends; it reports whether the full sleep happened, so retry loops
// stop waiting the moment their context is cancelled.
func SleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

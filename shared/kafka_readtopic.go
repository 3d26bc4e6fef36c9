package shared

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/segmentio/kafka-go"
)

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

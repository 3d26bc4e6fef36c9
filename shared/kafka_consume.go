package shared

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	"github.com/segmentio/kafka-go"
	"go.opentelemetry.io/otel/trace"
)

// ConsumerConfig configures Consume. Group is the consumer group (the service's name). MaxWait bounds
// how long a fetch waits for new data when there is none (default 500 ms, of which the broker waits
// 375 ms); with a FetchWait it is unused.
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
	// FetchWait is how long the broker may hold a fetch to gather more of a partition's messages.
	// 0, the default, answers a fetch as soon as one message is there: the least delay, but under a
	// steady trickle a broker round trip per message, per group. A FetchWait makes each fetch carry
	// what arrived meanwhile: one round trip per partition per FetchWait whatever the rate (idle
	// too; without one an idle partition costs one per 375 ms), at the price of delaying an event by
	// up to FetchWait. For consumers off the checkout saga's critical path, each with its bound
	// documented. Whole milliseconds, and more than a few: kafka-go's timing is not made for less.
	// Close and a rebalance do not wait for a held fetch (newReader).
	FetchWait time.Duration
	// BatchWait (ConsumeBatches only) is how long a batch stays open for more messages after its
	// first arrived: 0 hands over what the reader held then, which under a steady trickle is mostly
	// one event; a wait makes batches of what arrives meanwhile, at the price of that much delay.
	BatchWait time.Duration
	// Types names the event types the handler acts on; nil or empty: every type. A message whose
	// TypeHeader names another type is committed as handled without being decoded, traced or handed
	// over, so a consumer pays next to nothing for the types of its topics it ignores. A message
	// without the header (an older producer) is decoded and handed over as ever, so the handler must
	// still ignore types it does not want.
	Types []string
}

// TypeHeader is the Kafka header in which the publisher puts each message's event type, for
// consumers to skip types they do not want without decoding the value.
const TypeHeader = "type"

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

// BatchHandler handles the events of one fetch at once (ConsumeBatches), in the order Consume would
// hand them over one by one: partition order, partitions interleaved. It must be idempotent, and
// must not keep events after it returns. It gets a batch of two or more events with ctx unchanged
// (each event's consumer span covers the call; there is no single request ID), and a single event
// with that event's context, as an EventHandler would.
type BatchHandler func(ctx context.Context, events []Event) error

// ErrPoison marks an event the handler can never apply (malformed data); Consume logs it and moves on
// instead of retrying forever.
var ErrPoison = errors.New("poison event")

// MaxBatch is the most events ConsumeBatches hands to one call of its handler.
const MaxBatch = 256

// Consume reads cfg.Topics as consumer group cfg.Group until ctx is cancelled and calls handle for each
// event in partition order. A message is committed only after handle returned nil (or ErrPoison, or the
// value is not an event envelope); a handler error is retried with exponential backoff (100 ms doubling
// to cfg.RetryMax), so no event is lost while a dependency is down. It returns nil when ctx ends.
func Consume(ctx context.Context, logger *slog.Logger, cfg ConsumerConfig, handle EventHandler) error {
	return consume(ctx, logger, cfg, handle, nil)
}

// ConsumeBatches is Consume for handlers that can do a batch of events in one step (one Redis round
// trip, say): it waits for a message, takes with it those the reader has already fetched and those
// that arrive within cfg.BatchWait (up to MaxBatch) and hands their events to handle in one call;
// the messages are committed after it returned nil. When handle fails, Consume cannot know which event failed, so the batch's events are
// handed to it again one at a time (one-element batches) under Consume's rules: each retried with
// backoff until it succeeds, dropped if it reports ErrPoison, before the next. So a poison event
// costs its batch one failed attempt and no other event is skipped, and partition order holds.
func ConsumeBatches(ctx context.Context, logger *slog.Logger, cfg ConsumerConfig, handle BatchHandler) error {
	return consume(ctx, logger, cfg, func(ctx context.Context, e Event) error { return handle(ctx, []Event{e}) }, handle)
}

// consume is Consume's loop; batch nil: one event per call of one.
func consume(ctx context.Context, logger *slog.Logger, cfg ConsumerConfig, one EventHandler, batch BatchHandler) error {
	if cfg.RetryMax == 0 {
		cfg.RetryMax = 30 * time.Second
	}
	r := newReader(cfg)
	defer r.Close()
	logger = logger.With("group", cfg.Group)
	h := batchRun{logger: logger, tracing: cfg.Tracing, group: cfg.Group, retryMax: cfg.RetryMax, one: one, batch: batch,
		wanted: typeSet(cfg.Types)}
	f := newFetcher(ctx, logger, r, batch != nil)
	defer f.stop() // before r.Close: the pump must not fetch from a closed reader
	var msgs []kafka.Message
	for {
		m, ok := f.next(ctx)
		if !ok {
			return nil
		}
		msgs = f.more(ctx, append(msgs[:0], m), cfg.BatchWait)
		if !h.handle(ctx, msgs) {
			return nil
		}
		if err := r.CommitMessages(context.WithoutCancel(ctx), msgs...); err != nil {
			last := msgs[len(msgs)-1]
			logger.Warn("kafka commit", "err", err, "topic", last.Topic, "offset", last.Offset, "messages", len(msgs))
		}
	}
}

// batchRun hands fetched messages to a consumer's handlers.
type batchRun struct {
	logger   *slog.Logger
	tracing  *Tracing
	group    string
	retryMax time.Duration
	one      EventHandler
	batch    BatchHandler        // nil: events one by one
	wanted   map[string]struct{} // nil: every type (typeSet)
	events   []Event             // handle's, kept for the next call
	kept     []kafka.Message     // the messages of events
}

// clearSlice zeroes s's elements, so a kept slice holds no message's data, and returns it emptied.
func clearSlice[T any](s []T) []T {
	clear(s)
	return s[:0]
}

// typeSet is ConsumerConfig.Types as a set; nil when every type is wanted.
func typeSet(types []string) map[string]struct{} {
	if len(types) == 0 {
		return nil
	}
	set := make(map[string]struct{}, len(types))
	for _, t := range types {
		set[t] = struct{}{}
	}
	return set
}

// unwanted reports whether m's type header names a type the handler does not want. It allocates
// nothing: a map index by string(bytes) does not copy the bytes.
func (h *batchRun) unwanted(m kafka.Message) bool {
	if h.wanted == nil {
		return false
	}
	for _, hd := range m.Headers {
		if hd.Key == TypeHeader {
			_, ok := h.wanted[string(hd.Value)]
			return !ok
		}
	}
	return false
}

// handle hands msgs' events over: messages of unwanted types and values that are not events are
// dropped (the caller commits them with the rest), two or more events go to the batch handler in one
// call, and if there is none, it failed, or there is one event, each event goes to one with
// handleWithRetry's rules. False means ctx ended first. The events slices are reused from call to
// call (handlers must not keep events), so a fetch of skipped messages allocates nothing here.
func (h *batchRun) handle(ctx context.Context, msgs []kafka.Message) bool {
	events, kept := h.events[:0], h.kept[:0]
	defer func() { h.events, h.kept = clearSlice(events), clearSlice(kept) }()
	for _, m := range msgs {
		if h.unwanted(m) {
			continue
		}
		if e, ok := decodeEvent(h.logger, m); ok {
			events, kept = append(events, e), append(kept, m)
		}
	}
	if h.batch != nil && len(events) > 1 {
		err := h.tryBatch(ctx, events, kept)
		if err == nil {
			return true
		}
		h.logger.Warn("event batch failed, handling its events one by one", "events", len(events), "err", err)
	}
	for i, e := range events {
		if !handleWithRetry(ctx, h.logger, h.tracing, h.group, h.retryMax, e, kept[i], h.one) {
			return false
		}
	}
	return true
}

// tryBatch calls the batch handler once, inside a consumer span per event.
func (h *batchRun) tryBatch(ctx context.Context, events []Event, msgs []kafka.Message) error {
	var spans []trace.Span
	if h.tracing != nil {
		spans = make([]trace.Span, 0, len(events))
		for i, e := range events {
			_, span := h.tracing.startConsume(ctx, h.group, e, msgs[i])
			spans = append(spans, span)
		}
	}
	err := h.batch(ctx, events)
	endSpans(spans, err)
	return err
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

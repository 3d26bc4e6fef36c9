package shared

import (
	"context"
	"log/slog"
	"net"
	"time"

	"github.com/segmentio/kafka-go"
)

// newReader is cfg's kafka-go reader. Each partition's loop in it asks the broker for the
// partition's messages from its offset on, and the broker answers once it holds MinBytes of them or
// the fetch's wait ran out. kafka-go gives up on an answer at MaxWait and asks the broker to wait
// MaxWait less a margin for the round trip: a quarter of MaxWait below 1 s, else 1 s. A fetch that
// misses that deadline costs a new connection (and the partition's offsets looked up again). The
// reader's Close and a rebalance cancel the partition loops and wait for them, and a loop cannot
// notice while its fetch is held at the broker, so its connection is closed as it is cancelled
// (dialUntilDone): neither waits out a fetch's wait.
//
// Without a FetchWait, MinBytes is 1, so a fetch is answered as soon as one message is there: under
// a steady trickle that is one round trip per message, for the broker a request to answer per
// message per group. With a FetchWait, MinBytes is fetchFill, which a partition's trickle never
// reaches within the wait, so a fetch comes back after the wait with everything that arrived
// meanwhile; MaxWait is the FetchWait plus fetchMargin, so the broker waits the FetchWait and the
// answer has a second to arrive: a quarter of a wait of a few hundred milliseconds was too little
// for a broker on a busy machine, whose late answers each cost a reconnection.
func newReader(cfg ConsumerConfig) *kafka.Reader {
	minBytes, maxWait := 1, cfg.MaxWait
	if cfg.FetchWait > 0 {
		minBytes, maxWait = fetchFill, cfg.FetchWait+fetchMargin
	}
	if maxWait == 0 {
		maxWait = 500 * time.Millisecond
	}
	return kafka.NewReader(kafka.ReaderConfig{
		Dialer:         &kafka.Dialer{DialFunc: dialUntilDone},
		Brokers:        cfg.Brokers,
		GroupID:        cfg.Group,
		GroupTopics:    cfg.Topics,
		MaxWait:        maxWait,
		StartOffset:    kafka.FirstOffset,
		CommitInterval: cfg.CommitInterval,
		MinBytes:       minBytes,
		MaxBytes:       10 << 20,
		// A consumer killed without leaving its group keeps its partitions until the broker gives up
		// on it: the session timeout, or the rebalance timeout when its replacement joins. kafka-go's
		// default of 30 s for both would hold a restarted service's events that long; 10 s (Kafka's
		// own session default before 3.0) is still three heartbeats.
		SessionTimeout:   10 * time.Second,
		RebalanceTimeout: 10 * time.Second,
	})
}

// dialUntilDone dials as kafka-go's default dialer does (10 s timeout) and closes the connection
// when ctx ends. The reader dials a partition loop's connection with the loop's context, which it
// cancels on Close and on a rebalance; closing the connection then ends a fetch held at the broker,
// and the loop, seeing its context done, returns. kafka-go uses every connection it dials with a
// context only while that context lasts, and dials the group coordinator's without one
// (context.Background, never done), so no connection in use is closed under it. The Dialer that
// calls this must have no Timeout or Deadline: either would hand over a context of its own that ends
// as soon as the dial returns.
func dialUntilDone(ctx context.Context, network, address string) (net.Conn, error) {
	c, err := (&net.Dialer{Timeout: 10 * time.Second}).DialContext(ctx, network, address)
	if err != nil {
		return nil, err
	}
	return &connUntilDone{Conn: c, stop: context.AfterFunc(ctx, func() { c.Close() })}, nil
}

// connUntilDone is a connection that dialUntilDone closes when its context ends; Close lets go of
// that context.
type connUntilDone struct {
	net.Conn
	stop func() bool
}

func (c *connUntilDone) Close() error {
	c.stop()
	return c.Conn.Close()
}

// fetchMargin is how much longer than a FetchWait kafka-go waits for the broker's answer (its
// margin for the round trip when MaxWait is 1 s or more).
const fetchMargin = time.Second

// fetchFill (1 MiB) is the MinBytes of a reader with a FetchWait: thousands of events, more than a
// partition's trickle brings within any wait we use, so the wait decides when a fetch returns; a
// backlog that large is answered at once.
const fetchFill = 1 << 20

// fetcher hands over a reader's messages: one at a time from FetchMessage, or, for batches, through
// a goroutine that keeps fetching into a channel, so what has arrived can be taken without waiting
// (kafka-go's Reader has no non-blocking fetch).
type fetcher struct {
	logger *slog.Logger
	r      *kafka.Reader
	msgs   chan kafka.Message // nil: no pump
	cancel context.CancelFunc
	done   chan struct{}
}

func newFetcher(ctx context.Context, logger *slog.Logger, r *kafka.Reader, pump bool) *fetcher {
	f := &fetcher{logger: logger, r: r}
	if !pump {
		return f
	}
	f.msgs, f.done = make(chan kafka.Message, MaxBatch), make(chan struct{})
	ctx, f.cancel = context.WithCancel(ctx)
	go func() {
		defer close(f.done)
		for {
			m, ok := f.fetch(ctx)
			if !ok {
				return
			}
			select {
			case f.msgs <- m:
			case <-ctx.Done():
				return
			}
		}
	}()
	return f
}

// fetch returns the reader's next message, logging a fetch error and trying again a second later;
// false: ctx ended.
func (f *fetcher) fetch(ctx context.Context) (kafka.Message, bool) {
	for {
		m, err := f.r.FetchMessage(ctx)
		if err == nil {
			return m, true
		}
		if ctx.Err() != nil {
			return kafka.Message{}, false
		}
		f.logger.Warn("kafka fetch", "err", err)
		if !SleepCtx(ctx, time.Second) {
			return kafka.Message{}, false
		}
	}
}

// next waits for the next message; false: ctx ended.
func (f *fetcher) next(ctx context.Context) (kafka.Message, bool) {
	if f.msgs == nil {
		return f.fetch(ctx)
	}
	select {
	case m := <-f.msgs:
		return m, true
	case <-ctx.Done():
		return kafka.Message{}, false
	}
}

// more appends to msgs the messages that arrive within wait, or, when wait is 0, those that have
// arrived already, up to MaxBatch in all (never any without a pump). It returns early when ctx ends.
func (f *fetcher) more(ctx context.Context, msgs []kafka.Message, wait time.Duration) []kafka.Message {
	if f.msgs == nil {
		return msgs
	}
	var deadline <-chan time.Time // nil: do not wait
	if wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		deadline = t.C
	}
	for len(msgs) < MaxBatch {
		select {
		case m := <-f.msgs:
			msgs = append(msgs, m)
			continue
		default:
		}
		if deadline == nil {
			return msgs
		}
		select {
		case m := <-f.msgs:
			msgs = append(msgs, m)
		case <-deadline:
			return msgs
		case <-ctx.Done():
			return msgs
		}
	}
	return msgs
}

// stop ends the pump and waits for it.
func (f *fetcher) stop() {
	if f.cancel != nil {
		f.cancel()
		<-f.done
	}
}

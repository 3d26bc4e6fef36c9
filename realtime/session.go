package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// session is one connection's writing side.
type session struct {
	ctx    context.Context // ends with the connection
	logger *slog.Logger
	h      *hub
	c      *client
	conn   *websocket.Conn
	out    *batchWriter
	cc     connConfig

	mu        sync.Mutex
	pingTimer *time.Timer // the next ping
}

// received handles a client message: a subscription is applied and acknowledged through the queue
// (so the messages after the acknowledgement are the filtered ones); anything else is ignored.
func (s *session) received(p []byte) {
	f, ok := parseSubscribe(p)
	if !ok {
		s.logger.DebugContext(s.ctx, "ignoring client message", "user_id", s.c.id.UserID, "bytes", len(p))
		return
	}
	ack, _ := json.Marshal(message{Type: "subscribed", Data: mustJSON(subscribeRequest{SKUs: keys(f, true), Categories: keys(f, false)}), OccurredAt: time.Now().UTC()})
	s.h.subscribe(s.c, f, &outMsg{frame: ack})
}

// ping sends a ping and waits for its pong (off the writers: waiting must not delay messages). No
// pong within PongTimeout closes the connection; otherwise the next ping is PingInterval later.
func (s *session) ping() {
	pctx, cancel := context.WithTimeout(s.ctx, s.cc.PongTimeout)
	defer cancel()
	if err := s.conn.Ping(pctx); err != nil {
		s.conn.CloseNow() // dead peer: Read fails and the connection ends
		return
	}
	s.schedulePing()
}

// schedulePing arranges the next ping PingInterval from now, unless the connection has ended.
func (s *session) schedulePing() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ctx.Err() == nil {
		s.pingTimer = time.AfterFunc(s.cc.PingInterval, s.ping)
	}
}

// stopPing cancels the next ping; call after the connection's context ended.
func (s *session) stopPing() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pingTimer != nil {
		s.pingTimer.Stop()
	}
}

// write writes one frame within WriteTimeout.
func (s *session) write(frame []byte) bool {
	wctx, cancel := context.WithTimeout(s.ctx, s.cc.WriteTimeout)
	defer cancel()
	return s.conn.Write(wctx, websocket.MessageText, frame) == nil
}

// start writes the hello, the resync or backlog, and then hands the output to the queue's writers.
func (s *session) start(hi hello, backlog []*outMsg, resync bool) {
	first, _ := json.Marshal(message{Type: "hello", Data: mustJSON(hi), OccurredAt: time.Now().UTC()})
	ok := s.write(first)
	if ok && resync {
		rs, _ := json.Marshal(message{Seq: hi.Seq, Type: "resync",
			Data: mustJSON(map[string]string{"reason": "missed messages are no longer buffered; reload state"}), OccurredAt: time.Now().UTC()})
		ok = s.write(rs)
	}
	for _, m := range backlog {
		if ok = ok && s.write(m.frame); !ok {
			break
		}
	}
	if !ok {
		s.conn.CloseNow()
		s.c.shut()
		s.c.running.Done()
		return
	}
	s.h.countSent(uint64(len(backlog)))
	s.c.release(s.drain)
	s.c.running.Done()
}

// drain is a connection's writer: it writes what is queued, in batches of at most maxBatch messages
// or maxBatchBytes, each with one socket write (each Write only fills out's buffer, release sends
// it), and returns when the queue is empty. A kicked client gets its close frame instead.
func (s *session) drain() {
	defer s.c.running.Done()
	var buf [maxBatch]*outMsg
	for {
		n, done, kicked := s.c.next(buf[:], maxBatchBytes)
		if done {
			return
		}
		if kicked {
			code, why := s.c.kickedWith()
			s.logger.InfoContext(s.ctx, "websocket closing", "user_id", s.c.id.UserID, "code", code, "reason", why)
			s.conn.Close(websocket.StatusCode(code), why)
			s.conn.CloseNow()
			return
		}
		// While held, Write only encodes into out's buffer, and out bounds the socket write by
		// WriteTimeout, so the writes need no context deadline (a deadline costs a timer and a
		// context.AfterFunc per batch; coder/websocket's other writers, pings and closes, bound their
		// own writes, so waiting for its write lock is bounded too).
		s.out.hold()
		var err error
		sent := uint64(0)
		for _, m := range buf[:n] {
			if err = s.conn.Write(context.Background(), websocket.MessageText, m.frame); err != nil {
				break
			}
			if m.seq != 0 { // acknowledgements are not messages of a stream
				sent++
			}
		}
		if rerr := s.out.release(); err == nil {
			err = rerr
		}
		clear(buf[:n]) // do not pin frames
		if err != nil {
			// The connection is broken: the reader sees it, the client stops taking messages.
			s.conn.CloseNow()
			s.c.shut()
			return
		}
		s.h.countSent(sent)
	}
}

// A writer batches at most maxBatch queued messages or maxBatchBytes per socket write.
const (
	maxBatch      = 64
	maxBatchBytes = 64 << 10
)

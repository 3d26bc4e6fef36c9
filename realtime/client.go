package main

import (
	"encoding/json"
	"strconv"
	"sync"
	"time"

	"github.com/goshop/platform/shared"
)

// message is what a client receives: {"seq","type","data","occurred_at"}. Seq is one counter per hub
// (per realtime instance), strictly increasing across every stream, so a client's last seq is a
// resume point whatever mix of streams it reads.
type message struct {
	Seq        uint64          `json:"seq"`
	Type       string          `json:"type"`
	Data       json.RawMessage `json:"data"`
	OccurredAt time.Time       `json:"occurred_at"`
}

// appendJSON appends m as json.Marshal writes it, without reflection: the hub encodes every event it
// pushes under its lock. Data goes in as it is, so it must be valid JSON (the consumer decoded it,
// mustJSON wrote it); json.Marshal would also compact and HTML-escape it, which changes nothing for
// data encoding/json wrote, as every producer of the platform's events does (FuzzMessageJSON).
// Measured gain: BenchmarkFrame 4.1–4.8 µs → 0.8–1.3 µs (docs/performance.md).
func (m *message) appendJSON(b []byte) []byte {
	b = append(b, `{"seq":`...)
	b = strconv.AppendUint(b, m.Seq, 10)
	b = append(b, `,"type":`...)
	b = shared.AppendJSONString(b, m.Type)
	b = append(b, `,"data":`...)
	b = shared.AppendJSONRaw(b, m.Data)
	b = append(b, `,"occurred_at":`...)
	b = shared.AppendJSONTime(b, m.OccurredAt)
	return append(b, '}')
}

// outMsg is a message encoded once and shared, read-only, by every recipient and buffer.
type outMsg struct {
	seq   uint64
	typ   string
	aud   audience
	at    time.Time // when the hub took it, for the age bound of the buffers
	frame []byte
}

// audience says who gets a message besides admins (who get everything): everyone when public, else
// the one user (none when userID is empty: admins only). sku and category of a public message let
// connections with a subscription filter skip it.
type audience struct {
	public        bool
	userID        string
	sku, category string
}

// client is one connection as the hub sees it: its identity, its subscription, and its send queue.
//
// The queue is bounded (hubConfig.SendQueue): the hub never blocks on a client; when the queue is
// full the client is kicked and the message counted as dropped. No goroutine waits on an idle
// connection's queue: the first message queued while nobody writes starts the connection's writer
// (writer), which drains the queue and exits when it is empty, so an idle connection costs its
// reader goroutine only. writing says a writer owns the output; it starts true because the
// connection first writes its hello and backlog itself, then drains.
type client struct {
	id     shared.Identity // zero for anonymous
	addr   string          // an anonymous client's address, counted against MaxAnonPerAddress
	filter *filter         // guarded by hub.mu

	mu       sync.Mutex
	queue    []*outMsg
	writing  bool
	kicked   bool // to be closed with kickCode/kickWhy by the writer
	closed   bool // the connection is gone: queue nothing more
	kickCode int
	kickWhy  string
	writer   func()         // drains the queue, then calls running.Done; set by the connection
	running  sync.WaitGroup // writers started by enqueue or kick
}

func (c *client) admin() bool { return c.id.IsAdmin() }

// push queues m and starts a writer when none runs. It refuses m when c is kicked (ok false) or its
// queue is full (ok false, full true: the caller kicks c). A closed connection, which is about to be
// unregistered, silently takes nothing: its client resumes from its last seq.
func (c *client) push(m *outMsg, max int) (ok, full bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return true, false
	}
	if c.kicked {
		return false, false
	}
	if len(c.queue) >= max {
		return false, true
	}
	c.queue = append(c.queue, m)
	c.wakeLocked()
	return true, false
}

// wakeLocked starts a writer unless one owns the output. Call with c.mu held.
func (c *client) wakeLocked() {
	if c.writing || c.writer == nil {
		return
	}
	c.writing = true
	c.running.Add(1)
	go c.writer()
}

// kick asks the writer to close c with code and why (once), starting one if none runs.
func (c *client) kick(code int, why string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.kicked || c.closed {
		return
	}
	c.kicked, c.kickCode, c.kickWhy = true, code, why
	c.wakeLocked()
}

// next moves up to len(buf) queued messages, at most maxBytes in total (but at least one), into buf
// for the writer. With nothing queued it releases the output (done true), unless c was kicked:
// then kicked reports the close the writer must send after what was queued before the kick (the
// output stays owned: nothing else is written).
func (c *client) next(buf []*outMsg, maxBytes int) (n int, done, kicked bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.kicked && len(c.queue) == 0 {
		return 0, false, true
	}
	if len(c.queue) == 0 || c.closed {
		c.writing = false
		if cap(c.queue) > 16 { // a burst's backing array is not kept for an idle connection
			c.queue = nil
		}
		return 0, true, false
	}
	size := 0
	for n < len(buf) && n < len(c.queue) && (n == 0 || size+len(c.queue[n].frame) <= maxBytes) {
		buf[n] = c.queue[n]
		size += len(c.queue[n].frame)
		n++
	}
	rest := copy(c.queue, c.queue[n:])
	clear(c.queue[rest:])
	c.queue = c.queue[:rest]
	return n, false, false
}

// release ends the connection's own writing (hello and backlog): queued messages go to a writer now.
func (c *client) release(writer func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writer = writer
	c.writing = false
	if len(c.queue) > 0 || c.kicked {
		c.wakeLocked()
	}
}

// shut marks c gone: nothing more is queued, and what is queued is dropped.
func (c *client) shut() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	c.queue = nil
}

// close shuts c and waits for its writers to finish.
func (c *client) close() {
	c.shut()
	c.running.Wait()
}

// kickedWith returns the close code and reason of a kick.
func (c *client) kickedWith() (int, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.kickCode, c.kickWhy
}

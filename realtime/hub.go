package main

import (
	"encoding/json"
	"sort"
	"sync"
	"sync/atomic"
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

// hubConfig bounds the hub: BufferSize messages and BufferAge per stream (defaults 1000, 5 min),
// SendQueue messages per connection (default 256; AdminSendQueue for admins, default 4096),
// MaxPerUser connections per signed-in user (default 32: tabs and devices; a runaway script must not
// hold thousands).
type hubConfig struct {
	BufferSize int
	BufferAge  time.Duration
	SendQueue  int
	// AdminSendQueue bounds an admin connection's queue instead (default 4096). Admins receive every
	// event: at 1,000 events/s, 256 messages are a quarter of a second of slack, and a routed load
	// test on this machine lost an admin dashboard to one scheduling hiccup. The queue holds
	// pointers to shared frames and grows only while it is behind, so the bound costs nothing idle.
	AdminSendQueue int
	MaxPerUser     int
}

// hub routes messages to connected clients and keeps the resume buffers: one public stream, one per
// user, and one for admins holding everything. One mutex guards it all: publishing a message, and
// registering a client with its backlog, are each one atomic step, so a resuming client sees its
// backlog and then the live messages with nothing lost or doubled in between.
//
// Publishing costs O(recipients), not O(connections): clients are indexed by user, by role, and for
// public messages by subscription (everyPublic: no subscription; bySKU, byCategory: subscribed ones),
// so a stock change of one product touches only the connections showing it and the admins.
type hub struct {
	cfg   hubConfig
	epoch string // changes on every start: seqs of another epoch mean nothing here
	now   func() time.Time

	mu      sync.Mutex
	seq     uint64
	clients map[*client]struct{}
	byUser  map[string]map[*client]struct{}
	admins  map[*client]struct{}
	anon    int // clients without a user
	// Non-admin clients by what public messages they get (admins get everything through admins).
	everyPublic map[*client]struct{}
	bySKU       map[string]map[*client]struct{}
	byCategory  map[string]map[*client]struct{}
	public      ring
	adminR      ring
	users       map[string]*ring
	// swept is the highest seq of any per-user buffer dropped by sweep: a user without a buffer may
	// have missed messages up to it, so resuming from below it means resync (conservatively).
	swept   uint64
	sent    atomic.Uint64                  // written by the writers without the lock
	sentC   atomic.Pointer[shared.Counter] // h.m.sent's one series, for the writers: no lock, no lookup
	dropped uint64
	kicks   uint64
	perType map[string]uint64
	closed  bool
	m       hubMetrics
}

// hubMetrics are the Prometheus counters the hub feeds; nil fields (tests) are skipped.
type hubMetrics struct {
	published, sent, dropped, kicked *shared.CounterVec
}

// instrument registers the hub's counters in m.
func (h *hub) instrument(m *shared.Metrics) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.m = hubMetrics{
		published: m.Counter("realtime_messages_published_total", "Messages published to connections, by type.", "type"),
		sent:      m.Counter("realtime_messages_sent_total", "Messages written to connections."),
		dropped:   m.Counter("realtime_messages_dropped_total", "Messages not delivered because a send queue was full."),
		kicked:    m.Counter("realtime_slow_consumers_disconnected_total", "Connections closed for a full send queue."),
	}
	h.sentC.Store(h.m.sent.With())
}

func newHub(cfg hubConfig, now func() time.Time) *hub {
	if cfg.BufferSize <= 0 {
		cfg.BufferSize = 1000
	}
	if cfg.BufferAge <= 0 {
		cfg.BufferAge = 5 * time.Minute
	}
	if cfg.SendQueue <= 0 {
		cfg.SendQueue = 256
	}
	if cfg.AdminSendQueue <= 0 {
		cfg.AdminSendQueue = 4096
	}
	if cfg.MaxPerUser <= 0 {
		cfg.MaxPerUser = 32
	}
	if now == nil {
		now = time.Now
	}
	return &hub{cfg: cfg, epoch: shared.NewID(), now: now,
		clients: make(map[*client]struct{}), byUser: make(map[string]map[*client]struct{}),
		admins: make(map[*client]struct{}), users: make(map[string]*ring), perType: make(map[string]uint64),
		everyPublic: make(map[*client]struct{}), bySKU: make(map[string]map[*client]struct{}),
		byCategory: make(map[string]map[*client]struct{})}
}

// publish assigns the next seq to a message, buffers it for resume and queues it to every connected
// recipient. It returns the seq.
func (h *hub) publish(typ string, data json.RawMessage, occurredAt time.Time, aud audience) uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seq++
	frame, err := json.Marshal(message{Seq: h.seq, Type: typ, Data: data, OccurredAt: occurredAt.UTC()})
	if err != nil { // data is not valid JSON: keep the seq, send nothing
		return h.seq
	}
	m := &outMsg{seq: h.seq, typ: typ, aud: aud, at: h.now(), frame: frame}
	h.perType[typ]++
	if h.m.published != nil {
		h.m.published.Inc(typ)
	}
	cutoff := m.at.Add(-h.cfg.BufferAge)
	h.adminR.add(m, h.cfg.BufferSize)
	h.adminR.trim(cutoff)
	switch {
	case aud.public:
		h.public.add(m, h.cfg.BufferSize)
		h.public.trim(cutoff)
		if aud.sku == "" && aud.category == "" { // about no product (an announcement): everyone
			for c := range h.clients {
				h.enqueue(c, m)
			}
			return m.seq
		}
		for c := range h.everyPublic {
			h.enqueue(c, m)
		}
		for c := range h.bySKU[aud.sku] {
			h.enqueue(c, m)
		}
		for c := range h.byCategory[aud.category] {
			if !c.filter.skus[aud.sku] { // not already queued for its SKU
				h.enqueue(c, m)
			}
		}
	case aud.userID != "":
		r := h.users[aud.userID]
		if r == nil {
			r = &ring{}
			h.users[aud.userID] = r
		}
		r.add(m, h.cfg.BufferSize)
		r.trim(cutoff)
		for c := range h.byUser[aud.userID] {
			if !c.admin() { // admins get it below, once
				h.enqueue(c, m)
			}
		}
	}
	for c := range h.admins {
		h.enqueue(c, m)
	}
	return m.seq
}

// enqueue hands m to c without blocking; a full queue kicks c. Call with h.mu held.
func (h *hub) enqueue(c *client, m *outMsg) {
	limit := h.cfg.SendQueue
	if c.admin() {
		limit = h.cfg.AdminSendQueue
	}
	ok, full := c.push(m, limit)
	switch {
	case full:
		c.kick(policyViolation, "slow consumer: send queue full")
		h.drop(true)
	case !ok:
		h.drop(false)
	}
}

// drop counts one undelivered message and, when kicked, one disconnected slow consumer. Call with
// h.mu held.
func (h *hub) drop(kicked bool) {
	h.dropped++
	if h.m.dropped != nil {
		h.m.dropped.Inc()
	}
	if kicked {
		h.kicks++
		if h.m.kicked != nil {
			h.m.kicked.Inc()
		}
	}
}

// Close codes the hub asks writers to use (RFC 6455 numbers, kept here so the hub does not depend on
// the WebSocket package).
const (
	goingAway       = 1001
	policyViolation = 1008
)

// kickUser disconnects every connection of userID (e.g. a suspended account).
func (h *hub) kickUser(userID string, code int, why string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.byUser[userID] {
		c.kick(code, why)
	}
}

// full reports whether userID already holds MaxPerUser connections (always false for anonymous).
func (h *hub) full(userID string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return userID != "" && len(h.byUser[userID]) >= h.cfg.MaxPerUser
}

// register adds a client for id and returns its backlog after since, in seq order. resync is true
// when the client cannot be brought up to date from the buffers (since is from another epoch, ahead
// of us, or older than what we kept); then the backlog is empty and the client must reload its state.
// A client with since == 0 and no epoch is new: no backlog, no resync. ok is false after shutdown or
// when the user already holds MaxPerUser connections.
func (h *hub) register(id shared.Identity, since uint64, epoch string) (c *client, backlog []*outMsg, resync bool, cur uint64, ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed || (id.UserID != "" && len(h.byUser[id.UserID]) >= h.cfg.MaxPerUser) {
		return nil, nil, false, h.seq, false
	}
	c = &client{id: id, writing: true}
	h.clients[c] = struct{}{}
	h.index(c)
	if id.UserID != "" {
		set := h.byUser[id.UserID]
		if set == nil {
			set = make(map[*client]struct{})
			h.byUser[id.UserID] = set
		}
		set[c] = struct{}{}
	}
	if c.admin() {
		h.admins[c] = struct{}{}
	}
	if id.UserID == "" {
		h.anon++
	}
	if since == 0 && epoch == "" {
		return c, nil, false, h.seq, true
	}
	if (epoch != "" && epoch != h.epoch) || since > h.seq {
		return c, nil, true, h.seq, true
	}
	cutoff := h.now().Add(-h.cfg.BufferAge)
	streams := []*ring{&h.public}
	if c.admin() {
		streams = []*ring{&h.adminR}
	} else if id.UserID != "" {
		r := h.users[id.UserID]
		if r == nil {
			r = &ring{evicted: h.swept}
		}
		streams = append(streams, r)
	}
	for _, r := range streams {
		r.trim(cutoff)
		if r.evicted > since {
			return c, nil, true, h.seq, true
		}
		backlog = append(backlog, r.since(since)...)
	}
	// A new connection has no filter yet: it resumes everything and filters from its subscribe on.
	sort.Slice(backlog, func(i, j int) bool { return backlog[i].seq < backlog[j].seq })
	return c, backlog, false, h.seq, true
}

// subscribe sets c's filter (nil: every public message) and queues ack, if any, to c: messages
// queued after the ack are filtered by f.
func (h *hub) subscribe(c *client, f *filter, ack *outMsg) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.clients[c]; !ok {
		return
	}
	h.unindex(c)
	c.filter = f
	h.index(c)
	if ack != nil {
		h.enqueue(c, ack)
	}
}

// index adds a non-admin client to the public recipients its filter selects. Call with h.mu held.
func (h *hub) index(c *client) {
	if c.admin() {
		return
	}
	if c.filter == nil {
		h.everyPublic[c] = struct{}{}
		return
	}
	add := func(idx map[string]map[*client]struct{}, k string) {
		set := idx[k]
		if set == nil {
			set = make(map[*client]struct{})
			idx[k] = set
		}
		set[c] = struct{}{}
	}
	for k := range c.filter.skus {
		add(h.bySKU, k)
	}
	for k := range c.filter.categories {
		add(h.byCategory, k)
	}
}

// unindex undoes index. Call with h.mu held.
func (h *hub) unindex(c *client) {
	delete(h.everyPublic, c)
	if c.filter == nil {
		return
	}
	del := func(idx map[string]map[*client]struct{}, k string) {
		if set := idx[k]; set != nil {
			delete(set, c)
			if len(set) == 0 {
				delete(idx, k)
			}
		}
	}
	for k := range c.filter.skus {
		del(h.bySKU, k)
	}
	for k := range c.filter.categories {
		del(h.byCategory, k)
	}
}

// unregister removes c; it is idempotent.
func (h *hub) unregister(c *client) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.clients[c]; !ok {
		return
	}
	h.unindex(c)
	if c.id.UserID == "" {
		h.anon--
	}
	delete(h.clients, c)
	delete(h.admins, c)
	if set := h.byUser[c.id.UserID]; set != nil {
		delete(set, c)
		if len(set) == 0 {
			delete(h.byUser, c.id.UserID)
		}
	}
}

// countSent records n messages written to clients.
func (h *hub) countSent(n uint64) {
	h.sent.Add(n)
	if sent := h.sentC.Load(); sent != nil {
		sent.Add(n)
	}
}

// sweep drops per-user buffers whose every message is older than BufferAge, so the map does not grow
// with every user ever seen.
func (h *hub) sweep() {
	h.mu.Lock()
	defer h.mu.Unlock()
	cutoff := h.now().Add(-h.cfg.BufferAge)
	for u, r := range h.users {
		r.trim(cutoff)
		if len(r.msgs) == 0 {
			h.swept = max(h.swept, r.evicted)
			delete(h.users, u)
		}
	}
}

// shutdown kicks every client with going-away and refuses new ones.
func (h *hub) shutdown() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for c := range h.clients {
		c.kick(goingAway, "server shutting down")
	}
}

// hubStats is the body of GET /stats.
type hubStats struct {
	Instance          string            `json:"instance"`
	Epoch             string            `json:"epoch"`
	Seq               uint64            `json:"seq"`
	Connections       int               `json:"connections"`
	Users             int               `json:"users"`
	Admins            int               `json:"admins"`
	Anonymous         int               `json:"anonymous"`
	MessagesSent      uint64            `json:"messages_sent"`
	MessagesDropped   uint64            `json:"messages_dropped"`
	SlowConsumers     uint64            `json:"slow_consumers_disconnected"`
	BufferedUsers     int               `json:"buffered_users"`
	MessagesByType    map[string]uint64 `json:"messages_by_type"`
	EventsConsumed    uint64            `json:"events_consumed"`
	EventsDuplicate   uint64            `json:"events_duplicate"`
	EventsStale       uint64            `json:"events_stale"`
	LastEventLagMilli int64             `json:"last_event_lag_ms"`
}

func (h *hub) stats() hubStats {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := hubStats{Epoch: h.epoch, Seq: h.seq, Connections: len(h.clients), Users: len(h.byUser),
		Admins: len(h.admins), MessagesSent: h.sent.Load(), MessagesDropped: h.dropped, SlowConsumers: h.kicks,
		BufferedUsers: len(h.users), Anonymous: h.anon, MessagesByType: make(map[string]uint64, len(h.perType))}
	for k, v := range h.perType {
		s.MessagesByType[k] = v
	}
	return s
}

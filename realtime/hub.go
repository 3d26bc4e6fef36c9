package main

import (
	"encoding/json"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/goshop/platform/shared"
)

// hubConfig bounds the hub: BufferSize messages and BufferAge per stream (defaults 1000, 5 min),
// SendQueue messages per connection (default 256; AdminSendQueue for admins, default 4096),
// MaxPerUser connections per signed-in user (default 32: tabs and devices; a runaway script must not
// hold thousands), MaxAnonPerAddress anonymous connections per client address (default 256: the
// shoppers behind one NAT; one address must not hold thousands either).
type hubConfig struct {
	BufferSize int
	BufferAge  time.Duration
	SendQueue  int
	// AdminSendQueue bounds an admin connection's queue instead (default 4096). Admins receive every
	// event, so SendQueue would leave them a fraction of a second of slack at a busy shop's event
	// rate (docs/realtime.md, slow consumers). The queue holds pointers to shared frames and grows
	// only while it is behind, so the bound costs nothing idle.
	AdminSendQueue    int
	MaxPerUser        int
	MaxAnonPerAddress int
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
	anon    int            // clients without a user
	anonBy  map[string]int // of those, how many each client address holds ("" not counted)
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
	if cfg.MaxAnonPerAddress <= 0 {
		cfg.MaxAnonPerAddress = 256
	}
	if now == nil {
		now = time.Now
	}
	return &hub{cfg: cfg, epoch: shared.NewID(), now: now,
		clients: make(map[*client]struct{}), byUser: make(map[string]map[*client]struct{}),
		admins: make(map[*client]struct{}), anonBy: make(map[string]int), users: make(map[string]*ring), perType: make(map[string]uint64),
		everyPublic: make(map[*client]struct{}), bySKU: make(map[string]map[*client]struct{}),
		byCategory: make(map[string]map[*client]struct{})}
}

// publish assigns the next seq to a message, buffers it for resume and queues it to every connected
// recipient. It returns the seq. data must be valid JSON (message.appendJSON).
func (h *hub) publish(typ string, data json.RawMessage, occurredAt time.Time, aud audience) uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seq++
	msg := message{Seq: h.seq, Type: typ, Data: data, OccurredAt: occurredAt.UTC()}
	frame := msg.appendJSON(make([]byte, 0, 96+len(typ)+len(data)))
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

// full reports whether one more connection of userID would be over MaxPerUser, or for anonymous
// (userID "") one more from addr over MaxAnonPerAddress. An unknown address ("") is never full.
func (h *hub) full(userID, addr string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.fullLocked(userID, addr)
}

func (h *hub) fullLocked(userID, addr string) bool {
	if userID != "" {
		return len(h.byUser[userID]) >= h.cfg.MaxPerUser
	}
	return addr != "" && h.anonBy[addr] >= h.cfg.MaxAnonPerAddress
}

// register adds a client for id, connected from addr, and returns its backlog after since, in seq order. resync is true
// when the client cannot be brought up to date from the buffers (since is from another epoch, ahead
// of us, or older than what we kept); then the backlog is empty and the client must reload its state.
// A client with since == 0 and no epoch is new: no backlog, no resync. ok is false after shutdown or
// when the connection would be over a cap (full).
func (h *hub) register(id shared.Identity, addr string, since uint64, epoch string) (c *client, backlog []*outMsg, resync bool, cur uint64, ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed || h.fullLocked(id.UserID, addr) {
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
		if addr != "" {
			c.addr = addr
			h.anonBy[addr]++
		}
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
		if c.addr != "" {
			if h.anonBy[c.addr]--; h.anonBy[c.addr] <= 0 {
				delete(h.anonBy, c.addr)
			}
		}
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

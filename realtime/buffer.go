package main

import (
	"sort"
	"time"
)

// ring is a bounded buffer of recent messages of one stream, oldest first. evicted is the highest seq
// that left the buffer (by size or age): a client resuming from below it missed something we no longer
// have.
type ring struct {
	msgs    []*outMsg
	evicted uint64
}

func (r *ring) add(m *outMsg, max int) {
	if len(r.msgs) >= max {
		r.evicted = r.msgs[0].seq
		r.msgs = append(r.msgs[:0], r.msgs[1:]...)
	}
	r.msgs = append(r.msgs, m)
}

// trim drops messages older than cutoff.
func (r *ring) trim(cutoff time.Time) {
	i := 0
	for i < len(r.msgs) && r.msgs[i].at.Before(cutoff) {
		r.evicted = r.msgs[i].seq
		i++
	}
	if i > 0 {
		r.msgs = append(r.msgs[:0], r.msgs[i:]...)
	}
}

// since returns the messages after seq.
func (r *ring) since(seq uint64) []*outMsg {
	i := sort.Search(len(r.msgs), func(i int) bool { return r.msgs[i].seq > seq })
	return r.msgs[i:]
}

// filter is a connection's subscription to public messages: nil means all of them; otherwise only
// messages about one of the SKUs or categories (messages about neither, like announcements, always
// pass).
type filter struct {
	skus, categories map[string]bool
}

func (f *filter) match(a audience) bool {
	if f == nil || (a.sku == "" && a.category == "") {
		return true
	}
	return f.skus[a.sku] || f.categories[a.category]
}

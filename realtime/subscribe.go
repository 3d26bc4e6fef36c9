package main

import (
	"bytes"
	"slices"

	"github.com/goshop/platform/shared"
)

// subscribeRequest is the one message a client may send: {"type":"subscribe","skus":[...],
// "categories":[...]} narrows its public messages (stock, catalog) to those SKUs or categories;
// {"type":"subscribe"} with neither list (or {"type":"unsubscribe"}) restores all. Order and user
// messages are never filtered. The server answers {"seq":0,"type":"subscribed","data":{...}}.
type subscribeRequest struct {
	Type       string   `json:"type,omitempty"`
	SKUs       []string `json:"skus"`
	Categories []string `json:"categories"`
}

// maxSubscriptions bounds the SKUs plus categories of one subscription.
const maxSubscriptions = 200

// parseSubscribe decodes a client message; ok is false for anything that is not a valid subscribe or
// unsubscribe. A nil filter means everything.
func parseSubscribe(p []byte) (f *filter, ok bool) {
	var req subscribeRequest
	if err := shared.DecodeJSON(bytes.NewReader(p), &req); err != nil {
		return nil, false
	}
	switch req.Type {
	case "unsubscribe":
		return nil, true
	case "subscribe":
	default:
		return nil, false
	}
	if len(req.SKUs)+len(req.Categories) > maxSubscriptions {
		return nil, false
	}
	if len(req.SKUs)+len(req.Categories) == 0 {
		return nil, true
	}
	f = &filter{skus: make(map[string]bool, len(req.SKUs)), categories: make(map[string]bool, len(req.Categories))}
	for _, s := range req.SKUs {
		if s == "" || len(s) > 100 {
			return nil, false
		}
		f.skus[s] = true
	}
	for _, s := range req.Categories {
		if s == "" || len(s) > 100 {
			return nil, false
		}
		f.categories[s] = true
	}
	return f, true
}

// keys lists a filter's SKUs (or categories), sorted; empty for nil.
func keys(f *filter, skus bool) []string {
	out := []string{}
	if f == nil {
		return out
	}
	m := f.categories
	if skus {
		m = f.skus
	}
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
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

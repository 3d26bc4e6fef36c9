package main

import (
	"container/list"
	"strings"
	"sync"
	"time"
)

// lru is a bounded in-process map whose entries also expire. It is safe for concurrent use; the zero
// value is not usable, use newLRU.
type lru[V any] struct {
	mu    sync.Mutex
	max   int
	order *list.List // front = most recently used
	items map[string]*list.Element
}

type lruItem[V any] struct {
	key     string
	value   V
	expires time.Time
}

// newLRU returns an lru holding at most n entries (n < 1 means 1).
func newLRU[V any](n int) *lru[V] {
	return &lru[V]{max: max(n, 1), order: list.New(), items: make(map[string]*list.Element)}
}

// Get returns the value of key if present and not expired.
func (c *lru[V]) Get(key string, now time.Time) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		var zero V
		return zero, false
	}
	it := el.Value.(*lruItem[V])
	if !now.Before(it.expires) {
		c.order.Remove(el)
		delete(c.items, key)
		var zero V
		return zero, false
	}
	c.order.MoveToFront(el)
	return it.value, true
}

// Set stores value under key until expires, evicting the least recently used entry when full.
func (c *lru[V]) Set(key string, value V, expires time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		it := el.Value.(*lruItem[V])
		it.value, it.expires = value, expires
		c.order.MoveToFront(el)
		return
	}
	c.items[key] = c.order.PushFront(&lruItem[V]{key: key, value: value, expires: expires})
	for len(c.items) > c.max {
		el := c.order.Back()
		c.order.Remove(el)
		delete(c.items, el.Value.(*lruItem[V]).key)
	}
}

// DeletePrefix removes every key starting with prefix.
func (c *lru[V]) DeletePrefix(prefix string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, el := range c.items {
		if strings.HasPrefix(k, prefix) {
			c.order.Remove(el)
			delete(c.items, k)
		}
	}
}

// DeleteFunc removes every key for which drop returns true.
func (c *lru[V]) DeleteFunc(drop func(key string) bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, el := range c.items {
		if drop(k) {
			c.order.Remove(el)
			delete(c.items, k)
		}
	}
}

// Len returns the number of entries, expired ones included until they are touched.
func (c *lru[V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.items)
}

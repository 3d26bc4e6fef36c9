package main

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/goshop/platform/shared"
)

// memProductStore is the in-memory productStore: a map and a RWMutex, copies in and out. It enforces
// the same invariants as MongoDB (unique SKU, conditional updates) under its lock. Text search is an
// equivalent of MongoDB's: a product matches when any query word is a word of its name or description,
// or the start of one (3+ letters), scored 10 per name hit and 2 per description hit.
type memProductStore struct {
	mu    sync.RWMutex
	byID  map[string]*memProduct
	bySKU map[string]string
}

type memProduct struct {
	p         product
	nameWords []string
	descWords []string
}

var _ productStore = (*memProductStore)(nil)

func newMemProductStore() *memProductStore {
	return &memProductStore{byID: map[string]*memProduct{}, bySKU: map[string]string{}}
}

func index(p product) *memProduct {
	return &memProduct{p: p, nameWords: words(p.Name), descWords: words(p.Description)}
}

// words splits s into lower-case words of letters and digits.
func words(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

func (s *memProductStore) Create(_ context.Context, p product, ev outboxEvent) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.byID[p.ID]; ok {
		return fmt.Errorf("products.create: %w: id %s exists", shared.ErrConflict, p.ID)
	}
	if _, ok := s.bySKU[p.SKU]; ok {
		return fmt.Errorf("products.create: %w: sku %s exists", shared.ErrConflict, p.SKU)
	}
	p = p.clone()
	p.Outbox = map[string]outboxEvent{ev.ID: ev}
	p.Pending = 1
	s.byID[p.ID] = index(p)
	s.bySKU[p.SKU] = p.ID
	return nil
}

func (s *memProductStore) Get(_ context.Context, id string) (product, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	mp, ok := s.byID[id]
	if !ok {
		return product{}, fmt.Errorf("products.get: %w", shared.ErrNotFound)
	}
	return withoutOutbox(mp.p), nil
}

func (s *memProductStore) GetBySKU(_ context.Context, sku string) (product, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	mp, ok := s.byID[s.bySKU[sku]]
	if !ok {
		return product{}, fmt.Errorf("products.get_by_sku: %w", shared.ErrNotFound)
	}
	return withoutOutbox(mp.p), nil
}

// withoutOutbox copies p without its outbox, as the Mongo reads project it away.
func withoutOutbox(p product) product {
	p.Outbox = nil
	return p.clone()
}

func (s *memProductStore) Update(_ context.Context, p product, ev outboxEvent) (product, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	mp, ok := s.byID[p.ID]
	if !ok || mp.p.SKU != p.SKU || mp.p.DeletedAt != nil {
		return product{}, fmt.Errorf("products.update: %w", shared.ErrNotFound)
	}
	cur := mp.p.clone()
	n := p.clone()
	cur.Name, cur.Description, cur.PriceCents, cur.Currency = n.Name, n.Description, n.PriceCents, n.Currency
	cur.Category, cur.Images, cur.Attributes, cur.Active, cur.UpdatedAt = n.Category, n.Images, n.Attributes, n.Active, n.UpdatedAt
	if cur.Outbox == nil {
		cur.Outbox = map[string]outboxEvent{}
	}
	cur.Outbox[ev.ID] = ev
	cur.Pending++
	s.byID[p.ID] = index(cur)
	return cur.clone(), nil
}

func (s *memProductStore) Delete(_ context.Context, id, sku string, at time.Time, ev outboxEvent) (product, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	mp, ok := s.byID[id]
	if !ok || mp.p.SKU != sku || mp.p.DeletedAt != nil {
		return product{}, fmt.Errorf("products.delete: %w", shared.ErrNotFound)
	}
	cur := mp.p.clone()
	cur.Active = false
	cur.DeletedAt = &at
	cur.UpdatedAt = at
	if cur.Outbox == nil {
		cur.Outbox = map[string]outboxEvent{}
	}
	cur.Outbox[ev.ID] = ev
	cur.Pending++
	mp.p = cur
	return cur.clone(), nil
}

type scored struct {
	mp    *memProduct
	score int
}

func (s *memProductStore) List(_ context.Context, q productQuery) ([]product, int, error) {
	terms := words(q.Q)
	s.mu.RLock()
	matched := make([]scored, 0, 64)
	for _, mp := range s.byID {
		p := &mp.p
		if !p.Active || p.DeletedAt != nil ||
			(q.Category != "" && p.Category != q.Category) ||
			(q.MinCents > 0 && p.PriceCents < q.MinCents) ||
			(q.MaxCents > 0 && p.PriceCents > q.MaxCents) {
			continue
		}
		score := 0
		if q.Q != "" {
			score = 10*hits(mp.nameWords, terms) + 2*hits(mp.descWords, terms)
			if score == 0 {
				continue
			}
		}
		matched = append(matched, scored{mp, score})
	}
	slices.SortFunc(matched, sortFunc(q.Sort, q.Q != ""))
	total := len(matched)
	start := min((q.Page-1)*q.Limit, total)
	end := min(start+q.Limit, total)
	out := make([]product, 0, end-start)
	for _, m := range matched[start:end] {
		out = append(out, withoutOutbox(m.mp.p))
	}
	s.mu.RUnlock()
	return out, total, nil
}

// sortFunc orders like the Mongo store: the chosen key, then ID ascending as the tie-breaker.
func sortFunc(order string, text bool) func(a, b scored) int {
	var key func(a, b scored) int
	switch order {
	case sortPrice:
		key = func(a, b scored) int { return cmp.Compare(a.mp.p.PriceCents, b.mp.p.PriceCents) }
	case sortPriceDesc:
		key = func(a, b scored) int { return cmp.Compare(b.mp.p.PriceCents, a.mp.p.PriceCents) }
	case sortName:
		key = func(a, b scored) int { return strings.Compare(a.mp.p.Name, b.mp.p.Name) }
	case sortRelevance:
		if text {
			key = func(a, b scored) int { return cmp.Compare(b.score, a.score) }
			break
		}
		fallthrough
	default:
		key = func(a, b scored) int { return b.mp.p.CreatedAt.Compare(a.mp.p.CreatedAt) }
	}
	return func(a, b scored) int {
		if c := key(a, b); c != 0 {
			return c
		}
		return strings.Compare(a.mp.p.ID, b.mp.p.ID)
	}
}

// hits counts the words matching any term: equal, or starting with a term of 3+ characters.
func hits(ws, terms []string) int {
	n := 0
	for _, w := range ws {
		for _, t := range terms {
			if w == t || (len(t) >= 3 && strings.HasPrefix(w, t)) {
				n++
				break
			}
		}
	}
	return n
}

func (s *memProductStore) Categories(_ context.Context) ([]categoryCount, error) {
	s.mu.RLock()
	counts := map[string]int{}
	for _, mp := range s.byID {
		if mp.p.visible() {
			counts[mp.p.Category]++
		}
	}
	s.mu.RUnlock()
	out := make([]categoryCount, 0, len(counts))
	for name, n := range counts {
		out = append(out, categoryCount{Name: name, Count: n})
	}
	slices.SortFunc(out, func(a, b categoryCount) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

func (s *memProductStore) Count(_ context.Context) (int, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.byID), nil
}

func (s *memProductStore) Pending(_ context.Context, limit int) ([]product, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []product
	for _, mp := range s.byID {
		if mp.p.Pending > 0 {
			out = append(out, mp.p.clone())
			if len(out) == limit {
				break
			}
		}
	}
	return out, nil
}

func (s *memProductStore) Ack(_ context.Context, id string, eventIDs []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	mp, ok := s.byID[id]
	if !ok {
		return nil
	}
	for _, eid := range eventIDs {
		if _, ok := mp.p.Outbox[eid]; ok {
			delete(mp.p.Outbox, eid)
			mp.p.Pending--
		}
	}
	return nil
}

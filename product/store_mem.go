package main

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sort"
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
//
// Entries are copy-on-write: a write replaces a *memProduct, never changes one. Reads of the list go
// through memIndex, an immutable snapshot of the visible products sorted by price (the analogue of
// Mongo's category+price index), rebuilt by the first List after a write.
type memProductStore struct {
	mu    sync.RWMutex
	byID  map[string]*memProduct
	bySKU map[string]string
	idx   *memIndex // nil after a write
}

type memProduct struct {
	p         product
	nameWords []string
	descWords []string
	nameFold  string // the name lower-cased, sort=name's key (see foldCompare)
}

// memIndex is a snapshot of the products, each slice sorted by price then ID: live holds every
// product not deleted, byPrice and byCategory the visible (active) ones.
type memIndex struct {
	live       []*memProduct
	byPrice    []*memProduct
	byCategory map[string][]*memProduct
	// categories counts the visible products of each category, allCategories every one not deleted.
	categories    []categoryCount
	allCategories []categoryCount
}

var _ productStore = (*memProductStore)(nil)

func newMemProductStore() *memProductStore {
	return &memProductStore{byID: map[string]*memProduct{}, bySKU: map[string]string{}}
}

func index(p product) *memProduct {
	return &memProduct{p: p, nameWords: words(p.Name), descWords: words(p.Description), nameFold: strings.ToLower(p.Name)}
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
	p.Version = 1
	s.byID[p.ID] = index(p)
	s.bySKU[p.SKU] = p.ID
	s.idx = nil
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
	if mp.p.Version != p.Version {
		return product{}, fmt.Errorf("products.update: %w: version %d is stale (now %d)", shared.ErrConflict, p.Version, mp.p.Version)
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
	cur.Version++
	s.byID[p.ID] = index(cur)
	s.idx = nil
	return cur.clone(), nil
}

func (s *memProductStore) Delete(_ context.Context, p product, at time.Time, ev outboxEvent) (product, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := p.ID
	mp, ok := s.byID[id]
	if !ok || mp.p.SKU != p.SKU || mp.p.DeletedAt != nil {
		return product{}, fmt.Errorf("products.delete: %w", shared.ErrNotFound)
	}
	if mp.p.Version != p.Version {
		return product{}, fmt.Errorf("products.delete: %w: version %d is stale (now %d)", shared.ErrConflict, p.Version, mp.p.Version)
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
	cur.Version++
	s.byID[id] = index(cur)
	s.idx = nil
	return cur.clone(), nil
}

type scored struct {
	mp    *memProduct
	score int
}

func (s *memProductStore) List(_ context.Context, q productQuery) ([]product, int, error) {
	idx := s.index()
	cands := idx.byPrice
	switch {
	case q.IncludeInactive:
		cands = idx.live // the category is checked below
	case q.Category != "":
		cands = idx.byCategory[q.Category]
	}
	if q.MaxCents > 0 {
		cands = cands[:sort.Search(len(cands), func(i int) bool { return cands[i].p.PriceCents > q.MaxCents })]
	}
	if q.MinCents > 0 {
		cands = cands[sort.Search(len(cands), func(i int) bool { return cands[i].p.PriceCents >= q.MinCents }):]
	}
	var page []*memProduct
	total := 0
	if q.Q == "" && q.Sort == sortPrice && !(q.IncludeInactive && q.Category != "") && q.SKU == "" && q.Active == nil {
		// Already in order: take the page without copying or sorting the candidates.
		total = len(cands)
		start := min((q.Page-1)*q.Limit, total)
		page = cands[start:min(start+q.Limit, total)]
	} else {
		terms := words(q.Q)
		matched := make([]scored, 0, len(cands))
		for _, mp := range cands {
			if q.Category != "" && mp.p.Category != q.Category || !strings.HasPrefix(mp.p.SKU, q.SKU) ||
				q.Active != nil && q.IncludeInactive && mp.p.Active != *q.Active {
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
		total = len(matched)
		start := min((q.Page-1)*q.Limit, total)
		for _, m := range matched[start:min(start+q.Limit, total)] {
			page = append(page, m.mp)
		}
	}
	out := make([]product, len(page))
	for i, mp := range page {
		out[i] = withoutOutbox(mp.p)
	}
	return out, total, nil
}

// index returns the current snapshot, building it after a write.
func (s *memProductStore) index() *memIndex {
	s.mu.RLock()
	idx := s.idx
	s.mu.RUnlock()
	if idx != nil {
		return idx
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.idx != nil {
		return s.idx
	}
	idx = &memIndex{byCategory: map[string][]*memProduct{}}
	for _, mp := range s.byID {
		if mp.p.DeletedAt == nil {
			idx.live = append(idx.live, mp)
		}
	}
	slices.SortFunc(idx.live, func(a, b *memProduct) int {
		if c := cmp.Compare(a.p.PriceCents, b.p.PriceCents); c != 0 {
			return c
		}
		return strings.Compare(a.p.ID, b.p.ID)
	})
	for _, mp := range idx.live {
		if mp.p.visible() {
			idx.byPrice = append(idx.byPrice, mp)
			idx.byCategory[mp.p.Category] = append(idx.byCategory[mp.p.Category], mp)
		}
	}
	visible, all := map[string]int{}, map[string]int{}
	for _, mp := range idx.live {
		all[mp.p.Category]++
	}
	for name, ps := range idx.byCategory {
		visible[name] = len(ps)
	}
	idx.categories, idx.allCategories = categoryCounts(visible), categoryCounts(all)
	s.idx = idx
	return idx
}

// categoryCounts returns the counts by name, as the Mongo store's $sort on the name.
func categoryCounts(counts map[string]int) []categoryCount {
	out := make([]categoryCount, 0, len(counts))
	for name, n := range counts {
		out = append(out, categoryCount{Name: name, Count: n})
	}
	slices.SortFunc(out, func(a, b categoryCount) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// sortFunc orders like the Mongo store (listSort): the chosen key, then ID ascending as the
// tie-breaker, descending for -price (price reversed, ties included).
func sortFunc(order string, text bool) func(a, b scored) int {
	var key func(a, b scored) int
	switch order {
	case sortPrice:
		key = func(a, b scored) int { return cmp.Compare(a.mp.p.PriceCents, b.mp.p.PriceCents) }
	case sortPriceDesc:
		key = func(a, b scored) int { return cmp.Compare(b.mp.p.PriceCents, a.mp.p.PriceCents) }
	case sortName:
		key = func(a, b scored) int { return strings.Compare(a.mp.nameFold, b.mp.nameFold) }
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
		if order == sortPriceDesc {
			return strings.Compare(b.mp.p.ID, a.mp.p.ID)
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

func (s *memProductStore) Categories(_ context.Context, includeInactive bool) ([]categoryCount, error) {
	if includeInactive {
		return slices.Clone(s.index().allCategories), nil
	}
	return slices.Clone(s.index().categories), nil
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
	cur := mp.p.clone()
	for _, eid := range eventIDs {
		if _, ok := cur.Outbox[eid]; ok {
			delete(cur.Outbox, eid)
			cur.Pending--
		}
	}
	s.byID[id] = &memProduct{p: cur, nameWords: mp.nameWords, descWords: mp.descWords, nameFold: mp.nameFold}
	s.idx = nil
	return nil
}

package main

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/goshop/platform/shared"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo/options"
)

// stockStats is the answer of GET /inventory/stats (docs/inventory.md). Skus, OnHand, Reserved,
// Available, LowStock and OutOfStock cover live items (deleted ones are left out); Sold covers every
// item, since units sold stay sold when a product is removed later. LowStock and OutOfStock count
// the live items GET /inventory?level=low and ?level=out list: 0 < available <= the item's
// low_stock_threshold (the threshold inventory.low_stock events use), and nothing available.
type stockStats struct {
	SKUs       int64 `json:"skus"`
	OnHand     int64 `json:"on_hand"`
	Reserved   int64 `json:"reserved"`
	Available  int64 `json:"available"`
	Sold       int64 `json:"sold"`
	LowStock   int64 `json:"low_stock"`
	OutOfStock int64 `json:"out_of_stock"`
}

// add counts it into st; both stores fold their items through it.
func (st *stockStats) add(it StockItem) {
	st.Sold += it.Sold
	if it.Deleted {
		return
	}
	st.SKUs++
	st.OnHand += it.OnHand
	st.Reserved += it.Reserved
	st.Available += it.Available
	// The same rules as the admin list's ?level=out and ?level=low (list.go), which the storefront
	// asks with include_inactive=true: inactive products' items count.
	switch {
	case stockQuery{Level: levelOut, IncludeInactive: true}.match(it):
		st.OutOfStock++
	case stockQuery{Level: levelLow, IncludeInactive: true}.match(it):
		st.LowStock++
	}
}

func (s *memStore) Stats(context.Context) (stockStats, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var st stockStats
	for _, it := range s.stock {
		st.add(it.snapshot())
	}
	return st, nil
}

// Stats streams the items' counters (holds, refunds and movements projected away) and folds them
// here rather than in a $group: low stock compares two fields of each item, and FerretDB computes
// only the first accumulator of a $group. A catalogue of thousands of SKUs is a few hundred KB read.
func (s *mongoStore) Stats(ctx context.Context) (stockStats, error) {
	cur, err := s.stock.Find(ctx, bson.D{}, options.Find().SetProjection(itemProjection))
	if err != nil {
		return stockStats{}, shared.MongoErr("stock.stats", err)
	}
	defer cur.Close(ctx)
	var st stockStats
	for cur.Next(ctx) {
		var d stockDoc
		if err := cur.Decode(&d); err != nil {
			return stockStats{}, shared.MongoErr("stock.stats", err)
		}
		st.add(d.item())
	}
	return st, shared.MongoErr("stock.stats", cur.Err())
}

// handleStockStats serves GET /inventory/stats (admin): totals over the whole stock.
func handleStockStats(logger *slog.Logger, store stockStore) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st, err := store.Stats(r.Context())
		if err != nil {
			shared.WriteError(w, r, logger, err)
			return
		}
		w.Header().Set("Cache-Control", "private, no-store")
		shared.Encode(w, http.StatusOK, st)
	})
}

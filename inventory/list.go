package main

import (
	"context"
	"net/http"
	"strings"

	"github.com/goshop/platform/shared"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
)

// Stock levels GET /inventory can list (stockQuery.Level).
const (
	levelAll      = ""         // every item
	levelLow      = "low"      // 0 < available <= the item's low-stock threshold
	levelOut      = "out"      // nothing available (available is never negative)
	levelReserved = "reserved" // some units held for orders
)

// stockQuery selects stock items for GET /inventory: Level one of the levels above, SKU a prefix of
// the (upper-case) SKU, "" for any. Page is 1-based; items come ordered by SKU.
type stockQuery struct {
	Level string
	SKU   string
	// IncludeInactive lists the items of inactive products too (admins only); deleted ones never.
	IncludeInactive bool
	Page            int
	Limit           int
}

// parseStockQuery reads ?level=all|low|out|reserved&sku=&include_inactive=&page=&limit=; every bad
// value is reported at once. sku is the start of a SKU (any case; letters, digits, '.', '_', '-'), page 1–100000
// (default 1), limit 1–100 (default 20).
func parseStockQuery(r *http.Request, fields map[string]string) stockQuery {
	v := r.URL.Query()
	q := stockQuery{Page: 1, Limit: defaultLimit}
	switch l := v.Get("level"); l {
	case "", "all":
	case levelLow, levelOut, levelReserved:
		q.Level = l
	default:
		fields["level"] = "must be one of all, low, out, reserved"
	}
	if s := strings.TrimSpace(v.Get("sku")); s != "" {
		sku, err := normalizeSKU(s)
		if err != nil {
			fields["sku"] = "the start of a SKU: " + err.Error()
		}
		q.SKU = sku
	}
	q.IncludeInactive = shared.QueryBool(v, "include_inactive", false, fields)
	q.Page = shared.QueryInt(v, "page", 1, 1, maxPage, fields)
	q.Limit = shared.QueryInt(v, "limit", defaultLimit, 1, maxLimit, fields)
	return q
}

// match reports whether it is selected by q: the in-memory twin of mongoStockFilter.
func (q stockQuery) match(it StockItem) bool {
	if !it.visible(q.IncludeInactive) || !strings.HasPrefix(it.SKU, q.SKU) {
		return false
	}
	switch q.Level {
	case levelLow:
		return it.Available > 0 && it.Available <= it.LowStockThreshold
	case levelOut:
		return it.Available <= 0
	case levelReserved:
		return it.Reserved > 0
	}
	return true
}

// mongoStockFilter is q as a Mongo filter over stock. "low" compares two fields of one document,
// which needs $expr (FerretDB has none, and $expr cannot use an index); thresholds change only with
// configuration, so the store asks for the few distinct ones and matches each with an indexed range
// on (low_stock_threshold, available). The SKU prefix is an anchored literal on _id.
func mongoStockFilter(ctx context.Context, stock *mongo.Collection, q stockQuery) (bson.D, error) {
	// $ne also matches items stored before the flag existed, which have no such field.
	filter := bson.D{{Key: "deleted", Value: bson.D{{Key: "$ne", Value: true}}}}
	if !q.IncludeInactive {
		filter = append(filter, bson.E{Key: "inactive", Value: bson.D{{Key: "$ne", Value: true}}})
	}
	if q.SKU != "" {
		filter = append(filter, bson.E{Key: "_id", Value: shared.PrefixRegex(q.SKU)})
	}
	switch q.Level {
	case levelLow:
		ts, err := stock.Distinct(ctx, "low_stock_threshold", bson.D{})
		if err != nil {
			return nil, shared.MongoErr("stock.list.thresholds", err)
		}
		or := bson.A{}
		for _, t := range ts {
			or = append(or, bson.D{{Key: "low_stock_threshold", Value: t},
				{Key: "available", Value: bson.D{{Key: "$gt", Value: 0}, {Key: "$lte", Value: t}}}})
		}
		if len(or) == 0 {
			or = append(or, bson.D{{Key: "_id", Value: bson.D{{Key: "$exists", Value: false}}}}) // no items: none match
		}
		filter = append(filter, bson.E{Key: "$or", Value: or})
	case levelOut:
		filter = append(filter, bson.E{Key: "available", Value: bson.D{{Key: "$lte", Value: 0}}})
	case levelReserved:
		filter = append(filter, bson.E{Key: "reserved", Value: bson.D{{Key: "$gt", Value: 0}}})
	}
	return filter, nil
}

package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/goshop/platform/shared"
)

// Bounds of the read API.
const (
	defaultLimit = 20
	maxLimit     = 100
	maxPage      = 100_000
	maxBatchSKUs = 100
	// maxAdjustBody bounds an adjust request; the body is two small fields.
	maxAdjustBody = 4 << 10
)

// pathSKU reads and normalises the {sku} path value.
func pathSKU(r *http.Request) (string, error) {
	sku, err := normalizeSKU(r.PathValue("sku"))
	if err != nil {
		return "", shared.Invalid(map[string]string{"sku": err.Error()})
	}
	return sku, nil
}

// publicStockCacheControl is on the public stock reads (list, batch, one item): the same for
// everyone, so the gateway may share them for the seed's 30 s. It purges them as soon as it sees an
// inventory.updated, which follows every change of an item, so in practice a read is as old as the
// event's trip through Kafka (milliseconds); the 30 s only bound a lost event or Kafka being down.
// Reservations are decided on the store, never on a cached read.
const publicStockCacheControl = "public, max-age=30"

// privateStockCacheControl is on include_inactive reads: an admin's, never to be shared.
const privateStockCacheControl = "private, no-store"

// readScope reads ?include_inactive= of a stock read (the list reads it with its other parameters and
// calls scopeCacheControl) and returns it with the answer's Cache-Control.
func readScope(r *http.Request) (includeInactive bool, cacheControl string, err error) {
	fields := map[string]string{}
	includeInactive = shared.QueryBool(r.URL.Query(), "include_inactive", false, fields)
	if len(fields) > 0 {
		return false, "", shared.Invalid(fields)
	}
	cacheControl, err = scopeCacheControl(r, includeInactive)
	return includeInactive, cacheControl, err
}

// scopeCacheControl is a stock read's Cache-Control: public, or private for include_inactive=true,
// which needs an admin (401/403). Public reads never show the items of inactive or deleted products,
// so a draft's SKU and stock stay unknown until it is released.
func scopeCacheControl(r *http.Request, includeInactive bool) (string, error) {
	if !includeInactive {
		return publicStockCacheControl, nil
	}
	return privateStockCacheControl, shared.RequireAdminFor(r, "include_inactive")
}

// handleStockList serves GET /inventory?level=&sku=&page=&limit= (parseStockQuery): a page of stock
// items ordered by SKU. A bad parameter is 400 naming it.
func handleStockList(logger *slog.Logger, store stockStore) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fields := map[string]string{}
		q := parseStockQuery(r, fields)
		if len(fields) > 0 {
			shared.WriteError(w, r, logger, shared.Invalid(fields))
			return
		}
		cc, err := scopeCacheControl(r, q.IncludeInactive)
		if err != nil {
			shared.WriteError(w, r, logger, err)
			return
		}
		items, total, err := store.List(r.Context(), q)
		if err != nil {
			shared.WriteError(w, r, logger, err)
			return
		}
		w.Header().Set("Cache-Control", cc)
		shared.Encode(w, http.StatusOK, shared.Page[StockItem]{Items: items, Total: int(total), Page: q.Page, Limit: q.Limit})
	})
}

// handleStockGet serves GET /inventory/{sku}: public and shareable at the SKU's normal form, never
// stored at another spelling. An inactive product's item is 404 like an unknown SKU, except to an
// admin's include_inactive=true; a deleted product's is 404 to everyone.
func handleStockGet(logger *slog.Logger, store stockStore) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sku, err := pathSKU(r)
		if err != nil {
			shared.WriteError(w, r, logger, err)
			return
		}
		includeInactive, cc, err := readScope(r)
		if err != nil {
			shared.WriteError(w, r, logger, err)
			return
		}
		it, err := store.Get(r.Context(), sku)
		if err == nil && !it.visible(includeInactive) {
			err = fmt.Errorf("stock.get: %w", shared.ErrNotFound)
		}
		if err != nil {
			shared.WriteError(w, r, logger, err)
			return
		}
		if r.PathValue("sku") != sku {
			// The gateway purges /inventory/{sku} on inventory.updated by the SKU's normal form only;
			// a shared answer at another spelling (/inventory/mug-1) would stay stale for the whole TTL.
			cc = "no-store"
		}
		w.Header().Set("Cache-Control", cc)
		shared.Encode(w, http.StatusOK, it)
	})
}

// handleStockBatch serves GET /inventory/batch?skus=a,b: the items of up to maxBatchSKUs SKUs, in
// the list shape; unknown SKUs are left out, and so are those handleStockGet answers 404.
func handleStockBatch(logger *slog.Logger, store stockStore) http.Handler {
	type response struct {
		Items []StockItem `json:"items"`
		Total int         `json:"total"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw := r.URL.Query().Get("skus")
		if strings.TrimSpace(raw) == "" {
			shared.WriteError(w, r, logger, shared.Invalid(map[string]string{"skus": "required: comma-separated SKUs"}))
			return
		}
		parts := strings.Split(raw, ",")
		if len(parts) > maxBatchSKUs {
			shared.WriteError(w, r, logger, shared.Invalid(map[string]string{"skus": "at most " + strconv.Itoa(maxBatchSKUs) + " SKUs"}))
			return
		}
		includeInactive, cc, err := readScope(r)
		if err != nil {
			shared.WriteError(w, r, logger, err)
			return
		}
		skus := make([]string, 0, len(parts))
		for _, p := range parts {
			sku, err := normalizeSKU(p)
			if err != nil {
				shared.WriteError(w, r, logger, shared.Invalid(map[string]string{"skus": "each SKU " + err.Error()}))
				return
			}
			skus = append(skus, sku)
		}
		items, err := store.Batch(r.Context(), skus)
		if err != nil {
			shared.WriteError(w, r, logger, err)
			return
		}
		items = slices.DeleteFunc(items, func(it StockItem) bool { return !it.visible(includeInactive) })
		w.Header().Set("Cache-Control", cc)
		shared.Encode(w, http.StatusOK, response{Items: items, Total: len(items)})
	})
}

// adjustRequest is the body of POST /inventory/{sku}/adjust.
type adjustRequest struct {
	Delta  int64  `json:"delta"`
	Reason string `json:"reason"`
}

// Valid checks the adjustment: a non-zero delta of at most maxQuantity either way, and a reason of
// one line of text (shared.Printable: it is shown to admins in the movements).
func (a adjustRequest) Valid(context.Context) map[string]string {
	fields := map[string]string{}
	if a.Delta == 0 || a.Delta > maxQuantity || a.Delta < -maxQuantity {
		fields["delta"] = "must be a non-zero integer between -" + strconv.Itoa(maxQuantity) + " and " + strconv.Itoa(maxQuantity)
	}
	if n := utf8.RuneCountInString(strings.TrimSpace(a.Reason)); n == 0 || n > 200 || !shared.Printable(a.Reason, false) {
		fields["reason"] = "required, at most 200 characters of text without control characters"
	}
	return fields
}

// handleStockAdjust serves POST /inventory/{sku}/adjust (admin): on hand changes by delta, recorded
// as a movement; 409 when on hand would drop below what is reserved. An optional Idempotency-Key
// header makes a retry safe (inventory.Adjust): a repeat answers the item as it is now with
// "Idempotent-Replayed: true" and changes nothing; the key with another request is 409.
func handleStockAdjust(logger *slog.Logger, inv *inventory) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sku, err := pathSKU(r)
		if err != nil {
			shared.WriteError(w, r, logger, err)
			return
		}
		keys := r.Header.Values("Idempotency-Key")
		if len(keys) > 1 || len(keys) == 1 && !shared.ValidIdempotencyKey(keys[0]) {
			shared.WriteError(w, r, logger, shared.Invalid(map[string]string{"Idempotency-Key": "optional; when sent, one header of 1 to 255 visible ASCII characters, unique per adjustment"}))
			return
		}
		req, err := shared.DecodeLimit[adjustRequest](w, r, maxAdjustBody)
		if err != nil {
			shared.WriteError(w, r, logger, err)
			return
		}
		id, _ := shared.IdentityFrom(r.Context())
		it, replayed, err := inv.Adjust(r.Context(), sku, req.Delta, strings.TrimSpace(req.Reason), id.UserID, r.Header.Get("Idempotency-Key"))
		if err != nil {
			shared.WriteError(w, r, logger, err)
			return
		}
		if replayed {
			logger.InfoContext(r.Context(), "stock adjustment replayed", "sku", sku, "delta", req.Delta, "by", id.UserID, "request_id", shared.RequestIDFrom(r.Context()))
			w.Header().Set("Idempotent-Replayed", "true")
		} else {
			logger.InfoContext(r.Context(), "stock adjusted", "sku", sku, "delta", req.Delta, "by", id.UserID, "request_id", shared.RequestIDFrom(r.Context()))
		}
		shared.Encode(w, http.StatusOK, it)
	})
}

// handleStockMovements serves GET /inventory/{sku}/movements (admin): the newest recorded movements.
func handleStockMovements(logger *slog.Logger, store stockStore) http.Handler {
	type response struct {
		SKU       string     `json:"sku"`
		Movements []Movement `json:"movements"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sku, err := pathSKU(r)
		if err != nil {
			shared.WriteError(w, r, logger, err)
			return
		}
		ms, err := store.Movements(r.Context(), sku)
		if err != nil {
			shared.WriteError(w, r, logger, err)
			return
		}
		if ms == nil {
			ms = []Movement{}
		}
		w.Header().Set("Cache-Control", "no-store")
		shared.Encode(w, http.StatusOK, response{SKU: sku, Movements: ms})
	})
}

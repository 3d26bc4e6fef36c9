package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/goshop/platform/shared"
)

// maxWriteAttempts bounds how often a PUT or DELETE re-reads a product that another write changed
// between its read and its conditional write, before answering 409.
const maxWriteAttempts = 5

// now is the time the service stamps on products, truncated to what MongoDB stores (milliseconds) so
// the in-memory and Mongo stores answer alike.
func now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

// decodeProduct reads a product body of at most maxProductBody bytes and validates it.
func decodeProduct(w http.ResponseWriter, r *http.Request, create bool) (productInput, product, int64, error) {
	in, err := shared.DecodeLimit[productInput](w, r, maxProductBody)
	if err != nil {
		return in, product{}, 0, err
	}
	p, stock, fields := in.toProduct(create)
	if fields != nil {
		return in, product{}, 0, shared.Invalid(fields)
	}
	return in, p, stock, nil
}

// handleProductCreate serves POST /products (admin): creates the product, records product.created with
// the initial stock in the same write, wakes the outbox relay, answers 201 with Location. 409 when the SKU
// exists, deleted products included.
func handleProductCreate(logger *slog.Logger, store productStore, wake func()) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, p, stock, err := decodeProduct(w, r, true)
		if err != nil {
			shared.WriteError(w, r, logger, err)
			return
		}
		p, err = createProduct(r.Context(), store, p, stock)
		if errors.Is(err, shared.ErrConflict) {
			err = &shared.Error{Code: shared.CodeConflict, Message: fmt.Sprintf("a product with SKU %s already exists", p.SKU),
				Fields: map[string]string{"sku": "already exists"}, Err: err}
		}
		if err != nil {
			shared.WriteError(w, r, logger, err)
			return
		}
		wake()
		w.Header().Set("Location", "/products/"+p.ID)
		w.Header().Set("Cache-Control", "no-store")
		shared.Encode(w, http.StatusCreated, viewOf(p))
	})
}

// createProduct stores p as a new product with its product.created event and returns it with the
// event in its outbox. The seeder uses it too.
func createProduct(ctx context.Context, store productStore, p product, stock int64) (product, error) {
	t := now()
	p.ID = shared.NewID()
	p.CreatedAt, p.UpdatedAt = t, t
	ev, err := createdEvent(p, stock, t)
	if err != nil {
		return p, err
	}
	ev = ev.withTrace(ctx)
	if err := store.Create(ctx, p, ev); err != nil {
		return p, err
	}
	p.Outbox = map[string]outboxEvent{ev.ID: ev}
	p.Pending = 1
	p.Version = 1
	return p, nil
}

// handleProductUpdate serves PUT /products/{id} and PUT /products/sku/{sku} (admin): replaces the
// product's fields (omitted "active", "images", "attributes" and "currency" keep their current values),
// records product.updated. The SKU
// cannot change: inventory and orders key stock and lines by it. 404 for absent or deleted products.
func handleProductUpdate(logger *slog.Logger, store productStore, wake func(), bySKU bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cur, err := lookupForWrite(r, store, bySKU)
		if err != nil {
			shared.WriteError(w, r, logger, err)
			return
		}
		in, p, _, err := decodeProduct(w, r, false)
		if err != nil {
			shared.WriteError(w, r, logger, err)
			return
		}
		fields := map[string]string{}
		if in.ID != "" && in.ID != cur.ID {
			fields["id"] = "must match the product being updated"
		}
		if p.SKU != "" && p.SKU != cur.SKU {
			fields["sku"] = "cannot change; create a new product instead"
		}
		if len(fields) > 0 {
			shared.WriteError(w, r, logger, shared.Invalid(fields))
			return
		}
		// A PUT replaces the product, so a concurrent write that wins is simply overwritten (last
		// writer wins): read the new version and apply the body again.
		var stored product
		for attempt := 1; ; attempt++ {
			next := p
			// Omitted optional fields keep their values, so a form that does not show them (the
			// storefront's has no attributes) cannot wipe them by accident. Sending [] or {} clears.
			if in.Active == nil {
				next.Active = cur.Active
			}
			if in.Images == nil {
				next.Images = cur.Images
			}
			if in.Attributes == nil {
				next.Attributes = cur.Attributes
			}
			if strings.TrimSpace(in.Currency) == "" {
				next.Currency = cur.Currency
			}
			next.ID, next.SKU, next.CreatedAt, next.UpdatedAt, next.Version = cur.ID, cur.SKU, cur.CreatedAt, now(), cur.Version
			ev, err := updatedEvent(next, next.UpdatedAt)
			if err == nil {
				stored, err = store.Update(r.Context(), next, ev.withTrace(r.Context()))
			}
			if errors.Is(err, shared.ErrConflict) && attempt < maxWriteAttempts {
				if cur, err = lookupForWrite(r, store, bySKU); err == nil {
					continue
				}
			}
			if err != nil {
				shared.WriteError(w, r, logger, notFound(err))
				return
			}
			break
		}
		wake()
		w.Header().Set("Cache-Control", "no-store")
		shared.Encode(w, http.StatusOK, viewOf(stored))
	})
}

// handleProductDelete serves DELETE /products/{id} (admin): a soft delete (the product disappears from
// public reads, its SKU stays reserved), records product.deleted, answers 204. 404 when absent or
// already deleted.
func handleProductDelete(logger *slog.Logger, store productStore, wake func()) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for attempt := 1; ; attempt++ {
			cur, err := lookupForWrite(r, store, false)
			if err == nil {
				t := now()
				var ev outboxEvent
				if ev, err = deletedEvent(cur, t); err == nil {
					_, err = store.Delete(r.Context(), cur, t, ev.withTrace(r.Context()))
				}
			}
			if errors.Is(err, shared.ErrConflict) && attempt < maxWriteAttempts {
				continue // updated meanwhile: delete the new version
			}
			if err != nil {
				shared.WriteError(w, r, logger, notFound(err))
				return
			}
			break
		}
		wake()
		w.WriteHeader(http.StatusNoContent)
	})
}

// lookupForWrite returns the live product named by the path ({id} or {sku}). Reading it first is safe:
// the ID and SKU it yields never change, and the write itself is conditional on both and on the
// product not being deleted.
func lookupForWrite(r *http.Request, store productStore, bySKU bool) (product, error) {
	var (
		p   product
		err error
	)
	if bySKU {
		sku, msg := normalizeSKU(r.PathValue("sku"))
		if msg != "" {
			return p, shared.Invalid(map[string]string{"sku": msg})
		}
		p, err = store.GetBySKU(r.Context(), sku)
	} else {
		id := r.PathValue("id")
		if !shared.ValidID(id) {
			return p, shared.Invalid(map[string]string{"id": "must be a product ID (32 hex digits)"})
		}
		p, err = store.Get(r.Context(), id)
	}
	if err == nil && p.DeletedAt != nil {
		err = fmt.Errorf("product %s deleted: %w", p.ID, shared.ErrNotFound)
	}
	return p, notFound(err)
}

// notFound gives ErrNotFound a message that names the resource.
func notFound(err error) error {
	if errors.Is(err, shared.ErrNotFound) {
		return &shared.Error{Code: shared.CodeNotFound, Message: "product not found", Err: err}
	}
	return err
}

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/goshop/platform/shared"
)

// productInfo is what an order needs of a product: its current name and price.
type productInfo struct {
	SKU        string
	Name       string
	PriceCents int64
	Currency   string
}

// catalog prices order lines. Product returns shared.ErrNotFound for an unknown or inactive SKU and
// an error wrapping shared.ErrUnavailable when the product service cannot answer.
type catalog interface {
	Product(ctx context.Context, sku string) (productInfo, error)
}

// addressBook resolves a saved address of the caller. Address returns shared.ErrNotFound when the
// caller has no such address, shared.ErrUnauthorized when user refused the forwarded credentials and
// shared.ErrUnavailable when the user service cannot answer.
type addressBook interface {
	Address(ctx context.Context, authorization, id string) (Address, error)
}

// upstream is a small JSON client for one internal service: each attempt bounded by attemptTimeout,
// up to attempts tries for network errors, 5xx and 429, with backoff doubling from retryBackoff.
type upstream struct {
	base           string
	client         *http.Client
	attempts       int
	attemptTimeout time.Duration
	retryBackoff   time.Duration
}

// newUpstream returns the client of the service called peer (its client spans' name) at base. Its
// transport keeps up to 64 idle connections to the peer: http.DefaultTransport keeps 2, and checkout
// looks up every line in parallel for every concurrent order, so under load most look-ups dialled a
// new connection and closed it afterwards (docs/performance.md).
func newUpstream(base, peer string) *upstream {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	return &upstream{base: base, client: &http.Client{Transport: shared.TraceTransport(tr, peer)}, attempts: 3, attemptTimeout: 2 * time.Second, retryBackoff: 100 * time.Millisecond}
}

// errStatus is a non-2xx answer that is not worth retrying.
type errStatus int

func (e errStatus) Error() string { return fmt.Sprintf("upstream status %d", int(e)) }

// getJSON GETs path and decodes a 200 body into v (at most 1 MiB). The request ID of ctx and the
// given headers are forwarded.
func (u *upstream) getJSON(ctx context.Context, path string, header http.Header, v any) error {
	backoff := u.retryBackoff
	var last error
	for attempt := 1; attempt <= u.attempts; attempt++ {
		if attempt > 1 && !shared.SleepCtx(ctx, backoff) {
			break
		}
		backoff *= 2
		err := u.once(ctx, path, header, v)
		var st errStatus
		if err == nil || errors.As(err, &st) && int(st) < 500 && int(st) != http.StatusTooManyRequests {
			return err
		}
		last = err
	}
	if ctx.Err() != nil {
		last = errors.Join(last, ctx.Err())
	}
	return fmt.Errorf("GET %s%s: %w: %w", u.base, path, shared.ErrUnavailable, last)
}

func (u *upstream) once(ctx context.Context, path string, header http.Header, v any) error {
	actx, cancel := context.WithTimeout(ctx, u.attemptTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodGet, u.base+path, nil)
	if err != nil {
		return err
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	req.Header.Set("Accept", "application/json")
	if id := shared.RequestIDFrom(ctx); id != "" {
		req.Header.Set(shared.RequestIDHeader, id)
	}
	resp, err := u.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return errStatus(resp.StatusCode)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(v); err != nil {
		return fmt.Errorf("decode: %w", err)
	}
	// Read to the end (the encoder's trailing newline): a body closed before EOF takes its
	// connection with it instead of returning it to the idle pool.
	io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	return nil
}

// httpCatalog is the catalog backed by product's GET /products/sku/{sku}.
type httpCatalog struct{ up *upstream }

func newHTTPCatalog(base string) *httpCatalog { return &httpCatalog{up: newUpstream(base, "product")} }

func (c *httpCatalog) Product(ctx context.Context, sku string) (productInfo, error) {
	if !pathSegment(sku) {
		return productInfo{}, fmt.Errorf("product %q: %w", sku, shared.ErrNotFound)
	}
	var p struct {
		SKU      string      `json:"sku"`
		Name     string      `json:"name"`
		Price    json.Number `json:"price"`
		Currency string      `json:"currency"`
		Active   bool        `json:"active"`
	}
	err := c.up.getJSON(ctx, "/products/sku/"+url.PathEscape(sku), nil, &p)
	// product answers 400 for an SKU it could never hold (characters outside its alphabet): no
	// active product has it, which is the client's mistake, not an outage.
	if st := errStatus(0); errors.As(err, &st) && (int(st) == http.StatusNotFound || int(st) == http.StatusBadRequest) {
		return productInfo{}, fmt.Errorf("product %s: %w", sku, shared.ErrNotFound)
	}
	if err != nil {
		return productInfo{}, fmt.Errorf("product %s: %w", sku, err)
	}
	if !p.Active {
		return productInfo{}, fmt.Errorf("product %s inactive: %w", sku, shared.ErrNotFound)
	}
	cents, err := shared.ParseCents(p.Price.String())
	if err != nil || len(p.Currency) != 3 {
		return productInfo{}, fmt.Errorf("product %s: bad price %q %q: %w", sku, p.Price, p.Currency, shared.ErrUnavailable)
	}
	name := p.Name
	if name == "" {
		name = sku
	}
	if p.SKU == "" {
		p.SKU = sku
	}
	return productInfo{SKU: p.SKU, Name: name, PriceCents: int64(cents), Currency: p.Currency}, nil
}

// pathSegment reports whether s can be sent as one escaped path segment: "." and ".." survive
// url.PathEscape and would be resolved by the peer's router as a move up the path (a redirect to
// another resource), so they never name a product or an address.
func pathSegment(s string) bool { return s != "." && s != ".." }

// httpAddressBook is the addressBook backed by user's GET /users/me/addresses/{id}, called with the
// caller's own Authorization header so user answers for that caller only.
type httpAddressBook struct{ up *upstream }

func newHTTPAddressBook(base string) *httpAddressBook {
	return &httpAddressBook{up: newUpstream(base, "user")}
}

func (b *httpAddressBook) Address(ctx context.Context, authorization, id string) (Address, error) {
	if !pathSegment(id) {
		return Address{}, fmt.Errorf("address %q: %w", id, shared.ErrNotFound)
	}
	var a Address
	err := b.up.getJSON(ctx, "/users/me/addresses/"+url.PathEscape(id), http.Header{"Authorization": {authorization}}, &a)
	var st errStatus
	switch {
	case errors.As(err, &st) && (int(st) == http.StatusNotFound || int(st) == http.StatusBadRequest):
		return Address{}, fmt.Errorf("address %s: %w", id, shared.ErrNotFound)
	case errors.As(err, &st) && int(st) == http.StatusUnauthorized:
		return Address{}, fmt.Errorf("address %s: %w", id, shared.ErrUnauthorized)
	case errors.As(err, &st) && int(st) == http.StatusForbidden:
		// The caller's token may not read the address book (a third-party token without scope addresses).
		return Address{}, fmt.Errorf("address %s: %w", id, shared.ErrForbidden)
	case errors.As(err, &st):
		return Address{}, fmt.Errorf("address %s: %w: %w", id, shared.ErrUnavailable, err)
	case err != nil:
		return Address{}, fmt.Errorf("address %s: %w", id, err)
	}
	return a, nil
}

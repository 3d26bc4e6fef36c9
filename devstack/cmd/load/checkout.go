package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// checkout registers and logs in the customers and opens each one's realtime socket; then each client
// (closed loop) or arrival (open loop) places an order and waits for its final event on the socket.
func (l *loader) checkout() scenario {
	final := map[string]bool{"confirmed": true, "rejected": true}
	sc := scenario{series: []string{"create", "saga"}, ok: map[string]func(string) bool{"saga": func(s string) bool { return final[s] }},
		setupDone: fmt.Sprintf("%d customers registered, logged in, realtime sockets open", l.cfg.customers), cpu: true}
	sc.setup = func(ctx context.Context) error {
		if l.cfg.restock > 0 {
			if err := l.restock(ctx, l.cfg.restock); err != nil {
				return err
			}
		}
		if err := l.refreshSKUs(ctx); err != nil {
			return err
		}
		go func() { // stock changes as orders reserve it; an order for a sold-out SKU is rejected
			for {
				select {
				case <-ctx.Done():
					return
				case <-time.After(250 * time.Millisecond):
					_ = l.refreshSKUs(ctx) // keep the previous list on error
				}
			}
		}()
		l.tokens = make([]string, l.cfg.customers)
		errs := make([]error, l.cfg.customers)
		sem := make(chan struct{}, l.cfg.concurrency)
		var wg sync.WaitGroup
		for i := range l.cfg.customers {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				l.tokens[i], errs[i] = l.newCustomer(ctx, i)
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return err
		}
		// One socket per customer, as one browser tab, open before the first order so no event is missed.
		for i, token := range l.tokens {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				errs[i] = l.events.watch(ctx, l.cfg.gateway, token)
			})
		}
		wg.Wait()
		return errors.Join(errs...)
	}
	sc.step = func(ctx context.Context, client int, st map[string]*Stats) {
		token := l.tokens[client%len(l.tokens)]
		skus := *l.skus.Load()
		body, _ := json.Marshal(map[string]any{
			"items": []map[string]any{{"sku": skus[rand.IntN(len(skus))], "quantity": 1}},
			"shipping_address": map[string]string{"name": "Load Test", "street": "1 Main St", "city": "Springfield",
				"state": "IL", "zip_code": "62701", "country": "US"},
		})
		key := fmt.Sprintf("load-%d-%d-%d", l.salt, client, l.seq.Add(1))
		start := time.Now()
		r, ok := l.do(ctx, http.MethodPost, "/order/orders", token, body, map[string]string{"Idempotency-Key": key}, true)
		if !ok {
			return
		}
		st["create"].Add(r.took, r.outcome, r.cache)
		if r.outcome != "201" {
			l.backoff(ctx, r.outcome)
			return
		}
		var o struct {
			ID     string `json:"id"`
			Status string `json:"status"`
		}
		if json.Unmarshal(r.body, &o) != nil || o.ID == "" {
			st["saga"].Add(time.Since(start), "bad-body", "")
			return
		}
		status, took, ok := l.events.await(ctx, o.ID, start, l.cfg.sagaTimeout)
		if !ok {
			return
		}
		st["saga"].Add(took, status, "")
		o.Status = status
		if o.Status == "confirmed" && l.cfg.cancel {
			l.mu.Lock()
			l.confirmed = append(l.confirmed, [2]string{token, o.ID})
			l.mu.Unlock()
		}
	}
	sc.cleanup = func(ctx context.Context, w io.Writer) {
		l.events.close()
		if lost := l.events.lost.Load(); lost > 0 {
			fmt.Fprintf(w, "note: %d realtime sockets ended during the run; their customers' orders timed out\n", lost)
		}
		if len(l.confirmed) == 0 {
			return
		}
		t := time.Now()
		jobs := make(chan [2]string)
		var failed atomic.Int64
		var wg sync.WaitGroup
		for range l.cfg.concurrency {
			wg.Go(func() {
				for j := range jobs {
					r, ok := l.do(ctx, http.MethodPost, "/order/orders/"+url.PathEscape(j[1])+"/cancel", j[0], []byte("{}"), nil, true)
					if !ok || r.outcome != "200" {
						failed.Add(1)
					}
				}
			})
		}
		for _, j := range l.confirmed {
			jobs <- j
		}
		close(jobs)
		wg.Wait()
		fmt.Fprintf(w, "cleanup  cancelled %d confirmed orders (%d failed) in %s, so their stock is released\n",
			len(l.confirmed)-int(failed.Load()), failed.Load(), time.Since(t).Round(time.Millisecond))
	}
	sc.final = func(w io.Writer, elapsed time.Duration, series []*Stats) {
		for _, s := range series {
			if s.Name == "saga" {
				done := s.Status["confirmed"] + s.Status["rejected"]
				fmt.Fprintf(w, "orders   %d finished (%d confirmed, %d rejected), %.1f orders/s; saga = POST sent → order.confirmed/rejected read on the customer's realtime socket\n",
					done, s.Status["confirmed"], s.Status["rejected"], float64(done)/elapsed.Seconds())
			}
		}
	}
	return sc
}

// backoff pauses a closed-loop client briefly after an error answer, so a failing platform is not
// hammered by a tight loop of instant errors. Open-loop arrivals keep their schedule: no pause.
func (l *loader) backoff(ctx context.Context, outcome string) {
	if l.cfg.rate > 0 {
		return
	}
	d := 50 * time.Millisecond
	if outcome == "429" || outcome == "503" {
		d = 200 * time.Millisecond
	}
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// newCustomer registers a fresh customer and logs in, returning the access token.
func (l *loader) newCustomer(ctx context.Context, i int) (string, error) {
	email := fmt.Sprintf("load-%d-%d-%d@shop.local", time.Now().Unix(), l.salt, i)
	password := "load-Passw0rd!"
	reg, _ := json.Marshal(map[string]string{"email": email, "password": password, "name": fmt.Sprintf("Load Customer %d", i)})
	r, ok := l.do(ctx, http.MethodPost, "/auth/register", "", reg, nil, true)
	if !ok {
		return "", ctx.Err()
	}
	if r.outcome != "201" {
		return "", fmt.Errorf("register %s: %s %s", email, r.outcome, bytes.TrimSpace(r.body))
	}
	return l.login(ctx, email, password)
}

// login logs in with email and password and returns the access token.
func (l *loader) login(ctx context.Context, email, password string) (string, error) {
	login, _ := json.Marshal(map[string]string{"email": email, "password": password})
	r, ok := l.do(ctx, http.MethodPost, "/auth/login", "", login, nil, true)
	if !ok {
		return "", ctx.Err()
	}
	if r.outcome != "200" {
		return "", fmt.Errorf("login %s: %s %s", email, r.outcome, bytes.TrimSpace(r.body))
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(r.body, &tok); err != nil || tok.AccessToken == "" {
		return "", fmt.Errorf("login %s: no access_token in %s", email, r.body)
	}
	return tok.AccessToken, nil
}

// restock raises every SKU's available stock to at least n, as the admin, so that a run does not
// drain the catalog into out-of-stock rejections: those orders cost the platform work but are not
// confirmed, and CPU per confirmed order would be counted over fewer orders.
//
// It reads the stock with the admin's token, which the gateway's cache does not answer, so a delta is
// never worked out from a cached level that orders have changed since.
func (l *loader) restock(ctx context.Context, n int) error {
	token, err := l.login(ctx, l.cfg.adminEmail, l.cfg.adminPass)
	if err != nil {
		return fmt.Errorf("restock: %w", err)
	}
	items, err := getList[struct {
		SKU       string `json:"sku"`
		Available int    `json:"available"`
	}](ctx, l, "/inventory/inventory", token)
	if err != nil {
		return fmt.Errorf("restock: %w", err)
	}
	for _, it := range items {
		if it.Available >= n {
			continue
		}
		body, _ := json.Marshal(map[string]any{"delta": n - it.Available, "reason": "load -restock"})
		r, ok := l.do(ctx, http.MethodPost, "/inventory/inventory/"+url.PathEscape(it.SKU)+"/adjust", token, body, nil, true)
		if !ok {
			return ctx.Err()
		}
		if r.outcome != "200" {
			return fmt.Errorf("restock %s: %s %s", it.SKU, r.outcome, bytes.TrimSpace(r.body))
		}
	}
	return nil
}

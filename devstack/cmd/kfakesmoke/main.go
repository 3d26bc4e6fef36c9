// Command kfakesmoke is the checkout load run behind the numbers of docs/order.md (the integration
// suite checks the same saga with a few orders; this one measures it with 500):
//
//	cd devstack && go run ./cmd/kfakesmoke
//
// It starts kfake on 127.0.0.1:29093, seeds three SKUs with product.created (stock 300/200/100),
// builds and runs the real inventory and order programs (in-memory stores, RESERVATION_TTL=10s),
// places 500 orders from 32 concurrent clients, waits until every order is confirmed or rejected,
// checks inventory's reserved equals what confirmed orders hold, then pays half of the confirmed
// orders, cancels a quarter and lets the rest expire, and checks the final states and stock
// (on_hand = initial - paid, reserved = 0). Exit status 1 on any mismatch.
package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/goshop/platform/shared"
	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"
)

func main() {
	if err := run(); err != nil {
		fmt.Println("FAIL:", err)
		os.Exit(1)
	}
	fmt.Println("OK")
}

var stock = map[string]int64{"SKU-A": 300, "SKU-B": 200, "SKU-C": 100}

func run() error {
	n := 500
	cl, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(29093), kfake.SeedTopics(3, shared.AllTopics()...), kfake.AllowAutoTopicCreation(), kfake.DefaultNumPartitions(3))
	if err != nil {
		return err
	}
	defer cl.Close()
	brokers := "127.0.0.1:29093"
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	b64 := func(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
	jwk := shared.JWK{Kty: "EC", Kid: "k", Use: "sig", Alg: "ES256", Crv: "P-256", X: b64(key.X.FillBytes(make([]byte, 32))), Y: b64(key.Y.FillBytes(make([]byte, 32)))}
	jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(shared.JWKS{Keys: []shared.JWK{jwk}})
	}))
	defer jwks.Close()
	mint := func(sub, role string) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodES256, shared.AccessClaims{Role: role, RegisteredClaims: jwt.RegisteredClaims{Subject: sub, Issuer: "iss", ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour))}})
		tok.Header["kid"] = "k"
		s, _ := tok.SignedString(key)
		return "Bearer " + s
	}
	bearer, admin := mint("u1", "customer"), mint("admin", "admin")
	products := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sku := r.PathValue("sku")
		if sku == "" {
			sku = r.URL.Path[len("/products/sku/"):]
		}
		fmt.Fprintf(w, `{"sku":%q,"name":"Item %s","price":10.00,"currency":"USD","active":true}`, sku, sku)
	}))
	defer products.Close()

	// Seed the catalog the way product does: product.created with stock.
	w := &kafka.Writer{Addr: kafka.TCP(brokers), Balancer: &kafka.Hash{}, BatchTimeout: time.Millisecond}
	defer w.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for sku, q := range stock {
		e, _ := shared.NewEvent("product.created", "p-"+sku, map[string]any{"product_id": "p-" + sku, "sku": sku, "name": sku, "price_cents": 1000, "currency": "USD", "category": "x", "active": true, "stock": q})
		b, _ := json.Marshal(e)
		if err := w.WriteMessages(ctx, kafka.Message{Topic: shared.TopicProduct, Key: []byte(e.AggregateID), Value: b}); err != nil {
			return err
		}
	}

	bin, err := os.MkdirTemp("", "kfakesmoke")
	if err != nil {
		return err
	}
	defer os.RemoveAll(bin)
	for _, p := range []string{"order", "inventory"} {
		build := exec.Command("go", "build", "-o", bin+"/"+p, "github.com/goshop/platform/"+p)
		build.Dir = ".."
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("build %s: %w", p, err)
		}
	}
	common := []string{"KAFKA_BROKERS=" + brokers, "JWKS_URL=" + jwks.URL, "AUTH_ISSUER=iss", "LOG_LEVEL=warn"}
	start := func(bin string, env ...string) func() {
		cmd := exec.Command(bin)
		cmd.Env = append(append(os.Environ(), common...), env...)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Start(); err != nil {
			panic(err)
		}
		return func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() }
	}
	defer start(bin+"/inventory", "HTTP_ADDR=127.0.0.1:23003", "RESERVATION_TTL=10s", "RESERVATION_SWEEP_INTERVAL=200ms")()
	defer start(bin+"/order", "HTTP_ADDR=127.0.0.1:25013", "PRODUCT_URL="+products.URL)()
	for _, u := range []string{"http://127.0.0.1:23003/readyz", "http://127.0.0.1:25013/readyz"} {
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			if resp, err := http.Get(u); err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					break
				}
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s not ready", u)
			}
		}
	}
	// Wait for the stock items.
	for sku := range stock {
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			resp, err := http.Get("http://127.0.0.1:23003/inventory/" + sku)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					break
				}
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("stock %s not created", sku)
			}
		}
	}

	// Observer of order.events for latency.
	var mu sync.Mutex
	settledAt := map[string]time.Time{}
	go func() {
		r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{brokers}, GroupID: "observer", GroupTopics: []string{shared.TopicOrder}, MaxWait: 50 * time.Millisecond, StartOffset: kafka.FirstOffset})
		defer r.Close()
		for {
			m, err := r.ReadMessage(ctx)
			if err != nil {
				return
			}
			var e shared.Event
			json.Unmarshal(m.Value, &e)
			if e.Type == "order.confirmed" || e.Type == "order.rejected" {
				mu.Lock()
				if _, ok := settledAt[e.AggregateID]; !ok {
					settledAt[e.AggregateID] = time.Now()
				}
				mu.Unlock()
			}
		}
	}()

	skus := []string{"SKU-A", "SKU-B", "SKU-C"}
	postedAt := map[string]time.Time{}
	want := map[string]map[string]int64{} // order → sku → qty
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	t0 := time.Now()
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			lines := map[string]int64{}
			var items []map[string]any
			for _, s := range skus {
				if rnd(2) == 0 {
					q := int64(1 + rnd(3))
					lines[s] = q
					items = append(items, map[string]any{"sku": s, "quantity": q})
				}
			}
			if len(items) == 0 {
				lines["SKU-C"] = 1
				items = append(items, map[string]any{"sku": "SKU-C", "quantity": 1})
			}
			body, _ := json.Marshal(map[string]any{"items": items, "shipping_address": map[string]string{"name": "n", "street": "s", "city": "c", "zip_code": "z", "country": "US"}})
			req, _ := http.NewRequest("POST", "http://127.0.0.1:25013/orders", bytes.NewReader(body))
			req.Header.Set("Authorization", bearer)
			req.Header.Set("Idempotency-Key", fmt.Sprint("key-", i))
			ts := time.Now()
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				fmt.Println(err)
				return
			}
			var o struct{ ID string }
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			json.Unmarshal(b, &o)
			if resp.StatusCode != 201 {
				fmt.Println("POST", resp.StatusCode, string(b))
				return
			}
			mu.Lock()
			postedAt[o.ID] = ts
			want[o.ID] = lines
			mu.Unlock()
		}()
	}
	wg.Wait()
	accepted := time.Since(t0)
	fmt.Printf("%d orders accepted in %s (%.0f/s, 32 clients)\n", len(postedAt), accepted.Round(time.Millisecond), float64(len(postedAt))/accepted.Seconds())
	for deadline := time.Now().Add(120 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		mu.Lock()
		done := len(settledAt)
		mu.Unlock()
		if done >= len(postedAt) {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("only %d of %d orders settled", done, len(postedAt))
		}
	}
	settle := time.Since(t0)
	var lat []time.Duration
	for id, t := range settledAt {
		lat = append(lat, t.Sub(postedAt[id]))
	}
	slices.Sort(lat)
	fmt.Printf("all settled %s after the first POST; POST→confirmed|rejected p50 %s p99 %s\n", settle.Round(time.Millisecond), lat[len(lat)/2].Round(time.Millisecond), lat[len(lat)*99/100].Round(time.Millisecond))

	// Check every order through the API and the stock.
	reserved := map[string]int64{}
	counts := map[string]int{}
	var confirmedIDs []string
	for page := 1; ; page++ {
		req, _ := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:25013/orders?limit=100&page=%d", page), nil)
		req.Header.Set("Authorization", admin)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		var l struct {
			Items []struct {
				ID     string
				Status string
				Items  []struct {
					SKU      string
					Quantity int64
				}
			}
			Total int
		}
		json.NewDecoder(resp.Body).Decode(&l)
		resp.Body.Close()
		for _, o := range l.Items {
			counts[o.Status]++
			if o.Status == "confirmed" {
				confirmedIDs = append(confirmedIDs, o.ID)
				for _, it := range o.Items {
					reserved[it.SKU] += it.Quantity
				}
			}
		}
		if page*100 >= l.Total {
			break
		}
	}
	fmt.Println("order states:", counts)
	if counts["pending"] != 0 {
		return fmt.Errorf("%d orders pending", counts["pending"])
	}
	for sku, q := range stock {
		resp, err := http.Get("http://127.0.0.1:23003/inventory/" + sku)
		if err != nil {
			return err
		}
		var it struct{ OnHand, Reserved, Available int64 }
		var raw map[string]any
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		json.Unmarshal(b, &raw)
		it.OnHand, it.Reserved, it.Available = int64(raw["on_hand"].(float64)), int64(raw["reserved"].(float64)), int64(raw["available"].(float64))
		fmt.Printf("%s: on_hand %d reserved %d available %d; confirmed orders hold %d\n", sku, it.OnHand, it.Reserved, it.Available, reserved[sku])
		if it.OnHand != q || it.Reserved != reserved[sku] || it.Available != q-reserved[sku] || it.Available < 0 {
			return fmt.Errorf("%s stock mismatch", sku)
		}
	}
	// Phase 2: pay half of the confirmed orders, cancel a quarter, let the rest expire.
	call := func(method, path, body string) (int, string) {
		req, _ := http.NewRequest(method, "http://127.0.0.1:25013"+path, bytes.NewReader([]byte(body)))
		req.Header.Set("Authorization", bearer)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, string(b)
	}
	paidQty := map[string]int64{}
	wantStatus := map[string]string{}
	for i, id := range confirmedIDs {
		switch i % 4 {
		case 0, 1:
			code, body := call("POST", "/orders/"+id+"/pay", `{"card_number":"4242424242424242","exp_month":12,"exp_year":2030,"cvc":"123"}`)
			if code != 200 {
				return fmt.Errorf("pay %s: %d %s", id, code, body)
			}
			for sku, q := range want[id] {
				paidQty[sku] += q
			}
			wantStatus[id] = "paid"
		case 2:
			if code, body := call("POST", "/orders/"+id+"/cancel", ""); code != 200 {
				return fmt.Errorf("cancel %s: %d %s", id, code, body)
			}
			wantStatus[id] = "cancelled by the customer"
		case 3:
			wantStatus[id] = "reservation expired"
		}
	}
	fmt.Printf("paid %d, cancelled %d, left to expire %d\n", (len(confirmedIDs)+1)/2, len(confirmedIDs)/4, len(confirmedIDs)/4)
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(500 * time.Millisecond) {
		bad := 0
		for id, ws := range wantStatus {
			_, body := call("GET", "/orders/"+id, "")
			var o struct {
				Status       string `json:"status"`
				StatusReason string `json:"status_reason"`
			}
			json.Unmarshal([]byte(body), &o)
			if ws == "paid" && o.Status != "paid" || ws != "paid" && (o.Status != "cancelled" || o.StatusReason != ws) {
				bad++
			}
		}
		ok := bad == 0
		for sku, q := range stock {
			resp, err := http.Get("http://127.0.0.1:23003/inventory/" + sku)
			if err != nil {
				return err
			}
			var raw map[string]any
			json.NewDecoder(resp.Body).Decode(&raw)
			resp.Body.Close()
			if int64(raw["on_hand"].(float64)) != q-paidQty[sku] || int64(raw["reserved"].(float64)) != 0 {
				ok = false
			}
			if ok {
				fmt.Printf("%s: on_hand %v reserved %v (paid %d)\n", sku, raw["on_hand"], raw["reserved"], paidQty[sku])
			}
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after pay/cancel/expiry: %d orders in the wrong state or stock not exact", bad)
		}
	}
	return nil
}

func rnd(n int64) int64 {
	v, _ := rand.Int(rand.Reader, big.NewInt(n))
	return v.Int64()
}

package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// TestRestock: -restock logs in as the admin, reads the stock with the admin's token (so no cached
// level is used) and raises exactly the SKUs whose available stock is below n to n; a refused
// adjustment or login fails the setup.
func TestRestock(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name        string
		adjustCode  int
		loginCode   int
		wantErr     bool
		wantAdjusts map[string]int
	}{
		{name: "raises those below", adjustCode: 200, loginCode: 200, wantAdjusts: map[string]int{"A": 997, "C": 1000}},
		{name: "adjust refused", adjustCode: 403, loginCode: 200, wantErr: true},
		{name: "login refused", adjustCode: 200, loginCode: 401, wantErr: true, wantAdjusts: map[string]int{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			adjusts := map[string]int{}
			mux := http.NewServeMux()
			mux.HandleFunc("POST /auth/login", func(w http.ResponseWriter, r *http.Request) {
				var in struct{ Email, Password string }
				_ = json.NewDecoder(r.Body).Decode(&in)
				if tc.loginCode != 200 || in.Email != "root@example.test" || in.Password != "pw" {
					http.Error(w, `{"error":{"code":"unauthorized"}}`, http.StatusUnauthorized)
					return
				}
				fmt.Fprint(w, `{"access_token":"admin-token"}`)
			})
			mux.HandleFunc("GET /inventory/inventory", func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("Authorization") != "Bearer admin-token" { // an anonymous read may be a cached one
					http.Error(w, "read the stock as the admin", http.StatusUnauthorized)
					return
				}
				fmt.Fprint(w, `{"items":[{"sku":"A","available":3},{"sku":"B","available":1000},{"sku":"C","available":0},{"sku":"D","available":5000}],"total":4,"page":1,"limit":100}`)
			})
			mux.HandleFunc("POST /inventory/inventory/{sku}/adjust", func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("Authorization") != "Bearer admin-token" {
					http.Error(w, "no admin token", http.StatusUnauthorized)
					return
				}
				var in struct {
					Delta  int    `json:"delta"`
					Reason string `json:"reason"`
				}
				if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Reason == "" {
					http.Error(w, "bad body", http.StatusBadRequest)
					return
				}
				mu.Lock()
				adjusts[r.PathValue("sku")] += in.Delta
				mu.Unlock()
				w.WriteHeader(tc.adjustCode)
				fmt.Fprint(w, `{}`)
			})
			srv := httptest.NewServer(mux)
			defer srv.Close()
			l := newLoader(config{gateway: srv.URL, concurrency: 1, timeout: 5 * time.Second, adminEmail: "root@example.test", adminPass: "pw"})
			err := l.restock(t.Context(), 1000)
			if (err != nil) != tc.wantErr {
				t.Fatalf("restock: err = %v, want error %v", err, tc.wantErr)
			}
			if tc.wantAdjusts == nil {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if fmt.Sprint(adjusts) != fmt.Sprint(tc.wantAdjusts) {
				t.Errorf("adjustments %v, want %v", adjusts, tc.wantAdjusts)
			}
		})
	}
}

package main

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/goshop/platform/shared/sharedtest"
)

func TestDebugGCAdminOnly(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil)
	for _, tc := range []struct {
		name string
		auth string
		want int
	}{
		{"anonymous", "", http.StatusUnauthorized},
		{"customer", e.iss.Bearer(t, alice), http.StatusForbidden},
		{"admin", e.iss.Bearer(t, sharedtest.Admin), http.StatusOK},
	} {
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/debug/gc", nil)
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]float64
		json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Fatalf("%s: POST /debug/gc = %d, want %d", tc.name, resp.StatusCode, tc.want)
		}
		if tc.want == http.StatusOK && (body["heap_inuse_bytes"] <= 0 || body["stack_inuse_bytes"] <= 0 || body["goroutines"] <= 0) {
			t.Fatalf("%s: body %v lacks memory figures", tc.name, body)
		}
	}
}

package main

import (
	"net/http"
	"testing"

	"github.com/goshop/platform/shared/sharedtest"
)

// FuzzBroadcastBody: any body on POST /broadcast is a 202/200 or a 4xx in the error shape.
func FuzzBroadcastBody(f *testing.F) {
	for _, s := range []string{`{"message":"sale","level":"info"}`, `{"message":""}`, `{"message":"a\udcff"}`,
		"{\"message\":\"\xff\xfe\"}", `{"level":"panic","message":"x"}`, `{"message":{"$ne":1}}`, `[]`, ``} {
		f.Add(s)
	}
	h, _ := routeServer(f)
	admin := sharedtest.Admin
	f.Fuzz(func(t *testing.T, body string) {
		sharedtest.ServeFuzz(t, h, http.MethodPost, "/broadcast", body, &admin)
	})
}

// FuzzWSQuery: any query on GET /ws (resume position, epoch, token) is refused with a 4xx in the error
// shape before or at the upgrade, never a 5xx.
func FuzzWSQuery(f *testing.F) {
	for _, s := range []string{"", "since=5&epoch=abc", "since=-1", "since=99999999999999999999", "epoch=" + string(make([]byte, 100)),
		"access_token=garbage", "since=%FF"} {
		f.Add(s)
	}
	h, _ := routeServer(f)
	f.Fuzz(func(t *testing.T, query string) {
		if rec := sharedtest.ServeFuzz(t, h, http.MethodGet, "/ws?"+query, "", nil); rec.Code < 400 {
			t.Fatalf("GET /ws?%s without an upgrade: status %d", query, rec.Code)
		}
	})
}

// FuzzMarkReadBody: any body on POST /notifications/read is a 200 or a 4xx in the error shape.
func FuzzMarkReadBody(f *testing.F) {
	for _, s := range []string{`{"ids":["a1b2"]}`, `{"all":true}`, `{"all":true,"ids":["x"]}`, `{"ids":[]}`, `{"ids":"x"}`,
		`{"ids":[{"$ne":null}]}`, `{"ids":["a\udcff"]}`, "{\"ids\":[\"\xff\xfe\"]}", `{"ids":["../../x"]}`, `[]`, ``} {
		f.Add(s)
	}
	h, _ := routeServer(f)
	customer := sharedtest.Customer
	f.Fuzz(func(t *testing.T, body string) {
		sharedtest.ServeFuzz(t, h, http.MethodPost, "/notifications/read", body, &customer)
	})
}

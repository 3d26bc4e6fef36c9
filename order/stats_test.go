package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/goshop/platform/shared"
	"github.com/goshop/platform/shared/sharedtest"
	"go.mongodb.org/mongo-driver/bson"
)

// statsOrder returns an order of user created at in status, with total cents in currency.
func statsOrder(tb testing.TB, at time.Time, status Status, total int64, currency string) Order {
	tb.Helper()
	o := testOrder(tb, "u-stats", shared.NewID(), at)
	o.Status, o.TotalCents, o.Currency = status, total, currency
	return o
}

// testOrderStats is the Stats part of the store contract: buckets per UTC day, status and currency,
// from inclusive, to exclusive, status changes seen, and (Mongo) orders stored before created_day
// existed found after the start-up backfill.
func testOrderStats(t *testing.T, s orderStore) {
	ctx := context.Background()
	day1 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	day2 := day1.AddDate(0, 0, 1)
	orders := []Order{
		statsOrder(t, day1, StatusPaid, 1000, "USD"),                                                      // first instant: in
		statsOrder(t, day1.Add(23*time.Hour), StatusPaid, 500, "USD"),                                     // same bucket
		statsOrder(t, day1.Add(time.Hour), StatusPending, 700, "USD"),                                     // other status
		statsOrder(t, day1.Add(2*time.Hour), StatusPaid, 300, "EUR"),                                      // other currency
		statsOrder(t, day2.Add(-time.Nanosecond), StatusShipped, 50, "USD"),                               // last instant of day 1
		statsOrder(t, day2.Add(5*time.Hour), StatusCancelled, 900, "USD"),                                 // day 2
		statsOrder(t, day1.Add(-time.Nanosecond), StatusPaid, 99999, "USD"),                               // before from: out
		statsOrder(t, day2.AddDate(0, 0, 1), StatusPaid, 88888, "USD"),                                    // at to: out
		statsOrder(t, day2.Add(6*time.Hour), StatusConfirmed, 400, "USD"),                                 // becomes paid below
		statsOrder(t, day2.Add(7*time.Hour).In(time.FixedZone("X", -8*3600)), StatusDelivered, 10, "USD"), // day 2 in UTC
	}
	for _, o := range orders {
		if err := s.Create(ctx, o); err != nil {
			t.Fatalf("Create: %v", err)
		}
	}
	ev := newOrderEvent(orders[8], StatusPaid, "", day2)
	if _, err := s.Transition(ctx, orders[8].ID, transition{From: StatusConfirmed, To: StatusPaid, Event: ev, At: day2.Add(8 * time.Hour)}); err != nil {
		t.Fatalf("Transition: %v", err)
	}
	want := []statsBucket{
		{Day: "2026-03-01", Status: StatusPaid, Currency: "EUR", Orders: 1, TotalCents: 300},
		{Day: "2026-03-01", Status: StatusPaid, Currency: "USD", Orders: 2, TotalCents: 1500},
		{Day: "2026-03-01", Status: StatusPending, Currency: "USD", Orders: 1, TotalCents: 700},
		{Day: "2026-03-01", Status: StatusShipped, Currency: "USD", Orders: 1, TotalCents: 50},
		{Day: "2026-03-02", Status: StatusCancelled, Currency: "USD", Orders: 1, TotalCents: 900},
		{Day: "2026-03-02", Status: StatusDelivered, Currency: "USD", Orders: 1, TotalCents: 10},
		{Day: "2026-03-02", Status: StatusPaid, Currency: "USD", Orders: 1, TotalCents: 400},
	}
	got, err := s.Stats(ctx, day1, day2.AddDate(0, 0, 1))
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("Stats = %+v, %v\nwant %+v", got, err, want)
	}
	if got, err := s.Stats(ctx, day2.AddDate(0, 1, 0), day2.AddDate(0, 2, 0)); err != nil || len(got) != 0 {
		t.Errorf("Stats of an empty range = %+v, %v, want none", got, err)
	}

	ms, ok := s.(*mongoOrderStore)
	if !ok {
		return
	}
	// An order stored by an older version has no created_day until the backfill runs.
	old := statsOrder(t, day2.Add(9*time.Hour), StatusPaid, 5, "USD")
	if _, err := ms.orders.InsertOne(ctx, old); err != nil {
		t.Fatal(err)
	}
	if _, err := ms.orders.UpdateOne(ctx, bson.D{{Key: "_id", Value: old.ID}}, bson.D{{Key: "$unset", Value: bson.D{{Key: "created_day", Value: ""}}}}); err != nil {
		t.Fatal(err)
	}
	if err := ms.backfillCreatedDay(ctx); err != nil {
		t.Fatalf("backfillCreatedDay: %v", err)
	}
	want[6].Orders, want[6].TotalCents = 2, 405
	if got, err := s.Stats(ctx, day1, day2.AddDate(0, 0, 1)); err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("Stats after backfill = %+v, %v\nwant %+v", got, err, want)
	}
}

// TestOrderStatsRoute: GET /orders/stats through the whole stack: who may call it, what bad input
// gets, and that /orders/stats is not read as the order "stats".
func TestOrderStatsRoute(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	day := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	for _, o := range []Order{
		statsOrder(t, day, StatusPaid, 1999, "USD"),
		statsOrder(t, day.Add(time.Hour), StatusDelivered, 1, "USD"),
		statsOrder(t, day.AddDate(0, 0, 2), StatusPending, 500, "USD"),
		statsOrder(t, day.AddDate(0, 0, 2), StatusShipped, 700, "EUR"),
		statsOrder(t, day.AddDate(0, 0, 2), StatusCancelled, 800, "USD"),
	} {
		if err := h.store.Create(context.Background(), o); err != nil {
			t.Fatal(err)
		}
	}
	app := sharedtest.Admin
	app.ClientID, app.Scope = "demo-app", "openid "+shared.ScopeOrdersRead
	thirdParty := h.iss.Bearer(t, app)
	const march = "/orders/stats?from=2026-03-01&to=2026-03-03"
	tests := []struct {
		name, auth, path string
		want             int
		field            string
	}{
		{"admin", h.admin, march, http.StatusOK, ""},
		{"customer", h.customer, march, http.StatusForbidden, ""},
		{"third-party admin token with orders:read", thirdParty, march, http.StatusForbidden, ""},
		{"anonymous", "", march, http.StatusUnauthorized, ""},
		{"malformed from", h.admin, "/orders/stats?from=2026-13-01", http.StatusBadRequest, "from"},
		{"malformed to", h.admin, "/orders/stats?to=yesterday", http.StatusBadRequest, "to"},
		{"date-time without zone", h.admin, "/orders/stats?from=2026-03-01T00:00:00", http.StatusBadRequest, "from"},
		{"from after to", h.admin, "/orders/stats?from=2026-03-04&to=2026-03-03", http.StatusBadRequest, "from"},
		{"over 366 days", h.admin, "/orders/stats?from=2025-01-01&to=2026-03-03", http.StatusBadRequest, "to"},
		{"unknown currency", h.admin, march + "&currency=XXX", http.StatusBadRequest, "currency"},
		{"oversized from", h.admin, "/orders/stats?from=" + strings.Repeat("1", 100), http.StatusBadRequest, "from"},
		// Times JSON cannot show (RFC 3339 years 0000–9999) were a 500 from the encoder.
		{"to is the last day of year 9999", h.admin, "/orders/stats?to=9999-12-31", http.StatusBadRequest, "to"},
		{"to in year 10000 once in UTC", h.admin, "/orders/stats?to=9999-12-31T23:59:59-01:00", http.StatusBadRequest, "to"},
		{"from before year 0 once in UTC", h.admin, "/orders/stats?from=0000-01-01T00:00:00%2B01:00&to=0000-01-02", http.StatusBadRequest, "from"},
		{"from before 1970", h.admin, "/orders/stats?from=1969-12-31&to=1970-01-02", http.StatusBadRequest, "from"},
	}
	for _, tt := range tests {
		code, body, _ := h.do("GET", tt.path, tt.auth, "")
		if tt.want != http.StatusOK {
			checkRefusal(t, tt.name+": GET "+tt.path, code, tt.want, body, tt.field)
			continue
		}
		if code != http.StatusOK {
			t.Fatalf("%s: GET %s: status = %d, want 200: %s", tt.name, tt.path, code, body)
		}
	}

	code, body, hdr := h.do("GET", march, h.admin, "")
	var got statsView
	if err := json.Unmarshal([]byte(body), &got); code != http.StatusOK || err != nil {
		t.Fatalf("GET %s: %d %v %s", march, code, err, body)
	}
	if cc := hdr.Get("Cache-Control"); cc != "private, no-store" {
		t.Errorf("GET %s: Cache-Control = %q, want private, no-store (admin figures are never shared)", march, cc)
	}
	want := statsView{From: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC),
		Currency: "USD", Revenue: 2000, Orders: 5,
		OrdersByStatus:  map[Status]int64{StatusPending: 1, StatusConfirmed: 0, StatusRejected: 0, StatusPaid: 1, StatusCancelled: 1, StatusShipped: 1, StatusDelivered: 1},
		ByDay:           []dayStats{{"2026-03-01", 2, 2000}, {"2026-03-02", 0, 0}, {"2026-03-03", 3, 0}},
		OtherCurrencies: []string{"EUR"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("GET %s = %+v\nwant %+v", march, got, want)
	}
	code, body, _ = h.do("GET", "/orders/stats?from=2026-03-03T00:00:00Z&to=2026-03-03&currency=EUR", h.admin, "")
	if err := json.Unmarshal([]byte(body), &got); code != http.StatusOK || err != nil || got.Revenue != 700 || got.Orders != 3 || len(got.ByDay) != 1 {
		t.Errorf("GET stats in EUR for March 3: %d %s", code, body)
	}
}

// TestParseStatsDefaults: without from and to the range is the 30 UTC days up to now, today included.
func TestParseStatsDefaults(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 31, 15, 4, 5, 0, time.FixedZone("X", 2*3600))
	tests := []struct {
		query    string
		from, to time.Time
	}{
		{"", time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), now.UTC()},
		{"?to=2026-02-28", time.Date(2026, 1, 30, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)},
		{"?from=2026-03-30T23:00:00%2B02:00", time.Date(2026, 3, 30, 21, 0, 0, 0, time.UTC), now.UTC()},
	}
	for _, tt := range tests {
		q, f := parseStatsQuery(httptest.NewRequest("GET", "/orders/stats"+tt.query, nil), now)
		if len(f) > 0 || !q.From.Equal(tt.from) || !q.To.Equal(tt.to) || q.Currency != "USD" {
			t.Errorf("parseStatsQuery(%q) = %v..%v %s %v, want %v..%v USD", tt.query, q.From, q.To, q.Currency, f, tt.from, tt.to)
		}
	}
	q, _ := parseStatsQuery(httptest.NewRequest("GET", "/orders/stats", nil), now)
	if v := foldStats(q, nil); len(v.ByDay) != statsDefaultDays || v.ByDay[29].Date != "2026-03-31" {
		t.Errorf("default range has %d days ending %v, want 30 ending 2026-03-31", len(v.ByDay), v.ByDay)
	}
}

// BenchmarkOrderStats measures GET /orders/stats (the dashboard's default: 30 days) through the whole
// stack with 10,000 orders spread over the last 30 days in the memory store, and in MongoDB when
// MONGO_TEST_URI is set. Run: go test -run '^$' -bench OrderStats -benchtime 200x ./order/
func BenchmarkOrderStats(b *testing.B) {
	now := time.Now().UTC()
	start := now.Truncate(24*time.Hour).AddDate(0, 0, 1-statsDefaultDays) // the default range's first day
	orders := make([]Order, 10_000)
	for i := range orders {
		at := start.Add(now.Sub(start) / 10_000 * time.Duration(i))
		orders[i] = statsOrder(b, at, statuses[i%len(statuses)], int64(1000+i), "USD")
	}
	run := func(b *testing.B, store orderStore) {
		h := newHarness(b)
		h.handler = NewServer(slog.New(slog.DiscardHandler), Config{}, deps{checkout: newCheckout(slog.New(slog.DiscardHandler), store, h.pay, h.metrics, nil),
			verifier: h.iss.Verifier(), metrics: h.metrics, readiness: shared.NewReadiness()})
		b.ResetTimer()
		for b.Loop() {
			if code, body, _ := h.do("GET", "/orders/stats", h.admin, ""); code != http.StatusOK || !strings.Contains(body, `"orders":10000`) {
				b.Fatalf("GET /orders/stats: %d %.200s", code, body)
			}
		}
	}
	b.Run("mem", func(b *testing.B) {
		s := newMemOrderStore()
		for _, o := range orders {
			s.Create(context.Background(), o)
		}
		run(b, s)
	})
	if uri := os.Getenv("MONGO_TEST_URI"); uri != "" {
		b.Run("mongo", func(b *testing.B) {
			ctx := context.Background()
			client, err := shared.ConnectMongo(ctx, uri, shared.MongoOptions{}, true)
			if err != nil {
				b.Fatal(err)
			}
			defer client.Disconnect(ctx)
			db := client.Database("order_bench_" + shared.NewID()[:12])
			defer db.Drop(ctx)
			s := newMongoOrderStore(db)
			if err := s.ensureIndexes(ctx); err != nil {
				b.Fatal(err)
			}
			docs := make([]any, 0, len(orders))
			for _, o := range orders {
				o.CreatedDay = dayOf(o.CreatedAt)
				docs = append(docs, o)
			}
			if _, err := s.orders.InsertMany(ctx, docs); err != nil {
				b.Fatal(err)
			}
			run(b, s)
		})
	}
}

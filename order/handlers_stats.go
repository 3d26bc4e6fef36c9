package main

import (
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/goshop/platform/shared"
)

// Bounds of GET /orders/stats.
const (
	// statsDefaultDays is the range when from is not given: today and the 29 days before (UTC).
	statsDefaultDays = 30
	// statsMaxRange is the longest range one request may ask for.
	statsMaxRange = 366 * 24 * time.Hour
	// statsMinYear and statsMaxYear bound from and to (in UTC, a date to at the end of its day).
	statsMinYear, statsMaxYear = 1970, 9999
	// statsDefaultCurrency is the currency revenue is counted in when the request names none.
	statsDefaultCurrency = "USD"
)

// revenueStatuses are the states whose orders count as revenue: paid and not given back. A paid
// order cancelled by an admin was refunded (its status is cancelled), so it drops out; orders still
// awaiting payment (pending, confirmed) and rejected ones never count.
var revenueStatuses = []Status{StatusPaid, StatusShipped, StatusDelivered}

// statsQuery is a parsed GET /orders/stats request: orders created in [From, To), revenue counted in
// Currency.
type statsQuery struct {
	From, To time.Time
	Currency string
}

// dayStats is one UTC day of the answer.
type dayStats struct {
	Date    string       `json:"date"`
	Orders  int64        `json:"orders"`
	Revenue shared.Cents `json:"revenue"`
}

// statsView is the answer of GET /orders/stats (docs/order.md). OrdersByStatus names every status,
// zero included; ByDay has every UTC day the range touches, oldest first, zero days included.
// OtherCurrencies lists currencies of revenue-counting orders in the range that Revenue leaves out.
type statsView struct {
	From            time.Time        `json:"from"`
	To              time.Time        `json:"to"`
	Currency        string           `json:"currency"`
	Revenue         shared.Cents     `json:"revenue"`
	Orders          int64            `json:"orders"`
	OrdersByStatus  map[Status]int64 `json:"orders_by_status"`
	ByDay           []dayStats       `json:"by_day"`
	OtherCurrencies []string         `json:"other_currencies"`
}

// parseStatsQuery reads from, to and currency. from and to are RFC 3339 dates ("2026-01-02") or
// date-times; a date from means the start of that UTC day, a date to the end of it, so
// from=2026-01-01&to=2026-01-31 is the whole of January. Without from, the range starts 29 days
// before to's day (30 days in all); without to, it ends now. An empty range (from not before to) or
// one over 366 days is refused.
func parseStatsQuery(r *http.Request, now time.Time) (statsQuery, map[string]string) {
	v := r.URL.Query()
	f := map[string]string{}
	q := statsQuery{To: now.UTC(), Currency: statsDefaultCurrency}
	if s := v.Get("to"); s != "" {
		t, dateOnly, ok := parseStatsTime(s)
		switch {
		case !ok:
			f["to"] = "must be an RFC 3339 date (2026-01-31) or date-time (2026-01-31T12:00:00Z)"
		case dateOnly:
			q.To = t.AddDate(0, 0, 1)
		default:
			q.To = t
		}
	}
	q.From = q.To.Add(-time.Nanosecond).Truncate(24*time.Hour).AddDate(0, 0, 1-statsDefaultDays)
	if s := v.Get("from"); s != "" {
		t, _, ok := parseStatsTime(s)
		if !ok {
			f["from"] = "must be an RFC 3339 date (2026-01-01) or date-time (2026-01-01T00:00:00Z)"
		}
		q.From = t
	}
	if c := v.Get("currency"); c != "" {
		if !shared.KnownCurrency(c) {
			f["currency"] = "must be one of USD, EUR, GBP"
		}
		q.Currency = c
	}
	// The answer shows from and to as RFC 3339 times, which have four-digit years: a time outside
	// them (to=9999-12-31 ends in the year 10000, a zone can move 0000-01-01 into year -1) cannot be
	// encoded, so it is refused here, with the years the list filters take.
	for name, t := range map[string]time.Time{"from": q.From, "to": q.To} {
		if f[name] == "" && v.Get(name) != "" && (t.Year() < statsMinYear || t.Year() > statsMaxYear) {
			f[name] = fmt.Sprintf("must be in the years %d to %d (UTC), the end of the range included", statsMinYear, statsMaxYear)
		}
	}
	if len(f) == 0 {
		switch {
		case !q.From.Before(q.To):
			f["from"] = "must be before to"
		case q.To.Sub(q.From) > statsMaxRange:
			f["to"] = "the range may span at most 366 days"
		}
	}
	return q, f
}

// parseStatsTime parses an RFC 3339 date or date-time (in UTC) and says which it was.
func parseStatsTime(s string) (t time.Time, dateOnly, ok bool) {
	if len(s) > 64 {
		return time.Time{}, false, false
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, true, true
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), false, true
	}
	return time.Time{}, false, false
}

// foldStats turns the store's buckets into the answer for q: every order counts in Orders,
// OrdersByStatus and its day; only revenueStatuses orders in q.Currency count in Revenue.
func foldStats(q statsQuery, buckets []statsBucket) statsView {
	v := statsView{From: q.From, To: q.To, Currency: q.Currency, OrdersByStatus: make(map[Status]int64, len(statuses)),
		ByDay: []dayStats{}, OtherCurrencies: []string{}}
	for _, s := range statuses {
		v.OrdersByStatus[s] = 0
	}
	index := map[string]int{}
	for d := q.From.UTC().Truncate(24 * time.Hour); d.Before(q.To); d = d.AddDate(0, 0, 1) {
		index[dayOf(d)] = len(v.ByDay)
		v.ByDay = append(v.ByDay, dayStats{Date: dayOf(d)})
	}
	for _, b := range buckets {
		v.Orders += b.Orders
		v.OrdersByStatus[b.Status] += b.Orders
		i, inRange := index[b.Day]
		if inRange {
			v.ByDay[i].Orders += b.Orders
		}
		if !slices.Contains(revenueStatuses, b.Status) {
			continue
		}
		if b.Currency != q.Currency {
			if !slices.Contains(v.OtherCurrencies, b.Currency) {
				v.OtherCurrencies = append(v.OtherCurrencies, b.Currency)
			}
			continue
		}
		v.Revenue += shared.Cents(b.TotalCents)
		if inRange {
			v.ByDay[i].Revenue += shared.Cents(b.TotalCents)
		}
	}
	slices.Sort(v.OtherCurrencies)
	return v
}

// handleOrderStats serves GET /orders/stats?from=&to=&currency= (admins): counts and revenue of the
// orders created in the range, in total, by status and by UTC day. Bad parameters are 400.
func handleOrderStats(logger *slog.Logger, store orderStore) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q, fields := parseStatsQuery(r, time.Now())
		if len(fields) > 0 {
			shared.WriteError(w, r, logger, shared.Invalid(fields))
			return
		}
		buckets, err := store.Stats(r.Context(), q.From, q.To)
		if err != nil {
			shared.WriteError(w, r, logger, err)
			return
		}
		w.Header().Set("Cache-Control", "private, no-store")
		shared.Encode(w, http.StatusOK, foldStats(q, buckets))
	})
}

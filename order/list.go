package main

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/goshop/platform/shared"
	"go.mongodb.org/mongo-driver/bson"
)

// Bounds of the GET /orders filters.
const (
	maxListPage  = 100000
	maxListLimit = 100
	maxEmailLen  = 254 // RFC 5321's longest address
	maxIDLen     = 32  // an order ID is 16 random bytes in hex (shared.NewID)
)

// listQuery selects orders for GET /orders. Zero fields do not filter: UserID "" means every user
// (admins), Status "" every status. Email is a prefix of the customer's e-mail (lower case) as stored
// on the order; IDPrefix a prefix of the order ID (lower-case hex); From and To bound created_at as
// [From, To). Page is 1-based. The Mongo filter (bson) and the in-memory one (match) are the same
// rule, written side by side so they cannot drift.
type listQuery struct {
	UserID   string
	Status   Status
	Email    string
	IDPrefix string
	From, To time.Time
	Page     int
	Limit    int
}

// bson is q as a Mongo filter. Prefixes are anchored, literal regular expressions
// (shared.PrefixRegex), so the _id and customer_email indexes serve them as range scans.
func (q listQuery) bson() bson.D {
	filter := bson.D{}
	if q.UserID != "" {
		filter = append(filter, bson.E{Key: "user_id", Value: q.UserID})
	}
	if q.Status != "" {
		filter = append(filter, bson.E{Key: "status", Value: string(q.Status)})
	}
	if q.Email != "" {
		filter = append(filter, bson.E{Key: "customer_email", Value: shared.PrefixRegex(q.Email)})
	}
	if q.IDPrefix != "" {
		filter = append(filter, bson.E{Key: "_id", Value: shared.PrefixRegex(q.IDPrefix)})
	}
	if !q.From.IsZero() || !q.To.IsZero() {
		rng := bson.D{}
		if !q.From.IsZero() {
			rng = append(rng, bson.E{Key: "$gte", Value: q.From})
		}
		if !q.To.IsZero() {
			rng = append(rng, bson.E{Key: "$lt", Value: q.To})
		}
		filter = append(filter, bson.E{Key: "created_at", Value: rng})
	}
	return filter
}

// match reports whether o is selected by q: the in-memory twin of bson.
func (q listQuery) match(o Order) bool {
	return (q.UserID == "" || o.UserID == q.UserID) &&
		(q.Status == "" || o.Status == q.Status) &&
		(q.Email == "" || strings.HasPrefix(o.CustomerEmail, q.Email)) &&
		(q.IDPrefix == "" || strings.HasPrefix(o.ID, q.IDPrefix)) &&
		(q.From.IsZero() || !o.CreatedAt.Before(q.From)) &&
		(q.To.IsZero() || o.CreatedAt.Before(q.To))
}

// parseListQuery reads the parameters of GET /orders for caller id, every bad one reported at once:
// status (one of the states), email (a prefix of the customer's e-mail, any case, at most 254
// printable characters without spaces), id (a prefix of the order ID, 1–32 hex digits), from and to
// (a day YYYY-MM-DD in UTC or an RFC 3339 time; a day as to includes that whole day; from must not
// be after to), page 1–100000 (default 1), limit 1–100 (default 20). A customer's list is always
// their own; admins see everyone's, or one user's with user_id.
func parseListQuery(r *http.Request, id shared.Identity) (listQuery, map[string]string) {
	v := r.URL.Query()
	q := listQuery{UserID: id.UserID, Page: 1, Limit: 20}
	f := map[string]string{}
	if s := v.Get("status"); s != "" {
		if !validStatus(Status(s)) {
			f["status"] = "must be one of pending, confirmed, rejected, paid, cancelled, shipped, delivered"
		}
		q.Status = Status(s)
	}
	if s := strings.TrimSpace(v.Get("email")); s != "" {
		if len(s) > maxEmailLen || !shared.Printable(s, false) || strings.ContainsAny(s, " \t") {
			f["email"] = "must be the start of an e-mail address: at most 254 printable characters, no spaces"
		}
		q.Email = strings.ToLower(s)
	}
	if s := strings.TrimSpace(v.Get("id")); s != "" {
		s = strings.ToLower(s)
		if len(s) > maxIDLen || strings.Trim(s, "0123456789abcdef") != "" {
			f["id"] = "must be the start of an order ID: 1 to 32 hexadecimal digits"
		}
		q.IDPrefix = s
	}
	q.From = parseListTime(v, "from", false, f)
	q.To = parseListTime(v, "to", true, f)
	if !q.From.IsZero() && !q.To.IsZero() && !q.From.Before(q.To) && f["from"] == "" && f["to"] == "" {
		f["from"] = "must be before to"
	}
	q.Page = shared.QueryInt(v, "page", 1, 1, maxListPage, f)
	q.Limit = shared.QueryInt(v, "limit", 20, 1, maxListLimit, f)
	if id.IsAdmin() {
		q.UserID = v.Get("user_id") // "" = everyone
		if len(q.UserID) > 128 {
			f["user_id"] = "is too long"
		}
	}
	return q, f
}

// parseListTime reads the time parameter name: a day in UTC (its start, or with end the start of
// the next day, so "to" includes it) or an RFC 3339 time; the zero time when absent. A malformed
// value sets f[name].
func parseListTime(v url.Values, name string, end bool, f map[string]string) time.Time {
	s := strings.TrimSpace(v.Get(name))
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.DateOnly, s)
	day := err == nil
	if !day && len(s) <= len(time.RFC3339Nano) {
		t, err = time.Parse(time.RFC3339Nano, s)
	}
	// The years are judged on the date as given: a day as to ends at the start of the next one,
	// which for 9999-12-31 is in the year 10000, a bound the filter can still use.
	if err == nil && t.Year() >= 1970 && t.Year() <= 9999 {
		if day && end {
			t = t.AddDate(0, 0, 1)
		}
		return t.UTC()
	}
	f[name] = "must be a date YYYY-MM-DD or an RFC 3339 time"
	return time.Time{}
}

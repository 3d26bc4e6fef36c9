package sharedtest

import (
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
)

// SortIndexed reports whether one of models lets MongoDB return the documents matching equality
// conditions on the fields eq in the order sort straight from the index, without reading every
// match to sort them in memory (a blocking SORT stage): the index's keys begin with the eq fields,
// in any order, followed by sort's keys, their directions all as in sort or all reversed. A sort
// under a collation needs an index with the same collation; nil is the simple (binary) one. Other
// conditions of the query may follow as filters; they do not change the rule.
//
// A list that pages with skip and limit and sorts by a key the index does not end the same way
// (a tie-breaker such as _id left out) reads and sorts every match on every page: a customer's whole
// order history, the whole catalog.
func SortIndexed(models []mongo.IndexModel, eq []string, sort bson.D, collation *options.Collation) bool {
	for _, m := range models {
		if sameCollation(m.Options, collation) && servesSort(m.Keys, eq, sort) {
			return true
		}
	}
	return false
}

func sameCollation(o *options.IndexOptions, c *options.Collation) bool {
	var have *options.Collation
	if o != nil {
		have = o.Collation
	}
	if have == nil || c == nil {
		return have == nil && c == nil
	}
	return *have == *c
}

func servesSort(keys any, eq []string, sort bson.D) bool {
	k, ok := keys.(bson.D)
	if !ok || len(k) < len(eq)+len(sort) {
		return false
	}
	want := make(map[string]bool, len(eq))
	for _, f := range eq {
		want[f] = true
	}
	for _, e := range k[:len(eq)] {
		if !want[e.Key] {
			return false
		}
		delete(want, e.Key)
	}
	flip := 0 // +1 as in sort, -1 all reversed, 0 not decided yet
	for i, s := range sort {
		e := k[len(eq)+i]
		d, sd := direction(e.Value), direction(s.Value)
		if e.Key != s.Key || d == 0 || sd == 0 {
			return false
		}
		if flip == 0 {
			flip = d * sd
		}
		if d*sd != flip {
			return false
		}
	}
	return true
}

// direction is 1 or -1 for an ascending or descending key, 0 for anything else ("text", "2d").
func direction(v any) int {
	var n int64
	switch v := v.(type) {
	case int:
		n = int64(v)
	case int32:
		n = int64(v)
	case int64:
		n = v
	case float64:
		n = int64(v)
	}
	switch {
	case n > 0:
		return 1
	case n < 0:
		return -1
	}
	return 0
}

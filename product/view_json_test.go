package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/goshop/platform/shared"
)

// plainView is productView without its MarshalJSON (a defined type has none of its base type's
// methods), so encoding/json encodes it by reflection: the reference the hand-written encoder must
// match byte for byte, field for field, however productView grows.
type plainView productView

func checkViewJSON(t *testing.T, v productView) {
	t.Helper()
	got := v.appendJSON(nil)
	want, err := json.Marshal(plainView(v))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Fatalf("appendJSON    = %s\nencoding/json = %s", got, want)
	}
	// Through encoding/json (which validates and compacts a Marshaler's output) nothing changes either.
	if viaMarshal, err := json.Marshal(v); err != nil || string(viaMarshal) != string(want) {
		t.Fatalf("json.Marshal(productView) = %s, %v\nwant %s", viaMarshal, err, want)
	}
}

// TestProductViewJSON holds the hand-written encoder to encoding/json over the hard cases: every
// escape, HTML characters, invalid UTF-8, U+2028/2029, nil and empty slices and maps, attribute
// values that look like other JSON types, more attributes than the encoder's stack array, extreme
// amounts and times in and out of UTC.
func TestProductViewJSON(t *testing.T) {
	t.Parallel()
	ts := time.Date(2026, 11, 26, 5, 0, 0, 123000000, time.UTC)
	var controls strings.Builder
	for c := range 0x20 {
		controls.WriteByte(byte(c))
	}
	controls.WriteString("\x7f")
	many := map[string]string{}
	for i := range 40 {
		many[fmt.Sprintf("k%02d", 39-i)] = fmt.Sprint(i)
	}
	tests := map[string]productView{
		"typical": {ID: "a", SKU: "B-1", Name: "Mug", Price: 9999, Currency: "USD", Category: "home", Images: []string{},
			Attributes: map[string]string{}, Active: true, CreatedAt: ts, UpdatedAt: ts},
		"escapes": {Name: `<script>alert("x")</script> & \ / ` + controls.String(), Description: "line\nbreak\r\n\ttab"},
		"unicode": {Name: "é 漢字 😀 \u2028\u2029 \ufeff \ufffd", Description: "\u00a0\u200b"},
		"invalid UTF-8": {Name: "\xff\xfe", Description: "a\x80b \xc0\xaf \xed\xa0\x80 \xf0\x9f\x98", Category: "\xe2\x82",
			Attributes: map[string]string{"\xff": "x", "\xfe": "y", "ok": "\xc3"}},
		"nil slices and maps":   {Images: nil, Attributes: nil},
		"empty slices and maps": {Images: []string{}, Attributes: map[string]string{}},
		"empty strings":         {Images: []string{"", ""}, Attributes: map[string]string{"": ""}},
		"values of every JSON type as text": {Attributes: map[string]string{"n": "1e2", "b": "true", "z": "null", "o": `{"a":1}`,
			"a": "[1,2]", "s": `"q"`, "neg": "-0"}},
		"many attributes, sorted":    {Attributes: many},
		"HTML in URLs and keys":      {Images: []string{"https://x.test/a?b=1&c=<2>"}, Attributes: map[string]string{"<k>": "&"}},
		"largest price":              {Price: shared.MaxCents},
		"int64 extremes":             {Price: math.MaxInt64, Description: "min", Category: "x"},
		"int64 minimum":              {Price: math.MinInt64},
		"zero time":                  {CreatedAt: time.Time{}, UpdatedAt: time.Time{}.UTC()},
		"year 9999, last nanosecond": {CreatedAt: time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)},
		"trailing zero nanoseconds":  {CreatedAt: ts.Add(100 * time.Nanosecond), UpdatedAt: ts.Truncate(time.Second)},
		"zone offset":                {CreatedAt: ts.In(time.FixedZone("IST", 5*3600+1800)), UpdatedAt: ts.In(time.FixedZone("", -7*3600))},
	}
	for name, v := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			checkViewJSON(t, v)
		})
	}
}

// TestProductListJSON holds the hand-built list envelope to encoding/json's output for the same page.
func TestProductListJSON(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, true)
	const path = "/products?limit=7&page=2&sort=price"
	w := e.do(t, "GET", path, "", "")
	u, _ := url.Parse(path)
	q, fields := parseListQuery(u.Query())
	ps, total, err := e.store.List(context.Background(), q)
	if err != nil || fields != nil || w.Code != 200 || len(ps) != 7 {
		t.Fatalf("GET %s: status %d; store: %d products, %v %v", path, w.Code, len(ps), err, fields)
	}
	items := make([]plainView, 0, len(ps))
	for _, p := range ps {
		items = append(items, plainView(viewOf(p)))
	}
	want, err := json.Marshal(struct {
		Items []plainView `json:"items"`
		Total int         `json:"total"`
		Page  int         `json:"page"`
		Limit int         `json:"limit"`
	}{items, int(total), 2, 7})
	if err != nil {
		t.Fatal(err)
	}
	if got := w.Body.String(); got != string(want)+"\n" {
		t.Fatalf("GET /products body =\n%s\nencoding/json =\n%s", got, want)
	}
}

// FuzzProductViewJSON compares the encoder with encoding/json on arbitrary text in every string
// position, nil or empty collections, any amount and any time from year 0 to 9999.
func FuzzProductViewJSON(f *testing.F) {
	f.Add("Mug", "desc <b>", "k", "v\u2028", int64(9999), int64(1764133200), true)
	f.Add("\xff\x00\"\\", "", "", "&", int64(0), int64(-62135596800), false)
	f.Add("\xed\xa0\x80", "\u2029", "\x7f", "\xc3", int64(math.MinInt64), int64(253402300799), true)
	f.Fuzz(func(t *testing.T, name, desc, key, val string, cents, unix int64, collections bool) {
		// encoding/json refuses times outside years 0-9999; the store never holds one.
		const minUnix, maxUnix = -62167219200, 253402300799
		unix = minUnix + (unix%(maxUnix-minUnix)+(maxUnix-minUnix))%(maxUnix-minUnix)
		v := productView{ID: key, SKU: val, Name: name, Description: desc, Price: shared.Cents(cents), Currency: val,
			Category: key, CreatedAt: time.Unix(unix, cents%1e9).UTC(), UpdatedAt: time.Unix(unix, 0).UTC()}
		if collections {
			v.Images = []string{val, name}
			v.Attributes = map[string]string{key: val, key + "x": name, desc: key}
		}
		checkViewJSON(t, v)
	})
}

package main

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/goshop/platform/shared"
)

// plainView has productView's fields without its MarshalJSON, so encoding/json encodes it by
// reflection: the reference the hand-written encoder must match byte for byte.
type plainView struct {
	ID          string            `json:"id"`
	SKU         string            `json:"sku"`
	Name        string            `json:"name"`
	Description string            `json:"description"`
	Price       shared.Cents      `json:"price"`
	Currency    string            `json:"currency"`
	Category    string            `json:"category"`
	Images      []string          `json:"images"`
	Attributes  map[string]string `json:"attributes"`
	Active      bool              `json:"active"`
	CreatedAt   time.Time         `json:"created_at"`
	UpdatedAt   time.Time         `json:"updated_at"`
}

func checkViewJSON(t *testing.T, v productView) {
	t.Helper()
	got, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("Marshal(%+v): %v", v, err)
	}
	want, err := json.Marshal(plainView(v))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Fatalf("MarshalJSON = %s\nencoding/json = %s", got, want)
	}
}

func TestProductViewJSON(t *testing.T) {
	t.Parallel()
	ts := time.Date(2026, 11, 26, 5, 0, 0, 123000000, time.UTC)
	tests := []productView{
		{ID: "a", SKU: "B-1", Name: "Mug", Price: 9999, Currency: "USD", Category: "home", Images: []string{}, Attributes: map[string]string{}, Active: true, CreatedAt: ts, UpdatedAt: ts},
		{Name: "<script>alert(\"x\")</script> & \\ \n\t\r\b\f \x01 \u2028\u2029 é 漢字 \xff\xfe", Description: "line\nbreak",
			Images: []string{"https://x.test/a?b=1&c=2"}, Attributes: map[string]string{"z": "1", "a": "<2>", "m": "\x00"}, CreatedAt: ts.Add(time.Nanosecond)},
		{Images: nil, Attributes: nil},
	}
	for _, v := range tests {
		checkViewJSON(t, v)
	}
}

func FuzzProductViewJSON(f *testing.F) {
	f.Add("Mug", "desc <b>", "k", "v\u2028", int64(9999))
	f.Add("\xff\x00\"\\", "", "", "&", int64(0))
	f.Fuzz(func(t *testing.T, name, desc, key, val string, cents int64) {
		if cents < 0 {
			cents = -cents
		}
		checkViewJSON(t, productView{Name: name, Description: desc, Price: shared.Cents(cents % int64(shared.MaxCents+1)),
			Images: []string{val}, Attributes: map[string]string{key: val, key + "x": name}, CreatedAt: time.Unix(cents%1e10, cents%1e9).UTC()})
	})
}

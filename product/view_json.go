package main

import (
	"slices"
	"strconv"

	"github.com/goshop/platform/shared"
)

// MarshalJSON encodes the product by appending, without reflection, because the list endpoint is
// the hottest path of the shop. The output is byte-for-byte what encoding/json produces for the same
// struct (keys in field order, attributes sorted by key, HTML-safe escaping, RFC 3339 times), which
// TestProductViewJSON, TestProductListJSON and FuzzProductViewJSON check, so ETags stay stable.
// Measured gain on BenchmarkProductList: 1.6x requests per CPU-second, 224 → 101 allocs (docs/product.md).
func (v productView) MarshalJSON() ([]byte, error) {
	return v.appendJSON(make([]byte, 0, 512)), nil
}

func (v productView) appendJSON(b []byte) []byte {
	b = append(b, `{"id":`...)
	b = shared.AppendJSONString(b, v.ID)
	b = append(b, `,"sku":`...)
	b = shared.AppendJSONString(b, v.SKU)
	b = append(b, `,"name":`...)
	b = shared.AppendJSONString(b, v.Name)
	b = append(b, `,"description":`...)
	b = shared.AppendJSONString(b, v.Description)
	b = append(b, `,"price":`...)
	b, _ = v.Price.AppendText(b)
	b = append(b, `,"currency":`...)
	b = shared.AppendJSONString(b, v.Currency)
	b = append(b, `,"category":`...)
	b = shared.AppendJSONString(b, v.Category)
	b = append(b, `,"images":`...)
	b = shared.AppendJSONArray(b, v.Images, shared.AppendJSONString)
	b = append(b, `,"attributes":`...)
	if v.Attributes == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '{')
		var arr [16]string
		keys := arr[:0]
		for k := range v.Attributes {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = shared.AppendJSONString(b, k)
			b = append(b, ':')
			b = shared.AppendJSONString(b, v.Attributes[k])
		}
		b = append(b, '}')
	}
	b = append(b, `,"active":`...)
	b = strconv.AppendBool(b, v.Active)
	b = append(b, `,"created_at":`...)
	b = shared.AppendJSONTime(b, v.CreatedAt)
	b = append(b, `,"updated_at":`...)
	b = shared.AppendJSONTime(b, v.UpdatedAt)
	return append(b, '}')
}

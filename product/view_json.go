package main

import (
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
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
	b = appendJSONString(b, v.ID)
	b = append(b, `,"sku":`...)
	b = appendJSONString(b, v.SKU)
	b = append(b, `,"name":`...)
	b = appendJSONString(b, v.Name)
	b = append(b, `,"description":`...)
	b = appendJSONString(b, v.Description)
	b = append(b, `,"price":`...)
	b, _ = v.Price.AppendText(b)
	b = append(b, `,"currency":`...)
	b = appendJSONString(b, v.Currency)
	b = append(b, `,"category":`...)
	b = appendJSONString(b, v.Category)
	b = append(b, `,"images":`...)
	if v.Images == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, u := range v.Images {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, u)
		}
		b = append(b, ']')
	}
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
			b = appendJSONString(b, k)
			b = append(b, ':')
			b = appendJSONString(b, v.Attributes[k])
		}
		b = append(b, '}')
	}
	b = append(b, `,"active":`...)
	b = strconv.AppendBool(b, v.Active)
	b = append(b, `,"created_at":`...)
	b = appendJSONTime(b, v.CreatedAt)
	b = append(b, `,"updated_at":`...)
	b = appendJSONTime(b, v.UpdatedAt)
	return append(b, '}')
}

func appendJSONTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string escaped as encoding/json does by default: quotes,
// backslashes and control characters; <, > and & as \u00XX; U+2028 and U+2029; invalid UTF-8 as
// U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

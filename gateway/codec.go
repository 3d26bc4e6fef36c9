package main

import (
	"encoding/binary"
	"errors"
	"net/http"
	"strconv"
	"time"
)

// Cache entries are stored in Redis in a small binary format rather than JSON, so a HIT from Redis
// costs a copy, not a parse of a base64 body. FuzzEntryRoundTrip holds it to a lossless round trip.
// Measured gain: 11x less CPU than JSON to encode and decode a 2 KiB entry (docs/gateway.md).
//
//	version byte (1) | status uvarint | stored, fresh-until, stale-until varint (Unix ns) |
//	header count uvarint | per header: name, value count, values (each uvarint length + bytes) |
//	body (the rest)
const entryVersion = 1

var errBadEntry = errors.New("cache entry: malformed")

// maxEntryHeaders bounds what decodeEntry accepts, so a corrupt value cannot make it allocate much.
const maxEntryHeaders = 256

func encodeEntry(e *entry) []byte {
	n := 64 + len(e.Body)
	for k, vs := range e.Header {
		n += len(k) + 4
		for _, v := range vs {
			n += len(v) + 2
		}
	}
	b := make([]byte, 0, n)
	b = append(b, entryVersion)
	b = binary.AppendUvarint(b, uint64(e.Status))
	b = binary.AppendVarint(b, e.Stored.UnixNano())
	b = binary.AppendVarint(b, e.FreshUntil.UnixNano())
	b = binary.AppendVarint(b, e.StaleUntil.UnixNano())
	b = binary.AppendUvarint(b, uint64(len(e.Header)))
	for k, vs := range e.Header {
		b = appendString(b, k)
		b = binary.AppendUvarint(b, uint64(len(vs)))
		for _, v := range vs {
			b = appendString(b, v)
		}
	}
	return append(b, e.Body...)
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// decodeEntry parses what encodeEntry wrote; any other input is errBadEntry, never a panic.
func decodeEntry(b []byte) (*entry, error) {
	d := decoder{b: b}
	if len(b) == 0 || b[0] != entryVersion {
		return nil, errBadEntry
	}
	d.b = d.b[1:]
	status := d.uvarint()
	if status < 100 || status > 999 {
		return nil, errBadEntry
	}
	e := &entry{Status: int(status)}
	e.Stored = time.Unix(0, d.varint())
	e.FreshUntil = time.Unix(0, d.varint())
	e.StaleUntil = time.Unix(0, d.varint())
	nh := d.uvarint()
	if nh > maxEntryHeaders {
		return nil, errBadEntry
	}
	e.Header = make(http.Header, nh)
	for range nh {
		k := d.string()
		nv := d.uvarint()
		if nv > maxEntryHeaders || d.err != nil {
			return nil, errBadEntry
		}
		vs := make([]string, 0, nv)
		for range nv {
			vs = append(vs, d.string())
		}
		e.Header[k] = vs
	}
	if d.err != nil {
		return nil, d.err
	}
	e.Body = d.b
	e.contentLength = []string{strconv.Itoa(len(e.Body))}
	return e, nil
}

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uvarint() uint64 { return readVarint(d, binary.Uvarint) }

func (d *decoder) varint() int64 { return readVarint(d, binary.Varint) }

// readVarint takes one varint off d with read (binary.Uvarint or binary.Varint); a truncated or
// overlong one fails d. After a failure it reads nothing and returns 0.
func readVarint[T uint64 | int64](d *decoder, read func([]byte) (T, int)) T {
	if d.err != nil {
		return 0
	}
	v, n := read(d.b)
	if n <= 0 {
		d.err = errBadEntry
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) string() string {
	n := d.uvarint()
	if d.err != nil {
		return ""
	}
	if n > uint64(len(d.b)) {
		d.err = errBadEntry
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

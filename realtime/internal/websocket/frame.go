package websocket

import (
	"encoding/binary"
	"errors"
	"io"
)

// header is a decoded frame header (RFC 6455 section 5.2).
type header struct {
	fin    bool
	op     byte
	masked bool
	mask   [4]byte
	length uint64
}

var errReservedBits = errors.New("websocket: reserved bits set without an extension")

// readHeader reads one frame header from r.
func readHeader(r io.Reader) (header, error) {
	var h header
	var b [8]byte
	if _, err := io.ReadFull(r, b[:2]); err != nil {
		return h, err
	}
	if b[0]&0x70 != 0 {
		return h, errReservedBits
	}
	h.fin = b[0]&0x80 != 0
	h.op = b[0] & 0x0f
	h.masked = b[1]&0x80 != 0
	switch n := b[1] & 0x7f; n {
	case 126:
		if _, err := io.ReadFull(r, b[:2]); err != nil {
			return h, err
		}
		h.length = uint64(binary.BigEndian.Uint16(b[:2]))
	case 127:
		if _, err := io.ReadFull(r, b[:8]); err != nil {
			return h, err
		}
		h.length = binary.BigEndian.Uint64(b[:8])
		if h.length>>63 != 0 {
			return h, errors.New("websocket: frame length has the top bit set")
		}
	default:
		h.length = uint64(n)
	}
	if h.masked {
		if _, err := io.ReadFull(r, h.mask[:]); err != nil {
			return h, err
		}
	}
	return h, nil
}

// unmask XORs p with the header's mask in place (a no-op for unmasked frames). p must start at the
// first payload byte.
func (h header) unmask(p []byte) {
	if !h.masked {
		return
	}
	for i := range p {
		p[i] ^= h.mask[i&3]
	}
}

// appendFrame appends one final frame with opcode op and payload p to buf, masked with mask when
// masked (clients); p itself is not modified.
func appendFrame(buf []byte, op byte, p []byte, masked bool, mask [4]byte) []byte {
	var b [14]byte
	b[0] = 0x80 | op
	n := 2
	switch l := len(p); {
	case l <= 125:
		b[1] = byte(l)
	case l <= 0xffff:
		b[1] = 126
		binary.BigEndian.PutUint16(b[2:], uint16(l))
		n = 4
	default:
		b[1] = 127
		binary.BigEndian.PutUint64(b[2:], uint64(l))
		n = 10
	}
	if masked {
		b[1] |= 0x80
		copy(b[n:], mask[:])
		n += 4
	}
	buf = append(buf, b[:n]...)
	start := len(buf)
	buf = append(buf, p...)
	if masked {
		for i := range p {
			buf[start+i] ^= mask[i&3]
		}
	}
	return buf
}

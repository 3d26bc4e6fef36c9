package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// node is one JSON value of a document with its byte range, so that an example can be replaced in
// place: everything outside the replaced ranges (key order, formatting, the prose) stays byte for byte.
type node struct {
	start, end int
	keys       []string // object member names in document order
	kids       []*node  // object members or array elements
	array      bool
}

// child returns the member key of an object node (or element key of an array), nil if absent.
func (n *node) child(key string) *node {
	if n == nil {
		return nil
	}
	if n.array {
		i, err := strconv.Atoi(key)
		if err != nil || i < 0 || i >= len(n.kids) {
			return nil
		}
		return n.kids[i]
	}
	if i := slices.Index(n.keys, key); i >= 0 {
		return n.kids[i]
	}
	return nil
}

// lookup follows a JSON pointer (RFC 6901) from n.
func (n *node) lookup(ptr string) *node {
	if ptr == "" {
		return n
	}
	for _, tok := range strings.Split(strings.TrimPrefix(ptr, "/"), "/") {
		n = n.child(strings.NewReplacer("~1", "/", "~0", "~").Replace(tok))
		if n == nil {
			return nil
		}
	}
	return n
}

// parseTree reads data into a node tree; the data must be valid JSON (checked first).
func parseTree(data []byte) (*node, error) {
	if !json.Valid(data) {
		return nil, fmt.Errorf("not valid JSON")
	}
	p := &treeParser{data: data}
	return p.value(), nil
}

type treeParser struct {
	data []byte
	i    int
}

func (p *treeParser) space() {
	for p.i < len(p.data) && strings.IndexByte(" \t\r\n", p.data[p.i]) >= 0 {
		p.i++
	}
}

// value parses the value at p.i; the input is known to be valid, so errors cannot happen.
func (p *treeParser) value() *node {
	p.space()
	n := &node{start: p.i}
	switch p.data[p.i] {
	case '{', '[':
		n.array = p.data[p.i] == '['
		p.i++
		for {
			p.space()
			if c := p.data[p.i]; c == '}' || c == ']' {
				p.i++
				break
			}
			if c := p.data[p.i]; c == ',' {
				p.i++
				continue
			}
			if !n.array {
				key := p.str()
				var k string
				json.Unmarshal(key, &k)
				n.keys = append(n.keys, k)
				p.space()
				p.i++ // ':'
			}
			n.kids = append(n.kids, p.value())
		}
	case '"':
		p.str()
	default:
		for p.i < len(p.data) && strings.IndexByte(",}] \t\r\n", p.data[p.i]) < 0 {
			p.i++
		}
	}
	n.end = p.i
	return n
}

// str consumes a string token and returns its raw bytes, quotes included.
func (p *treeParser) str() []byte {
	start := p.i
	p.i++
	for p.data[p.i] != '"' {
		if p.data[p.i] == '\\' {
			p.i++
		}
		p.i++
	}
	p.i++
	return p.data[start:p.i]
}

// edit is one replacement: the value at ptr becomes raw (compact or indented JSON).
type edit struct {
	ptr string
	raw []byte
}

// splice applies edits to data: each value is re-indented with two spaces at the depth of the line
// it starts on, as the documents are written, and nothing else changes.
func splice(data []byte, edits []edit) ([]byte, error) {
	root, err := parseTree(data)
	if err != nil {
		return nil, err
	}
	type span struct {
		n   *node
		raw []byte
	}
	var spans []span
	for _, e := range edits {
		n := root.lookup(e.ptr)
		if n == nil {
			return nil, fmt.Errorf("%s: no such value", e.ptr)
		}
		line := bytes.LastIndexByte(data[:n.start], '\n') + 1
		prefix := data[line:n.start]
		prefix = prefix[:len(prefix)-len(bytes.TrimLeft(prefix, " "))]
		var buf bytes.Buffer
		if err := json.Indent(&buf, bytes.TrimSpace(e.raw), string(prefix), "  "); err != nil {
			return nil, fmt.Errorf("%s: %w", e.ptr, err)
		}
		spans = append(spans, span{n, buf.Bytes()})
	}
	slices.SortFunc(spans, func(a, b span) int { return b.n.start - a.n.start })
	out := slices.Clone(data)
	for i, s := range spans {
		if i > 0 && s.n.end > spans[i-1].n.start {
			return nil, fmt.Errorf("overlapping edits at byte %d", s.n.start)
		}
		out = slices.Concat(out[:s.n.start], s.raw, out[s.n.end:])
	}
	return out, nil
}

package stack

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sync"

	"github.com/FerretDB/FerretDB/ferretdb"
)

// StartFerret runs FerretDB (SQLite backend, files in dir) behind a proxy on addr that lets one
// command through at a time. It is the Mongo wire protocol for checks of the stores, not MongoDB:
// no transactions, no TTL or text indexes. FerretDB applies an update as a read and then a write of
// the whole document, so two updates of one document at once lose one of them (a payment overwritten
// by the order relay's "sent" mark, say). MongoDB applies each update atomically; running one command
// at a time gives FerretDB that property, so tests with two copies of a service on it fail only on
// the platform's races, not on FerretDB's. The stop function ends both and waits for them.
func StartFerret(ctx context.Context, addr, dir string, logger *slog.Logger) (stop func(), err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("ferretdb: %w", err)
	}
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: "127.0.0.1:0"},
		Handler:   "sqlite",
		SQLiteURL: "file:" + abs + "/",
		Logger:    logger,
	})
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("ferretdb: %w", err)
	}
	fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Go(func() { f.Run(fctx) })
	u, err := url.Parse(f.MongoDBURI()) // blocks until FerretDB listens
	if err != nil {
		cancel()
		ln.Close()
		wg.Wait()
		return nil, fmt.Errorf("ferretdb: %w", err)
	}
	p := &serialProxy{upstream: u.Host, conns: map[net.Conn]struct{}{}}
	wg.Go(func() { p.serve(ln) })
	return func() {
		ln.Close()
		p.closeAll()
		cancel()
		wg.Wait()
	}, nil
}

// serialProxy forwards Mongo wire connections to upstream and holds one lock from a request's
// forwarding to its reply's last byte, so upstream runs one command at a time across all clients.
type serialProxy struct {
	upstream string
	cmd      sync.Mutex // held while one request is at upstream

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// Wire protocol: every message starts with a 16-byte header (length, request ID, response-to,
// opcode, little-endian). An OP_MSG carries flag bits next; moreToCome on a request means no reply
// follows, on a reply that another reply follows.
const (
	wireHeaderLen = 16
	opMsg         = 2013
	msgMoreToCome = 1 << 1
	wireMaxLen    = 48 << 20 // MongoDB's maxMessageSizeBytes
)

func (p *serialProxy) serve(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		if !p.track(c, true) {
			return
		}
		go func() {
			defer p.wg.Done()
			defer p.untrack(c)
			p.relay(c)
		}()
	}
}

// relay serves one client connection over its own upstream connection until either side ends.
func (p *serialProxy) relay(c net.Conn) {
	up, err := net.Dial("tcp", p.upstream)
	if err != nil {
		return
	}
	if !p.track(up, false) {
		return
	}
	defer p.untrack(up)
	for {
		req, err := readWireMsg(c)
		if err != nil {
			return
		}
		replies, err := p.exchange(up, req)
		if err != nil {
			return
		}
		if _, err := c.Write(replies); err != nil {
			return
		}
	}
}

// exchange sends req to up and reads the replies it expects, holding the command lock throughout.
func (p *serialProxy) exchange(up net.Conn, req []byte) ([]byte, error) {
	p.cmd.Lock()
	defer p.cmd.Unlock()
	if _, err := up.Write(req); err != nil {
		return nil, err
	}
	if moreToCome(req) {
		return nil, nil
	}
	var replies []byte
	for {
		r, err := readWireMsg(up)
		if err != nil {
			return nil, err
		}
		replies = append(replies, r...)
		if !moreToCome(r) {
			return replies, nil
		}
	}
}

// readWireMsg reads one whole message: its header and the body the header's length announces.
func readWireMsg(r io.Reader) ([]byte, error) {
	var h [wireHeaderLen]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return nil, err
	}
	n := int(binary.LittleEndian.Uint32(h[:4]))
	if n < wireHeaderLen || n > wireMaxLen {
		return nil, fmt.Errorf("wire message of %d bytes", n)
	}
	msg := make([]byte, n)
	copy(msg, h[:])
	if _, err := io.ReadFull(r, msg[wireHeaderLen:]); err != nil {
		return nil, err
	}
	return msg, nil
}

func moreToCome(msg []byte) bool {
	return len(msg) >= wireHeaderLen+4 && binary.LittleEndian.Uint32(msg[12:16]) == opMsg &&
		binary.LittleEndian.Uint32(msg[16:20])&msgMoreToCome != 0
}

// track records c so closeAll can end it, counting a client's relay in wg when relay is set; false
// (c closed) once the proxy is closing.
func (p *serialProxy) track(c net.Conn, relay bool) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		c.Close()
		return false
	}
	p.conns[c] = struct{}{}
	if relay {
		p.wg.Add(1)
	}
	return true
}

func (p *serialProxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	c.Close()
}

// closeAll ends every connection, so the relays return, and waits for them.
func (p *serialProxy) closeAll() {
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

package main

import (
	"bufio"
	"net"
	"net/http"
	"sync"
	"time"
)

// smallBuffers hands coder/websocket's Accept smaller connection buffers than net/http's Hijack
// does (4 KiB to read, 4 KiB to write): a 512 B reader, unless the client already pipelined frames
// into net/http's, and a 1 KiB writer, enough for one typical message and its header in one flush
// (bufio writes a bigger message straight through). They live as long as the connection, and would
// otherwise be most of an idle connection's memory (docs/realtime.md, memory per idle connection).
// The writer flushes into out, which batches socket writes for the write loop.
type smallBuffers struct {
	http.ResponseWriter
	out *batchWriter
}

func (w smallBuffers) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	// net/http has flushed the 101 by now and clears the connection's deadlines.
	nc, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	br := brw.Reader
	if br.Buffered() == 0 {
		br = bufio.NewReaderSize(nc, 512)
	}
	w.out.nc = nc
	return nc, bufio.NewReadWriter(br, bufio.NewWriterSize(w.out, 1<<10)), nil
}

// batchWriter is what coder/websocket's write buffer flushes into. Normally it writes through to
// the socket; between hold and release it collects the flushed frames in a pooled buffer and release
// writes them with one syscall. coder/websocket flushes every message and has no batch write, and a
// syscall per message is the largest cost of fan-out (docs/realtime.md). Bytes reach the socket in the
// order they were flushed: while held nothing is written through, and release empties the buffer
// before writes go through again.
//
// Every socket write is bounded by a deadline between timeout/2 and timeout ahead (none when timeout
// is 0): the deadline is moved only when less than half of it is left, because moving it on every
// write is a runtime timer update, and under routed load most writes carry one message.
type batchWriter struct {
	nc       net.Conn
	timeout  time.Duration
	mu       sync.Mutex
	held     *[]byte // non-nil between hold and release
	deadline time.Time
}

var batchPool = sync.Pool{New: func() any { b := make([]byte, 0, 8<<10); return &b }}

func (b *batchWriter) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.held != nil {
		*b.held = append(*b.held, p...)
		return len(p), nil
	}
	b.armLocked()
	return b.nc.Write(p)
}

// armLocked moves the socket's write deadline timeout ahead when less than half of it is left.
func (b *batchWriter) armLocked() {
	if b.timeout <= 0 {
		return
	}
	if now := time.Now(); b.deadline.Sub(now) < b.timeout/2 {
		b.deadline = now.Add(b.timeout)
		b.nc.SetWriteDeadline(b.deadline)
	}
}

// hold starts collecting flushed frames. A nil b does nothing (frames go out one by one).
func (b *batchWriter) hold() {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.held == nil {
		b.held = batchPool.Get().(*[]byte)
	}
}

// release writes what was collected since hold (the caller closes the connection if that fails,
// e.g. when the socket does not take it before the deadline) and lets writes through again.
func (b *batchWriter) release() error {
	if b == nil {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	buf := b.held
	b.held = nil
	if buf == nil || len(*buf) == 0 {
		return nil
	}
	b.armLocked()
	_, err := b.nc.Write(*buf)
	if cap(*buf) <= 64<<10 { // do not keep huge buffers alive in the pool
		*buf = (*buf)[:0]
		batchPool.Put(buf)
	}
	return err
}

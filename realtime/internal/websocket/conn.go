// Package websocket is a small RFC 6455 implementation (text/binary messages, ping/pong, close
// handshake, no extensions) whose API mirrors the subset of github.com/coder/websocket that realtime
// uses: Accept, Dial, Conn.Read/Write/Ping/Close/CloseNow/SetReadLimit, CloseStatus, StatusCode.
//
// It exists because the root go.mod does not require github.com/coder/websocket and realtime may not
// edit go.mod; once the module is added, replacing the import path is the whole migration.
package websocket

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// MessageType is the type of a data message.
type MessageType int

// Data message types.
const (
	MessageText   MessageType = 1
	MessageBinary MessageType = 2
)

// StatusCode is a close status code (RFC 6455 section 7.4).
type StatusCode int

// Close status codes used by the platform.
const (
	StatusNormalClosure   StatusCode = 1000
	StatusGoingAway       StatusCode = 1001
	StatusProtocolError   StatusCode = 1002
	StatusNoStatusRcvd    StatusCode = 1005
	StatusInvalidPayload  StatusCode = 1007
	StatusPolicyViolation StatusCode = 1008
	StatusMessageTooBig   StatusCode = 1009
	StatusInternalError   StatusCode = 1011
	StatusTryAgainLater   StatusCode = 1013
)

// CloseError is returned by Read once the peer sent a close frame.
type CloseError struct {
	Code   StatusCode
	Reason string
}

func (e CloseError) Error() string {
	return fmt.Sprintf("websocket closed: status = %d reason = %q", e.Code, e.Reason)
}

// CloseStatus returns the status code of the CloseError in err's chain, or -1.
func CloseStatus(err error) StatusCode {
	var ce CloseError
	if errors.As(err, &ce) {
		return ce.Code
	}
	return -1
}

// ErrClosed is returned by operations on a connection that is already closed locally.
var ErrClosed = errors.New("websocket: connection closed")

const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xA

	defaultReadLimit = 32 << 10
	// closeTimeout bounds how long Close waits for the peer's close frame.
	closeTimeout = 5 * time.Second
)

// Conn is one WebSocket connection. Read must be called from one goroutine at a time and must be
// running for Ping to see pongs and for Close to see the peer's reply quickly; Write, Ping and Close are
// safe to call concurrently with Read and with each other.
type Conn struct {
	nc     net.Conn
	br     *bufio.Reader
	client bool // clients mask their frames

	readMu    sync.Mutex
	readLimit atomic.Int64

	// writeMu serialises frames; frames are assembled in a pooled buffer and written with one
	// syscall, so an idle connection holds no write buffer.
	writeMu sync.Mutex

	pingMu   sync.Mutex
	pings    map[string]chan struct{}
	pingSeq  atomic.Uint64
	closed   chan struct{} // closed once the net.Conn is closed
	closeErr error         // peer's CloseError, set before closed is closed
	sentOnce sync.Once     // our close frame is sent at most once
	gotClose chan struct{} // closed when the peer's close frame arrived
	gotOnce  sync.Once
	closeMu  sync.Mutex
}

func newConn(nc net.Conn, br *bufio.Reader, client bool) *Conn {
	c := &Conn{nc: nc, br: br, client: client, pings: make(map[string]chan struct{}),
		closed: make(chan struct{}), gotClose: make(chan struct{})}
	c.readLimit.Store(defaultReadLimit)
	return c
}

// SetReadLimit sets the largest message Read accepts (default 32 KiB); a bigger one closes the
// connection with StatusMessageTooBig.
func (c *Conn) SetReadLimit(n int64) { c.readLimit.Store(n) }

// RemoteAddr returns the peer's network address.
func (c *Conn) RemoteAddr() net.Addr { return c.nc.RemoteAddr() }

// Read returns the next data message, answering pings and recording pongs on the way. It returns a
// CloseError once the peer closed, and ctx's error (closing the connection) if ctx ends first.
func (c *Conn) Read(ctx context.Context) (MessageType, []byte, error) {
	c.readMu.Lock()
	defer c.readMu.Unlock()
	stop := c.deadlineFrom(ctx, c.nc.SetReadDeadline)
	defer stop()
	typ, p, err := c.readMessage()
	if err != nil && ctx.Err() != nil {
		c.CloseNow()
		return 0, nil, ctx.Err()
	}
	return typ, p, err
}

// deadlineFrom applies ctx's deadline with set and, when ctx is cancelled early, a deadline in the past
// so the blocked I/O returns. The returned func undoes it.
func (c *Conn) deadlineFrom(ctx context.Context, set func(time.Time) error) func() {
	if d, ok := ctx.Deadline(); ok {
		set(d)
	}
	stop := context.AfterFunc(ctx, func() { set(time.Unix(1, 0)) })
	return func() {
		stop()
		set(time.Time{})
	}
}

func (c *Conn) readMessage() (MessageType, []byte, error) {
	var (
		msg    []byte
		msgTyp MessageType
		inMsg  bool
	)
	for {
		h, err := readHeader(c.br)
		if err != nil {
			return 0, nil, c.fail(err)
		}
		if h.masked == c.client {
			return 0, nil, c.protocolError("frame masking is wrong for this side")
		}
		if h.op >= 0x8 { // control frame
			if !h.fin || h.length > 125 {
				return 0, nil, c.protocolError("invalid control frame")
			}
			payload := make([]byte, h.length)
			if _, err := io.ReadFull(c.br, payload); err != nil {
				return 0, nil, c.fail(err)
			}
			h.unmask(payload)
			if err := c.control(h.op, payload); err != nil {
				return 0, nil, err
			}
			continue
		}
		switch {
		case h.op == opContinuation && !inMsg:
			return 0, nil, c.protocolError("continuation without a message")
		case h.op != opContinuation && inMsg:
			return 0, nil, c.protocolError("new message inside a fragmented one")
		case h.op == opText || h.op == opBinary:
			msgTyp, inMsg = MessageType(h.op), true
		case h.op != opContinuation:
			return 0, nil, c.protocolError("unknown opcode " + strconv.Itoa(int(h.op)))
		}
		if int64(len(msg))+int64(h.length) > c.readLimit.Load() || h.length > 1<<62 {
			c.abort(StatusMessageTooBig, "message too big")
			return 0, nil, fmt.Errorf("websocket: message exceeds read limit %d", c.readLimit.Load())
		}
		start := len(msg)
		msg = append(msg, make([]byte, h.length)...)
		if _, err := io.ReadFull(c.br, msg[start:]); err != nil {
			return 0, nil, c.fail(err)
		}
		h.unmask(msg[start:])
		if h.fin {
			if msgTyp == MessageText && !utf8.Valid(msg) {
				c.abort(StatusInvalidPayload, "invalid UTF-8")
				return 0, nil, errors.New("websocket: invalid UTF-8 in text message")
			}
			return msgTyp, msg, nil
		}
	}
}

// control handles one control frame; a non-nil error ends Read.
func (c *Conn) control(op byte, payload []byte) error {
	switch op {
	case opPing:
		ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
		defer cancel()
		if err := c.writeFrame(ctx, opPong, payload); err != nil {
			return c.fail(err)
		}
	case opPong:
		c.pingMu.Lock()
		if ch, ok := c.pings[string(payload)]; ok {
			close(ch)
			delete(c.pings, string(payload))
		}
		c.pingMu.Unlock()
	case opClose:
		ce := CloseError{Code: StatusNoStatusRcvd}
		if len(payload) == 1 {
			return c.protocolError("close payload of one byte")
		}
		if len(payload) >= 2 {
			ce.Code = StatusCode(binary.BigEndian.Uint16(payload))
			ce.Reason = string(payload[2:])
		}
		c.closeMu.Lock()
		if c.closeErr == nil {
			c.closeErr = ce
		}
		c.closeMu.Unlock()
		c.gotOnce.Do(func() { close(c.gotClose) })
		// Echo the close (a no-op if we started the handshake), then drop the TCP connection.
		c.sendClose(ce.Code, "")
		c.CloseNow()
		return ce
	default:
		return c.protocolError("unknown control opcode")
	}
	return nil
}

// abort sends a close frame with code and drops the connection without waiting for the peer: the
// reader found the stream unusable.
// Unread input is drained until the peer closes (at most closeTimeout): closing a socket with unread
// data sends a TCP reset, and the peer would never see our close frame.
func (c *Conn) abort(code StatusCode, reason string) {
	c.sendClose(code, reason)
	c.nc.SetReadDeadline(time.Now().Add(closeTimeout))
	io.Copy(io.Discard, c.br)
	c.CloseNow()
}

func (c *Conn) protocolError(msg string) error {
	c.abort(StatusProtocolError, msg)
	return errors.New("websocket: protocol error: " + msg)
}

// fail closes the connection after an I/O error and returns the error to report: the peer's close if
// there was one, else err.
func (c *Conn) fail(err error) error {
	c.CloseNow()
	c.closeMu.Lock()
	defer c.closeMu.Unlock()
	if c.closeErr != nil {
		return c.closeErr
	}
	return err
}

// Write sends one data message. A write blocked longer than ctx allows fails and closes the connection
// (a half-written frame cannot be recovered).
func (c *Conn) Write(ctx context.Context, typ MessageType, p []byte) error {
	if typ != MessageText && typ != MessageBinary {
		return fmt.Errorf("websocket: bad message type %d", typ)
	}
	return c.writeFrame(ctx, byte(typ), p)
}

func (c *Conn) writeFrame(ctx context.Context, op byte, p []byte) error {
	return c.writeFrames(ctx, op, [][]byte{p})
}

// WriteBatch sends each of msgs as one data message, in order, with a single write to the socket: a
// writer that found several messages queued pays one syscall instead of one per message. (An
// extension over the coder/websocket API.)
func (c *Conn) WriteBatch(ctx context.Context, typ MessageType, msgs [][]byte) error {
	if typ != MessageText && typ != MessageBinary {
		return fmt.Errorf("websocket: bad message type %d", typ)
	}
	return c.writeFrames(ctx, byte(typ), msgs)
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

func (c *Conn) writeFrames(ctx context.Context, op byte, msgs [][]byte) error {
	select {
	case <-c.closed:
		return ErrClosed
	default:
	}
	bp := bufPool.Get().(*[]byte)
	buf := (*bp)[:0]
	for _, p := range msgs {
		var mask [4]byte
		if c.client {
			rand.Read(mask[:])
		}
		buf = appendFrame(buf, op, p, c.client, mask)
	}
	defer func() {
		if cap(buf) <= 64<<10 { // do not keep huge buffers alive in the pool
			*bp = buf
			bufPool.Put(bp)
		}
	}()
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	stop := c.deadlineFrom(ctx, c.nc.SetWriteDeadline)
	defer stop()
	if _, err := c.nc.Write(buf); err != nil {
		c.CloseNow()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return err
	}
	return nil
}

// Ping sends a ping and waits for its pong (which a concurrent Read delivers) or ctx's end.
func (c *Conn) Ping(ctx context.Context) error {
	key := strconv.FormatUint(c.pingSeq.Add(1), 10)
	ch := make(chan struct{})
	c.pingMu.Lock()
	c.pings[key] = ch
	c.pingMu.Unlock()
	defer func() {
		c.pingMu.Lock()
		delete(c.pings, key)
		c.pingMu.Unlock()
	}()
	if err := c.writeFrame(ctx, opPing, []byte(key)); err != nil {
		return fmt.Errorf("websocket: ping: %w", err)
	}
	select {
	case <-ch:
		return nil
	case <-c.closed:
		return ErrClosed
	case <-ctx.Done():
		return fmt.Errorf("websocket: ping: %w", ctx.Err())
	}
}

// sendClose writes our close frame once.
func (c *Conn) sendClose(code StatusCode, reason string) error {
	var err error
	c.sentOnce.Do(func() {
		if len(reason) > 123 {
			reason = reason[:123]
		}
		p := make([]byte, 2, 2+len(reason))
		binary.BigEndian.PutUint16(p, uint16(code))
		if code == StatusNoStatusRcvd {
			p = p[:0]
		}
		p = append(p, reason...)
		ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
		defer cancel()
		err = c.writeFrame(ctx, opClose, p)
	})
	return err
}

// Close performs the close handshake: it sends a close frame with code and reason, waits up to 5 s for
// the peer's close frame (reading it itself when no Read is running), then closes the connection.
func (c *Conn) Close(code StatusCode, reason string) error {
	err := c.sendClose(code, reason)
	if err == nil {
		if c.readMu.TryLock() {
			// No reader: drain frames ourselves until the peer's close or the timeout.
			c.nc.SetReadDeadline(time.Now().Add(closeTimeout))
			for {
				if _, _, rerr := c.readMessage(); rerr != nil {
					break
				}
			}
			c.readMu.Unlock()
		} else {
			t := time.NewTimer(closeTimeout)
			select {
			case <-c.gotClose:
			case <-c.closed:
			case <-t.C:
			}
			t.Stop()
		}
	}
	c.CloseNow()
	return err
}

// CloseNow closes the underlying connection without a handshake.
func (c *Conn) CloseNow() error {
	c.closeMu.Lock()
	defer c.closeMu.Unlock()
	select {
	case <-c.closed:
		return nil
	default:
	}
	close(c.closed)
	return c.nc.Close()
}

// Done is closed once the connection is closed.
func (c *Conn) Done() <-chan struct{} { return c.closed }

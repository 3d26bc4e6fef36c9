package websocket

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

const acceptGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// acceptKey is Sec-WebSocket-Accept for a client's Sec-WebSocket-Key.
func acceptKey(key string) string {
	h := sha1.Sum([]byte(key + acceptGUID))
	return base64.StdEncoding.EncodeToString(h[:])
}

// headerHasToken reports whether a comma-separated header contains token (case-insensitive).
func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// ErrNotWebSocket is returned by Accept for a request that is not a valid upgrade; Accept has already
// answered it with 400 (or 426 for a wrong version).
var ErrNotWebSocket = errors.New("websocket: not a websocket handshake")

// Accept completes the server side of the opening handshake on w and returns the connection. The
// caller checks Origin and authentication before calling it. On a bad handshake it writes the HTTP
// error itself and returns an error wrapping ErrNotWebSocket. Deadlines the http.Server set on the
// connection are cleared: the caller owns them from now on.
func Accept(w http.ResponseWriter, r *http.Request) (*Conn, error) {
	if r.Method != http.MethodGet || !headerHasToken(r.Header, "Connection", "upgrade") ||
		!headerHasToken(r.Header, "Upgrade", "websocket") {
		http.Error(w, "websocket upgrade required", http.StatusUpgradeRequired)
		return nil, fmt.Errorf("%w: missing upgrade headers", ErrNotWebSocket)
	}
	if r.Header.Get("Sec-WebSocket-Version") != "13" {
		w.Header().Set("Sec-WebSocket-Version", "13")
		http.Error(w, "unsupported websocket version", http.StatusUpgradeRequired)
		return nil, fmt.Errorf("%w: version %q", ErrNotWebSocket, r.Header.Get("Sec-WebSocket-Version"))
	}
	key := r.Header.Get("Sec-WebSocket-Key")
	if k, err := base64.StdEncoding.DecodeString(key); err != nil || len(k) != 16 {
		http.Error(w, "bad Sec-WebSocket-Key", http.StatusBadRequest)
		return nil, fmt.Errorf("%w: bad key", ErrNotWebSocket)
	}
	h := w.Header()
	h.Set("Upgrade", "websocket")
	h.Set("Connection", "Upgrade")
	h.Set("Sec-WebSocket-Accept", acceptKey(key))
	w.WriteHeader(http.StatusSwitchingProtocols)
	// net/http flushes the 101 and its headers at Hijack: the response writer knows the status.
	nc, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return nil, fmt.Errorf("websocket: hijack: %w", err)
	}
	if err := nc.SetDeadline(time.Time{}); err != nil {
		nc.Close()
		return nil, fmt.Errorf("websocket: clear deadline: %w", err)
	}
	// Keep net/http's 4 KiB reader only if the client already pipelined frames; otherwise a small one:
	// browsers send little (pongs, close), and an idle connection should cost little memory.
	br := brw.Reader
	if br.Buffered() == 0 {
		br = bufio.NewReaderSize(nc, 512)
	}
	return newConn(nc, br, false), nil
}

// DialOptions configures Dial. HTTPHeader is sent with the handshake (Authorization, Cookie, Origin).
type DialOptions struct {
	HTTPHeader http.Header
}

// Dial opens a client connection to a ws:// (or http://) URL. When the server refuses the upgrade it
// returns an error and the response (body already read and closed), so callers can check the status.
func Dial(ctx context.Context, rawURL string, opts *DialOptions) (*Conn, *http.Response, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, nil, fmt.Errorf("websocket: dial: %w", err)
	}
	switch u.Scheme {
	case "ws", "http":
	default:
		return nil, nil, fmt.Errorf("websocket: dial: scheme %q not supported", u.Scheme)
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "80")
	}
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return nil, nil, fmt.Errorf("websocket: dial: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { nc.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if d, ok := ctx.Deadline(); ok {
		nc.SetDeadline(d)
	}
	var raw [16]byte
	rand.Read(raw[:])
	key := base64.StdEncoding.EncodeToString(raw[:])
	u.Scheme = "http"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("websocket: dial: %w", err)
	}
	if opts != nil {
		for k, v := range opts.HTTPHeader {
			req.Header[k] = v
		}
	}
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Sec-WebSocket-Key", key)
	req.Header.Set("Sec-WebSocket-Version", "13")
	if err := req.Write(nc); err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("websocket: dial: %w", err)
	}
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("websocket: dial: %w", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Sec-WebSocket-Accept") != acceptKey(key) {
		// Keep the body readable for the caller, then drop the connection.
		body := make([]byte, 4096)
		n, _ := resp.Body.Read(body)
		resp.Body = readCloser{strings.NewReader(string(body[:n]))}
		nc.Close()
		return nil, resp, fmt.Errorf("websocket: dial: handshake refused: status = %d", resp.StatusCode)
	}
	if !stop() {
		nc.Close()
		return nil, resp, fmt.Errorf("websocket: dial: %w", ctx.Err())
	}
	nc.SetDeadline(time.Time{})
	return newConn(nc, br, true), resp, nil
}

type readCloser struct{ *strings.Reader }

func (readCloser) Close() error { return nil }

// NewConn wraps an already-upgraded net.Conn (client says which side masks). Tests use it over
// net.Pipe, where time is fake under testing/synctest.
func NewConn(nc net.Conn, client bool) *Conn {
	return newConn(nc, bufio.NewReader(nc), client)
}

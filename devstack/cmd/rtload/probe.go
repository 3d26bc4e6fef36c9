package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/goshop/platform/shared"
)

// dial connects to url (with a bearer token unless empty), reads the hello and, with skus, subscribes
// and reads the acknowledgement.
func dial(ctx context.Context, url, token string, skus []string) (*websocket.Conn, error) {
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var opts websocket.DialOptions
	if token != "" {
		opts.HTTPHeader = http.Header{"Authorization": {"Bearer " + token}}
	}
	c, _, err := websocket.Dial(dctx, url, &opts)
	if err != nil {
		return nil, err
	}
	c.SetReadLimit(1 << 20)
	if _, _, err = c.Read(dctx); err != nil { // hello
		c.CloseNow()
		return nil, err
	}
	if len(skus) == 0 {
		return c, nil
	}
	sub, _ := json.Marshal(map[string]any{"type": "subscribe", "skus": skus})
	if err := c.Write(dctx, websocket.MessageText, sub); err != nil {
		c.CloseNow()
		return nil, err
	}
	for { // public messages may arrive before the acknowledgement
		_, p, err := c.Read(dctx)
		if err != nil {
			c.CloseNow()
			return nil, err
		}
		if bytes.Contains(p, []byte(`"type":"subscribed"`)) {
			return c, nil
		}
	}
}

// dialAll opens the model's connections, 64 at a time.
func dialAll(ctx context.Context, url string, m *model, iss *issuer) ([]*websocket.Conn, error) {
	out := make([]*websocket.Conn, len(m.class))
	sem := make(chan struct{}, 64)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	for i := range out {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			var token string
			var err error
			switch m.class[i] {
			case admin:
				token, err = iss.token(fmt.Sprintf("rtload-admin-%d", i), shared.RoleAdmin)
			case customer:
				token, err = iss.token(userID(i), shared.RoleCustomer)
			}
			var c *websocket.Conn
			if err == nil {
				c, err = dial(ctx, url, token, m.subs[i])
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if first == nil {
					first = fmt.Errorf("connection %d: %w", i, err)
				}
				return
			}
			out[i] = c
		})
	}
	wg.Wait()
	return out, first
}

// memStats is realtime's answer to POST /debug/gc: its memory right after a full GC.
type memStats struct {
	HeapAlloc  float64 `json:"heap_alloc_bytes"`
	HeapInuse  float64 `json:"heap_inuse_bytes"`
	StackInuse float64 `json:"stack_inuse_bytes"`
	Goroutines float64 `json:"goroutines"`
}

func (m *memStats) total() float64 { return m.HeapInuse + m.StackInuse }

// memory asks realtime, as an admin, to collect garbage and report its memory; nil without an issuer.
func memory(ctx context.Context, base string, iss *issuer) (*memStats, error) {
	if iss == nil {
		return nil, nil
	}
	token, err := iss.token("rtload-admin", shared.RoleAdmin)
	if err != nil {
		return nil, err
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/debug/gc", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	var m memStats
	if err := getJSON(req, &m); err != nil {
		return nil, err
	}
	return &m, nil
}

// stats is the part of realtime's GET /stats rtload reads.
type stats struct {
	Connections     int    `json:"connections"`
	MessagesDropped uint64 `json:"messages_dropped"`
	SlowConsumers   uint64 `json:"slow_consumers_disconnected"`
}

func getStats(ctx context.Context, base string) (stats, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/stats", nil)
	var s stats
	return s, getJSON(req, &s)
}

func getJSON(req *http.Request, v any) error {
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("%s %s: %s %s", req.Method, req.URL, resp.Status, b)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// cpuTime is the user+system CPU time of process pid (0: none), from /proc/<pid>/stat, in clock
// ticks of 10 ms (USER_HZ is 100 on Linux).
func cpuTime(pid int) (time.Duration, error) {
	if pid == 0 {
		return 0, nil
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name (which may hold spaces) in parentheses: state is the 3rd field
	// of the line, utime the 14th, stime the 15th.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: too short", pid)
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	return time.Duration(ut+st) * 10 * time.Millisecond, nil
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	return string(b)
}

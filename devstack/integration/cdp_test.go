//go:build unix

package integration

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// A small Chrome DevTools Protocol client over github.com/coder/websocket, enough for the browser
// test: open tabs (in separate cookie jars when asked), evaluate JavaScript, navigate, take
// screenshots. Every call takes the test's context, so nothing outlives its deadline.

// findChromium returns the path of a Chromium binary on PATH, or "".
func findChromium() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless_shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

type cdpReply struct {
	ID        int64           `json:"id"`
	Method    string          `json:"method"`
	SessionID string          `json:"sessionId"`
	Result    json.RawMessage `json:"result"`
	Params    json.RawMessage `json:"params"`
	Error     *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// chrome is one headless Chromium process and the DevTools connection to it.
type chrome struct {
	cmd    *exec.Cmd
	conn   *websocket.Conn
	nextID atomic.Int64

	mu      sync.Mutex
	pending map[int64]chan cdpReply
	readErr error
	// console holds page errors and failed console calls, for the log when a step fails.
	console []string
	stderr  *stderrLog
	profile string
}

// stderrLog receives Chromium's stderr: it keeps the last 8 KiB (without the D-Bus complaints of a
// machine with no system bus) and reports the DevTools address once Chromium prints it.
type stderrLog struct {
	mu      sync.Mutex
	partial []byte
	tail    []byte
	found   chan string
}

var devtoolsRe = regexp.MustCompile(`DevTools listening on (ws://\S+)`)

func (l *stderrLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		line := l.partial[:i+1]
		if m := devtoolsRe.FindSubmatch(line); m != nil {
			select {
			case l.found <- string(m[1]):
			default:
			}
		}
		if !bytes.Contains(line, []byte("dbus")) {
			l.tail = append(l.tail, line...)
		}
		l.partial = l.partial[i+1:]
	}
	if len(l.tail) > 8192 {
		l.tail = l.tail[len(l.tail)-8192:]
	}
	return len(p), nil
}

func (l *stderrLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.tail) + string(l.partial)
}

// startChrome runs bin headless with remote debugging on a free loopback port and connects to it.
// The process is killed when ctx ends or at t's cleanup.
func startChrome(ctx context.Context, t *testing.T, bin string) *chrome {
	t.Helper()
	// Not t.TempDir: helper processes may still be writing to the profile when it is cleaned up,
	// and a failed RemoveAll there would fail the test.
	profile, err := os.MkdirTemp("", "goshop-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, bin,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check", "--hide-scrollbars",
		"--mute-audio", "--disable-extensions", "--disable-sync", "--disable-component-update",
		"--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
		// Product photos live on other hosts; fail those lookups at once instead of waiting for DNS,
		// so CI with or without a network behaves the same (the page shows its placeholders).
		"--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
		"--window-size=1280,900", "--user-data-dir="+profile, "about:blank")
	// Its own process group, so the renderer and helper processes go with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	logs := &stderrLog{found: make(chan string, 1)}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		os.RemoveAll(profile)
		t.Fatalf("start %s: %v", bin, err)
	}
	c := &chrome{cmd: cmd, pending: map[int64]chan cdpReply{}, stderr: logs, profile: profile}
	t.Cleanup(c.close)

	var u string
	select {
	case u = <-logs.found:
	case <-time.After(30 * time.Second):
		t.Fatalf("chromium did not report its DevTools address within 30s; stderr:\n%s", c.stderr)
	case <-ctx.Done():
		t.Fatalf("chromium did not report its DevTools address: %v; stderr:\n%s", ctx.Err(), c.stderr)
	}
	dialCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(dialCtx, u, nil)
	if err != nil {
		t.Fatalf("connect to chromium at %s: %v", u, err)
	}
	conn.SetReadLimit(-1) // screenshots arrive as one large message
	c.conn = conn
	go c.readLoop(ctx)
	return c
}

func (c *chrome) readLoop(ctx context.Context) {
	for {
		_, data, err := c.conn.Read(ctx)
		if err != nil {
			c.mu.Lock()
			c.readErr = err
			for id, ch := range c.pending {
				close(ch)
				delete(c.pending, id)
			}
			c.mu.Unlock()
			return
		}
		var msg cdpReply
		if json.Unmarshal(data, &msg) != nil {
			continue
		}
		if msg.ID == 0 {
			c.event(msg)
			continue
		}
		c.mu.Lock()
		ch := c.pending[msg.ID]
		delete(c.pending, msg.ID)
		c.mu.Unlock()
		if ch != nil {
			ch <- msg
		}
	}
}

// event records what a page reports as broken: uncaught exceptions and console errors (CSP
// violations and failed loads arrive as Log entries).
func (c *chrome) event(msg cdpReply) {
	var line string
	switch msg.Method {
	case "Runtime.exceptionThrown":
		var p struct {
			ExceptionDetails struct {
				Text      string `json:"text"`
				URL       string `json:"url"`
				Exception struct {
					Description string `json:"description"`
				} `json:"exception"`
			} `json:"exceptionDetails"`
		}
		json.Unmarshal(msg.Params, &p)
		line = "exception: " + p.ExceptionDetails.Text + " " + p.ExceptionDetails.Exception.Description + " " + p.ExceptionDetails.URL
	case "Log.entryAdded":
		var p struct {
			Entry struct {
				Level, Text, URL string
			} `json:"entry"`
		}
		json.Unmarshal(msg.Params, &p)
		// Product photos are on other hosts, which this browser never resolves.
		if p.Entry.Level != "error" || strings.Contains(p.Entry.Text, "ERR_NAME_NOT_RESOLVED") {
			return
		}
		line = "log: " + p.Entry.Text + " " + p.Entry.URL
	default:
		return
	}
	c.mu.Lock()
	if len(c.console) < 200 {
		c.console = append(c.console, line)
	}
	c.mu.Unlock()
}

func (c *chrome) consoleLines() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.console...)
}

// call sends one command (to a page session when session is not empty) and decodes its result.
func (c *chrome) call(ctx context.Context, session, method string, params any, out any) error {
	id := c.nextID.Add(1)
	msg := map[string]any{"id": id, "method": method}
	if params != nil {
		msg["params"] = params
	}
	if session != "" {
		msg["sessionId"] = session
	}
	data, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	ch := make(chan cdpReply, 1)
	c.mu.Lock()
	if c.readErr != nil {
		err := c.readErr
		c.mu.Unlock()
		return fmt.Errorf("%s: connection closed: %w", method, err)
	}
	c.pending[id] = ch
	c.mu.Unlock()
	if err := c.conn.Write(ctx, websocket.MessageText, data); err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	select {
	case reply, ok := <-ch:
		if !ok {
			return fmt.Errorf("%s: connection closed", method)
		}
		if reply.Error != nil {
			return fmt.Errorf("%s: %s (%d)", method, reply.Error.Message, reply.Error.Code)
		}
		if out != nil {
			return json.Unmarshal(reply.Result, out)
		}
		return nil
	case <-ctx.Done():
		c.mu.Lock()
		delete(c.pending, id)
		c.mu.Unlock()
		return fmt.Errorf("%s: %w", method, ctx.Err())
	}
}

func (c *chrome) close() {
	if c.conn != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		c.call(ctx, "", "Browser.close", nil, nil)
		cancel()
		c.conn.CloseNow()
	}
	done := make(chan struct{})
	go func() { c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
	// Helpers that outlived the browser belong to the group this test started.
	syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
	for i := 0; i < 20 && os.RemoveAll(c.profile) != nil; i++ {
		time.Sleep(100 * time.Millisecond)
	}
}

// tab is one page target attached with a flat session.
type tab struct {
	t       *testing.T
	ctx     context.Context
	c       *chrome
	session string
	shots   string
}

// newContext creates a browser context: a profile of its own, with its own cookies.
func (c *chrome) newContext(ctx context.Context, t *testing.T) string {
	t.Helper()
	var bc struct {
		BrowserContextID string `json:"browserContextId"`
	}
	if err := c.call(ctx, "", "Target.createBrowserContext", map[string]any{"disposeOnDetach": true}, &bc); err != nil {
		t.Fatal(err)
	}
	return bc.BrowserContextID
}

// newTab opens about:blank in a new tab of browser context bc, with a 1280×900 viewport.
func (c *chrome) newTab(ctx context.Context, t *testing.T, shots, bc string) *tab {
	t.Helper()
	params := map[string]any{"url": "about:blank", "browserContextId": bc}
	var target struct {
		TargetID string `json:"targetId"`
	}
	if err := c.call(ctx, "", "Target.createTarget", params, &target); err != nil {
		t.Fatal(err)
	}
	var att struct {
		SessionID string `json:"sessionId"`
	}
	if err := c.call(ctx, "", "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &att); err != nil {
		t.Fatal(err)
	}
	p := &tab{t: t, ctx: ctx, c: c, session: att.SessionID, shots: shots}
	for _, cmd := range []struct {
		method string
		params any
	}{
		{"Runtime.enable", nil},
		{"Log.enable", nil},
		{"Page.enable", nil},
		{"Emulation.setDeviceMetricsOverride", map[string]any{"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": false}},
		// Two tabs are open at once; both must run their timers and sockets as a visible one would.
		{"Emulation.setFocusEmulationEnabled", map[string]any{"enabled": true}},
	} {
		if err := c.call(ctx, p.session, cmd.method, cmd.params, nil); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

// eval runs expr in the page (awaiting a promise) and decodes its value into out when not nil.
func (p *tab) eval(expr string, out any) error {
	var res struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text      string `json:"text"`
			Exception struct {
				Description string `json:"description"`
			} `json:"exception"`
		} `json:"exceptionDetails"`
	}
	err := p.c.call(p.ctx, p.session, "Runtime.evaluate", map[string]any{
		"expression": expr, "returnByValue": true, "awaitPromise": true}, &res)
	if err != nil {
		return err
	}
	if d := res.ExceptionDetails; d != nil {
		return fmt.Errorf("%s: %s", d.Text, d.Exception.Description)
	}
	if out != nil && len(res.Result.Value) > 0 {
		return json.Unmarshal(res.Result.Value, out)
	}
	return nil
}

// must evaluates expr and fails the test on an error.
func (p *tab) must(expr string, out any) {
	p.t.Helper()
	if err := p.eval(expr, out); err != nil {
		p.fail("evaluate %s: %v", expr, err)
	}
}

// waitFor polls the boolean expression cond until it is true or within passes. Evaluation errors
// (a page being replaced by the next one) count as false.
func (p *tab) waitFor(what, cond string, within time.Duration) {
	p.t.Helper()
	deadline := time.Now().Add(within)
	var last error
	for {
		var ok bool
		err := p.eval("!!("+cond+")", &ok)
		if err == nil && ok {
			return
		}
		if err != nil {
			last = err
		}
		if p.ctx.Err() != nil || time.Now().After(deadline) {
			p.fail("%s: not within %s (last error: %v)", what, within, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// navigate loads url and waits until its document is parsed.
func (p *tab) navigate(url string) {
	p.t.Helper()
	p.must("window.__goshopOld = true", nil)
	var res struct {
		ErrorText string `json:"errorText"`
	}
	if err := p.c.call(p.ctx, p.session, "Page.navigate", map[string]any{"url": url}, &res); err != nil {
		p.fail("navigate %s: %v", url, err)
	}
	if res.ErrorText != "" {
		p.fail("navigate %s: %s", url, res.ErrorText)
	}
	p.waitLoaded("load " + url)
}

// waitLoaded waits until the page marked by navigate or submit has been replaced by a new, parsed one.
func (p *tab) waitLoaded(what string) {
	p.t.Helper()
	p.waitFor(what, "!window.__goshopOld && document.readyState !== 'loading' && document.body !== null", 20*time.Second)
}

// fill sets form fields by CSS selector, as typing would, and fires input/change events.
func (p *tab) fill(fields map[string]string) {
	p.t.Helper()
	for sel, val := range fields {
		sj, _ := json.Marshal(sel)
		vj, _ := json.Marshal(val)
		var found bool
		p.must(fmt.Sprintf(`(() => { const el = document.querySelector(%s); if (!el) return false;
			el.focus(); el.value = %s; el.dispatchEvent(new Event('input', {bubbles: true}));
			el.dispatchEvent(new Event('change', {bubbles: true})); return true; })()`, sj, vj), &found)
		if !found {
			p.fail("fill: no element %s", sel)
		}
	}
}

// click clicks the element matched by sel (a submit button or a link) and waits for the next page.
func (p *tab) click(sel string) {
	p.t.Helper()
	sj, _ := json.Marshal(sel)
	var found bool
	p.must(fmt.Sprintf(`(() => { const el = document.querySelector(%s); if (!el) return false;
		window.__goshopOld = true; el.click(); return true; })()`, sj), &found)
	if !found {
		p.fail("click: no element %s", sel)
	}
	p.waitLoaded("page after clicking " + sel)
}

// text returns the trimmed textContent of the first element matching sel, "" if there is none.
func (p *tab) text(sel string) string {
	p.t.Helper()
	sj, _ := json.Marshal(sel)
	var s string
	p.must(fmt.Sprintf(`(() => { const el = document.querySelector(%s); return el ? el.textContent.trim() : ""; })()`, sj), &s)
	return s
}

func (p *tab) path() string {
	p.t.Helper()
	var s string
	p.must("location.pathname + location.search", &s)
	return s
}

// screenshot saves the visible page as <name>.png in the screenshot directory.
func (p *tab) screenshot(name string) {
	p.t.Helper()
	if err := p.trySnap(name); err != nil {
		p.t.Fatalf("screenshot %s: %v", name, err)
	}
}

func (p *tab) trySnap(name string) error {
	var res struct {
		Data string `json:"data"`
	}
	// A capture waits for the tab's next frame, and a tab behind another (the admin's, opened later)
	// may not draw one: once, under load, the customer's screenshot waited until the test's deadline.
	if err := p.c.call(p.ctx, p.session, "Page.bringToFront", nil, nil); err != nil {
		return err
	}
	if err := p.c.call(p.ctx, p.session, "Page.captureScreenshot", map[string]any{"format": "png"}, &res); err != nil {
		return err
	}
	png, err := base64.StdEncoding.DecodeString(res.Data)
	if err != nil {
		return err
	}
	if len(png) < 2000 {
		return errors.New("image suspiciously small")
	}
	return os.WriteFile(filepath.Join(p.shots, name+".png"), png, 0o644)
}

// fail reports where the page is and what it shows, saves a screenshot of it, and stops the test.
func (p *tab) fail(format string, args ...any) {
	p.t.Helper()
	var state struct {
		URL  string `json:"url"`
		Text string `json:"text"`
	}
	if p.ctx.Err() == nil {
		p.eval(`({url: location.href, text: document.body ? document.body.innerText.slice(0, 1500) : ""})`, &state)
		p.trySnap("failure")
	}
	p.t.Fatalf("%s\npage %s (screenshot failure.png in %s):\n%s\npage errors: %q\nchromium stderr (tail):\n%s",
		fmt.Sprintf(format, args...), state.URL, p.shots, state.Text, p.c.consoleLines(), p.c.stderr)
}

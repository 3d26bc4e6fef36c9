package main

import (
	"crypto/rand"
	"encoding/base64"
	"io"
	"net/http"
	"strings"

	"github.com/goshop/platform/devstack/stack"
)

// realtimeScript captures realtime's examples: its counters, an announcement, the notification
// centre, the WebSocket's refusals before the upgrade.
func realtimeScript(c *capturer, s *stack.Stack, p *people) {
	const doc = "realtime"
	me := c.bearerOnly(p.gw, p.demo.bearer)
	msg := obj("message", "Checkout is back to normal.", "level", "info")
	c.req(doc, "POST /broadcast", "application/json", msg)
	sent := p.admin.do("POST", "/realtime/broadcast", msg)
	c.resp(sent, doc, "POST /broadcast", 202, "")
	c.comp(p.admin.do("POST", "/realtime/broadcast", obj("message", "", "level", "shouting")), doc, "BadRequest", 400, "")
	var n struct {
		NotificationID string `json:"notification_id"`
	}
	sent.json(&n)
	c.eventually("the announcement in the demo customer's notifications", func() bool {
		a := me.do("GET", "/realtime/notifications", nil)
		if a.status == 200 && len(n.NotificationID) > 0 && strings.Contains(string(a.body), n.NotificationID) {
			c.resp(a, doc, "GET /notifications", 200, "")
			return true
		}
		return false
	})
	read := obj("ids", []string{n.NotificationID})
	c.req(doc, "POST /notifications/read", "application/json", read)
	c.resp(me.do("POST", "/realtime/notifications/read", read), doc, "POST /notifications/read", 200, "")
	c.resp(p.admin.do("POST", "/realtime/debug/gc", nil), doc, "POST /debug/gc", 200, "")

	c.resp(me.do("GET", "/realtime/ws?since=yesterday", nil), doc, "GET /ws", 400, "")
	c.resp(p.thirdParty.do("GET", "/realtime/ws", nil), doc, "GET /ws", 403, "")

	wsLimit(c, p)
	probes(c, doc, s)
}

// wsLimit opens WebSockets for one customer through the gateway, holding each open, until realtime
// refuses one for too many (its per-user limit is 32), reads realtime's counters, then closes them all.
func wsLimit(c *capturer, p *people) {
	cust := c.client(p.gw)
	cust.must(201, "POST", "/auth/register", obj("email", "many.tabs@example.com", "password", "correct-horse-battery", "name", "Many Tabs"))
	cust.login("many.tabs@example.com", "correct-horse-battery")
	cust.http.Jar = nil
	var open []io.Closer
	defer func() {
		for _, o := range open {
			o.Close()
		}
	}()
	for range 40 {
		key := make([]byte, 16)
		rand.Read(key)
		req, _ := http.NewRequest("GET", p.gw+"/realtime/ws", nil)
		req.Header.Set("Authorization", "Bearer "+cust.bearer)
		req.Header.Set("Connection", "Upgrade")
		req.Header.Set("Upgrade", "websocket")
		req.Header.Set("Sec-WebSocket-Version", "13")
		req.Header.Set("Sec-WebSocket-Key", base64.StdEncoding.EncodeToString(key))
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			c.problems = append(c.problems, "GET /realtime/ws: "+err.Error())
			return
		}
		if resp.StatusCode == http.StatusSwitchingProtocols {
			open = append(open, resp.Body)
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		c.resp(&answer{status: resp.StatusCode, header: resp.Header, body: body, op: "GET /realtime/ws"}, "realtime", "GET /ws", 429, "")
		// The counters while the sockets are open.
		c.resp(p.anon.do("GET", "/realtime/stats", nil), "realtime", "GET /stats", 200, "")
		return
	}
	c.problems = append(c.problems, "40 WebSockets for one customer: none refused")
}

package main

import (
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
	c.resp(p.anon.do("GET", "/realtime/stats", nil), doc, "GET /stats", 200, "")

	c.resp(me.do("GET", "/realtime/ws?since=yesterday", nil), doc, "GET /ws", 400, "")
	c.resp(p.thirdParty.do("GET", "/realtime/ws", nil), doc, "GET /ws", 403, "")

	probes(c, doc, s)
}

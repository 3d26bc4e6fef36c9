package main

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// linkToken finds the token of a mailed link (reset-password, verify-email).
var linkToken = regexp.MustCompile(`token=([A-Za-z0-9_-]+)`)

// mailedToken waits for the newest mail to addr whose subject contains subject in Mailpit (at
// base) and returns the token of its link, registered as a secret. Empty when none arrives within
// 20 s (a problem is recorded).
func (c *capturer) mailedToken(base, addr, subject string) string {
	mp := c.client(base)
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		var list struct {
			Messages []struct {
				ID      string
				Subject string
				To      []struct{ Address string }
			} `json:"messages"`
		}
		json.Unmarshal(mp.do("GET", "/api/v1/messages?limit=200", nil).body, &list)
		for _, m := range list.Messages { // newest first
			if len(m.To) != 1 || !strings.EqualFold(m.To[0].Address, addr) || !strings.Contains(m.Subject, subject) {
				continue
			}
			var msg struct{ Text string }
			json.Unmarshal(mp.do("GET", "/api/v1/message/"+url.PathEscape(m.ID), nil).body, &msg)
			if t := linkToken.FindStringSubmatch(msg.Text); t != nil {
				c.scrub.add(t[1])
				return t[1]
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	c.problems = append(c.problems, fmt.Sprintf("no mail %q to %s with a link in Mailpit", subject, addr))
	return ""
}

// eventually polls cond every 100 ms for up to 10 s; false (and a problem) when it never holds.
func (c *capturer) eventually(what string, cond func() bool) bool {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	c.problems = append(c.problems, what+": not within 10 s")
	return false
}

package main

import (
	"fmt"
	"net/url"

	"github.com/goshop/platform/devstack/stack"
)

// userScript captures user's examples: the demo customer's profile and address book, the admin's
// views, the one-click unsubscribe.
func userScript(c *capturer, s *stack.Stack, p *people, sec secrets) {
	const doc = "user"
	me := c.bearerOnly(p.gw, p.demo.bearer)
	patch := obj("name", "Demo Customer", "phone", "+1 (555) 010-2030", "preferences", map[string]string{"currency": "EUR"})
	c.req(doc, "PATCH /users/me", "application/json", patch)
	c.resp(me.do("PATCH", "/user/users/me", patch), doc, "PATCH /users/me", 200, "")
	c.resp(me.do("GET", "/user/users/me", nil), doc, "GET /users/me", 200, "")
	c.comp(me.do("PATCH", "/user/users/me", obj("name", "", "phone", "call me")), doc, "BadRequest", 400, "")

	addr := obj("name", "Demo Customer", "street", "1 Market St", "city", "Springfield", "state", "IL",
		"zip_code", "62701", "country", "US", "is_default", true)
	c.req(doc, "POST /users/me/addresses", "application/json", addr)
	created := me.do("POST", "/user/users/me/addresses", addr)
	c.resp(created, doc, "POST /users/me/addresses", 201, "")
	var a struct {
		ID string `json:"id"`
	}
	created.json(&a)
	second := obj("name", "Demo Customer", "street", "500 Lake Shore Dr", "city", "Chicago", "state", "IL",
		"zip_code", "60611", "country", "US")
	var b struct {
		ID string `json:"id"`
	}
	me.must(201, "POST", "/user/users/me/addresses", second).json(&b)
	c.resp(me.do("GET", "/user/users/me/addresses", nil), doc, "GET /users/me/addresses", 200, "")
	c.resp(me.do("GET", "/user/users/me/addresses/"+a.ID, nil), doc, "GET /users/me/addresses/{id}", 200, "")
	c.comp(me.do("GET", "/user/users/me/addresses/0123456789abcdef0123456789abcdef", nil), doc, "NotFound", 404, "")
	put := obj("name", "Demo Customer", "street", "1 Market St", "city", "Springfield", "state", "IL", "zip_code", "62704", "country", "US")
	c.req(doc, "PUT /users/me/addresses/{id}", "application/json", put)
	c.resp(me.do("PUT", "/user/users/me/addresses/"+a.ID, put), doc, "PUT /users/me/addresses/{id}", 200, "")
	street := obj("street", "2 Market St")
	c.req(doc, "PATCH /users/me/addresses/{id}", "application/json", street)
	c.resp(me.do("PATCH", "/user/users/me/addresses/"+a.ID, street), doc, "PATCH /users/me/addresses/{id}", 200, "")
	c.resp(me.do("PUT", "/user/users/me/addresses/"+b.ID+"/default", nil), doc, "PUT /users/me/addresses/{id}/default", 200, "")
	me.must(200, "PUT", "/user/users/me/addresses/"+a.ID+"/default", nil)
	me.must(204, "DELETE", "/user/users/me/addresses/"+b.ID, nil)

	// An address book at its limit: another customer fills it.
	full := c.client(p.gw)
	full.must(201, "POST", "/auth/register", obj("email", "many.addresses@example.com", "password", "correct-horse-battery", "name", "Many Addresses"))
	full.login("many.addresses@example.com", "correct-horse-battery")
	full.http.Jar = nil
	c.eventually("user has the profile of many.addresses@example.com", func() bool {
		return full.do("GET", "/user/users/me", nil).status == 200
	})
	for i := range 21 {
		a := full.do("POST", "/user/users/me/addresses", obj("name", "Many Addresses", "street", fmt.Sprintf("%d Elm St", i+1),
			"city", "Springfield", "state", "IL", "zip_code", "62701", "country", "US"))
		if a.status == 409 {
			c.resp(a, doc, "POST /users/me/addresses", 409, "")
			break
		}
		if i == 20 {
			c.problems = append(c.problems, "21 addresses: no 409")
		}
	}

	// The admin's views.
	c.resp(p.admin.do("GET", "/user/users?limit=2", nil), doc, "GET /users", 200, "")
	c.resp(p.admin.do("GET", "/user/users/"+p.demoID, nil), doc, "GET /users/{id}", 200, "")
	name := obj("name", "Demo Customer")
	c.req(doc, "PATCH /users/{id}", "application/json", name)
	c.resp(me.do("PATCH", "/user/users/"+p.demoID, name), doc, "PATCH /users/{id}", 200, "")

	// One-click unsubscribe, as a mail program sends it.
	body, form := formObj("List-Unsubscribe", "One-Click")
	c.req(doc, "POST /users/{id}/unsubscribe", "application/x-www-form-urlencoded", body)
	tok := unsubscribeToken(sec.unsubscribe, p.demoID)
	c.scrub.add(tok)
	c.resp(c.client(p.gw).do("POST", "/user/users/"+p.demoID+"/unsubscribe?token="+url.QueryEscape(tok), form), doc, "POST /users/{id}/unsubscribe", 200, "")

	probes(c, doc, s)
}

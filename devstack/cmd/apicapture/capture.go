package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// capturer sends the script's requests and keeps the answers that become examples.
type capturer struct {
	docs     map[string]*document // by service
	edits    map[string][]edit    // by service
	problems []string             // answers that disagree with the documents
	scrub    *scrubber
}

// document is one service's openapi.json and its tree.
type document struct {
	data []byte
	tree *node
}

// pointer escapes one JSON pointer token.
func pointer(tok string) string {
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(tok)
}

// exampleAt returns the pointer of the example to replace in the media type object at media:
// its "example", or the value of its named (or only) entry of "examples".
func (c *capturer) exampleAt(svc, media, name string) (string, error) {
	d := c.docs[svc]
	n := d.tree.lookup(media)
	if n == nil {
		return "", fmt.Errorf("%s: %s is not in the document", svc, media)
	}
	if n.child("example") != nil {
		return media + "/example", nil
	}
	exs := n.child("examples")
	if exs == nil {
		return "", fmt.Errorf("%s: %s has no example", svc, media)
	}
	if name == "" {
		if len(exs.keys) != 1 {
			return "", fmt.Errorf("%s: %s has %d examples, name one", svc, media, len(exs.keys))
		}
		name = exs.keys[0]
	}
	if exs.child(name) == nil {
		return "", fmt.Errorf("%s: %s has no example %q", svc, media, name)
	}
	return media + "/examples/" + pointer(name) + "/value", nil
}

// set records raw as the example at media (a media type object) of svc's document.
func (c *capturer) set(svc, media, name string, raw []byte) {
	ptr, err := c.exampleAt(svc, media, name)
	if err != nil {
		c.problems = append(c.problems, err.Error())
		return
	}
	for _, e := range c.edits[svc] {
		if e.ptr == ptr {
			return // the first capture of an example wins
		}
	}
	c.edits[svc] = append(c.edits[svc], edit{ptr: ptr, raw: raw})
}

// operation returns the pointer of op ("POST /login") in the document.
func operation(op string) string {
	method, path, _ := strings.Cut(op, " ")
	return "/paths/" + pointer(path) + "/" + strings.ToLower(method)
}

// answer is one response from the platform.
type answer struct {
	status int
	header http.Header
	body   []byte
	op     string // "svc METHOD /path", for messages
}

// json decodes the body into v, ignoring errors (a test of the field that follows will notice).
func (a *answer) json(v any) { json.Unmarshal(a.body, v) }

// resp records a's body as the example of op's status answer in svc's document (name picks one of
// several examples), after checking that the status is the documented one; a component response
// ($ref) is left to comp, which names the component.
func (c *capturer) resp(a *answer, svc, op string, status int, name string) {
	if a.status != status {
		c.problems = append(c.problems, fmt.Sprintf("%s: status %d, want %d (body %.200s)", a.op, a.status, status, a.body))
		return
	}
	at := operation(op) + "/responses/" + strconv.Itoa(status)
	if n := c.docs[svc].tree.lookup(at); n != nil && n.child("$ref") != nil {
		c.problems = append(c.problems, fmt.Sprintf("%s: %s %d is a component response; capture it with comp", svc, op, status))
		return
	}
	c.set(svc, at+"/content/application~1json", name, a.body)
}

// comp records a's body as the example of the component response of svc's document.
func (c *capturer) comp(a *answer, svc, component string, status int, name string) {
	if a.status != status {
		c.problems = append(c.problems, fmt.Sprintf("%s: status %d, want %d for %s (body %.200s)", a.op, a.status, status, component, a.body))
		return
	}
	c.set(svc, "/components/responses/"+pointer(component)+"/content/application~1json", name, a.body)
}

// req records body as the request body example of op with content type ct.
func (c *capturer) req(svc, op, ct string, body []byte) {
	c.set(svc, operation(op)+"/requestBody/content/"+pointer(ct), "", body)
}

// client is one caller: a cookie jar, optionally a bearer token, no redirects followed.
type client struct {
	c      *capturer
	http   *http.Client
	base   string
	bearer string
	origin string // sent as Origin on writes
}

func (c *capturer) client(base string) *client {
	jar, _ := cookiejar.New(nil)
	return &client{c: c, base: base, origin: base, http: &http.Client{Jar: jar, Timeout: 15 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// do sends a request; body is JSON (a []byte or string is sent as it is), url.Values is a form.
// headers are name, value pairs. A transport error is an answer with status 0.
func (cl *client) do(method, path string, body any, headers ...string) *answer {
	var rd io.Reader
	ct := ""
	switch b := body.(type) {
	case nil:
	case url.Values:
		rd, ct = strings.NewReader(b.Encode()), "application/x-www-form-urlencoded"
	case []byte:
		rd, ct = bytes.NewReader(b), "application/json"
	case string:
		rd, ct = strings.NewReader(b), "application/json"
	default:
		raw, _ := json.Marshal(b)
		rd, ct = bytes.NewReader(raw), "application/json"
	}
	a := &answer{op: method + " " + cl.base + path}
	r, err := http.NewRequest(method, cl.base+path, rd)
	if err != nil {
		cl.c.problems = append(cl.c.problems, a.op+": "+err.Error())
		return a
	}
	if ct != "" {
		r.Header.Set("Content-Type", ct)
	}
	if method != "GET" && cl.origin != "" {
		r.Header.Set("Origin", cl.origin)
	}
	if cl.bearer != "" {
		r.Header.Set("Authorization", "Bearer "+cl.bearer)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Set(headers[i], headers[i+1])
	}
	resp, err := cl.http.Do(r)
	if err != nil {
		cl.c.problems = append(cl.c.problems, a.op+": "+err.Error())
		return a
	}
	defer resp.Body.Close()
	a.body, _ = io.ReadAll(resp.Body)
	a.status, a.header = resp.StatusCode, resp.Header
	cl.c.scrub.learn(a)
	return a
}

// must is do that reports an unexpected status as a problem.
func (cl *client) must(status int, method, path string, body any, headers ...string) *answer {
	a := cl.do(method, path, body, headers...)
	if a.status != status {
		cl.c.problems = append(cl.c.problems, fmt.Sprintf("%s: status %d, want %d (body %.200s)", a.op, a.status, status, a.body))
	}
	return a
}

// obj is a JSON object of name, value pairs in this order (the documents show fields in the order
// a client would write them).
func obj(pairs ...any) []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	for i := 0; i+1 < len(pairs); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(pairs[i])
		v, _ := json.Marshal(pairs[i+1])
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes()
}

// formObj is the JSON object the documents show for a form body, fields in order of pairs, and the
// form itself.
func formObj(pairs ...string) ([]byte, url.Values) {
	form := url.Values{}
	args := make([]any, 0, len(pairs))
	for i := 0; i+1 < len(pairs); i += 2 {
		form.Set(pairs[i], pairs[i+1])
		args = append(args, pairs[i], pairs[i+1])
	}
	return obj(args...), form
}

// sortedProblems returns the problems, duplicates removed.
func (c *capturer) sortedProblems() []string {
	p := slices.Clone(c.problems)
	slices.Sort(p)
	return slices.Compact(p)
}

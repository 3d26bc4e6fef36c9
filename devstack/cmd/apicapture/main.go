// Command apicapture refreshes the examples of the auth, user and realtime OpenAPI documents
// (<service>/openapi.json) with real answers: it builds and starts a fresh platform with the devstack
// stack package (in-memory stores, its own ports: the defaults plus -port-offset), drives every
// documented operation of the three services through the gateway (a service's own port where the
// route is not public: the probes), the error answers included, and writes each answer into the
// example that describes it. Only the example values change: the rest of each file (key order,
// formatting, prose) stays byte for byte. Request body examples become the bodies the script sent.
//
//	cd devstack && go run ./cmd/apicapture            # from the repository's devstack folder
//	cd devstack && go run ./cmd/apicapture -dry-run   # capture and check, write nothing
//
// Secrets are scrubbed before anything is written: access, refresh and ID tokens, the session
// cookie, the reset and verification tokens from the mails, the confidential client's secret. Each
// becomes a placeholder of the same shape (a JWT keeps its header and claims and loses its
// signature), the same secret always the same placeholder (scrubber). Timestamps and IDs stay as
// captured. Every answer's status is checked against the documented one, and the documents are
// validated (apidocs.Parse: every example against its schema) before they are written; any problem
// (a status the document does not describe, a mail that never came, an invalid example, a secret
// left) is printed and the command fails without writing anything.
//
// Examples that stay hand-written, and why (the command prints the list of every run):
//   - auth's and realtime's components.responses NotFound and Conflict, and user's Conflict: no
//     operation of theirs references them (each operation's own 404 and 409 are captured), so no
//     real answer belongs to them; they are kept for the gateway's merge and for future routes.
//   - components.responses Internal has no example: a 500 cannot be caused from outside.
//
// What the script sets up to reach answers a plain platform would not give: a confidential client
// (capture-service) for introspection's 200, a known UNSUBSCRIBE_SECRET for the one-click link, a
// per-credential rate limit of 20/s:40 so that a burst meets the gateway's 429, 33 WebSockets held
// open for realtime's per-user limit (32), and, last, each of the three services stopped in turn for
// the gateway's 503.
//
// The product, inventory and order documents were captured by an earlier scripted run that was not
// kept (commit 34bc8ca); this command leaves them alone.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/goshop/platform/devstack/apidocs"
	"github.com/goshop/platform/devstack/stack"
	"github.com/goshop/platform/shared"
)

// services are the documents this command refreshes.
var services = []string{"auth", "user", "realtime"}

func main() { shared.Main("apicapture", run) }

func run(ctx context.Context, args []string, _ func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	root := fs.String("root", "..", "repository root")
	offset := fs.Int("port-offset", 3800, "added to every port of the platform it starts")
	dry := fs.Bool("dry-run", false, "capture and validate, but write no document")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	abs, err := filepath.Abs(*root)
	if err != nil {
		return err
	}
	sec := newSecrets()
	c := &capturer{docs: map[string]*document{}, edits: map[string][]edit{}, scrub: newScrubber(defaultPorts(*offset))}
	for _, svc := range services {
		data, err := os.ReadFile(filepath.Join(abs, svc, "openapi.json"))
		if err != nil {
			return err
		}
		tree, err := parseTree(data)
		if err != nil {
			return fmt.Errorf("%s/openapi.json: %w", svc, err)
		}
		c.docs[svc] = &document{data: data, tree: tree}
	}

	dir, err := os.MkdirTemp("", "goshop-apicapture-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	t0 := time.Now()
	if err := stack.Build(ctx, abs, dir, stderr); err != nil {
		return err
	}
	s, err := stack.Start(ctx, stack.Options{Root: abs, Dir: dir, PortOffset: *offset, Mongo: "mem", Redis: "auto", Env: captureEnv(*offset, sec)})
	if err != nil {
		stack.DumpLogs(stderr, dir, 4000)
		return fmt.Errorf("start: %w", err)
	}
	fmt.Fprintf(stdout, "apicapture: platform ready %s after the build started (offset %d)\n", time.Since(t0).Round(time.Millisecond), *offset)
	script(c, s, sec)
	if err := s.Close(); err != nil {
		fmt.Fprintln(stderr, "close:", err)
	}

	var errs []error
	for _, p := range c.sortedProblems() {
		errs = append(errs, errors.New(p))
	}
	out := map[string][]byte{}
	for _, svc := range services {
		edits := c.edits[svc]
		for i := range edits {
			edits[i].raw = c.scrub.apply(edits[i].raw)
		}
		data, err := splice(c.docs[svc].data, edits)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", svc, err))
			continue
		}
		if _, err := apidocs.Parse(ctx, data); err != nil {
			errs = append(errs, fmt.Errorf("%s/openapi.json with the captured examples: %w", svc, err))
		}
		if leaked := c.scrub.leaked(data); leaked != "" {
			errs = append(errs, fmt.Errorf("%s/openapi.json still holds a secret (%.12s…)", svc, leaked))
		}
		out[svc] = data
		all := examples(c.docs[svc].tree, "")
		var kept []string
		for _, p := range all {
			if !slices.ContainsFunc(edits, func(e edit) bool { return e.ptr == p }) {
				kept = append(kept, p)
			}
		}
		fmt.Fprintf(stdout, "%s: %d of %d examples captured; hand-written:\n\t%s\n", svc, len(edits), len(all), strings.Join(kept, "\n\t"))
	}
	if len(errs) > 0 {
		return fmt.Errorf("nothing written:\n%w", errors.Join(errs...))
	}
	if *dry {
		return nil
	}
	for _, svc := range services {
		if err := os.WriteFile(filepath.Join(abs, svc, "openapi.json"), out[svc], 0o644); err != nil {
			return err
		}
	}
	return nil
}

// examples lists the pointers of every example in the tree: each "example" and each value of an
// "examples" entry, except inside schemas' properties (a property may be named so).
func examples(n *node, at string) []string {
	var out []string
	for i, k := range n.keys {
		kid := n.kids[i]
		p := at + "/" + pointer(k)
		switch {
		case k == "example" && !strings.HasSuffix(at, "/properties"):
			out = append(out, p)
		case k == "examples" && !strings.HasSuffix(at, "/properties") && !kid.array:
			for j, name := range kid.keys {
				if kid.kids[j].child("value") != nil {
					out = append(out, p+"/"+pointer(name)+"/value")
				}
			}
		default:
			out = append(out, examples(kid, p)...)
		}
	}
	if n.array {
		for i, kid := range n.kids {
			out = append(out, examples(kid, fmt.Sprintf("%s/%d", at, i))...)
		}
	}
	return out
}

// defaultPorts moves the programs' ports at offset back to their defaults in URLs.
func defaultPorts(offset int) *strings.Replacer {
	var pairs []string
	for _, p := range stack.Programs {
		for _, host := range []string{"localhost", "127.0.0.1"} {
			pairs = append(pairs, fmt.Sprintf("%s:%d", host, p.Port+offset), fmt.Sprintf("%s:%d", host, p.Port))
		}
		// An instance is named after its address when nothing else names it: realtime's "local-3009".
		pairs = append(pairs, fmt.Sprintf("local-%d", p.Port+offset), fmt.Sprintf("local-%d", p.Port))
	}
	return strings.NewReplacer(pairs...)
}

// leaked returns a secret that is still in data, if any.
func (s *scrubber) leaked(data []byte) string {
	for _, k := range s.order {
		if strings.Contains(string(data), k) {
			return k
		}
	}
	return ""
}

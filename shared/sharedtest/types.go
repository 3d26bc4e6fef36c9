package sharedtest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/goshop/platform/shared"
)

// documentedType matches an event type as docs/events.md writes it: `order.created`.
var documentedType = regexp.MustCompile("`((?:user|product|inventory|order)\\.[a-z_]+)`")

// EventTypes are the event types docs/events.md names for topics (found from the program's folder,
// where its tests run), sorted.
func EventTypes(tb testing.TB, topics ...string) []string {
	tb.Helper()
	doc, err := os.ReadFile(filepath.Join("..", "docs", "events.md"))
	if err != nil {
		tb.Fatal(err)
	}
	var types []string
	for _, m := range documentedType.FindAllStringSubmatch(string(doc), -1) {
		typ := m[1]
		prefix, _, _ := strings.Cut(typ, ".")
		if !strings.HasSuffix(typ, ".events") && slices.Contains(topics, prefix+".events") && !slices.Contains(types, typ) {
			types = append(types, typ)
		}
	}
	slices.Sort(types)
	return types
}

// CheckConsumerTypes fails tb unless wanted, a consumer's ConsumerConfig.Types, holds exactly the
// event types of its topics its handler acts on: each type EventTypes lists is offered to acts, in
// an event carrying data, and acts reports whether the handler did something with it. A wanted type
// the document does not list fails too: a misspelt name would skip its events for ever.
func CheckConsumerTypes(tb testing.TB, topics, wanted []string, data any, acts func(shared.Event) bool) {
	tb.Helper()
	all := EventTypes(tb, topics...)
	for _, typ := range wanted {
		if !slices.Contains(all, typ) {
			tb.Errorf("wanted type %s is not an event of %v in docs/events.md", typ, topics)
		}
	}
	for _, typ := range all {
		e, err := shared.NewEvent(typ, "aggregate", data)
		if err != nil {
			tb.Fatal(err)
		}
		switch did, listed := acts(e), slices.Contains(wanted, typ); {
		case did && !listed:
			tb.Errorf("the handler acts on %s, which its consumer's Types leave out: it would never see it", typ)
		case !did && listed:
			tb.Errorf("%s is in its consumer's Types, but the handler ignores it", typ)
		}
	}
}

// RefusesUndecodable is an acts for CheckConsumerTypes with data that is no object (a JSON string):
// a handler acts on an event when it tries to decode it, and so reports shared.ErrPoison.
func RefusesUndecodable(h shared.EventHandler) func(shared.Event) bool {
	return func(e shared.Event) bool { return errors.Is(h(context.Background(), e), shared.ErrPoison) }
}

// Undecodable is the data to give CheckConsumerTypes with RefusesUndecodable.
const Undecodable = "not an object"

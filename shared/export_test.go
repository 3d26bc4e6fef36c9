package shared

import (
	"context"
	"time"
)

// TestCollection lends the Mongo test helper to the package's external tests (shared_test), which
// need sharedtest and so cannot live in package shared.
var TestCollection = testCollection

// SetMailQueueClock makes q read the time from now, so tests can let a lease run out.
func SetMailQueueClock(q *MongoMailQueue, now func() time.Time) { q.now = now }

// RenewMail is q.renew, which the mail relay calls before each send.
func RenewMail(ctx context.Context, q MailQueue, id string) (bool, error) { return q.renew(ctx, id) }

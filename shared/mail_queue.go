package shared

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
)

// MailQueue is a mail outbox. Enqueue stores a mail to send; it is an OutboxStore whose entries carry
// one mail each (Topic and Type the mail's Kind, Event.ID its ID, Event.Data the Mail as JSON, in
// CreatedAt order), so the shared Relay delivers it at least once.
type MailQueue interface {
	// Enqueue stores m, stamping CreatedAt when zero. A mail that fails Check is refused with its 400
	// *Error; a second Enqueue of an ID already queued or sent (within MailRetention, in Mongo) is a
	// no-op returning nil, so a redelivered event never sends twice.
	Enqueue(ctx context.Context, m Mail) error
	// Reject sets the mail with id aside for good (the server refused it), with the reason: it is no
	// longer pending and is never sent. An unknown or already finished id is ignored.
	Reject(ctx context.Context, id, reason string) error
	OutboxStore
	// pendingMails is PendingOutbox's mails as they are, for the mail relay (mailOutbox).
	pendingMails(ctx context.Context, limit int) ([]Mail, error)
	// renew reports whether this queue still holds pending mail id, and keeps holding it for as long
	// again as PendingOutbox did: the mail relay asks right before each send, so a mail whose lease
	// ran out while the relay worked through its batch, and that another copy took over, is left to
	// that copy instead of being sent twice.
	renew(ctx context.Context, id string) (bool, error)
}

// Queue states. A sent or rejected mail keeps its metadata (the idempotency key) and loses its
// bodies: a body may hold a single-use link that must not outlive its delivery. The Mongo queue drops
// the rest MailRetention later (EnsureRetention).
const (
	mailPending  = "pending"
	mailSent     = "sent"
	mailRejected = "rejected"
)

// mailEntry is m as an outbox entry: its header (mailHeader) and the Mail as JSON.
func mailEntry(m Mail) (OutboxEntry, error) {
	data, err := json.Marshal(m)
	if err != nil {
		return OutboxEntry{}, err
	}
	e := mailHeader(m)
	e.Event.Data = data
	return e, nil
}

// mailHeader is m's outbox entry without data: Topic and Type its Kind, ID its ID, and the aggregate
// its recipient's address, so the relay's lanes keep a recipient's mails in order.
func mailHeader(m Mail) OutboxEntry {
	return OutboxEntry{Topic: m.Kind, Event: Event{ID: m.ID, Type: m.Kind, Version: 1, OccurredAt: m.CreatedAt,
		AggregateID: recipientKey(m.To)}}
}

// recipientKey is the address of to, lower-cased, or to itself when it does not parse.
func recipientKey(to string) string {
	if a, err := parseRecipient(to); err == nil {
		return strings.ToLower(a.Address)
	}
	return to
}

// entries turns mails into outbox entries (mailEntry).
func entries(mails []Mail, err error) ([]OutboxEntry, error) {
	if err != nil {
		return nil, err
	}
	out := make([]OutboxEntry, 0, len(mails))
	for _, m := range mails {
		e, err := mailEntry(m)
		if err != nil {
			return nil, fmt.Errorf("mails.pending: %w", err)
		}
		out = append(out, e)
	}
	return out, nil
}

func stamp(m *Mail) {
	if m.CreatedAt.IsZero() {
		m.CreatedAt = time.Now().UTC()
	}
	m.CreatedAt = m.CreatedAt.Truncate(time.Millisecond) // what Mongo keeps
}

// MemMailQueue is a MailQueue in memory, for tests and for programs run without Mongo. It keeps
// every mail (the IDs are the idempotency keys) and the pending ones apart, so a relay pass reads
// what waits, not every mail sent since start.
type MemMailQueue struct {
	mu      sync.Mutex
	mails   map[string]*memMail
	pending map[string]*memMail
}

type memMail struct {
	Mail
	status, reason string
}

var _ MailQueue = (*MemMailQueue)(nil)

// NewMemMailQueue returns an empty in-memory queue.
func NewMemMailQueue() *MemMailQueue {
	return &MemMailQueue{mails: map[string]*memMail{}, pending: map[string]*memMail{}}
}

func (q *MemMailQueue) Enqueue(_ context.Context, m Mail) error {
	if err := m.Check(); err != nil {
		return err
	}
	stamp(&m)
	q.mu.Lock()
	defer q.mu.Unlock()
	if _, ok := q.mails[m.ID]; !ok {
		mm := &memMail{Mail: m, status: mailPending}
		q.mails[m.ID], q.pending[m.ID] = mm, mm
	}
	return nil
}

func (q *MemMailQueue) Reject(_ context.Context, id, reason string) error {
	q.finish(id, mailRejected, reason)
	return nil
}

func (q *MemMailQueue) PendingOutbox(ctx context.Context, limit int) ([]OutboxEntry, error) {
	return entries(q.pendingMails(ctx, limit))
}

func (q *MemMailQueue) pendingMails(_ context.Context, limit int) ([]Mail, error) {
	q.mu.Lock()
	pending := make([]Mail, 0, len(q.pending))
	for _, m := range q.pending {
		pending = append(pending, m.Mail)
	}
	q.mu.Unlock()
	slices.SortFunc(pending, func(a, b Mail) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	return pending[:min(limit, len(pending))], nil
}

// renew: one process holds every mail of its memory queue while it is pending.
func (q *MemMailQueue) renew(_ context.Context, id string) (bool, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	_, ok := q.pending[id]
	return ok, nil
}

func (q *MemMailQueue) MarkPublished(_ context.Context, entries []OutboxEntry) error {
	for _, e := range entries {
		q.finish(e.Event.ID, mailSent, "")
	}
	return nil
}

func (q *MemMailQueue) finish(id, status, reason string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if m, ok := q.pending[id]; ok {
		m.status, m.reason, m.Text, m.HTML = status, reason, "", ""
		delete(q.pending, id)
	}
}

// Status returns the state of the mail with id ("pending", "sent", "rejected"; "" when unknown) and
// the mail as stored (bodies are emptied once it is finished). For tests.
func (q *MemMailQueue) Status(id string) (string, Mail) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if m, ok := q.mails[id]; ok {
		return m.status, m.Mail
	}
	return "", Mail{}
}

// MongoMailQueue is a MailQueue in a Mongo collection, one document per mail (the Mail's fields plus
// status, finished_at, reason and the lease). Several copies of a program share the collection, each
// with its own relay: PendingOutbox leases what it returns to its own queue value for Lease, so
// another copy does not send the same mail at the same time (which its recipient would get twice);
// a mail whose sender died is taken over once the lease runs out.
type MongoMailQueue struct {
	coll  *mongo.Collection
	owner string
	// Lease is how long the mails PendingOutbox returns stay reserved to this queue; default 2 min,
	// longer than a relay's attempt at one mail (Mailer.Timeout + 5 s).
	Lease time.Duration
	now   func() time.Time
}

var _ MailQueue = (*MongoMailQueue)(nil)

// NewMongoMailQueue returns a queue in coll; call EnsureIndexes at start-up.
func NewMongoMailQueue(coll *mongo.Collection) *MongoMailQueue {
	return &MongoMailQueue{coll: coll, owner: NewID(), Lease: 2 * time.Minute, now: time.Now}
}

// EnsureIndexes creates the index PendingOutbox reads by.
func (q *MongoMailQueue) EnsureIndexes(ctx context.Context) error {
	return EnsureIndexes(ctx, q.coll, "mails.indexes", mongo.IndexModel{Keys: bson.D{{Key: "status", Value: 1}, {Key: "created_at", Value: 1}, {Key: "_id", Value: 1}}})
}

// MailRetention is how long MongoMailQueue keeps a sent or rejected mail's record (its ID, the
// idempotency key, and its metadata) after it finished: 30 days, user's longest ORDER_MAIL_MAX_AGE,
// so an event redelivered after its mail's record went is too old to cause a mail anyway (auth's
// mails have fresh IDs and need no memory at all).
const MailRetention = 30 * 24 * time.Hour

// EnsureRetention creates the TTL index that removes finished mails MailRetention after they finished;
// pending mails have no finished_at and stay. Servers without TTL indexes (FerretDB) refuse it;
// finished mails are then kept.
func (q *MongoMailQueue) EnsureRetention(ctx context.Context) error {
	_, err := q.coll.Indexes().CreateOne(ctx, mongo.IndexModel{Keys: bson.D{{Key: "finished_at", Value: 1}},
		Options: options.Index().SetName("finished_ttl").SetExpireAfterSeconds(int32(MailRetention.Seconds()))})
	return MongoErr("mails.retention", err)
}

type mongoMail struct {
	Mail   `bson:",inline"`
	Status string `bson:"status"`
}

func (q *MongoMailQueue) Enqueue(ctx context.Context, m Mail) error {
	if err := m.Check(); err != nil {
		return err
	}
	stamp(&m)
	_, err := q.coll.InsertOne(ctx, mongoMail{Mail: m, Status: mailPending})
	if err = MongoErr("mails.enqueue", err); errors.Is(err, ErrConflict) {
		return nil // queued or sent before: the ID is the idempotency key
	}
	return err
}

func (q *MongoMailQueue) Reject(ctx context.Context, id, reason string) error {
	return q.finish(ctx, "mails.reject", []string{id}, bson.M{"status": mailRejected, "reason": reason})
}

// PendingOutbox leases up to limit pending mails, oldest first, that no other copy holds (never
// leased, lease run out, or leased by q itself), one atomic claim each.
func (q *MongoMailQueue) PendingOutbox(ctx context.Context, limit int) ([]OutboxEntry, error) {
	return entries(q.pendingMails(ctx, limit))
}

func (q *MongoMailQueue) pendingMails(ctx context.Context, limit int) ([]Mail, error) {
	now := q.now().UTC()
	opts := options.FindOneAndUpdate().SetSort(bson.D{{Key: "created_at", Value: 1}, {Key: "_id", Value: 1}}).
		SetReturnDocument(options.After)
	claim := bson.M{"$set": bson.M{"lease_owner": q.owner, "lease_until": now.Add(q.Lease)}}
	var out []Mail
	taken := bson.A{}
	for len(out) < limit {
		filter := bson.M{"status": mailPending, "_id": bson.M{"$nin": taken}, "$or": bson.A{
			bson.M{"lease_until": bson.M{"$exists": false}},
			bson.M{"lease_until": bson.M{"$lte": now}},
			bson.M{"lease_owner": q.owner},
		}}
		var d mongoMail
		err := q.coll.FindOneAndUpdate(ctx, filter, claim, opts).Decode(&d)
		if errors.Is(err, mongo.ErrNoDocuments) {
			break
		}
		if err != nil {
			return nil, MongoErr("mails.pending", err)
		}
		out = append(out, d.Mail)
		taken = append(taken, d.ID)
	}
	return out, nil
}

func (q *MongoMailQueue) renew(ctx context.Context, id string) (bool, error) {
	res, err := q.coll.UpdateOne(ctx, bson.M{"_id": id, "status": mailPending, "lease_owner": q.owner},
		bson.M{"$set": bson.M{"lease_until": q.now().UTC().Add(q.Lease)}})
	if err != nil {
		return false, MongoErr("mails.renew", err)
	}
	return res.MatchedCount == 1, nil
}

func (q *MongoMailQueue) MarkPublished(ctx context.Context, entries []OutboxEntry) error {
	ids := make([]string, len(entries))
	for i, e := range entries {
		ids[i] = e.Event.ID
	}
	return q.finish(ctx, "mails.mark_sent", ids, bson.M{"status": mailSent})
}

// finish moves pending mails to a final state and drops their bodies.
func (q *MongoMailQueue) finish(ctx context.Context, op string, ids []string, set bson.M) error {
	if len(ids) == 0 {
		return nil
	}
	set["finished_at"] = time.Now().UTC()
	_, err := q.coll.UpdateMany(ctx, bson.M{"_id": bson.M{"$in": ids}, "status": mailPending},
		bson.M{"$set": set, "$unset": bson.M{"text": "", "html": ""}})
	return MongoErr(op, err)
}

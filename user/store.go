package main

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/goshop/platform/shared"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
)

// Profile statuses. A suspended account cannot log in (auth ends its sessions on user.status_changed)
// and cannot change its profile here.
const (
	statusActive    = "active"
	statusSuspended = "suspended"
)

// Profile is one user's profile document. ID is auth's user ID. Addresses live inside the profile so
// that every invariant over them (at most maxAddresses, at most one default) is checked and written in
// one atomic operation on one document.
type Profile struct {
	ID          string      `bson:"_id"`
	Email       string      `bson:"email"`
	Name        string      `bson:"name"`
	Role        string      `bson:"role"`
	Status      string      `bson:"status"`
	Phone       string      `bson:"phone"`
	Preferences Preferences `bson:"preferences"`
	Addresses   []Address   `bson:"addresses"`
	CreatedAt   time.Time   `bson:"created_at"`
	UpdatedAt   time.Time   `bson:"updated_at"`

	// Version counts writes; the Mongo store's Update compares and swaps on it.
	Version int64 `bson:"version"`
	// Outbox holds the events written together with the change that caused them and not yet
	// acknowledged by Kafka; the relay publishes and removes them (events.go).
	Outbox []outboxEvent `bson:"outbox"`
	// HasPending mirrors len(Outbox) > 0 so the relay can find such profiles with an index.
	HasPending bool `bson:"has_pending"`
	// LastEventAt is the occurred_at of the user's latest event: each next one is at least 1 ms later,
	// because consumers (auth) order status events by occurred_at at millisecond precision.
	LastEventAt time.Time `bson:"last_event_at"`

	// EmailVerified mirrors auth's account: set by user.email_verified (which also carries a changed
	// address), applied only when newer than EmailVerifiedAt, the occurred_at of the one applied last.
	EmailVerified   bool      `bson:"email_verified"`
	EmailVerifiedAt time.Time `bson:"email_verified_at"`
}

// Preferences are the user's shop settings. OrderEmailsOff turns the optional order mails (shipped,
// delivered) off; it is stored negated so that profiles written before it existed read as on. The
// API shows it as "order_emails" (preferencesView). Confirmations, receipts, cancellations and
// rejections are records of a purchase and always sent.
type Preferences struct {
	Newsletter     bool   `bson:"newsletter"`
	Currency       string `bson:"currency"`
	OrderEmailsOff bool   `bson:"order_emails_off"`
}

// orderEmails reports whether the optional order mails are on (the default).
func (p Preferences) orderEmails() bool { return !p.OrderEmailsOff }

// Address is a postal address of a user; IsDefault marks the default shipping address (at most one).
type Address struct {
	ID        string `bson:"id" json:"id"`
	Name      string `bson:"name" json:"name"`
	Street    string `bson:"street" json:"street"`
	City      string `bson:"city" json:"city"`
	State     string `bson:"state" json:"state"`
	ZipCode   string `bson:"zip_code" json:"zip_code"`
	Country   string `bson:"country" json:"country"`
	IsDefault bool   `bson:"is_default" json:"is_default"`
}

// outboxEvent is an event waiting in a profile's outbox.
type outboxEvent struct {
	Topic       string    `bson:"topic"`
	ID          string    `bson:"id"`
	Type        string    `bson:"type"`
	OccurredAt  time.Time `bson:"occurred_at"`
	AggregateID string    `bson:"aggregate_id"`
	Data        []byte    `bson:"data"`
}

func newOutboxEvent(topic string, e shared.Event) outboxEvent {
	return outboxEvent{Topic: topic, ID: e.ID, Type: e.Type, OccurredAt: e.OccurredAt, AggregateID: e.AggregateID, Data: e.Data}
}

func (o outboxEvent) event() shared.Event {
	return shared.Event{ID: o.ID, Type: o.Type, Version: 1, OccurredAt: o.OccurredAt, AggregateID: o.AggregateID, Data: o.Data}
}

// clone returns a deep copy of p, so callers never share slices with a store.
func (p Profile) clone() Profile {
	p.Addresses = append([]Address(nil), p.Addresses...)
	p.Outbox = append([]outboxEvent(nil), p.Outbox...)
	for i := range p.Outbox {
		p.Outbox[i].Data = append([]byte(nil), p.Outbox[i].Data...)
	}
	return p
}

// updated is the state an Update stores: a copy of p changed by fn, with the ID kept, the version one
// up and HasPending set from the outbox. fn's error is returned as it is.
func (p Profile) updated(fn func(*Profile) error) (Profile, error) {
	next := p.clone()
	if err := fn(&next); err != nil {
		return Profile{}, err
	}
	next.ID = p.ID
	next.Version = p.Version + 1
	next.HasPending = len(next.Outbox) > 0
	return next, nil
}

// listFilter selects profiles for the admin list. Status "" means any; Q matches a case-insensitive
// substring of the email or the name. Page starts at 1.
type listFilter struct {
	Status string
	Q      string
	Page   int
	Limit  int
}

// profileStore keeps profiles. Every method returns errors wrapping shared.ErrNotFound,
// shared.ErrConflict or shared.ErrUnavailable where stated, anything else for backend failures.
type profileStore interface {
	// Get returns the profile with id, or ErrNotFound.
	Get(ctx context.Context, id string) (Profile, error)
	// Create inserts p (Version 0); ErrConflict if a profile with p.ID exists.
	Create(ctx context.Context, p Profile) error
	// Update applies fn to the current profile and stores the result in one atomic write, so that
	// concurrent writers never lose each other's changes nor break an invariant fn checks. fn may run
	// more than once (on contention) and must only change the profile it is given; an error from fn
	// aborts the update with nothing written and is returned as it is. Update bumps Version and sets
	// HasPending. ErrNotFound if there is no such profile; ErrConflict if contention outlasts the
	// retries.
	Update(ctx context.Context, id string, fn func(*Profile) error) (Profile, error)
	// List returns one page of profiles matching f, ordered by creation time then ID, and the number
	// of all matching profiles.
	List(ctx context.Context, f listFilter) ([]Profile, int64, error)
	// Pending returns up to limit profiles whose outbox is not empty.
	Pending(ctx context.Context, limit int) ([]Profile, error)
}

// updateRetries bounds the compare-and-swap attempts of mongoProfileStore.Update.
const updateRetries = 16

// mongoProfileStore keeps profiles in the "profiles" collection, one document per user.
type mongoProfileStore struct {
	c *mongo.Collection
}

var _ profileStore = (*mongoProfileStore)(nil)

func newMongoProfileStore(db *mongo.Database) *mongoProfileStore {
	return &mongoProfileStore{c: db.Collection("profiles")}
}

// listSort is the admin list's order: oldest account first, the ID breaking ties.
var listSort = bson.D{{Key: "created_at", Value: 1}, {Key: "_id", Value: 1}}

// profileIndexes are the indexes the queries use: list order, status filter, outbox scan. The status
// filter's index ends in listSort's keys, _id included: without the tie-breaker MongoDB reads every
// profile of that status and sorts them in memory on every page. Indexes are matched by their
// default names, so the older status_1_created_at_1 stays beside it unused (an operator may drop it).
var profileIndexes = []mongo.IndexModel{
	{Keys: bson.D{{Key: "created_at", Value: 1}, {Key: "_id", Value: 1}}},
	{Keys: bson.D{{Key: "status", Value: 1}, {Key: "created_at", Value: 1}, {Key: "_id", Value: 1}}},
	{Keys: bson.D{{Key: "has_pending", Value: 1}}},
}

// EnsureIndexes creates profileIndexes.
func (s *mongoProfileStore) EnsureIndexes(ctx context.Context) error {
	return shared.EnsureIndexes(ctx, s.c, "profiles.indexes", profileIndexes...)
}

func (s *mongoProfileStore) Get(ctx context.Context, id string) (Profile, error) {
	return shared.FindOne[Profile](ctx, s.c, "profiles.get", bson.D{{Key: "_id", Value: id}})
}

func (s *mongoProfileStore) Create(ctx context.Context, p Profile) error {
	p.Version = 0
	p.HasPending = len(p.Outbox) > 0
	_, err := s.c.InsertOne(ctx, p)
	return shared.MongoErr("profiles.create", err)
}

// Update reads the profile, applies fn and replaces the document only if its version is still the one
// read (compare-and-swap); a lost race reads again and retries.
func (s *mongoProfileStore) Update(ctx context.Context, id string, fn func(*Profile) error) (Profile, error) {
	for range updateRetries {
		cur, err := s.Get(ctx, id)
		if err != nil {
			return Profile{}, fmt.Errorf("profiles.update: %w", err)
		}
		next, err := cur.updated(fn)
		if err != nil {
			return Profile{}, err
		}
		res, err := s.c.ReplaceOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "version", Value: cur.Version}}, next)
		if err != nil {
			return Profile{}, shared.MongoErr("profiles.update", err)
		}
		if res.MatchedCount == 1 {
			return next, nil
		}
	}
	return Profile{}, fmt.Errorf("profiles.update %s: %w: too much contention", id, shared.ErrConflict)
}

func (s *mongoProfileStore) List(ctx context.Context, f listFilter) ([]Profile, int64, error) {
	filter := bson.D{}
	if f.Status != "" {
		filter = append(filter, bson.E{Key: "status", Value: f.Status})
	}
	if f.Q != "" {
		// QuoteMeta: the query is text to find, never a pattern the client controls.
		re := bson.D{{Key: "$regex", Value: regexp.QuoteMeta(f.Q)}, {Key: "$options", Value: "i"}}
		filter = append(filter, bson.E{Key: "$or", Value: bson.A{
			bson.D{{Key: "email", Value: re}},
			bson.D{{Key: "name", Value: re}},
		}})
	}
	total, err := s.c.CountDocuments(ctx, filter)
	if err != nil {
		return nil, 0, shared.MongoErr("profiles.count", err)
	}
	opts := options.Find().
		SetSort(listSort).
		SetSkip(int64((f.Page - 1) * f.Limit)).
		SetLimit(int64(f.Limit))
	out, err := shared.FindAll[Profile](ctx, s.c, "profiles.list", filter, opts)
	if err != nil {
		return nil, 0, err
	}
	return out, total, nil
}

func (s *mongoProfileStore) Pending(ctx context.Context, limit int) ([]Profile, error) {
	return shared.FindAll[Profile](ctx, s.c, "profiles.pending", bson.D{{Key: "has_pending", Value: true}},
		options.Find().SetLimit(int64(limit)))
}

// errNoProfile reports whether err says the profile does not exist.
func errNoProfile(err error) bool { return errors.Is(err, shared.ErrNotFound) }

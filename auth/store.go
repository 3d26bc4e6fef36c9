package main

import (
	"context"
	"fmt"
	"time"

	"github.com/goshop/platform/shared"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
)

// Account statuses, set by the user service through user.status_changed.
const (
	statusActive    = "active"
	statusSuspended = "suspended"
)

// account is a sign-in identity: credentials, role and status. Profiles and addresses live in the
// user service, keyed by the same ID.
type account struct {
	ID           string    `bson:"_id"`
	Email        string    `bson:"email"` // normalised, unique
	Name         string    `bson:"name"`
	Role         string    `bson:"role"`
	PasswordHash []byte    `bson:"password_hash"`
	Status       string    `bson:"status"`
	StatusAt     time.Time `bson:"status_at"` // occurred_at of the status event applied last
	NameAt       time.Time `bson:"name_at"`   // occurred_at of the user.updated applied last
	CreatedAt    time.Time `bson:"created_at"`
	UpdatedAt    time.Time `bson:"updated_at"`
	// EventPending marks an account whose user.registered event is not yet acknowledged by Kafka: the
	// flag is the outbox, written in the same document as the account, so no event is lost when Kafka
	// is down and no transaction is needed.
	EventPending bool `bson:"event_pending"`
	// EmailVerified is set when the holder followed a verification link mailed to Email, at
	// EmailVerifiedAt (whole milliseconds); EmailEventPending is the outbox flag of the
	// user.email_verified event that tells the user service, cleared once Kafka has it.
	EmailVerified     bool      `bson:"email_verified"`
	EmailVerifiedAt   time.Time `bson:"email_verified_at"`
	EmailEventPending bool      `bson:"email_event_pending"`
}

func (a account) suspended() bool { return a.Status == statusSuspended }

// accountStore keeps accounts.
type accountStore interface {
	// Create inserts a; ErrConflict when the email is taken (a unique index decides, not a lookup).
	Create(ctx context.Context, a account) error
	// ByEmail returns the account with the normalised email; ErrNotFound.
	ByEmail(ctx context.Context, email string) (account, error)
	// ByID returns the account; ErrNotFound.
	ByID(ctx context.Context, id string) (account, error)
	// SetStatus sets the status if at is newer than the status applied last, so a replayed or
	// out-of-order event changes nothing; it reports whether it applied. ErrNotFound.
	SetStatus(ctx context.Context, id, status string, at time.Time) (bool, error)
	// SetName sets the name if at is newer than the name change applied last (user.updated), and
	// reports whether it applied. ErrNotFound.
	SetName(ctx context.Context, id, name string, at time.Time) (bool, error)
	// SetPasswordHash replaces the password hash (a re-hash at a new bcrypt cost); ErrNotFound.
	SetPasswordHash(ctx context.Context, id string, hash []byte) error
	// VerifyEmail sets the account's email to the verified address email at at, and marks its
	// user.email_verified pending; ErrConflict when another account has that email, ErrNotFound.
	VerifyEmail(ctx context.Context, id, email string, at time.Time) error
	// PendingEvents returns up to limit accounts with an event not yet published (EventPending or
	// EmailEventPending), oldest first.
	PendingEvents(ctx context.Context, limit int) ([]account, error)
	// MarkPublished clears EventPending; ErrNotFound.
	MarkPublished(ctx context.Context, id string) error
	// MarkEmailPublished clears EmailEventPending if the account was verified at at, so a newer
	// verification that raced the relay stays pending. A missing account is not an error.
	MarkEmailPublished(ctx context.Context, id string, at time.Time) error
}

// mongoAccountStore keeps accounts in the "accounts" collection.
type mongoAccountStore struct {
	c *mongo.Collection
}

var _ accountStore = (*mongoAccountStore)(nil)

func newMongoAccountStore(db *mongo.Database) *mongoAccountStore {
	return &mongoAccountStore{c: db.Collection("accounts")}
}

// EnsureIndexes creates the unique email index and the outbox index when missing, so every start
// calls it (retried until Mongo answers).
func (s *mongoAccountStore) EnsureIndexes(ctx context.Context) error {
	return shared.EnsureIndexes(ctx, s.c, "accounts.indexes",
		mongo.IndexModel{Keys: bson.D{{Key: "email", Value: 1}}, Options: options.Index().SetUnique(true).SetName("email_unique")},
		// A plain index, not a partial one: FerretDB (devstack) does not implement partialFilterExpression.
		mongo.IndexModel{Keys: bson.D{{Key: "event_pending", Value: 1}}, Options: options.Index().SetName("event_pending")},
		mongo.IndexModel{Keys: bson.D{{Key: "email_event_pending", Value: 1}}, Options: options.Index().SetName("email_event_pending")},
	)
}

func (s *mongoAccountStore) Create(ctx context.Context, a account) error {
	_, err := s.c.InsertOne(ctx, a)
	return shared.MongoErr("accounts.create", err)
}

func (s *mongoAccountStore) ByEmail(ctx context.Context, email string) (account, error) {
	return shared.FindOne[account](ctx, s.c, "accounts.by_email", bson.D{{Key: "email", Value: email}})
}

func (s *mongoAccountStore) ByID(ctx context.Context, id string) (account, error) {
	return shared.FindOne[account](ctx, s.c, "accounts.by_id", bson.D{{Key: "_id", Value: id}})
}

func (s *mongoAccountStore) SetStatus(ctx context.Context, id, status string, at time.Time) (bool, error) {
	return s.setNewer(ctx, "accounts.set_status", id, "status", status, "status_at", at)
}

func (s *mongoAccountStore) SetName(ctx context.Context, id, name string, at time.Time) (bool, error) {
	return s.setNewer(ctx, "accounts.set_name", id, "name", name, "name_at", at)
}

// setNewer sets field to value, and atField to at, when at is newer than atField (or the account has
// none: written before the field existed), in one conditional update, so a replayed or out-of-order
// event changes nothing; it reports whether it applied. ErrNotFound for an unknown account.
func (s *mongoAccountStore) setNewer(ctx context.Context, op, id, field, value, atField string, at time.Time) (bool, error) {
	older := bson.A{bson.D{{Key: atField, Value: bson.D{{Key: "$lt", Value: at}}}},
		bson.D{{Key: atField, Value: bson.D{{Key: "$exists", Value: false}}}}}
	res, err := s.c.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "$or", Value: older}},
		bson.D{{Key: "$set", Value: bson.D{{Key: field, Value: value}, {Key: atField, Value: at},
			{Key: "updated_at", Value: time.Now().UTC()}}}})
	if err != nil {
		return false, shared.MongoErr(op, err)
	}
	if res.MatchedCount == 1 {
		return true, nil
	}
	// Nothing matched: either no such account or a newer change already applied.
	if _, err := s.ByID(ctx, id); err != nil {
		return false, fmt.Errorf("%s: %w", op, err)
	}
	return false, nil
}

func (s *mongoAccountStore) SetPasswordHash(ctx context.Context, id string, hash []byte) error {
	res, err := s.c.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "password_hash", Value: hash}, {Key: "updated_at", Value: time.Now().UTC()}}}})
	if err != nil {
		return shared.MongoErr("accounts.set_password_hash", err)
	}
	if res.MatchedCount == 0 {
		return fmt.Errorf("accounts.set_password_hash: %w", shared.ErrNotFound)
	}
	return nil
}

func (s *mongoAccountStore) VerifyEmail(ctx context.Context, id, email string, at time.Time) error {
	// The unique index decides; the lookup first only turns the common case into ErrConflict on
	// FerretDB (devstack), which reports a unique violation in an update as an internal error.
	if other, err := s.ByEmail(ctx, email); err == nil && other.ID != id {
		return fmt.Errorf("accounts.verify_email: %w: email taken", shared.ErrConflict)
	}
	res, err := s.c.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "email", Value: email}, {Key: "email_verified", Value: true},
			{Key: "email_verified_at", Value: at}, {Key: "email_event_pending", Value: true}, {Key: "updated_at", Value: time.Now().UTC()}}}})
	if err != nil {
		return shared.MongoErr("accounts.verify_email", err)
	}
	if res.MatchedCount == 0 {
		return fmt.Errorf("accounts.verify_email: %w", shared.ErrNotFound)
	}
	return nil
}

func (s *mongoAccountStore) MarkEmailPublished(ctx context.Context, id string, at time.Time) error {
	_, err := s.c.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "email_verified_at", Value: at}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "email_event_pending", Value: false}}}})
	if err != nil {
		return shared.MongoErr("accounts.mark_email_published", err)
	}
	// Nothing matched: a newer verification is pending (or the account is gone).
	return nil
}

func (s *mongoAccountStore) PendingEvents(ctx context.Context, limit int) ([]account, error) {
	return shared.FindAll[account](ctx, s.c, "accounts.pending", bson.D{{Key: "$or", Value: bson.A{
		bson.D{{Key: "event_pending", Value: true}}, bson.D{{Key: "email_event_pending", Value: true}}}}},
		options.Find().SetLimit(int64(limit)).SetSort(bson.D{{Key: "created_at", Value: 1}}))
}

func (s *mongoAccountStore) MarkPublished(ctx context.Context, id string) error {
	res, err := s.c.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "event_pending", Value: false}}}})
	if err != nil {
		return shared.MongoErr("accounts.mark_published", err)
	}
	if res.MatchedCount == 0 {
		return fmt.Errorf("accounts.mark_published: %w", shared.ErrNotFound)
	}
	return nil
}

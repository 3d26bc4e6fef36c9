package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/goshop/platform/shared"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
)

// Purposes of a mailed link.
const (
	// linkReset sets a new password (POST /password/reset).
	linkReset = "password_reset"
	// linkVerify proves that Email reaches the account holder (POST /email/verify): the address of a
	// new account, or the new address of an e-mail change, which applies only then.
	linkVerify = "email_verify"
)

// linkTTL is how long a mailed link works.
const linkTTL = 30 * time.Minute

// link is a single-use secret mailed to an address. Stores keep only the SHA-256 of the secret
// (Hash), so a database dump opens no account. An account has at most one live link per purpose:
// saving a new one replaces the old, so only the newest mail works.
type link struct {
	Hash    string `bson:"hash"`
	Purpose string `bson:"purpose"`
	UserID  string `bson:"user_id"`
	// Email is the address the link was mailed to; for linkVerify, the address it verifies.
	Email     string    `bson:"email"`
	CreatedAt time.Time `bson:"created_at"`
	ExpiresAt time.Time `bson:"expires_at"`
}

// newLink returns a fresh link and its secret, valid for linkTTL from now. The secret is 32 random
// bytes (shared.RandomToken), base64url, so it travels in a URL as is.
func newLink(purpose, userID, email string, now time.Time) (link, string) {
	secret := shared.RandomToken()
	return link{Hash: tokenHash(secret), Purpose: purpose, UserID: userID, Email: email,
		CreatedAt: now.UTC(), ExpiresAt: now.Add(linkTTL).UTC()}, secret
}

// linkStore keeps mailed links.
type linkStore interface {
	// Save stores l as the account's one live link of its purpose, replacing an older one.
	Save(ctx context.Context, l link) error
	// Take consumes the link of purpose whose secret hashes to hash, if it has not expired at now: it
	// is deleted in the same operation, so two concurrent Takes cannot both get it. ErrNotFound when
	// unknown, used (replaced) or expired.
	Take(ctx context.Context, purpose, hash string, now time.Time) (link, error)
	// Delete removes the account's link of purpose, if any (a password change voids a pending reset).
	Delete(ctx context.Context, userID, purpose string) error
	// Live returns the account's link of purpose if it has not expired at now; ErrNotFound otherwise.
	Live(ctx context.Context, userID, purpose string, now time.Time) (link, error)
}

// mongoLinkStore keeps links in the "links" collection, _id "<user id>:<purpose>", so Save is one
// upsert and an account never holds more than one live link per purpose. Expired links stay until
// replaced (at most two per account) and never work: Take checks expires_at.
type mongoLinkStore struct {
	c *mongo.Collection
}

var _ linkStore = (*mongoLinkStore)(nil)

func newMongoLinkStore(db *mongo.Database) *mongoLinkStore {
	return &mongoLinkStore{c: db.Collection("links")}
}

// EnsureIndexes creates the unique index on the secret's hash, which Take looks up.
func (s *mongoLinkStore) EnsureIndexes(ctx context.Context) error {
	return shared.EnsureIndexes(ctx, s.c, "links.indexes",
		mongo.IndexModel{Keys: bson.D{{Key: "hash", Value: 1}}, Options: options.Index().SetUnique(true).SetName("hash_unique")})
}

func linkID(userID, purpose string) string { return userID + ":" + purpose }

func (s *mongoLinkStore) Save(ctx context.Context, l link) error {
	_, err := s.c.ReplaceOne(ctx, bson.D{{Key: "_id", Value: linkID(l.UserID, l.Purpose)}}, l, options.Replace().SetUpsert(true))
	return shared.MongoErr("links.save", err)
}

func (s *mongoLinkStore) Take(ctx context.Context, purpose, hash string, now time.Time) (link, error) {
	var l link
	err := s.c.FindOneAndDelete(ctx, bson.D{{Key: "hash", Value: hash}, {Key: "purpose", Value: purpose},
		{Key: "expires_at", Value: bson.D{{Key: "$gt", Value: now.UTC()}}}}).Decode(&l)
	return l, shared.MongoErr("links.take", err)
}

func (s *mongoLinkStore) Delete(ctx context.Context, userID, purpose string) error {
	_, err := s.c.DeleteOne(ctx, bson.D{{Key: "_id", Value: linkID(userID, purpose)}})
	return shared.MongoErr("links.delete", err)
}

func (s *mongoLinkStore) Live(ctx context.Context, userID, purpose string, now time.Time) (link, error) {
	return shared.FindOne[link](ctx, s.c, "links.live", bson.D{{Key: "_id", Value: linkID(userID, purpose)},
		{Key: "expires_at", Value: bson.D{{Key: "$gt", Value: now.UTC()}}}})
}

// memLinkStore is the in-memory linkStore.
type memLinkStore struct {
	mu    sync.Mutex
	links map[string]link // by linkID
}

var _ linkStore = (*memLinkStore)(nil)

func newMemLinkStore() *memLinkStore { return &memLinkStore{links: map[string]link{}} }

func (s *memLinkStore) Save(_ context.Context, l link) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, o := range s.links {
		if o.Hash == l.Hash && id != linkID(l.UserID, l.Purpose) {
			return fmt.Errorf("links.save: %w: hash taken", shared.ErrConflict)
		}
	}
	s.links[linkID(l.UserID, l.Purpose)] = l
	return nil
}

func (s *memLinkStore) Take(_ context.Context, purpose, hash string, now time.Time) (link, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, l := range s.links {
		if l.Hash == hash && l.Purpose == purpose && l.ExpiresAt.After(now) {
			delete(s.links, id)
			return l, nil
		}
	}
	return link{}, fmt.Errorf("links.take: %w", shared.ErrNotFound)
}

func (s *memLinkStore) Delete(_ context.Context, userID, purpose string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.links, linkID(userID, purpose))
	return nil
}

func (s *memLinkStore) Live(_ context.Context, userID, purpose string, now time.Time) (link, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if l, ok := s.links[linkID(userID, purpose)]; ok && l.ExpiresAt.After(now) {
		return l, nil
	}
	return link{}, fmt.Errorf("links.live: %w", shared.ErrNotFound)
}

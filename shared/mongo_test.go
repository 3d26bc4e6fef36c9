package shared

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
)

func TestIndexName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		m    mongo.IndexModel
		want string
	}{
		{mongo.IndexModel{Keys: bson.D{{Key: "created_at", Value: 1}, {Key: "_id", Value: 1}}}, "created_at_1__id_1"},
		{mongo.IndexModel{Keys: bson.D{{Key: "user_id", Value: 1}, {Key: "created_at", Value: -1}}}, "user_id_1_created_at_-1"},
		{mongo.IndexModel{Keys: bson.D{{Key: "name", Value: "text"}}}, "name_text"},
		{mongo.IndexModel{Keys: bson.D{{Key: "sku", Value: 1}}, Options: options.Index().SetName("sku_unique")}, "sku_unique"},
	}
	for _, tt := range tests {
		if got := IndexName(tt.m); got != tt.want {
			t.Errorf("IndexName(%v) = %q, want %q", tt.m.Keys, got, tt.want)
		}
	}
}

// testCollection returns a collection in a fresh database of the MongoDB at MONGO_TEST_URI (MongoDB
// or FerretDB), dropped when t ends, and a context for the test; without MONGO_TEST_URI, t is skipped.
func testCollection(t *testing.T) (context.Context, *mongo.Collection) {
	t.Helper()
	uri := os.Getenv("MONGO_TEST_URI")
	if uri == "" {
		t.Skip("MONGO_TEST_URI not set")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	client, err := ConnectMongo(ctx, uri, MongoOptions{}, true)
	if err != nil {
		t.Fatal(err)
	}
	db := client.Database("shared_test_" + NewID()[:8])
	t.Cleanup(func() {
		db.Drop(context.Background())
		client.Disconnect(context.Background())
	})
	return ctx, db.Collection("things")
}

// TestEnsureIndexesTwice runs against MONGO_TEST_URI (MongoDB or FerretDB; skipped without it): a
// second start finds its indexes and creates nothing, and the names match what the server made. The
// models come back untouched: the driver writes each index's name into the options it is given, and
// stores keep their models in package variables that two EnsureIndexes may read at once.
func TestEnsureIndexesTwice(t *testing.T) {
	ctx, coll := testCollection(t)
	models := []mongo.IndexModel{
		{Keys: bson.D{{Key: "created_at", Value: 1}, {Key: "_id", Value: 1}}},
		{Keys: bson.D{{Key: "user_id", Value: 1}, {Key: "created_at", Value: -1}}, Options: options.Index().SetName("user_created")},
		{Keys: bson.D{{Key: "sku", Value: 1}}, Options: options.Index().SetUnique(true)},
	}
	for i := range 2 {
		if err := EnsureIndexes(ctx, coll, "test.indexes", models...); err != nil {
			t.Fatalf("EnsureIndexes #%d: %v", i+1, err)
		}
	}
	specs, err := coll.Indexes().ListSpecifications(ctx)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, s := range specs {
		names[s.Name] = true
	}
	for _, m := range models {
		if !names[IndexName(m)] {
			t.Errorf("index %q not found among %v", IndexName(m), names)
		}
	}
	if n := models[2].Options.Name; n != nil {
		t.Errorf("EnsureIndexes wrote the name %q into the caller's index options", *n)
	}
}

// thing is the document TestFindAll and TestFindOne read.
type thing struct {
	ID   string `bson:"_id"`
	Kind string `bson:"kind"`
	N    int    `bson:"n"`
}

// testThings returns a fresh collection (testCollection) holding things.
func testThings(t *testing.T, things ...thing) (context.Context, *mongo.Collection) {
	t.Helper()
	ctx, coll := testCollection(t)
	for _, th := range things {
		if _, err := coll.InsertOne(ctx, th); err != nil {
			t.Fatal(err)
		}
	}
	return ctx, coll
}

// TestFindAll runs against MONGO_TEST_URI (MongoDB or FerretDB; skipped without it): matches come
// back decoded in the asked order, no match is an empty (not nil) slice, and a failing query is
// prefixed with op.
func TestFindAll(t *testing.T) {
	ctx, coll := testThings(t, thing{"a", "x", 3}, thing{"b", "y", 1}, thing{"c", "x", 2})

	got, err := FindAll[thing](ctx, coll, "things.list", bson.D{{Key: "kind", Value: "x"}}, options.Find().SetSort(bson.D{{Key: "n", Value: 1}}))
	if err != nil || len(got) != 2 || got[0].ID != "c" || got[1].ID != "a" {
		t.Errorf("FindAll(kind=x, by n) = %+v, %v; want c then a", got, err)
	}
	none, err := FindAll[thing](ctx, coll, "things.list", bson.D{{Key: "kind", Value: "z"}})
	if err != nil || none == nil || len(none) != 0 {
		t.Errorf("FindAll(kind=z) = %#v, %v; want an empty, non-nil slice", none, err)
	}
	_, err = FindAll[thing](ctx, coll, "things.bad", bson.D{{Key: "$nope", Value: 1}})
	if err == nil || !strings.HasPrefix(err.Error(), "things.bad: ") || errors.Is(err, ErrNotFound) {
		t.Errorf("FindAll(bad operator) error = %v, want one prefixed with things.bad", err)
	}
}

// TestFindOne runs against MONGO_TEST_URI (skipped without it): a match comes back decoded (with the
// projection applied), no match is ErrNotFound prefixed with op, and a failing query is prefixed with op.
func TestFindOne(t *testing.T) {
	ctx, coll := testThings(t, thing{"a", "x", 3}, thing{"b", "y", 1})

	got, err := FindOne[thing](ctx, coll, "things.get", bson.D{{Key: "kind", Value: "y"}})
	if err != nil || got != (thing{"b", "y", 1}) {
		t.Errorf("FindOne(kind=y) = %+v, %v; want b", got, err)
	}
	got, err = FindOne[thing](ctx, coll, "things.get", bson.D{{Key: "_id", Value: "a"}}, options.FindOne().SetProjection(bson.D{{Key: "n", Value: 0}}))
	if err != nil || got != (thing{ID: "a", Kind: "x"}) {
		t.Errorf("FindOne(_id=a, without n) = %+v, %v; want a without n", got, err)
	}
	got, err = FindOne[thing](ctx, coll, "things.get", bson.D{{Key: "_id", Value: "z"}})
	if !errors.Is(err, ErrNotFound) || !strings.HasPrefix(err.Error(), "things.get: ") || got != (thing{}) {
		t.Errorf("FindOne(_id=z) = %+v, %v; want the zero thing and things.get: ErrNotFound", got, err)
	}
	_, err = FindOne[thing](ctx, coll, "things.bad", bson.D{{Key: "$nope", Value: 1}})
	if err == nil || !strings.HasPrefix(err.Error(), "things.bad: ") || errors.Is(err, ErrNotFound) {
		t.Errorf("FindOne(bad operator) error = %v, want one prefixed with things.bad", err)
	}
}

// TestPrefixRegex: client text is quoted and anchored, so it matches only literally and at the start.
func TestPrefixRegex(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ in, want string }{
		{"abc", `^abc`},
		{"a.b*", `^a\.b\*`},
		{"^(x|y)$", `^\^\(x\|y\)\$`},
		{"", `^`},
	} {
		got := PrefixRegex(tt.in)
		if len(got) != 1 || got[0].Key != "$regex" || got[0].Value != tt.want {
			t.Errorf("PrefixRegex(%q) = %v, want {$regex: %q}", tt.in, got, tt.want)
		}
	}
}

// TestEnsureIndexesError needs no server: a closed client fails the listing, and the error is
// MongoErr's, ErrUnavailable named by op, so a store's EnsureIndexes returns it as it is.
func TestEnsureIndexesError(t *testing.T) {
	t.Parallel()
	client, err := mongo.Connect(context.Background(), options.Client().ApplyURI("mongodb://127.0.0.1:1"))
	if err != nil {
		t.Fatal(err)
	}
	client.Disconnect(context.Background())
	err = EnsureIndexes(context.Background(), client.Database("db").Collection("things"), "things.indexes",
		mongo.IndexModel{Keys: bson.D{{Key: "sku", Value: 1}}})
	if !errors.Is(err, ErrUnavailable) || !strings.HasPrefix(fmt.Sprint(err), "things.indexes: ") {
		t.Errorf("EnsureIndexes on a closed client = %v, want ErrUnavailable prefixed with things.indexes", err)
	}
}

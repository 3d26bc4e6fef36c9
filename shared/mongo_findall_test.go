package shared

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo/options"
)

// TestFindAll runs against MONGO_TEST_URI (MongoDB or FerretDB; skipped without it): matches come
// back decoded in the asked order, no match is an empty (not nil) slice, and a failing query is
// prefixed with op.
func TestFindAll(t *testing.T) {
	uri := os.Getenv("MONGO_TEST_URI")
	if uri == "" {
		t.Skip("MONGO_TEST_URI not set")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client, err := ConnectMongo(ctx, uri, MongoOptions{}, true)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Disconnect(context.Background())
	db := client.Database("shared_test_" + NewID()[:8])
	defer db.Drop(context.Background())
	coll := db.Collection("things")
	type thing struct {
		ID   string `bson:"_id"`
		Kind string `bson:"kind"`
		N    int    `bson:"n"`
	}
	for _, th := range []thing{{"a", "x", 3}, {"b", "y", 1}, {"c", "x", 2}} {
		if _, err := coll.InsertOne(ctx, th); err != nil {
			t.Fatal(err)
		}
	}

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

package sharedtest

import (
	"context"
	"slices"
	"testing"

	"go.mongodb.org/mongo-driver/bson"
)

// TestMongo: without MONGO_TEST_URI there is no database; with it, a test gets a fresh, usable
// database that is gone once the test ends.
func TestMongo(t *testing.T) {
	uri := MongoTestURI()
	t.Run("unset", func(t *testing.T) {
		t.Setenv("MONGO_TEST_URI", "")
		if db := Mongo(t, "sharedtest_"); db != nil {
			t.Errorf("Mongo without MONGO_TEST_URI = %s, want nil", db.Name())
		}
	})
	if uri == "" {
		t.Skip("MONGO_TEST_URI not set")
	}
	var name string
	t.Run("fresh", func(t *testing.T) {
		db := Mongo(t, "sharedtest_")
		name = db.Name()
		if _, err := db.Collection("c").InsertOne(context.Background(), bson.D{{Key: "x", Value: 1}}); err != nil {
			t.Fatal(err)
		}
		if other := Mongo(t, "sharedtest_"); other.Name() == name {
			t.Errorf("two calls gave the same database %s", name)
		}
	})
	probe := Mongo(t, "sharedtest_probe_")
	names, err := probe.Client().ListDatabaseNames(context.Background(), bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(names, name) {
		t.Errorf("database %s still there after its test ended", name)
	}
}

package sharedtest

import (
	"context"
	"path"
	"slices"
	"strings"
	"sync"
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

// TestEachStore: "mem" gets no Mongo settings; "mongo", only with MONGO_TEST_URI, gets its URI and a
// fresh database named by the prefix.
func TestEachStore(t *testing.T) {
	var mu sync.Mutex
	got := map[string]map[string]string{}
	t.Run("run", func(t *testing.T) {
		EachStore(t, "sharedtest_each_", func(t *testing.T, env map[string]string) {
			mu.Lock()
			defer mu.Unlock()
			got[path.Base(t.Name())] = env
		})
	})
	if env, ok := got["mem"]; !ok || len(env) != 0 {
		t.Errorf("mem: ran %t with %v, want an empty environment", ok, env)
	}
	env, ok := got["mongo"]
	if uri := MongoTestURI(); uri == "" {
		if ok {
			t.Errorf("mongo ran without MONGO_TEST_URI")
		}
	} else if !ok || env["MONGO_URI"] != uri || !strings.HasPrefix(env["MONGO_DB"], "sharedtest_each_") || len(env) != 2 {
		t.Errorf("mongo: ran %t with %v, want MONGO_URI %s and a MONGO_DB with the prefix", ok, env, uri)
	}
}

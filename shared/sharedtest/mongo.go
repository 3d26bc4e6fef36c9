package sharedtest

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/goshop/platform/shared"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
)

// MongoTestURI is the MongoDB a contract test may use, from MONGO_TEST_URI (make test-contract points
// it at FerretDB); "" when unset, and the caller skips its Mongo case.
func MongoTestURI() string { return os.Getenv("MONGO_TEST_URI") }

// Mongo returns a fresh database, prefix followed by random characters, on MongoTestURI's server; it
// is dropped and the client disconnected when the test ends. It returns nil when MONGO_TEST_URI is
// unset, and fails the test when the server does not answer.
func Mongo(tb testing.TB, prefix string) *mongo.Database {
	tb.Helper()
	uri := MongoTestURI()
	if uri == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client, err := shared.ConnectMongo(ctx, uri, shared.MongoOptions{AppName: prefix + "test"}, true)
	if err != nil {
		tb.Fatalf("MONGO_TEST_URI set but unreachable: %v", err)
	}
	db := client.Database(prefix + shared.NewID()[:12])
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		db.Drop(ctx)
		client.Disconnect(ctx)
	})
	return db
}

// NonAtomic reports whether db's server may lose one of two concurrent updates of a document, so
// tests that judge such races skip it: FerretDB (a Mongo-wire server on SQLite) reads and rewrites a
// document per update without a lock. MONGO_TEST_SERIAL=1 says the server runs one command at a time
// (the devstack's FerretDB, stack.StartFerret), which makes each update atomic as on MongoDB.
func NonAtomic(db *mongo.Database) bool {
	if os.Getenv("MONGO_TEST_SERIAL") == "1" {
		return false
	}
	var info bson.M
	err := db.RunCommand(context.Background(), bson.D{{Key: "buildInfo", Value: 1}}).Decode(&info)
	return err == nil && info["ferretdbVersion"] != nil
}

// EachStore runs test as parallel subtests of t, one per store a program can run on: "mem" with
// mongoEnv empty, and, when MONGO_TEST_URI is set, "mongo" with mongoEnv holding MONGO_URI and a
// fresh MONGO_DB (prefix followed by random characters, dropped after; MongoDB). mongoEnv is what
// the program's environment adds.
func EachStore(t *testing.T, prefix string, test func(t *testing.T, mongoEnv map[string]string)) {
	t.Helper()
	stores := map[string]func(t *testing.T) map[string]string{"mem": func(*testing.T) map[string]string { return map[string]string{} }}
	if uri := MongoTestURI(); uri != "" {
		stores["mongo"] = func(t *testing.T) map[string]string {
			return map[string]string{"MONGO_URI": uri, "MONGO_DB": MongoDB(t, uri, prefix)}
		}
	}
	for name, env := range stores {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			test(t, env(t))
		})
	}
}

// EachContractStore runs a store's contract test as parallel subtests of t, one per store, each
// given its name and newStore, which makes a fresh store on each call: "mem", from mem, always; and,
// when MONGO_TEST_URI is set, "mongo": onMongo's store on a fresh database (prefix followed by random
// characters, dropped after), its indexes made first when it has an EnsureIndexes method, as the
// program does at start. Without MONGO_TEST_URI it logs that the Mongo case is skipped.
func EachContractStore[S any](t *testing.T, prefix string, mem func() S, onMongo func(*mongo.Database) S, test func(t *testing.T, name string, newStore func(testing.TB) S)) {
	t.Helper()
	for name, newStore := range contractStores(t, prefix, mem, onMongo) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			test(t, name, newStore)
		})
	}
}

func contractStores[S any](tb testing.TB, prefix string, mem func() S, onMongo func(*mongo.Database) S) map[string]func(testing.TB) S {
	tb.Helper()
	stores := map[string]func(testing.TB) S{"mem": func(testing.TB) S { return mem() }}
	if MongoTestURI() == "" {
		tb.Log("MONGO_TEST_URI not set: Mongo contract skipped")
		return stores
	}
	stores["mongo"] = func(tb testing.TB) S {
		tb.Helper()
		s := onMongo(Mongo(tb, prefix))
		if ix, ok := any(s).(interface{ EnsureIndexes(context.Context) error }); ok {
			if err := ix.EnsureIndexes(context.Background()); err != nil {
				tb.Fatalf("%s indexes: %v", prefix, err)
			}
		}
		return s
	}
	return stores
}

package shared

import (
	"context"
	"os"
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

// TestEnsureIndexesTwice runs against MONGO_TEST_URI (MongoDB or FerretDB; skipped without it): a
// second start finds its indexes and creates nothing, and the names match what the server made.
func TestEnsureIndexesTwice(t *testing.T) {
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
	models := []mongo.IndexModel{
		{Keys: bson.D{{Key: "created_at", Value: 1}, {Key: "_id", Value: 1}}},
		{Keys: bson.D{{Key: "user_id", Value: 1}, {Key: "created_at", Value: -1}}, Options: options.Index().SetName("user_created")},
		{Keys: bson.D{{Key: "sku", Value: 1}}, Options: options.Index().SetUnique(true)},
	}
	for i := range 2 {
		if err := EnsureIndexes(ctx, coll, models...); err != nil {
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
}

package sharedtest

import (
	"testing"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
)

func TestSortIndexed(t *testing.T) {
	t.Parallel()
	en := &options.Collation{Locale: "en", Strength: 2}
	index := func(keys bson.D, c *options.Collation) mongo.IndexModel {
		return mongo.IndexModel{Keys: keys, Options: options.Index().SetCollation(c)}
	}
	userCreated := index(bson.D{{Key: "user_id", Value: 1}, {Key: "created_at", Value: -1}}, nil)
	userCreatedID := index(bson.D{{Key: "user_id", Value: 1}, {Key: "created_at", Value: -1}, {Key: "_id", Value: -1}}, nil)
	name := index(bson.D{{Key: "name", Value: 1}, {Key: "_id", Value: 1}}, en)
	newestFirst := bson.D{{Key: "created_at", Value: -1}, {Key: "_id", Value: -1}}
	tests := []struct {
		name      string
		models    []mongo.IndexModel
		eq        []string
		sort      bson.D
		collation *options.Collation
		want      bool
	}{
		{"equality then sort", []mongo.IndexModel{userCreatedID}, []string{"user_id"}, newestFirst, nil, true},
		{"reversed", []mongo.IndexModel{userCreatedID}, []string{"user_id"}, bson.D{{Key: "created_at", Value: 1}, {Key: "_id", Value: 1}}, nil, true},
		{"prefix of the index", []mongo.IndexModel{userCreatedID}, []string{"user_id"}, bson.D{{Key: "created_at", Value: -1}}, nil, true},
		{"tie-breaker missing from the index", []mongo.IndexModel{userCreated}, []string{"user_id"}, newestFirst, nil, false},
		{"mixed directions", []mongo.IndexModel{userCreatedID}, []string{"user_id"}, bson.D{{Key: "created_at", Value: -1}, {Key: "_id", Value: 1}}, nil, false},
		{"equality field not first", []mongo.IndexModel{userCreatedID}, nil, newestFirst, nil, false},
		{"equality field missing", []mongo.IndexModel{userCreatedID}, []string{"status"}, newestFirst, nil, false},
		{"no index", nil, nil, newestFirst, nil, false},
		{"collation matches", []mongo.IndexModel{name}, nil, bson.D{{Key: "name", Value: 1}, {Key: "_id", Value: 1}}, en, true},
		{"collation differs", []mongo.IndexModel{name}, nil, bson.D{{Key: "name", Value: 1}, {Key: "_id", Value: 1}}, nil, false},
		{"text key", []mongo.IndexModel{index(bson.D{{Key: "name", Value: "text"}}, nil)}, nil, bson.D{{Key: "name", Value: 1}}, nil, false},
	}
	for _, tt := range tests {
		if got := SortIndexed(tt.models, tt.eq, tt.sort, tt.collation); got != tt.want {
			t.Errorf("%s: SortIndexed = %v, want %v", tt.name, got, tt.want)
		}
	}
}

package shared

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
	"go.mongodb.org/mongo-driver/mongo/readpref"
)

// MongoOptions tune ConnectMongo. Zero values take the defaults named on each field.
type MongoOptions struct {
	ConnectTimeout         time.Duration // default 5 s
	ServerSelectionTimeout time.Duration // default 5 s
	MaxPoolSize            uint64        // default 100
	MinPoolSize            uint64        // default 0
	AppName                string        // shown in Mongo's logs; default none
}

// ConnectMongo connects to uri and pings the primary once, so a wrong URI fails start-up. A Mongo
// that is merely down at start is not fatal for callers that pass ping=false: the driver reconnects
// by itself and /readyz reports it.
func ConnectMongo(ctx context.Context, uri string, o MongoOptions, ping bool) (*mongo.Client, error) {
	if o.ConnectTimeout == 0 {
		o.ConnectTimeout = 5 * time.Second
	}
	if o.ServerSelectionTimeout == 0 {
		o.ServerSelectionTimeout = 5 * time.Second
	}
	if o.MaxPoolSize == 0 {
		o.MaxPoolSize = 100
	}
	opts := options.Client().ApplyURI(uri).
		SetConnectTimeout(o.ConnectTimeout).
		SetServerSelectionTimeout(o.ServerSelectionTimeout).
		SetMaxPoolSize(o.MaxPoolSize).
		SetMinPoolSize(o.MinPoolSize)
	if o.AppName != "" {
		opts.SetAppName(o.AppName)
	}
	client, err := mongo.Connect(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("mongo connect: %w", err)
	}
	if ping {
		pctx, cancel := context.WithTimeout(ctx, o.ServerSelectionTimeout)
		defer cancel()
		if err := client.Ping(pctx, readpref.Primary()); err != nil {
			client.Disconnect(context.Background())
			return nil, fmt.Errorf("mongo ping: %w", err)
		}
	}
	return client, nil
}

// MongoPing is a readiness check for client.
func MongoPing(client *mongo.Client) func(context.Context) error {
	return func(ctx context.Context) error { return client.Ping(ctx, readpref.Primary()) }
}

// MongoErr translates driver errors into the package sentinels: no documents → ErrNotFound, duplicate
// key → ErrConflict, anything else wrapped as it is; op prefixes the message ("products.get").
func MongoErr(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, mongo.ErrNoDocuments):
		return fmt.Errorf("%s: %w", op, ErrNotFound)
	case mongo.IsDuplicateKeyError(err):
		return fmt.Errorf("%s: %w: %v", op, ErrConflict, err)
	case mongo.IsTimeout(err) || mongo.IsNetworkError(err) || errors.Is(err, mongo.ErrClientDisconnected):
		return fmt.Errorf("%s: %w: %v", op, ErrUnavailable, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// FindAll returns the documents of coll that filter matches, decoded into T: never nil, an empty
// slice when nothing matches (so it encodes as []). Errors of the query and of decoding go through
// MongoErr with op.
func FindAll[T any](ctx context.Context, coll *mongo.Collection, op string, filter any, opts ...*options.FindOptions) ([]T, error) {
	cur, err := coll.Find(ctx, filter, opts...)
	if err != nil {
		return nil, MongoErr(op, err)
	}
	out := []T{}
	if err := cur.All(ctx, &out); err != nil {
		return nil, MongoErr(op, err)
	}
	return out, nil
}

// FindOne returns the first document of coll that filter matches, decoded into T, or the zero T and
// the error through MongoErr with op: no match is ErrNotFound.
func FindOne[T any](ctx context.Context, coll *mongo.Collection, op string, filter any, opts ...*options.FindOneOptions) (T, error) {
	var v T
	if err := coll.FindOne(ctx, filter, opts...).Decode(&v); err != nil {
		var zero T
		return zero, MongoErr(op, err)
	}
	return v, nil
}

// EnsureIndexes creates the indexes of models that coll does not have yet, matched by name (the
// model's Name, or MongoDB's default "field_1_other_-1"). MongoDB treats re-creating an identical
// index as a no-op, but FerretDB drops the connection on an existing compound index, which kept
// services from becoming ready after a restart on persisted devstack data; listing first works on
// both and costs one round trip. Errors go through MongoErr with op ("products.indexes"), so a
// server that is down is ErrUnavailable.
func EnsureIndexes(ctx context.Context, coll *mongo.Collection, op string, models ...mongo.IndexModel) error {
	specs, err := coll.Indexes().ListSpecifications(ctx)
	if err != nil {
		return MongoErr(op, err)
	}
	have := make(map[string]bool, len(specs))
	for _, sp := range specs {
		have[sp.Name] = true
	}
	var missing []mongo.IndexModel
	for _, m := range models {
		if !have[IndexName(m)] {
			// CreateMany writes the name into the model's options (SetName): a copy keeps models a
			// store shares between calls, such as a package's index list, free of that write, which
			// raced with a concurrent EnsureIndexes reading them (start-up retry and a first write).
			if m.Options != nil {
				opts := *m.Options
				m.Options = &opts
			}
			missing = append(missing, m)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	_, err = coll.Indexes().CreateMany(ctx, missing)
	return MongoErr(op, err)
}

// IndexName is the name MongoDB gives m: its explicit Name, else "key_value" pairs joined by "_"
// ({created_at: 1, _id: 1} → "created_at_1__id_1", {name: "text"} → "name_text").
func IndexName(m mongo.IndexModel) string {
	if m.Options != nil && m.Options.Name != nil {
		return *m.Options.Name
	}
	var parts []string
	if keys, ok := m.Keys.(bson.D); ok {
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%s_%v", k.Key, k.Value))
		}
	}
	return strings.Join(parts, "_")
}

// PrefixRegex is the $regex filter value matching strings that start with prefix taken literally:
// quoted (regexp.QuoteMeta), so client text never becomes a pattern, and anchored with "^" and
// case-sensitive, so an index on the field serves it as a range scan. Store the field normalised
// (e.g. lower case) and normalise the prefix the same way.
func PrefixRegex(prefix string) bson.D {
	return bson.D{{Key: "$regex", Value: "^" + regexp.QuoteMeta(prefix)}}
}

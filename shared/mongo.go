package shared

import (
	"context"
	"errors"
	"fmt"
	"time"

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

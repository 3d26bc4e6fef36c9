package shared

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisConfig says where Redis is: URL (redis://[:password@]host:port/db) wins over Host, Port,
// Password and DB. Defaults: 127.0.0.1:6379, DB 0.
type RedisConfig struct {
	URL      string
	Host     string
	Port     int
	Password string
	DB       int
}

// NewRedis returns a go-redis client for cfg with bounded dial/read/write timeouts and retries with
// exponential backoff (8 ms doubling to 512 ms, 3 retries). It does not connect: a Redis that is down
// at start is reported by /readyz, and the client reconnects by itself when it returns.
func NewRedis(cfg RedisConfig) (*redis.Client, error) {
	var opts *redis.Options
	if cfg.URL != "" {
		o, err := redis.ParseURL(cfg.URL)
		if err != nil {
			return nil, fmt.Errorf("redis url: %w", err)
		}
		opts = o
	} else {
		host, port := cfg.Host, cfg.Port
		if host == "" {
			host = "127.0.0.1"
		}
		if port == 0 {
			port = 6379
		}
		opts = &redis.Options{Addr: net.JoinHostPort(host, strconv.Itoa(port)), Password: cfg.Password, DB: cfg.DB}
	}
	opts.DialTimeout = 2 * time.Second
	opts.ReadTimeout = 1 * time.Second
	opts.WriteTimeout = 1 * time.Second
	opts.MaxRetries = 3
	opts.MinRetryBackoff = 8 * time.Millisecond
	opts.MaxRetryBackoff = 512 * time.Millisecond
	return redis.NewClient(opts), nil
}

// RedisURLWithDB checks that raw is a redis:// or rediss:// URL and, when it names no database, adds
// db: a URL without one would silently mean DB 0 (auth's), while each service has its own
// (ARCHITECTURE.md). An empty raw stays empty.
func RedisURLWithDB(raw string, db int) (string, error) {
	if raw == "" {
		return "", nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") {
		// The URL may hold a password: do not echo it.
		return "", fmt.Errorf("REDIS_URL: not a redis:// or rediss:// URL")
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/" + strconv.Itoa(db)
	}
	return u.String(), nil
}

// RedisPing is a readiness check for client.
func RedisPing(client *redis.Client) func(context.Context) error {
	return func(ctx context.Context) error { return client.Ping(ctx).Err() }
}

// RedisErr translates go-redis errors into the package sentinels, as MongoErr does for MongoDB:
// redis.Nil (no such key) → ErrNotFound, any other failure → ErrUnavailable (Redis down, slow or
// refusing), nil → nil. op prefixes the message ("sessions.create").
func RedisErr(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, redis.Nil):
		return fmt.Errorf("%s: %w", op, ErrNotFound)
	}
	return fmt.Errorf("%s: %w: %v", op, ErrUnavailable, err)
}

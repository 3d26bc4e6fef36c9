package shared

import (
	"errors"
	"fmt"
	"testing"

	"github.com/redis/go-redis/v9"
)

func TestRedisErr(t *testing.T) {
	t.Parallel()
	if err := RedisErr("x.get", nil); err != nil {
		t.Errorf("RedisErr(nil) = %v, want nil", err)
	}
	if err := RedisErr("x.get", fmt.Errorf("wrapped: %w", redis.Nil)); !errors.Is(err, ErrNotFound) || err.Error() != "x.get: not found" {
		t.Errorf("RedisErr(redis.Nil) = %v, want ErrNotFound prefixed by the operation", err)
	}
	down := errors.New("dial tcp 127.0.0.1:6379: connect: connection refused")
	if err := RedisErr("x.set", down); !errors.Is(err, ErrUnavailable) || errors.Is(err, ErrNotFound) {
		t.Errorf("RedisErr(%v) = %v, want ErrUnavailable", down, err)
	}
}

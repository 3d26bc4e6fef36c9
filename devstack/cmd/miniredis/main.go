// Command miniredis serves an in-memory Redis (github.com/alicebob/miniredis) on -addr until it is
// interrupted, so the root module's Redis store tests can run against it without a redis-server and
// without miniredis in the root go.mod:
//
//	go run ./cmd/miniredis -addr 127.0.0.1:24202 &
//	REDIS_TEST_URL=redis://127.0.0.1:24202/15 go test -race ./realtime/
//
// Keys never expire on their own (miniredis moves its clock only when told): the store tests check
// TTLs as set, not as elapsed.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/alicebob/miniredis/v2"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:6380", "listen address")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	m := miniredis.NewMiniRedis()
	if err := m.StartAddr(*addr); err != nil {
		fmt.Fprintln(os.Stderr, "miniredis:", err)
		os.Exit(1)
	}
	fmt.Println("ready", m.Addr())
	<-ctx.Done()
	m.Close()
}

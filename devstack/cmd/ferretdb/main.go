// Command ferretdb runs an embedded FerretDB (SQLite backend) on 127.0.0.1 for wire-level tests of the
// services' Mongo stores: `make test` points MONGO_TEST_URI at it. It prints "ready <uri>" once it
// accepts connections and stops on SIGINT/SIGTERM. (FerretDB's own cmd/ferretdb panics on a version
// check when built as a dependency, hence this main.)
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
	"github.com/goshop/platform/shared"
)

func main() { shared.Main("ferretdb", run) }

func run(ctx context.Context, args []string, _ func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:27117", "listen address")
	dir := fs.String("dir", "", "SQLite directory (default: a fresh temporary one, removed on exit)")
	verbose := fs.Bool("v", false, "log FerretDB's warnings to stderr")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *dir == "" {
		d, err := os.MkdirTemp("", "ferretdb-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		*dir = d
	}
	abs, err := filepath.Abs(*dir)
	if err != nil {
		return err
	}
	logOut := io.Discard
	if *verbose {
		logOut = stderr
	}
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: *addr},
		Handler:   "sqlite",
		SQLiteURL: "file:" + abs + "/",
		Logger:    slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		return err
	}
	done := make(chan struct{})
	go func() { defer close(done); f.Run(ctx) }()
	for deadline := time.Now().Add(15 * time.Second); ; {
		c, err := net.DialTimeout("tcp", *addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not accepting connections on %s: %w", *addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	fmt.Fprintf(stdout, "ready mongodb://%s/\n", *addr)
	<-done
	return nil
}

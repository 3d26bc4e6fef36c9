// Command ferretdb runs an embedded FerretDB (SQLite backend) on 127.0.0.1 for wire-level tests of the
// services' Mongo stores: `make test` points MONGO_TEST_URI at it. It lets one command through at a
// time, as the stack's does (stack.StartFerret says why). It prints "ready <uri>" once it accepts
// connections and stops on SIGINT/SIGTERM. (FerretDB's own cmd/ferretdb panics on a version check
// when built as a dependency, hence this main.)
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/goshop/platform/devstack/stack"
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
	logOut := io.Discard
	if *verbose {
		logOut = stderr
	}
	stop, err := stack.StartFerret(ctx, *addr, *dir, slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		return err
	}
	defer stop()
	fmt.Fprintf(stdout, "ready mongodb://%s/\n", *addr)
	<-ctx.Done()
	return nil
}

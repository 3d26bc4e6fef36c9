package shared

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// RunFunc is a program's run: it serves until ctx ends and returns why it stopped. Tests call it
// directly with their own arguments, environment and writers.
type RunFunc func(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error

// Main is the whole of a program's main: it calls run with the process's arguments, environment and
// standard streams and a context that SIGINT or SIGTERM cancels, and when run fails prints
// "name: error" to stderr and exits 1. It is the one place a program exits, so every program stops
// and reports alike.
func Main(name string, run RunFunc) {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, os.Args, os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(1)
	}
}

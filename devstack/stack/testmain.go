package stack

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// TestSuite describes a test package that runs against its own Stack (the integration and faults
// groups): Label prefixes what it prints, OffsetEnv names the variable that moves its ports from
// DefaultOffset, and Options are passed to Start (Root, Dir and PortOffset are filled in).
type TestSuite struct {
	Label         string
	OffsetEnv     string
	DefaultOffset int
	Options       Options
}

// RunTests is the body of such a package's TestMain: it builds the programs of the repository two
// levels up into a temporary directory, starts them, prints "<label>: built in …, platform ready …",
// hands the Stack to started, runs the tests, stops everything and, when a test failed, prints the
// tail of every program's log to stderr. It returns the exit code for os.Exit.
func RunTests(m interface{ Run() int }, suite TestSuite, started func(*Stack)) int {
	opts := suite.Options
	opts.PortOffset = suite.DefaultOffset
	if v := os.Getenv(suite.OffsetEnv); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 60000 {
			fmt.Fprintf(os.Stderr, "%s=%q: want a number 0-60000\n", suite.OffsetEnv, v)
			return 1
		}
		opts.PortOffset = n
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	dir, err := os.MkdirTemp("", "goshop-"+suite.Label+"-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	opts.Root, opts.Dir = root, dir
	ctx := context.Background()
	t0 := time.Now()
	if err := Build(ctx, root, dir, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	t1 := time.Now()
	s, err := Start(ctx, opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "start:", err)
		DumpLogs(os.Stderr, dir, 6000)
		return 1
	}
	fmt.Printf("%s: built in %s, platform ready %s after start (redis: %s, stores: %s)\n", suite.Label,
		t1.Sub(t0).Round(time.Millisecond), time.Since(t1).Round(time.Millisecond), s.RedisMode(), s.MongoMode())
	started(s)
	code := m.Run()
	if err := s.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "close:", err)
		code = 1
	}
	if code != 0 {
		DumpLogs(os.Stderr, dir, 6000)
	}
	return code
}

// DumpLogs writes, for every program's log in dir, its last 40 warnings and errors (which the tail
// alone would often miss: a failure mid-suite is followed by minutes of other tests' logs) and then
// the last tail bytes, so a CI failure explains itself.
func DumpLogs(w io.Writer, dir string, tail int) {
	files, _ := filepath.Glob(filepath.Join(dir, "logs", "*.log"))
	for _, f := range files {
		b, _ := os.ReadFile(f)
		if warn := lastWarnings(b, 40); len(warn) > 0 {
			fmt.Fprintf(w, "\n===== %s (last warnings and errors) =====\n%s\n", filepath.Base(f), bytes.Join(warn, []byte("\n")))
		}
		if len(b) > tail {
			b = b[len(b)-tail:]
		}
		fmt.Fprintf(w, "\n===== %s (tail) =====\n%s\n", filepath.Base(f), b)
	}
}

// lastWarnings returns the last n lines of log that slog's JSON or text handler wrote at WARN or
// ERROR.
func lastWarnings(log []byte, n int) [][]byte {
	var out [][]byte
	for line := range bytes.Lines(log) {
		if bytes.Contains(line, []byte(`"level":"WARN"`)) || bytes.Contains(line, []byte(`"level":"ERROR"`)) ||
			bytes.Contains(line, []byte("level=WARN")) || bytes.Contains(line, []byte("level=ERROR")) {
			out = append(out, bytes.TrimRight(line, "\n"))
		}
	}
	return out[max(len(out)-n, 0):]
}

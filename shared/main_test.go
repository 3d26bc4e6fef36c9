package shared_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/goshop/platform/shared"
)

// TestMainProcess is not a test of its own: TestMainExits runs the test binary again with
// SHARED_MAIN_CASE set, and this calls shared.Main the way a program's main does.
func TestMainProcess(t *testing.T) {
	switch os.Getenv("SHARED_MAIN_CASE") {
	case "fail":
		shared.Main("prog", func(context.Context, []string, func(string) string, io.Writer, io.Writer) error {
			return errors.New("boom")
		})
	case "signal":
		shared.Main("prog", func(ctx context.Context, _ []string, getenv func(string) string, stdout, _ io.Writer) error {
			io.WriteString(stdout, "ready "+getenv("SHARED_MAIN_CASE")+"\n")
			<-ctx.Done()
			return nil
		})
	}
}

func TestMainExits(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the test binary again")
	}
	t.Run("run fails: name and error on stderr, exit 1", func(t *testing.T) {
		cmd := exec.Command(os.Args[0], "-test.run=^TestMainProcess$")
		cmd.Env = append(os.Environ(), "SHARED_MAIN_CASE=fail")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 1 {
			t.Fatalf("exit: %v, want status 1", err)
		}
		if got := stderr.String(); !strings.Contains(got, "prog: boom\n") {
			t.Errorf("stderr = %q, want it to hold %q", got, "prog: boom\n")
		}
	})
	t.Run("SIGTERM cancels run's context, exit 0", func(t *testing.T) {
		cmd := exec.Command(os.Args[0], "-test.run=^TestMainProcess$")
		cmd.Env = append(os.Environ(), "SHARED_MAIN_CASE=signal")
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, len("ready signal\n"))
		if _, err := io.ReadFull(stdout, buf); err != nil || string(buf) != "ready signal\n" {
			cmd.Process.Kill()
			t.Fatalf("stdout = %q, %v; want run called with the process's environment and stdout", buf, err)
		}
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { io.Copy(io.Discard, stdout); done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("exit after SIGTERM: %v, want 0", err)
			}
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			t.Fatal("still running 30 s after SIGTERM: the context was not cancelled")
		}
	})
}

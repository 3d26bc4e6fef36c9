package stack

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/goshop/platform/shared"
)

// proc is one running instance of a program, started by spawn.
type proc struct {
	name    string
	program string
	cmd     *exec.Cmd
	done    chan struct{}
	env     []string
	bin     string
	started time.Time
	// stopping is set before the Stack stops or kills the process itself: its exit is expected.
	stopping atomic.Bool
	backoff  *shared.Backoff // the restart backoff (supervise.go), handed on to the next instance
}

// StartCopy starts one more instance of program, called name, on port (before PortOffset), with the
// program's environment plus env ("KEY=value"), and waits until every instance is ready. It is not
// behind the gateway's pool; tests talk to it directly (a second gateway copy). Close stops it too.
func (s *Stack) StartCopy(ctx context.Context, name, program string, port int, env ...string) error {
	for _, p := range Programs {
		if p.Name == program {
			if err := s.spawn(name, program, append(s.env(p, s.Port(port)), env...)); err != nil {
				return err
			}
			return s.WaitReady(ctx, 30*time.Second)
		}
	}
	return fmt.Errorf("stack: no program %q", program)
}

// spawn starts the binary of program as the instance called name with env, its output going to
// Dir/logs/<name>.log (rotated) and, prefixed, to Options.Logs.
func (s *Stack) spawn(name, program string, env []string) error {
	return s.spawnWith(name, program, env, nil)
}

// spawnWith is spawn with the restart backoff of the instance it replaces (nil: a fresh one).
func (s *Stack) spawnWith(name, program string, env []string, backoff *shared.Backoff) error {
	logf, err := openRotating(s.logPath(name), maxLogBytes)
	if err != nil {
		return err
	}
	bin := filepath.Join(s.opts.Dir, "bin", program)
	cmd := exec.Command(bin)
	cmd.Env = env
	w := programOutput(logf, s.opts.Logs, name)
	cmd.Stdout, cmd.Stderr = w, w
	if err := startWithSlack(cmd, slackFor(env)); err != nil {
		logf.Close()
		return fmt.Errorf("start %s: %w", name, err)
	}
	if backoff == nil {
		backoff = s.newRestartBackoff()
	}
	p := &proc{name: name, program: program, cmd: cmd, done: make(chan struct{}), env: env, bin: bin, started: time.Now(), backoff: backoff}
	go func() {
		err := cmd.Wait()
		logf.Close()
		s.exited(p, err)
		close(p.done)
	}()
	s.mu.Lock()
	s.procs[name] = p
	s.mu.Unlock()
	return nil
}

// WaitReady polls every program's /readyz until all answer 200 or within passes; the error names the
// ones still not ready and their last answer.
func (s *Stack) WaitReady(ctx context.Context, within time.Duration) error {
	deadline := time.Now().Add(within)
	client := &http.Client{Timeout: 2 * time.Second}
	s.mu.Lock()
	pending := map[string]string{}
	for name, p := range s.procs {
		pending[name] = readyURL(p.env)
	}
	s.mu.Unlock()
	last := map[string]string{}
	for len(pending) > 0 {
		for name, url := range pending {
			s.mu.Lock()
			exited := s.procs[name].exited()
			s.mu.Unlock()
			if exited {
				return fmt.Errorf("%s exited during start; see %s", name, s.logPath(name))
			}
			resp, err := client.Get(url)
			if err != nil {
				last[name] = err.Error()
				continue
			}
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				delete(pending, name)
			} else {
				last[name] = fmt.Sprintf("%d %s", resp.StatusCode, strings.TrimSpace(string(body)))
			}
		}
		if len(pending) == 0 {
			break
		}
		if time.Now().After(deadline) {
			var msgs []string
			for name := range pending {
				msgs = append(msgs, name+": "+last[name])
			}
			return fmt.Errorf("not ready after %s: %s", within, strings.Join(msgs, "; "))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}

func readyURL(env []string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(env[i], "HTTP_ADDR="); ok {
			return "http://" + v + "/readyz"
		}
	}
	return ""
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// StopProgram sends SIGTERM to one instance (e.g. "product-2") and waits for it to exit.
func (s *Stack) StopProgram(name string) error {
	s.mu.Lock()
	p, ok := s.procs[name]
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("no program %q", name)
	}
	return p.stop(20 * time.Second)
}

func (p *proc) stop(grace time.Duration) error {
	if p.exited() {
		return nil
	}
	p.stopping.Store(true)
	p.cmd.Process.Signal(syscall.SIGTERM)
	p.cmd.Process.Signal(syscall.SIGCONT) // a process frozen by Pause handles SIGTERM only once continued
	select {
	case <-p.done:
		return nil
	case <-time.After(grace):
		p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("%s did not stop within %s after SIGTERM; killed", p.name, grace)
	}
}

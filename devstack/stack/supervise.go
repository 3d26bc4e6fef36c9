package stack

import (
	"cmp"
	"fmt"
	"path/filepath"
	"time"

	"github.com/goshop/platform/shared"
)

// Supervision (Options.Supervise): a program instance that exits without the Stack asking it to
// (it crashed, or something outside killed it) is reported and started again after a backoff, as
// compose.yaml's `restart: unless-stopped` does for the same programs in containers. Stops the Stack
// asks for (StopProgram, Kill, Close) are neither reported nor restarted.

// Restart backoff: 1 s doubling to 30 s (Docker's restart policy doubles from 100 ms to a minute;
// a program that crashes at once should not flood the terminal), back to 1 s after an instance ran
// restartHealthy (Docker's rule: 10 s).
const (
	restartMin     = time.Second
	restartMax     = 30 * time.Second
	restartHealthy = 10 * time.Second
)

// exited runs once p's process has exited, before p.done closes, so that whoever waits on done (a
// StopProgram, Kill or Close) sees the decision made. An exit the Stack asked for, or any exit
// without Options.Supervise or before Start finished (an exit during start fails Start), is left
// alone. Otherwise it writes which instance exited and how to
// Options.Supervise and starts it again after the backoff, unless the Stack closes meanwhile or
// another instance took its name (a test's Restart).
func (s *Stack) exited(p *proc, waitErr error) {
	if s.opts.Supervise == nil || !s.supervising.Load() || p.stopping.Load() {
		return
	}
	ran := time.Since(p.started)
	status := "exit status 0"
	if waitErr != nil {
		status = waitErr.Error() // "exit status 2", "signal: killed"
	}
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return
	}
	if ran >= restartHealthy {
		p.backoff.Reset()
	}
	wait := p.backoff.Next()
	s.restarts.Add(1)
	s.mu.Unlock()
	s.notice("!! %s exited unexpectedly: %s (pid %d, ran %s); restarting it in %s, its log: %s",
		p.name, status, p.cmd.Process.Pid, ran.Round(time.Millisecond), wait, s.logPath(p.name))
	go func() {
		defer s.restarts.Done()
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-s.quit:
			return
		case <-t.C:
		}
		s.mu.Lock()
		current := s.procs[p.name] == p
		s.mu.Unlock()
		if !current {
			return
		}
		if err := s.spawnWith(p.name, p.program, p.env, p.backoff); err != nil {
			s.notice("!! %s could not be restarted: %v; the platform is running without it", p.name, err)
			return
		}
		s.mu.Lock()
		pid := s.procs[p.name].cmd.Process.Pid
		s.mu.Unlock()
		s.notice("!! %s restarted (pid %d)", p.name, pid)
	}()
}

// newRestartBackoff is the backoff of a freshly started instance; a restart keeps its predecessor's.
func (s *Stack) newRestartBackoff() *shared.Backoff {
	return &shared.Backoff{Min: cmp.Or(s.restartMin, restartMin), Max: restartMax}
}

// logPath is the log file of a program instance.
func (s *Stack) logPath(name string) string { return filepath.Join(s.opts.Dir, "logs", name+".log") }

// notice writes one line to Options.Supervise, never in the middle of a program's log line.
func (s *Stack) notice(format string, args ...any) {
	outMu.Lock()
	defer outMu.Unlock()
	fmt.Fprintf(s.opts.Supervise, "devstack   | "+format+"\n", args...)
}

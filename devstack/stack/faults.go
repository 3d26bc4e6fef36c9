package stack

import (
	"fmt"
	"net"
	"sync"
	"syscall"
)

// Fault injection: the faults test group kills, restarts and freezes programs and infrastructure of
// a running Stack. Every method names a program instance as Start did ("order", "product-2").

// Kill sends SIGKILL to one program instance (a crash: no shutdown, no final outbox pass) and waits
// until it is gone.
func (s *Stack) Kill(name string) error {
	p, err := s.proc(name)
	if err != nil {
		return err
	}
	if p.exited() {
		return fmt.Errorf("%s is not running", name)
	}
	// A fault the caller injects: Options.Supervise does not restart it (the caller's Restart does).
	p.stopping.Store(true)
	p.cmd.Process.Signal(syscall.SIGCONT) // a frozen process dies as well
	if err := p.cmd.Process.Kill(); err != nil {
		return fmt.Errorf("kill %s: %w", name, err)
	}
	<-p.done
	return nil
}

// Restart starts a stopped or killed program instance again with the same binary and environment
// (so on the same port). It does not wait for readiness: see WaitReady.
func (s *Stack) Restart(name string) error {
	p, err := s.proc(name)
	if err != nil {
		return err
	}
	if !p.exited() {
		return fmt.Errorf("%s is still running", name)
	}
	return s.spawn(name, p.program, p.env)
}

// Pause freezes a program instance with SIGSTOP: its sockets stay open and accept connections, but
// nothing answers (a hung process). Resume sends SIGCONT.
func (s *Stack) Pause(name string) error { return s.signal(name, syscall.SIGSTOP) }

// Resume continues a program instance frozen by Pause.
func (s *Stack) Resume(name string) error { return s.signal(name, syscall.SIGCONT) }

func (s *Stack) signal(name string, sig syscall.Signal) error {
	p, err := s.proc(name)
	if err != nil {
		return err
	}
	if p.exited() {
		return fmt.Errorf("%s is not running", name)
	}
	if err := p.cmd.Process.Signal(sig); err != nil {
		return fmt.Errorf("%s %s: %w", sig, name, err)
	}
	return nil
}

func (s *Stack) proc(name string) (*proc, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.procs[name]
	if !ok {
		return nil, fmt.Errorf("no program %q", name)
	}
	return p, nil
}

// PauseKafka freezes the broker as a SIGSTOP would: connections stay open and new ones are accepted,
// but no request is read and no answer written until ResumeKafka. The broker's own clock runs on, so
// consumer group sessions may expire meanwhile, as they would with a real frozen broker.
func (s *Stack) PauseKafka() { s.kafkaFreeze.freeze() }

// ResumeKafka lets a broker frozen by PauseKafka go on.
func (s *Stack) ResumeKafka() { s.kafkaFreeze.thaw() }

// freezer stops the traffic of every connection of a listener while frozen. The zero value is thawed.
type freezer struct {
	mu     sync.Mutex
	thawed chan struct{} // nil while thawed; closed by thaw
}

func (f *freezer) freeze() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.thawed == nil {
		f.thawed = make(chan struct{})
	}
}

func (f *freezer) thaw() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.thawed != nil {
		close(f.thawed)
		f.thawed = nil
	}
}

// wait blocks while f is frozen.
func (f *freezer) wait() {
	f.mu.Lock()
	ch := f.thawed
	f.mu.Unlock()
	if ch != nil {
		<-ch
	}
}

// listener wraps ln so that its connections stop while f is frozen.
func (f *freezer) listener(ln net.Listener) net.Listener { return &frozenListener{Listener: ln, f: f} }

type frozenListener struct {
	net.Listener
	f *freezer
}

func (l *frozenListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &frozenConn{Conn: c, f: l.f}, nil
}

// frozenConn holds reads and writes while its freezer is frozen. A read that was already waiting
// when the freeze began keeps what it got until the thaw, so the broker sees nothing in between.
type frozenConn struct {
	net.Conn
	f *freezer
}

func (c *frozenConn) Read(b []byte) (int, error) {
	c.f.wait()
	n, err := c.Conn.Read(b)
	c.f.wait()
	return n, err
}

func (c *frozenConn) Write(b []byte) (int, error) {
	c.f.wait()
	return c.Conn.Write(b)
}

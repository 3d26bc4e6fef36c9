package stack

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
)

// Mailpit catches every mail the platform sends (SMTP) and shows it in a web inbox with an HTTP API
// (/api/v1/messages) that tests read. Ports before Options.PortOffset.
const (
	MailpitSMTPPort = 1025
	MailpitHTTPPort = 8025
)

// mailSenders are the programs that send mail: they get SMTP_ADDR and the public URLs their links use.
var mailSenders = map[string]bool{"auth": true, "user": true}

// buildMailpit builds Mailpit, the version devstack/go.mod pins as a tool, into dir/bin/mailpit. It is
// a separate process rather than a library inside the launcher: Mailpit keeps its configuration and
// servers in package globals and has no way to stop them, and as a process it stops, restarts and
// keeps its own log like the programs. A binary newer than devstack/go.mod and go.sum is kept, so a
// second `make run` does not link it again.
func buildMailpit(ctx context.Context, root, dir string, out io.Writer) error {
	bin := filepath.Join(dir, "bin", "mailpit")
	mod := filepath.Join(root, "devstack")
	if fresh(bin, filepath.Join(mod, "go.mod"), filepath.Join(mod, "go.sum")) {
		return nil
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/axllent/mailpit")
	cmd.Dir, cmd.Stdout, cmd.Stderr = mod, out, out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build mailpit: %w", err)
	}
	return nil
}

// fresh reports whether file exists and is newer than every one of deps.
func fresh(file string, deps ...string) bool {
	fi, err := os.Stat(file)
	if err != nil {
		return false
	}
	for _, d := range deps {
		di, err := os.Stat(d)
		if err != nil || di.ModTime().After(fi.ModTime()) {
			return false
		}
	}
	return true
}

// startMailpit starts Mailpit on 127.0.0.1 only, its messages in Dir/mailpit when the stack persists
// (else in a temporary database Mailpit removes at exit). WaitReady polls its /readyz like a program's.
func (s *Stack) startMailpit() error {
	env := append(os.Environ(),
		fmt.Sprintf("MP_SMTP_BIND_ADDR=%s", s.SMTPAddr()),
		fmt.Sprintf("MP_UI_BIND_ADDR=127.0.0.1:%d", s.Port(MailpitHTTPPort)),
		// Read by WaitReady (readyURL), not by Mailpit.
		fmt.Sprintf("HTTP_ADDR=127.0.0.1:%d", s.Port(MailpitHTTPPort)),
	)
	if s.opts.Persist {
		d := filepath.Join(s.opts.Dir, "mailpit")
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
		env = append(env, "MP_DATABASE="+filepath.Join(d, "mailpit.db"))
	}
	return s.spawn("mailpit", "mailpit", env)
}

// SMTPAddr is Mailpit's SMTP host:port, the SMTP_ADDR of the programs that send mail.
func (s *Stack) SMTPAddr() string { return fmt.Sprintf("127.0.0.1:%d", s.Port(MailpitSMTPPort)) }

// MailpitURL is Mailpit's web inbox, and the base of its HTTP API (/api/v1/messages).
func (s *Stack) MailpitURL() string {
	return fmt.Sprintf("http://127.0.0.1:%d", s.Port(MailpitHTTPPort))
}

// mailEnv is the environment of a program that sends mail: Mailpit, and the public URLs of the links
// in its mails (which move with the port offset).
func (s *Stack) mailEnv() []string {
	return []string{
		"SMTP_ADDR=" + s.SMTPAddr(),
		fmt.Sprintf("STOREFRONT_PUBLIC_URL=http://localhost:%d", s.Port(3000)),
		fmt.Sprintf("PUBLIC_API_URL=http://localhost:%d", s.Port(3008)),
		// A fixed development key, so that unsubscribe links survive a restart of user.
		"UNSUBSCRIBE_SECRET=devstack-unsubscribe-key-not-for-production",
	}
}

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

// buildMailpit builds Mailpit, the version devstack/go.mod pins as a tool, and puts it at
// dir/bin/mailpit. It is a separate process rather than a library inside the launcher: Mailpit keeps
// its configuration and servers in package globals and has no way to stop them, and as a process it
// stops, restarts and keeps its own log like the programs. The binary is kept in
// root/.devstack/tools and rebuilt only when devstack/go.mod or go.sum changed, so `make run` and the
// test groups (each in its own temporary dir) link it once, not every time.
func buildMailpit(ctx context.Context, root, dir string, out io.Writer) error {
	tool := filepath.Join(root, ".devstack", "tools", "mailpit")
	mod := filepath.Join(root, "devstack")
	if !fresh(tool, filepath.Join(mod, "go.mod"), filepath.Join(mod, "go.sum")) {
		cmd := exec.CommandContext(ctx, "go", "build", "-o", tool, "github.com/axllent/mailpit")
		cmd.Dir, cmd.Stdout, cmd.Stderr = mod, out, out
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("go build mailpit: %w", err)
		}
	}
	bin := filepath.Join(dir, "bin", "mailpit")
	if bin == tool {
		return nil
	}
	os.Remove(bin)
	if err := os.Link(tool, bin); err == nil {
		return nil
	}
	return copyFile(tool, bin)
}

// copyFile copies an executable, for when dir is on another file system than the tool.
func copyFile(from, to string) error {
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return err
	}
	return dst.Close()
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
	// Mailpit stores each mail as it arrives, one at a time: with one P the runtime does not wake a
	// second thread for every mail's goroutines, and GOGC=400 collects a quarter as often (its
	// peak memory grows from about 35 to 44 MB). Together they take about a sixth off its CPU per
	// mail (docs/performance.md). Before os.Environ(), so a GOMAXPROCS or GOGC of the caller wins.
	env := append([]string{"GOMAXPROCS=1", "GOGC=400"}, os.Environ()...)
	env = append(env,
		// Its info API (the inbox's About box, the load command's mail count) would otherwise ask
		// GitHub for Mailpit's latest release: a dev tool should not call out on its own, and there
		// may be no internet.
		"MP_DISABLE_VERSION_CHECK=true",
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

// mailEnv is the environment of program p when it sends mail: Mailpit, and the public URLs of the
// links in its mails (which move with the port offset).
func (s *Stack) mailEnv(p string) []string {
	env := []string{
		"SMTP_ADDR=" + s.SMTPAddr(),
		fmt.Sprintf("STOREFRONT_PUBLIC_URL=http://localhost:%d", s.Port(3000)),
	}
	if p == "user" {
		env = append(env, fmt.Sprintf("PUBLIC_API_URL=http://localhost:%d", s.Port(3008)),
			// A fixed development key, so that unsubscribe links survive a restart of user.
			"UNSUBSCRIBE_SECRET=devstack-unsubscribe-key-not-for-production")
	}
	return env
}

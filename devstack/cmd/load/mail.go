package main

import (
	"context"
	"fmt"
	"io"

	"github.com/goshop/platform/devstack/stack"
)

// mailInfoURL is Mailpit's information API in the platform whose gateway listens on gatewayPort.
func mailInfoURL(gatewayPort int) string {
	return fmt.Sprintf("http://127.0.0.1:%d/api/v1/info", stack.MailpitHTTPPort+gatewayPort-3008)
}

// mailAccepted is how many mails Mailpit at url has accepted over SMTP since it started; ok is false
// when no Mailpit answers (a platform without one), so the report leaves the line out.
func mailAccepted(ctx context.Context, url string) (n uint64, ok bool) {
	var info struct {
		RuntimeStats struct {
			SMTPAccepted uint64
		}
	}
	if !getJSON(ctx, url, &info) {
		return 0, false
	}
	return info.RuntimeStats.SMTPAccepted, true
}

// writeMail prints how many mails reached Mailpit during the run against the confirmed orders, each
// of which causes one: the order mails lag the orders, and those still in user's mail queue when the
// run ends cost Mailpit and user their CPU after the window the cpu line measures.
func writeMail(w io.Writer, before, after uint64, confirmed int) {
	if confirmed == 0 || after < before { // after < before: Mailpit restarted during the run
		return
	}
	got := after - before
	fmt.Fprintf(w, "mail     %d mails reached Mailpit during the run, for %d confirmed orders (%.0f%%)", got, confirmed, 100*float64(got)/float64(confirmed))
	if got < uint64(confirmed) {
		fmt.Fprint(w, "; the rest were still queued, and their CPU falls after the window")
	}
	fmt.Fprintln(w)
}

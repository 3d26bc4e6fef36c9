package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/goshop/platform/shared/sharedtest"
)

func TestMailAccepted(t *testing.T) {
	t.Parallel()
	if got, want := mailInfoURL(3208), "http://127.0.0.1:8225/api/v1/info"; got != want {
		t.Errorf("mailInfoURL(3208) = %q, want %q", got, want)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/info" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(`{"Version":"v1.33.1","Messages":500,"RuntimeStats":{"Uptime":9,"SMTPAccepted":1234,"SMTPRejected":0}}`))
	}))
	defer srv.Close()
	if n, ok := mailAccepted(t.Context(), srv.URL+"/api/v1/info"); !ok || n != 1234 {
		t.Errorf("mailAccepted = %d, %v; want 1234, true", n, ok)
	}
	for _, url := range []string{srv.URL + "/elsewhere", "http://" + sharedtest.ClosedAddr + "/api/v1/info", ""} {
		if _, ok := mailAccepted(t.Context(), url); ok {
			t.Errorf("mailAccepted(%q) ok, want not ok", url)
		}
	}
}

func TestWriteMail(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	writeMail(&out, 100, 400, 500)
	if want := "mail     300 mails reached Mailpit during the run, for 500 confirmed orders (60%); the rest were still queued"; !strings.HasPrefix(out.String(), want) {
		t.Errorf("report = %q, want it to start %q", out.String(), want)
	}
	out.Reset()
	writeMail(&out, 0, 500, 500)
	if got := out.String(); !strings.Contains(got, "(100%)") || strings.Contains(got, "still queued") {
		t.Errorf("every mail arrived, report = %q", got)
	}
	out.Reset()
	writeMail(&out, 0, 0, 0)
	if out.Len() != 0 {
		t.Errorf("no orders, report = %q, want nothing", out.String())
	}
	writeMail(&out, 500, 20, 100)
	if out.Len() != 0 {
		t.Errorf("the counter went back (Mailpit restarted), report = %q, want nothing", out.String())
	}
}

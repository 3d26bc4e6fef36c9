package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseStat(t *testing.T) {
	b, err := os.ReadFile("testdata/stat")
	if err != nil {
		t.Fatal(err)
	}
	// utime 314 + stime 27 ticks; the command name "order (v2) x" holds spaces and parentheses.
	if got, err := parseStat(b); err != nil || got != 3410*time.Millisecond {
		t.Errorf("parseStat = %v, %v; want 3.41s", got, err)
	}
	for _, bad := range []string{"", "12 (x", "12 (x) S 1 2", "12 (x) S 1 2 3 4 5 6 7 8 9 10 u s 13"} {
		if _, err := parseStat([]byte(bad)); err == nil {
			t.Errorf("parseStat(%q) accepted", bad)
		}
	}
}

// fakeProc builds a /proc with the tcp fixture, the platform process 12345 (listening socket 111),
// process 77 holding the established socket 333 on the same port, and process 80 listening on port 80.
func fakeProc(t *testing.T) string {
	root := t.TempDir()
	mk := func(path, content string) {
		t.Helper()
		p := filepath.Join(root, path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	link := func(pid, fd, target string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Join(root, pid, "fd"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, filepath.Join(root, pid, "fd", fd)); err != nil {
			t.Fatal(err)
		}
	}
	tcp, err := os.ReadFile("testdata/tcp")
	if err != nil {
		t.Fatal(err)
	}
	stat, err := os.ReadFile("testdata/stat")
	if err != nil {
		t.Fatal(err)
	}
	mk("net/tcp", string(tcp))
	mk("12345/stat", string(stat))
	mk("12345/comm", "order\n")
	mk("12345/task/12345/status", "Name:\torder\nvoluntary_ctxt_switches:\t40\nnonvoluntary_ctxt_switches:\t2\n")
	mk("12345/task/12350/status", "Name:\torder\nvoluntary_ctxt_switches:\t7\nnonvoluntary_ctxt_switches:\t1\n")
	link("12345", "0", "/dev/null")
	link("12345", "7", "socket:[111]")
	link("77", "3", "socket:[333]")
	link("80", "3", "socket:[444]")
	return root
}

func TestFindPIDsByListeningPort(t *testing.T) {
	root := fakeProc(t)
	pids, err := findPIDs(root, []int{15320, 9999})
	if err != nil || !slices.Equal(pids, []int{12345}) {
		t.Errorf("findPIDs = %v, %v; want [12345] (listening on 15320; 77 only has a connection to it)", pids, err)
	}
	if _, err := findPIDs(root, []int{9999}); err == nil {
		t.Error("no listener on 9999, yet no error")
	}
	got := sampleCPU(root, []int{12345, 4242})
	if len(got) != 1 || got[0] != (proc{PID: 12345, Name: "order", CPU: 3410 * time.Millisecond, Switches: 50}) {
		t.Errorf("sampleCPU = %+v; want order 3.41s and 50 switches over its two threads, the vanished 4242 left out", got)
	}
}

func TestPlatformPortsFollowTheGateway(t *testing.T) {
	ports := platformPorts(3008 + 12400)
	for _, want := range []int{15408, 16400, 21492, 18779, 39417, 13425} { // gateway, auth, kafka, redis, mongo, mailpit
		if !slices.Contains(ports, want) {
			t.Errorf("platformPorts lacks %d: %v", want, ports)
		}
	}
}

func TestWriteCPU(t *testing.T) {
	before := []proc{{1, "order", time.Second, 100}, {2, "gateway", 2 * time.Second, 5000}, {3, "gone", 0, 0}}
	after := []proc{{1, "order", 3 * time.Second, 20100}, {2, "gateway", 3 * time.Second, 4000}, {4, "new", time.Hour, 9}}
	var out bytes.Buffer
	writeCPU(&out, before, after, 1000, 1500)
	for _, want := range []string{"platform 3000.00ms over 1000 confirmed orders = 3.00ms/order (2.00ms per finished order); 2 processes",
		"order(1) 2000.00ms = 2.00ms/order, 20.0 switches/order", "gateway(2) 1000.00ms = 1.00ms/order, 0.0 switches/order",
		"20.0 context switches per confirmed order"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "without mailpit") {
		t.Errorf("no Mailpit among the processes, yet a figure without it:\n%s", out.String())
	}
	out.Reset()
	writeCPU(&out, append(before, proc{5, "mailpit", time.Second, 0}), append(after, proc{5, "mailpit", 3 * time.Second, 0}), 1000, 1500)
	if want := "without mailpit (the mail provider's stand-in) 3.00ms/order"; !strings.Contains(out.String(), want) {
		t.Errorf("report lacks %q:\n%s", want, out.String())
	}
	out.Reset()
	writeCPU(&out, before, after, 0, 0)
	if !strings.Contains(out.String(), "= ?/order") {
		t.Errorf("no orders should print ?/order:\n%s", out.String())
	}
}

func TestParseMachine(t *testing.T) {
	stat := "cpu  600 10 200 1000 50 0 17 3 40 0\ncpu0 300 5 100 500 25 0 8 1 20 0\ncpu1 300 5 100 500 25 0 9 2 20 0\nintr 1 2 3\nctxt 99\n"
	m, err := parseMachine([]byte(stat))
	// 600+10+200+1000+50+0+17+3 ticks; guest (40) is inside user already and not added again.
	if want := (machine{Total: 1880 * clockTick, Idle: 1050 * clockTick, Cores: 2}); err != nil || m != want {
		t.Errorf("parseMachine = %+v, %v; want %+v", m, err, want)
	}
	for _, bad := range []string{"", "intr 1 2\n", "cpu  1 2 3\n", "cpu  1 2 3 x 5 6 7 8\n"} {
		if m, err := parseMachine([]byte(bad)); err == nil {
			t.Errorf("parseMachine(%q) = %+v, want an error", bad, m)
		}
	}
	if _, ok := sampleMachine(t.TempDir()); ok {
		t.Error("sampleMachine of a folder without stat: ok")
	}
}

func TestWriteMachine(t *testing.T) {
	before := machine{Total: 100 * time.Second, Idle: 60 * time.Second, Cores: 2}
	after := machine{Total: 120 * time.Second, Idle: 61 * time.Second, Cores: 2} // 20 s of core time, 19 s busy
	var out bytes.Buffer
	writeMachine(&out, before, after, 14*time.Second, 3*time.Second)
	want := "machine  2 cores busy 95% of the run: the platform 70%, this load command 15%, the rest 10% (/proc/stat)"
	if !strings.HasPrefix(out.String(), want) {
		t.Errorf("writeMachine wrote\n%s\nwant it to start with\n%s", out.String(), want)
	}
	out.Reset()
	writeMachine(&out, before, before, time.Second, 0)
	if out.Len() != 0 {
		t.Errorf("no time passed, yet it wrote %q", out.String())
	}
}

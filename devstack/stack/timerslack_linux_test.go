//go:build linux

package stack

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// procSlack reads a timerslack_ns file of /proc.
func procSlack(t *testing.T, path string) time.Duration {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ns, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return time.Duration(ns)
}

func startSleep(t *testing.T, slack time.Duration) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("sleep", "30")
	if err := startWithSlack(cmd, slack); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd
}

// TestStartWithTimerSlack checks that a child started with a slack has it, that one started
// without has the launcher's, and that the thread that started them keeps its own.
func TestStartWithTimerSlack(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	mine, err := threadSlack()
	if err != nil {
		t.Fatal(err)
	}
	if mine == TimerSlack {
		t.Skipf("this thread's slack is already %v: nothing would tell the cases apart", mine)
	}

	with := startSleep(t, TimerSlack)
	if got := procSlack(t, fmt.Sprintf("/proc/%d/timerslack_ns", with.Process.Pid)); got != TimerSlack {
		t.Errorf("started with %v: the child's slack is %v", TimerSlack, got)
	}
	if got, _ := threadSlack(); got != mine {
		t.Errorf("the starting thread's slack is %v after the start, was %v", got, mine)
	}
	without := startSleep(t, 0)
	if got := procSlack(t, fmt.Sprintf("/proc/%d/timerslack_ns", without.Process.Pid)); got != mine {
		t.Errorf("started without a slack: the child's is %v, want the launcher's %v", got, mine)
	}
}

// TestSlackFor checks which programs get TimerSlack: those with one P, by the last GOMAXPROCS.
func TestSlackFor(t *testing.T) {
	for _, c := range []struct {
		env  []string
		want time.Duration
	}{
		{[]string{"GOMAXPROCS=1"}, TimerSlack},
		{[]string{"GOMAXPROCS=1", "A=b", "GOMAXPROCS=2"}, 0},
		{[]string{"GOMAXPROCS=2", "GOMAXPROCS=1"}, TimerSlack},
		{[]string{"GOMAXPROCS="}, 0},
		{nil, 0},
	} {
		if got := slackFor(c.env); got != c.want {
			t.Errorf("slackFor(%q) = %v, want %v", c.env, got, c.want)
		}
	}
	t.Setenv("GOMAXPROCS", "")
	os.Unsetenv("GOMAXPROCS")
	s := &Stack{}
	for _, p := range Programs {
		want := TimerSlack
		if p.Name == "auth" {
			want = 0
		}
		if got := slackFor(s.env(p, p.Port)); got != want {
			t.Errorf("%s: slack %v, want %v", p.Name, got, want)
		}
	}
}

// TestExecWithTimerSlack runs this test binary again as a launcher would start: the helper below
// calls ExecWithTimerSlack, which execs it once more, and reports every thread's slack.
func TestExecWithTimerSlack(t *testing.T) {
	if mine := baseSlack(); mine == TimerSlack {
		t.Skipf("this process's slack is already %v: the launcher would not exec", mine)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestExecWithTimerSlackHelper$", "-test.v")
	cmd.Env = append(os.Environ(), "STACK_TIMER_SLACK_HELPER=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	var threads int
	for _, line := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(line, "thread slack "); ok {
			threads++
			if v != strconv.FormatInt(TimerSlack.Nanoseconds(), 10) {
				t.Errorf("a thread of the exec'd launcher has slack %s ns, want %d", v, TimerSlack.Nanoseconds())
			}
		}
	}
	if threads < 2 {
		t.Errorf("the helper reported %d threads, want sysmon's and others\n%s", threads, out)
	}
	mine := baseSlack()
	if !strings.Contains(string(out), fmt.Sprintf("exec mark %d\n", mine.Nanoseconds())) {
		t.Errorf("the helper did not run in the exec'd image, or does not know its slack before (%v)\n%s", mine, out)
	}
	if !strings.Contains(string(out), fmt.Sprintf("base slack %d\n", mine.Nanoseconds())) {
		t.Errorf("the exec'd helper would not start a program without one P with the slack it had before, %v\n%s", mine, out)
	}
}

func TestExecWithTimerSlackHelper(t *testing.T) {
	if os.Getenv("STACK_TIMER_SLACK_HELPER") != "1" {
		t.Skip("run by TestExecWithTimerSlack")
	}
	if err := ExecWithTimerSlack(); err != nil {
		t.Fatal(err)
	}
	fmt.Printf("exec mark %s\n", os.Getenv(execMark))
	fmt.Printf("base slack %d\n", baseSlack().Nanoseconds())
	// /proc/<tid> serves a thread like a process, and only there has it a timerslack_ns.
	tasks, err := filepath.Glob("/proc/self/task/*")
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range tasks {
		f := filepath.Join("/proc", filepath.Base(task), "timerslack_ns")
		fmt.Printf("thread slack %d\n", procSlack(t, f).Nanoseconds())
	}
}

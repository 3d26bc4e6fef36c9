package stack

import (
	"os/exec"
	"strings"
	"time"
)

// TimerSlack is the timer slack (Linux's prctl PR_SET_TIMERSLACK: how late the kernel may end a
// thread's sleep to wake it with others) of every program the stack runs with one P, and of the
// launcher itself (ExecWithTimerSlack). The default is 50 µs.
//
// Why: the Go runtime's monitor thread (sysmon) sleeps 20 µs between its rounds while the program
// is busy, and starts again at 20 µs each time the program wakes from idle, which the stack's
// programs do hundreds of times a second under load. Each of those sleeps is a context switch; under
// the checkout load sysmon was 10.9–15.0 % of each program's CPU (perf, docs/performance.md). With
// 1 ms of slack its rounds come at most about once a millisecond. Go starts sysmon's thread before
// any of the program's code runs, so the slack must be the thread's when the program is exec'd.
//
// The cost: any timer of the program may fire up to 1 ms late. Their shortest are tens of
// milliseconds (the gateway's 20 ms purge batch, the publisher's 50 ms backoff, go-redis's 8 ms
// retry backoff), and no step of the checkout waits on a timer. Of the programs, only those with
// one P get it: with more Ps, the runtime's work stealing sleeps 3 µs at times while holding a P,
// and that sleep would stretch to a millisecond. The launcher gets it too: the broker in it saved the
// most of any process (docs/performance.md, "Timer slack"). It runs with one P unless it serves
// FerretDB (LauncherProcs), and then keeps the slack with its Ps, as it was measured.
const TimerSlack = time.Millisecond

// slackFor is the timer slack of a program started with env: TimerSlack when its GOMAXPROCS is 1
// (the last value wins, as it does for os/exec), else 0, which startWithSlack reads as the slack
// the launcher was started with (baseSlack).
func slackFor(env []string) time.Duration {
	if v, _ := lastValue(env, "GOMAXPROCS"); v == "1" {
		return TimerSlack
	}
	return 0
}

// lastValue is the value of key in env ("KEY=value" entries), the last one where there are several,
// as os/exec keeps it.
func lastValue(env []string, key string) (string, bool) {
	val, found := "", false
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			val, found = v, true
		}
	}
	return val, found
}

// startWithSlack starts cmd with timer slack d, or with the launcher's original slack when d is 0.
func startWithSlack(cmd *exec.Cmd, d time.Duration) error {
	if d == 0 {
		d = baseSlack()
	}
	return startWithTimerSlack(cmd, d)
}

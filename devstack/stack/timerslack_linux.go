//go:build linux

package stack

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"syscall"
	"time"
)

const (
	prSetTimerSlack = 29 // PR_SET_TIMERSLACK, linux/prctl.h
	prGetTimerSlack = 30 // PR_GET_TIMERSLACK

	// execMark is in the environment of the launcher ExecWithTimerSlack started, with the slack
	// the launcher had before (ns): it never execs twice, whatever a kernel does with the slack
	// across exec, and a program without one P still starts with the slack it would have had.
	execMark = "DEVSTACK_TIMER_SLACK_EXEC"
)

// threadSlack is the calling thread's timer slack; the caller has locked its goroutine to it.
func threadSlack() (time.Duration, error) {
	r, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prGetTimerSlack, 0, 0)
	if errno != 0 {
		return 0, fmt.Errorf("prctl PR_GET_TIMERSLACK: %w", errno)
	}
	return time.Duration(r), nil
}

// setThreadSlack sets the calling thread's timer slack; the caller has locked its goroutine to it.
func setThreadSlack(d time.Duration) error {
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prSetTimerSlack, uintptr(d.Nanoseconds()), 0); errno != 0 {
		return fmt.Errorf("prctl PR_SET_TIMERSLACK: %w", errno)
	}
	return nil
}

// baseSlack is the timer slack the launcher was started with: from execMark after
// ExecWithTimerSlack, else this thread's; 0 if unknown.
func baseSlack() time.Duration {
	if ns, err := strconv.ParseInt(os.Getenv(execMark), 10, 64); err == nil && ns > 0 {
		return time.Duration(ns)
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	d, _ := threadSlack()
	return d
}

// startWithTimerSlack starts cmd with timer slack d (as it is when d is 0). A child inherits the
// slack of the thread that forks it, and keeps it across exec, so the fork happens on a thread
// locked for the purpose, whose own slack is put back afterwards. If the slack cannot be set, cmd
// starts with the launcher's.
func startWithTimerSlack(cmd *exec.Cmd, d time.Duration) error {
	if d <= 0 {
		return cmd.Start()
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	old, err := threadSlack()
	if err != nil || setThreadSlack(d) != nil {
		return cmd.Start()
	}
	defer setThreadSlack(old)
	return cmd.Start()
}

// ExecWithTimerSlack gives the launcher itself TimerSlack: when its threads do not have it yet, it
// sets it on this thread and execs the launcher's binary again with the same arguments and
// environment, so that every thread of the new image, sysmon's included, starts with it. It returns
// only when nothing needs doing (nil) or when that failed (the launcher then goes on as it is).
// Call it first thing in main, before anything worth keeping has started.
func ExecWithTimerSlack() error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cur, err := threadSlack()
	if err != nil || cur == TimerSlack || os.Getenv(execMark) != "" {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	if err := setThreadSlack(TimerSlack); err != nil {
		return err
	}
	err = syscall.Exec(self, os.Args, append(os.Environ(), fmt.Sprintf("%s=%d", execMark, cur.Nanoseconds())))
	setThreadSlack(cur)
	return fmt.Errorf("exec %s: %w", self, err)
}

//go:build !linux

package stack

import (
	"os/exec"
	"time"
)

// startWithTimerSlack starts cmd as it is: timer slack is a Linux setting.
func startWithTimerSlack(cmd *exec.Cmd, _ time.Duration) error { return cmd.Start() }

// ExecWithTimerSlack does nothing: timer slack is a Linux setting.
func ExecWithTimerSlack() error { return nil }

// baseSlack is 0: timer slack is a Linux setting.
func baseSlack() time.Duration { return 0 }

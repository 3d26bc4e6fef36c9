package main

import (
	"testing"

	"github.com/goshop/platform/shared"
	"github.com/goshop/platform/shared/sharedtest"
)

func TestConfigDoc(t *testing.T) {
	t.Parallel()
	sharedtest.CheckConfigDoc(t, "auth", func(e *shared.Env) error { _, err := readConfig(e); return err })
}

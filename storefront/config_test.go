package main

import (
	"testing"

	"github.com/goshop/platform/shared/sharedtest"
)

func TestConfigDoc(t *testing.T) {
	t.Parallel()
	sharedtest.CheckConfigDoc(t, "storefront", readConfig)
}

package main

import (
	"testing"

	"github.com/pexia-network/pexia/internal/testutil"
)

// TestMain fails the run if a test leaves a goroutine behind.
func TestMain(m *testing.M) { testutil.VerifyTestMain(m) }

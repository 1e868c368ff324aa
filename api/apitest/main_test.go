package apitest

import (
	"testing"

	"github.com/pexia-network/pexia/internal/testutil"
)

func TestMain(m *testing.M) { testutil.VerifyTestMain(m) }

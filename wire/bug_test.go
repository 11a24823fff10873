package wire_test

import (
	"os"
	"testing"
)

// skipBug marks a test that fails because of a known bug in non-test
// code. Set ZKD_RUN_BUGS=1 to run such tests anyway and see them fail.
func skipBug(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv("ZKD_RUN_BUGS") == "" {
		t.Skip("BUG: " + msg)
	}
}

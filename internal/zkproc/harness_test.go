package zkproc

import (
	"strings"
	"testing"
)

func TestHarness(t *testing.T) {
	var logged []string
	h := NewHarness("h", t.TempDir(), func(f string, a ...any) { logged = append(logged, f) })
	var order []int
	h.Cleanup(func() { order = append(order, 1) })
	h.Cleanup(func() { order = append(order, 2); h.Fatal("boom") })
	err := h.Do(func() { h.Fatalf("stop %d", 7) })
	if err == nil || err.Error() != "stop 7" || !h.Failed() {
		t.Fatalf("Do = %v, failed %v", err, h.Failed())
	}
	if err := h.Do(func() { Require(h, false, "x") }); err == nil {
		t.Fatal("Require(false) did not stop")
	}
	if d := h.TempDir(); d == "" {
		t.Fatal("no TempDir")
	}
	h.Close()
	if len(order) != 2 || order[0] != 2 || order[1] != 1 {
		t.Fatalf("cleanups ran %v", order)
	}
	if len(logged) == 0 || !strings.Contains(logged[len(logged)-1], "cleanup") {
		t.Fatalf("cleanup failure not logged: %v", logged)
	}
}

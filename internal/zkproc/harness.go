package zkproc

import (
	"fmt"
	"os"
	"sync"
	"testing"
)

// Harness is a testing.TB for using NewEnsemble and the other helpers of
// this package outside a test (the bench suite). Fatal, Fatalf, FailNow,
// Skip and Skipf panic with a *HarnessError, which Do turns back into an
// error: call the helpers inside Do, on the goroutine that calls Do.
// Close runs the registered cleanups (stopping every ensemble member),
// last registered first.
type Harness struct {
	// The embedded interface is nil: it only supplies testing.TB's
	// unexported method. Every method this package calls is defined below.
	testing.TB

	name string
	dir  string
	logf func(format string, args ...any)

	mu       sync.Mutex
	cleanups []func()
	failed   bool
	skipped  bool
}

// HarnessError is a Fatal or Skip of a Harness.
type HarnessError struct{ Msg string }

func (e *HarnessError) Error() string { return e.Msg }

// NewHarness returns a Harness whose TempDir directories are made under
// dir and whose Log and Logf lines go to logf (nil: discarded).
func NewHarness(name, dir string, logf func(format string, args ...any)) *Harness {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	return &Harness{name: name, dir: dir, logf: logf}
}

// Do runs f and returns the error of a Fatal or Skip that ended it.
func (h *Harness) Do(f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			he, ok := r.(*HarnessError)
			if !ok {
				panic(r)
			}
			err = he
		}
	}()
	f()
	return nil
}

// Close runs the cleanups, last registered first. A Fatal inside one is
// logged, and the others still run.
func (h *Harness) Close() {
	for {
		h.mu.Lock()
		n := len(h.cleanups)
		if n == 0 {
			h.mu.Unlock()
			return
		}
		f := h.cleanups[n-1]
		h.cleanups = h.cleanups[:n-1]
		h.mu.Unlock()
		if err := h.Do(f); err != nil {
			h.logf("%s: cleanup: %v", h.name, err)
		}
	}
}

func (h *Harness) Helper()      {}
func (h *Harness) Name() string { return h.name }

func (h *Harness) Cleanup(f func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.cleanups = append(h.cleanups, f)
}

// TempDir makes a new directory under the harness's dir; it is not
// removed by Close (the caller owns dir).
func (h *Harness) TempDir() string {
	d, err := os.MkdirTemp(h.dir, "zkproc-")
	if err != nil {
		h.Fatalf("TempDir: %v", err)
	}
	return d
}

func (h *Harness) Log(args ...any)                 { h.logf("%s", fmt.Sprint(args...)) }
func (h *Harness) Logf(format string, args ...any) { h.logf(format, args...) }

func (h *Harness) Fail() {
	h.mu.Lock()
	h.failed = true
	h.mu.Unlock()
}

func (h *Harness) Failed() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.failed
}

func (h *Harness) Skipped() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.skipped
}

func (h *Harness) Error(args ...any) {
	h.Fail()
	h.Log(args...)
}

func (h *Harness) Errorf(format string, args ...any) {
	h.Fail()
	h.Logf(format, args...)
}

func (h *Harness) FailNow() {
	h.Fail()
	panic(&HarnessError{Msg: "FailNow"})
}

func (h *Harness) Fatal(args ...any) {
	h.Fail()
	panic(&HarnessError{Msg: fmt.Sprint(args...)})
}

func (h *Harness) Fatalf(format string, args ...any) {
	h.Fail()
	panic(&HarnessError{Msg: fmt.Sprintf(format, args...)})
}

func (h *Harness) SkipNow() {
	h.mu.Lock()
	h.skipped = true
	h.mu.Unlock()
	panic(&HarnessError{Msg: "skipped"})
}

func (h *Harness) Skip(args ...any) {
	h.mu.Lock()
	h.skipped = true
	h.mu.Unlock()
	panic(&HarnessError{Msg: "skipped: " + fmt.Sprint(args...)})
}

func (h *Harness) Skipf(format string, args ...any) {
	h.mu.Lock()
	h.skipped = true
	h.mu.Unlock()
	panic(&HarnessError{Msg: "skipped: " + fmt.Sprintf(format, args...)})
}

package integration

// Helpers for the tests that stop, kill and restart servers on one data
// directory (migrate_test.go, crash_test.go).

import (
	"context"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
)

// connectZk opens a go-zookeeper session and waits until it is established.
func connectZk(t testing.TB, addr string, timeout time.Duration) *zk.Conn {
	t.Helper()
	c, ev, err := zk.Connect([]string{addr}, timeout, zk.WithLogger(discard{}))
	if err != nil {
		t.Fatal(err)
	}
	waitSession(t, c, ev, 20*time.Second)
	return c
}

// waitSession waits until c has a session.
func waitSession(t testing.TB, c *zk.Conn, ev <-chan zk.Event, d time.Duration) {
	t.Helper()
	deadline := time.After(d)
	for c.State() != zk.StateHasSession {
		select {
		case <-ev:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			t.Fatalf("no session with %s within %v (state %v)", c.Server(), d, c.State())
		}
	}
}

// dataFiles lists the snapshot and log files of a data dir, by zxid.
func dataFiles(t testing.TB, dataDir, prefix string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dataDir, "version-2", prefix+".*"))
	if err != nil {
		t.Fatal(err)
	}
	zx := func(p string) uint64 {
		v, _ := strconv.ParseUint(strings.TrimPrefix(filepath.Base(p), prefix+"."), 16, 64)
		return v
	}
	sort.Slice(m, func(i, j int) bool { return zx(m[i]) < zx(m[j]) })
	return m
}

// zkdVerify runs `zkd verify <dataDir>` and fails the test unless it exits 0.
func zkdVerify(t testing.TB, dataDir string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, zkdBin, "verify", dataDir).CombinedOutput()
	if err != nil {
		t.Errorf("zkd verify %s: %v\n%s", dataDir, err, out)
	} else if testing.Verbose() {
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		t.Logf("zkd verify: %s", strings.Join(lines[max(0, len(lines)-2):], " / "))
	}
}

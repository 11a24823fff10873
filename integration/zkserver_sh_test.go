package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"zkd/internal/zkproc"
)

// TestZkServerScript drives bin/zkServer.sh as operators and test suites
// do: start, status, stop, with SERVER_JVMFLAGS carrying -D properties.
func TestZkServerScript(t *testing.T) {
	script, err := filepath.Abs("../bin/zkServer.sh")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	port := zkproc.FreePort(t)
	cfg := filepath.Join(dir, "zoo.cfg")
	os.WriteFile(cfg, []byte(fmt.Sprintf("tickTime=500\ndataDir=%s\nclientPort=%d\nclientPortAddress=127.0.0.1\n", filepath.Join(dir, "data"), port)), 0o644)
	run := func(args ...string) (string, error) {
		cmd := exec.Command(script, args...)
		cmd.Env = append(os.Environ(), "ZKD_BIN="+zkdBin, "SERVER_JVMFLAGS=-Dzookeeper.4lw.commands.whitelist=*")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := run("start", cfg)
	if err != nil || !strings.Contains(out, "STARTED") {
		t.Fatalf("start: %v\n%s", err, out)
	}
	defer run("stop", cfg)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if o, err := zkproc.FourLetter(addr, "ruok"); err == nil && o == "imok" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("server did not come up")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The -D flag from SERVER_JVMFLAGS allows every four-letter word.
	if o, _ := zkproc.FourLetter(addr, "conf"); !strings.Contains(o, "clientPort=") {
		t.Fatalf("conf not allowed: %q", o)
	}
	out, err = run("status", cfg)
	if err != nil || !strings.Contains(out, "Mode: standalone") {
		t.Fatalf("status: %v\n%s", err, out)
	}
	out, err = run("stop", cfg)
	if err != nil || !strings.Contains(out, "STOPPED") {
		t.Fatalf("stop: %v\n%s", err, out)
	}
	if _, err := zkproc.FourLetter(addr, "ruok"); err == nil {
		t.Fatal("server still answers after stop")
	}
	if out, err := run("status", cfg); err == nil {
		t.Fatalf("status of a stopped server succeeded:\n%s", out)
	}
}

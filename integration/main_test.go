// Package integration holds end-to-end tests: zkd as a process, driven by
// real clients and by raw sockets.
package integration

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// zkdBin is the zkd binary under test: $ZKD_BIN, or one built for the run.
var zkdBin string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	zkdBin = os.Getenv("ZKD_BIN")
	if zkdBin == "" {
		dir, err := os.MkdirTemp("", "zkd-integration")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		zkdBin = filepath.Join(dir, "zkd")
		cmd := exec.Command("go", "build", "-o", zkdBin, "zkd/cmd/zkd")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "building zkd:", err)
			return 1
		}
	}
	return m.Run()
}

// freePort finds a free loopback port.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// zkdProc is a running zkd.
type zkdProc struct {
	Addr    string
	Port    int
	DataDir string
	Cfg     string
	cmd     *exec.Cmd
	Log     *syncBuffer
	done    chan struct{}
}

// startZkd starts zkd with extra zoo.cfg lines and -D flags, and waits
// until it answers ruok. It is stopped when the test ends.
func startZkd(t testing.TB, cfgLines []string, flags ...string) *zkdProc {
	t.Helper()
	dir := t.TempDir()
	port := freePort(t)
	cfg := filepath.Join(dir, "zoo.cfg")
	lines := append([]string{
		"tickTime=500",
		"dataDir=" + filepath.Join(dir, "data"),
		fmt.Sprintf("clientPort=%d", port),
		"clientPortAddress=127.0.0.1",
		"4lw.commands.whitelist=*",
	}, cfgLines...)
	if err := os.WriteFile(cfg, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := &zkdProc{Addr: fmt.Sprintf("127.0.0.1:%d", port), Port: port, DataDir: filepath.Join(dir, "data"), Cfg: cfg, Log: &syncBuffer{}, done: make(chan struct{})}
	args := append([]string{"start-foreground"}, flags...)
	p.cmd = exec.Command(zkdBin, append(args, cfg)...)
	p.cmd.Stdout, p.cmd.Stderr = p.Log, p.Log
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() {
			t.Logf("zkd log:\n%s", p.Log.String())
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if out, err := fourLetter(p.Addr, "ruok"); err == nil && out == "imok" {
			return p
		}
		select {
		case <-p.done:
			t.Fatalf("zkd exited early:\n%s", p.Log.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("zkd did not start:\n%s", p.Log.String())
	return nil
}

// Stop terminates zkd and waits for it.
func (p *zkdProc) Stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

// Kill stops zkd with SIGKILL.
func (p *zkdProc) Kill() {
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
}

// Exited reports whether the process has ended.
func (p *zkdProc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// fourLetter sends a four-letter word and returns the answer.
func fourLetter(addr, cmd string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := c.Write([]byte(cmd)); err != nil {
		return "", err
	}
	b, err := io.ReadAll(c)
	return string(b), err
}

// requirePrereq skips a test when a tool is missing, except under CI=true
// where missing prerequisites fail the run.
func requirePrereq(t testing.TB, ok bool, what string) {
	t.Helper()
	if ok {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("prerequisite missing under CI: %s (run make deps)", what)
	}
	t.Skipf("prerequisite missing: %s (run make deps)", what)
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func withTimeout(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

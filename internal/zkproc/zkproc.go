// Package zkproc starts zkd and Apache ZooKeeper as processes on
// loopback, for the end-to-end and differential tests.
package zkproc

import (
	"bytes"
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

// ZooKeeperJar is the Debian package's server jar.
const ZooKeeperJar = "/usr/share/java/zookeeper.jar"

// Proc is a server process.
type Proc struct {
	Addr    string
	Port    int
	Dir     string // per-server directory holding zoo.cfg and data
	DataDir string
	Cfg     string
	Log     *Buffer
	cmd     *exec.Cmd
	done    chan struct{}
}

// Buffer is a goroutine-safe log sink.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Require skips a test when a prerequisite is missing, except under
// CI=true, where a missing prerequisite fails the run.
func Require(t testing.TB, ok bool, what string) {
	t.Helper()
	if ok {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("prerequisite missing under CI: %s (run make deps)", what)
	}
	t.Skipf("prerequisite missing: %s (run make deps)", what)
}

// HaveZooKeeper reports whether Apache ZooKeeper and java are installed.
func HaveZooKeeper() bool {
	_, err := exec.LookPath("java")
	_, jar := os.Stat(ZooKeeperJar)
	return err == nil && jar == nil
}

// Config is what a test server needs.
type Config struct {
	Lines []string // extra zoo.cfg lines
	Props []string // -Dname=value system properties
	Dir   string   // reuse this directory (data survives restarts); empty: a new temp dir
	Port  int      // reuse this port; 0: a free one
	// ClassPath adds jars to ZooKeeper's classpath (StartZooKeeper only),
	// e.g. an SLF4J binding such as /usr/share/java/slf4j-simple.jar so
	// that ZooKeeper's log lands in Proc.Log.
	ClassPath []string
}

func writeConfig(t testing.TB, c *Config) (dir, cfg string, port int) {
	t.Helper()
	dir = c.Dir
	if dir == "" {
		dir = t.TempDir()
	}
	port = c.Port
	if port == 0 {
		port = FreePort(t)
	}
	cfg = filepath.Join(dir, "zoo.cfg")
	lines := append([]string{
		"tickTime=500",
		"dataDir=" + filepath.Join(dir, "data"),
		fmt.Sprintf("clientPort=%d", port),
		"clientPortAddress=127.0.0.1",
		"4lw.commands.whitelist=*",
		"admin.enableServer=false",
	}, c.Lines...)
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, cfg, port
}

// StartZkd starts the zkd binary bin and waits until it serves.
func StartZkd(t testing.TB, bin string, c Config) *Proc {
	t.Helper()
	dir, cfg, port := writeConfig(t, &c)
	args := append([]string{"start-foreground"}, c.Props...)
	return start(t, exec.Command(bin, append(args, cfg)...), dir, cfg, port)
}

// StartZooKeeper starts Apache ZooKeeper 3.8 from the Debian package.
func StartZooKeeper(t testing.TB, c Config) *Proc {
	t.Helper()
	Require(t, HaveZooKeeper(), "java and "+ZooKeeperJar)
	dir, cfg, port := writeConfig(t, &c)
	cp := strings.Join(append([]string{"/etc/zookeeper/conf", ZooKeeperJar}, c.ClassPath...), ":")
	args := []string{"-cp", cp, "-Xmx512m", "-Dzookeeper.log.dir=" + dir}
	args = append(args, c.Props...)
	args = append(args, "org.apache.zookeeper.server.quorum.QuorumPeerMain", cfg)
	return start(t, exec.Command("java", args...), dir, cfg, port)
}

func start(t testing.TB, cmd *exec.Cmd, dir, cfg string, port int) *Proc {
	t.Helper()
	p := &Proc{
		Addr: fmt.Sprintf("127.0.0.1:%d", port), Port: port, Dir: dir, Cfg: cfg,
		DataDir: filepath.Join(dir, "data"), Log: &Buffer{}, cmd: cmd, done: make(chan struct{}),
	}
	cmd.Stdout, cmd.Stderr = p.Log, p.Log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() {
			t.Logf("%s log:\n%s", filepath.Base(cmd.Path), p.Log.String())
		}
	})
	if err := p.WaitServing(30 * time.Second); err != nil {
		t.Fatalf("%v\n%s", err, p.Log.String())
	}
	return p
}

// WaitServing waits until the server answers ruok.
func (p *Proc) WaitServing(d time.Duration) error {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if out, err := FourLetter(p.Addr, "ruok"); err == nil && out == "imok" {
			if out, err := FourLetter(p.Addr, "srvr"); err == nil && strings.Contains(out, "Mode:") {
				return nil
			}
		}
		select {
		case <-p.done:
			return fmt.Errorf("server exited early")
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("server did not start within %v", d)
}

// Stop terminates the server and waits for it.
func (p *Proc) Stop() {
	if p.Exited() {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.Kill()
	}
}

// Kill stops the server with SIGKILL.
func (p *Proc) Kill() {
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
}

// Signal sends sig to the server's process group.
func (p *Proc) Signal(sig syscall.Signal) { _ = syscall.Kill(-p.cmd.Process.Pid, sig) }

// Pid is the server's process id.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Exited reports whether the process has ended.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// FourLetter sends a four-letter word and returns the answer.
func FourLetter(addr, cmd string) (string, error) {
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

// BuildZkd builds zkd into dir unless $ZKD_BIN names a binary, and returns
// its path. For TestMain functions.
func BuildZkd(dir string) (string, error) {
	if b := os.Getenv("ZKD_BIN"); b != "" {
		return b, nil
	}
	bin := filepath.Join(dir, "zkd")
	cmd := exec.Command("go", "build", "-o", bin, "zkd/cmd/zkd")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	return bin, cmd.Run()
}

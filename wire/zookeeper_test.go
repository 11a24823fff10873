package wire_test

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"zkd/internal/zkproc"
)

// Real Apache ZooKeeper 3.8 (the Debian package), started on loopback
// for golden-byte tests. Tests skip when it is not installed, unless
// CI=true, where its absence is a failure.

const zkJar = "/usr/share/java/zookeeper.jar"

func requireZooKeeper(t *testing.T) {
	t.Helper()
	_, errJava := exec.LookPath("java")
	_, errJar := os.Stat(zkJar)
	if errJava == nil && errJar == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true but ZooKeeper is not runnable: java: %v, jar: %v", errJava, errJar)
	}
	t.Skipf("ZooKeeper not installed (java: %v, jar: %v)", errJava, errJar)
}

type zooKeeper struct {
	Addr    string
	DataDir string
	cfg     string
	log     string
	cmd     *exec.Cmd
	exited  chan struct{}
}

// startZooKeeper runs a standalone server over dataDir (a new temporary
// one when empty) with the extra zoo.cfg lines, and waits until it
// serves. The process group is killed when the test ends.
func startZooKeeper(t *testing.T, dataDir string, extra ...string) *zooKeeper {
	t.Helper()
	requireZooKeeper(t)
	dir := t.TempDir()
	if dataDir == "" {
		dataDir = filepath.Join(dir, "data")
	}
	port := zkproc.FreePort(t)
	z := &zooKeeper{
		Addr:    fmt.Sprintf("127.0.0.1:%d", port),
		DataDir: dataDir,
		cfg:     filepath.Join(dir, "zoo.cfg"),
		log:     filepath.Join(dir, "zookeeper.out"),
	}
	cfg := []string{
		"tickTime=2000",
		"dataDir=" + dataDir,
		fmt.Sprintf("clientPort=%d", port),
		"clientPortAddress=127.0.0.1",
		"admin.enableServer=false",
		"4lw.commands.whitelist=*",
	}
	cfg = append(cfg, extra...)
	if err := os.WriteFile(z.cfg, []byte(strings.Join(cfg, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(z.log)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	z.cmd = exec.Command("java", "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
		"-cp", "/etc/zookeeper/conf:"+zkJar,
		"org.apache.zookeeper.server.quorum.QuorumPeerMain", z.cfg)
	z.cmd.Stdout, z.cmd.Stderr = out, out
	z.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := z.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	z.exited = make(chan struct{})
	go func() { z.cmd.Wait(); close(z.exited) }()
	t.Cleanup(z.Stop)
	if err := z.waitReady(20 * time.Second); err != nil {
		log, _ := os.ReadFile(z.log)
		t.Fatalf("ZooKeeper did not start: %v\n%s", err, log)
	}
	return z
}

func (z *zooKeeper) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-z.exited:
			return fmt.Errorf("exited: %v", z.cmd.ProcessState)
		default:
		}
		// ruok answers imok before the database is loaded; srvr
		// reports stats only once the server is serving.
		if reply, err := z.FourLetter("srvr"); err == nil && strings.HasPrefix(reply, "Zookeeper version:") {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no imok after %v", timeout)
		}
		<-tick.C
	}
}

// FourLetter sends a four-letter word and returns the reply.
func (z *zooKeeper) FourLetter(word string) (string, error) {
	c, err := net.DialTimeout("tcp", z.Addr, time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte(word)); err != nil {
		return "", err
	}
	b, err := io.ReadAll(c)
	return string(b), err
}

// Stop kills the server's process group and waits for it.
func (z *zooKeeper) Stop() {
	if z.exited == nil {
		return
	}
	select {
	case <-z.exited:
	default:
		syscall.Kill(-z.cmd.Process.Pid, syscall.SIGKILL)
		<-z.exited
	}
}

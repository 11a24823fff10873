package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"zkd/bench/load"
	"zkd/internal/zkproc"
	"zkd/jute"
	"zkd/wire"
)

// zooKeeperJar is the Debian package's server jar.
const zooKeeperJar = "/usr/share/java/zookeeper.jar"

// kind is a server implementation the suite can start.
type kind struct {
	Name  string // key in the results: "zkd" or "zookeeper"
	Label string // for the report
	cmd   func(cfg, dir string) *exec.Cmd
	bin   string // zkd's binary
	heap  string // ZooKeeper's -Xmx
}

func zkdKind(bin string) kind {
	return kind{Name: "zkd", Label: "zkd", bin: bin, cmd: func(cfg, dir string) *exec.Cmd {
		return exec.Command(bin, "start-foreground", cfg)
	}}
}

func zooKeeperKind(heap string) kind {
	return kind{Name: "zookeeper", Label: "ZooKeeper", heap: heap, cmd: func(cfg, dir string) *exec.Cmd {
		// java itself, not zkServer.sh, so the pid the suite samples in
		// /proc is the JVM's.
		return exec.Command("java", "-Xmx"+heap, "-Dzookeeper.log.dir="+dir,
			"-Dzookeeper.root.logger=INFO,CONSOLE",
			"-cp", "/etc/zookeeper/conf:"+zooKeeperJar,
			"org.apache.zookeeper.server.quorum.QuorumPeerMain", cfg)
	}}
}

// zooCfg is the configuration both servers get: the same tickTime, fsync
// on every commit, no connection limit per client address (the idle and
// churn workloads open thousands from 127.0.0.1), every 4lw.
func zooCfg(dataDir string, port int) string {
	return strings.Join([]string{
		"tickTime=2000",
		"initLimit=10",
		"syncLimit=5",
		"dataDir=" + dataDir,
		fmt.Sprintf("clientPort=%d", port),
		"clientPortAddress=127.0.0.1",
		"maxClientCnxns=0",
		"forceSync=yes",
		"4lw.commands.whitelist=*",
		"admin.enableServer=false",
	}, "\n") + "\n"
}

// sharedCfgLines is zooCfg without the per-server lines, for the report.
func sharedCfgLines() []string {
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(zooCfg("", 0)), "\n") {
		if !strings.HasPrefix(l, "dataDir=") && !strings.HasPrefix(l, "clientPort=") {
			out = append(out, l)
		}
	}
	return out
}

// proc is a running server.
type proc struct {
	kind    kind
	Dir     string
	DataDir string
	Addr    string
	cmd     *exec.Cmd
	done    chan struct{}
	log     *os.File
	release func() // frees the port
	Started time.Time
}

// startServer starts k with its config and data under dir (created on
// first use; a later start on the same dir serves the same data) on a
// port reserved until stop.
func startServer(k kind, dir string) (_ *proc, err error) {
	port, release, err := zkproc.ReservePort()
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			release()
		}
	}()
	dataDir := filepath.Join(dir, "data")
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, err
	}
	cfg := filepath.Join(dir, "zoo.cfg")
	if err := os.WriteFile(cfg, []byte(zooCfg(dataDir, port)), 0o644); err != nil {
		return nil, err
	}
	logf, err := os.OpenFile(filepath.Join(dir, k.Name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := k.cmd(cfg, dir)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	p := &proc{kind: k, Dir: dir, DataDir: dataDir, Addr: fmt.Sprintf("127.0.0.1:%d", port),
		cmd: cmd, done: make(chan struct{}), log: logf, release: release}
	p.Started = time.Now()
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	go func() { _ = cmd.Wait(); close(p.done) }()
	return p, nil
}

// PID is the server's process id.
func (p *proc) PID() int { return p.cmd.Process.Pid }

// Exited reports whether the server process has ended.
func (p *proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// errNoNode is returned by waitNode when the server serves but the node
// is not there (its data did not survive the restart).
var errNoNode = errors.New("server serves but the node is missing")

// waitNode polls until a session can be opened and path answers getData,
// and returns the time from process start until then. An empty path only
// waits for a session. A new attempt starts every 25 ms, without waiting
// for the ones in flight: a starting ZooKeeper accepts connections before
// it serves and can leave an early one unanswered, which a sequential
// poller would wait out.
func (p *proc) waitNode(path string, limit time.Duration) (time.Duration, error) {
	if path == "" {
		path = "/"
	}
	type outcome struct {
		at  time.Time
		err error
	}
	results := make(chan outcome, 1)
	var inflight atomic.Int32
	attempt := func() {
		defer inflight.Add(-1)
		s, err := load.Dial(p.Addr, load.Options{Timeout: 10 * time.Second, HandshakeTimeout: 5 * time.Second,
			NoPing: true, ReadBuffer: 4096, MaxInFlight: 4})
		if err != nil {
			return
		}
		defer s.Close()
		c, err := s.Call(wire.OpGetData, &jute.GetDataRequest{Path: path})
		if err != nil {
			return
		}
		o := outcome{at: time.Now()}
		switch wire.Error(c.Hdr.Err) {
		case wire.ErrOK:
		case wire.ErrNoNode:
			o.err = errNoNode
		default:
			return
		}
		select {
		case results <- o:
		default:
		}
	}
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	deadline := time.NewTimer(time.Until(p.Started.Add(limit)))
	defer deadline.Stop()
	for {
		select {
		case o := <-results:
			return o.at.Sub(p.Started), o.err
		case <-tick.C:
			if p.Exited() {
				return 0, fmt.Errorf("%s exited during startup (log: %s)", p.kind.Name, p.log.Name())
			}
			if inflight.Load() < 32 {
				inflight.Add(1)
				go attempt()
			}
		case <-deadline.C:
			return 0, fmt.Errorf("%s not serving %s within %v (log: %s)", p.kind.Name, path, limit, p.log.Name())
		}
	}
}

// stop ends the server with SIGTERM (SIGKILL after 20 s) and waits.
func (p *proc) stop() {
	defer p.release()
	defer p.log.Close()
	if p.Exited() {
		return
	}
	_ = syscall.Kill(-p.PID(), syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		_ = syscall.Kill(-p.PID(), syscall.SIGKILL)
		<-p.done
	}
}

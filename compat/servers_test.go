package compat

import (
	"errors"
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

	"zkd/internal/zkproc"
	"zkd/jute"
	"zkd/wire"
)

const (
	zkJar       = "/usr/share/java/zookeeper.jar"
	zkConfDir   = "/etc/zookeeper/conf"
	zkMainClass = "org.apache.zookeeper.server.quorum.QuorumPeerMain"

	startTimeout = 60 * time.Second // until ruok answers imok
)

// serverKind names the two implementations under comparison.
type serverKind string

const (
	kindZK  serverKind = "zookeeper"
	kindZKD serverKind = "zkd"
)

// serverSpec is one server configuration, started once for ZooKeeper and
// once for zkd.
type serverSpec struct {
	name  string            // "main", "plain"
	cfg   map[string]string // zoo.cfg keys besides dataDir and clientPort
	props map[string]string // -Dname=value system properties
}

// server is a running ZooKeeper or zkd process.
type server struct {
	kind serverKind
	spec string
	addr string // 127.0.0.1:port
	dir  string
	log  string // path of the captured stdout+stderr
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error         // exit status, valid after done
}

// pair is one ZooKeeper and one zkd started with the same settings.
type pair struct {
	spec  serverSpec
	zk    *server
	zkd   *server
	ports []func() // release the reserved ports
}

func (p *pair) server(k serverKind) *server {
	if k == kindZK {
		return p.zk
	}
	return p.zkd
}

// prerequisites reports why the real ZooKeeper cannot be run here, or "".
func prerequisites() string {
	if _, err := exec.LookPath("java"); err != nil {
		return "java is not installed (apt-get install default-jdk-headless)"
	}
	if _, err := os.Stat(zkJar); err != nil {
		return zkJar + " is missing (apt-get install zookeeper)"
	}
	return ""
}

// buildZKD returns the zkd binary: $ZKD_BIN, or a fresh build of ./cmd/zkd.
func buildZKD(tmp string) (string, error) {
	if bin := os.Getenv("ZKD_BIN"); bin != "" {
		if _, err := os.Stat(bin); err != nil {
			return "", fmt.Errorf("ZKD_BIN: %w", err)
		}
		return bin, nil
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	}
	bin := filepath.Join(tmp, "zkd")
	t0 := time.Now()
	defer func() {
		if testing.Verbose() {
			fmt.Fprintf(os.Stderr, "compat: go build ./cmd/zkd took %v\n", time.Since(t0).Round(time.Millisecond))
		}
	}()
	cmd := exec.Command(goBin, "build", "-o", bin, "./cmd/zkd")
	cmd.Dir = ".." // the module root: this package is compat/
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build ./cmd/zkd: %v\n%s", err, out)
	}
	return bin, nil
}

// writeConfig writes dir/zoo.cfg with dataDir=dir/data.
func writeConfig(dir string, port int, extra map[string]string) (string, error) {
	data := filepath.Join(dir, "data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "tickTime=2000\ndataDir=%s\nclientPort=%d\nadmin.enableServer=false\n", data, port)
	for _, k := range sortedKeys(extra) {
		fmt.Fprintf(&b, "%s=%s\n", k, extra[k])
	}
	path := filepath.Join(dir, "zoo.cfg")
	return path, os.WriteFile(path, []byte(b.String()), 0o644)
}

// startServer launches one server process in its own process group.
func startServer(kind serverKind, spec serverSpec, tmp, zkdBin string, port int) (*server, error) {
	dir := filepath.Join(tmp, spec.name+"-"+string(kind))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	cfg, err := writeConfig(dir, port, spec.cfg)
	if err != nil {
		return nil, err
	}
	var flags []string
	for _, k := range sortedKeys(spec.props) {
		flags = append(flags, "-D"+k+"="+spec.props[k])
	}
	var cmd *exec.Cmd
	if kind == kindZK {
		args := append([]string{}, flags...)
		cp := zkConfDir + ":" + zkJar
		if os.Getenv("COMPAT_ZK_LOG") != "" {
			// ZooKeeper's own log (slf4j-simple, on stderr), for debugging.
			cp += ":/usr/share/java/slf4j-simple.jar"
		}
		args = append(args, "-cp", cp, zkMainClass, cfg)
		cmd = exec.Command("java", args...)
	} else {
		args := append([]string{"start-foreground"}, flags...)
		args = append(args, cfg)
		cmd = exec.Command(zkdBin, args...)
	}
	logPath := filepath.Join(dir, "server.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", kind, err)
	}
	s := &server{
		kind: kind, spec: spec.name, addr: fmt.Sprintf("127.0.0.1:%d", port),
		dir: dir, log: logPath, cmd: cmd, done: make(chan struct{}),
	}
	go func() {
		s.err = cmd.Wait()
		logf.Close()
		close(s.done)
	}()
	t0 := time.Now()
	if err := s.waitReady(startTimeout); err != nil {
		s.stop()
		return nil, fmt.Errorf("%s (%s) did not start: %v\n%s", kind, spec.name, err, s.logTail(40))
	}
	if testing.Verbose() {
		fmt.Fprintf(os.Stderr, "compat: %s (%s) on %s ready in %v\n", kind, spec.name, s.addr, time.Since(t0).Round(time.Millisecond))
	}
	return s, nil
}

// waitReady polls ruok until the server answers.
func (s *server) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			return fmt.Errorf("process exited: %v", s.err)
		default:
		}
		// ruok answers imok; where it is not whitelisted the refusal
		// shows just as well that the client port is served.
		reply, err := fourLetterWord(s.addr, "ruok", time.Second)
		if err == nil && (reply == "imok" || strings.Contains(reply, "not in the whitelist")) {
			// ZooKeeper answers ruok before it serves sessions: also
			// open and close one.
			if err = probeSession(s.addr); err == nil {
				return nil
			}
		}
		if err == nil {
			err = fmt.Errorf("ruok answered %q", reply)
		}
		last = err
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("no imok within %v: %v", timeout, last)
}

// probeSession opens a session and closes it.
func probeSession(addr string) error {
	c, err := dialRaw(addr, time.Second)
	if err != nil {
		return err
	}
	defer c.close()
	req := jute.ConnectRequest{TimeOut: 30000, Passwd: make([]byte, 16)}
	if err := c.writeFrame(jute.Marshal(&req), time.Second); err != nil {
		return err
	}
	b, err := c.readFrame(time.Second)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	var resp jute.ConnectResponse
	if err := jute.Unmarshal(b, &resp); err != nil {
		return err
	}
	if resp.TimeOut <= 0 {
		return fmt.Errorf("session refused")
	}
	if err := c.writeFrame(encodeRequest(1, wire.OpCloseSession, nil), time.Second); err != nil {
		return err
	}
	if _, err := c.readFrame(time.Second); err != nil {
		return fmt.Errorf("closeSession: %w", err)
	}
	return nil
}

// stop kills the whole process group and waits (bounded) for the exit.
func (s *server) stop() {
	if s == nil || s.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
	}
}

// alive reports whether the process is still running.
func (s *server) alive() bool {
	select {
	case <-s.done:
		return false
	default:
		return true
	}
}

// logTail returns the last n lines of the server's output.
func (s *server) logTail(n int) string {
	b, err := os.ReadFile(s.log)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// startPairs starts every spec on both implementations, in parallel;
// zkd is built while the JVMs boot. On error the servers already started
// are stopped.
func startPairs(tmp string, specs []serverSpec) (map[string]*pair, error) {
	pairs := map[string]*pair{}
	var (
		mu     sync.Mutex
		errs   []error
		wg     sync.WaitGroup
		zkdBin string
		built  = make(chan error, 1)
	)
	go func() {
		var err error
		zkdBin, err = buildZKD(tmp)
		built <- err
		close(built)
	}()
	buildErr := sync.OnceValue(func() error { return <-built })
	for _, spec := range specs {
		p := &pair{spec: spec}
		pairs[spec.name] = p
		for _, kind := range []serverKind{kindZK, kindZKD} {
			port, release, err := zkproc.ReservePort()
			if err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
				break
			}
			p.ports = append(p.ports, release)
			wg.Add(1)
			go func(kind serverKind, port int) {
				defer wg.Done()
				var s *server
				var err error
				if kind == kindZKD {
					err = buildErr()
				}
				if err == nil {
					s, err = startServer(kind, spec, tmp, zkdBin, port)
				}
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, err)
					return
				}
				if kind == kindZK {
					p.zk = s
				} else {
					p.zkd = s
				}
			}(kind, port)
		}
	}
	wg.Wait()
	if len(errs) > 0 {
		stopPairs(pairs)
		return nil, errors.Join(errs...)
	}
	return pairs, nil
}

func stopPairs(pairs map[string]*pair) {
	for _, p := range pairs {
		p.zk.stop()
		p.zkd.stop()
		for _, release := range p.ports {
			release()
		}
	}
}

// fourLetterWord sends a four-letter word and reads the reply until the
// server closes the connection.
func fourLetterWord(addr, word string, timeout time.Duration) (string, error) {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return "", err
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(timeout)); err != nil {
		return "", err
	}
	if _, err := c.Write([]byte(word)); err != nil {
		return "", err
	}
	b, err := io.ReadAll(c)
	if err != nil && !isClosedErr(err) {
		return string(b), err
	}
	return string(b), nil
}

// isClosedErr reports whether err means the peer closed the connection.
func isClosedErr(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, net.ErrClosed)
}

package zkproc

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Kind is the server implementation a member runs.
type Kind string

const (
	KindZkd       Kind = "zkd"
	KindZooKeeper Kind = "zookeeper"
)

// SLF4JSimple gives ZooKeeper a logger on stderr when it is installed, so
// its log can be read when a test fails.
const SLF4JSimple = "/usr/share/java/slf4j-simple.jar"

// MemberSpec describes one ensemble member.
type MemberSpec struct {
	ID       int64
	Kind     Kind
	Observer bool
	Props    []string // extra -D properties for this member only
}

// EnsembleConfig describes an ensemble.
type EnsembleConfig struct {
	ZkdBin   string
	Members  []MemberSpec
	TickTime int      // ms; 0: 500
	Lines    []string // extra zoo.cfg lines for every member
	Props    []string // -D properties for every member
	// JVMArgs, when not nil, replace the JVM flags ZooKeeper members get
	// by default (-Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1, which
	// start fast for tests); the bench suite gives them its own heap and
	// the JVM's default GC and JIT.
	JVMArgs []string
}

// Ensemble is a set of servers on loopback that know each other through
// server.N lines. Members start, stop and restart on their own data
// directories.
type Ensemble struct {
	t       testing.TB
	cfg     EnsembleConfig
	Members []*Member
	byID    map[int64]*Member
}

// Member is one server of an ensemble. Its process comes and goes; its
// directory, ports and myid stay.
type Member struct {
	ID           int64
	Kind         Kind
	Observer     bool
	ClientPort   int
	QuorumPort   int
	ElectionPort int
	Addr         string // client address
	Dir          string // zoo.cfg, server.log
	DataDir      string // dataDir with myid
	Props        []string

	e       *Ensemble
	mu      sync.Mutex
	proc    *Proc
	starts  int
	log     *Buffer // every run's output, with a header per run
	logFile *os.File
	paused  bool
}

// NewEnsemble allocates ports and writes each member's zoo.cfg and myid.
// Nothing is started. Every process still running is stopped when the
// test ends; if the test failed, the tail of each member's log is logged.
func NewEnsemble(t testing.TB, c EnsembleConfig) *Ensemble {
	t.Helper()
	for _, m := range c.Members {
		if m.Kind == KindZooKeeper {
			Require(t, HaveZooKeeper(), "java and "+ZooKeeperJar)
		}
	}
	if c.TickTime == 0 {
		c.TickTime = 500
	}
	e := &Ensemble{t: t, cfg: c, byID: map[int64]*Member{}}
	root := t.TempDir()
	for _, s := range c.Members {
		m := &Member{
			ID: s.ID, Kind: s.Kind, Observer: s.Observer, Props: s.Props, e: e, log: &Buffer{},
			ClientPort: FreePort(t), QuorumPort: FreePort(t), ElectionPort: FreePort(t),
			Dir: filepath.Join(root, fmt.Sprintf("server%d", s.ID)),
		}
		m.Addr = fmt.Sprintf("127.0.0.1:%d", m.ClientPort)
		m.DataDir = filepath.Join(m.Dir, "data")
		if err := os.MkdirAll(m.DataDir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(m.DataDir, "myid"), []byte(fmt.Sprintf("%d\n", s.ID)), 0o644); err != nil {
			t.Fatal(err)
		}
		e.Members = append(e.Members, m)
		e.byID[s.ID] = m
	}
	for _, m := range e.Members {
		if err := os.WriteFile(m.CfgPath(), []byte(e.configText(m)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for _, m := range e.Members {
			m.Resume()
			m.Stop()
		}
		if t.Failed() {
			for _, m := range e.Members {
				t.Logf("==== server %d (%s) log tail:\n%s", m.ID, m.Kind, m.LogTail(150))
			}
		}
		if t.Failed() || t.Skipped() {
			// $ZKPROC_KEEP_DIR keeps the members' directories (zoo.cfg,
			// data, server.log) of a failed or skipped test (a known bug)
			// for a post-mortem.
			if keep := os.Getenv("ZKPROC_KEEP_DIR"); keep != "" {
				dst := filepath.Join(keep, strings.ReplaceAll(t.Name(), "/", "_"))
				_ = os.MkdirAll(dst, 0o755)
				if out, err := exec.Command("cp", "-a", root, dst).CombinedOutput(); err != nil {
					t.Logf("keeping %s: %v %s", root, err, out)
				} else {
					t.Logf("server directories kept in %s", dst)
				}
			}
		}
		for _, m := range e.Members {
			if m.logFile != nil {
				m.logFile.Close()
			}
		}
	})
	return e
}

func (e *Ensemble) configText(m *Member) string {
	lines := []string{
		fmt.Sprintf("tickTime=%d", e.cfg.TickTime),
		"initLimit=10",
		"syncLimit=5",
		"dataDir=" + m.DataDir,
		fmt.Sprintf("clientPort=%d", m.ClientPort),
		"clientPortAddress=127.0.0.1",
		"4lw.commands.whitelist=*",
		"admin.enableServer=false",
	}
	for _, o := range e.Members {
		l := fmt.Sprintf("server.%d=127.0.0.1:%d:%d", o.ID, o.QuorumPort, o.ElectionPort)
		if o.Observer {
			l += ":observer"
		}
		lines = append(lines, l)
	}
	if m.Observer {
		lines = append(lines, "peerType=observer")
	}
	lines = append(lines, e.cfg.Lines...)
	return strings.Join(lines, "\n") + "\n"
}

// Member returns the member with server id id.
func (e *Ensemble) Member(id int64) *Member {
	m := e.byID[id]
	if m == nil {
		e.t.Fatalf("no server %d in the ensemble", id)
	}
	return m
}

// Addrs are the client addresses of the given members (all when none).
func (e *Ensemble) Addrs(ms ...*Member) []string {
	if len(ms) == 0 {
		ms = e.Members
	}
	out := make([]string, 0, len(ms))
	for _, m := range ms {
		out = append(out, m.Addr)
	}
	return out
}

// Voters are the members that are not observers.
func (e *Ensemble) Voters() []*Member {
	var out []*Member
	for _, m := range e.Members {
		if !m.Observer {
			out = append(out, m)
		}
	}
	return out
}

// StartAll starts every member that is not running (without waiting).
func (e *Ensemble) StartAll() {
	for _, m := range e.Members {
		if !m.Running() {
			m.Start()
		}
	}
}

// WaitServing waits until every given member (all when none) serves as
// leader, follower or observer, and at most one of them is the leader.
func (e *Ensemble) WaitServing(d time.Duration, ms ...*Member) error {
	if len(ms) == 0 {
		ms = e.Members
	}
	deadline := time.Now().Add(d)
	var last string
	for {
		ok := true
		leaders := 0
		var states []string
		for _, m := range ms {
			mode, err := m.Mode()
			if err != nil {
				mode = "(" + firstLine(err.Error()) + ")"
			}
			states = append(states, fmt.Sprintf("%d:%s", m.ID, mode))
			if mode != "leader" && mode != "follower" && mode != "observer" {
				ok = false
			}
			if mode == "leader" {
				// A leader back from SIGSTOP claims to lead until it
				// notices it lost its followers.
				if leaders++; leaders > 1 {
					ok = false
				}
			}
			if m.Exited() {
				return fmt.Errorf("server %d (%s) exited; states %v", m.ID, m.Kind, states)
			}
		}
		last = strings.Join(states, " ")
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("ensemble not serving within %v: %s", d, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// MustServe is WaitServing that fails the test.
func (e *Ensemble) MustServe(d time.Duration, ms ...*Member) {
	e.t.Helper()
	if err := e.WaitServing(d, ms...); err != nil {
		e.t.Fatal(err)
	}
}

// Leader returns the running member that reports Mode: leader, or nil.
func (e *Ensemble) Leader() *Member {
	for _, m := range e.Members {
		if !m.Running() || m.Paused() {
			continue
		}
		if mode, err := m.Mode(); err == nil && mode == "leader" {
			return m
		}
	}
	return nil
}

// WaitLeader waits until one of the running members (other than except)
// reports Mode: leader.
func (e *Ensemble) WaitLeader(d time.Duration, except ...*Member) (*Member, error) {
	deadline := time.Now().Add(d)
	for {
		for _, m := range e.Members {
			if !m.Running() || m.Paused() || contains(except, m) {
				continue
			}
			if mode, err := m.Mode(); err == nil && mode == "leader" {
				return m, nil
			}
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("no leader within %v", d)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func contains(ms []*Member, m *Member) bool {
	for _, x := range ms {
		if x == m {
			return true
		}
	}
	return false
}

// Modes is "id:mode" for every member, for logs.
func (e *Ensemble) Modes() string {
	var out []string
	for _, m := range e.Members {
		mode := "down"
		if m.Paused() {
			mode = "paused"
		} else if m.Running() {
			var err error
			if mode, err = m.Mode(); err != nil {
				mode = "(" + firstLine(err.Error()) + ")"
			}
		}
		out = append(out, fmt.Sprintf("%d/%s:%s", m.ID, m.Kind, mode))
	}
	return strings.Join(out, " ")
}

// CfgPath is the member's zoo.cfg.
func (m *Member) CfgPath() string { return filepath.Join(m.Dir, "zoo.cfg") }

// LogPath is the file every run of the member appends its output to.
func (m *Member) LogPath() string { return filepath.Join(m.Dir, "server.log") }

// SetKind changes the implementation the member runs at its next start
// (the data directory, myid and zoo.cfg stay): a rolling migration.
func (m *Member) SetKind(k Kind) {
	if k == KindZooKeeper {
		Require(m.e.t, HaveZooKeeper(), "java and "+ZooKeeperJar)
	}
	m.mu.Lock()
	m.Kind = k
	m.mu.Unlock()
}

// Start starts the member's process on its data directory without
// waiting for it to serve.
func (m *Member) Start() {
	t := m.e.t
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.proc != nil && !m.proc.Exited() {
		t.Fatalf("server %d is already running", m.ID)
	}
	props := append(append([]string{}, m.e.cfg.Props...), m.Props...)
	var cmd *exec.Cmd
	switch m.Kind {
	case KindZkd:
		args := append([]string{"start-foreground"}, props...)
		cmd = exec.Command(m.e.cfg.ZkdBin, append(args, m.CfgPath())...)
	case KindZooKeeper:
		cp := "/etc/zookeeper/conf:" + ZooKeeperJar
		if _, err := os.Stat(SLF4JSimple); err == nil {
			cp += ":" + SLF4JSimple
		}
		jvm := []string{"-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"}
		if m.e.cfg.JVMArgs != nil {
			jvm = m.e.cfg.JVMArgs
		}
		args := append([]string{"-cp", cp}, jvm...)
		args = append(args, "-Dzookeeper.log.dir="+m.Dir,
			"-Dorg.slf4j.simpleLogger.showDateTime=true",
			"-Dorg.slf4j.simpleLogger.dateTimeFormat=HH:mm:ss.SSS")
		args = append(args, props...)
		args = append(args, "org.apache.zookeeper.server.quorum.QuorumPeerMain", m.CfgPath())
		cmd = exec.Command("java", args...)
	default:
		t.Fatalf("unknown kind %q", m.Kind)
	}
	cmd.Dir = m.Dir
	if m.logFile == nil {
		f, err := os.OpenFile(m.LogPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		m.logFile = f
	}
	m.starts++
	header := fmt.Sprintf("==== %s start #%d of server %d (%s)\n", time.Now().Format("15:04:05.000"), m.starts, m.ID, m.Kind)
	_, _ = m.log.Write([]byte(header))
	_, _ = m.logFile.Write([]byte(header))
	runLog := &Buffer{}
	w := &teeWriter{ws: []io.Writer{m.log, m.logFile, runLog}}
	cmd.Stdout, cmd.Stderr = w, w
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	p := &Proc{
		Addr: m.Addr, Port: m.ClientPort, Dir: m.Dir, Cfg: m.CfgPath(), DataDir: m.DataDir,
		Log: runLog, cmd: cmd, done: make(chan struct{}),
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting server %d (%s): %v", m.ID, m.Kind, err)
	}
	go func() { _ = cmd.Wait(); close(p.done) }()
	m.proc = p
	m.paused = false
}

type teeWriter struct {
	mu sync.Mutex
	ws []io.Writer
}

func (w *teeWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, x := range w.ws {
		_, _ = x.Write(p)
	}
	return len(p), nil
}

// Restart stops the member (SIGTERM) if it runs, and starts it again on
// the same data directory.
func (m *Member) Restart() {
	m.Stop()
	m.Start()
}

// Proc is the current process, or nil before the first start.
func (m *Member) Proc() *Proc {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.proc
}

// Running reports whether the member's process is alive.
func (m *Member) Running() bool {
	p := m.Proc()
	return p != nil && !p.Exited()
}

// Exited reports whether the member was started and its process ended
// on its own or by a stop.
func (m *Member) Exited() bool {
	p := m.Proc()
	return p != nil && p.Exited()
}

// Stop ends the process with SIGTERM (SIGKILL after 10 s).
func (m *Member) Stop() {
	if p := m.Proc(); p != nil && !p.Exited() {
		m.Resume()
		p.Stop()
	}
}

// Kill ends the process with SIGKILL.
func (m *Member) Kill() {
	if p := m.Proc(); p != nil && !p.Exited() {
		p.Kill()
		m.mu.Lock()
		m.paused = false
		m.mu.Unlock()
	}
}

// Pause stops the process with SIGSTOP and waits until every thread of
// it is stopped (a signal takes effect asynchronously).
func (m *Member) Pause() {
	if p := m.Proc(); p != nil && !p.Exited() {
		p.Signal(syscall.SIGSTOP)
		m.mu.Lock()
		m.paused = true
		m.mu.Unlock()
		if err := waitStopped(p.Pid(), 5*time.Second); err != nil {
			m.e.t.Logf("server %d: %v", m.ID, err)
		}
	}
}

// waitStopped waits until every thread of pid is in state T (stopped),
// from /proc/<pid>/task/*/stat.
func waitStopped(pid int, d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/stat", pid))
		if err != nil || len(tasks) == 0 {
			return fmt.Errorf("no threads of %d: %v", pid, err)
		}
		running := 0
		for _, f := range tasks {
			b, err := os.ReadFile(f)
			if err != nil {
				continue // the thread ended
			}
			// pid (comm) state ...: comm may hold spaces and parentheses.
			st := string(b)
			if i := strings.LastIndexByte(st, ')'); i >= 0 && i+2 < len(st) {
				if c := st[i+2]; c != 'T' && c != 't' && c != 'Z' && c != 'X' {
					running++
				}
			}
		}
		if running == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d threads of %d not stopped after %v", running, pid, d)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Resume continues a paused process with SIGCONT.
func (m *Member) Resume() {
	m.mu.Lock()
	paused := m.paused
	m.paused = false
	m.mu.Unlock()
	if p := m.Proc(); paused && p != nil && !p.Exited() {
		p.Signal(syscall.SIGCONT)
	}
}

// Paused reports whether the member is stopped by SIGSTOP.
func (m *Member) Paused() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.paused
}

// Mode is the Mode line of srvr: leader, follower, observer, standalone;
// an error while the server does not serve.
func (m *Member) Mode() (string, error) { return Mode(m.Addr) }

// Mode asks the server at addr for srvr and returns its Mode.
func Mode(addr string) (string, error) {
	out, err := FourLetter(addr, "srvr")
	if err != nil {
		return "", err
	}
	for _, l := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(l, "Mode: "); ok {
			return strings.TrimSpace(v), nil
		}
	}
	if out == "" {
		return "", fmt.Errorf("empty srvr answer")
	}
	return "", fmt.Errorf("%s", strings.TrimSpace(out))
}

// Zxid is the Zxid line of srvr.
func (m *Member) Zxid() (int64, error) {
	out, err := FourLetter(m.Addr, "srvr")
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(l, "Zxid: "); ok {
			z, err := strconv.ParseUint(strings.TrimPrefix(strings.TrimSpace(v), "0x"), 16, 64)
			return int64(z), err
		}
	}
	return 0, fmt.Errorf("no Zxid in srvr: %q", out)
}

// Log is everything every run of the member wrote.
func (m *Member) Log() string { return m.log.String() }

// RunLog is what the current (or last) run wrote.
func (m *Member) RunLog() string {
	if p := m.Proc(); p != nil {
		return p.Log.String()
	}
	return ""
}

// LogTail is the last n lines of the member's log.
func (m *Member) LogTail(n int) string {
	lines := strings.Split(strings.TrimRight(m.log.String(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// CountLog counts the lines of the current run's log containing s.
func (m *Member) CountLog(s string) int {
	n := 0
	sc := bufio.NewScanner(strings.NewReader(m.RunLog()))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		if strings.Contains(sc.Text(), s) {
			n++
		}
	}
	return n
}

// WaitLog waits until the current run's log contains s.
func (m *Member) WaitLog(s string, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		if strings.Contains(m.RunLog(), s) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// Digest asks for the hash four-letter word: zkd answers
// "<hex zxid>: <digest>" for its current tree.
func (m *Member) Digest() (string, error) {
	out, err := FourLetter(m.Addr, "hash")
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(out), nil
}

// WaitMode waits until the member's srvr Mode is mode.
func (m *Member) WaitMode(mode string, d time.Duration) error {
	deadline := time.Now().Add(d)
	var last string
	for {
		got, err := m.Mode()
		if err == nil && got == mode {
			return nil
		}
		last = got
		if err != nil {
			last = firstLine(err.Error())
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("server %d is %q after %v, want %s", m.ID, last, d, mode)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// WaitElectionPort waits until the member accepts connections on its
// election port, i.e. it takes part in leader election. Starting the
// intended leader first and waiting for this puts it in the first
// election: with equal zxids, the highest server id wins.
func (m *Member) WaitElectionPort(d time.Duration) error {
	deadline := time.Now().Add(d)
	addr := fmt.Sprintf("127.0.0.1:%d", m.ElectionPort)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if m.Exited() {
			return fmt.Errorf("server %d exited", m.ID)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("server %d: election port %s not open within %v: %v", m.ID, addr, d, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

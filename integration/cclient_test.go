package integration

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"zkd/internal/zkproc"
)

// The C client from Debian's zookeeper-bin.
const (
	cliMt   = "/usr/lib/zookeeper/bin/cli_mt"
	loadGen = "/usr/lib/zookeeper/bin/load_gen"
)

// cliSession drives cli_mt through its stdin. cli_mt runs every command
// asynchronously and prints completions and watcher callbacks (on stderr)
// from its completion thread, so each step waits for the lines it expects.
type cliSession struct {
	t     *testing.T
	stdin io.WriteCloser
	cmd   *exec.Cmd

	mu    sync.Mutex
	lines []string // everything printed so far
	next  int      // lines before next belong to earlier steps
	done  chan struct{}
}

func startCli(t *testing.T, addr string) *cliSession {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, cliMt, "-h", addr)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	s := &cliSession{t: t, stdin: stdin, cmd: cmd, done: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			s.mu.Lock()
			s.lines = append(s.lines, sc.Text())
			s.mu.Unlock()
		}
	}()
	go func() {
		_ = cmd.Wait()
		pw.Close()
		close(s.done)
	}()
	t.Cleanup(func() {
		stdin.Close()
		select {
		case <-s.done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-s.done
		}
		if t.Failed() {
			t.Logf("cli_mt transcript:\n%s", s.transcript())
		}
	})
	return s
}

func (s *cliSession) transcript() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.lines, "\n")
}

// waitFor waits until every pattern has matched a line printed since the
// last step, in the given order (each on a later line than the previous
// one), and returns the lines of this step. The next step starts after the
// last matched line.
func (s *cliSession) waitFor(what string, patterns ...string) []string {
	s.t.Helper()
	res := make([]*regexp.Regexp, len(patterns))
	for i, p := range patterns {
		res[i] = regexp.MustCompile(p)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		s.mu.Lock()
		i, matched := s.next, 0
		for ; i < len(s.lines) && matched < len(res); i++ {
			if res[matched].MatchString(s.lines[i]) {
				matched++
			}
		}
		if matched == len(res) {
			step := append([]string(nil), s.lines[s.next:i]...)
			s.next = i
			s.mu.Unlock()
			return step
		}
		pending := strings.Join(s.lines[s.next:], "\n")
		s.mu.Unlock()
		select {
		case <-s.done:
			s.t.Fatalf("%s: cli_mt exited; still waiting for %q\nsince last step:\n%s", what, patterns[matched], pending)
		default:
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("%s: no line matching %q within 10s\nsince last step:\n%s", what, patterns[matched], pending)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// do sends a command line and waits for the patterns.
func (s *cliSession) do(line string, patterns ...string) []string {
	s.t.Helper()
	if _, err := io.WriteString(s.stdin, line+"\n"); err != nil {
		s.t.Fatalf("%s: writing to cli_mt: %v", line, err)
	}
	return s.waitFor(line, patterns...)
}

// quiet checks that nothing matching pattern was printed for d.
func (s *cliSession) quiet(d time.Duration, pattern string) {
	s.t.Helper()
	time.Sleep(d)
	re := regexp.MustCompile(pattern)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.lines[s.next:] {
		if re.MatchString(l) {
			s.t.Errorf("unexpected output %q", l)
		}
	}
}

// TestCClientCli drives the C client's shell, cli_mt, against Apache
// ZooKeeper and zkd: create (plain, sequential, ephemeral, container,
// create2), get, set, ls, ls2, exists, wexists, sync, delete, and the
// watcher callbacks that get, ls and wexists leave (changed, child, created,
// deleted events), each printed before the completion of the request that
// triggered it.
func TestCClientCli(t *testing.T) {
	zkproc.Require(t, fileExists(cliMt), cliMt+" (zookeeper-bin)")
	onZooKeeperAndZkd(t, nil, func(t *testing.T, p *zkproc.Proc, isZkd bool) {
		s := startCli(t, p.Addr)
		s.waitFor("connect", `^Watcher SESSION_EVENT state = CONNECTED_STATE$`, `^Got a new session id: 0x[0-9a-f]+$`)

		s.do("create /cc", `^Creating \[/cc\] node`, `^\[/cc\]: rc = 0$`, `^\tname = /cc$`)
		s.do("create /cc", `^\[/cc\]: rc = -110$`) // ZNODEEXISTS
		s.do("create /nope/child", `^\[/nope/child\]: rc = -101$`)

		// get prints the data ("new": cli_mt creates every node with it) and
		// leaves a data watch.
		out := s.do("get /cc", `^/cc: rc = 0$`, `^ value_len = 3$`, `^new$`, `^Stat:$`, `^\tversion=0\taversion=0$`, `^\tephemeralOwner = 0$`)
		_ = out
		// set fires the watch before its own completion.
		s.do("set /cc hello", `^Watcher CHANGED_EVENT state = CONNECTED_STATE for path /cc$`, `^/cc: rc = 0 Stat:$`, `^\tversion=1\taversion=0$`)
		s.do("get /cc", `^/cc: rc = 0$`, `^ value_len = 5$`, `^hello$`, `^\tversion=1\taversion=0$`)
		s.do("set /cc again", `^/cc: rc = 0 Stat:$`, `^\tversion=2\taversion=0$`)
		s.quiet(200*time.Millisecond, `^Watcher CHANGED_EVENT`) // the watch was one-shot and not re-set

		s.do("create +s /cc/s-", `^Creating \[/cc/s-\] node`, `^\[/cc/s-\]: rc = 0$`, `^\tname = /cc/s-0000000000$`)
		s.do("create +e /cc/eph", `^\[/cc/eph\]: rc = 0$`, `^\tname = /cc/eph$`)
		s.do("create +es /cc/es-", `^\[/cc/es-\]: rc = 0$`, `^\tname = /cc/es-0000000002$`)
		s.do("create /cc/eph/child", `^\[/cc/eph/child\]: rc = -108$`) // ZNOCHILDRENFOREPHEMERALS

		// ls lists the children (tab-indented) and leaves a child watch.
		out = s.do("ls /cc", `^/cc: rc = 0$`, `^time = \d+ msec$`)
		if got, want := children(out), []string{"eph", "es-0000000002", "s-0000000000"}; !equalStrings(got, want) {
			t.Errorf("ls /cc: children %q, want %q", got, want)
		}
		s.do("create2 /cc/c2", `^Watcher CHILD_EVENT state = CONNECTED_STATE for path /cc$`, `^\[/cc/c2\]: rc = 0$`, `^\tname = /cc/c2$`, `^\tversion=0\taversion=0$`)

		// wexists on a missing node answers ZNONODE and leaves a watch that
		// fires on creation.
		s.do("wexists /cc/w", `^Error -101 for /cc/w$`)
		s.do("create /cc/w", `^Watcher CREATED_EVENT state = CONNECTED_STATE for path /cc/w$`, `^\[/cc/w\]: rc = 0$`)
		s.do("wexists /cc/w") // exists now: a watch, no output
		s.do("delete /cc/w", `^Watcher DELETED_EVENT state = CONNECTED_STATE for path /cc/w$`, `^/cc/w: rc = 0$`)

		s.do("ls2 /cc", `^/cc: rc = 0$`, `^time = \d+ msec$`, `^\tversion=2\taversion=0$`)
		s.do("sync /cc", `^\[/cc\]: rc = 0$`, `^\tname = /cc$`)
		s.do("delete /cc", `^/cc: rc = -111$`) // ZNOTEMPTY
		s.do("delete /nope", `^/nope: rc = -101$`)
		s.do("create +c /cc-container", `^\[/cc-container\]: rc = 0$`)
		s.do("create +t=5000 /cc-ttl", `^\[/cc-ttl\]: rc = -6$`) // ZUNIMPLEMENTED: extended types are off

		// od ("overdose"): 200 pipelined 64 KiB sets of /od, each followed by
		// a get with a watch; every completion must succeed.
		s.do("create /od", `^\[/od\]: rc = 0$`)
		out = s.do("od", `^Overdosing\.\.\.$`, `^od command response: rc = 0 Stat:$`, `^Recvd 200 responses for 200 requests sent$`)
		if n := countMatching(out, `^Data completion /od rc = 0$`); n != 200 {
			t.Errorf("od: %d successful data completions, want 200", n)
		}
		if n := countMatching(out, `^Data completion`); n != 200 {
			t.Errorf("od: %d data completions, want 200", n)
		}
		for _, c := range []string{"s-0000000000", "eph", "es-0000000002", "c2"} {
			s.do("delete /cc/"+c, fmt.Sprintf(`^/cc/%s: rc = 0$`, c))
		}
		s.do("delete /cc", `^/cc: rc = 0$`)
		s.do("exists /cc") // synchronous: no output
		s.do("get /cc", `^/cc: rc = -101$`)
		s.do("ls /", `^/: rc = 0$`, `^time = \d+ msec$`)
		s.do("quit", `^Quitting\.\.\.$`)
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
			t.Fatal("cli_mt did not exit after quit")
		}
		if t.Failed() {
			return
		}
		for _, l := range strings.Split(s.transcript(), "\n") {
			if strings.Contains(l, "ZOO_ERROR") || strings.Contains(l, "EXPIRED_SESSION") || strings.Contains(l, "CONNECTING_STATE") {
				t.Errorf("unexpected line %q", l)
			}
		}
	})
}

func countMatching(lines []string, pattern string) int {
	re := regexp.MustCompile(pattern)
	n := 0
	for _, l := range lines {
		if re.MatchString(l) {
			n++
		}
	}
	return n
}

// children returns the tab-indented child names an ls step printed.
func children(lines []string) []string {
	var out []string
	for _, l := range lines {
		if strings.HasPrefix(l, "\t") {
			out = append(out, strings.TrimPrefix(l, "\t"))
		}
	}
	sort.Strings(out)
	return out
}

func equalStrings(a, b []string) bool {
	return strings.Join(a, "\x00") == strings.Join(b, "\x00")
}

// TestCClientLoadGen runs the C client's load generator, load_gen, for a
// few cycles of 200 async creates, sets, gets and deletes against Apache
// ZooKeeper and zkd, then its recursive clean-up; it must log no error.
func TestCClientLoadGen(t *testing.T) {
	zkproc.Require(t, fileExists(loadGen), loadGen+" (zookeeper-bin)")
	const children, cycles = 200, 5
	onZooKeeperAndZkd(t, nil, func(t *testing.T, p *zkproc.Proc, isZkd bool) {
		// load_gen loops for ever: stop it after a few complete cycles.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, loadGen, p.Addr, "/load", fmt.Sprint(children))
		out, err := cmd.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var log []string
		deletes := 0
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			l := sc.Text()
			log = append(log, l)
			if strings.Contains(l, "ZOO_ERROR") || strings.Contains(l, "Invalid read") {
				t.Errorf("load_gen: %s", l)
			}
			if strings.Contains(l, "Starting the delete cycle") {
				deletes++
			}
			if strings.Contains(l, "Creating children") && deletes >= cycles {
				break // the last delete cycle completed
			}
		}
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if deletes < cycles {
			t.Fatalf("load_gen completed %d of %d cycles within 30s (ctx: %v)\n%s", deletes, cycles, ctx.Err(), tailOf(strings.Join(log, "\n"), 4000))
		}

		ctx2, cancel2 := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel2()
		clean, err := exec.CommandContext(ctx2, loadGen, p.Addr, "/load", "clean").CombinedOutput()
		if err != nil || !regexp.MustCompile(`Successfully deleted a subtree starting at /load \(\d+ nodes\)`).Match(clean) {
			t.Fatalf("load_gen clean: %v\n%s", err, tailOf(string(clean), 4000))
		}
		if strings.Contains(string(clean), "ZOO_ERROR") {
			t.Errorf("load_gen clean logged errors:\n%s", clean)
		}
		if out, err := zkproc.FourLetter(p.Addr, "stat"); err != nil || !strings.Contains(out, "Node count:") {
			t.Errorf("stat after load: %v %q", err, out)
		}
	})
}

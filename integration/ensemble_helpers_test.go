package integration

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"zkd/internal/zkproc"
)

// Helpers for the ensemble tests (ensemble_test.go, mixed_test.go).

// ensServeTimeout bounds every wait for an ensemble to serve.
const ensServeTimeout = 60 * time.Second

// ensProps are the system properties every ensemble member gets: the
// on-disk txn-log sync disabled (a negative snapshotSizeFactor), so a
// follower that missed more than the committed log (500 proposals) is
// synced by SNAP.
var ensProps = []string{
	"-Dzookeeper.snapshotSizeFactor=-1",
}

// ensNewEnsemble starts an ensemble and waits until every member serves.
// The voter with the highest id leads: it starts with just enough voters
// of the lowest ids for a quorum (all zxids are 0, so the highest id
// wins their election), and the other members join once they serve.
func ensNewEnsemble(t *testing.T, members []zkproc.MemberSpec, tickTime int) *zkproc.Ensemble {
	t.Helper()
	e := zkproc.NewEnsemble(t, zkproc.EnsembleConfig{ZkdBin: zkdBin, Members: members, Props: ensProps, TickTime: tickTime})
	t0 := time.Now()
	voters := e.Voters()
	sort.Slice(voters, func(i, j int) bool { return voters[i].ID < voters[j].ID })
	leader := voters[len(voters)-1]
	first := append([]*zkproc.Member{leader}, voters[:len(voters)/2]...)
	for _, m := range first {
		m.Start()
	}
	e.MustServe(ensServeTimeout, first...)
	e.StartAll()
	e.MustServe(ensServeTimeout)
	t.Logf("ensemble serving in %v: %s", time.Since(t0).Round(time.Millisecond), e.Modes())
	if l := e.Leader(); l != leader {
		t.Fatalf("server %d (%s) should lead: %s", leader.ID, leader.Kind, e.Modes())
	}
	return e
}

// ensConnect opens a session with one of addrs.
func ensConnect(t testing.TB, timeout time.Duration, addrs ...string) *zk.Conn {
	t.Helper()
	c, ev, err := zk.Connect(addrs, timeout, zk.WithLogger(discard{}))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.After(30 * time.Second)
	for c.State() != zk.StateHasSession {
		select {
		case <-ev:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			c.Close()
			t.Fatalf("no session with %v within 30s (state %v)", addrs, c.State())
		}
	}
	t.Cleanup(c.Close)
	return c
}

// ensRetry runs op until it succeeds or d passes (connection losses
// while the ensemble changes leaders).
func ensRetry(d time.Duration, op func() error) error {
	deadline := time.Now().Add(d)
	for {
		err := op()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func ensEnsurePath(t testing.TB, c *zk.Conn, p string) {
	t.Helper()
	err := ensRetry(20*time.Second, func() error {
		_, err := c.Create(p, nil, 0, zk.WorldACL(zk.PermAll))
		if err == zk.ErrNodeExists {
			return nil
		}
		return err
	})
	if err != nil {
		t.Fatalf("create %s through %s: %v", p, c.Server(), err)
	}
}

// ensWriteN creates n nodes prefix-0 ... prefix-(n-1) with 16 writers
// and returns the paths written.
func ensWriteN(t testing.TB, c *zk.Conn, prefix string, n int) []string {
	t.Helper()
	paths := make([]string, n)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	next := int64(-1)
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := atomic.AddInt64(&next, 1)
				if i >= int64(n) {
					return
				}
				p := fmt.Sprintf("%s-%04d", prefix, i)
				paths[i] = p
				err := ensRetry(20*time.Second, func() error {
					_, err := c.Create(p, []byte(p), 0, zk.WorldACL(zk.PermAll))
					if err == zk.ErrNodeExists {
						return nil
					}
					return err
				})
				if err != nil {
					errs <- fmt.Errorf("create %s: %w", p, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("writing through %s: %v", c.Server(), err)
	}
	return paths
}

// ensNode is what a client sees of a znode.
type ensNode struct {
	Data     []byte
	Stat     zk.Stat
	Children []string
}

// ensReadTree syncs, then reads every node outside /zookeeper.
func ensReadTree(t testing.TB, c *zk.Conn) map[string]ensNode {
	t.Helper()
	if _, err := c.Sync("/"); err != nil {
		t.Fatalf("sync through %s: %v", c.Server(), err)
	}
	tree := map[string]ensNode{}
	var walk func(p string) error
	walk = func(p string) error {
		data, st, err := c.Get(p)
		if err != nil {
			return fmt.Errorf("get %s: %w", p, err)
		}
		kids, _, err := c.Children(p)
		if err != nil {
			return fmt.Errorf("children %s: %w", p, err)
		}
		sort.Strings(kids)
		if data == nil {
			data = []byte{}
		}
		tree[p] = ensNode{Data: data, Stat: *st, Children: kids}
		for _, k := range kids {
			child := p + "/" + k
			if p == "/" {
				child = "/" + k
			}
			if child == "/zookeeper" {
				continue
			}
			if err := walk(child); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk("/"); err != nil {
		t.Fatalf("reading the tree through %s: %v", c.Server(), err)
	}
	return tree
}

// ensDiff describes how got differs from want (empty: the same).
func ensDiff(want, got map[string]ensNode) string {
	var b strings.Builder
	paths := map[string]bool{}
	for p := range want {
		paths[p] = true
	}
	for p := range got {
		paths[p] = true
	}
	sorted := make([]string, 0, len(paths))
	for p := range paths {
		sorted = append(sorted, p)
	}
	sort.Strings(sorted)
	n := 0
	for _, p := range sorted {
		w, inW := want[p]
		g, inG := got[p]
		var msg string
		switch {
		case !inG:
			msg = fmt.Sprintf("missing (czxid 0x%x)", w.Stat.Czxid)
		case !inW:
			msg = fmt.Sprintf("unexpected (czxid 0x%x)", g.Stat.Czxid)
		case !bytes.Equal(w.Data, g.Data):
			msg = fmt.Sprintf("data %q, want %q", g.Data, w.Data)
		case p != "/" && w.Stat != g.Stat:
			// The root's Stat is not replicated: ZooKeeper keeps its pzxid
			// and cversion local to each server's history.
			msg = fmt.Sprintf("stat %+v, want %+v", g.Stat, w.Stat)
		case p == "/" && !equalKids(w.Children, g.Children):
			msg = fmt.Sprintf("children %v, want %v", g.Children, w.Children)
		default:
			continue
		}
		if n++; n <= 20 {
			fmt.Fprintf(&b, "  %s: %s\n", p, msg)
		}
	}
	if n > 20 {
		fmt.Fprintf(&b, "  ... %d differences in all\n", n)
	}
	return b.String()
}

func equalKids(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// ensSameTrees reads the tree through a client of every given member
// and checks they are all the same; it returns each member's tree.
func ensSameTrees(t testing.TB, ms []*zkproc.Member) map[int64]map[string]ensNode {
	t.Helper()
	trees, diffs := ensCompareTrees(t, ms)
	if diffs != "" {
		t.Error(diffs)
	}
	return trees
}

// ensCompareTrees reads the tree through a client of every given member
// and describes how each differs from the first one's.
func ensCompareTrees(t testing.TB, ms []*zkproc.Member) (map[int64]map[string]ensNode, string) {
	t.Helper()
	trees := map[int64]map[string]ensNode{}
	var b strings.Builder
	var first map[string]ensNode
	var firstID int64
	for _, m := range ms {
		c := ensConnect(t, 10*time.Second, m.Addr)
		tree := ensReadTree(t, c)
		c.Close()
		trees[m.ID] = tree
		if first == nil {
			first, firstID = tree, m.ID
			continue
		}
		if d := ensDiff(first, tree); d != "" {
			fmt.Fprintf(&b, "server %d (%s) tree differs from server %d's:\n%s", m.ID, m.Kind, firstID, d)
		}
	}
	return trees, b.String()
}

// ensCheckPresent checks every path of want is in tree.
func ensCheckPresent(t testing.TB, what string, tree map[string]ensNode, want []string) {
	t.Helper()
	var missing []string
	for _, p := range want {
		if _, ok := tree[p]; !ok {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		if len(missing) > 10 {
			missing = append(missing[:10], "...")
		}
		t.Errorf("%s: %d of %d acknowledged writes missing: %v", what, len(missing), len(want), missing)
	}
}

// ensLoad is a write load: writers goroutines, each with its own
// session on addrs, creating nodes under root and recording every
// create the ensemble acknowledged.
type ensLoad struct {
	mu       sync.Mutex
	acked    []string
	ackTimes [][2]time.Time // sent, acknowledged
	errors   int
	stop     chan struct{}
	wg       sync.WaitGroup
}

func ensStartLoad(t testing.TB, root string, writers int, addrs []string) *ensLoad {
	t.Helper()
	l := &ensLoad{stop: make(chan struct{})}
	for w := 0; w < writers; w++ {
		c := ensConnect(t, 10*time.Second, addrs...)
		l.wg.Add(1)
		go func(w int) {
			defer l.wg.Done()
			for i := 0; ; i++ {
				select {
				case <-l.stop:
					return
				default:
				}
				p := fmt.Sprintf("%s/w%d-%06d", root, w, i)
				sent := time.Now()
				_, err := c.Create(p, []byte(p), 0, zk.WorldACL(zk.PermAll))
				l.mu.Lock()
				if err == nil {
					l.acked = append(l.acked, p)
					l.ackTimes = append(l.ackTimes, [2]time.Time{sent, time.Now()})
				} else {
					l.errors++
				}
				l.mu.Unlock()
				if err != nil {
					time.Sleep(20 * time.Millisecond)
				}
			}
		}(w)
	}
	return l
}

// Stop ends the load and returns the acknowledged paths.
func (l *ensLoad) Stop() []string {
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.acked...)
}

func (l *ensLoad) counts() (acked, errors int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.acked), l.errors
}

// firstAckAfter is the time of the first acknowledgement of a write
// sent after t0.
func (l *ensLoad) firstAckAfter(t0 time.Time) (time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var first time.Time
	for _, at := range l.ackTimes {
		if at[0].After(t0) && (first.IsZero() || at[1].Before(first)) {
			first = at[1]
		}
	}
	return first, !first.IsZero()
}

// waitAcks waits until the load has n more acknowledgements than now.
func (l *ensLoad) waitAcks(t testing.TB, n int, d time.Duration) {
	t.Helper()
	start, _ := l.counts()
	deadline := time.Now().Add(d)
	for {
		a, e := l.counts()
		if a >= start+n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("load made %d of %d acknowledged writes in %v (%d errors)", a-start, n, d, e)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ensZkdVerify runs zkd verify on a stopped server's data directory.
func ensZkdVerify(dataDir string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, zkdBin, "verify", "-q", dataDir).CombinedOutput()
	if err != nil {
		return fmt.Errorf("zkd verify %s: %v\n%s", dataDir, err, out)
	}
	return nil
}

// ensSyncedZxid waits until every member reports the same Zxid in srvr
// for a while, and returns it (a quiet ensemble).
func ensQuiet(t testing.TB, ms []*zkproc.Member, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		var zs []string
		same := true
		for i, m := range ms {
			z, err := m.Zxid()
			if err != nil {
				same = false
				zs = append(zs, err.Error())
				continue
			}
			zs = append(zs, fmt.Sprintf("%d:0x%x", m.ID, z))
			if i > 0 && zs[i][strings.IndexByte(zs[i], ':'):] != zs[0][strings.IndexByte(zs[0], ':'):] {
				same = false
			}
		}
		if same {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("zxids did not converge within %v: %v", d, zs)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// ensSyncMode tells how a learner's current run was synced with its
// leader, from the learner's own log: SNAP, TRUNC or DIFF ("" when the
// log does not say).
func ensSyncMode(m *zkproc.Member) string {
	log := m.RunLog()
	switch m.Kind {
	case zkproc.KindZkd:
		// zkd logs a loaded snapshot and a truncation; a DIFF leaves no line.
		switch {
		case strings.Contains(log, "loaded the leader's snapshot"):
			return "SNAP"
		case strings.Contains(log, "truncated the txn log"):
			return "TRUNC"
		case strings.Contains(log, "synced with the leader"):
			return "DIFF"
		}
	case zkproc.KindZooKeeper:
		switch {
		case strings.Contains(log, "Getting a snapshot from leader"):
			return "SNAP"
		case strings.Contains(log, "Truncating log to get in sync with the leader"):
			return "TRUNC"
		case strings.Contains(log, "Getting a diff from the leader"):
			return "DIFF"
		}
	}
	return ""
}

// ensLoggedPaths lists the paths the txn logs of a stopped server's data
// directory mention (zkd log-dump on every log file).
func ensLoggedPaths(t testing.TB, dataDir string) string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dataDir, "version-2", "log.*"))
	var b strings.Builder
	for _, f := range files {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		out, err := exec.CommandContext(ctx, zkdBin, "log-dump", f).CombinedOutput()
		cancel()
		if err != nil {
			t.Fatalf("zkd log-dump %s: %v\n%s", f, err, out)
		}
		b.Write(out)
	}
	return b.String()
}

// ensCheckSessions holds an idle session on every given member, each
// owning an ephemeral node, for longer than the session timeout: the
// leader must see them touched through its learners' PING replies, so
// none expires (a client that merely reconnects, the machine being
// busy, keeps its session). Closed, their ephemerals go everywhere.
func ensCheckSessions(t testing.TB, ms []*zkproc.Member, tag string) {
	t.Helper()
	const timeout = 4 * time.Second
	type held struct {
		m    *zkproc.Member
		c    *zk.Conn
		path string
	}
	var hs []held
	for _, m := range ms {
		c := ensConnect(t, timeout, m.Addr)
		p := fmt.Sprintf("/%s-ephemeral-%d", tag, m.ID)
		if _, err := c.Create(p, nil, zk.FlagEphemeral, zk.WorldACL(zk.PermAll)); err != nil {
			t.Fatalf("create %s through server %d (%s): %v", p, m.ID, m.Kind, err)
		}
		hs = append(hs, held{m, c, p})
	}
	time.Sleep(timeout + 2*time.Second)
	r := ensConnect(t, 10*time.Second, ms[0].Addr)
	if _, err := r.Sync("/"); err != nil {
		t.Fatal(err)
	}
	for _, h := range hs {
		ok, _, err := r.Exists(h.path)
		if err != nil || !ok || h.c.State() == zk.StateExpired {
			t.Errorf("idle session 0x%x on server %d (%s) did not survive %v idle (timeout %v): ephemeral exists %v (%v), client state %v",
				h.c.SessionID(), h.m.ID, h.m.Kind, timeout+2*time.Second, timeout, ok, err, h.c.State())
		}
	}
	for _, h := range hs {
		h.c.Close()
	}
	for _, m := range ms {
		c := ensConnect(t, 10*time.Second, m.Addr)
		for _, h := range hs {
			// Closed while reconnecting, a session ends by expiry instead.
			err := ensRetry(timeout+10*time.Second, func() error {
				if _, err := c.Sync("/"); err != nil {
					return err
				}
				if ok, _, err := c.Exists(h.path); err != nil || ok {
					return fmt.Errorf("still there (%v)", err)
				}
				return nil
			})
			if err != nil {
				t.Errorf("server %d (%s) still has %s after its session closed: %v", m.ID, m.Kind, h.path, err)
			}
		}
		c.Close()
	}
	r.Close()
}

// ensTail is the end of s, at most n bytes.
func ensTail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}

// ensMissing lists the paths of want that tree lacks.
func ensMissing(tree map[string]ensNode, want []string) []string {
	var missing []string
	for _, p := range want {
		if _, ok := tree[p]; !ok {
			missing = append(missing, p)
		}
	}
	return missing
}

var ensZxidField = regexp.MustCompile(`"zxid":"(0x[0-9a-f]+)"`)

// ensDivergenceSignature summarizes what zkd members logged about their
// databases: fast-forwards over the txn log when a role ended, TRUNCs,
// and digest mismatches (a replica whose tree is not the leader's).
// Empty when no zkd member logged a digest mismatch.
func ensDivergenceSignature(e *zkproc.Ensemble) string {
	var b strings.Builder
	mismatch := false
	for _, m := range e.Members {
		if m.Kind != zkproc.KindZkd {
			continue
		}
		var notes []string
		n := 0
		first := ""
		for _, line := range strings.Split(m.Log(), "\n") {
			z := ""
			if g := ensZxidField.FindStringSubmatch(line); g != nil {
				z = g[1]
			}
			switch {
			case strings.Contains(line, "digest mismatch after applying txn"):
				if n++; n == 1 {
					first = z
				}
			case strings.Contains(line, "fast-forwarded the database over the txn log"):
				notes = append(notes, "fast-forwarded to "+z)
			case strings.Contains(line, "truncated the txn log to the leader's history"):
				notes = append(notes, "TRUNC to "+z)
			case strings.Contains(line, "loaded the leader's snapshot"):
				notes = append(notes, "SNAP at "+z)
			}
		}
		if n > 0 {
			mismatch = true
			notes = append(notes, fmt.Sprintf("%d digest mismatches from %s", n, first))
		}
		fmt.Fprintf(&b, "[server %d: %s] ", m.ID, strings.Join(notes, ", "))
	}
	if !mismatch {
		return ""
	}
	return strings.TrimSpace(b.String())
}

// ensDigestsAgree waits until every member answers the same hash (zkd:
// "<zxid>: <digest>" of its tree); an error if they do not converge or
// differ at the same zxid.
func ensDigestsAgree(ms []*zkproc.Member, d time.Duration) (string, error) {
	deadline := time.Now().Add(d)
	for {
		var answers []string
		set := map[string]bool{}
		for _, m := range ms {
			h, err := m.Digest()
			if err != nil {
				h = "error: " + err.Error()
			}
			answers = append(answers, fmt.Sprintf("%d=%q", m.ID, h))
			set[h] = true
		}
		if len(set) == 1 {
			return strings.Join(answers, " "), nil
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("hash answers differ after %v: %s", d, strings.Join(answers, " "))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// ensFinalChecks: the same tree through every member, every
// acknowledged write on every member, and (all zkd) the same digest.
// A failure while a zkd member logged digest mismatches is a zkd
// replica divergence and is recorded as a zkd bug.
func ensFinalChecks(t *testing.T, e *zkproc.Ensemble, acked []string) {
	t.Helper()
	trees, diffs := ensCompareTrees(t, e.Members)
	var problems []string
	if diffs != "" {
		t.Logf("%s", diffs)
		problems = append(problems, "the trees read through the servers differ")
	}
	for _, m := range e.Members {
		if missing := ensMissing(trees[m.ID], acked); len(missing) > 0 {
			t.Logf("server %d (%s) lacks %d acknowledged writes: %v", m.ID, m.Kind, len(missing), ensFirst(missing, 10))
			problems = append(problems, fmt.Sprintf("server %d lacks %d of %d acknowledged writes", m.ID, len(missing), len(acked)))
		}
	}
	allZkd := true
	for _, m := range e.Members {
		allZkd = allZkd && m.Kind == zkproc.KindZkd
	}
	if allZkd {
		if h, err := ensDigestsAgree(e.Members, 20*time.Second); err != nil {
			t.Logf("%v", err)
			problems = append(problems, "tree digests differ")
		} else {
			t.Logf("hash: %s", h)
		}
	}
	if len(problems) == 0 {
		return
	}
	if sig := ensDivergenceSignature(e); sig != "" {
		t.Errorf("replicas diverged after a leader change under load (%s); zkd logs: %s", strings.Join(problems, "; "), sig)
		return
	}
	t.Errorf("%s", strings.Join(problems, "; "))
}

func ensFirst(s []string, n int) []string {
	if len(s) > n {
		return append(s[:n:n], "...")
	}
	return s
}

package integration

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"zkd/internal/zkproc"
)

// zkd-only ensembles as real processes on loopback (testing layer 5):
// replication through every member, leader failover under load (SIGKILL),
// learner sync by DIFF, SNAP and TRUNC, and a leader paused by SIGSTOP.

func zkdMembers(voters, observers int) []zkproc.MemberSpec {
	var ms []zkproc.MemberSpec
	for i := 1; i <= voters+observers; i++ {
		ms = append(ms, zkproc.MemberSpec{ID: int64(i), Kind: zkproc.KindZkd, Observer: i > voters})
	}
	return ms
}

// ensCheckReplication writes a node through every member and reads each
// through every member after a sync.
func ensCheckReplication(t *testing.T, e *zkproc.Ensemble, root string) {
	t.Helper()
	ensCheckReplicationOf(t, e, e.Members, root)
}

// ensCheckReplicationOf is ensCheckReplication on some members.
func ensCheckReplicationOf(t *testing.T, e *zkproc.Ensemble, ms []*zkproc.Member, root string) {
	t.Helper()
	conns := map[int64]*zk.Conn{}
	for _, m := range ms {
		conns[m.ID] = ensConnect(t, 10*time.Second, m.Addr)
	}
	ensEnsurePath(t, conns[ms[0].ID], root)
	for _, m := range ms {
		p := fmt.Sprintf("%s/from-%d", root, m.ID)
		data := fmt.Sprintf("written through server %d (%s)", m.ID, m.Kind)
		if _, err := conns[m.ID].Create(p, []byte(data), 0, zk.WorldACL(zk.PermAll)); err != nil {
			t.Fatalf("create %s through server %d (%s): %v", p, m.ID, m.Kind, err)
		}
	}
	for _, r := range ms {
		c := conns[r.ID]
		if _, err := c.Sync(root); err != nil {
			t.Fatalf("sync through server %d: %v", r.ID, err)
		}
		for _, m := range ms {
			p := fmt.Sprintf("%s/from-%d", root, m.ID)
			data, _, err := c.Get(p)
			want := fmt.Sprintf("written through server %d (%s)", m.ID, m.Kind)
			if err != nil || string(data) != want {
				t.Errorf("read %s through server %d (%s): %q, %v; want %q", p, r.ID, r.Kind, data, err, want)
			}
		}
	}
	for _, c := range conns {
		c.Close()
	}
}

// ensSameDigest waits until every member answers the same hash (zxid
// and tree digest); a zxid they share with different digests fails.
func ensSameDigest(t *testing.T, ms []*zkproc.Member, d time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		byZxid := map[string]map[string][]int64{}
		var answers []string
		for _, m := range ms {
			h, err := m.Digest()
			if err != nil {
				h = "error: " + err.Error()
			}
			answers = append(answers, fmt.Sprintf("%d=%q", m.ID, h))
			zxid, digest, ok := strings.Cut(h, ": ")
			if !ok {
				continue
			}
			if byZxid[zxid] == nil {
				byZxid[zxid] = map[string][]int64{}
			}
			byZxid[zxid][digest] = append(byZxid[zxid][digest], m.ID)
		}
		for zxid, ds := range byZxid {
			if len(ds) > 1 {
				t.Fatalf("servers at zxid %s have different tree digests: %v", zxid, ds)
			}
		}
		if len(byZxid) == 1 && len(answers) == len(ms) {
			for _, ds := range byZxid {
				for _, ids := range ds {
					if len(ids) == len(ms) {
						return strings.Join(answers, " ")
					}
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("hash answers did not converge within %v: %v", d, answers)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestEnsembleZkdFailover: three zkd voters and a zkd observer; writes
// through every member; the leader SIGKILLed under a load of 8 writers;
// no acknowledged write lost, the same tree and digest everywhere.
func TestEnsembleZkdFailover(t *testing.T) {
	e := ensNewEnsemble(t, zkdMembers(3, 1), 500)
	ensCheckReplication(t, e, "/repl")

	ensEnsurePath(t, ensConnect(t, 10*time.Second, e.Addrs()...), "/load")
	load := ensStartLoad(t, "/load", 8, e.Addrs())
	load.waitAcks(t, 300, 30*time.Second)
	leader := e.Leader()
	if leader == nil {
		t.Fatalf("no leader: %s", e.Modes())
	}
	before, _ := load.counts()
	tKill := time.Now()
	leader.Kill()
	t.Logf("SIGKILLed leader %d (%s) after %d acknowledged writes", leader.ID, leader.Kind, before)
	nl, err := e.WaitLeader(30*time.Second, leader)
	if err != nil {
		t.Fatalf("%v: %s", err, e.Modes())
	}
	tLeader := time.Since(tKill)
	var ack time.Time
	if err := ensRetry(30*time.Second, func() error {
		var ok bool
		if ack, ok = load.firstAckAfter(tKill); !ok {
			return fmt.Errorf("no write sent after the kill acknowledged")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	t.Logf("failover: server %d (%s) reports leader %v after the kill; first write sent after the kill acknowledged %v after it",
		nl.ID, nl.Kind, tLeader.Round(time.Millisecond), ack.Sub(tKill).Round(time.Millisecond))
	if d := ack.Sub(tKill); d > 15*time.Second {
		t.Errorf("writes resumed only %v after the leader died", d)
	}
	load.waitAcks(t, 300, 30*time.Second)

	leader.Start()
	e.MustServe(ensServeTimeout)
	t.Logf("old leader %d rejoined: %s", leader.ID, e.Modes())
	load.waitAcks(t, 300, 30*time.Second)
	acked := load.Stop()
	_, errs := load.counts()
	t.Logf("load: %d acknowledged writes, %d failed attempts", len(acked), errs)

	ensFinalChecks(t, e, acked)

	for _, m := range e.Members {
		m.Stop()
	}
	for _, m := range e.Members {
		if err := ensZkdVerify(m.DataDir); err != nil {
			t.Error(err)
		}
	}
}

// ensRejoin stops a follower, lets the others commit n writes, starts it
// again and returns how it was synced. The writes are read back through
// the restarted follower.
func ensRejoin(t *testing.T, e *zkproc.Ensemble, f *zkproc.Member, prefix string, n int) string {
	t.Helper()
	var others []*zkproc.Member
	for _, m := range e.Members {
		if m != f {
			others = append(others, m)
		}
	}
	f.Stop()
	c := ensConnect(t, 10*time.Second, e.Addrs(others...)...)
	paths := ensWriteN(t, c, prefix, n)
	c.Close()
	t0 := time.Now()
	f.Start()
	e.MustServe(ensServeTimeout)
	mode := ensSyncMode(f)
	t.Logf("server %d (%s) rejoined after %d writes in %v, synced by %q: %s",
		f.ID, f.Kind, n, time.Since(t0).Round(time.Millisecond), mode, e.Modes())
	fc := ensConnect(t, 10*time.Second, f.Addr)
	if _, err := fc.Sync("/"); err != nil {
		t.Fatalf("sync through server %d: %v", f.ID, err)
	}
	missing := 0
	for _, p := range paths {
		if ok, _, err := fc.Exists(p); err != nil || !ok {
			missing++
		}
	}
	fc.Close()
	if missing > 0 {
		t.Errorf("server %d (%s) lacks %d of the %d writes made while it was down", f.ID, f.Kind, missing, n)
	}
	return mode
}

// TestEnsembleZkdSync: five zkd voters. A follower restarted after a few
// writes is synced by DIFF, after more writes than the committed log
// holds (500 proposals, txn-log sync off) by SNAP. Then the leader is
// paused (SIGSTOP) for longer than the session timeout: the others elect
// a new leader and expire the paused leader's session; resumed, the old
// leader rejoins as a follower with the same tree. Server 4 forces
// snapshot syncs, so when it leads, the old leader comes back by SNAP.
func TestEnsembleZkdSync(t *testing.T) {
	ms := zkdMembers(5, 0)
	ms[3].Props = []string{"-Dzookeeper.forceSnapshotSync=true"}
	e := ensNewEnsemble(t, ms, 500)
	leader := e.Member(5)
	ensCheckReplication(t, e, "/repl")

	f := e.Member(1)
	if mode := ensRejoin(t, e, f, "/repl/diff", 5); mode != "DIFF" {
		t.Errorf("follower %d missed 5 writes: synced by %q, want DIFF", f.ID, mode)
	}
	// Past the committed log (at least 500 proposals, whatever
	// commitLogCount says) with txn-log sync off (snapshotSizeFactor=-1).
	if mode := ensRejoin(t, e, f, "/repl/snap", 600); mode != "SNAP" {
		t.Errorf("a follower 600 txns behind was synced by %q, want SNAP", mode)
	}
	ensSameTrees(t, e.Members)

	// The paused leader.
	const sessionTimeout = 4 * time.Second
	lc := ensConnect(t, sessionTimeout, leader.Addr)
	if _, err := lc.Create("/repl/ephemeral", []byte("owned by a session on the old leader"), zk.FlagEphemeral, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	ensQuiet(t, e.Members, 10*time.Second)
	tPause := time.Now()
	leader.Pause()
	nl, err := e.WaitLeader(30*time.Second, leader)
	if err != nil {
		t.Fatalf("%v: %s", err, e.Modes())
	}
	t.Logf("leader %d paused: server %d (%s) leads after %v", leader.ID, nl.ID, nl.Kind, time.Since(tPause).Round(time.Millisecond))
	if nl.ID != 4 {
		t.Errorf("server %d leads; server 4 (highest id of the rest) should", nl.ID)
	}
	c := ensConnect(t, 10*time.Second, e.Addrs(e.Member(1), e.Member(2))...)
	written := ensWriteN(t, c, "/repl/paused", 10)
	// The session on the paused leader expires on the new leader.
	err = ensRetry(3*sessionTimeout, func() error {
		if ok, _, err := c.Exists("/repl/ephemeral"); err != nil || ok {
			return fmt.Errorf("ephemeral still there (%v)", err)
		}
		return nil
	})
	if err != nil {
		t.Errorf("the paused leader's session did not expire: %v", err)
	}
	if d := time.Since(tPause); d < 2*sessionTimeout {
		time.Sleep(2*sessionTimeout - d)
	}
	tResume := time.Now()
	leader.Resume()
	if err := leader.WaitMode("follower", ensServeTimeout); err != nil {
		t.Fatalf("old leader after SIGCONT: %v: %s", err, e.Modes())
	}
	e.MustServe(ensServeTimeout)
	t.Logf("old leader resumed after %v paused; serving again after %v, synced by %q: %s",
		tResume.Sub(tPause).Round(time.Millisecond), time.Since(tResume).Round(time.Millisecond), ensSyncMode(leader), e.Modes())
	if mode, _ := leader.Mode(); mode != "follower" {
		t.Errorf("old leader is %q after rejoining, want follower", mode)
	}
	if !strings.Contains(leader.RunLog(), "loaded the leader's snapshot") {
		t.Errorf("the old leader was not synced by SNAP from server 4, which forces snapshot syncs")
	}
	trees := ensSameTrees(t, e.Members)
	for id, tree := range trees {
		ensCheckPresent(t, fmt.Sprintf("server %d", id), tree, written)
		if _, ok := tree["/repl/ephemeral"]; ok {
			t.Errorf("server %d still has the expired session's ephemeral node", id)
		}
	}
	if s := lc.State(); s != zk.StateExpired && s != zk.StateDisconnected && s != zk.StateConnecting {
		t.Logf("client of the paused leader is in state %v", s)
	}
	ensQuiet(t, e.Members, 20*time.Second)
	t.Logf("hash: %s", ensSameDigest(t, e.Members, 20*time.Second))
}

// ensTruncScenario makes a server log a proposal that never commits and
// brings it back to a leader that does not have it, which must send
// TRUNC:
//
//  1. Three servers; the leader L (server 3, the highest id of a fresh
//     ensemble) has a client session (timeout 20 s, tickTime 1000).
//  2. Both followers are paused (SIGSTOP); the client creates
//     /trunc-uncommitted through L. L logs the proposal but gets no ACK.
//  3. L is killed (SIGKILL) with the proposal in its txn log (checked
//     with zkd log-dump). The paused followers are killed too: the
//     PROPOSAL waits unread in their socket buffers, and a follower that
//     resumed would read and log it before noticing L is gone, and the
//     new leader would then commit it (correct Zab, but no TRUNC).
//  4. The followers restart from their data directories and elect a new
//     leader N (server 2) in a new epoch. Nothing is written in that
//     epoch, so N's last committed zxid is the one before L's proposal.
//  5. L is started again only once N leads, so L's higher zxid cannot win
//     an election. L's ACKEPOCH carries the uncommitted zxid, above N's
//     committed history and not the first of an epoch: N sends TRUNC to
//     its last committed zxid (LearnerHandler.syncFollower), and L drops
//     the proposal. (Had anything committed in the new epoch, ZooKeeper
//     would send SNAP instead: no TRUNC across epochs.)
//
// The client session stays alive throughout (20 s), so no closeSession
// commits in the new epoch before L rejoins.
func ensTruncScenario(t *testing.T, kind zkproc.Kind) {
	var ms []zkproc.MemberSpec
	for i := int64(1); i <= 3; i++ {
		ms = append(ms, zkproc.MemberSpec{ID: i, Kind: kind})
	}
	e := ensNewEnsemble(t, ms, 1000)
	l := e.Member(3)
	f1, f2 := e.Member(1), e.Member(2)
	cl := ensConnect(t, 20*time.Second, l.Addr)
	committed := ensWriteN(t, cl, "/trunc-committed", 10)
	ensQuiet(t, e.Members, 10*time.Second)

	f1.Pause()
	f2.Pause()
	res := make(chan error, 1)
	go func() {
		_, err := cl.Create("/trunc-uncommitted", []byte("never committed"), 0, zk.WorldACL(zk.PermAll))
		res <- err
	}()
	time.Sleep(time.Second)
	l.Kill()
	if logged := ensLoggedPaths(t, l.DataDir); !strings.Contains(logged, "/trunc-uncommitted") {
		t.Fatalf("the old leader's txn log does not hold the uncommitted proposal:\n%s", ensTail(logged, 3000))
	}
	f1.Kill()
	f2.Kill()
	f1.Start()
	f2.Start()
	n, err := e.WaitLeader(30*time.Second, l)
	if err != nil {
		t.Fatalf("%v: %s", err, e.Modes())
	}
	e.MustServe(ensServeTimeout, f1, f2)
	nz, _ := n.Zxid()
	t.Logf("server %d (%s) leads with zxid 0x%x; restarting the old leader", n.ID, n.Kind, nz)

	l.Start()
	if err := l.WaitMode("follower", ensServeTimeout); err != nil {
		t.Fatalf("old leader: %v: %s", err, e.Modes())
	}
	e.MustServe(ensServeTimeout)
	mode := ensSyncMode(l)
	t.Logf("old leader rejoined, synced by %q: %s", mode, e.Modes())
	select {
	case err := <-res:
		if err == nil {
			t.Errorf("the create that never committed was acknowledged")
		}
	case <-time.After(10 * time.Second):
		t.Errorf("the create that never committed got no answer")
	}
	// A zkd failure here is a zkd bug: the same run passes on ZooKeeper
	// (TestEnsembleZooKeeperTruncReference).
	if mode != "TRUNC" {
		t.Errorf("the old leader was synced by %q, want TRUNC", mode)
	}
	trees, diffs := ensCompareTrees(t, e.Members)
	var kept []int64
	for id, tree := range trees {
		ensCheckPresent(t, fmt.Sprintf("server %d", id), tree, committed)
		if _, ok := tree["/trunc-uncommitted"]; ok {
			kept = append(kept, id)
		}
	}
	if len(kept) > 0 {
		t.Errorf("after TRUNC, servers %v still have /trunc-uncommitted, whose proposal never committed (old leader %d)", kept, l.ID)
	}
	if diffs != "" {
		t.Logf("%s", diffs)
		t.Errorf("the servers' trees differ after the old leader rejoined by %s", mode)
	}
}

// TestEnsembleZkdTrunc: a zkd server that logged a proposal which never
// committed is truncated when it rejoins (see ensTruncScenario).
func TestEnsembleZkdTrunc(t *testing.T) {
	ensTruncScenario(t, zkproc.KindZkd)
}

// ensLoggedByNewLeaderScenario: a proposal that only the next leader
// logged must reach every follower of that leader (it is part of the new
// leader's history, which Zab makes everyone's):
//
//  1. Three servers, leader L = server 3, a client session on L.
//  2. Both followers paused (SIGSTOP); the client creates /ff-node
//     through L; L logs the proposal, which waits unread in the paused
//     followers' socket buffers. L is killed (SIGKILL).
//  3. Follower 1 is killed while paused (it never reads the proposal);
//     follower 2 is resumed: it reads and logs the PROPOSAL, then finds
//     L gone and brings its logged txns into its database
//     (fastForwardDataBase).
//  4. Follower 1 starts again from its data directory: server 2 has the
//     higher zxid (and id) and leads; it must send follower 1 the txn it
//     lacks (ZooKeeper's fastForwardDataBase also adds the txn to the
//     committed log that DIFFs are made from).
//  5. L starts again and rejoins. Every server must have /ff-node.
func ensLoggedByNewLeaderScenario(t *testing.T, kind zkproc.Kind) {
	var ms []zkproc.MemberSpec
	for i := int64(1); i <= 3; i++ {
		ms = append(ms, zkproc.MemberSpec{ID: i, Kind: kind})
	}
	e := ensNewEnsemble(t, ms, 1000)
	l := e.Member(3)
	f1, f2 := e.Member(1), e.Member(2)
	cl := ensConnect(t, 20*time.Second, l.Addr)
	committed := ensWriteN(t, cl, "/ff-committed", 10)
	ensQuiet(t, e.Members, 10*time.Second)

	f1.Pause()
	f2.Pause()
	go func() {
		_, _ = cl.Create("/ff-node", []byte("logged by the next leader only"), 0, zk.WorldACL(zk.PermAll))
	}()
	time.Sleep(time.Second)
	l.Kill()
	f1.Kill()
	f2.Resume()
	time.Sleep(time.Second)
	f1.Start()
	n, err := e.WaitLeader(30*time.Second, l)
	if err != nil {
		t.Fatalf("%v: %s", err, e.Modes())
	}
	e.MustServe(ensServeTimeout, f1, f2)
	nz, _ := n.Zxid()
	t.Logf("server %d (%s) leads with zxid 0x%x; follower 1 synced by %q", n.ID, n.Kind, nz, ensSyncMode(f1))
	if n != f2 {
		t.Fatalf("server 2, which logged the proposal, should lead: %s", e.Modes())
	}
	l.Start()
	e.MustServe(ensServeTimeout)
	t.Logf("old leader rejoined, synced by %q: %s", ensSyncMode(l), e.Modes())

	trees, diffs := ensCompareTrees(t, e.Members)
	var has, lacks []int64
	for _, m := range e.Members {
		ensCheckPresent(t, fmt.Sprintf("server %d", m.ID), trees[m.ID], committed)
		if _, ok := trees[m.ID]["/ff-node"]; ok {
			has = append(has, m.ID)
		} else {
			lacks = append(lacks, m.ID)
		}
	}
	t.Logf("/ff-node on servers %v, not on %v", has, lacks)
	if len(lacks) > 0 {
		t.Errorf("a txn only the new leader %d had logged (it fast-forwarded it into its tree when the old leader died) is missing on servers %v after they synced from it", n.ID, lacks)
	}
	if diffs != "" {
		t.Logf("%s", diffs)
		t.Errorf("the servers' trees differ after syncing from the new leader")
	}
}

// TestEnsembleZkdLoggedByNewLeader: see ensLoggedByNewLeaderScenario.
func TestEnsembleZkdLoggedByNewLeader(t *testing.T) {
	ensLoggedByNewLeaderScenario(t, zkproc.KindZkd)
}

package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
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
	conns := map[int64]*zk.Conn{}
	for _, m := range e.Members {
		conns[m.ID] = ensConnect(t, 10*time.Second, m.Addr)
	}
	ensEnsurePath(t, conns[e.Members[0].ID], root)
	for _, m := range e.Members {
		p := fmt.Sprintf("%s/from-%d", root, m.ID)
		data := fmt.Sprintf("written through server %d (%s)", m.ID, m.Kind)
		if _, err := conns[m.ID].Create(p, []byte(data), 0, zk.WorldACL(zk.PermAll)); err != nil {
			t.Fatalf("create %s through server %d (%s): %v", p, m.ID, m.Kind, err)
		}
	}
	for _, r := range e.Members {
		c := conns[r.ID]
		if _, err := c.Sync(root); err != nil {
			t.Fatalf("sync through server %d: %v", r.ID, err)
		}
		for _, m := range e.Members {
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
	e := ensNewEnsemble(t, zkdMembers(3, 1))
	ensCheckReplication(t, e, "/repl")

	load := ensStartLoad(t, "/load", 8, e.Addrs())
	ensEnsurePath(t, ensConnect(t, 10*time.Second, e.Addrs()...), "/load")
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
	load.waitAcks(t, 1, 30*time.Second)
	ack, _ := load.firstAckAfter(tKill)
	t.Logf("failover: server %d (%s) reports leader %v after the kill; first acknowledged write after %v",
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

	trees := ensSameTrees(t, e.Members)
	for id, tree := range trees {
		ensCheckPresent(t, fmt.Sprintf("server %d", id), tree, acked)
	}
	ensQuiet(t, e.Members, 20*time.Second)
	t.Logf("hash: %s", ensSameDigest(t, e.Members, 20*time.Second))

	for _, m := range e.Members {
		m.Stop()
	}
	for _, m := range e.Members {
		ensZkdVerify(t, m.DataDir)
	}
}

var _ = os.Stat
var _ = exec.Command
var _ = filepath.Join

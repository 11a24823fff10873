package integration

import (
	"fmt"
	"testing"
	"time"

	"zkd/internal/zkproc"
)

// Mixed ensembles of zkd and Apache ZooKeeper 3.8 servers on ZooKeeper's
// quorum protocol: either kind leads, writes through any member are read
// through every member, learners of one kind sync from a leader of the
// other by DIFF and by SNAP, and a ZooKeeper ensemble migrates to zkd one
// server at a time under load.

// mixedSyncChecks restarts follower f twice: after a few writes (DIFF)
// and after more writes than the leader's committed log holds (SNAP:
// txn-log sync is off). ZooKeeper keeps at least 500 proposals in its
// committed log whatever commitLogCount says, so the second gap is 600.
func mixedSyncChecks(t *testing.T, e *zkproc.Ensemble, f *zkproc.Member, tag string) {
	t.Helper()
	leader := e.Leader()
	if leader == nil {
		t.Fatalf("no leader: %s", e.Modes())
	}
	if mode := ensRejoin(t, e, f, "/"+tag+"-diff", 5); mode != "DIFF" {
		t.Errorf("%s follower %d restarted after 5 writes synced from the %s leader by %q, want DIFF", f.Kind, f.ID, leader.Kind, mode)
	}
	if mode := ensRejoin(t, e, f, "/"+tag+"-snap", 600); mode != "SNAP" {
		t.Errorf("%s follower %d restarted after 600 writes synced from the %s leader by %q, want SNAP (snapshotSizeFactor=-1: no txn-log sync)",
			f.Kind, f.ID, leader.Kind, mode)
	}
	if l := e.Leader(); l != leader {
		t.Fatalf("leadership moved while syncing followers: %s", e.Modes())
	}
}

// mixedFailover kills the leader and waits for the given server to lead.
func mixedFailover(t *testing.T, e *zkproc.Ensemble, want *zkproc.Member) {
	t.Helper()
	old := e.Leader()
	tKill := time.Now()
	old.Kill()
	nl, err := e.WaitLeader(30*time.Second, old)
	if err != nil {
		t.Fatalf("%v: %s", err, e.Modes())
	}
	t.Logf("killed %s leader %d: %s server %d leads after %v", old.Kind, old.ID, nl.Kind, nl.ID, time.Since(tKill).Round(time.Millisecond))
	if nl != want {
		t.Fatalf("server %d leads, want %d: %s", nl.ID, want.ID, e.Modes())
	}
	var rest []*zkproc.Member
	for _, m := range e.Members {
		if m != old {
			rest = append(rest, m)
		}
	}
	e.MustServe(ensServeTimeout, rest...)
	ensCheckReplicationOf(t, e, rest, fmt.Sprintf("/after-kill-%d", old.ID))
	old.Start()
	e.MustServe(ensServeTimeout)
	t.Logf("old leader %d rejoined, synced by %q: %s", old.ID, ensSyncMode(old), e.Modes())
}

// TestMixedTwoZooKeeperOneZkd: ZooKeeper servers 1 and 2, zkd server 3,
// and a zkd observer 4.
// zkd leads first (highest id); ZooKeeper follower 1 is synced from it;
// then zkd is killed, ZooKeeper 2 leads and zkd 3 is synced from it.
func TestMixedTwoZooKeeperOneZkd(t *testing.T) {
	zkproc.Require(t, zkproc.HaveZooKeeper(), "java and "+zkproc.ZooKeeperJar)
	e := ensNewEnsemble(t, []zkproc.MemberSpec{
		{ID: 1, Kind: zkproc.KindZooKeeper}, {ID: 2, Kind: zkproc.KindZooKeeper}, {ID: 3, Kind: zkproc.KindZkd},
		{ID: 4, Kind: zkproc.KindZkd, Observer: true},
	}, 500)
	ensCheckReplication(t, e, "/repl-zkd-leader")
	ensCheckSessions(t, e.Members, "zkd-leader")
	mixedSyncChecks(t, e, e.Member(1), "zk-from-zkd")
	ensSameTrees(t, e.Members)

	mixedFailover(t, e, e.Member(2))
	ensCheckReplication(t, e, "/repl-zk-leader")
	ensCheckSessions(t, e.Members, "zk-leader")
	mixedSyncChecks(t, e, e.Member(3), "zkd-from-zk")
	ensSameTrees(t, e.Members)
}

// TestMixedOneZooKeeperTwoZkd: zkd servers 1 and 2, ZooKeeper server 3,
// and a ZooKeeper observer 4.
// ZooKeeper leads first (highest id); zkd follower 1 is
// synced from it; then ZooKeeper is killed, zkd 2 leads and ZooKeeper 3
// is synced from it.
func TestMixedOneZooKeeperTwoZkd(t *testing.T) {
	zkproc.Require(t, zkproc.HaveZooKeeper(), "java and "+zkproc.ZooKeeperJar)
	e := ensNewEnsemble(t, []zkproc.MemberSpec{
		{ID: 1, Kind: zkproc.KindZkd}, {ID: 2, Kind: zkproc.KindZkd}, {ID: 3, Kind: zkproc.KindZooKeeper},
		{ID: 4, Kind: zkproc.KindZooKeeper, Observer: true},
	}, 500)
	zk3 := e.Member(3)
	ensCheckReplication(t, e, "/repl-zk-leader")
	ensCheckSessions(t, e.Members, "zk-leader")
	mixedSyncChecks(t, e, e.Member(1), "zkd-from-zk")
	ensSameTrees(t, e.Members)

	mixedFailover(t, e, e.Member(2))
	ensCheckReplication(t, e, "/repl-zkd-leader")
	ensCheckSessions(t, e.Members, "zkd-leader")
	mixedSyncChecks(t, e, zk3, "zk-from-zkd")
	ensSameTrees(t, e.Members)
}

// TestMixedRollingMigration: a ZooKeeper ensemble under a write load of 8
// clients becomes a zkd ensemble one server at a time (followers first,
// the leader last): each server is stopped and zkd started on the same
// data directory, myid and zoo.cfg. No acknowledged write is lost.
func TestMixedRollingMigration(t *testing.T) {
	zkproc.Require(t, zkproc.HaveZooKeeper(), "java and "+zkproc.ZooKeeperJar)
	e := ensNewEnsemble(t, []zkproc.MemberSpec{
		{ID: 1, Kind: zkproc.KindZooKeeper}, {ID: 2, Kind: zkproc.KindZooKeeper}, {ID: 3, Kind: zkproc.KindZooKeeper},
	}, 500)
	ensEnsurePath(t, ensConnect(t, 10*time.Second, e.Addrs()...), "/load")
	load := ensStartLoad(t, "/load", 8, e.Addrs())
	load.waitAcks(t, 200, 30*time.Second)

	leader := e.Leader()
	if leader == nil {
		t.Fatalf("no leader: %s", e.Modes())
	}
	order := []*zkproc.Member{}
	for _, m := range e.Members {
		if m != leader {
			order = append(order, m)
		}
	}
	order = append(order, leader)
	for _, m := range order {
		t0 := time.Now()
		m.Stop()
		m.SetKind(zkproc.KindZkd)
		m.Start()
		e.MustServe(ensServeTimeout)
		acked, errs := load.counts()
		t.Logf("server %d now runs zkd, serving after %v (%d acknowledged writes, %d failed attempts so far): %s",
			m.ID, time.Since(t0).Round(time.Millisecond), acked, errs, e.Modes())
		load.waitAcks(t, 200, 30*time.Second)
	}
	acked := load.Stop()
	_, errs := load.counts()
	t.Logf("load: %d acknowledged writes, %d failed attempts", len(acked), errs)
	ensFinalChecks(t, e, acked)
}

// TestEnsembleZooKeeperTruncReference runs ensTruncScenario on Apache
// ZooKeeper alone: the reference for the zkd TRUNC test.
func TestEnsembleZooKeeperTruncReference(t *testing.T) {
	zkproc.Require(t, zkproc.HaveZooKeeper(), "java and "+zkproc.ZooKeeperJar)
	ensTruncScenario(t, zkproc.KindZooKeeper)
}

// TestEnsembleZooKeeperLoggedByNewLeaderReference runs
// ensLoggedByNewLeaderScenario on Apache ZooKeeper alone.
func TestEnsembleZooKeeperLoggedByNewLeaderReference(t *testing.T) {
	zkproc.Require(t, zkproc.HaveZooKeeper(), "java and "+zkproc.ZooKeeperJar)
	ensLoggedByNewLeaderScenario(t, zkproc.KindZooKeeper)
}

package integration

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"zkd/internal/zkproc"
	"zkd/jute"
	"zkd/wire"
)

// Read-only mode (readonlymode.enabled), run the same way on a zkd
// ensemble and on an Apache ZooKeeper one: a server cut off from its
// quorum serves clients that allow read-only sessions, refuses the others,
// answers changes with NOTREADONLY, says "ro" to isro, and drops its
// read-only clients once a quorum is back.
func TestReadOnlyMode(t *testing.T) {
	results := map[zkproc.Kind][]string{}
	for _, kind := range []zkproc.Kind{zkproc.KindZkd, zkproc.KindZooKeeper} {
		t.Run(string(kind), func(t *testing.T) {
			results[kind] = readOnlyScenario(t, kind)
		})
	}
	zkdRes, zkRes := results[zkproc.KindZkd], results[zkproc.KindZooKeeper]
	if zkdRes == nil || zkRes == nil {
		return // a subtest failed or was skipped
	}
	t.Logf("observed:\n  %s", strings.Join(zkdRes, "\n  "))
	if strings.Join(zkdRes, "\n") != strings.Join(zkRes, "\n") {
		t.Errorf("zkd and ZooKeeper differ in read-only mode:\nzkd:\n  %s\nZooKeeper:\n  %s",
			strings.Join(zkdRes, "\n  "), strings.Join(zkRes, "\n  "))
	}
}

// readOnlyScenario returns what a client observes, one line per step.
func readOnlyScenario(t *testing.T, kind zkproc.Kind) []string {
	var ms []zkproc.MemberSpec
	for i := int64(1); i <= 3; i++ {
		ms = append(ms, zkproc.MemberSpec{ID: i, Kind: kind})
	}
	e := zkproc.NewEnsemble(t, zkproc.EnsembleConfig{
		ZkdBin: zkdBin, Members: ms, Props: []string{"-Dreadonlymode.enabled=true"},
		// ZooKeeper 3.8.0's read-only server refuses to create sessions
		// that are not local (later versions create them); zkd serves
		// read-only sessions either way and ignores the key.
		Lines: []string{"localSessionsEnabled=true"},
	})
	e.StartAll()
	e.MustServe(60 * time.Second)
	s1 := e.Member(1)
	c := ensConnect(t, 10*time.Second, s1.Addr)
	if _, err := c.Create("/ro", []byte("before"), 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	c.Close()
	var out []string
	note := func(f string, a ...any) { out = append(out, fmt.Sprintf(f, a...)) }
	note("isro while the quorum is up: %s", fourLetter(t, s1.Addr, "isro"))
	// The quorum gauges monitoring tools read from mntr.
	l := e.Leader()
	var follower *zkproc.Member
	for _, m := range e.Members {
		if m != l {
			follower = m
		}
	}
	want := "zk_learners=2 zk_peer_state=leading - broadcast zk_quorum_size=3 zk_synced_followers=2 zk_synced_observers=0"
	got := waitMntr(l.Addr, want, "zk_learners", "zk_peer_state", "zk_quorum_size", "zk_synced_followers", "zk_synced_observers")
	note("leader mntr: %s", got)
	note("follower mntr: %s", waitMntr(follower.Addr, "", "zk_peer_state", "zk_quorum_size", "zk_synced_followers"))

	e.Member(2).Stop()
	e.Member(3).Stop()
	if err := waitFourLetter(s1.Addr, "isro", "ro", 30*time.Second); err != nil {
		t.Fatalf("server 1 never became read-only: %v (%s)", err, e.Modes())
	}
	note("isro without a quorum: ro")
	mode, _ := s1.Mode()
	note("srvr mode: %s", mode)

	// A client that does not allow read-only sessions is refused.
	rw := dialRaw(t, s1.Addr)
	rw.send(&jute.ConnectRequest{TimeOut: 10000, Passwd: make([]byte, 16)})
	if _, err := rw.tryReadFrame(3 * time.Second); err == nil {
		note("read-write client: answered")
	} else {
		note("read-write client: connection closed")
	}

	ro := dialRaw(t, s1.Addr)
	ro.send(&jute.ConnectRequest{TimeOut: 10000, Passwd: make([]byte, 16), ReadOnly: true})
	var resp jute.ConnectResponse
	if b := ro.readFrame(); jute.Unmarshal(b, &resp) != nil {
		t.Fatalf("ConnectResponse % x", b)
	}
	note("read-only client: session %v, readOnly %v, timeout %d", resp.SessionID != 0, resp.ReadOnly, resp.TimeOut)

	h, body := ro.request(wire.OpGetData, &jute.GetDataRequest{Path: "/ro"})
	var gd jute.GetDataResponse
	_ = jute.Unmarshal(body, &gd)
	note("getData: %s %q", wire.Error(h.Err).Name(), gd.Data)
	h, _ = ro.request(wire.OpExists, &jute.ExistsRequest{Path: "/missing"})
	note("exists of a missing node: %s", wire.Error(h.Err).Name())
	h, _ = ro.request(wire.OpGetChildren, &jute.GetChildrenRequest{Path: "/"})
	note("getChildren: %s", wire.Error(h.Err).Name())
	h, _ = ro.request(wire.OpSetData, &jute.SetDataRequest{Path: "/ro", Data: []byte("x"), Version: -1})
	note("setData: %s", wire.Error(h.Err).Name())
	h, _ = ro.request(wire.OpCreate, &jute.CreateRequest{Path: "/new", ACL: zkWorldACL()})
	note("create: %s", wire.Error(h.Err).Name())
	h, _ = ro.request(wire.OpDelete, &jute.DeleteRequest{Path: "/ro", Version: -1})
	note("delete: %s", wire.Error(h.Err).Name())
	h, _ = ro.request(wire.OpSync, &jute.SyncRequest{Path: "/ro"})
	note("sync: %s", wire.Error(h.Err).Name())
	h, _ = ro.request(wire.OpGetData, &jute.GetDataRequest{Path: "/ro"})
	note("getData after the refused writes: %s", wire.Error(h.Err).Name())
	h, _ = ro.request(wire.OpCloseSession, nil)
	note("closeSession: %s", wire.Error(h.Err).Name())

	// A read-only client connected when the quorum comes back is dropped
	// (it reconnects to find a read-write server).
	held := dialRaw(t, s1.Addr)
	held.send(&jute.ConnectRequest{TimeOut: 30000, Passwd: make([]byte, 16), ReadOnly: true})
	held.readFrame()
	e.Member(2).Start()
	e.Member(3).Start()
	e.MustServe(60 * time.Second)
	note("isro with the quorum back: %s", fourLetter(t, s1.Addr, "isro"))
	note("read-only client after the quorum is back: closed %v", held.closed(10*time.Second))

	c = ensConnect(t, 10*time.Second, s1.Addr)
	defer c.Close()
	if _, err := c.Set("/ro", []byte("after"), -1); err != nil {
		t.Fatalf("write after the quorum is back: %v", err)
	}
	return out
}

func zkWorldACL() []jute.ACL {
	return []jute.ACL{{Perms: 31, ID: jute.Id{Scheme: "world", ID: "anyone"}}}
}

func fourLetter(t testing.TB, addr, cmd string) string {
	t.Helper()
	s, err := zkproc.FourLetter(addr, cmd)
	if err != nil {
		t.Fatalf("%s: %v", cmd, err)
	}
	return strings.TrimSpace(s)
}

func waitFourLetter(addr, cmd, want string, d time.Duration) error {
	deadline := time.Now().Add(d)
	var last string
	for time.Now().Before(deadline) {
		s, err := zkproc.FourLetter(addr, cmd)
		if err == nil && strings.TrimSpace(s) == want {
			return nil
		}
		last = fmt.Sprintf("%q %v", s, err)
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s: last answer %s", cmd, last)
}

// waitMntr returns the given mntr keys as "k=v ..." (sorted as given),
// polling up to 5 s for want when it is set: the leader's gauges settle
// just after its learners do.
func waitMntr(addr, want string, keys ...string) string {
	deadline := time.Now().Add(5 * time.Second)
	for {
		out, _ := zkproc.FourLetter(addr, "mntr")
		vals := map[string]string{}
		for _, line := range strings.Split(out, "\n") {
			if k, v, ok := strings.Cut(line, "\t"); ok {
				vals[k] = v
			}
		}
		var parts []string
		for _, k := range keys {
			if v, ok := vals[k]; ok {
				parts = append(parts, k+"="+v)
			}
		}
		got := strings.Join(parts, " ")
		if want == "" || got == want || time.Now().After(deadline) {
			return got
		}
		time.Sleep(100 * time.Millisecond)
	}
}

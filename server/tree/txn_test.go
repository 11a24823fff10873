package tree

import (
	"reflect"
	"slices"
	"testing"

	"zkd/jute"
	"zkd/wire"
)

type recorder struct{ events []Event }

func (r *recorder) Trigger(ev Event) { r.events = append(r.events, ev) }

func (r *recorder) take() []Event {
	ev := r.events
	r.events = nil
	return ev
}

func sub(typ wire.OpCode, rec jute.Record) jute.Txn {
	return jute.Txn{Type: int32(typ), Data: jute.Marshal(rec)}
}

// TestProcessTxnEveryType applies one txn of every type in turn and
// checks the result, the tree, the indexes and the watch events.
func TestProcessTxnEveryType(t *testing.T) {
	const s = int64(0x0100003fd8750001)
	tr := New()
	tr.ExtendedTypes = true
	w := &recorder{}
	tr.Watches = w
	ev := func(typ wire.EventType, path string, zxid int64) Event {
		return Event{Type: typ, Path: path, Zxid: zxid}
	}
	steps := []struct {
		name   string
		txn    *wire.Txn
		err    wire.Error
		path   string
		stat   bool
		events []Event
		check  func(t *testing.T)
	}{
		{name: "createSession", txn: txn(wire.OpCreateSession, s, 1, &jute.CreateSessionTxn{TimeOut: 4000}),
			check: func(t *testing.T) {
				if tr.Sessions[s] != 4000 {
					t.Fatalf("sessions %v", tr.Sessions)
				}
			}},
		{name: "create", txn: txn(wire.OpCreate, s, 2, &jute.CreateTxn{Path: "/a", Data: []byte("x"), ACL: digestACL, ParentCVersion: 1}),
			path: "/a", stat: true, events: []Event{ev(wire.EventNodeCreated, "/a", 2), ev(wire.EventNodeChildrenChanged, "/", 2)}},
		{name: "create2 ephemeral", txn: txn(wire.OpCreate2, s, 3, &jute.CreateTxn{Path: "/a/e", ACL: OpenACLUnsafe, Ephemeral: true, ParentCVersion: 1}),
			path: "/a/e", stat: true, events: []Event{ev(wire.EventNodeCreated, "/a/e", 3), ev(wire.EventNodeChildrenChanged, "/a", 3)},
			check: func(t *testing.T) {
				if n := tr.Node("/a/e"); n.Stat.EphemeralOwner != s || !slices.Equal(tr.Ephemerals(s), []string{"/a/e"}) {
					t.Fatalf("ephemeral owner %x, index %q", n.Stat.EphemeralOwner, tr.Ephemerals(s))
				}
			}},
		{name: "createContainer", txn: txn(wire.OpCreateContainer, s, 4, &jute.CreateContainerTxn{Path: "/c", Data: []byte{}, ACL: OpenACLUnsafe, ParentCVersion: 2}),
			path: "/c", stat: true, events: []Event{ev(wire.EventNodeCreated, "/c", 4), ev(wire.EventNodeChildrenChanged, "/", 4)},
			check: func(t *testing.T) {
				if tr.Node("/c").Stat.EphemeralOwner != ContainerOwner || !slices.Equal(tr.Containers(), []string{"/c"}) {
					t.Fatalf("container %x %q", tr.Node("/c").Stat.EphemeralOwner, tr.Containers())
				}
			}},
		{name: "createTTL", txn: txn(wire.OpCreateTTL, s, 5, &jute.CreateTTLTxn{Path: "/t", ACL: OpenACLUnsafe, ParentCVersion: 3, TTL: 1000}),
			path: "/t", stat: true, events: []Event{ev(wire.EventNodeCreated, "/t", 5), ev(wire.EventNodeChildrenChanged, "/", 5)},
			check: func(t *testing.T) {
				o := tr.Node("/t").Stat.EphemeralOwner
				if uint64(o) != 0xff000000000003e8 || tr.OwnerTTL(o) != 1000 || !slices.Equal(tr.TTLs(), []string{"/t"}) {
					t.Fatalf("ttl owner %x %q", o, tr.TTLs())
				}
			}},
		{name: "setData", txn: txn(wire.OpSetData, s, 6, &jute.SetDataTxn{Path: "/a", Data: []byte("yy"), Version: 1}),
			path: "/a", stat: true, events: []Event{ev(wire.EventNodeDataChanged, "/a", 6)},
			check: func(t *testing.T) {
				if n := tr.Node("/a"); n.Stat.Version != 1 || n.Stat.Mzxid != 6 || n.Stat.Mtime != 6000 || string(n.Data()) != "yy" {
					t.Fatalf("%+v", n.Stat)
				}
			}},
		{name: "setACL", txn: txn(wire.OpSetACL, s, 7, &jute.SetACLTxn{Path: "/a", ACL: worldRead, Version: 1}),
			path: "/a", stat: true,
			check: func(t *testing.T) {
				if n := tr.Node("/a"); n.Stat.Aversion != 1 || !reflect.DeepEqual(tr.ACLOf(n), worldRead) {
					t.Fatalf("%+v %v", n.Stat, tr.ACLOf(n))
				}
			}},
		{name: "reconfig", txn: txn(wire.OpReconfig, s, 8, &jute.SetDataTxn{Path: ConfigPath, Data: []byte("version=100000008"), Version: -1}),
			path: ConfigPath, stat: true, events: []Event{ev(wire.EventNodeDataChanged, ConfigPath, 8)},
			check: func(t *testing.T) {
				if n := tr.Node(ConfigPath); string(n.Data()) != "version=100000008" || n.Stat.Version != -1 {
					t.Fatalf("%q %+v", n.Data(), n.Stat)
				}
			}},
		{name: "check", txn: txn(wire.OpCheck, s, 9, &jute.CheckVersionTxn{Path: "/a", Version: 1}), path: "/a"},
		{name: "error", txn: txn(wire.OpError, s, 10, &jute.ErrorTxn{Err: int32(wire.ErrBadVersion)}), err: wire.ErrBadVersion},
		{name: "deleteContainer", txn: txn(wire.OpDeleteContainer, 0, 11, &jute.DeleteTxn{Path: "/c"}),
			path: "/c", events: []Event{ev(wire.EventNodeDeleted, "/c", 11), ev(wire.EventNodeChildrenChanged, "/", 11)},
			check: func(t *testing.T) {
				if len(tr.Containers()) != 0 {
					t.Fatal("container still indexed")
				}
			}},
		{name: "delete", txn: txn(wire.OpDelete, s, 12, &jute.DeleteTxn{Path: "/t"}),
			path: "/t", events: []Event{ev(wire.EventNodeDeleted, "/t", 12), ev(wire.EventNodeChildrenChanged, "/", 12)},
			check: func(t *testing.T) {
				if len(tr.TTLs()) != 0 {
					t.Fatal("TTL node still indexed")
				}
			}},
		{name: "closeSession", txn: txn(wire.OpCloseSession, s, 13, &jute.CloseSessionTxn{Paths2Delete: []string{"/a/e"}}),
			events: []Event{ev(wire.EventNodeDeleted, "/a/e", 13), ev(wire.EventNodeChildrenChanged, "/a", 13)},
			check: func(t *testing.T) {
				if tr.Node("/a/e") != nil || len(tr.EphemeralSessions()) != 0 || len(tr.Sessions) != 0 {
					t.Fatalf("session not closed: %v %v", tr.EphemeralSessions(), tr.Sessions)
				}
				if st := tr.Node("/a").Stat; st.Pzxid != 13 || st.Cversion != 1 {
					t.Fatalf("parent %+v", st)
				}
			}},
	}
	for _, st := range steps {
		r := tr.ProcessTxn(st.txn)
		h := st.txn.Header
		if r.Err != st.err || r.Path != st.path || r.HasStat != st.stat || r.ClientID != h.ClientID ||
			r.Cxid != h.Cxid || r.Zxid != h.Zxid || r.Type != st.txn.Type() {
			t.Fatalf("%s: result %+v", st.name, r)
		}
		if r.HasStat {
			if want := tr.ClientStat(tr.Node(st.path)); r.Stat != want {
				t.Fatalf("%s: result stat %+v, node %+v", st.name, r.Stat, want)
			}
		}
		if tr.LastProcessedZxid != h.Zxid {
			t.Fatalf("%s: lastProcessedZxid %d", st.name, tr.LastProcessedZxid)
		}
		got := w.take()
		for i := range got {
			got[i].ACL = nil
		}
		if !reflect.DeepEqual(got, st.events) && (len(got) > 0 || len(st.events) > 0) {
			t.Fatalf("%s: events %+v, want %+v", st.name, got, st.events)
		}
		if st.check != nil {
			st.check(t)
		}
		checkInvariants(t, tr)
	}
}

// TestEventACLs: events carry the ACL of the node (for a child change,
// the parent's), so the server can filter notifications by READ.
func TestEventACLs(t *testing.T) {
	tr := New()
	w := &recorder{}
	mustCreate(t, tr, "/p", nil, 0, 1)
	if _, err := tr.SetACL("/p", digestACL, 1); err != nil {
		t.Fatal(err)
	}
	tr.Watches = w
	tr.ProcessTxn(txn(wire.OpCreate, 0, 2, &jute.CreateTxn{Path: "/p/c", ACL: worldRead, ParentCVersion: 1}))
	evs := w.take()
	if len(evs) != 2 || !reflect.DeepEqual(evs[0].ACL, worldRead) || !reflect.DeepEqual(evs[1].ACL, digestACL) {
		t.Fatalf("%+v", evs)
	}
	tr.ProcessTxn(txn(wire.OpDelete, 0, 3, &jute.DeleteTxn{Path: "/p/c"}))
	evs = w.take()
	if len(evs) != 2 || !reflect.DeepEqual(evs[0].ACL, worldRead) || !reflect.DeepEqual(evs[1].ACL, digestACL) {
		t.Fatalf("delete events %+v", evs)
	}
}

func TestProcessMulti(t *testing.T) {
	tr := New()
	w := &recorder{}
	mustCreate(t, tr, "/x", []byte("v"), 0, 1)
	mustCreate(t, tr, "/gone", nil, 0, 2)
	tr.Watches = w
	m := txn(wire.OpMulti, 7, 3, &jute.MultiTxn{Txns: []jute.Txn{
		sub(wire.OpCreate, &jute.CreateTxn{Path: "/m", Data: []byte("1"), ACL: OpenACLUnsafe, ParentCVersion: 3}),
		sub(wire.OpCreate2, &jute.CreateTxn{Path: "/m/n", ACL: digestACL, ParentCVersion: 1}),
		sub(wire.OpCreateContainer, &jute.CreateContainerTxn{Path: "/k", ACL: OpenACLUnsafe, ParentCVersion: 4}),
		sub(wire.OpSetData, &jute.SetDataTxn{Path: "/x", Data: []byte("w"), Version: 1}),
		sub(wire.OpCheck, &jute.CheckVersionTxn{Path: "/x", Version: 1}),
		sub(wire.OpDelete, &jute.DeleteTxn{Path: "/gone"}),
	}})
	r := tr.ProcessTxn(m)
	if r.Err != wire.ErrOK || len(r.Multi) != 6 || r.Zxid != 3 || tr.LastProcessedZxid != 3 {
		t.Fatalf("%+v", r)
	}
	wantTypes := []wire.OpCode{wire.OpCreate, wire.OpCreate2, wire.OpCreateContainer, wire.OpSetData, wire.OpCheck, wire.OpDelete}
	for i, sr := range r.Multi {
		if sr.Type != wantTypes[i] || sr.Err != wire.ErrOK || sr.Zxid != 3 || sr.ClientID != 7 {
			t.Fatalf("sub %d: %+v", i, sr)
		}
	}
	if r.Multi[3].Stat.Version != 1 || !r.Multi[1].HasStat || r.Multi[1].Path != "/m/n" {
		t.Fatalf("sub results %+v", r.Multi)
	}
	if tr.Node("/m/n") == nil || tr.Node("/gone") != nil || string(tr.Node("/x").Data()) != "w" || len(tr.Containers()) != 1 {
		t.Fatal("multi not applied")
	}
	if len(w.take()) != 9 {
		t.Fatal("events of the multi")
	}
	checkInvariants(t, tr)

	// A failed multi, as ZooKeeper logs it: nothing applies, results are
	// 0 for ops before the failure, its code, then -2.
	before := snapshotBytes(t, tr)
	digest := tr.Digest()
	failed := txn(wire.OpMulti, 7, 4, &jute.MultiTxn{Txns: []jute.Txn{
		sub(wire.OpCreate, &jute.CreateTxn{Path: "/new", ACL: OpenACLUnsafe, ParentCVersion: 5}),
		sub(wire.OpSetData, &jute.SetDataTxn{Path: "/x", Data: []byte("z"), Version: 2}),
		sub(wire.OpError, &jute.ErrorTxn{Err: int32(wire.ErrBadVersion)}),
		sub(wire.OpError, &jute.ErrorTxn{Err: int32(wire.ErrRuntimeInconsistency)}),
	}})
	r = tr.ProcessTxn(failed)
	if r.Err != wire.ErrBadVersion || len(r.Multi) != 4 {
		t.Fatalf("%+v", r)
	}
	for i, want := range []wire.Error{wire.ErrOK, wire.ErrOK, wire.ErrBadVersion, wire.ErrRuntimeInconsistency} {
		if r.Multi[i].Type != wire.OpError || r.Multi[i].Err != want {
			t.Fatalf("sub %d: %+v", i, r.Multi[i])
		}
	}
	if tr.Node("/new") != nil || string(tr.Node("/x").Data()) != "w" || tr.Digest() != digest {
		t.Fatal("the failed multi changed the tree")
	}
	if len(w.take()) != 0 {
		t.Fatal("a failed multi fired watches")
	}
	if tr.LastProcessedZxid != 4 {
		t.Fatal("a failed multi still consumes its zxid")
	}
	if after := snapshotBytes(t, tr); len(after) != len(before) {
		t.Fatal("snapshot changed")
	}

	// Empty multi.
	if r := tr.ProcessTxn(txn(wire.OpMulti, 7, 5, &jute.MultiTxn{Txns: []jute.Txn{}})); r.Err != wire.ErrOK || len(r.Multi) != 0 {
		t.Fatalf("empty multi %+v", r)
	}
	// Sub-txns a multi cannot hold, and garbage, are MARSHALLINGERROR.
	for _, bad := range []jute.Txn{
		sub(wire.OpSetACL, &jute.SetACLTxn{Path: "/x", ACL: worldRead, Version: 1}),
		sub(wire.OpCreateSession, &jute.CreateSessionTxn{TimeOut: 1}),
		{Type: int32(wire.OpCreate), Data: []byte{0, 0}},
		{Type: int32(wire.OpMulti), Data: jute.Marshal(&jute.MultiTxn{})},
	} {
		r := tr.ProcessTxn(txn(wire.OpMulti, 7, 6, &jute.MultiTxn{Txns: []jute.Txn{bad}}))
		if r.Err != wire.ErrMarshallingError {
			t.Fatalf("sub type %d: %+v", bad.Type, r)
		}
	}
	checkInvariants(t, tr)
}

func snapshotBytes(t *testing.T, tr *DataTree) []byte {
	t.Helper()
	var buf writeBuffer
	s := tr.BeginSnapshot()
	if _, err := s.WriteTo(&buf, nopLocker{}); err != nil {
		t.Fatal(err)
	}
	s.End()
	return buf.b
}

type writeBuffer struct{ b []byte }

func (w *writeBuffer) Write(p []byte) (int, error) { w.b = append(w.b, p...); return len(p), nil }

type nopLocker struct{}

func (nopLocker) Lock()   {}
func (nopLocker) Unlock() {}

// TestReplayTolerance: txns the fuzzy snapshot already holds must apply
// without harm when the log is replayed (DataTree.processTxn).
func TestReplayTolerance(t *testing.T) {
	t.Run("create over an existing node fixes the parent", func(t *testing.T) {
		tr := New()
		mustCreate(t, tr, "/p", nil, 0, 1)
		mustCreate(t, tr, "/p/c", []byte("snap"), 0, 2) // in the snapshot, cversion 1
		r := tr.ProcessTxn(txn(wire.OpCreate, 0, 9, &jute.CreateTxn{Path: "/p/c", Data: []byte("log"), ACL: OpenACLUnsafe, ParentCVersion: 4}))
		if r.Err != wire.ErrNodeExists {
			t.Fatalf("%+v", r)
		}
		if st := tr.Node("/p").Stat; st.Cversion != 4 || st.Pzxid != 9 {
			t.Fatalf("parent %+v", st)
		}
		if string(tr.Node("/p/c").Data()) != "snap" {
			t.Fatal("the node must stay as the snapshot has it")
		}
		// parentCVersion -1 (a V0 create) means current + 1.
		tr.ProcessTxn(txn(wire.OpCreate, 0, 10, &jute.CreateTxn{Path: "/p/c", ACL: OpenACLUnsafe, ParentCVersion: -1}))
		if st := tr.Node("/p").Stat; st.Cversion != 5 || st.Pzxid != 10 {
			t.Fatalf("pcv -1: %+v", st)
		}
		// Not backwards.
		tr.ProcessTxn(txn(wire.OpCreate, 0, 11, &jute.CreateTxn{Path: "/p/c", ACL: OpenACLUnsafe, ParentCVersion: 2}))
		if st := tr.Node("/p").Stat; st.Cversion != 5 || st.Pzxid != 10 {
			t.Fatalf("smaller pcv: %+v", st)
		}
		if tr.LastProcessedZxid != 11 {
			t.Fatalf("lastProcessedZxid %d", tr.LastProcessedZxid)
		}
		checkInvariants(t, tr)
	})
	t.Run("create2 over an existing node changes nothing (only opcode 1 is fixed, as in ZooKeeper)", func(t *testing.T) {
		tr := New()
		mustCreate(t, tr, "/p", nil, 0, 1)
		mustCreate(t, tr, "/p/c", nil, 0, 2)
		r := tr.ProcessTxn(txn(wire.OpCreate2, 0, 9, &jute.CreateTxn{Path: "/p/c", ACL: OpenACLUnsafe, ParentCVersion: 4}))
		if r.Err != wire.ErrNodeExists || tr.Node("/p").Stat.Cversion != 1 {
			t.Fatalf("%+v %+v", r, tr.Node("/p").Stat)
		}
	})
	t.Run("create in a multi over an existing node", func(t *testing.T) {
		tr := New()
		mustCreate(t, tr, "/p", nil, 0, 1)
		mustCreate(t, tr, "/p/c", nil, 0, 2)
		r := tr.ProcessTxn(txn(wire.OpMulti, 0, 9, &jute.MultiTxn{Txns: []jute.Txn{
			sub(wire.OpCreate, &jute.CreateTxn{Path: "/p/c", ACL: OpenACLUnsafe, ParentCVersion: 3}),
			sub(wire.OpCreate, &jute.CreateTxn{Path: "/p/d", ACL: OpenACLUnsafe, ParentCVersion: 4}),
		}}))
		if r.Err != wire.ErrNodeExists || r.Multi[0].Err != wire.ErrNodeExists || r.Multi[1].Err != wire.ErrOK {
			t.Fatalf("%+v", r)
		}
		if st := tr.Node("/p").Stat; st.Cversion != 4 || st.Pzxid != 9 || tr.Node("/p/d") == nil {
			t.Fatalf("parent %+v", st)
		}
		checkInvariants(t, tr)
	})
	t.Run("missing nodes", func(t *testing.T) {
		tr := New()
		mustCreate(t, tr, "/p", nil, 0, 1)
		digest := tr.Digest()
		for _, x := range []*wire.Txn{
			txn(wire.OpSetData, 0, 5, &jute.SetDataTxn{Path: "/p/gone", Data: []byte("x"), Version: 1}),
			txn(wire.OpSetACL, 0, 6, &jute.SetACLTxn{Path: "/p/gone", ACL: worldRead, Version: 1}),
			txn(wire.OpCreate, 0, 7, &jute.CreateTxn{Path: "/nope/c", ACL: OpenACLUnsafe, ParentCVersion: 1}),
		} {
			if r := tr.ProcessTxn(x); r.Err != wire.ErrNoNode {
				t.Fatalf("%v: %+v", x.Type(), r)
			}
		}
		if tr.Digest() != digest || tr.ACLs.Len() != 1 {
			t.Fatal("a failed op changed the tree")
		}
		// A delete of a missing child still moves the parent's pzxid.
		if r := tr.ProcessTxn(txn(wire.OpDelete, 0, 8, &jute.DeleteTxn{Path: "/p/gone"})); r.Err != wire.ErrNoNode {
			t.Fatalf("%+v", r)
		}
		if tr.Node("/p").Stat.Pzxid != 8 {
			t.Fatal("pzxid")
		}
		checkInvariants(t, tr)
	})
	t.Run("closeSession of nodes already gone", func(t *testing.T) {
		tr := New()
		tr.ProcessTxn(txn(wire.OpCreateSession, 5, 1, &jute.CreateSessionTxn{TimeOut: 1}))
		r := tr.ProcessTxn(txn(wire.OpCloseSession, 5, 2, &jute.CloseSessionTxn{Paths2Delete: []string{"/e1", "/x/e2"}}))
		if r.Err != wire.ErrOK || len(tr.Sessions) != 0 {
			t.Fatalf("%+v", r)
		}
		checkInvariants(t, tr)
	})
}

// TestKillSession: the txn's paths are deleted whoever owns them (as
// DataTree.deleteNodes does), then whatever the index still holds for
// the session.
func TestKillSession(t *testing.T) {
	tr := New()
	const s1, s2 = 0x11, 0x22
	mustCreate(t, tr, "/a", nil, s1, 1)
	mustCreate(t, tr, "/b", nil, s1, 2)
	mustCreate(t, tr, "/c", nil, s2, 3)
	mustCreate(t, tr, "/p", nil, 0, 4)
	tr.KillSession(s1, 10, []string{"/a", "/p"})
	for _, p := range []string{"/a", "/b", "/p"} {
		if tr.Node(p) != nil {
			t.Fatalf("%s survived", p)
		}
	}
	if tr.Node("/c") == nil || !slices.Equal(tr.Ephemerals(s2), []string{"/c"}) || len(tr.Ephemerals(s1)) != 0 {
		t.Fatal("other session's node")
	}
	if st := tr.Node("/").Stat; st.Pzxid != 10 || st.Cversion != 4 {
		t.Fatalf("root %+v", st)
	}
	checkInvariants(t, tr)
	// A closeSession with no body (closeSessionTxn disabled) uses the index.
	r := tr.ProcessTxn(&wire.Txn{Header: jute.TxnHeader{ClientID: s2, Zxid: 11, Type: int32(wire.OpCloseSession)}})
	if r.Err != wire.ErrOK || tr.Node("/c") != nil || len(tr.EphemeralSessions()) != 0 {
		t.Fatalf("%+v", r)
	}
	checkInvariants(t, tr)
}

func TestOwnerType(t *testing.T) {
	ttl := int64(-0x100000000000000 | 1000) // 0xff000000000003e8
	tests := []struct {
		owner            int64
		plain, ext, e353 EphemeralType
	}{
		{0, EphemeralVoid, EphemeralVoid, EphemeralVoid},
		{1, EphemeralNormal, EphemeralNormal, EphemeralNormal},
		{0x0100003fd8750000, EphemeralNormal, EphemeralNormal, EphemeralNormal},
		{ContainerOwner, EphemeralContainer, EphemeralContainer, EphemeralContainer},
		{ttl, EphemeralNormal, EphemeralTTL, EphemeralTTL},
		{-1 << 56, EphemeralNormal, EphemeralTTL, EphemeralTTL},
		{-2, EphemeralNormal, EphemeralTTL, EphemeralTTL},
		// 3.5.3 TTL encoding: any other negative owner.
		{-1<<63 | 1000, EphemeralNormal, EphemeralNormal, EphemeralTTL},
		{0x7f00000000000000, EphemeralNormal, EphemeralNormal, EphemeralNormal},
	}
	for _, tc := range tests {
		for _, mode := range []struct {
			ext, e353 bool
			want      EphemeralType
		}{{false, false, tc.plain}, {true, false, tc.ext}, {true, true, tc.e353}, {false, true, tc.plain}} {
			tr := &DataTree{ExtendedTypes: mode.ext, Emulate353TTL: mode.e353}
			if got := tr.OwnerType(tc.owner); got != mode.want {
				t.Errorf("OwnerType(%x) ext=%v 353=%v = %v, want %v", uint64(tc.owner), mode.ext, mode.e353, got, mode.want)
			}
		}
	}
	tr := New()
	for _, v := range []int64{1, 1000, 1<<40 - 1} {
		o := tr.TTLOwner(v)
		if uint64(o)>>56 != 0xff || uint64(o)>>40&0xffff != 0 || tr.OwnerTTL(o) != v {
			t.Errorf("TTLOwner(%d) = %x", v, uint64(o))
		}
	}
}

// TestOwnerIndexes: indexing follows OwnerType, so TTL nodes are only
// TTL nodes with extended types on.
func TestOwnerIndexes(t *testing.T) {
	for _, ext := range []bool{false, true} {
		tr := New()
		tr.ExtendedTypes = ext
		ttlOwner := tr.TTLOwner(5000)
		mustCreate(t, tr, "/c", nil, ContainerOwner, 1)
		mustCreate(t, tr, "/t", nil, ttlOwner, 2)
		mustCreate(t, tr, "/e", nil, 7, 3)
		if !slices.Equal(tr.Containers(), []string{"/c"}) {
			t.Fatalf("ext=%v containers %q", ext, tr.Containers())
		}
		if ext {
			if !slices.Equal(tr.TTLs(), []string{"/t"}) || tr.EphemeralCount() != 1 {
				t.Fatalf("ttls %q, %d ephemerals", tr.TTLs(), tr.EphemeralCount())
			}
		} else if len(tr.TTLs()) != 0 || !slices.Equal(tr.Ephemerals(ttlOwner), []string{"/t"}) {
			t.Fatalf("without extended types a TTL owner is a session: %q", tr.TTLs())
		}
		checkInvariants(t, tr)
		for _, p := range []string{"/c", "/t", "/e"} {
			if err := tr.DeleteNode(p, 10); err != nil {
				t.Fatal(err)
			}
		}
		if len(tr.Containers())+len(tr.TTLs())+tr.EphemeralCount() != 0 || len(tr.EphemeralSessions()) != 0 {
			t.Fatal("indexes not emptied")
		}
	}
}

func TestSetCversionPzxid(t *testing.T) {
	tr := New()
	mustCreate(t, tr, "/a", nil, 0, 1)
	if err := tr.SetCversionPzxid("/a", 3, 7); err != nil || tr.Node("/a").Stat.Cversion != 3 || tr.Node("/a").Stat.Pzxid != 7 {
		t.Fatalf("%v %+v", err, tr.Node("/a").Stat)
	}
	if err := tr.SetCversionPzxid("/a", 2, 8); err != nil || tr.Node("/a").Stat.Pzxid != 7 {
		t.Fatal("must not move back")
	}
	if err := tr.SetCversionPzxid("", -1, 9); err != nil || tr.Node("/").Stat.Cversion != 2 || tr.Node("/").Stat.Pzxid != 9 {
		t.Fatalf("root alias \"\": %v %+v", err, tr.Node("/").Stat)
	}
	if err := tr.SetCversionPzxid("/nope", 1, 1); err != wire.ErrNoNode {
		t.Fatal(err)
	}
	checkInvariants(t, tr)
}

// TestCreateRoot: a txn creating "/" (only a corrupt log has one) must
// not replace the root.
func TestCreateRoot(t *testing.T) {
	tr := New()
	root := tr.Node("/")
	for _, p := range []string{"/", ""} {
		if _, err := tr.CreateNode(p, nil, nil, 0, -1, 5, 0); err != wire.ErrNodeExists {
			t.Errorf("create %q = %v, want NODEEXISTS", p, err)
		}
	}
	if tr.Node("/") != root || root.HasChild("") {
		t.Error("the root changed")
	}
	checkInvariants(t, tr)
}

// TestDeleteRoot: a txn deleting "/" (only a corrupt log has one) must
// not remove the root.
func TestDeleteRoot(t *testing.T) {
	tr := New()
	root := tr.Node("/")
	r := tr.ProcessTxn(txn(wire.OpDelete, 0, 5, &jute.DeleteTxn{Path: "/"}))
	if r.Err == wire.ErrOK {
		t.Error("delete / succeeded")
	}
	if err := tr.DeleteNode("", 6); err == nil {
		t.Error(`delete "" succeeded`)
	}
	if tr.Node("/") != root || root.HasChild("") || root.Stat.Pzxid != 0 {
		t.Errorf("the root changed: %+v", root.Stat)
	}
	checkInvariants(t, tr)
}

// TestReplayOverOrphan: replaying a fuzzy snapshot can delete a node the
// stream holds in a later incarnation, with children (the walk wrote the
// parent after it was deleted and created again, then a child created
// under it). DeleteNode leaves those children in the node map; the
// replay then creates each of them again, and CreateNode must replace the
// orphan cleanly, as ZooKeeper's NodeHashMapImpl.put removes the digest
// of the node it replaces.
func TestReplayOverOrphan(t *testing.T) {
	// The stream: /x (second incarnation, created at 5) with child /x/c
	// (created at 6). The log after the snapshot start: delete /x (the
	// first incarnation, at 4), create /x (5), create /x/c (6).
	tr := New()
	mustCreate(t, tr, "/x", nil, 0, 5)
	if _, err := tr.CreateNode("/x/c", []byte("c"), digestACL, 0, -1, 6, 6000); err != nil {
		t.Fatal(err)
	}
	// A quota above them, so the stats must stay right too.
	mustCreate(t, tr, QuotaPath+"/x", nil, 0, 1)
	mustCreate(t, tr, QuotaPath+"/x/"+QuotaLimitNode, []byte("count=10,bytes=-1"), 0, 2)
	mustCreate(t, tr, QuotaPath+"/x/"+QuotaStatNode, []byte("count=0,bytes=0"), 0, 3)
	tr.ProcessTxn(txn(wire.OpDelete, 0, 4, &jute.DeleteTxn{Path: "/x"}))
	tr.ProcessTxn(txn(wire.OpCreate, 0, 5, &jute.CreateTxn{Path: "/x", ACL: OpenACLUnsafe, ParentCVersion: 2}))
	tr.ProcessTxn(txn(wire.OpCreate, 0, 6, &jute.CreateTxn{Path: "/x/c", Data: []byte("c"), ACL: digestACL, ParentCVersion: 1}))
	checkInvariants(t, tr)
}

// TestReplayOverOrphanOwners: an orphan replaced by a create leaves the
// owner indexes (ephemerals, containers, TTL nodes) and the ACL cache as
// if it had been deleted first.
func TestReplayOverOrphanOwners(t *testing.T) {
	tr := New()
	tr.ExtendedTypes = true
	mustCreate(t, tr, "/x", nil, 0, 1)
	mustCreate(t, tr, "/x/e", nil, 7, 2)
	mustCreate(t, tr, "/x/k", nil, ContainerOwner, 3)
	mustCreate(t, tr, "/x/t", nil, tr.TTLOwner(1000), 4)
	if _, err := tr.CreateNode("/x/a", nil, mixedACL, 0, -1, 5, 0); err != nil {
		t.Fatal(err)
	}
	if err := tr.DeleteNode("/x", 6); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, tr, "/x", nil, 0, 7)
	mustCreate(t, tr, "/x/e", nil, 8, 8)               // another session's ephemeral
	mustCreate(t, tr, "/x/k", nil, 0, 9)               // a persistent node
	mustCreate(t, tr, "/x/t", nil, ContainerOwner, 10) // a container
	mustCreate(t, tr, "/x/a", nil, 0, 11)              // OPEN_ACL_UNSAFE
	checkInvariants(t, tr)
	if len(tr.Ephemerals(7)) != 0 || len(tr.Ephemerals(8)) != 1 {
		t.Fatalf("ephemerals: 7 %q, 8 %q", tr.Ephemerals(7), tr.Ephemerals(8))
	}
	if got := sorted(tr.Containers()); !slices.Equal(got, []string{"/x/t"}) || len(tr.TTLs()) != 0 {
		t.Fatalf("containers %q ttls %q", got, tr.TTLs())
	}
	if tr.ACLs.Len() != 1 { // only /zookeeper/config's READ_ACL_UNSAFE
		t.Fatalf("ACL table %v", tr.ACLs.byID)
	}
}

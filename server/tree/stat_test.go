package tree

import (
	"bytes"
	"reflect"
	"testing"

	"zkd/jute"
	"zkd/wire"
)

func mustCreate(t *testing.T, tr *DataTree, path string, data []byte, owner int64, zxid int64) *Node {
	t.Helper()
	n, err := tr.CreateNode(path, data, OpenACLUnsafe, owner, -1, zxid, zxid*1000)
	if err != nil {
		t.Fatalf("create %s: %v", path, err)
	}
	return n
}

// TestNewTree: a fresh database holds /, /zookeeper, /zookeeper/quota and
// /zookeeper/config (READ_ACL_UNSAFE), with zero stats.
func TestNewTree(t *testing.T) {
	tr := New()
	if tr.NodeCount() != 4 {
		t.Fatalf("%d nodes", tr.NodeCount())
	}
	for _, p := range []string{"/", ZookeeperPath, QuotaPath, ConfigPath} {
		if tr.Node(p) == nil {
			t.Fatalf("%s missing", p)
		}
	}
	if got := sorted(tr.Node("/").ChildNames()); !reflect.DeepEqual(got, []string{"zookeeper"}) {
		t.Fatalf("root children %q", got)
	}
	if got := sorted(tr.Node(ZookeeperPath).ChildNames()); !reflect.DeepEqual(got, []string{"config", "quota"}) {
		t.Fatalf("/zookeeper children %q", got)
	}
	if !reflect.DeepEqual(tr.ACLOf(tr.Node(ConfigPath)), ReadACLUnsafe) {
		t.Fatalf("config ACL %v", tr.ACLOf(tr.Node(ConfigPath)))
	}
	if !reflect.DeepEqual(tr.ACLOf(tr.Node("/")), OpenACLUnsafe) {
		t.Fatal("root ACL")
	}
	// The ACL cache of a fresh tree: id 1 = READ_ACL_UNSAFE (§6.2).
	if tr.ACLs.Len() != 1 || tr.Node(ConfigPath).ACL != 1 {
		t.Fatalf("ACL cache %v", tr.ACLs.byID)
	}
	// Digest of a fresh tree, recomputed by ZooKeeper's algorithm from a
	// 3.8.0 snapshot.0 (root and /zookeeper count, /zookeeper/* not).
	if tr.Digest() != 1371985504 {
		t.Fatalf("fresh digest %d", tr.Digest())
	}
	checkInvariants(t, tr)
}

// TestNewTreeMatchesZooKeeper: ZooKeeper's DataTree constructor gives
// its own nodes data = new byte[0] (getData("/") returns an empty array,
// not null), and addConfigNode sets /zookeeper/config's ACL with version
// -1, so its aversion is -1. Checked against 3.8.0's snapshot.0 and its
// getData reply (wire/testdata/golden/zk38/getData-empty.bin).
func TestNewTreeMatchesZooKeeper(t *testing.T) {
	tr := New()
	for _, p := range []string{"/", ZookeeperPath, QuotaPath, ConfigPath} {
		if d := tr.Node(p).Data; d == nil {
			t.Errorf("%s: data is null, ZooKeeper has an empty array", p)
		}
	}
	if a := tr.Node(ConfigPath).Stat.Aversion; a != -1 {
		t.Errorf("/zookeeper/config aversion %d, ZooKeeper has -1", a)
	}
}

func TestCreateNodeStat(t *testing.T) {
	tr := New()
	n, err := tr.CreateNode("/a", []byte("hello"), mixedACL, 0, -1, 0x100000001, 5000)
	if err != nil {
		t.Fatal(err)
	}
	want := jute.StatPersisted{Czxid: 0x100000001, Mzxid: 0x100000001, Pzxid: 0x100000001, Ctime: 5000, Mtime: 5000}
	if n.Stat != want {
		t.Fatalf("stat %+v", n.Stat)
	}
	st := tr.ClientStat(n)
	if st.DataLength != 5 || st.NumChildren != 0 || st.Czxid != want.Czxid || st.Pzxid != want.Pzxid {
		t.Fatalf("client stat %+v", st)
	}
	root := tr.Node("/")
	if root.Stat.Cversion != 1 || root.Stat.Pzxid != 0x100000001 || root.Stat.Mzxid != 0 || root.Stat.Version != 0 {
		t.Fatalf("root after create: %+v", root.Stat)
	}
	if !reflect.DeepEqual(tr.ACLOf(n), mixedACL) {
		t.Fatalf("acl %v", tr.ACLOf(n))
	}
	// Errors: missing parent, existing node.
	if _, err := tr.CreateNode("/x/y", nil, nil, 0, -1, 2, 0); err != wire.ErrNoNode {
		t.Fatalf("missing parent: %v", err)
	}
	if _, err := tr.CreateNode("/a", nil, nil, 0, -1, 3, 0); err != wire.ErrNodeExists {
		t.Fatalf("existing node: %v", err)
	}
	if root.Stat.Cversion != 1 || root.Stat.Pzxid != 0x100000001 {
		t.Fatalf("a failed create changed the parent: %+v", root.Stat)
	}
	checkInvariants(t, tr)
}

// TestParentCVersion: an explicit parentCVersion is taken only when it is
// larger (replay never moves cversion/pzxid back); -1 means current + 1.
func TestParentCVersion(t *testing.T) {
	tr := New()
	mustCreate(t, tr, "/p", nil, 0, 1)
	if _, err := tr.CreateNode("/p/a", nil, nil, 0, 5, 2, 0); err != nil {
		t.Fatal(err)
	}
	p := tr.Node("/p")
	if p.Stat.Cversion != 5 || p.Stat.Pzxid != 2 {
		t.Fatalf("after pcv 5: %+v", p.Stat)
	}
	if _, err := tr.CreateNode("/p/b", nil, nil, 0, 3, 3, 0); err != nil {
		t.Fatal(err)
	}
	if p.Stat.Cversion != 5 || p.Stat.Pzxid != 2 {
		t.Fatalf("a smaller pcv moved the parent: %+v", p.Stat)
	}
	if !p.HasChild("b") {
		t.Fatal("the node must be created anyway")
	}
	if _, err := tr.CreateNode("/p/c", nil, nil, 0, -1, 4, 0); err != nil {
		t.Fatal(err)
	}
	if p.Stat.Cversion != 6 || p.Stat.Pzxid != 4 {
		t.Fatalf("pcv -1: %+v", p.Stat)
	}
	checkInvariants(t, tr)
}

// TestDeleteNodeStat: delete moves the parent's pzxid but not its
// cversion (§4.2, checked live against 3.8.0).
func TestDeleteNodeStat(t *testing.T) {
	tr := New()
	mustCreate(t, tr, "/p", nil, 0, 1)
	mustCreate(t, tr, "/p/a", []byte("x"), 0, 2)
	mustCreate(t, tr, "/p/b", nil, 0, 3)
	before := tr.Node("/p").Stat
	if err := tr.DeleteNode("/p/a", 4); err != nil {
		t.Fatal(err)
	}
	after := tr.Node("/p").Stat
	if after.Cversion != before.Cversion || after.Pzxid != 4 || after.Mzxid != before.Mzxid || after.Version != 0 {
		t.Fatalf("parent after delete: %+v (before %+v)", after, before)
	}
	if tr.Node("/p/a") != nil || tr.Node("/p").HasChild("a") || tr.Node("/p").NumChildren() != 1 {
		t.Fatal("node not removed")
	}
	// Deleting a missing child still moves pzxid forward (fuzzy replay)...
	if err := tr.DeleteNode("/p/a", 6); err != wire.ErrNoNode {
		t.Fatalf("missing child: %v", err)
	}
	if tr.Node("/p").Stat.Pzxid != 6 {
		t.Fatalf("pzxid %d", tr.Node("/p").Stat.Pzxid)
	}
	// ...but never backwards.
	if err := tr.DeleteNode("/p/b", 5); err != nil {
		t.Fatal(err)
	}
	if tr.Node("/p").Stat.Pzxid != 6 {
		t.Fatalf("pzxid moved back to %d", tr.Node("/p").Stat.Pzxid)
	}
	if err := tr.DeleteNode("/nope/x", 7); err != wire.ErrNoNode {
		t.Fatalf("missing parent: %v", err)
	}
	checkInvariants(t, tr)
}

func TestSetDataStat(t *testing.T) {
	tr := New()
	mustCreate(t, tr, "/a", []byte("x"), 0, 1)
	n, err := tr.SetData("/a", []byte("hello"), 1, 7, 7000)
	if err != nil {
		t.Fatal(err)
	}
	want := jute.StatPersisted{Czxid: 1, Mzxid: 7, Pzxid: 1, Ctime: 1000, Mtime: 7000, Version: 1}
	if n.Stat != want || !bytes.Equal(n.Data(), []byte("hello")) {
		t.Fatalf("stat %+v", n.Stat)
	}
	// The version is the txn's, not old+1.
	if n, _ = tr.SetData("/a", nil, 9, 8, 8000); n.Stat.Version != 9 || n.Data() != nil || tr.ClientStat(n).DataLength != 0 {
		t.Fatalf("version %d data %v", n.Stat.Version, n.Data())
	}
	if _, err := tr.SetData("/nope", nil, 1, 9, 0); err != wire.ErrNoNode {
		t.Fatalf("missing node: %v", err)
	}
	if tr.Node("/").Stat.Pzxid != 1 || tr.Node("/").Stat.Cversion != 1 {
		t.Fatal("setData touched the parent")
	}
	checkInvariants(t, tr)
}

func TestSetACLStat(t *testing.T) {
	tr := New()
	n := mustCreate(t, tr, "/a", nil, 0, 1)
	before := n.Stat
	n, err := tr.SetACL("/a", digestACL, 1)
	if err != nil {
		t.Fatal(err)
	}
	want := before
	want.Aversion = 1
	if n.Stat != want {
		t.Fatalf("stat %+v, want %+v (setACL changes only aversion)", n.Stat, want)
	}
	if !reflect.DeepEqual(tr.ACLOf(n), digestACL) {
		t.Fatalf("acl %v", tr.ACLOf(n))
	}
	if _, err := tr.SetACL("/nope", nil, 1); err != wire.ErrNoNode {
		t.Fatalf("missing node: %v", err)
	}
	checkInvariants(t, tr)
}

// TestSequentialCVersion: the sequential suffix is the parent's cversion
// before the create, which deletes do not lower.
func TestSequentialCVersion(t *testing.T) {
	tr := New()
	mustCreate(t, tr, "/q", nil, 0, 1)
	zxid := int64(2)
	var names []string
	for i := range 4 {
		p := tr.Node("/q")
		name := "/q/item-" + fmtSeq(p.Stat.Cversion)
		mustCreate(t, tr, name, nil, 0, zxid)
		zxid++
		names = append(names, name)
		if i == 1 {
			if err := tr.DeleteNode(names[0], zxid); err != nil {
				t.Fatal(err)
			}
			zxid++
		}
	}
	want := []string{"/q/item-0000000000", "/q/item-0000000001", "/q/item-0000000002", "/q/item-0000000003"}
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("names %q", names)
	}
	if st := tr.Node("/q").Stat; st.Cversion != 4 {
		t.Fatalf("cversion %d", st.Cversion)
	}
}

func fmtSeq(v int32) string {
	b := []byte("0000000000")
	for i := len(b) - 1; v > 0; i-- {
		b[i] = byte('0' + v%10)
		v /= 10
	}
	return string(b)
}

// TestClientStatOwner: clients see ephemeralOwner only for normal
// ephemerals; DataNode.copyStat reports 0 for containers and TTL nodes
// (checked live: a 3.8.0 createContainer/createTTL reply carries 0).
func TestClientStatOwner(t *testing.T) {
	tr := New()
	tr.ExtendedTypes = true
	c := mustCreate(t, tr, "/c", nil, ContainerOwner, 1)
	ttl := mustCreate(t, tr, "/t", nil, tr.TTLOwner(1000), 2)
	e := mustCreate(t, tr, "/e", nil, 0x1234, 3)
	if got := tr.ClientStat(c).EphemeralOwner; got != 0 {
		t.Errorf("container owner seen as %x", got)
	}
	if got := tr.ClientStat(ttl).EphemeralOwner; got != 0 {
		t.Errorf("TTL owner seen as %x", got)
	}
	if got := tr.ClientStat(e).EphemeralOwner; got != 0x1234 {
		t.Errorf("ephemeral owner seen as %x", got)
	}
}

func TestCountDescendantsAndSize(t *testing.T) {
	tr := New()
	mustCreate(t, tr, "/a", []byte("12"), 0, 1)
	mustCreate(t, tr, "/a/b", []byte("345"), 0, 2)
	mustCreate(t, tr, "/a/b/c", nil, 0, 3)
	mustCreate(t, tr, "/a/d", nil, 0, 4)
	if n := tr.CountDescendants("/a"); n != 3 {
		t.Fatalf("descendants of /a: %d", n)
	}
	if n := tr.CountDescendants("/"); n != 7 {
		t.Fatalf("descendants of /: %d", n)
	}
	if n := tr.CountDescendants("/nope"); n != 0 {
		t.Fatalf("descendants of a missing node: %d", n)
	}
	// Path lengths plus data lengths, as approximate_data_size.
	want := int64(len("/") + len(ZookeeperPath) + len(QuotaPath) + len(ConfigPath) +
		len("/a") + 2 + len("/a/b") + 3 + len("/a/b/c") + len("/a/d"))
	if got := tr.ApproximateDataSize(); got != want {
		t.Fatalf("ApproximateDataSize %d, want %d", got, want)
	}
	if tr.NodeBytes([]byte("/a/b")) != tr.Node("/a/b") {
		t.Fatal("NodeBytes")
	}
	var order []string
	tr.Walk(func(p string, _ *Node) bool {
		order = append(order, p)
		return p != "/a/b" // skip the subtree below /a/b
	})
	seen := map[string]int{}
	for i, p := range order {
		seen[p] = i
	}
	if _, ok := seen["/a/b/c"]; ok {
		t.Fatal("Walk did not skip the subtree")
	}
	for p, i := range seen {
		if p != "/" && seen[Parent(p)] >= i {
			t.Fatalf("Walk visited %s before its parent", p)
		}
	}
}

// TestClientCversion: DataNode.copyStat turns the stored cversion (a
// count of creates) into a count of child changes, cversion*2 minus the
// children still there, so a delete is visible to clients even though it
// leaves the stored value alone (checked live against 3.8.0, see
// wire/zookeeper_golden_test.go).
func TestClientCversion(t *testing.T) {
	tr := New()
	mustCreate(t, tr, "/p", nil, 0, 1)
	mustCreate(t, tr, "/p/a", nil, 0, 2)
	mustCreate(t, tr, "/p/b", nil, 0, 3)
	if st := tr.ClientStat(tr.Node("/p")); st.Cversion != 2 || st.NumChildren != 2 {
		t.Fatalf("two creates: %+v", st)
	}
	if err := tr.DeleteNode("/p/a", 4); err != nil {
		t.Fatal(err)
	}
	if st := tr.ClientStat(tr.Node("/p")); st.Cversion != 3 || tr.Node("/p").Stat.Cversion != 2 {
		t.Fatalf("after a delete: client %d, stored %d", st.Cversion, tr.Node("/p").Stat.Cversion)
	}
	if err := tr.DeleteNode("/p/b", 5); err != nil {
		t.Fatal(err)
	}
	if st := tr.ClientStat(tr.Node("/p")); st.Cversion != 4 {
		t.Fatalf("after two deletes: %+v", st)
	}
}

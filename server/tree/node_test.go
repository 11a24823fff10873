package tree

import (
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"testing"
	"unsafe"

	"zkd/wire"
)

// TestNodeData checks that a node keeps null, empty and other data apart,
// and that a Node fills the 96-byte size class (a tree's memory is
// mostly its nodes).
func TestNodeData(t *testing.T) {
	if s := unsafe.Sizeof(Node{}); s != 96 {
		t.Errorf("Node is %d bytes, want 96", s)
	}
	for _, data := range [][]byte{nil, {}, []byte("x"), make([]byte, 1<<20)} {
		n := newNode(data, OpenACLUnsafeID)
		got := n.Data()
		if (got == nil) != (data == nil) || len(got) != len(data) || (len(data) > 0 && &got[0] != &data[0]) {
			t.Errorf("data of %d bytes (nil %v): got %d bytes (nil %v)", len(data), data == nil, len(got), got == nil)
		}
	}
}

// TestChildTable checks the child table against a map through inserts
// and removals that make it grow, shrink, fill with deleted slots, turn
// into a Go map and empty out.
func TestChildTable(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var k childTable
	ref := map[string]*Node{}
	check := func(step int) {
		t.Helper()
		if k.count() != len(ref) {
			t.Fatalf("step %d: count %d, want %d", step, k.count(), len(ref))
		}
		seen := 0
		k.each(func(c *Node) {
			seen++
			if ref[c.name()] != c {
				t.Fatalf("step %d: each gave %q, not in the set", step, c.name())
			}
		})
		if seen != len(ref) {
			t.Fatalf("step %d: each gave %d nodes, want %d", step, seen, len(ref))
		}
	}
	node := func(name string) *Node {
		n := &Node{}
		n.setName(name)
		return n
	}
	// Up past the Go map threshold, down to empty, and churn at sizes
	// around the group boundaries.
	for _, phase := range []struct{ size, steps int }{{10, 2000}, {100, 5000}, {9000, 30000}, {0, 30000}, {60, 20000}, {0, 2000}} {
		for i := range phase.steps {
			name := fmt.Sprintf("n%d", rng.IntN(max(2*phase.size, 16)))
			grow := len(ref) < phase.size || (len(ref) == phase.size && rng.IntN(2) == 0)
			if phase.size == 0 {
				grow = false
			}
			if grow {
				c := node(name)
				added := k.add(c)
				if _, had := ref[name]; added == had {
					t.Fatalf("add %q: %v, had %v", name, added, had)
				}
				if added {
					ref[name] = c
				}
			} else {
				if len(ref) > 0 && rng.IntN(2) == 0 {
					for n := range ref {
						name = n
						break
					}
				}
				got := k.remove(name)
				if got != ref[name] {
					t.Fatalf("remove %q: %p, want %p", name, got, ref[name])
				}
				delete(ref, name)
			}
			if got := k.get(name); got != ref[name] {
				t.Fatalf("get %q: %p, want %p", name, got, ref[name])
			}
			if i%97 == 0 {
				check(i)
			}
		}
		check(-1)
	}
	if k.groups != nil || k.big != nil {
		t.Fatalf("empty table keeps %d groups, map %v", len(k.groups), k.big != nil)
	}
}

// TestLookupPaths checks Node and NodeBytes on paths that are not node
// paths, as ZooKeeper's map lookups answer them.
func TestLookupPaths(t *testing.T) {
	tr := New()
	mustCreate(t, tr, "/a", nil, 0, 1)
	mustCreate(t, tr, "/a/b", nil, 0, 2)
	for _, c := range []struct {
		path string
		want string
	}{
		{"", "/"}, {"/", "/"}, {"/a", "/a"}, {"/a/b", "/a/b"},
		{"a", ""}, {"x", ""}, {"/a/", ""}, {"//a", ""}, {"/a//b", ""}, {"/a/b/", ""}, {"/b", ""}, {"/a/b/c", ""}, {"a/b", ""},
	} {
		var want *Node
		switch c.want {
		case "/":
			want = tr.root
		case "/a":
			want = tr.root.child("a")
		case "/a/b":
			want = tr.root.child("a").child("b")
		}
		if got := tr.Node(c.path); got != want {
			t.Errorf("Node(%q) = %p, want %p", c.path, got, want)
		}
		if got := tr.NodeBytes([]byte(c.path)); got != want {
			t.Errorf("NodeBytes(%q) = %p, want %p", c.path, got, want)
		}
	}
	if err := tr.SetCversionPzxid("", 5, 9); err != nil || tr.root.Stat.Cversion != 5 {
		t.Fatalf("SetCversionPzxid on \"\": %v, cversion %d", err, tr.root.Stat.Cversion)
	}
	if _, err := tr.SetData("", nil, 1, 10, 10); err != wire.ErrNoNode {
		t.Fatalf("SetData on \"\": %v, want NONODE as the node map has no \"\"", err)
	}
}

// zkModel is ZooKeeper's DataTree as it is written: a map of every path
// to its node and a set of child names per node. Deletes do not check
// for children, as a replay's do not.
type zkModel struct {
	nodes map[string]*zkNode
}

type zkNode struct {
	data     []byte
	children map[string]bool
	cversion int32
	pzxid    int64
}

func (m *zkModel) create(path string, data []byte, zxid int64) error {
	parentPath, name := Split(path)
	parent := m.nodes[parentPath]
	if parent == nil {
		return wire.ErrNoNode
	}
	if parent.children[name] {
		return wire.ErrNodeExists
	}
	parent.cversion++
	parent.pzxid = zxid
	parent.children[name] = true
	m.nodes[path] = &zkNode{data: data, children: map[string]bool{}, pzxid: zxid}
	return nil
}

func (m *zkModel) delete(path string, zxid int64) error {
	parentPath, name := Split(path)
	parent := m.nodes[parentPath]
	if parent == nil {
		return wire.ErrNoNode
	}
	delete(parent.children, name)
	parent.pzxid = max(parent.pzxid, zxid)
	if m.nodes[path] == nil {
		return wire.ErrNoNode
	}
	delete(m.nodes, path)
	return nil
}

// TestOrphans runs random creates, deletes of nodes with children (as
// only a fuzzy-snapshot replay does) and setData on the tree and on
// zkModel, and compares every path after each step: the node map,
// including the orphans such deletes leave, children, counts and the
// digest.
func TestOrphans(t *testing.T) {
	var universe []string
	var gen func(prefix string, depth int)
	gen = func(prefix string, depth int) {
		for _, c := range []string{"a", "b", "c"} {
			p := prefix + "/" + c
			universe = append(universe, p)
			if depth < 3 {
				gen(p, depth+1)
			}
		}
	}
	gen("", 1)
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 7))
		tr := newEmpty()
		tr.root = newNode([]byte{}, 0)
		tr.putNode("/", tr.root)
		m := &zkModel{nodes: map[string]*zkNode{"/": {data: []byte{}, children: map[string]bool{}}}}
		var history []string
		for step := range 3000 {
			zxid := int64(step + 1)
			p := universe[rng.IntN(len(universe))]
			var got, want error
			op := rng.IntN(10)
			if os.Getenv("ZKD_TEST_HISTORY") != "" {
				history = append(history, fmt.Sprintf("step %d op %d %s; ", step, op, p))
				t.Log(history[len(history)-1])
			}
			switch {
			case op < 5:
				data := []byte(fmt.Sprint(step))
				_, got = tr.CreateNode(p, data, OpenACLUnsafe, 0, -1, zxid, zxid)
				want = m.create(p, data, zxid)
			case op < 8:
				got = tr.DeleteNode(p, zxid)
				want = m.delete(p, zxid)
			default:
				data := []byte(fmt.Sprint("set", step))
				_, got = tr.SetData(p, data, 1, zxid, zxid)
				want = nil
				if n := m.nodes[p]; n != nil {
					n.data = data
				} else {
					want = wire.ErrNoNode
				}
			}
			if got != want {
				t.Fatalf("seed %d step %d op %d %s: %v, model %v", seed, step, op, p, got, want)
			}
			if tr.NodeCount() != len(m.nodes) {
				var mp []string
				for q := range m.nodes {
					mp = append(mp, q)
				}
				var tp []string
				for q := range allNodes(tr) {
					tp = append(tp, q)
				}
				t.Fatalf("seed %d step %d: %d nodes, model %d: %q vs %q, got %v", seed, step, tr.NodeCount(), len(m.nodes), sorted(tp), sorted(mp), got)
			}
			var digest uint64
			for _, q := range append([]string{"/"}, universe...) {
				mn, n := m.nodes[q], tr.Node(q)
				if (mn == nil) != (n == nil) {
					t.Fatalf("seed %d step %d: %s is %p, model has it: %v", seed, step, q, n, mn != nil)
				}
				if n == nil {
					continue
				}
				if string(n.Data()) != string(mn.data) || n.Stat.Pzxid != mn.pzxid {
					t.Fatalf("seed %d step %d: %s data %q pzxid %d, model %q %d", seed, step, q, n.Data(), n.Stat.Pzxid, mn.data, mn.pzxid)
				}
				var names []string
				for c := range mn.children {
					names = append(names, c)
				}
				if !slices.Equal(sorted(n.ChildNames()), sorted(names)) {
					t.Fatalf("seed %d step %d: %s children %q, model %q", seed, step, q, sorted(n.ChildNames()), sorted(names))
				}
				digest += uint64(NodeDigest(q, n.Data(), &n.Stat))
			}
			if tr.Digest() != int64(digest) {
				t.Fatalf("seed %d step %d: digest %d, of the model's nodes %d", seed, step, tr.Digest(), int64(digest))
			}
			if got := len(allNodes(tr)); got != len(m.nodes) {
				t.Fatalf("seed %d step %d: all() has %d nodes, model %d", seed, step, got, len(m.nodes))
			}
		}
	}
}

// TestPackedNameData checks that a leaf with small data keeps its name
// and data in one allocation through create and setData, that a node
// whose name moves to its child table stops sharing it, and that large,
// empty and null data stay apart from the name.
func TestPackedNameData(t *testing.T) {
	packed := func(n *Node) bool {
		d := n.Data()
		name := n.name()
		// As integers: a pointer past the end of a separate name is
		// invalid (checkptr rejects it under -race).
		end := uintptr(unsafe.Pointer(unsafe.StringData(name))) + uintptr(len(name))
		return len(d) > 0 && end == uintptr(unsafe.Pointer(&d[0]))
	}
	tr := New()
	small := []byte("0123456789")
	for _, c := range []struct {
		path string
		data []byte
		want bool
	}{
		{"/a", small, true},
		{"/b", nil, false},
		{"/c", []byte{}, false},
		{"/d", make([]byte, maxPacked+1), false},
		{"/e-with-a-name-longer-than-the-ext-buffer", small, true},
	} {
		n, err := tr.CreateNode(c.path, c.data, OpenACLUnsafe, 0, -1, 1, 1)
		if err != nil {
			t.Fatal(err)
		}
		if packed(n) != c.want || string(n.Data()) != string(c.data) || "/"+n.name() != c.path {
			t.Errorf("create %s (%d bytes): packed %v, want %v; name %q", c.path, len(c.data), packed(n), c.want, n.name())
		}
		n, err = tr.SetData(c.path, []byte("new data"), 1, 2, 2)
		if err != nil {
			t.Fatal(err)
		}
		if !packed(n) || string(n.Data()) != "new data" || "/"+n.name() != c.path {
			t.Errorf("setData %s: packed %v; name %q data %q", c.path, packed(n), n.name(), n.Data())
		}
		if tr.Node(c.path) != n {
			t.Errorf("setData %s: lookup no longer finds the node", c.path)
		}
	}
	// A child moves the parent's name out of the shared allocation; its
	// data then changes alone.
	const p = "/e-with-a-name-longer-than-the-ext-buffer"
	if _, err := tr.CreateNode(p+"/kid", small, OpenACLUnsafe, 0, -1, 3, 3); err != nil {
		t.Fatal(err)
	}
	if packed(tr.Node(p)) {
		t.Errorf("parent: the name still shares the data's allocation once the node has a child")
	}
	n, err := tr.SetData(p, []byte("newer"), 2, 4, 4)
	if err != nil {
		t.Fatal(err)
	}
	if packed(n) || n.name() != p[1:] || tr.Node(p+"/kid") == nil {
		t.Errorf("parent: packed %v, name %q", packed(n), n.name())
	}
}

package tree

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"zkd/jute"
	"zkd/wire"
)

// canonical reports whether every node of a tree read from a snapshot
// sits at a path Split and Join map back to itself, linked from an
// existing parent: ReadSnapshot refuses streams that break this.
func canonical(t *DataTree) bool {
	for p := range allNodes(t) {
		if p == "/" {
			continue
		}
		parent, name := Split(p)
		if name == "" || !strings.HasPrefix(p, "/") || Join(parent, name) != p {
			return false
		}
		if pn := t.Node(parent); pn == nil || !pn.HasChild(name) {
			return false
		}
	}
	for p, n := range allNodes(t) {
		for _, c := range n.ChildNames() {
			if t.Node(Join(p, c)) == nil {
				return false
			}
		}
	}
	return true
}

func FuzzReadSnapshot(f *testing.F) {
	for seed := range uint64(4) {
		tr := New()
		tr.ExtendedTypes = true
		newGen(seed, tr).apply(f, 40)
		b, _ := writeSnapshot(f, tr)
		f.Add(b)
	}
	if b, err := os.ReadFile(filepath.Join("testdata", "zk38", "snapshot.1e")); err == nil && len(b) > 16 {
		f.Add(b[16:])
	}
	f.Add(header(1, 1).node("", -1).node("/a", 1).node("/a/b", 9).end())
	f.Add(header(0, 0).node("", -1).end())
	f.Fuzz(func(t *testing.T, in []byte) {
		s := jute.NewStream(bytes.NewReader(in), 1<<20)
		tr, err := ReadSnapshot(s)
		if err != nil {
			return
		}
		if tr.NodeCount() > len(in)/16 || len(tr.Sessions) > len(in)/12 {
			t.Fatalf("%d nodes, %d sessions from %d bytes", tr.NodeCount(), len(tr.Sessions), len(in))
		}
		if !canonical(tr) {
			t.Fatal("a tree with non-canonical paths or broken links was accepted")
		}
		tr.ExtendedTypes = true
		tr.Finish()
		if tr.DanglingACLs == 0 {
			if errs := invariantErrors(tr); len(errs) > 0 {
				t.Fatalf("tree invariants:\n%s", strings.Join(errs, "\n"))
			}
		} else if tr.Digest() != recomputeDigest(tr) {
			t.Fatal("digest after Finish")
		}
		b, _ := writeSnapshot(t, tr)
		back := readSnapshot(t, b, tr)
		if d := diffTrees(back, tr); len(d) > 0 {
			t.Fatalf("round trip:\n%s", strings.Join(d, "\n"))
		}
	})
}

// FuzzProcessTxn applies decoded txns to a small tree: nothing may
// panic, and txns whose paths are canonical must keep the digest and
// the parent links consistent.
func FuzzProcessTxn(f *testing.F) {
	base := New()
	base.ExtendedTypes = true
	g := newGen(1, base)
	for _, x := range g.apply(f, 60) {
		f.Add(jute.Marshal(x))
	}
	if b, err := os.ReadFile(filepath.Join("testdata", "zk38", "txns.bin")); err == nil {
		d := jute.NewDecoder(b)
		for d.Remaining() > 0 && d.Err() == nil {
			f.Add(d.Buffer())
		}
	}
	seedTree, _ := writeSnapshot(f, base)
	f.Fuzz(func(t *testing.T, in []byte) {
		x, err := wire.DecodeTxn(in)
		if err != nil || !canonicalPaths(&x) {
			return
		}
		tr := readSnapshot(t, seedTree, base)
		tr.ProcessTxn(&x)
		if tr.Digest() != recomputeDigest(tr) {
			// Deleting a node with children leaves them in the node map
			// (and the digest) for a replay to create again, as
			// ZooKeeper does; anything else is new.
			if x.Type() != wire.OpDelete && x.Type() != wire.OpDeleteContainer && x.Type() != wire.OpMulti &&
				x.Type() != wire.OpCloseSession {
				t.Fatalf("digest drift after %v", x.Type())
			}
		}
	})
}

// canonicalPaths reports whether every path the txn names is a valid
// ZooKeeper path other than the root: the tree trusts prep for that.
func canonicalPaths(x *wire.Txn) bool {
	ok := func(p string) bool { return p != "/" && ValidatePath(p, false) == nil }
	var check func(typ wire.OpCode, rec jute.Record) bool
	check = func(typ wire.OpCode, rec jute.Record) bool {
		switch r := rec.(type) {
		case *jute.CreateTxn:
			return ok(r.Path)
		case *jute.CreateTTLTxn:
			return ok(r.Path)
		case *jute.CreateContainerTxn:
			return ok(r.Path)
		case *jute.DeleteTxn:
			return ok(r.Path)
		case *jute.SetDataTxn:
			return ValidatePath(r.Path, false) == nil
		case *jute.SetACLTxn:
			return ValidatePath(r.Path, false) == nil
		case *jute.CheckVersionTxn:
			return ValidatePath(r.Path, false) == nil
		case *jute.CloseSessionTxn:
			for _, p := range r.Paths2Delete {
				if !ok(p) {
					return false
				}
			}
		case *jute.MultiTxn:
			for _, s := range r.Txns {
				sr, known := TxnRecordForMulti(wire.OpCode(s.Type))
				if !known || jute.Unmarshal(s.Data, sr) != nil {
					continue
				}
				if !check(wire.OpCode(s.Type), sr) {
					return false
				}
			}
		}
		return true
	}
	return check(x.Type(), x.Record)
}

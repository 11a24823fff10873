package persistence

import (
	"bytes"
	"fmt"
	"hash/adler32"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"zkd/jute"
	"zkd/server/tree"
	"zkd/wire"
)

var (
	worldAll   = []jute.ACL{{Perms: wire.PermAll, ID: jute.Id{Scheme: "world", ID: "anyone"}}}
	digestACL  = []jute.ACL{{Perms: wire.PermAll, ID: jute.Id{Scheme: "digest", ID: "bob:0bKdDQ3sOWuGMC6NhKgTb7e+4QA="}}}
	mixedACL   = []jute.ACL{{Perms: wire.PermRead, ID: jute.Id{Scheme: "world", ID: "anyone"}}, {Perms: wire.PermAll, ID: jute.Id{Scheme: "ip", ID: "127.0.0.1"}}}
	testLogger = zerolog.Nop()
)

// txnGen produces a stream of txns that apply cleanly, applying each to
// its own tree so the expected state is always at hand.
type txnGen struct {
	t        *tree.DataTree
	zxid     int64
	now      int64
	rnd      *rand.Rand
	sessions []int64
	nextSess int64
	paths    []string // persistent nodes that may get children
	// digests adds a TxnDigest to each txn but errors, as ZooKeeper does.
	digests bool
}

func newGen(seed int64) *txnGen {
	t := tree.New()
	t.ExtendedTypes = true
	return &txnGen{t: t, now: 1_700_000_000_000, rnd: rand.New(rand.NewSource(seed)), nextSess: 0x1000000000000, paths: []string{"/"}, digests: true}
}

func (g *txnGen) header(typ wire.OpCode, session int64) jute.TxnHeader {
	g.zxid++
	g.now += int64(g.rnd.Intn(5))
	return jute.TxnHeader{ClientID: session, Cxid: int32(g.rnd.Intn(1000)), Zxid: g.zxid, Time: g.now, Type: int32(typ)}
}

func (g *txnGen) apply(txn *wire.Txn) *wire.Txn {
	r := g.t.ProcessTxn(txn)
	if r.Err == wire.ErrOK && txn.Type() != wire.OpError {
		if g.digests {
			txn.Digest = &jute.TxnDigest{Version: wire.DigestVersion, TreeDigest: g.t.Digest()}
		}
		if txn.Type() == wire.OpCreate || txn.Type() == wire.OpCreate2 {
			if c := txn.Record.(*jute.CreateTxn); !c.Ephemeral {
				g.paths = append(g.paths, c.Path)
			}
		}
	}
	return txn
}

func (g *txnGen) pick() string { return g.paths[g.rnd.Intn(len(g.paths))] }

func (g *txnGen) child(parent string) string {
	return tree.Join(parent, fmt.Sprintf("n%d", g.zxid+1))
}

func (g *txnGen) pcv(parent string) int32 { return g.t.Node(parent).Stat.Cversion + 1 }

func (g *txnGen) session() int64 {
	if len(g.sessions) == 0 {
		return 0
	}
	return g.sessions[g.rnd.Intn(len(g.sessions))]
}

// next returns the next txn, already applied to g.t.
func (g *txnGen) next() *wire.Txn {
	for {
		switch k := g.rnd.Intn(100); {
		case k < 5 || len(g.sessions) == 0:
			g.nextSess++
			h := g.header(wire.OpCreateSession, g.nextSess)
			g.sessions = append(g.sessions, g.nextSess)
			return g.apply(&wire.Txn{Header: h, Record: &jute.CreateSessionTxn{TimeOut: int32(4000 + g.rnd.Intn(20000))}})
		case k < 8 && len(g.sessions) > 1:
			i := g.rnd.Intn(len(g.sessions))
			s := g.sessions[i]
			g.sessions = append(g.sessions[:i], g.sessions[i+1:]...)
			h := g.header(wire.OpCloseSession, s)
			eph := g.t.Ephemerals(s)
			sort.Strings(eph)
			return g.apply(&wire.Txn{Header: h, Record: &jute.CloseSessionTxn{Paths2Delete: eph}})
		case k < 40:
			parent := g.pick()
			p := g.child(parent)
			data := make([]byte, g.rnd.Intn(64))
			g.rnd.Read(data)
			acl := worldAll
			switch g.rnd.Intn(4) {
			case 0:
				acl = digestACL
			case 1:
				acl = mixedACL
			}
			typ := wire.OpCreate
			if g.rnd.Intn(2) == 0 {
				typ = wire.OpCreate2
			}
			s := g.session()
			eph := g.rnd.Intn(5) == 0 && s != 0
			if !eph {
				s = 0
			}
			pcv := g.pcv(parent)
			h := g.header(typ, s)
			return g.apply(&wire.Txn{Header: h, Record: &jute.CreateTxn{Path: p, Data: data, ACL: acl, Ephemeral: eph, ParentCVersion: pcv}})
		case k < 45:
			parent := g.pick()
			p := g.child(parent)
			pcv := g.pcv(parent)
			h := g.header(wire.OpCreateTTL, 0)
			g.paths = append(g.paths, p)
			return g.apply(&wire.Txn{Header: h, Record: &jute.CreateTTLTxn{Path: p, Data: []byte("ttl"), ACL: worldAll, ParentCVersion: pcv, TTL: int64(1000 + g.rnd.Intn(100000))}})
		case k < 50:
			parent := g.pick()
			p := g.child(parent)
			pcv := g.pcv(parent)
			h := g.header(wire.OpCreateContainer, 0)
			g.paths = append(g.paths, p)
			return g.apply(&wire.Txn{Header: h, Record: &jute.CreateContainerTxn{Path: p, Data: nil, ACL: worldAll, ParentCVersion: pcv}})
		case k < 70:
			p := g.pick()
			n := g.t.Node(p)
			if n == nil || p == "/" {
				continue
			}
			data := []byte(fmt.Sprintf("v%d", g.zxid))
			h := g.header(wire.OpSetData, g.session())
			return g.apply(&wire.Txn{Header: h, Record: &jute.SetDataTxn{Path: p, Data: data, Version: n.Stat.Version + 1}})
		case k < 75:
			p := g.pick()
			n := g.t.Node(p)
			if n == nil {
				continue
			}
			acl := mixedACL
			if g.rnd.Intn(2) == 0 {
				acl = worldAll
			}
			h := g.header(wire.OpSetACL, g.session())
			return g.apply(&wire.Txn{Header: h, Record: &jute.SetACLTxn{Path: p, ACL: acl, Version: n.Stat.Aversion + 1}})
		case k < 85:
			// Delete a leaf.
			i := g.rnd.Intn(len(g.paths))
			p := g.paths[i]
			n := g.t.Node(p)
			if p == "/" || n == nil || n.NumChildren() > 0 {
				continue
			}
			g.paths = append(g.paths[:i], g.paths[i+1:]...)
			typ := wire.OpDelete
			if g.rnd.Intn(4) == 0 {
				typ = wire.OpDeleteContainer
			}
			h := g.header(typ, g.session())
			return g.apply(&wire.Txn{Header: h, Record: &jute.DeleteTxn{Path: p}})
		case k < 90:
			h := g.header(wire.OpError, g.session())
			return g.apply(&wire.Txn{Header: h, Record: &jute.ErrorTxn{Err: int32(wire.ErrNodeExists)}})
		default:
			// A multi: create a node and set its data.
			parent := g.pick()
			p := g.child(parent)
			c := jute.Marshal(&jute.CreateTxn{Path: p, Data: []byte("m"), ACL: worldAll, ParentCVersion: g.pcv(parent)})
			sd := jute.Marshal(&jute.SetDataTxn{Path: p, Data: []byte("m2"), Version: 1})
			h := g.header(wire.OpMulti, g.session())
			g.paths = append(g.paths, p)
			return g.apply(&wire.Txn{Header: h, Record: &jute.MultiTxn{Txns: []jute.Txn{{Type: int32(wire.OpCreate), Data: c}, {Type: int32(wire.OpSetData), Data: sd}}}})
		}
	}
}

// diffTrees describes the first differences between two trees, "" when
// they are equal (nodes, data, stats, ACLs, sessions, digest).
func diffTrees(a, b *tree.DataTree) string {
	var out []string
	add := func(f string, args ...any) {
		if len(out) < 10 {
			out = append(out, fmt.Sprintf(f, args...))
		}
	}
	seen := map[string]bool{}
	a.Walk(func(p string, n *tree.Node) bool {
		seen[p] = true
		m := b.Node(p)
		if m == nil {
			add("%s missing in second", p)
			return true
		}
		if !bytes.Equal(n.Data(), m.Data()) {
			add("%s data %q != %q", p, n.Data(), m.Data())
		}
		if n.Stat != m.Stat {
			add("%s stat %+v != %+v", p, n.Stat, m.Stat)
		}
		if fmt.Sprint(a.ACLOf(n)) != fmt.Sprint(b.ACLOf(m)) {
			add("%s acl %v != %v", p, a.ACLOf(n), b.ACLOf(m))
		}
		if n.NumChildren() != m.NumChildren() {
			add("%s children %d != %d", p, n.NumChildren(), m.NumChildren())
		}
		return true
	})
	b.Walk(func(p string, n *tree.Node) bool {
		if !seen[p] {
			add("%s missing in first", p)
		}
		return true
	})
	if a.NodeCount() != b.NodeCount() {
		add("node count %d != %d", a.NodeCount(), b.NodeCount())
	}
	if fmt.Sprint(a.Sessions) != fmt.Sprint(b.Sessions) {
		add("sessions %v != %v", a.Sessions, b.Sessions)
	}
	if a.EphemeralCount() != b.EphemeralCount() {
		add("ephemerals %d != %d", a.EphemeralCount(), b.EphemeralCount())
	}
	if a.Digest() != b.Digest() {
		add("digest %d != %d", a.Digest(), b.Digest())
	}
	return strings.Join(out, "\n")
}

// testOptions are store options for a temp dir, without fsync.
func testOptions(t testing.TB) Options {
	dir := t.TempDir()
	o := DefaultOptions(dir, dir)
	o.ForceSync = false
	o.ExtendedTypes = true // the generator makes TTL nodes
	o.Log = testLogger
	return o
}

func writeTxns(t testing.TB, w *TxnLogWriter, txns []*wire.Txn) {
	t.Helper()
	for _, x := range txns {
		if err := w.Append(x); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
}

func logFileNames(t testing.TB, dir string) []string {
	t.Helper()
	files, err := listFiles(dir, LogPrefix, false)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range files {
		out = append(out, filepath.Base(f.Path))
	}
	return out
}

func fileSize(t testing.TB, p string) int64 {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// noLock is a lock for trees only one goroutine touches.
type noLock struct{}

func (noLock) Lock()   {}
func (noLock) Unlock() {}

func adler32Of(b []byte) uint32 { return adler32.Checksum(b) }

// openRestored opens a store on o and restores its database.
func openRestored(tb testing.TB, o Options) (*Store, *tree.DataTree) {
	tb.Helper()
	st, err := Open(o)
	if err != nil {
		tb.Fatal(err)
	}
	tr, err := st.Restore()
	if err != nil {
		tb.Fatal(err)
	}
	return st, tr
}

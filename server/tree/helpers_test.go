package tree

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"zkd/jute"
	"zkd/wire"
)

// skipBug marks a test that fails because of a known bug in non-test
// code. Set ZKD_RUN_BUGS=1 to run such tests anyway and see them fail.
func skipBug(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv("ZKD_RUN_BUGS") == "" {
		t.Skip("BUG: " + msg)
	}
}

var (
	worldRead = []jute.ACL{{Perms: wire.PermRead, ID: jute.Id{Scheme: "world", ID: "anyone"}}}
	digestACL = []jute.ACL{{Perms: wire.PermAll, ID: jute.Id{Scheme: "digest", ID: "user:smGaoVKd/cQkjm7b88GyorAUz20="}}}
	mixedACL  = []jute.ACL{
		{Perms: wire.PermRead | wire.PermWrite, ID: jute.Id{Scheme: "world", ID: "anyone"}},
		{Perms: wire.PermAll, ID: jute.Id{Scheme: "ip", ID: "127.0.0.1"}},
	}
)

// txn builds a wire.Txn.
func txn(typ wire.OpCode, session int64, zxid int64, rec jute.Record) *wire.Txn {
	return &wire.Txn{Header: jute.TxnHeader{ClientID: session, Cxid: int32(zxid), Zxid: zxid, Time: zxid * 1000, Type: int32(typ)}, Record: rec}
}

// recomputeDigest walks every node from the root and sums NodeDigest
// from scratch, as a tree loaded from a snapshot would.
func recomputeDigest(t *DataTree) int64 {
	var sum uint64
	t.Walk(func(p string, n *Node) bool {
		sum += uint64(NodeDigest(p, n.Data(), &n.Stat))
		return true
	})
	return int64(sum)
}

// checkInvariants checks a tree's internal consistency: the digest, the
// parent/child links, the owner indexes, the ACL reference counts and
// the quota stats.
func checkInvariants(tb testing.TB, t *DataTree) {
	tb.Helper()
	if errs := invariantErrors(t); len(errs) > 0 {
		tb.Fatalf("tree invariants:\n%s", strings.Join(errs, "\n"))
	}
}

// invariantErrors lists the broken invariants of a tree.
func invariantErrors(t *DataTree) []string {
	var errs []string
	fail := func(f string, a ...any) { errs = append(errs, fmt.Sprintf(f, a...)) }

	if got, want := t.Digest(), recomputeDigest(t); got != want {
		fail("digest %d, recomputed %d", got, want)
	}
	walked := 0
	t.Walk(func(p string, n *Node) bool { walked++; return true })
	if walked != t.NodeCount() {
		fail("walk reaches %d of %d nodes", walked, t.NodeCount())
	}
	for p, n := range allNodes(t) {
		for _, c := range n.ChildNames() {
			if t.Node(Join(p, c)) == nil {
				fail("%s: child %q missing", p, c)
			}
		}
		if p == "/" {
			continue
		}
		parent := t.Node(Parent(p))
		if parent == nil || !parent.HasChild(p[strings.LastIndexByte(p, '/')+1:]) {
			fail("%s: not linked from its parent", p)
		}
	}
	// Owner indexes.
	eph := map[int64][]string{}
	var ctr, ttl []string
	for p, n := range allNodes(t) {
		switch t.OwnerType(n.Stat.EphemeralOwner) {
		case EphemeralNormal:
			eph[n.Stat.EphemeralOwner] = append(eph[n.Stat.EphemeralOwner], p)
		case EphemeralContainer:
			ctr = append(ctr, p)
		case EphemeralTTL:
			ttl = append(ttl, p)
		}
	}
	for s, paths := range eph {
		if got := sorted(t.Ephemerals(s)); !slices.Equal(got, sorted(paths)) {
			fail("ephemerals of %x: index %q, nodes %q", s, got, sorted(paths))
		}
	}
	if len(t.ephemerals) != len(eph) {
		fail("ephemeral index has %d sessions, nodes %d", len(t.ephemerals), len(eph))
	}
	if got := sorted(t.Containers()); !slices.Equal(got, sorted(ctr)) {
		fail("containers: index %q, nodes %q", got, sorted(ctr))
	}
	if got := sorted(t.TTLs()); !slices.Equal(got, sorted(ttl)) {
		fail("ttls: index %q, nodes %q", got, sorted(ttl))
	}
	// ACL references: one per node using an interned id.
	refs := map[int64]int64{}
	for _, n := range allNodes(t) {
		if n.ACL != OpenACLUnsafeID {
			refs[n.ACL]++
		}
	}
	for id, c := range refs {
		if t.ACLs.refs[id] != c {
			fail("ACL %d: %d references counted, %d nodes use it", id, t.ACLs.refs[id], c)
		}
		if _, ok := t.ACLs.byID[id]; !ok {
			fail("ACL %d used by %d nodes is not in the table", id, c)
		}
	}
	for id := range t.ACLs.byID {
		if refs[id] == 0 {
			fail("ACL %d is in the table but unused", id)
		}
		if id >= t.ACLs.nextID {
			fail("ACL %d >= nextID %d", id, t.ACLs.nextID)
		}
	}
	if len(t.ACLs.byKey) != len(t.ACLs.byID) {
		fail("ACL key index has %d entries, table %d", len(t.ACLs.byKey), len(t.ACLs.byID))
	}
	for k, id := range t.ACLs.byKey {
		if aclKey(t.ACLs.byID[id]) != k {
			fail("ACL key of %d is stale", id)
		}
	}
	// Quotas: each stats node matches a recount of its subtree.
	for q := range t.quotas {
		stats := t.QuotaStats(q)
		if stats == nil {
			continue
		}
		var count, bytes int64
		if root := t.Node(q); root != nil {
			t.walk(q, root, func(_ string, n *Node) bool { count++; bytes += int64(len(n.Data())); return true })
		}
		if stats.Get("count") != count || stats.Get("bytes") != bytes {
			fail("quota %s: stats %v, subtree count=%d bytes=%d", q, stats, count, bytes)
		}
	}
	sort.Strings(errs)
	if len(errs) > 20 {
		errs = append(errs[:20], fmt.Sprintf("... and %d more", len(errs)-20))
	}
	return errs
}

// requireReplayedTree checks a tree restored from a fuzzy snapshot
// against the live one: everything must match, and the restored tree
// must be consistent.
func requireReplayedTree(tb testing.TB, read, live *DataTree) {
	tb.Helper()
	errs := append(diffTrees(read, live), invariantErrors(read)...)
	if len(errs) > 0 {
		tb.Fatalf("restored tree differs from the live tree:\n%s", strings.Join(errs, "\n"))
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// diffTrees lists how two trees differ in anything a client or a
// snapshot could see: nodes, data (null vs empty too), stats, ACL lists,
// children, owner indexes, sessions, digests and quota state.
func diffTrees(a, b *DataTree) []string {
	var out []string
	add := func(f string, x ...any) {
		if len(out) < 30 {
			out = append(out, fmt.Sprintf(f, x...))
		}
	}
	for p, na := range allNodes(a) {
		nb := b.Node(p)
		if nb == nil {
			add("%s: only in the first tree", p)
			continue
		}
		if !bytes.Equal(na.Data(), nb.Data()) || (na.Data() == nil) != (nb.Data() == nil) {
			add("%s: data %q vs %q", p, na.Data(), nb.Data())
		}
		if na.Stat != nb.Stat {
			add("%s: stat\n  %+v\n  %+v", p, na.Stat, nb.Stat)
		}
		if !reflect.DeepEqual(a.ACLs.ACLs(na.ACL), b.ACLs.ACLs(nb.ACL)) {
			add("%s: acl %v vs %v", p, a.ACLs.ACLs(na.ACL), b.ACLs.ACLs(nb.ACL))
		}
		if !slices.Equal(sorted(na.ChildNames()), sorted(nb.ChildNames())) {
			add("%s: children %q vs %q", p, sorted(na.ChildNames()), sorted(nb.ChildNames()))
		}
	}
	for p := range allNodes(b) {
		if a.Node(p) == nil {
			add("%s: only in the second tree", p)
		}
	}
	if !reflect.DeepEqual(a.Sessions, b.Sessions) {
		add("sessions %v vs %v", a.Sessions, b.Sessions)
	}
	if a.Digest() != b.Digest() {
		add("digest %d vs %d", a.Digest(), b.Digest())
	}
	if !slices.Equal(sorted(a.Containers()), sorted(b.Containers())) {
		add("containers %q vs %q", sorted(a.Containers()), sorted(b.Containers()))
	}
	if !slices.Equal(sorted(a.TTLs()), sorted(b.TTLs())) {
		add("ttls %q vs %q", sorted(a.TTLs()), sorted(b.TTLs()))
	}
	for _, s := range a.EphemeralSessions() {
		if !slices.Equal(sorted(a.Ephemerals(s)), sorted(b.Ephemerals(s))) {
			add("ephemerals of %x: %q vs %q", s, sorted(a.Ephemerals(s)), sorted(b.Ephemerals(s)))
		}
	}
	if len(a.EphemeralSessions()) != len(b.EphemeralSessions()) {
		add("%d vs %d sessions own ephemerals", len(a.EphemeralSessions()), len(b.EphemeralSessions()))
	}
	if !reflect.DeepEqual(a.quotas, b.quotas) && !(len(a.quotas) == 0 && len(b.quotas) == 0) {
		add("quotas %v vs %v", a.quotas, b.quotas)
	}
	return out
}

func requireSameTree(tb testing.TB, got, want *DataTree) {
	tb.Helper()
	if d := diffTrees(got, want); len(d) > 0 {
		tb.Fatalf("trees differ:\n%s", strings.Join(d, "\n"))
	}
}

// gen produces random valid txns against the current state of a tree,
// as the prep stage would: creates (every mode, sequential names, error
// txns for existing nodes), deletes, setData, setACL (often to brand new
// ACL lists), sessions with ephemerals, multis (successful and failed),
// quotas, and a few hot paths that are deleted and created again.
type gen struct {
	rng      *rand.Rand
	t        *DataTree
	zxid     int64
	sessions []int64
	nextSess int64
	aclN     int
	// noQuota leaves quotas out of the mix.
	noQuota bool
}

func newGen(seed uint64, t *DataTree) *gen {
	return &gen{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), t: t, zxid: t.LastProcessedZxid,
		nextSess: 0x0100003fd8750000}
}

var hotNames = []string{"hot", "lock", "leader", "e", "x"}

func (g *gen) pickACL() []jute.ACL {
	switch g.rng.IntN(6) {
	case 0:
		return OpenACLUnsafe
	case 1:
		return worldRead
	case 2:
		return digestACL
	case 3:
		return mixedACL
	case 4:
		// A list never seen before: a new cache entry.
		g.aclN++
		return []jute.ACL{{Perms: wire.PermAll, ID: jute.Id{Scheme: "digest", ID: fmt.Sprintf("u%d:x", g.aclN)}}}
	}
	return nil // null: OPEN_ACL_UNSAFE's id
}

func (g *gen) data() []byte {
	switch g.rng.IntN(5) {
	case 0:
		return nil
	case 1:
		return []byte{}
	}
	b := make([]byte, g.rng.IntN(40))
	for i := range b {
		b[i] = byte(g.rng.IntN(256))
	}
	return b
}

// randomNode walks down from the root to a random node. System nodes
// are left out unless system is set.
func (g *gen) randomNode(system bool) (string, *Node) {
	p, n := "/", g.t.Node("/")
	for {
		names := sorted(n.ChildNames())
		if !system && p == "/" {
			names = slices.DeleteFunc(names, func(s string) bool { return s == "zookeeper" })
		}
		if len(names) == 0 || g.rng.IntN(4) == 0 {
			return p, n
		}
		c := Join(p, names[g.rng.IntN(len(names))])
		p, n = c, g.t.Node(c)
	}
}

func (g *gen) session() int64 {
	if len(g.sessions) == 0 {
		return 0
	}
	return g.sessions[g.rng.IntN(len(g.sessions))]
}

// canHaveChildren: ephemerals cannot.
func (g *gen) canHaveChildren(n *Node) bool {
	return g.t.OwnerType(n.Stat.EphemeralOwner) != EphemeralNormal
}

// createTxn builds a create of a new child of parent; pcvBump is the
// number of creates already queued under parent in the same multi.
func (g *gen) createTxn(parent string, pn *Node, name string, pcvBump int32) (wire.OpCode, jute.Record, string) {
	pcv := pn.Stat.Cversion + 1 + pcvBump
	mode := g.rng.IntN(10)
	if mode == 2 || mode == 3 {
		name += fmt.Sprintf("%010d", pcv-1)
	}
	path := Join(parent, name)
	data, acl := g.data(), g.pickACL()
	switch {
	case mode == 1 || mode == 3:
		if s := g.session(); s != 0 {
			return wire.OpCreate, &jute.CreateTxn{Path: path, Data: data, ACL: acl, Ephemeral: true, ParentCVersion: pcv}, path
		}
	case mode == 4:
		return wire.OpCreateContainer, &jute.CreateContainerTxn{Path: path, Data: data, ACL: acl, ParentCVersion: pcv}, path
	case mode == 5 && g.t.ExtendedTypes:
		return wire.OpCreateTTL, &jute.CreateTTLTxn{Path: path, Data: data, ACL: acl, ParentCVersion: pcv, TTL: 1 + g.rng.Int64N(1<<40-1)}, path
	}
	typ := wire.OpCreate
	if g.rng.IntN(2) == 0 {
		typ = wire.OpCreate2
	}
	return typ, &jute.CreateTxn{Path: path, Data: data, ACL: acl, ParentCVersion: pcv}, path
}

func (g *gen) childName() string {
	if g.rng.IntN(3) == 0 {
		return hotNames[g.rng.IntN(len(hotNames))]
	}
	return fmt.Sprintf("n%d", g.rng.IntN(1000))
}

// next returns the next txn; the caller applies it to the tree.
func (g *gen) next() *wire.Txn {
	g.zxid++
	z := g.zxid
	for {
		switch op := g.rng.IntN(100); {
		case op < 4 && len(g.sessions) < 6:
			g.nextSess++
			g.sessions = append(g.sessions, g.nextSess)
			return txn(wire.OpCreateSession, g.nextSess, z, &jute.CreateSessionTxn{TimeOut: 30000})
		case op < 7 && len(g.sessions) > 0:
			i := g.rng.IntN(len(g.sessions))
			s := g.sessions[i]
			g.sessions = slices.Delete(g.sessions, i, i+1)
			return txn(wire.OpCloseSession, s, z, &jute.CloseSessionTxn{Paths2Delete: sorted(g.t.Ephemerals(s))})
		case op < 45:
			parent, pn := g.randomNode(false)
			if !g.canHaveChildren(pn) {
				continue
			}
			name := g.childName()
			if pn.HasChild(name) {
				return txn(wire.OpError, g.session(), z, &jute.ErrorTxn{Err: int32(wire.ErrNodeExists)})
			}
			typ, rec, _ := g.createTxn(parent, pn, name, 0)
			owner := g.session()
			if c, ok := rec.(*jute.CreateTxn); ok && c.Ephemeral {
				owner = g.session()
				if owner == 0 {
					continue
				}
			}
			return txn(typ, owner, z, rec)
		case op < 65:
			p, n := g.randomNode(false)
			if p == "/" || n.NumChildren() > 0 {
				continue
			}
			typ := wire.OpDelete
			if g.t.OwnerType(n.Stat.EphemeralOwner) == EphemeralContainer && g.rng.IntN(2) == 0 {
				typ = wire.OpDeleteContainer
			}
			return txn(typ, g.session(), z, &jute.DeleteTxn{Path: p})
		case op < 78:
			p, n := g.randomNode(g.rng.IntN(10) == 0)
			if strings.HasPrefix(p, QuotaPath+"/") {
				continue
			}
			return txn(wire.OpSetData, g.session(), z, &jute.SetDataTxn{Path: p, Data: g.data(), Version: n.Stat.Version + 1})
		case op < 88:
			p, n := g.randomNode(false)
			return txn(wire.OpSetACL, g.session(), z, &jute.SetACLTxn{Path: p, ACL: g.pickACL(), Version: n.Stat.Aversion + 1})
		case op < 96:
			if m := g.multi(z); m != nil {
				return m
			}
		case op < 98:
			return txn(wire.OpError, g.session(), z, &jute.ErrorTxn{Err: int32(wire.ErrBadVersion)})
		default:
			if q := g.quota(z); q != nil {
				return q
			}
		}
	}
}

// multi builds a multi of creates, setData, check and delete on distinct
// nodes; one in five fails, logged as ZooKeeper logs it: the ops before
// the failure as they were, then ErrorTxn(code), then ErrorTxn(-2).
func (g *gen) multi(z int64) *wire.Txn {
	var subs []jute.Txn
	touched := map[string]bool{}
	bumps := map[string]int32{}
	for range 1 + g.rng.IntN(4) {
		p, n := g.randomNode(false)
		switch g.rng.IntN(4) {
		case 0:
			if !g.canHaveChildren(n) || touched[p] {
				continue
			}
			name := fmt.Sprintf("m%d", g.rng.IntN(1000))
			if n.HasChild(name) || touched[Join(p, name)] {
				continue
			}
			typ, rec, path := g.createTxn(p, n, name, bumps[p])
			if c, ok := rec.(*jute.CreateTxn); ok && c.Ephemeral {
				c.Ephemeral = false // the multi's session may have none
			}
			if typ == wire.OpCreateTTL || touched[path] {
				continue
			}
			bumps[p]++
			touched[path] = true
			subs = append(subs, jute.Txn{Type: int32(typ), Data: jute.Marshal(rec)})
		case 1:
			if touched[p] {
				continue
			}
			touched[p] = true
			subs = append(subs, jute.Txn{Type: int32(wire.OpSetData), Data: jute.Marshal(&jute.SetDataTxn{Path: p, Data: g.data(), Version: n.Stat.Version + 1})})
		case 2:
			subs = append(subs, jute.Txn{Type: int32(wire.OpCheck), Data: jute.Marshal(&jute.CheckVersionTxn{Path: p, Version: n.Stat.Version})})
		case 3:
			if p == "/" || n.NumChildren() > 0 || touched[p] || bumps[p] > 0 {
				continue
			}
			touched[p] = true
			subs = append(subs, jute.Txn{Type: int32(wire.OpDelete), Data: jute.Marshal(&jute.DeleteTxn{Path: p})})
		}
	}
	if len(subs) == 0 {
		return nil
	}
	if g.rng.IntN(5) == 0 {
		k := g.rng.IntN(len(subs))
		for i := k; i < len(subs); i++ {
			code := wire.ErrRuntimeInconsistency
			if i == k {
				code = []wire.Error{wire.ErrNoNode, wire.ErrNodeExists, wire.ErrBadVersion, wire.ErrNotEmpty}[g.rng.IntN(4)]
			}
			subs[i] = jute.Txn{Type: int32(wire.OpError), Data: jute.Marshal(&jute.ErrorTxn{Err: int32(code)})}
		}
	}
	return txn(wire.OpMulti, g.session(), z, &jute.MultiTxn{Txns: subs})
}

// quota puts a quota on a random node: a multi creating the
// /zookeeper/quota chain, zookeeper_limits and zookeeper_stats.
func (g *gen) quota(z int64) *wire.Txn {
	if g.noQuota {
		return nil
	}
	p, _ := g.randomNode(false)
	if p == "/" {
		return nil
	}
	// ZooKeeper refuses nested quotas; so does the generator.
	if g.t.QuotaPrefix(p) != "" {
		return nil
	}
	for q := range g.t.quotas {
		if strings.HasPrefix(q, p+"/") {
			return nil
		}
	}
	var subs []jute.Txn
	cur := QuotaPath
	for _, comp := range strings.Split(p[1:], "/") {
		next := cur + "/" + comp
		if g.t.Node(next) == nil {
			pcv := int32(1)
			if n := g.t.Node(cur); n != nil {
				pcv = n.Stat.Cversion + 1
			}
			subs = append(subs, jute.Txn{Type: int32(wire.OpCreate), Data: jute.Marshal(&jute.CreateTxn{Path: next, ACL: OpenACLUnsafe, ParentCVersion: pcv})})
		}
		cur = next
	}
	if g.t.Node(cur+"/"+QuotaLimitNode) != nil || g.t.Node(cur+"/"+QuotaStatNode) != nil {
		return nil
	}
	pcv := int32(1)
	if n := g.t.Node(cur); n != nil {
		pcv = n.Stat.Cversion + 1
	}
	subs = append(subs,
		jute.Txn{Type: int32(wire.OpCreate), Data: jute.Marshal(&jute.CreateTxn{Path: cur + "/" + QuotaLimitNode,
			Data: []byte("count=100,bytes=-1"), ACL: OpenACLUnsafe, ParentCVersion: pcv})},
		jute.Txn{Type: int32(wire.OpCreate), Data: jute.Marshal(&jute.CreateTxn{Path: cur + "/" + QuotaStatNode,
			Data: []byte("count=0,bytes=0"), ACL: OpenACLUnsafe, ParentCVersion: pcv + 1})})
	return txn(wire.OpMulti, 0, z, &jute.MultiTxn{Txns: subs})
}

// apply runs n generated txns on the tree and returns them.
func (g *gen) apply(tb testing.TB, n int) []*wire.Txn {
	tb.Helper()
	out := make([]*wire.Txn, 0, n)
	for range n {
		x := g.next()
		r := g.t.ProcessTxn(x)
		if r.Err != wire.ErrOK && x.Type() != wire.OpError && !isFailedMulti(x) {
			tb.Fatalf("generated txn %v (zxid %x) failed: %v\n%#v", x.Type(), x.Header.Zxid, r.Err, x.Record)
		}
		out = append(out, x)
	}
	return out
}

func isFailedMulti(x *wire.Txn) bool {
	m, ok := x.Record.(*jute.MultiTxn)
	if !ok {
		return false
	}
	for _, s := range m.Txns {
		if s.Type == int32(wire.OpError) {
			return true
		}
	}
	return false
}

// bulk adds n persistent nodes quickly, for trees large enough to be
// written in several locked stretches.
func (g *gen) bulk(tb testing.TB, n int) {
	tb.Helper()
	parents := []string{"/"}
	for i := range n {
		parent := parents[g.rng.IntN(len(parents))]
		pn := g.t.Node(parent)
		g.zxid++
		path := Join(parent, fmt.Sprintf("b%d", i))
		x := txn(wire.OpCreate, 0, g.zxid, &jute.CreateTxn{Path: path, Data: g.data(), ACL: g.pickACL(), ParentCVersion: pn.Stat.Cversion + 1})
		if r := g.t.ProcessTxn(x); r.Err != wire.ErrOK {
			tb.Fatal(r.Err)
		}
		parents = append(parents, path)
	}
}

// allNodes is ZooKeeper's node map of a tree: every node by path, the
// orphans included.
func allNodes(t *DataTree) map[string]*Node {
	m := make(map[string]*Node, t.NodeCount())
	t.all(func(p []byte, n *Node) { m[string(p)] = n })
	return m
}

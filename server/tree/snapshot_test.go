package tree

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"testing"

	"zkd/jute"
	"zkd/wire"
)

// writeSnapshot writes a whole snapshot stream of tr with no concurrent
// writers.
func writeSnapshot(t testing.TB, tr *DataTree) ([]byte, *Snapshot) {
	t.Helper()
	var buf bytes.Buffer
	s := tr.BeginSnapshot()
	n, err := s.WriteTo(&buf, nopLocker{})
	if err != nil {
		t.Fatal(err)
	}
	s.End()
	if n != int64(buf.Len()) {
		t.Fatalf("WriteTo reported %d bytes, wrote %d", n, buf.Len())
	}
	return buf.Bytes(), s
}

// readSnapshot reads a stream into a finished tree with tr's settings,
// checking that the stream ends right after the terminator.
func readSnapshot(t testing.TB, b []byte, like *DataTree) *DataTree {
	t.Helper()
	s := jute.NewStream(bytes.NewReader(b), 1<<20)
	back, err := ReadSnapshot(s)
	if err != nil {
		t.Fatal(err)
	}
	if s.Consumed != int64(len(b)) {
		t.Fatalf("read %d of %d bytes", s.Consumed, len(b))
	}
	back.ExtendedTypes, back.Emulate353TTL = like.ExtendedTypes, like.Emulate353TTL
	back.Finish()
	return back
}

func roundTrip(t testing.TB, tr *DataTree) *DataTree {
	t.Helper()
	b, _ := writeSnapshot(t, tr)
	return readSnapshot(t, b, tr)
}

func TestSnapshotRoundTrip(t *testing.T) {
	for seed := range uint64(20) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			tr := New()
			tr.ExtendedTypes = seed%2 == 0
			g := newGen(seed, tr)
			g.apply(t, 400)
			back := roundTrip(t, tr)
			requireSameTree(t, back, tr)
			checkInvariants(t, back)
			if back.DanglingACLs != 0 {
				t.Fatalf("%d dangling ACLs", back.DanglingACLs)
			}
			// The ACL ids survive, and new ids do not reuse old ones.
			for p, n := range allNodes(tr) {
				if back.Node(p).ACL != n.ACL {
					t.Fatalf("%s: ACL id %d became %d", p, n.ACL, back.Node(p).ACL)
				}
			}
			if back.ACLs.nextID > tr.ACLs.nextID {
				t.Fatalf("nextID %d > %d", back.ACLs.nextID, tr.ACLs.nextID)
			}
			// And a second generation is identical too.
			requireSameTree(t, roundTrip(t, back), tr)
		})
	}
}

// TestSnapshotLayout parses a stream independently (spec §6.2 items
// 2-5): sessions, the ACL table, the nodes in pre-order with the root
// written as "", and the "/" terminator.
func TestSnapshotLayout(t *testing.T) {
	tr := New()
	tr.ProcessTxn(txn(wire.OpCreateSession, 0x55, 1, &jute.CreateSessionTxn{TimeOut: 3000}))
	mustCreate(t, tr, "/a", []byte("x"), 0, 2)
	if _, err := tr.CreateNode("/a/b", nil, digestACL, 0x55, -1, 3, 3000); err != nil {
		t.Fatal(err)
	}
	b, _ := writeSnapshot(t, tr)
	d := jute.NewDecoder(b)
	if n := d.Int(); n != 1 || d.Long() != 0x55 || d.Int() != 3000 {
		t.Fatal("sessions")
	}
	acls := map[int64][]jute.ACL{}
	for n := d.Int(); n > 0; n-- {
		id := d.Long()
		acls[id] = jute.DecodeACLs(d)
	}
	if len(acls) != 2 || acls[1] == nil || acls[2] == nil {
		t.Fatalf("ACL table %v", acls)
	}
	var order []string
	nodes := map[string]jute.StatPersisted{}
	for {
		p := d.String()
		if d.Err() != nil {
			t.Fatal(d.Err())
		}
		if p == "/" {
			break
		}
		data := d.Buffer()
		acl := d.Long()
		var st jute.StatPersisted
		st.Decode(d)
		order = append(order, p)
		nodes[p] = st
		switch p {
		case "":
			// ZooKeeper's root holds empty, not null, data.
			if data == nil || len(data) != 0 || acl != -1 {
				t.Fatalf("root data %v acl %d", data, acl)
			}
		case "/a/b":
			if data != nil || acl != 2 || st.EphemeralOwner != 0x55 || st.Czxid != 3 || st.Ctime != 3000 {
				t.Fatalf("/a/b: %v %d %+v", data, acl, st)
			}
		case "/a":
			if string(data) != "x" || acl != -1 {
				t.Fatalf("/a: %q %d", data, acl)
			}
		}
	}
	if d.Remaining() != 0 {
		t.Fatalf("%d bytes after the terminator", d.Remaining())
	}
	if order[0] != "" {
		t.Fatalf("root first, written as \"\": %q", order)
	}
	pos := map[string]int{}
	for i, p := range order {
		pos[p] = i
	}
	for _, p := range order[1:] {
		parent := Parent(p)
		if parent == "/" {
			parent = ""
		}
		if i, ok := pos[parent]; !ok || i >= pos[p] {
			t.Fatalf("%s before its parent: %q", p, order)
		}
	}
	got := append([]string(nil), order...)
	sort.Strings(got)
	want := []string{"", "/a", "/a/b", "/zookeeper", "/zookeeper/config", "/zookeeper/quota"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("nodes %q", got)
	}
}

// snapBuilder writes snapshot streams by hand for the error cases.
type snapBuilder struct{ e jute.Encoder }

func (b *snapBuilder) node(path string, acl int64) *snapBuilder {
	b.e.String(path)
	b.e.Buffer(nil)
	b.e.Long(acl)
	(&jute.StatPersisted{}).Encode(&b.e)
	return b
}

func header(sessions, acls int32) *snapBuilder {
	b := &snapBuilder{}
	b.e.Int(sessions)
	for i := range sessions {
		b.e.Long(int64(i + 1))
		b.e.Int(1000)
	}
	b.e.Int(acls)
	for i := range acls {
		b.e.Long(int64(i + 1))
		jute.EncodeACLs(&b.e, worldRead)
	}
	return b
}

func (b *snapBuilder) end() []byte {
	b.e.String("/")
	return b.e.Bytes()
}

func TestReadSnapshotErrors(t *testing.T) {
	nullACL := func() []byte {
		var e jute.Encoder
		e.Int(0)
		e.Int(1)
		e.Long(1)
		e.Int(-1)
		return e.Bytes()
	}
	tests := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"negative session count", ref32(-1)},
		{"negative ACL count", append(ref32(0), ref32(-5)...)},
		{"null ACL list", nullACL()},
		{"no terminator", header(0, 0).node("", -1).e.Bytes()},
		{"no root", header(0, 0).end()},
		{"missing parent", header(0, 0).node("", -1).node("/a/b", -1).end()},
		{"child before parent", header(0, 0).node("/a", -1).node("", -1).end()},
		{"session count beyond input", append(ref32(1000000), 1, 2, 3)},
		{"ACL count beyond input", append(append(ref32(0), ref32(1000000)...), 1, 2, 3)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tr, err := ReadSnapshot(jute.NewStream(bytes.NewReader(tc.in), 1<<20)); err == nil {
				t.Fatalf("accepted: %d nodes", tr.NodeCount())
			}
		})
	}
	// Every strict prefix of a real stream is refused.
	tr := New()
	newGen(7, tr).apply(t, 50)
	b, _ := writeSnapshot(t, tr)
	for n := 0; n < len(b); n++ {
		if _, err := ReadSnapshot(jute.NewStream(bytes.NewReader(b[:n]), 1<<20)); err == nil {
			t.Fatalf("prefix %d/%d accepted", n, len(b))
		}
	}
}

func ref32(v int32) []byte { return jute.Marshal(&jute.ErrorTxn{Err: v}) }

// TestReadSnapshotMalformedPaths: DataTree.deserialize refuses a node
// whose parent it has not read; paths that are not canonical (Split and
// Join do not map them back to themselves, or the path rules refuse
// them) and duplicates are refused too, or the tree links them wrong.
func TestReadSnapshotMalformedPaths(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
	}{
		{"double slash", header(0, 0).node("", -1).node("//", -1).end()},
		{"no leading slash", header(0, 0).node("", -1).node("abc", -1).end()},
		{"duplicate", header(0, 0).node("", -1).node("/a", -1).node("/a/b", -1).node("/a", -1).end()},
		{"trailing slash", header(0, 0).node("", -1).node("/a", -1).node("/a/", -1).end()},
		{"duplicate root", header(0, 0).node("", -1).node("/a", -1).node("", -1).end()},
		{"empty component", header(0, 0).node("", -1).node("/a", -1).node("/a//b", -1).end()},
		{"dot", header(0, 0).node("", -1).node("/a", -1).node("/a/.", -1).end()},
		{"dot dot", header(0, 0).node("", -1).node("/a", -1).node("/a/..", -1).end()},
		{"NUL", header(0, 0).node("", -1).node("/a\x00", -1).end()},
		{"invalid UTF-8", header(0, 0).node("", -1).node("/a\xff", -1).end()},
		{"duplicate in another order", header(0, 0).node("", -1).node("/a", -1).node("/b", -1).node("/a/x", -1).
			node("/b", -1).end()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ReadSnapshot(jute.NewStream(bytes.NewReader(tc.in), 1<<20)); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

// TestReadSnapshotParentsFirst: ZooKeeper writes a pre-order walk, but
// its reader only needs each parent before its children; so does ours.
func TestReadSnapshotParentsFirst(t *testing.T) {
	in := header(0, 0).node("", -1).node("/a", -1).node("/b", -1).node("/a/x", -1).node("/b/y", -1).
		node("/a/x/z", -1).node("/c", -1).node("/b/y/w", -1).end()
	tr, err := ReadSnapshot(jute.NewStream(bytes.NewReader(in), 1<<20))
	if err != nil {
		t.Fatal(err)
	}
	tr.Finish()
	checkInvariants(t, tr)
	for _, p := range []string{"/a/x/z", "/b/y/w", "/c"} {
		parent, name := Split(p)
		if tr.Node(p) == nil || !tr.Node(parent).HasChild(name) {
			t.Errorf("%s not linked", p)
		}
	}
	if tr.NodeCount() != 8 {
		t.Errorf("%d nodes", tr.NodeCount())
	}
}

// TestFinishTwice: Finish indexes owners from the list ReadSnapshot
// made; a second call, or one on a tree not fresh from a snapshot,
// rebuilds everything from the nodes.
func TestFinishTwice(t *testing.T) {
	tr := New()
	tr.ExtendedTypes = true
	newGen(11, tr).apply(t, 400)
	back := roundTrip(t, tr)
	requireSameTree(t, back, tr)
	back.Finish()
	requireSameTree(t, back, tr)
	checkInvariants(t, back)
	tr.Finish()
	checkInvariants(t, tr)
}

// TestReadSnapshotDanglingACL: a node whose ACL id is not in the table
// is counted and grants nothing.
func TestReadSnapshotDanglingACL(t *testing.T) {
	in := header(0, 1).node("", -1).node("/a", 1).node("/b", 7).end()
	back, err := ReadSnapshot(jute.NewStream(bytes.NewReader(in), 1<<20))
	if err != nil {
		t.Fatal(err)
	}
	back.Finish()
	if back.DanglingACLs != 1 {
		t.Fatalf("DanglingACLs %d", back.DanglingACLs)
	}
	if l := back.ACLOf(back.Node("/b")); len(l) != 1 || l[0].Perms != 0 {
		t.Fatalf("dangling ACL reads as %v", l)
	}
	// Unused table entries are purged; new ids start after the largest.
	in = header(0, 3).node("", -1).node("/a", 2).end()
	back, err = ReadSnapshot(jute.NewStream(bytes.NewReader(in), 1<<20))
	if err != nil {
		t.Fatal(err)
	}
	back.Finish()
	if back.ACLs.Len() != 1 || !back.ACLs.Has(2) || back.ACLs.nextID != 4 {
		t.Fatalf("table %v next %d", back.ACLs.byID, back.ACLs.nextID)
	}
	if id := back.ACLs.Convert(digestACL); id != 4 {
		t.Fatalf("new id %d", id)
	}
}

// TestSnapshotKeepsDanglingACLNodes: a node whose ACL id is missing from
// the table (a damaged or fuzzy stream) must still be written by the
// next snapshot, with its subtree.
func TestSnapshotKeepsDanglingACLNodes(t *testing.T) {
	in := header(0, 1).node("", -1).node("/a", 1).node("/a/b", 9).node("/a/b/c", 1).end()
	tr, err := ReadSnapshot(jute.NewStream(bytes.NewReader(in), 1<<20))
	if err != nil {
		t.Fatal(err)
	}
	tr.Finish()
	// New ids start after every id a node holds, so the dangling 9 is
	// one allocated before any later snapshot begins.
	if tr.ACLs.nextID != 10 {
		t.Fatalf("nextID %d", tr.ACLs.nextID)
	}
	if id := tr.ACLs.Convert(digestACL); id != 10 {
		t.Fatalf("new id %d", id)
	}
	back := roundTrip(t, tr)
	for _, p := range []string{"/a/b", "/a/b/c"} {
		if back.Node(p) == nil {
			t.Errorf("%s lost by the snapshot", p)
		}
	}
	if n := back.Node("/a/b"); n == nil || n.ACL != 9 || back.DanglingACLs != 1 {
		t.Errorf("/a/b written with ACL id %v, %d dangling", n, back.DanglingACLs)
	}
}

// TestOverlappingSnapshotsOldACL: each snapshot writes a node whose ACL
// was set since it began with the id the node had when *it* began, which
// its own table holds.
func TestOverlappingSnapshotsOldACL(t *testing.T) {
	tr := New()
	if _, err := tr.CreateNode("/a", nil, digestACL, 0, -1, 1, 0); err != nil {
		t.Fatal(err)
	}
	tr.LastProcessedZxid = 1
	x := tr.Node("/a").ACL
	s1 := tr.BeginSnapshot()
	mustSetACL := func(acl []jute.ACL, v int32) int64 {
		n, err := tr.SetACL("/a", acl, v)
		if err != nil {
			t.Fatal(err)
		}
		return n.ACL
	}
	y := mustSetACL(mixedACL, 1) // x is released: s2's table lacks it
	s2 := tr.BeginSnapshot()
	mustSetACL([]jute.ACL{{Perms: wire.PermRead, ID: jute.Id{Scheme: "ip", ID: "10.0.0.1"}}}, 2)
	for _, c := range []struct {
		s    *Snapshot
		want int64
	}{{s1, x}, {s2, y}} {
		var buf bytes.Buffer
		if _, err := c.s.WriteTo(&buf, nopLocker{}); err != nil {
			t.Fatal(err)
		}
		back := readSnapshot(t, buf.Bytes(), tr)
		if n := back.Node("/a"); n == nil || n.ACL != c.want || back.DanglingACLs != 0 {
			t.Fatalf("/a written as %+v, want ACL id %d; %d dangling", n, c.want, back.DanglingACLs)
		}
	}
	s2.End()
	s1.End()
	if tr.snaps != nil {
		t.Fatal("snapshots still registered")
	}
}

// TestWriteToPropagatesErrors: a failing writer stops the stream.
func TestWriteToPropagatesErrors(t *testing.T) {
	tr := New()
	newGen(3, tr).bulk(t, 3000)
	s := tr.BeginSnapshot()
	defer s.End()
	boom := errors.New("disk full")
	if _, err := s.WriteTo(failWriter{boom}, nopLocker{}); !errors.Is(err, boom) {
		t.Fatalf("got %v", err)
	}
}

type failWriter struct{ err error }

func (w failWriter) Write(p []byte) (int, error) { return 0, w.err }

// interleaver is the sync.Locker handed to WriteTo: before each locked
// stretch of the walk it lets the writer apply some txns, so the
// snapshot meets the tree changing under it at every lock boundary.
type interleaver struct {
	mu    *sync.RWMutex
	write func()
	locks int
}

func (l *interleaver) Lock() {
	l.locks++
	l.write()
	l.mu.RLock()
}

func (l *interleaver) Unlock() { l.mu.RUnlock() }

// replayOver applies the txns after the snapshot's start to the tree
// read from it, as a restore does.
func replayOver(read *DataTree, start int64, log []*wire.Txn) {
	for _, x := range log {
		if x.Header.Zxid > start {
			read.ProcessTxn(x)
		}
	}
}

// TestFuzzySnapshotReplay is the central property of fuzzy snapshots:
// whatever txns run while the stream is written, the stream read back
// with every txn after StartZxid replayed over it is the live tree.
func TestFuzzySnapshotReplay(t *testing.T) {
	seeds := 40
	if testing.Short() {
		seeds = 8
	}
	for seed := range uint64(seeds) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			var mu sync.RWMutex
			live := New()
			live.ExtendedTypes = true
			g := newGen(seed, live)
			rng := rand.New(rand.NewPCG(seed, 1))
			g.bulk(t, 1500+rng.IntN(2500))
			var log []*wire.Txn
			log = append(log, g.apply(t, 300)...)

			snap := live.BeginSnapshot()
			start := snap.StartZxid
			il := &interleaver{mu: &mu, write: func() {
				mu.Lock()
				defer mu.Unlock()
				log = append(log, g.apply(t, rng.IntN(120))...)
			}}
			var buf bytes.Buffer
			if _, err := snap.WriteTo(&buf, il); err != nil {
				t.Fatal(err)
			}
			// Txns between the end of the walk and End, and after.
			log = append(log, g.apply(t, 20)...)
			snap.End()
			log = append(log, g.apply(t, 20)...)
			if il.locks < 3 {
				t.Fatalf("only %d locked stretches", il.locks)
			}

			read := readSnapshot(t, buf.Bytes(), live)
			checkInvariants(t, read)
			if read.DanglingACLs != 0 {
				t.Fatalf("%d nodes refer to ACL ids the stream does not hold", read.DanglingACLs)
			}
			replayOver(read, start, log)
			if read.LastProcessedZxid != live.LastProcessedZxid {
				t.Fatalf("lastProcessedZxid %x, live %x", read.LastProcessedZxid, live.LastProcessedZxid)
			}
			requireReplayedTree(t, read, live)
		})
	}
}

// TestFuzzySnapshotConcurrent runs the same property with real
// goroutines: a writer applying txns under the write lock while the
// snapshot is streamed under the read lock (run it with -race).
func TestFuzzySnapshotConcurrent(t *testing.T) {
	for seed := range uint64(6) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			var mu sync.RWMutex
			live := New()
			live.ExtendedTypes = true
			g := newGen(100+seed, live)
			g.bulk(t, 4000)
			var log []*wire.Txn
			log = append(log, g.apply(t, 200)...)

			done := make(chan struct{})
			writerDone := make(chan error)
			go func() {
				var err error
				for i := 0; i < 20000; i++ {
					select {
					case <-done:
						writerDone <- err
						return
					default:
					}
					mu.Lock()
					x := g.next()
					r := live.ProcessTxn(x)
					if r.Err != wire.ErrOK && x.Type() != wire.OpError && !isFailedMulti(x) && err == nil {
						err = fmt.Errorf("txn %v failed: %v", x.Type(), r.Err)
					}
					log = append(log, x)
					mu.Unlock()
				}
				<-done
				writerDone <- err
			}()

			mu.Lock()
			snap := live.BeginSnapshot()
			mu.Unlock()
			var buf bytes.Buffer
			_, err := snap.WriteTo(&buf, mu.RLocker())
			mu.Lock()
			snap.End()
			mu.Unlock()
			close(done)
			if werr := <-writerDone; werr != nil {
				t.Fatal(werr)
			}
			if err != nil {
				t.Fatal(err)
			}
			read := readSnapshot(t, buf.Bytes(), live)
			replayOver(read, snap.StartZxid, log)
			requireReplayedTree(t, read, live)
		})
	}
}

// TestFuzzySnapshotOverlapping: two snapshots in flight at once, each
// replayed from its own start.
func TestFuzzySnapshotOverlapping(t *testing.T) {
	for seed := range uint64(20) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			var mu sync.RWMutex
			live := New()
			g := newGen(200+seed, live)
			rng := rand.New(rand.NewPCG(seed, 2))
			g.bulk(t, 2000)
			var log []*wire.Txn
			log = append(log, g.apply(t, 200)...)
			write := func() {
				mu.Lock()
				defer mu.Unlock()
				log = append(log, g.apply(t, rng.IntN(150))...)
			}
			s1 := live.BeginSnapshot()
			var b1, b2 bytes.Buffer
			// s1 writes half its walk, then s2 begins and both finish.
			il1 := &interleaver{mu: &mu, write: write}
			var s2 *Snapshot
			il1.write = func() {
				write()
				if il1.locks == 3 && s2 == nil {
					mu.Lock()
					s2 = live.BeginSnapshot()
					mu.Unlock()
				}
			}
			if _, err := s1.WriteTo(&b1, il1); err != nil {
				t.Fatal(err)
			}
			if s2 == nil {
				t.Fatal("the second snapshot never began")
			}
			if _, err := s2.WriteTo(&b2, &interleaver{mu: &mu, write: write}); err != nil {
				t.Fatal(err)
			}
			s1.End()
			s2.End()
			if live.snaps != nil || s1.oldACL != nil || s2.oldACL != nil {
				t.Fatal("End must release everything once no snapshot is running")
			}
			dangling := 0
			for i, c := range []struct {
				b     []byte
				start int64
			}{{b1.Bytes(), s1.StartZxid}, {b2.Bytes(), s2.StartZxid}} {
				read := readSnapshot(t, c.b, live)
				if read.DanglingACLs != 0 {
					dangling = read.DanglingACLs
				}
				replayOver(read, c.start, log)
				t.Logf("snapshot %d", i+1)
				requireReplayedTree(t, read, live)
			}
			// The replay repairs the nodes, but the stream itself must be
			// whole: each node's ACL id in its own ACL table.
			if dangling != 0 {
				t.Fatalf("a stream refers to %d ACL ids it does not hold", dangling)
			}
		})
	}
}

// TestFuzzySnapshotCloseSessionWithoutPaths: the case DataTree's comment
// describes. An ephemeral the stream holds is closed with a
// closeSession carrying no paths (closeSessionTxn disabled) and created
// again by another session after its parent was written; replaying the
// create meets NODEEXISTS and must still fix the parent's cversion.
func TestFuzzySnapshotCloseSessionWithoutPaths(t *testing.T) {
	const s1, s2 = 0x11, 0x22
	var mu sync.RWMutex
	live := New()
	var log []*wire.Txn
	apply := func(x *wire.Txn) {
		live.ProcessTxn(x)
		log = append(log, x)
	}
	apply(txn(wire.OpCreateSession, s1, 1, &jute.CreateSessionTxn{TimeOut: 1}))
	apply(txn(wire.OpCreateSession, s2, 2, &jute.CreateSessionTxn{TimeOut: 1}))
	apply(txn(wire.OpCreate, s1, 3, &jute.CreateTxn{Path: "/p", ACL: OpenACLUnsafe, ParentCVersion: 2}))
	apply(txn(wire.OpCreate, s1, 4, &jute.CreateTxn{Path: "/p/e", ACL: OpenACLUnsafe, Ephemeral: true, ParentCVersion: 1}))
	// Enough nodes to make the walk take several stretches, under /p's
	// sibling so that /p is written early.
	g := newGen(1, live)
	g.zxid = 4
	for i := range 1500 {
		g.zxid++
		apply(txn(wire.OpCreate, 0, g.zxid, &jute.CreateTxn{Path: fmt.Sprintf("/z%d", i), ACL: OpenACLUnsafe, ParentCVersion: -1}))
	}
	snap := live.BeginSnapshot()
	step := 0
	il := &interleaver{mu: &mu, write: func() {
		step++
		if step != 2 {
			return
		}
		z := live.LastProcessedZxid
		apply(&wire.Txn{Header: jute.TxnHeader{ClientID: s1, Zxid: z + 1, Type: int32(wire.OpCloseSession)}})
		apply(txn(wire.OpCreate, s2, z+2, &jute.CreateTxn{Path: "/p/e", ACL: OpenACLUnsafe, Ephemeral: true, ParentCVersion: 2}))
	}}
	var buf bytes.Buffer
	if _, err := snap.WriteTo(&buf, il); err != nil {
		t.Fatal(err)
	}
	snap.End()
	read := readSnapshot(t, buf.Bytes(), live)
	replayOver(read, snap.StartZxid, log)
	requireReplayedTree(t, read, live)
}

// BenchmarkSnapshotWrite measures the stream writer.
func BenchmarkSnapshotWrite(b *testing.B) {
	tr := New()
	newGen(1, tr).bulk(b, 20000)
	b.ResetTimer()
	for range b.N {
		s := tr.BeginSnapshot()
		if _, err := s.WriteTo(io.Discard, nopLocker{}); err != nil {
			b.Fatal(err)
		}
		s.End()
	}
}

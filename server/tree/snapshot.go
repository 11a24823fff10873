package tree

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"sync"
	"unsafe"

	"zkd/jute"
)

// Snapshot is a fuzzy serialization of a DataTree in progress: sessions,
// the ACL cache and the nodes, in ZooKeeper's snapshot stream layout
// (spec §6.2 items 2-5). Writes to the tree may go on while it is
// written; the txns after StartZxid replayed over the result give the
// tree back, as with ZooKeeper's fuzzy snapshots.
type Snapshot struct {
	t         *DataTree
	StartZxid int64
	Digest    int64
	sessions  map[int64]int32
	acls      map[int64][]jute.ACL
	// maxACL is the highest ACL id allocated when the snapshot began; ids
	// are never reused, so a higher one is an ACL set since.
	maxACL int64
	// oldACL holds, for each node whose ACL was set since the snapshot
	// began, the id it had then (in acls, unless it was dangling).
	oldACL map[string]int64
}

// BeginSnapshot pins what the stream needs from this moment: the session
// table and the ACL table. Call it under the tree's lock and call End
// (also under the lock) when the stream is written.
func (t *DataTree) BeginSnapshot() *Snapshot {
	s := &Snapshot{
		t:         t,
		StartZxid: t.LastProcessedZxid,
		Digest:    t.Digest(),
		sessions:  make(map[int64]int32, len(t.Sessions)),
		acls:      make(map[int64][]jute.ACL, len(t.ACLs.byID)),
		maxACL:    t.ACLs.nextID - 1,
	}
	for k, v := range t.Sessions {
		s.sessions[k] = v
	}
	for k, v := range t.ACLs.byID {
		s.acls[k] = v
	}
	t.snaps = append(t.snaps, s)
	return s
}

// End releases what BeginSnapshot pinned.
func (s *Snapshot) End() {
	t := s.t
	if i := slices.Index(t.snaps, s); i >= 0 {
		t.snaps = slices.Delete(t.snaps, i, i+1)
	}
	if len(t.snaps) == 0 {
		t.snaps = nil
	}
	s.oldACL = nil
}

// aclChanged records, on the first setACL of path since the snapshot
// began, the ACL id the node had until then.
func (s *Snapshot) aclChanged(path string, old int64) {
	if s.oldACL == nil {
		s.oldACL = make(map[string]int64)
	}
	if _, ok := s.oldACL[path]; !ok {
		s.oldACL[path] = old
	}
}

// nodesPerLock bounds how many nodes are serialized under one hold of the
// lock, so writers wait microseconds, not the length of a snapshot.
const nodesPerLock = 512

// WriteTo writes the stream to w. lock guards the tree (a read lock is
// enough); it is taken for short stretches of the walk.
func (s *Snapshot) WriteTo(w io.Writer, lock sync.Locker) (int64, error) {
	var e jute.Encoder
	var total int64
	flush := func(force bool) error {
		if !force && e.Len() < 256<<10 {
			return nil
		}
		n, err := w.Write(e.Bytes())
		total += int64(n)
		e.Reset()
		return err
	}
	EncodeSessions(&e, s.sessions)
	e.Int(int32(len(s.acls)))
	for id, l := range s.acls {
		e.Long(id)
		jute.EncodeACLs(&e, l)
	}
	// Depth-first, parents first, with an explicit stack so the lock can
	// be dropped between stretches. An entry is a node's path and the
	// node that listed it, to look it up with.
	type entry struct {
		path   string
		parent *Node
	}
	stack := []entry{{"/", nil}}
	for len(stack) > 0 {
		lock.Lock()
		for i := 0; i < nodesPerLock && len(stack) > 0; i++ {
			path, parent := stack[len(stack)-1].path, stack[len(stack)-1].parent
			stack = stack[:len(stack)-1]
			var n *Node
			switch {
			case parent == nil:
				n = s.t.root
			case parent.bits&detached == 0:
				n = parent.child(path[strings.LastIndexByte(path, '/')+1:])
			default:
				// The parent was deleted since: what is at the path now.
				n = s.t.find(path)
			}
			if n == nil {
				continue // deleted since; the log replay agrees
			}
			acl := n.ACL
			// An id allocated since the snapshot began is not in its
			// table. Ids from before are written as they are, even one
			// missing from the table (a dangling id read from a damaged
			// snapshot), so that no subtree is lost.
			if acl > s.maxACL {
				if n.Stat.Czxid > s.StartZxid {
					continue // created since: replay creates it and its subtree
				}
				if old, ok := s.oldACL[path]; ok {
					acl = old // setACL since: replay sets it again
				}
			}
			name := path
			if path == "/" {
				name = ""
			}
			e.String(name)
			e.Buffer(n.Data())
			e.Long(acl)
			n.Stat.Encode(&e)
			if k := n.kids(false); k != nil {
				k.each(func(c *Node) { stack = append(stack, entry{Join(path, c.name()), n}) })
			}
		}
		lock.Unlock()
		if err := flush(false); err != nil {
			return total, err
		}
	}
	e.String("/")
	err := flush(true)
	return total, err
}

// EncodeSessions writes the session table: count, then {id, timeout}.
func EncodeSessions(e *jute.Encoder, sessions map[int64]int32) {
	e.Int(int32(len(sessions)))
	for id, to := range sessions {
		e.Long(id)
		e.Int(to)
	}
}

// snapReader decodes the units of a snapshot stream into its own
// fields, so that the Stream.Decode calls capture nothing per unit. The
// path and data of a node alias the stream's window until the next
// Decode.
type snapReader struct {
	count   int32
	session int64
	timeout int32
	aclID   int64
	acls    []jute.ACL
	// The node unit.
	path []byte
	data []byte
	acl  int64
	stat jute.StatPersisted
	end  bool
}

func (r *snapReader) decodeCount(d *jute.Decoder) { r.count = d.Int() }

func (r *snapReader) decodeSession(d *jute.Decoder) {
	r.session = d.Long()
	r.timeout = d.Int()
}

func (r *snapReader) decodeACL(d *jute.Decoder) {
	r.aclID = d.Long()
	r.acls = jute.DecodeACLs(d)
}

func (r *snapReader) decodeNode(d *jute.Decoder) {
	r.path = d.StringBytes()
	if r.end = len(r.path) == 1 && r.path[0] == '/'; r.end {
		return
	}
	r.data = d.BufferAlias()
	r.acl = d.Long()
	r.stat.Decode(d)
}

// nameArena copies the names of the nodes a snapshot holds into shared
// chunks rather than a million allocations of a few bytes each. A chunk
// lives as long as any of its names, so what deleted nodes leave in them
// is at most the names the snapshot held.
type nameArena struct{ buf []byte }

func (a *nameArena) add(b []byte) string {
	if len(b) == 0 || len(b) > 256 {
		return string(b)
	}
	if cap(a.buf)-len(a.buf) < len(b) {
		a.buf = make([]byte, 0, 16<<10)
	}
	at := len(a.buf)
	a.buf = append(a.buf, b...)
	return unsafe.String(&a.buf[at], len(b))
}

// treeBuilder links the nodes of a snapshot into a tree as they come.
// They come in a pre-order walk (ZooKeeper's serializeNode, and WriteTo),
// so a node's parent is on the stack of the last node's ancestors, whose
// paths are prefixes of the last path. A stream in another parents-first
// order has its parents looked up in the tree.
type treeBuilder struct {
	stack []readFrame
	last  []byte // the last node's path
	names nameArena
}

type readFrame struct {
	n    *Node
	plen int // the length of the node's path, 0 for the root
}

// add links n, read at path (which canonicalPath accepted), and counts
// it in the tree's node count, digest, owners and ACL references.
func (b *treeBuilder) add(t *DataTree, n *Node, path []byte) error {
	if len(path) == 0 {
		if t.root != nil {
			return fmt.Errorf("invalid data tree: duplicate root")
		}
		t.root = n
		b.stack = append(b.stack[:0], readFrame{n, 0})
	} else {
		slash := bytes.LastIndexByte(path, '/')
		for len(b.stack) > 0 {
			top := b.stack[len(b.stack)-1]
			if top.plen == slash && string(path[:slash]) == string(b.last[:slash]) {
				break
			}
			b.stack = b.stack[:len(b.stack)-1]
		}
		var parent *Node
		if len(b.stack) > 0 {
			parent = b.stack[len(b.stack)-1].n
		} else {
			parentPath, _ := Split(string(path))
			if parent = t.find(parentPath); parent == nil {
				return fmt.Errorf("invalid data tree: no parent %q of %q", parentPath, path)
			}
			b.stack = append(b.stack, readFrame{parent, slash})
		}
		n.setName(b.names.add(path[slash+1:]))
		if !parent.addChild(n) {
			return fmt.Errorf("invalid data tree: duplicate path %q", path)
		}
		b.stack = append(b.stack, readFrame{n, len(path)})
	}
	b.last = append(b.last[:0], path...)
	t.count++
	t.digest += uint64(nodeDigest(&t.scratch, path, n.Data(), &n.Stat))
	if n.Stat.EphemeralOwner != 0 {
		p := "/"
		if len(path) > 0 {
			p = string(path)
		}
		t.owned = append(t.owned, p)
	}
	if !t.ACLs.Has(n.ACL) {
		t.DanglingACLs++
	}
	t.ACLs.addRef(n.ACL)
	return nil
}

// nodeRec is a node as the reading goroutine hands it over: its path is
// the next plen bytes of the batch's paths.
type nodeRec struct {
	data []byte
	acl  int64
	stat jute.StatPersisted
	plen int32
}

// nodeBatch is a run of decoded nodes. The last batch has end set, or
// err: why decoding stopped after the nodes it holds.
type nodeBatch struct {
	recs  []nodeRec
	paths []byte
	end   bool
	err   error
}

const (
	batchNodes = 512
	batches    = 4
)

// nodeReader decodes the node section of a snapshot stream on its own
// goroutine, in batches that circulate between full and free.
type nodeReader struct {
	s      *jute.Stream
	full   chan *nodeBatch
	free   chan *nodeBatch
	quit   chan struct{}
	exited chan struct{}
}

func startNodeReader(s *jute.Stream) *nodeReader {
	nr := &nodeReader{
		s:      s,
		full:   make(chan *nodeBatch, batches),
		free:   make(chan *nodeBatch, batches),
		quit:   make(chan struct{}),
		exited: make(chan struct{}),
	}
	for range batches {
		nr.free <- &nodeBatch{recs: make([]nodeRec, 0, batchNodes), paths: make([]byte, 0, 64*batchNodes)}
	}
	go nr.run()
	return nr
}

// stop ends the goroutine and waits for it, so that the stream is the
// caller's again.
func (nr *nodeReader) stop() {
	close(nr.quit)
	<-nr.exited
}

func (nr *nodeReader) run() {
	defer close(nr.exited)
	var r snapReader
	decode := r.decodeNode
	count := 0
	for {
		var b *nodeBatch
		select {
		case b = <-nr.free:
		case <-nr.quit:
			return
		}
		b.recs, b.paths = b.recs[:0], b.paths[:0]
		for len(b.recs) < batchNodes {
			if err := nr.s.Decode(decode); err != nil {
				b.err = fmt.Errorf("node after %d nodes: %w", count, err)
				break
			}
			if r.end {
				b.end = true
				break
			}
			// The path aliases the stream's window: it is only looked at.
			if len(r.path) > 0 && !canonicalPath(unsafe.String(&r.path[0], len(r.path))) {
				b.err = fmt.Errorf("invalid data tree: bad path %q", r.path)
				break
			}
			rec := nodeRec{acl: r.acl, stat: r.stat, plen: int32(len(r.path))}
			if r.data != nil {
				rec.data = make([]byte, len(r.data))
				copy(rec.data, r.data)
			}
			b.recs = append(b.recs, rec)
			b.paths = append(b.paths, r.path...)
			count++
		}
		select {
		case nr.full <- b:
		case <-nr.quit:
			return
		}
		if b.end || b.err != nil {
			return
		}
	}
}

// ReadSnapshot reads a stream written by Snapshot.WriteTo (or by
// ZooKeeper) into a new tree. Like DataTree.deserialize it needs every
// parent before its children; it also refuses node paths a client could
// not have created and duplicates. The digest is computed as the nodes
// are read. Set ExtendedTypes and Emulate353TTL on the result, then call
// Finish before anything else uses the tree.
func ReadSnapshot(s *jute.Stream) (*DataTree, error) {
	t := newEmpty()
	var r snapReader
	if err := s.Decode(r.decodeCount); err != nil {
		return nil, fmt.Errorf("session count: %w", err)
	}
	if r.count < 0 {
		return nil, fmt.Errorf("negative session count %d", r.count)
	}
	for i := int32(0); i < r.count; i++ {
		if err := s.Decode(r.decodeSession); err != nil {
			return nil, fmt.Errorf("session %d: %w", i, err)
		}
		t.Sessions[r.session] = r.timeout
	}
	if err := s.Decode(r.decodeCount); err != nil {
		return nil, fmt.Errorf("ACL count: %w", err)
	}
	if r.count < 0 {
		return nil, fmt.Errorf("negative ACL count %d", r.count)
	}
	for i := int32(0); i < r.count; i++ {
		if err := s.Decode(r.decodeACL); err != nil {
			return nil, fmt.Errorf("ACL entry %d: %w", i, err)
		}
		if r.acls == nil {
			return nil, fmt.Errorf("ACL entry %d (id %d) is null", i, r.aclID)
		}
		t.ACLs.add(r.aclID, r.acls)
	}
	// The nodes are decoded, their data copied, on a goroutine of their
	// own while this one links them into the tree: a restore's time goes
	// mostly to faulting in the memory of the new tree, which two cores
	// do twice as fast.
	var b treeBuilder
	maxACL := t.ACLs.nextID - 1
	nr := startNodeReader(s)
	defer nr.stop()
	for end := false; !end; {
		batch := <-nr.full
		off := 0
		for i := range batch.recs {
			rc := &batch.recs[i]
			path := batch.paths[off : off+int(rc.plen)]
			off += int(rc.plen)
			n := newNode(rc.data, rc.acl)
			n.Stat = rc.stat
			if err := b.add(t, n, path); err != nil {
				return nil, err
			}
			maxACL = max(maxACL, n.ACL)
		}
		if batch.err != nil {
			return nil, batch.err
		}
		end = batch.end
		nr.free <- batch
	}
	if t.root == nil {
		return nil, fmt.Errorf("invalid data tree: no root")
	}
	// New ids must not meet a dangling one, and a snapshot must be able
	// to tell them from every id a node holds now (Snapshot.WriteTo).
	if maxACL < math.MaxInt64 {
		t.ACLs.nextID = max(t.ACLs.nextID, maxACL+1)
	}
	t.ACLs.purgeUnused()
	t.restored = true
	return t, nil
}

// canonicalPath reports whether a node path read from a snapshot is one
// a client could have created: it passes the path rules and
// Join(Split(path)) == path (which the rules imply; checked without
// building the join).
func canonicalPath(path string) bool {
	if path == "/" || ValidatePath(path, false) != nil {
		return false
	}
	parent, name := Split(path)
	if parent == "/" {
		return len(path) == 1+len(name)
	}
	return len(path) == len(parent)+1+len(name)
}

// Finish completes a tree read by ReadSnapshot once the caller has set
// ExtendedTypes and Emulate353TTL: it indexes owners and rebuilds quota
// state. On any other tree it also recomputes the digest.
func (t *DataTree) Finish() {
	t.ephemerals = make(map[int64]map[string]struct{})
	t.containers = make(map[string]struct{})
	t.ttls = make(map[string]struct{})
	if t.restored {
		for _, p := range t.owned {
			if n := t.find(p); n != nil {
				t.indexOwner(p, n.Stat.EphemeralOwner)
			}
		}
	} else {
		t.digest = 0
		t.all(func(path []byte, n *Node) {
			if n.Stat.EphemeralOwner != 0 {
				t.indexOwner(string(path), n.Stat.EphemeralOwner)
			}
			t.digest += uint64(nodeDigest(&t.scratch, path, n.Data(), &n.Stat))
		})
	}
	t.restored, t.owned = false, nil
	t.setupQuota()
}

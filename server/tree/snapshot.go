package tree

import (
	"fmt"
	"io"
	"math"
	"slices"
	"sync"

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
	// Depth-first, parents first, with an explicit stack of paths so the
	// lock can be dropped between stretches.
	stack := []string{"/"}
	var children []string
	for len(stack) > 0 {
		lock.Lock()
		for i := 0; i < nodesPerLock && len(stack) > 0; i++ {
			path := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			n := s.t.nodes[path]
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
			e.Buffer(n.Data)
			e.Long(acl)
			n.Stat.Encode(&e)
			children = children[:0]
			for c := range n.children {
				children = append(children, c)
			}
			for _, c := range children {
				stack = append(stack, Join(path, c))
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

// pathNode is a node with its path.
type pathNode struct {
	path string
	n    *Node
}

// nodeList collects nodes in chunks, so that growing it never copies.
type nodeList struct {
	chunks [][]pathNode
	len    int
}

func (l *nodeList) add(p pathNode) {
	k := len(l.chunks)
	if k == 0 || len(l.chunks[k-1]) == cap(l.chunks[k-1]) {
		l.chunks = append(l.chunks, make([]pathNode, 0, 64<<min(k, 8)))
		k++
	}
	l.chunks[k-1] = append(l.chunks[k-1], p)
	l.len++
}

// addTo puts every node in m, dropping the chunks as it goes.
func (l *nodeList) addTo(m map[string]*Node) {
	for i, c := range l.chunks {
		for _, p := range c {
			m[p.path] = p.n
		}
		l.chunks[i] = nil
	}
	*l = nodeList{}
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
	// The nodes come in a pre-order walk (ZooKeeper's serializeNode, and
	// WriteTo), so a node's parent is on the stack of the last node's
	// ancestors. They are collected in a list and the node map is built
	// at its final size once the list is complete: filled in one go, a
	// map of a million nodes takes a fraction of the time it takes
	// between decodes. A stream in another parents-first order makes the
	// map at once and fills it as it goes.
	var stack []pathNode // the last node and its ancestors
	var list nodeList
	var index map[string]*Node // the node map, once a parent was not on the stack
	var root *Node
	maxACL := t.ACLs.nextID - 1
	decodeNode := r.decodeNode
	for {
		if err := s.Decode(decodeNode); err != nil {
			return nil, fmt.Errorf("node after %d nodes: %w", list.len+len(index), err)
		}
		if r.end {
			break
		}
		n := &Node{ACL: r.acl, Stat: r.stat}
		if r.data != nil {
			n.Data = make([]byte, len(r.data))
			copy(n.Data, r.data)
		}
		var path string
		if len(r.path) == 0 {
			if root != nil {
				return nil, fmt.Errorf("invalid data tree: duplicate root")
			}
			root, path = n, "/"
		} else {
			path = string(r.path)
			if !canonicalPath(path) {
				return nil, fmt.Errorf("invalid data tree: bad path %q", path)
			}
			parentPath, name := Split(path)
			for len(stack) > 0 && stack[len(stack)-1].path != parentPath {
				stack = stack[:len(stack)-1]
			}
			var parent *Node
			if len(stack) > 0 {
				parent = stack[len(stack)-1].n
			} else {
				if index == nil {
					index = make(map[string]*Node, 2*list.len)
					list.addTo(index)
				}
				if parent = index[parentPath]; parent == nil {
					return nil, fmt.Errorf("invalid data tree: no parent %q of %q", parentPath, path)
				}
				stack = append(stack, pathNode{parentPath, parent})
			}
			had := len(parent.children)
			parent.addChild(name)
			if len(parent.children) == had {
				return nil, fmt.Errorf("invalid data tree: duplicate path %q", path)
			}
		}
		stack = append(stack, pathNode{path, n})
		if index != nil {
			index[path] = n
		} else {
			list.add(pathNode{path, n})
		}
		n.digest = nodeDigest(&t.scratch, path, n.Data, &n.Stat)
		t.digest += uint64(n.digest)
		if n.Stat.EphemeralOwner != 0 {
			t.owned = append(t.owned, path)
		}
		if !t.ACLs.Has(n.ACL) {
			t.DanglingACLs++
		}
		t.ACLs.addRef(n.ACL)
		maxACL = max(maxACL, n.ACL)
	}
	if root == nil {
		return nil, fmt.Errorf("invalid data tree: no root")
	}
	if index == nil {
		index = make(map[string]*Node, list.len)
		list.addTo(index)
	}
	t.nodes = index
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
			if n := t.nodes[p]; n != nil {
				t.indexOwner(p, n.Stat.EphemeralOwner)
			}
		}
	} else {
		t.digest = 0
		for p, n := range t.nodes {
			t.indexOwner(p, n.Stat.EphemeralOwner)
			n.digest = nodeDigest(&t.scratch, p, n.Data, &n.Stat)
			t.digest += uint64(n.digest)
		}
	}
	t.restored, t.owned = false, nil
	t.setupQuota()
}

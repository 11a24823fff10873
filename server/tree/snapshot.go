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

// ReadSnapshot reads a stream written by Snapshot.WriteTo (or by
// ZooKeeper) into a new tree. Call Finish on the result.
func ReadSnapshot(s *jute.Stream) (*DataTree, error) {
	t := newEmpty()
	var count int32
	if err := s.Decode(func(d *jute.Decoder) { count = d.Int() }); err != nil {
		return nil, fmt.Errorf("session count: %w", err)
	}
	if count < 0 {
		return nil, fmt.Errorf("negative session count %d", count)
	}
	for i := int32(0); i < count; i++ {
		var id int64
		var to int32
		if err := s.Decode(func(d *jute.Decoder) { id = d.Long(); to = d.Int() }); err != nil {
			return nil, fmt.Errorf("session %d: %w", i, err)
		}
		t.Sessions[id] = to
	}
	if err := s.Decode(func(d *jute.Decoder) { count = d.Int() }); err != nil {
		return nil, fmt.Errorf("ACL count: %w", err)
	}
	if count < 0 {
		return nil, fmt.Errorf("negative ACL count %d", count)
	}
	for i := int32(0); i < count; i++ {
		var id int64
		var acls []jute.ACL
		if err := s.Decode(func(d *jute.Decoder) {
			id = d.Long()
			acls = jute.DecodeACLs(d)
		}); err != nil {
			return nil, fmt.Errorf("ACL entry %d: %w", i, err)
		}
		if acls == nil {
			return nil, fmt.Errorf("ACL entry %d (id %d) is null", i, id)
		}
		t.ACLs.add(id, acls)
	}
	maxACL := t.ACLs.nextID - 1
	for {
		var path string
		var n *Node
		var end bool
		err := s.Decode(func(d *jute.Decoder) {
			path = d.String()
			if path == "/" {
				end = true
				return
			}
			n = &Node{}
			n.Data = d.Buffer()
			n.ACL = d.Long()
			n.Stat.Decode(d)
		})
		if err != nil {
			return nil, fmt.Errorf("node after %d nodes: %w", len(t.nodes), err)
		}
		if end {
			break
		}
		if path == "" {
			if t.nodes["/"] != nil {
				return nil, fmt.Errorf("invalid data tree: duplicate root")
			}
			path = "/"
		} else {
			if !canonicalPath(path) {
				return nil, fmt.Errorf("invalid data tree: bad path %q", path)
			}
			parentPath, name := Split(path)
			parent := t.nodes[parentPath]
			if parent == nil {
				return nil, fmt.Errorf("invalid data tree: no parent %q of %q", parentPath, path)
			}
			had := len(parent.children)
			parent.addChild(name)
			if len(parent.children) == had {
				return nil, fmt.Errorf("invalid data tree: duplicate path %q", path)
			}
		}
		if !t.ACLs.Has(n.ACL) {
			t.DanglingACLs++
		}
		t.ACLs.addRef(n.ACL)
		maxACL = max(maxACL, n.ACL)
		t.nodes[path] = n
	}
	if t.nodes["/"] == nil {
		return nil, fmt.Errorf("invalid data tree: no root")
	}
	// New ids must not meet a dangling one, and a snapshot must be able
	// to tell them from every id a node holds now (Snapshot.WriteTo).
	if maxACL < math.MaxInt64 {
		t.ACLs.nextID = max(t.ACLs.nextID, maxACL+1)
	}
	t.ACLs.purgeUnused()
	return t, nil
}

// canonicalPath reports whether a node path read from a snapshot is one
// a client could have created: it passes the path rules, which also
// make Join(Split(path)) == path.
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
// ExtendedTypes and Emulate353TTL: it re-indexes owners, rebuilds quota
// state and computes the digest.
func (t *DataTree) Finish() {
	t.ephemerals = make(map[int64]map[string]struct{})
	t.containers = make(map[string]struct{})
	t.ttls = make(map[string]struct{})
	t.digest = 0
	for p, n := range t.nodes {
		t.indexOwner(p, n.Stat.EphemeralOwner)
		n.digest = NodeDigest(p, n.Data, &n.Stat)
		t.digest += uint64(n.digest)
	}
	t.setupQuota()
}

// Package tree is the in-memory ZooKeeper database: the DataTree of
// znodes with their Stats, the interned ACLs, ephemeral, container and TTL
// indexes, the session table, the tree digest, and the snapshot stream.
//
// A DataTree is not safe for concurrent use; its owner serializes access.
package tree

import (
	"bytes"
	"strings"
	"unsafe"

	"zkd/jute"
	"zkd/wire"
)

// Reserved paths.
const (
	ZookeeperPath = "/zookeeper"
	QuotaPath     = "/zookeeper/quota"
	ConfigPath    = "/zookeeper/config"
)

// ContainerOwner marks a container node in ephemeralOwner.
const ContainerOwner int64 = -1 << 63

// CopyStat fills the client Stat of n (DataNode.copyStat). The stored
// cversion counts creates; clients see changes, creates plus deletes,
// which is twice the creates less the children still there.
func (t *DataTree) CopyStat(n *Node, s *jute.Stat) {
	s.Czxid = n.Stat.Czxid
	s.Mzxid = n.Stat.Mzxid
	s.Ctime = n.Stat.Ctime
	s.Mtime = n.Stat.Mtime
	s.Version = n.Stat.Version
	kids := n.NumChildren()
	s.Cversion = ClientCversion(n.Stat.Cversion, kids)
	s.Aversion = n.Stat.Aversion
	s.EphemeralOwner = t.ClientOwner(n.Stat.EphemeralOwner)
	s.DataLength = int32(len(n.Data()))
	s.NumChildren = int32(kids)
	s.Pzxid = n.Stat.Pzxid
}

// ClientStat returns the client Stat of n.
func (t *DataTree) ClientStat(n *Node) jute.Stat {
	var s jute.Stat
	t.CopyStat(n, &s)
	return s
}

// ClientCversion turns a stored cversion (creates) into the one clients
// see (creates and deletes).
func ClientCversion(stored int32, children int) int32 { return stored*2 - int32(children) }

// ClientOwner is the ephemeralOwner clients see: the session of an
// ephemeral node, 0 for every other kind (containers and TTL nodes keep
// their marker only on disk), as DataNode.getClientEphemeralOwner.
func (t *DataTree) ClientOwner(owner int64) int64 {
	if t.OwnerType(owner) != EphemeralNormal {
		return 0
	}
	return owner
}

// Event is a change the tree reports to watches.
type Event struct {
	Type wire.EventType
	Path string
	Zxid int64
	ACL  []jute.ACL // the node's ACL (for NodeChildrenChanged, the parent's)
}

// Watcher receives the tree's change events as they are applied.
type Watcher interface {
	Trigger(ev Event)
}

// DataTree holds the znodes.
//
// ZooKeeper's DataTree keeps a map of every path to its node, and each
// node's set of child names. Here the tree of child tables is the map:
// a path is looked up one component at a time. The two differ only for
// the orphans a fuzzy-snapshot replay leaves (see DeleteNode): nodes the
// map still holds but no parent lists, kept below holders in orphans.
type DataTree struct {
	root *Node
	// count is the number of nodes in ZooKeeper's node map: the tree's
	// and the orphans.
	count int
	// orphans maps a path to a deleted node (or one replaced at its path)
	// whose children ZooKeeper's node map still holds; nil when there are
	// none, which is always so outside a replay.
	orphans    map[string]*Node
	ACLs       *ACLCache
	ephemerals map[int64]map[string]struct{}
	containers map[string]struct{}
	ttls       map[string]struct{}
	// Sessions is the session table of the database: session id → timeout
	// in ms, as snapshots store it.
	Sessions map[int64]int32
	// LastProcessedZxid is the zxid of the last txn applied.
	LastProcessedZxid int64
	digest            uint64
	// Watches, when set, receives change events.
	Watches Watcher
	// ExtendedTypes tells whether ephemeralOwner values with the top byte
	// 0xff mean TTL nodes (zookeeper.extendedTypesEnabled).
	ExtendedTypes bool
	// Emulate353TTL selects the 3.5.3 TTL encoding
	// (zookeeper.emulate353TTLNodes).
	Emulate353TTL bool
	quotas        quotaIndex
	scratch       []byte // for node digests
	// DanglingACLs counts nodes read from a snapshot whose ACL id is not in
	// its table; they read as having no ACL entries.
	DanglingACLs int
	// snaps are the snapshots being written; setACL tells each the ACL id
	// a node had when it began (see Snapshot.WriteTo).
	snaps []*Snapshot
	// restored marks a tree fresh from ReadSnapshot: its digest is
	// computed and owned lists the nodes with an ephemeralOwner, which
	// Finish indexes.
	restored bool
	owned    []string
}

// New returns a tree holding the root, /zookeeper, /zookeeper/quota and
// /zookeeper/config, as a fresh ZooKeeper database.
func New() *DataTree {
	t := newEmpty()
	// ZooKeeper's system nodes hold empty (not null) data, and the config
	// node's ACL is set once with version -1 (DataTree.addConfigNode).
	t.root = newNode([]byte{}, OpenACLUnsafeID)
	t.putNode("/", t.root)
	zk := newNode([]byte{}, OpenACLUnsafeID)
	t.link(t.root, ZookeeperPath, zk)
	t.link(zk, QuotaPath, newNode([]byte{}, OpenACLUnsafeID))
	config := newNode([]byte{}, t.ACLs.Convert(ReadACLUnsafe))
	config.Stat.Aversion = -1
	t.link(zk, ConfigPath, config)
	return t
}

// link names n after the last component of path, makes it a child of
// parent and puts it in the node map (putNode).
func (t *DataTree) link(parent *Node, path string, n *Node) {
	_, name := Split(path)
	// A copy, so that the node does not keep the whole path alive.
	n.setName(strings.Clone(name))
	parent.addChild(n)
	t.putNode(path, n)
}

func newEmpty() *DataTree {
	return &DataTree{
		ACLs:       newACLCache(),
		ephemerals: make(map[int64]map[string]struct{}),
		containers: make(map[string]struct{}),
		ttls:       make(map[string]struct{}),
		Sessions:   make(map[int64]int32),
	}
}

// putNode counts n, just linked at path, in the node map and the digest.
// The map may still hold an orphan there: DeleteNode leaves the children
// of a node it deletes in the map, as ZooKeeper's DataTree does, which
// only happens while the fuzzy part of a snapshot is replayed, and the
// replay then creates them again. The orphan is removed first, as
// NodeHashMapImpl.put takes the digest of the node it replaces, and with
// it go its ACL reference, its owner index entry and its quota count.
func (t *DataTree) putNode(path string, n *Node) {
	if t.orphans != nil {
		// n itself may be an orphan: a replay can create below one.
		if old, holder := t.findOrphan(path, n); old != nil {
			parentPath, name := Split(path)
			holder.removeChild(name)
			t.dropHolder(parentPath, holder)
			t.removeNode(path, parentPath, name, old)
		}
	}
	t.digest += uint64(t.nodeDigest(path, n))
	t.count++
}

// removeNode takes n, already unlinked from its parent, out of the node
// map and out of everything that counts it: the digest, the ACL cache,
// the owner indexes and quotas. Its children stay in the map, as orphans
// held at its path.
func (t *DataTree) removeNode(path, parentPath, name string, n *Node) {
	t.digest -= uint64(t.nodeDigest(path, n))
	t.count--
	n.bits |= detached
	t.ACLs.Release(n.ACL)
	t.unindexOwner(path, n.Stat.EphemeralOwner)
	t.quotaDeleted(path, parentPath, name, n.Data())
	if n.NumChildren() > 0 {
		t.addHolder(path, n)
	}
}

// addHolder keeps the children of n, taken out of the node map at path,
// as orphans; a holder already there takes them over.
func (t *DataTree) addHolder(path string, n *Node) {
	if t.orphans == nil {
		t.orphans = make(map[string]*Node)
	}
	h := t.orphans[path]
	if h == nil {
		t.orphans[path] = n
		return
	}
	// The names differ: a node put at the path of an orphan replaces it.
	n.kids(false).each(func(c *Node) { h.addChild(c) })
}

// dropHolder forgets the holder at path once it holds nothing.
func (t *DataTree) dropHolder(path string, h *Node) {
	if h.NumChildren() == 0 && t.orphans[path] == h {
		delete(t.orphans, path)
		if len(t.orphans) == 0 {
			t.orphans = nil
		}
	}
}

// lookup returns the node linked at path below the root, or nil.
func (t *DataTree) lookup(path string) *Node {
	// The bytes are only read.
	return t.lookupBytes(unsafe.Slice(unsafe.StringData(path), len(path)))
}

// lookupBytes is lookup for a path held in a byte slice, without
// allocating.
func (t *DataTree) lookupBytes(path []byte) *Node {
	n := t.root
	if len(path) < 2 || n == nil {
		if len(path) == 0 || path[0] == '/' {
			return n
		}
		return nil
	}
	if path[0] != '/' {
		return nil
	}
	rest := path[1:]
	for {
		i := bytes.IndexByte(rest, '/')
		if i < 0 {
			return n.childBytes(rest)
		}
		if n = n.childBytes(rest[:i]); n == nil {
			return nil
		}
		rest = rest[i+1:]
	}
}

// get is find without the root's second name "": the node map's get.
func (t *DataTree) get(path string) *Node {
	if path == "" {
		return nil
	}
	return t.find(path)
}

// find returns the node at path in ZooKeeper's node map: linked below
// the root, or an orphan. "" is the root too.
func (t *DataTree) find(path string) *Node {
	n := t.lookup(path)
	if n == nil && t.orphans != nil {
		n, _ = t.findOrphan(path, nil)
	}
	return n
}

// findOrphan returns the orphan at path other than except, and the node
// whose child it is.
func (t *DataTree) findOrphan(path string, except *Node) (n, holder *Node) {
	for i := len(path) - 1; i > 0; i-- {
		if path[i] != '/' {
			continue
		}
		h := t.orphans[path[:i]]
		if h == nil {
			continue
		}
		rest := path[i+1:]
		for h != nil {
			j := strings.IndexByte(rest, '/')
			if j < 0 {
				if c := h.child(rest); c != nil && c != except {
					return c, h
				}
				break
			}
			h = h.child(rest[:j])
			rest = rest[j+1:]
		}
	}
	return nil, nil
}

// preChange and postChange keep the tree digest in step with a node's
// content: the node's digest before the change goes out, the one after
// comes in.
func (t *DataTree) preChange(path string, n *Node) { t.digest -= uint64(t.nodeDigest(path, n)) }

func (t *DataTree) postChange(path string, n *Node) { t.digest += uint64(t.nodeDigest(path, n)) }

// nodeDigest is n's contribution to the tree digest, n being at path.
func (t *DataTree) nodeDigest(path string, n *Node) uint32 {
	return nodeDigest(&t.scratch, path, n.Data(), &n.Stat)
}

// Digest is the tree digest (digest version 2).
func (t *DataTree) Digest() int64 { return int64(t.digest) }

// Node returns the node at path, or nil. "" is the root too, as in
// ZooKeeper's node map.
func (t *DataTree) Node(path string) *Node { return t.find(path) }

// NodeBytes looks a node up by a path held in a byte slice, without
// allocating.
func (t *DataTree) NodeBytes(path []byte) *Node {
	n := t.lookupBytes(path)
	if n == nil && t.orphans != nil {
		n, _ = t.findOrphan(string(path), nil)
	}
	return n
}

// NodeCount is the number of znodes, the root and system nodes included.
func (t *DataTree) NodeCount() int { return t.count }

// EphemeralCount is the number of ephemeral nodes.
func (t *DataTree) EphemeralCount() int {
	n := 0
	for _, s := range t.ephemerals {
		n += len(s)
	}
	return n
}

// Ephemerals returns the paths of a session's ephemeral nodes.
func (t *DataTree) Ephemerals(session int64) []string {
	s := t.ephemerals[session]
	out := make([]string, 0, len(s))
	for p := range s {
		out = append(out, p)
	}
	return out
}

// EphemeralSessions returns every session that owns ephemerals.
func (t *DataTree) EphemeralSessions() []int64 {
	out := make([]int64, 0, len(t.ephemerals))
	for s := range t.ephemerals {
		out = append(out, s)
	}
	return out
}

// Containers returns the container paths.
func (t *DataTree) Containers() []string { return setKeys(t.containers) }

// TTLs returns the TTL node paths.
func (t *DataTree) TTLs() []string { return setKeys(t.ttls) }

func setKeys(m map[string]struct{}) []string {
	out := make([]string, 0, len(m))
	for p := range m {
		out = append(out, p)
	}
	return out
}

// ApproximateDataSize is the sum of path and data lengths, as ZooKeeper's
// approximate_data_size metric.
func (t *DataTree) ApproximateDataSize() int64 {
	var n int64
	t.all(func(path []byte, nd *Node) { n += int64(len(path) + len(nd.Data())) })
	return n
}

// all calls f for every node of ZooKeeper's node map, the orphans
// included, with its path; the path is only valid during the call.
func (t *DataTree) all(f func(path []byte, n *Node)) {
	buf := make([]byte, 0, 256)
	if t.root != nil {
		f(append(buf, '/'), t.root)
		buf = below(buf, t.root, f)
	}
	for p, h := range t.orphans {
		buf = below(append(buf[:0], p...), h, f)
	}
}

// below calls f for every node below n, whose path is in buf.
func below(buf []byte, n *Node, f func(path []byte, n *Node)) []byte {
	k := n.kids(false)
	if k == nil {
		return buf
	}
	base := len(buf)
	k.each(func(c *Node) {
		buf = append(append(buf[:base], '/'), c.name()...)
		f(buf, c)
		buf = below(buf, c, f)
	})
	return buf[:base]
}

// Walk calls f for every node in pre-order (parents before children).
// Returning false from f skips that node's subtree.
func (t *DataTree) Walk(f func(path string, n *Node) bool) {
	t.walk("/", t.root, f)
}

func (t *DataTree) walk(path string, n *Node, f func(string, *Node) bool) {
	if n == nil || !f(path, n) {
		return
	}
	if k := n.kids(false); k != nil {
		k.each(func(c *Node) { t.walk(Join(path, c.name()), c, f) })
	}
}

// EphemeralType classifies an ephemeralOwner value.
type EphemeralType int

const (
	EphemeralVoid EphemeralType = iota
	EphemeralNormal
	EphemeralContainer
	EphemeralTTL
)

// OwnerType classifies owner as EphemeralType.get does. TTL owners are
// only recognised with extended types enabled; the 3.5.3 emulation also
// reads any other negative owner as a TTL node.
func (t *DataTree) OwnerType(owner int64) EphemeralType {
	if t.ExtendedTypes {
		if t.Emulate353TTL && owner < 0 && owner != ContainerOwner {
			return EphemeralTTL
		}
		if uint64(owner)>>56 == 0xff {
			return EphemeralTTL
		}
	}
	switch owner {
	case 0:
		return EphemeralVoid
	case ContainerOwner:
		return EphemeralContainer
	}
	return EphemeralNormal
}

// TTLOwner encodes a TTL as ephemeralOwner: 0xff, two reserved zero
// bytes, then 40 bits of milliseconds.
func (t *DataTree) TTLOwner(ttl int64) int64 {
	return int64(uint64(0xff)<<56 | uint64(ttl)&0xffffffffff)
}

// OwnerTTL decodes the TTL of a TTL node's ephemeralOwner.
func (t *DataTree) OwnerTTL(owner int64) int64 {
	return int64(uint64(owner) & 0xffffffffff)
}

// CreateNode adds a node. parentCVersion -1 means "current + 1". It fails
// with NONODE when the parent is missing and NODEEXISTS when the node is
// there; the root ("/" or "") is always there.
func (t *DataTree) CreateNode(path string, data []byte, acl []jute.ACL, owner int64, parentCVersion int32, zxid, time int64) (*Node, error) {
	if path == "/" || path == "" {
		return nil, wire.ErrNodeExists
	}
	parentPath, name := Split(path)
	parent := t.find(parentPath)
	if parent == nil {
		return nil, wire.ErrNoNode
	}
	if parent.HasChild(name) {
		return nil, wire.ErrNodeExists
	}
	aclID := t.ACLs.Convert(acl)
	// A copy of the name, so that the node does not keep the whole path
	// alive; packed with the data when that saves memory.
	name, data = packNameData(name, data)
	n := newNode(data, aclID)
	n.Stat = jute.StatPersisted{
		Czxid: zxid, Mzxid: zxid, Pzxid: zxid,
		Ctime: time, Mtime: time,
		EphemeralOwner: owner,
	}
	n.setName(name)
	t.preChange(parentPath, parent)
	if parentCVersion == -1 {
		parentCVersion = parent.Stat.Cversion + 1
	}
	// Replaying the fuzzy range of a snapshot may meet a create whose
	// node was deleted again; never move cversion/pzxid backwards.
	if parentCVersion > parent.Stat.Cversion {
		parent.Stat.Cversion = parentCVersion
		parent.Stat.Pzxid = zxid
	}
	parent.addChild(n)
	t.postChange(parentPath, parent)
	t.putNode(path, n)
	t.indexOwner(path, owner)
	t.quotaCreated(path, parentPath, name, data)
	if t.Watches != nil {
		t.trigger(wire.EventNodeCreated, path, zxid, t.ACLs.ACLs(aclID))
		t.trigger(wire.EventNodeChildrenChanged, parentPath, zxid, t.ACLs.ACLs(parent.ACL))
	}
	return n, nil
}

func (t *DataTree) indexOwner(path string, owner int64) {
	switch t.OwnerType(owner) {
	case EphemeralContainer:
		t.containers[path] = struct{}{}
	case EphemeralTTL:
		t.ttls[path] = struct{}{}
	case EphemeralNormal:
		s := t.ephemerals[owner]
		if s == nil {
			s = make(map[string]struct{})
			t.ephemerals[owner] = s
		}
		s[path] = struct{}{}
	}
}

func (t *DataTree) unindexOwner(path string, owner int64) {
	switch t.OwnerType(owner) {
	case EphemeralContainer:
		delete(t.containers, path)
	case EphemeralTTL:
		delete(t.ttls, path)
	case EphemeralNormal:
		if s := t.ephemerals[owner]; s != nil {
			delete(s, path)
			if len(s) == 0 {
				delete(t.ephemerals, owner)
			}
		}
	}
}

func (t *DataTree) trigger(typ wire.EventType, path string, zxid int64, acl []jute.ACL) {
	if t.Watches != nil {
		t.Watches.Trigger(Event{Type: typ, Path: path, Zxid: zxid, ACL: acl})
	}
}

// DeleteNode removes a node. The parent's pzxid moves forward even when
// the child is already gone, as a fuzzy-snapshot replay needs. The
// node's children, if any, stay in the map for the replay to create
// again (see putNode). The root ("/" or "") cannot be deleted.
func (t *DataTree) DeleteNode(path string, zxid int64) error {
	if path == "/" || path == "" {
		return wire.ErrBadArguments
	}
	parentPath, name := Split(path)
	parent := t.find(parentPath)
	if parent == nil {
		return wire.ErrNoNode
	}
	t.preChange(parentPath, parent)
	n := parent.removeChild(name)
	if zxid > parent.Stat.Pzxid {
		parent.Stat.Pzxid = zxid
	}
	t.postChange(parentPath, parent)
	if n == nil && t.orphans != nil {
		// Not a child of the node at the parent path: an orphan.
		var holder *Node
		if n, holder = t.findOrphan(path, nil); n != nil {
			holder.removeChild(name)
			t.dropHolder(parentPath, holder)
		}
	}
	if n == nil {
		return wire.ErrNoNode
	}
	acl := t.ACLs.ACLs(n.ACL)
	t.removeNode(path, parentPath, name, n)
	if t.Watches != nil {
		t.trigger(wire.EventNodeDeleted, path, zxid, acl)
		t.trigger(wire.EventNodeChildrenChanged, parentPath, zxid, t.ACLs.ACLs(parent.ACL))
	}
	return nil
}

// SetData replaces a node's data; version is the new version.
func (t *DataTree) SetData(path string, data []byte, version int32, zxid, time int64) (*Node, error) {
	n := t.get(path)
	if n == nil {
		return nil, wire.ErrNoNode
	}
	old := n.Data()
	t.preChange(path, n)
	n.setLeafData(data)
	n.Stat.Mtime = time
	n.Stat.Mzxid = zxid
	n.Stat.Version = version
	t.postChange(path, n)
	t.quotaDataChanged(path, old, data)
	if t.Watches != nil {
		t.trigger(wire.EventNodeDataChanged, path, zxid, t.ACLs.ACLs(n.ACL))
	}
	return n, nil
}

// SetACL replaces a node's ACL; version is the new aversion.
func (t *DataTree) SetACL(path string, acl []jute.ACL, version int32) (*Node, error) {
	n := t.get(path)
	if n == nil {
		return nil, wire.ErrNoNode
	}
	for _, s := range t.snaps {
		s.aclChanged(path, n.ACL)
	}
	t.ACLs.Release(n.ACL)
	t.preChange(path, n)
	n.Stat.Aversion = version
	n.ACL = t.ACLs.Convert(acl)
	t.postChange(path, n)
	return n, nil
}

// SetCversionPzxid raises a node's cversion and pzxid, for the replay of
// a create that met NODEEXISTS.
func (t *DataTree) SetCversionPzxid(path string, cversion int32, zxid int64) error {
	if path == "" {
		path = "/"
	}
	n := t.find(path)
	if n == nil {
		return wire.ErrNoNode
	}
	if cversion == -1 {
		cversion = n.Stat.Cversion + 1
	}
	if cversion > n.Stat.Cversion {
		t.preChange(path, n)
		n.Stat.Cversion = cversion
		n.Stat.Pzxid = zxid
		t.postChange(path, n)
	}
	return nil
}

// KillSession deletes a closed session's ephemerals: those the txn names
// and any the tree still indexes for it.
func (t *DataTree) KillSession(session, zxid int64, paths []string) {
	for _, p := range paths {
		_ = t.DeleteNode(p, zxid)
	}
	if rest := t.ephemerals[session]; rest != nil {
		for p := range rest {
			_ = t.DeleteNode(p, zxid)
		}
	}
	delete(t.ephemerals, session)
}

// ACLOf returns a node's ACL list.
func (t *DataTree) ACLOf(n *Node) []jute.ACL { return t.ACLs.ACLs(n.ACL) }

// CountDescendants counts the nodes below path, as
// getAllChildrenNumber does.
func (t *DataTree) CountDescendants(path string) int {
	if n := t.get(path); n != nil {
		return countBelow(n)
	}
	return 0
}

func countBelow(n *Node) int {
	count := 0
	if k := n.kids(false); k != nil {
		k.each(func(c *Node) { count += 1 + countBelow(c) })
	}
	return count
}

// Digest is n's contribution to the tree digest, n being at path.
func (n *Node) Digest(path string) uint32 { return NodeDigest(path, n.Data(), &n.Stat) }

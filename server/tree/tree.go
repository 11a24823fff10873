// Package tree is the in-memory ZooKeeper database: the DataTree of
// znodes with their Stats, the interned ACLs, ephemeral, container and TTL
// indexes, the session table, the tree digest, and the snapshot stream.
//
// A DataTree is not safe for concurrent use; its owner serializes access.
package tree

import (
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

// Node is a znode.
type Node struct {
	Data     []byte
	ACL      int64
	Stat     jute.StatPersisted
	children map[string]struct{}
	digest   uint32
}

// NumChildren is the number of children.
func (n *Node) NumChildren() int { return len(n.children) }

// Children calls f for each child name (unordered, as ZooKeeper's set).
func (n *Node) Children(f func(name string)) {
	for c := range n.children {
		f(c)
	}
}

// ChildNames returns the child names (unordered).
func (n *Node) ChildNames() []string {
	out := make([]string, 0, len(n.children))
	for c := range n.children {
		out = append(out, c)
	}
	return out
}

// HasChild reports whether name is a child.
func (n *Node) HasChild(name string) bool {
	_, ok := n.children[name]
	return ok
}

// CopyStat fills the client Stat of n (DataNode.copyStat). The stored
// cversion counts creates; clients see changes, creates plus deletes,
// which is twice the creates less the children still there.
func (t *DataTree) CopyStat(n *Node, s *jute.Stat) {
	s.Czxid = n.Stat.Czxid
	s.Mzxid = n.Stat.Mzxid
	s.Ctime = n.Stat.Ctime
	s.Mtime = n.Stat.Mtime
	s.Version = n.Stat.Version
	s.Cversion = ClientCversion(n.Stat.Cversion, len(n.children))
	s.Aversion = n.Stat.Aversion
	s.EphemeralOwner = t.ClientOwner(n.Stat.EphemeralOwner)
	s.DataLength = int32(len(n.Data))
	s.NumChildren = int32(len(n.children))
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

func (n *Node) addChild(name string) {
	if n.children == nil {
		n.children = make(map[string]struct{})
	}
	n.children[name] = struct{}{}
}

func (n *Node) removeChild(name string) {
	delete(n.children, name)
	if len(n.children) == 0 {
		n.children = nil
	}
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
type DataTree struct {
	nodes      map[string]*Node
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
	t.putNode("/", &Node{Data: []byte{}, ACL: OpenACLUnsafeID})
	t.putNode(ZookeeperPath, &Node{Data: []byte{}, ACL: OpenACLUnsafeID})
	t.nodes["/"].addChild("zookeeper")
	t.putNode(QuotaPath, &Node{Data: []byte{}, ACL: OpenACLUnsafeID})
	t.nodes[ZookeeperPath].addChild("quota")
	t.putNode(ConfigPath, &Node{Data: []byte{}, ACL: t.ACLs.Convert(ReadACLUnsafe), Stat: jute.StatPersisted{Aversion: -1}})
	t.nodes[ZookeeperPath].addChild("config")
	return t
}

func newEmpty() *DataTree {
	return &DataTree{
		nodes:      make(map[string]*Node),
		ACLs:       newACLCache(),
		ephemerals: make(map[int64]map[string]struct{}),
		containers: make(map[string]struct{}),
		ttls:       make(map[string]struct{}),
		Sessions:   make(map[int64]int32),
	}
}

// putNode stores n at path and adds it to the digest. A node already
// there is an orphan: DeleteNode leaves the children of a node it
// deletes in the map, as ZooKeeper's DataTree does, which only happens
// while the fuzzy part of a snapshot is replayed, and the replay then
// creates them again. The orphan is removed first, as
// NodeHashMapImpl.put takes the digest of the node it replaces, and with
// it go its ACL reference, its owner index entry and its quota count.
func (t *DataTree) putNode(path string, n *Node) {
	if old := t.nodes[path]; old != nil {
		parentPath, name := Split(path)
		t.removeNode(path, parentPath, name, old)
	}
	n.digest = nodeDigest(&t.scratch, path, n.Data, &n.Stat)
	t.digest += uint64(n.digest)
	t.nodes[path] = n
}

// removeNode takes n out of the node map and out of everything that
// counts it: the digest, the ACL cache, the owner indexes and quotas.
// Its parent is left alone.
func (t *DataTree) removeNode(path, parentPath, name string, n *Node) {
	t.digest -= uint64(n.digest)
	delete(t.nodes, path)
	t.ACLs.Release(n.ACL)
	t.unindexOwner(path, n.Stat.EphemeralOwner)
	t.quotaDeleted(path, parentPath, name, n.Data)
}

// preChange and postChange keep the tree digest in step with a node's
// content.
func (t *DataTree) preChange(n *Node) { t.digest -= uint64(n.digest) }

func (t *DataTree) postChange(path string, n *Node) {
	n.digest = nodeDigest(&t.scratch, path, n.Data, &n.Stat)
	t.digest += uint64(n.digest)
}

// Digest is the tree digest (digest version 2).
func (t *DataTree) Digest() int64 { return int64(t.digest) }

// Node returns the node at path, or nil. "" is the root too, as in
// ZooKeeper's node map.
func (t *DataTree) Node(path string) *Node {
	if path == "" {
		path = "/"
	}
	return t.nodes[path]
}

// NodeBytes looks a node up by a path held in a byte slice, without
// allocating.
func (t *DataTree) NodeBytes(path []byte) *Node {
	if len(path) == 0 {
		return t.nodes["/"]
	}
	return t.nodes[string(path)]
}

// NodeCount is the number of znodes, the root and system nodes included.
func (t *DataTree) NodeCount() int { return len(t.nodes) }

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
	for p, nd := range t.nodes {
		n += int64(len(p) + len(nd.Data))
	}
	return n
}

// Walk calls f for every node in pre-order (parents before children).
// Returning false from f skips that node's subtree.
func (t *DataTree) Walk(f func(path string, n *Node) bool) {
	t.walk("/", t.nodes["/"], f)
}

func (t *DataTree) walk(path string, n *Node, f func(string, *Node) bool) {
	if n == nil || !f(path, n) {
		return
	}
	for c := range n.children {
		cp := Join(path, c)
		t.walk(cp, t.nodes[cp], f)
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
	parent := t.nodes[parentPath]
	if parent == nil {
		return nil, wire.ErrNoNode
	}
	if parent.HasChild(name) {
		return nil, wire.ErrNodeExists
	}
	aclID := t.ACLs.Convert(acl)
	t.preChange(parent)
	if parentCVersion == -1 {
		parentCVersion = parent.Stat.Cversion + 1
	}
	// Replaying the fuzzy range of a snapshot may meet a create whose
	// node was deleted again; never move cversion/pzxid backwards.
	if parentCVersion > parent.Stat.Cversion {
		parent.Stat.Cversion = parentCVersion
		parent.Stat.Pzxid = zxid
	}
	parent.addChild(name)
	t.postChange(parentPath, parent)
	n := &Node{
		Data: data,
		ACL:  aclID,
		Stat: jute.StatPersisted{
			Czxid: zxid, Mzxid: zxid, Pzxid: zxid,
			Ctime: time, Mtime: time,
			EphemeralOwner: owner,
		},
	}
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
	parent := t.nodes[parentPath]
	if parent == nil {
		return wire.ErrNoNode
	}
	t.preChange(parent)
	parent.removeChild(name)
	if zxid > parent.Stat.Pzxid {
		parent.Stat.Pzxid = zxid
	}
	t.postChange(parentPath, parent)
	n := t.nodes[path]
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
	n := t.nodes[path]
	if n == nil {
		return nil, wire.ErrNoNode
	}
	old := n.Data
	t.preChange(n)
	n.Data = data
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
	n := t.nodes[path]
	if n == nil {
		return nil, wire.ErrNoNode
	}
	for _, s := range t.snaps {
		s.aclChanged(path, n.ACL)
	}
	t.ACLs.Release(n.ACL)
	t.preChange(n)
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
	n := t.nodes[path]
	if n == nil {
		return wire.ErrNoNode
	}
	if cversion == -1 {
		cversion = n.Stat.Cversion + 1
	}
	if cversion > n.Stat.Cversion {
		t.preChange(n)
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
	n := t.nodes[path]
	if n == nil {
		return 0
	}
	count := 0
	for c := range n.children {
		count += 1 + t.CountDescendants(Join(path, c))
	}
	return count
}

// Digest is the node's contribution to the tree digest.
func (n *Node) Digest() uint32 { return n.digest }

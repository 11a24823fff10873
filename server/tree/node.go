package tree

import (
	"encoding/binary"
	"hash/maphash"
	"math/bits"
	"strings"
	"unsafe"

	"zkd/jute"
)

// Node is a znode.
//
// The tree is a trie: a node holds its name (its last path component)
// and its children by name; there is no map of full paths. A Node is 96
// bytes, a Go size class: the name and the child table share one pointer
// (ext), the name's length and two flags share one word (bits), the data
// is a pointer and a 32-bit length (jute buffers are never longer), and
// the node's digest is computed when it is needed rather than kept.
type Node struct {
	// data is the first byte of the node's data: nil for null data, the
	// runtime's zero-size base for empty data.
	data unsafe.Pointer
	ACL  int64
	Stat jute.StatPersisted
	// ext is the first byte of the name (nil for an empty name) until the
	// node first gets a child; from then on it is a *nodeExt holding the
	// name and the child table (bits&hasExt tells which).
	ext  unsafe.Pointer
	size uint32 // len(data)
	bits uint32
}

// newNode returns a node holding data and the ACL id acl.
func newNode(data []byte, acl int64) *Node {
	n := &Node{ACL: acl}
	n.setData(data)
	return n
}

// Data is the node's data (nil when it is null, as ZooKeeper keeps a
// create's null data). It must not be modified.
func (n *Node) Data() []byte {
	if n.data == nil {
		return nil
	}
	return unsafe.Slice((*byte)(n.data), n.size)
}

// setData makes data, which must not change afterwards, the node's data.
func (n *Node) setData(data []byte) {
	n.data = unsafe.Pointer(unsafe.SliceData(data))
	n.size = uint32(len(data))
}

// maxPacked is the largest data a leaf keeps in one allocation with its
// name; past it the name's few bytes are not worth copying the data for.
const maxPacked = 1024

// packNameData copies name and data into one allocation when data is
// short and not empty, and returns the copies (else a copy of name and
// data itself). A znode of the usual small size saves the name's own
// allocation: a 10-byte name and 100 bytes of data fit the 112-byte size
// class the data alone takes, where a separate name costs 16 bytes more.
func packNameData(name string, data []byte) (string, []byte) {
	if !packs(name, data) {
		return strings.Clone(name), data
	}
	b := make([]byte, len(name)+len(data))
	copy(b, name)
	copy(b[len(name):], data)
	return unsafe.String(&b[0], len(name)), b[len(name):]
}

// packs reports whether packNameData puts name and data in one allocation.
func packs(name string, data []byte) bool {
	return len(data) > 0 && len(data) <= maxPacked && len(name) > 0
}

// setLeafData makes data, which must not change afterwards, the node's
// data. A node without children gets its name packed with the new data,
// so that its name never keeps replaced data alive.
func (n *Node) setLeafData(data []byte) {
	name := n.name()
	if n.bits&hasExt != 0 || !packs(name, data) {
		n.setData(data)
		return
	}
	name, data = packNameData(name, data)
	n.setName(name)
	n.setData(data)
}

const (
	// hasExt: ext is a *nodeExt.
	hasExt uint32 = 1 << 31
	// detached: the node was removed from the tree (deleted, or replaced
	// as an orphan); snapshot walks must look such a node's children up
	// by path.
	detached uint32 = 1 << 30
	nameMask        = detached - 1
)

// nodeExt is the part of a node that only nodes with children need.
// A short name is copied into buf, so that a lookup passing through the
// node finds the name it compares next to the child table it goes on to.
type nodeExt struct {
	name string
	kids childTable
	buf  [24]byte
}

// name is the node's last path component ("" for the root).
func (n *Node) name() string {
	if n.bits&hasExt != 0 {
		return (*nodeExt)(n.ext).name
	}
	return unsafe.String((*byte)(n.ext), n.bits&nameMask)
}

// setName points the node at name, which must not change afterwards. A
// node gets its name before it is linked into a parent; a leaf's name
// moves (same bytes, new memory) when setLeafData packs it with new data.
func (n *Node) setName(name string) {
	if len(name) > int(nameMask) {
		panic("tree: znode name too long")
	}
	if n.bits&hasExt != 0 {
		(*nodeExt)(n.ext).name = name
		return
	}
	n.ext = unsafe.Pointer(unsafe.StringData(name))
	n.bits = n.bits&^nameMask | uint32(len(name))
}

// kids returns the child table, creating the node's ext when create is
// set.
func (n *Node) kids(create bool) *childTable {
	if n.bits&hasExt != 0 {
		return &(*nodeExt)(n.ext).kids
	}
	if !create {
		return nil
	}
	x := &nodeExt{name: n.name()}
	if l := len(x.name); l > 0 && l <= len(x.buf) {
		copy(x.buf[:], x.name)
		x.name = unsafe.String(&x.buf[0], l)
	} else if l > 0 {
		// The name may share an allocation with the data (packNameData),
		// which a node with children no longer replaces along with it.
		x.name = strings.Clone(x.name)
	}
	n.ext = unsafe.Pointer(x)
	n.bits = n.bits&^nameMask | hasExt
	return &x.kids
}

// NumChildren is the number of children.
func (n *Node) NumChildren() int {
	if k := n.kids(false); k != nil {
		return k.count()
	}
	return 0
}

// Children calls f for each child name (unordered, as ZooKeeper's set).
func (n *Node) Children(f func(name string)) {
	if k := n.kids(false); k != nil {
		k.each(func(c *Node) { f(c.name()) })
	}
}

// ChildNames returns the child names (unordered).
func (n *Node) ChildNames() []string {
	k := n.kids(false)
	if k == nil {
		return []string{}
	}
	out := make([]string, 0, k.count())
	k.each(func(c *Node) { out = append(out, c.name()) })
	return out
}

// HasChild reports whether name is a child.
func (n *Node) HasChild(name string) bool { return n.child(name) != nil }

// child returns the child called name, or nil.
func (n *Node) child(name string) *Node {
	if k := n.kids(false); k != nil {
		return k.get(name)
	}
	return nil
}

// childBytes is child for a name held in a byte slice.
func (n *Node) childBytes(name []byte) *Node {
	if k := n.kids(false); k != nil {
		return k.get(unsafe.String(unsafe.SliceData(name), len(name)))
	}
	return nil
}

// addChild links c, which has its name, below n; false if n already has
// a child of that name.
func (n *Node) addChild(c *Node) bool { return n.kids(true).add(c) }

// removeChild unlinks the child called name and returns it, or nil.
func (n *Node) removeChild(name string) *Node {
	if k := n.kids(false); k != nil {
		return k.remove(name)
	}
	return nil
}

// childTable is a set of nodes keyed by name: an open-addressing table
// of groups of eight slots with a control byte each (the scheme of Go's
// own maps), holding only node pointers, since each node knows its name.
// That is 9 bytes a slot against a Go map's 25 (string key and pointer).
// Past maxGroups it becomes a Go map, which grows in small steps rather
// than rehashing a huge table in one go.
type childTable struct {
	groups []group
	used   int32 // full slots
	dead   int32 // deleted slots
	big    map[string]*Node
}

// group is eight slots. ctrl holds one byte per slot: ctrlEmpty,
// ctrlDeleted, or the low 7 bits of the name's hash for a full slot.
type group struct {
	ctrl  uint64
	slots [8]*Node
}

const (
	ctrlEmpty   = 0x80
	ctrlDeleted = 0xfe
	lsbs        = 0x0101010101010101
	msbs        = 0x8080808080808080
	emptyGroup  = lsbs * ctrlEmpty
	// maxGroups bounds the table before it turns into a Go map: 1,024
	// groups hold up to 7,168 children, rehashed in well under a
	// millisecond.
	maxGroups = 1024
)

var (
	nameSeed = maphash.MakeSeed()
	// Secret keys of the short-name hash, so that names colliding in a
	// table cannot be made up without them.
	key0, key1, key2 = newKey(), newKey(), newKey()
)

func newKey() uint64 { return maphash.Comparable(maphash.MakeSeed(), 0) | 1 }

// mix folds the 128-bit product of a and b.
func mix(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// hashName hashes a child name. Names are mostly short, and a lookup
// hashes one per path component, so up to 16 bytes are hashed inline,
// as wyhash does (which Go's runtime uses where it lacks AES); longer
// names go to maphash.
func hashName(name string) uint64 {
	n := len(name)
	p := unsafe.StringData(name)
	var a, b uint64
	switch {
	case n == 0:
	case n < 4:
		b0, b1, b2 := *p, *(*byte)(unsafe.Add(unsafe.Pointer(p), n>>1)), *(*byte)(unsafe.Add(unsafe.Pointer(p), n-1))
		a = uint64(b0)<<16 | uint64(b1)<<8 | uint64(b2)
	case n <= 8:
		a = uint64(binary.LittleEndian.Uint32(unsafe.Slice(p, 4)))
		b = uint64(binary.LittleEndian.Uint32(unsafe.Slice((*byte)(unsafe.Add(unsafe.Pointer(p), n-4)), 4)))
	case n <= 16:
		a = binary.LittleEndian.Uint64(unsafe.Slice(p, 8))
		b = binary.LittleEndian.Uint64(unsafe.Slice((*byte)(unsafe.Add(unsafe.Pointer(p), n-8)), 8))
	default:
		return maphash.String(nameSeed, name)
	}
	return mix(mix(a^key0, b^key1), uint64(n)^key2)
}

// matchH2 returns a bit (the top bit of the byte) for each slot whose
// control byte may be h2; false positives are possible and weeded out by
// comparing names.
func matchH2(ctrl uint64, h2 uint8) uint64 {
	v := ctrl ^ (lsbs * uint64(h2))
	return (v - lsbs) &^ v & msbs
}

// matchEmpty returns a bit for each empty slot.
func matchEmpty(ctrl uint64) uint64 { return (ctrl &^ (ctrl << 6)) & msbs }

// matchFree returns a bit for each empty or deleted slot.
func matchFree(ctrl uint64) uint64 { return ctrl & msbs }

func slotOf(bitset uint64) int { return bits.TrailingZeros64(bitset) >> 3 }

func setCtrl(g *group, i int, c uint8) {
	shift := uint(i) * 8
	g.ctrl = g.ctrl&^(0xff<<shift) | uint64(c)<<shift
}

func (k *childTable) count() int {
	if k.big != nil {
		return len(k.big)
	}
	return int(k.used)
}

func (k *childTable) each(f func(*Node)) {
	if k.big != nil {
		for _, c := range k.big {
			f(c)
		}
		return
	}
	for gi := range k.groups {
		g := &k.groups[gi]
		for full := ^g.ctrl & msbs; full != 0; full &= full - 1 {
			f(g.slots[slotOf(full)])
		}
	}
}

func (k *childTable) get(name string) *Node {
	if k.big != nil {
		return k.big[name]
	}
	if g, i := k.slot(name); g != nil {
		return g.slots[i]
	}
	return nil
}

// slot finds the group and slot holding the child called name; nil when
// there is none. The table is not a Go map.
func (k *childTable) slot(name string) (*group, int) {
	if k.used == 0 {
		return nil, 0
	}
	h := hashName(name)
	h2 := uint8(h & 0x7f)
	mask := uint64(len(k.groups) - 1)
	gi := (h >> 7) & mask
	for step := uint64(1); ; step++ {
		g := &k.groups[gi]
		for m := matchH2(g.ctrl, h2); m != 0; m &= m - 1 {
			if i := slotOf(m); g.slots[i].name() == name {
				return g, i
			}
		}
		if matchEmpty(g.ctrl) != 0 {
			return nil, 0
		}
		gi = (gi + step) & mask
	}
}

// add inserts c under its name; false if the name is taken.
func (k *childTable) add(c *Node) bool {
	name := c.name()
	if k.big != nil {
		if _, ok := k.big[name]; ok {
			return false
		}
		k.big[name] = c
		return true
	}
	if k.get(name) != nil {
		return false
	}
	if int(k.used+k.dead+1) > len(k.groups)*7 {
		k.grow()
		if k.big != nil {
			k.big[name] = c
			return true
		}
	}
	k.insert(c, hashName(name))
	return true
}

// insert puts c in the first free slot of its probe sequence; the table
// has room and does not hold c's name.
func (k *childTable) insert(c *Node, h uint64) {
	mask := uint64(len(k.groups) - 1)
	gi := (h >> 7) & mask
	for step := uint64(1); ; step++ {
		g := &k.groups[gi]
		if free := matchFree(g.ctrl); free != 0 {
			i := slotOf(free)
			if uint8(g.ctrl>>(uint(i)*8)) == ctrlDeleted {
				k.dead--
			}
			setCtrl(g, i, uint8(h&0x7f))
			g.slots[i] = c
			k.used++
			return
		}
		gi = (gi + step) & mask
	}
}

// grow makes room for one more child: the same size without the deleted
// slots when they are many, else twice the size, else a Go map.
func (k *childTable) grow() {
	n := len(k.groups)
	switch {
	case n == 0:
		n = 1
	case k.dead >= k.used/2:
	case n < maxGroups:
		n *= 2
	default:
		big := make(map[string]*Node, 2*k.used)
		k.each(func(c *Node) { big[c.name()] = c })
		k.big, k.groups, k.used, k.dead = big, nil, 0, 0
		return
	}
	k.rehash(n)
}

// rehash moves the children into a table of n groups.
func (k *childTable) rehash(n int) {
	old := k.groups
	k.groups = make([]group, n)
	for i := range k.groups {
		k.groups[i].ctrl = emptyGroup
	}
	k.used, k.dead = 0, 0
	for gi := range old {
		g := &old[gi]
		for full := ^g.ctrl & msbs; full != 0; full &= full - 1 {
			c := g.slots[slotOf(full)]
			k.insert(c, hashName(c.name()))
		}
	}
}

// remove unlinks the child called name and returns it, or nil. The
// table shrinks when it is mostly free, and goes when it is empty.
func (k *childTable) remove(name string) *Node {
	if k.big != nil {
		c := k.big[name]
		if c != nil {
			delete(k.big, name)
			if len(k.big) == 0 {
				k.big = nil
			}
		}
		return c
	}
	g, i := k.slot(name)
	if g == nil {
		return nil
	}
	c := g.slots[i]
	// A group with an empty slot never made a probe move on, so the slot
	// can be empty again; else it stays deleted.
	if matchEmpty(g.ctrl) != 0 {
		setCtrl(g, i, ctrlEmpty)
	} else {
		setCtrl(g, i, ctrlDeleted)
		k.dead++
	}
	g.slots[i] = nil
	k.used--
	switch {
	case k.used == 0:
		k.groups, k.dead = nil, 0
	case len(k.groups) > 8 && int(k.used) < len(k.groups):
		k.rehash(len(k.groups) / 4)
	}
	return c
}

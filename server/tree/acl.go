package tree

import (
	"zkd/jute"
	"zkd/wire"
)

// OpenACLUnsafeID is the ACL cache id reserved for OPEN_ACL_UNSAFE; it
// never appears in the cache's table.
const OpenACLUnsafeID int64 = -1

// Predefined ACLs.
var (
	OpenACLUnsafe = []jute.ACL{{Perms: wire.PermAll, ID: jute.Id{Scheme: "world", ID: "anyone"}}}
	ReadACLUnsafe = []jute.ACL{{Perms: wire.PermRead, ID: jute.Id{Scheme: "world", ID: "anyone"}}}
)

// ACLCache interns ACL lists as ReferenceCountedACLCache does: nodes hold
// a long id, the snapshot stores the id → list table.
type ACLCache struct {
	byID   map[int64][]jute.ACL
	byKey  map[string]int64 // aclKey → id
	refs   map[int64]int64
	nextID int64
	enc    jute.Encoder // scratch for lookup keys
}

func newACLCache() *ACLCache {
	return &ACLCache{
		byID:   make(map[int64][]jute.ACL),
		byKey:  make(map[string]int64),
		refs:   make(map[int64]int64),
		nextID: 1,
	}
}

// aclKey is the interning key of a list: its jute encoding, which tells
// every list apart (each string carries its length).
func aclKey(acls []jute.ACL) string {
	var e jute.Encoder
	jute.EncodeACLs(&e, acls)
	return string(e.Bytes())
}

func isOpenACLUnsafe(acls []jute.ACL) bool {
	return len(acls) == 1 && acls[0] == OpenACLUnsafe[0]
}

// Convert interns acls and takes a reference on the id.
func (c *ACLCache) Convert(acls []jute.ACL) int64 {
	if acls == nil {
		return OpenACLUnsafeID
	}
	if isOpenACLUnsafe(acls) {
		return OpenACLUnsafeID
	}
	c.enc.Reset()
	jute.EncodeACLs(&c.enc, acls)
	id, ok := c.byKey[string(c.enc.Bytes())]
	if !ok {
		id = c.nextID
		c.nextID++
		c.byKey[string(c.enc.Bytes())] = id
		stored := make([]jute.ACL, len(acls))
		copy(stored, acls)
		c.byID[id] = stored
	}
	c.refs[id]++
	return id
}

// deniedACL stands in for an ACL id missing from the table (only a
// damaged snapshot has one): it grants nothing. An empty list would grant
// everything, as ZooKeeper's checkACL reads it.
var deniedACL = []jute.ACL{{Perms: 0, ID: jute.Id{Scheme: "world", ID: "anyone"}}}

// ACLs returns the list for id.
func (c *ACLCache) ACLs(id int64) []jute.ACL {
	if id == OpenACLUnsafeID {
		return OpenACLUnsafe
	}
	if l, ok := c.byID[id]; ok {
		return l
	}
	return deniedACL
}

// Has reports whether id is known.
func (c *ACLCache) Has(id int64) bool {
	if id == OpenACLUnsafeID {
		return true
	}
	_, ok := c.byID[id]
	return ok
}

// Release drops one reference on id; the entry goes when none remain.
func (c *ACLCache) Release(id int64) {
	if id == OpenACLUnsafeID {
		return
	}
	n, ok := c.refs[id]
	if !ok {
		return
	}
	if n <= 1 {
		c.drop(id)
		return
	}
	c.refs[id] = n - 1
}

// drop removes id from the table.
func (c *ACLCache) drop(id int64) {
	if l, ok := c.byID[id]; ok {
		// A damaged snapshot may list one list under two ids; the key
		// index names only one of them.
		if k := aclKey(l); c.byKey[k] == id {
			delete(c.byKey, k)
		}
	}
	delete(c.byID, id)
	delete(c.refs, id)
}

// add inserts an entry read from a snapshot, with no references yet.
func (c *ACLCache) add(id int64, acls []jute.ACL) {
	c.byID[id] = acls
	c.byKey[aclKey(acls)] = id
	if id >= c.nextID {
		c.nextID = id + 1
	}
}

// addRef counts a snapshot node's use of id.
func (c *ACLCache) addRef(id int64) {
	if _, ok := c.byID[id]; ok {
		c.refs[id]++
	}
}

// purgeUnused drops entries no node refers to, as ZooKeeper does after a
// snapshot load.
func (c *ACLCache) purgeUnused() {
	for id := range c.byID {
		if c.refs[id] == 0 {
			c.drop(id)
		}
	}
}

// Len is the number of interned lists.
func (c *ACLCache) Len() int { return len(c.byID) }

// IDs returns the interned ids (unordered).
func (c *ACLCache) IDs() []int64 {
	out := make([]int64, 0, len(c.byID))
	for id := range c.byID {
		out = append(out, id)
	}
	return out
}

package tree

import (
	"reflect"
	"slices"
	"testing"

	"zkd/jute"
	"zkd/wire"
)

func TestACLCacheInterning(t *testing.T) {
	c := newACLCache()
	if id := c.Convert(nil); id != OpenACLUnsafeID {
		t.Fatalf("null list: %d", id)
	}
	if id := c.Convert([]jute.ACL{{Perms: 31, ID: jute.Id{Scheme: "world", ID: "anyone"}}}); id != OpenACLUnsafeID {
		t.Fatalf("OPEN_ACL_UNSAFE: %d", id)
	}
	if c.Len() != 0 {
		t.Fatal("-1 never enters the table")
	}
	a := c.Convert(digestACL)
	b := c.Convert(worldRead)
	a2 := c.Convert(slices.Clone(digestACL))
	if a != 1 || b != 2 || a2 != a {
		t.Fatalf("ids %d %d %d", a, b, a2)
	}
	if c.refs[a] != 2 || c.refs[b] != 1 {
		t.Fatalf("refs %v", c.refs)
	}
	// Order matters, as List.equals does; an empty list is a list.
	ab := c.Convert(append(slices.Clone(mixedACL), digestACL...))
	ba := c.Convert(append(slices.Clone(digestACL), mixedACL...))
	empty := c.Convert([]jute.ACL{})
	if ab == ba || empty == OpenACLUnsafeID || len(c.ACLs(empty)) != 0 {
		t.Fatalf("ab %d ba %d empty %d", ab, ba, empty)
	}
	// The cache keeps its own copy.
	in := []jute.ACL{{Perms: 1, ID: jute.Id{Scheme: "ip", ID: "10.0.0.1"}}}
	id := c.Convert(in)
	in[0].Perms = 31
	if c.ACLs(id)[0].Perms != 1 {
		t.Fatal("the cache aliases the caller's slice")
	}
	if !reflect.DeepEqual(c.ACLs(OpenACLUnsafeID), OpenACLUnsafe) || !c.Has(OpenACLUnsafeID) || !c.Has(a) || c.Has(999) {
		t.Fatal("lookups")
	}
	// An unknown id grants nothing.
	if l := c.ACLs(999); len(l) != 1 || l[0].Perms != 0 {
		t.Fatalf("unknown id: %v", l)
	}
}

func TestACLCacheRelease(t *testing.T) {
	c := newACLCache()
	a := c.Convert(digestACL)
	c.Convert(digestACL)
	b := c.Convert(worldRead)
	c.Release(a)
	if !c.Has(a) || c.refs[a] != 1 {
		t.Fatal("released too early")
	}
	c.Release(a)
	if c.Has(a) || c.Len() != 1 {
		t.Fatal("not released")
	}
	// Ids are never reused: the same list comes back with a new id.
	a3 := c.Convert(digestACL)
	if a3 <= b || a3 == a {
		t.Fatalf("id %d after release of %d (last %d)", a3, a, b)
	}
	c.Release(OpenACLUnsafeID)
	c.Release(12345)
	c.Release(a) // already gone
	if c.Len() != 2 {
		t.Fatal("no-op releases changed the table")
	}
	ids := c.IDs()
	slices.Sort(ids)
	if !slices.Equal(ids, []int64{b, a3}) {
		t.Fatalf("IDs %v", ids)
	}
}

// TestACLCacheKeyCollision: two different ACL lists must never share an
// id, whatever bytes their strings hold (NULs included).
func TestACLCacheKeyCollision(t *testing.T) {
	c := newACLCache()
	two := []jute.ACL{
		{Perms: 31, ID: jute.Id{Scheme: "digest", ID: "u:h"}},
		{Perms: 31, ID: jute.Id{Scheme: "world", ID: "anyone"}},
	}
	one := []jute.ACL{{Perms: 31, ID: jute.Id{Scheme: "digest", ID: "u:h\x0031\x00world\x00anyone"}}}
	a := c.Convert(two)
	b := c.Convert(one)
	if a == b {
		t.Fatalf("%v and %v share id %d; the second reads back as %v", two, one, a, c.ACLs(b))
	}
	// Field boundaries moved inside one entry.
	x := c.Convert([]jute.ACL{{Perms: 1, ID: jute.Id{Scheme: "a\x00b", ID: "c"}}})
	y := c.Convert([]jute.ACL{{Perms: 1, ID: jute.Id{Scheme: "a", ID: "b\x00c"}}})
	if x == y {
		t.Fatalf("scheme/id split shares id %d", x)
	}
	// The same list interns to the same id, and the table stays whole.
	if c.Convert(slices.Clone(two)) != a || c.refs[a] != 2 || len(c.byKey) != len(c.byID) {
		t.Fatalf("re-interning: refs %v, %d keys for %d ids", c.refs, len(c.byKey), len(c.byID))
	}
}

// TestACLReferencesThroughTheTree: nodes hold references; setACL and
// delete release them, and the table follows.
func TestACLReferencesThroughTheTree(t *testing.T) {
	tr := New()
	mk := func(p string, acl []jute.ACL, z int64) {
		if _, err := tr.CreateNode(p, nil, acl, 0, -1, z, 0); err != nil {
			t.Fatal(err)
		}
	}
	mk("/a", digestACL, 1)
	mk("/b", digestACL, 2)
	mk("/c", worldRead, 3)
	id := tr.Node("/a").ACL
	if tr.Node("/b").ACL != id || tr.Node("/c").ACL != 1 || tr.ACLs.refs[id] != 2 || tr.ACLs.refs[1] != 2 {
		t.Fatalf("ids a=%d b=%d c=%d refs %v", id, tr.Node("/b").ACL, tr.Node("/c").ACL, tr.ACLs.refs)
	}
	if _, err := tr.SetACL("/a", mixedACL, 1); err != nil {
		t.Fatal(err)
	}
	if err := tr.DeleteNode("/b", 5); err != nil {
		t.Fatal(err)
	}
	if tr.ACLs.Has(id) {
		t.Fatal("the digest list is unused and must be gone")
	}
	// A failed create takes no reference.
	if _, err := tr.CreateNode("/a", nil, []jute.ACL{{Perms: 3, ID: jute.Id{Scheme: "ip", ID: "1.2.3.4"}}}, 0, -1, 6, 0); err != wire.ErrNodeExists {
		t.Fatal(err)
	}
	checkInvariants(t, tr)
}

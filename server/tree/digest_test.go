package tree

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"strings"
	"testing"

	"zkd/jute"
)

// refNodeDigest is the spec's algorithm (§7) written out again: CRC32
// over path, data, then czxid, mzxid, pzxid, ctime, mtime, version,
// cversion, aversion, ephemeralOwner.
func refNodeDigest(path string, data []byte, st *jute.StatPersisted) uint32 {
	var b []byte
	b = append(b, path...)
	b = append(b, data...)
	for _, v := range []int64{st.Czxid, st.Mzxid, st.Pzxid, st.Ctime, st.Mtime} {
		b = binary.BigEndian.AppendUint64(b, uint64(v))
	}
	for _, v := range []int32{st.Version, st.Cversion, st.Aversion} {
		b = binary.BigEndian.AppendUint32(b, uint32(v))
	}
	b = binary.BigEndian.AppendUint64(b, uint64(st.EphemeralOwner))
	return crc32.ChecksumIEEE(b)
}

func TestNodeDigest(t *testing.T) {
	st := jute.StatPersisted{Czxid: 1, Mzxid: 2, Ctime: 3, Mtime: 4, Version: 5, Cversion: 6, Aversion: 7, EphemeralOwner: 8, Pzxid: 9}
	tests := []struct {
		path string
		data []byte
		want uint32
	}{
		{"/a", []byte("hello"), refNodeDigest("/a", []byte("hello"), &st)},
		{"/a", nil, refNodeDigest("/a", nil, &st)},
		{"/a", []byte{}, refNodeDigest("/a", nil, &st)}, // null and empty hash alike
		{"/", nil, refNodeDigest("", nil, &st)},         // "/" is hashed as ""
		{"/zookeeper", nil, refNodeDigest("/zookeeper", nil, &st)},
		{"/zookeeper/quota", nil, 0},
		{"/zookeeper/config", []byte("x"), 0},
		{"/zookeeper/quota/a/zookeeper_stats", nil, 0},
		{"/zookeeperx", nil, refNodeDigest("/zookeeperx", nil, &st)},
		{"/é", []byte{0}, refNodeDigest("/é", []byte{0}, &st)},
	}
	for _, tc := range tests {
		if got := NodeDigest(tc.path, tc.data, &st); got != tc.want {
			t.Errorf("NodeDigest(%q, %q) = %08x, want %08x", tc.path, tc.data, got, tc.want)
		}
	}
	// Every field counts.
	base := NodeDigest("/a", nil, &st)
	for i := range 9 {
		s := st
		switch i {
		case 0:
			s.Czxid++
		case 1:
			s.Mzxid++
		case 2:
			s.Ctime++
		case 3:
			s.Mtime++
		case 4:
			s.Version++
		case 5:
			s.Cversion++
		case 6:
			s.Aversion++
		case 7:
			s.EphemeralOwner++
		case 8:
			s.Pzxid++
		}
		if NodeDigest("/a", nil, &s) == base {
			t.Errorf("field %d does not change the digest", i)
		}
	}
}

// TestTreeDigestIncremental: after every txn of random sequences the
// incrementally kept digest equals the digest recomputed by a walk.
func TestTreeDigestIncremental(t *testing.T) {
	for seed := range uint64(30) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			tr := New()
			tr.ExtendedTypes = seed%3 != 0
			g := newGen(1000+seed, tr)
			for i := range 600 {
				x := g.next()
				tr.ProcessTxn(x)
				if got, want := tr.Digest(), recomputeDigest(tr); got != want {
					t.Fatalf("after txn %d (%v): digest %d, recomputed %d", i, x.Type(), got, want)
				}
			}
			checkInvariants(t, tr)
		})
	}
}

// TestTreeDigestIsASum: the digest is the wrap-around sum of the node
// digests, so it does not depend on the order nodes were added in.
func TestTreeDigestIsASum(t *testing.T) {
	build := func(order []string) *DataTree {
		tr := New()
		for _, p := range order {
			if _, err := tr.CreateNode(p, []byte(p), nil, 0, 1, 10, 20); err != nil {
				t.Fatal(err)
			}
		}
		return tr
	}
	a := build([]string{"/a", "/b", "/c", "/a/x", "/b/y"})
	b := build([]string{"/c", "/b", "/a", "/b/y", "/a/x"})
	if a.Digest() != b.Digest() {
		t.Fatalf("%d vs %d", a.Digest(), b.Digest())
	}
	var sum uint64
	for p, n := range allNodes(a) {
		switch {
		case strings.HasPrefix(p, "/zookeeper/"):
		case p == "/":
			sum += uint64(refNodeDigest("", n.Data(), &n.Stat))
		default:
			sum += uint64(refNodeDigest(p, n.Data(), &n.Stat))
		}
	}
	if int64(sum) != a.Digest() {
		t.Fatalf("sum %d, digest %d", int64(sum), a.Digest())
	}
}

// TestNodeDigestDataSizes: data hashed next to the path and stat fields
// and data hashed in place give the spec's digest alike, and neither
// allocates.
func TestNodeDigestDataSizes(t *testing.T) {
	st := jute.StatPersisted{Czxid: 11, Mzxid: 12, Ctime: 13, Mtime: 14, Version: 15, Cversion: 16, Aversion: 17, EphemeralOwner: -18, Pzxid: 19}
	for _, n := range []int{0, 1, 63, 64, inlineData - 1, inlineData, inlineData + 1, 100 << 10} {
		data := make([]byte, n)
		for i := range data {
			data[i] = byte(i * 7)
		}
		path := "/p/" + strings.Repeat("x", n%50)
		if got, want := NodeDigest(path, data, &st), refNodeDigest(path, data, &st); got != want {
			t.Errorf("%d bytes of data: %08x, want %08x", n, got, want)
		}
		var scratch []byte
		if got, want := nodeDigest(&scratch, path, data, &st), refNodeDigest(path, data, &st); got != want {
			t.Errorf("%d bytes of data, own scratch: %08x, want %08x", n, got, want)
		}
		if a := testing.AllocsPerRun(20, func() { nodeDigest(&scratch, path, data, &st) }); a != 0 {
			t.Errorf("%d bytes of data: %v allocations", n, a)
		}
	}
}

package server

import (
	"sort"
	"unicode/utf16"
)

// javaStringHash is java.lang.String.hashCode: over UTF-16 code units,
// with int overflow.
func javaStringHash(s string) int32 {
	var h int32
	for _, r := range s {
		if r < 0x10000 {
			h = 31*h + int32(r)
			continue
		}
		hi, lo := utf16.EncodeRune(r)
		h = 31*h + int32(hi)
		h = 31*h + int32(lo)
	}
	return h
}

// javaHashSetOrder sorts paths as ZooKeeper lists a session's ephemerals
// (getEphemerals): the iteration order of a clone of the session's
// java.util.HashSet. A HashMap iterates by bucket, hash & (capacity-1)
// with the hash's high half folded in, and within a bucket in insertion
// order; the clone is sized for its element count and filled in the
// original's order, which is sized by growth from 16. seq gives each
// path's insertion order (its creation zxid).
func javaHashSetOrder(paths []string, seq func(string) int64) {
	n := len(paths)
	if n < 2 {
		return
	}
	cloneCap := tableSizeFor(int(float32(n)/0.75 + 1))
	srcCap := 16
	for n > srcCap*3/4 {
		srcCap *= 2
	}
	type key struct {
		clone, src uint32
		seq        int64
	}
	keys := make(map[string]key, n)
	for _, p := range paths {
		h := uint32(javaStringHash(p))
		h ^= h >> 16
		keys[p] = key{h & uint32(cloneCap-1), h & uint32(srcCap-1), seq(p)}
	}
	sort.Slice(paths, func(i, j int) bool {
		a, b := keys[paths[i]], keys[paths[j]]
		if a.clone != b.clone {
			return a.clone < b.clone
		}
		if a.src != b.src {
			return a.src < b.src
		}
		return a.seq < b.seq
	})
}

// tableSizeFor is HashMap.tableSizeFor: the power of two at or above c.
func tableSizeFor(c int) int {
	n := 1
	for n < c {
		n *= 2
	}
	return n
}

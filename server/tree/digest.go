package tree

import (
	"encoding/binary"
	"hash/crc32"
	"strings"
	"sync"

	"zkd/jute"
)

// NodeDigest is a node's contribution to the tree digest (digest version
// 2): CRC32 over path, data and the stat fields in DigestCalculator's
// order. Nodes under /zookeeper/ contribute nothing. It is safe for
// concurrent use.
func NodeDigest(path string, data []byte, st *jute.StatPersisted) uint32 {
	if strings.HasPrefix(path, "/zookeeper/") {
		return 0
	}
	b := digestScratch.Get().(*[]byte)
	h := nodeDigest(b, path, data, st)
	digestScratch.Put(b)
	return h
}

// digestScratch holds buffers for NodeDigest: crc32 hands its input to
// code the compiler cannot see through, so a stack array would be moved
// to the heap on every call.
var digestScratch = sync.Pool{New: func() any { return new([]byte) }}

// inlineData is the largest data nodeDigest copies next to the path and
// stat fields to hash them in one call; larger data is hashed in place.
const inlineData = 1024

// nodeDigest is NodeDigest over a caller's scratch buffer; the path may
// be held in a string or a byte slice.
func nodeDigest[P string | []byte](scratch *[]byte, path P, data []byte, st *jute.StatPersisted) uint32 {
	const sys = "/zookeeper/"
	if len(path) >= len(sys) && string(path[:len(sys)]) == sys {
		return 0
	}
	if len(path) == 1 && path[0] == '/' {
		path = path[:0]
	}
	b := append((*scratch)[:0], path...)
	split := len(b)
	if len(data) <= inlineData {
		b = append(b, data...)
		split = len(b)
	}
	b = binary.BigEndian.AppendUint64(b, uint64(st.Czxid))
	b = binary.BigEndian.AppendUint64(b, uint64(st.Mzxid))
	b = binary.BigEndian.AppendUint64(b, uint64(st.Pzxid))
	b = binary.BigEndian.AppendUint64(b, uint64(st.Ctime))
	b = binary.BigEndian.AppendUint64(b, uint64(st.Mtime))
	b = binary.BigEndian.AppendUint32(b, uint32(st.Version))
	b = binary.BigEndian.AppendUint32(b, uint32(st.Cversion))
	b = binary.BigEndian.AppendUint32(b, uint32(st.Aversion))
	b = binary.BigEndian.AppendUint64(b, uint64(st.EphemeralOwner))
	var h uint32
	if len(data) <= inlineData {
		h = crc32.Update(0, crc32.IEEETable, b)
	} else {
		h = crc32.Update(0, crc32.IEEETable, b[:split])
		h = crc32.Update(h, crc32.IEEETable, data)
		h = crc32.Update(h, crc32.IEEETable, b[split:])
	}
	if cap(b) > 64<<10 {
		b = nil // a huge path: do not keep its buffer
	}
	*scratch = b
	return h
}

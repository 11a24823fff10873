package tree

import (
	"encoding/binary"
	"hash/crc32"
	"strings"

	"zkd/jute"
)

// NodeDigest is a node's contribution to the tree digest (digest version
// 2): CRC32 over path, data and the stat fields in DigestCalculator's
// order. Nodes under /zookeeper/ contribute nothing.
func NodeDigest(path string, data []byte, st *jute.StatPersisted) uint32 {
	if strings.HasPrefix(path, "/zookeeper/") {
		return 0
	}
	if path == "/" {
		path = ""
	}
	var fields [60]byte
	binary.BigEndian.PutUint64(fields[0:], uint64(st.Czxid))
	binary.BigEndian.PutUint64(fields[8:], uint64(st.Mzxid))
	binary.BigEndian.PutUint64(fields[16:], uint64(st.Pzxid))
	binary.BigEndian.PutUint64(fields[24:], uint64(st.Ctime))
	binary.BigEndian.PutUint64(fields[32:], uint64(st.Mtime))
	binary.BigEndian.PutUint32(fields[40:], uint32(st.Version))
	binary.BigEndian.PutUint32(fields[44:], uint32(st.Cversion))
	binary.BigEndian.PutUint32(fields[48:], uint32(st.Aversion))
	binary.BigEndian.PutUint64(fields[52:], uint64(st.EphemeralOwner))
	h := crc32.Update(0, crc32.IEEETable, []byte(path))
	h = crc32.Update(h, crc32.IEEETable, data)
	return crc32.Update(h, crc32.IEEETable, fields[:])
}

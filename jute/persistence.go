package jute

// Records of module org.apache.zookeeper.server.persistence.

// FileHeader opens every txn log and snapshot file.
type FileHeader struct {
	Magic   int32
	Version int32
	DBID    int64
}

func (r *FileHeader) Encode(e *Encoder) { e.Int(r.Magic); e.Int(r.Version); e.Long(r.DBID) }
func (r *FileHeader) Decode(d *Decoder) { r.Magic = d.Int(); r.Version = d.Int(); r.DBID = d.Long() }

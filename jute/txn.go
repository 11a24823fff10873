package jute

// Records of module org.apache.zookeeper.txn: what the txn log and Zab
// proposals carry.

// TxnHeader precedes every logged transaction.
type TxnHeader struct {
	ClientID int64
	Cxid     int32
	Zxid     int64
	Time     int64
	Type     int32
}

func (r *TxnHeader) Encode(e *Encoder) {
	e.Long(r.ClientID)
	e.Int(r.Cxid)
	e.Long(r.Zxid)
	e.Long(r.Time)
	e.Int(r.Type)
}

func (r *TxnHeader) Decode(d *Decoder) {
	r.ClientID = d.Long()
	r.Cxid = d.Int()
	r.Zxid = d.Long()
	r.Time = d.Long()
	r.Type = d.Int()
}

// TxnDigest is the tree digest expected after applying a txn.
type TxnDigest struct {
	Version    int32
	TreeDigest int64
}

func (r *TxnDigest) Encode(e *Encoder) { e.Int(r.Version); e.Long(r.TreeDigest) }
func (r *TxnDigest) Decode(d *Decoder) { r.Version = d.Int(); r.TreeDigest = d.Long() }

// CreateTxnV0 is the pre-3.3 create layout, read as a fallback only.
type CreateTxnV0 struct {
	Path      string
	Data      []byte
	ACL       []ACL
	Ephemeral bool
}

func (r *CreateTxnV0) Encode(e *Encoder) {
	e.String(r.Path)
	e.Buffer(r.Data)
	EncodeACLs(e, r.ACL)
	e.Bool(r.Ephemeral)
}

func (r *CreateTxnV0) Decode(d *Decoder) {
	r.Path = d.String()
	r.Data = d.Buffer()
	r.ACL = DecodeACLs(d)
	r.Ephemeral = d.Bool()
}

// CreateTxn creates a node (txn types 1 and 15).
type CreateTxn struct {
	Path           string
	Data           []byte
	ACL            []ACL
	Ephemeral      bool
	ParentCVersion int32
}

func (r *CreateTxn) Encode(e *Encoder) {
	e.String(r.Path)
	e.Buffer(r.Data)
	EncodeACLs(e, r.ACL)
	e.Bool(r.Ephemeral)
	e.Int(r.ParentCVersion)
}

func (r *CreateTxn) Decode(d *Decoder) {
	r.Path = d.String()
	r.Data = d.Buffer()
	r.ACL = DecodeACLs(d)
	r.Ephemeral = d.Bool()
	r.ParentCVersion = d.Int()
}

// CreateTTLTxn creates a TTL node (txn type 21).
type CreateTTLTxn struct {
	Path           string
	Data           []byte
	ACL            []ACL
	ParentCVersion int32
	TTL            int64
}

func (r *CreateTTLTxn) Encode(e *Encoder) {
	e.String(r.Path)
	e.Buffer(r.Data)
	EncodeACLs(e, r.ACL)
	e.Int(r.ParentCVersion)
	e.Long(r.TTL)
}

func (r *CreateTTLTxn) Decode(d *Decoder) {
	r.Path = d.String()
	r.Data = d.Buffer()
	r.ACL = DecodeACLs(d)
	r.ParentCVersion = d.Int()
	r.TTL = d.Long()
}

// CreateContainerTxn creates a container node (txn type 19).
type CreateContainerTxn struct {
	Path           string
	Data           []byte
	ACL            []ACL
	ParentCVersion int32
}

func (r *CreateContainerTxn) Encode(e *Encoder) {
	e.String(r.Path)
	e.Buffer(r.Data)
	EncodeACLs(e, r.ACL)
	e.Int(r.ParentCVersion)
}

func (r *CreateContainerTxn) Decode(d *Decoder) {
	r.Path = d.String()
	r.Data = d.Buffer()
	r.ACL = DecodeACLs(d)
	r.ParentCVersion = d.Int()
}

// DeleteTxn deletes a node (txn types 2 and 20).
type DeleteTxn struct{ Path string }

func (r *DeleteTxn) Encode(e *Encoder) { e.String(r.Path) }
func (r *DeleteTxn) Decode(d *Decoder) { r.Path = d.String() }

// SetDataTxn sets data; Version is the new version (types 5 and 16).
type SetDataTxn struct {
	Path    string
	Data    []byte
	Version int32
}

func (r *SetDataTxn) Encode(e *Encoder) { e.String(r.Path); e.Buffer(r.Data); e.Int(r.Version) }
func (r *SetDataTxn) Decode(d *Decoder) {
	r.Path = d.String()
	r.Data = d.Buffer()
	r.Version = d.Int()
}

// CheckVersionTxn asserts a version inside a multi (type 13).
type CheckVersionTxn struct {
	Path    string
	Version int32
}

func (r *CheckVersionTxn) Encode(e *Encoder) { e.String(r.Path); e.Int(r.Version) }
func (r *CheckVersionTxn) Decode(d *Decoder) { r.Path = d.String(); r.Version = d.Int() }

// SetACLTxn sets an ACL; Version is the new aversion (type 7).
type SetACLTxn struct {
	Path    string
	ACL     []ACL
	Version int32
}

func (r *SetACLTxn) Encode(e *Encoder) { e.String(r.Path); EncodeACLs(e, r.ACL); e.Int(r.Version) }
func (r *SetACLTxn) Decode(d *Decoder) {
	r.Path = d.String()
	r.ACL = DecodeACLs(d)
	r.Version = d.Int()
}

// SetMaxChildrenTxn is legacy.
type SetMaxChildrenTxn struct {
	Path string
	Max  int32
}

func (r *SetMaxChildrenTxn) Encode(e *Encoder) { e.String(r.Path); e.Int(r.Max) }
func (r *SetMaxChildrenTxn) Decode(d *Decoder) { r.Path = d.String(); r.Max = d.Int() }

// CreateSessionTxn opens a session (type -10).
type CreateSessionTxn struct{ TimeOut int32 }

func (r *CreateSessionTxn) Encode(e *Encoder) { e.Int(r.TimeOut) }
func (r *CreateSessionTxn) Decode(d *Decoder) { r.TimeOut = d.Int() }

// CloseSessionTxn closes a session and names its ephemerals (type -11).
type CloseSessionTxn struct{ Paths2Delete []string }

func (r *CloseSessionTxn) Encode(e *Encoder) { e.Strings(r.Paths2Delete) }
func (r *CloseSessionTxn) Decode(d *Decoder) { r.Paths2Delete = d.Strings() }

// ErrorTxn records a failed write (type -1).
type ErrorTxn struct{ Err int32 }

func (r *ErrorTxn) Encode(e *Encoder) { e.Int(r.Err) }
func (r *ErrorTxn) Decode(d *Decoder) { r.Err = d.Int() }

// Txn is one op of a MultiTxn: its type and its serialized record.
type Txn struct {
	Type int32
	Data []byte
}

func (r *Txn) Encode(e *Encoder) { e.Int(r.Type); e.Buffer(r.Data) }
func (r *Txn) Decode(d *Decoder) { r.Type = d.Int(); r.Data = d.Buffer() }

// MultiTxn is a multi's ops sharing one zxid (type 14).
type MultiTxn struct{ Txns []Txn }

func (r *MultiTxn) Encode(e *Encoder) {
	e.VectorLen(len(r.Txns), r.Txns == nil)
	for i := range r.Txns {
		r.Txns[i].Encode(e)
	}
}

func (r *MultiTxn) Decode(d *Decoder) {
	n := d.VectorLen(8)
	if n < 0 {
		r.Txns = nil
		return
	}
	r.Txns = make([]Txn, n)
	for i := range r.Txns {
		r.Txns[i].Decode(d)
	}
}

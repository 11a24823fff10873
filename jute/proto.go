package jute

// Records of module org.apache.zookeeper.proto: the client protocol.

// ConnectRequest opens or resumes a session. Clients older than 3.4 omit
// the trailing readOnly byte; OmitReadOnly records that so the reply can
// answer in kind.
type ConnectRequest struct {
	ProtocolVersion int32
	LastZxidSeen    int64
	TimeOut         int32
	SessionID       int64
	Passwd          []byte
	ReadOnly        bool
	OmitReadOnly    bool
}

func (r *ConnectRequest) Encode(e *Encoder) {
	e.Int(r.ProtocolVersion)
	e.Long(r.LastZxidSeen)
	e.Int(r.TimeOut)
	e.Long(r.SessionID)
	e.Buffer(r.Passwd)
	if !r.OmitReadOnly {
		e.Bool(r.ReadOnly)
	}
}

func (r *ConnectRequest) Decode(d *Decoder) {
	r.ProtocolVersion = d.Int()
	r.LastZxidSeen = d.Long()
	r.TimeOut = d.Int()
	r.SessionID = d.Long()
	r.Passwd = d.Buffer()
	if d.Err() == nil && d.Remaining() == 0 {
		r.OmitReadOnly = true
		return
	}
	r.ReadOnly = d.Bool()
}

// ConnectResponse answers a ConnectRequest.
type ConnectResponse struct {
	ProtocolVersion int32
	TimeOut         int32
	SessionID       int64
	Passwd          []byte
	ReadOnly        bool
	OmitReadOnly    bool
}

func (r *ConnectResponse) Encode(e *Encoder) {
	e.Int(r.ProtocolVersion)
	e.Int(r.TimeOut)
	e.Long(r.SessionID)
	e.Buffer(r.Passwd)
	if !r.OmitReadOnly {
		e.Bool(r.ReadOnly)
	}
}

func (r *ConnectResponse) Decode(d *Decoder) {
	r.ProtocolVersion = d.Int()
	r.TimeOut = d.Int()
	r.SessionID = d.Long()
	r.Passwd = d.Buffer()
	if d.Err() == nil && d.Remaining() == 0 {
		r.OmitReadOnly = true
		return
	}
	r.ReadOnly = d.Bool()
}

// SetWatches re-registers watches after a reconnect (opcode 101).
type SetWatches struct {
	RelativeZxid int64
	DataWatches  []string
	ExistWatches []string
	ChildWatches []string
}

func (r *SetWatches) Encode(e *Encoder) {
	e.Long(r.RelativeZxid)
	e.Strings(r.DataWatches)
	e.Strings(r.ExistWatches)
	e.Strings(r.ChildWatches)
}

func (r *SetWatches) Decode(d *Decoder) {
	r.RelativeZxid = d.Long()
	r.DataWatches = d.Strings()
	r.ExistWatches = d.Strings()
	r.ChildWatches = d.Strings()
}

// SetWatches2 adds persistent watches to SetWatches (opcode 105).
type SetWatches2 struct {
	RelativeZxid               int64
	DataWatches                []string
	ExistWatches               []string
	ChildWatches               []string
	PersistentWatches          []string
	PersistentRecursiveWatches []string
}

func (r *SetWatches2) Encode(e *Encoder) {
	e.Long(r.RelativeZxid)
	e.Strings(r.DataWatches)
	e.Strings(r.ExistWatches)
	e.Strings(r.ChildWatches)
	e.Strings(r.PersistentWatches)
	e.Strings(r.PersistentRecursiveWatches)
}

func (r *SetWatches2) Decode(d *Decoder) {
	r.RelativeZxid = d.Long()
	r.DataWatches = d.Strings()
	r.ExistWatches = d.Strings()
	r.ChildWatches = d.Strings()
	r.PersistentWatches = d.Strings()
	r.PersistentRecursiveWatches = d.Strings()
}

// RequestHeader precedes every client request after the handshake.
type RequestHeader struct {
	Xid  int32
	Type int32
}

func (r *RequestHeader) Encode(e *Encoder) { e.Int(r.Xid); e.Int(r.Type) }
func (r *RequestHeader) Decode(d *Decoder) { r.Xid = d.Int(); r.Type = d.Int() }

// MultiHeader precedes each op and each result of a multi.
type MultiHeader struct {
	Type int32
	Done bool
	Err  int32
}

func (r *MultiHeader) Encode(e *Encoder) { e.Int(r.Type); e.Bool(r.Done); e.Int(r.Err) }
func (r *MultiHeader) Decode(d *Decoder) { r.Type = d.Int(); r.Done = d.Bool(); r.Err = d.Int() }

// AuthPacket carries credentials for an auth scheme (xid -4).
type AuthPacket struct {
	Type   int32
	Scheme string
	Auth   []byte
}

func (r *AuthPacket) Encode(e *Encoder) { e.Int(r.Type); e.String(r.Scheme); e.Buffer(r.Auth) }
func (r *AuthPacket) Decode(d *Decoder) { r.Type = d.Int(); r.Scheme = d.String(); r.Auth = d.Buffer() }

// ReplyHeaderLen is the encoded size of a ReplyHeader.
const ReplyHeaderLen = 16

// ReplyHeader precedes every server frame after the handshake.
type ReplyHeader struct {
	Xid  int32
	Zxid int64
	Err  int32
}

func (r *ReplyHeader) Encode(e *Encoder) { e.Int(r.Xid); e.Long(r.Zxid); e.Int(r.Err) }
func (r *ReplyHeader) Decode(d *Decoder) { r.Xid = d.Int(); r.Zxid = d.Long(); r.Err = d.Int() }

// GetDataRequest reads a node's data (opcode 4).
type GetDataRequest struct {
	Path  string
	Watch bool
}

func (r *GetDataRequest) Encode(e *Encoder) { e.String(r.Path); e.Bool(r.Watch) }
func (r *GetDataRequest) Decode(d *Decoder) { r.Path = d.String(); r.Watch = d.Bool() }

// SetDataRequest replaces a node's data (opcode 5).
type SetDataRequest struct {
	Path    string
	Data    []byte
	Version int32
}

func (r *SetDataRequest) Encode(e *Encoder) { e.String(r.Path); e.Buffer(r.Data); e.Int(r.Version) }
func (r *SetDataRequest) Decode(d *Decoder) {
	r.Path = d.String()
	r.Data = d.Buffer()
	r.Version = d.Int()
}

// ReconfigRequest changes the ensemble (opcode 16). Its strings are
// nullable and ZooKeeper tells null from "": the clients send a null
// newMembers for an incremental reconfig (joining/leaving lists) and null
// lists for a non-incremental one (PrepRequestProcessor tests
// newMembers != null). The ...Null fields keep that through a decode and
// encode; when one is set its string is ignored and reads back as "".
// The zero value of each pair is the empty string.
type ReconfigRequest struct {
	JoiningServers     string
	JoiningServersNull bool
	LeavingServers     string
	LeavingServersNull bool
	NewMembers         string
	NewMembersNull     bool
	CurConfigID        int64
}

func (r *ReconfigRequest) Encode(e *Encoder) {
	e.NullableString(r.JoiningServers, r.JoiningServersNull)
	e.NullableString(r.LeavingServers, r.LeavingServersNull)
	e.NullableString(r.NewMembers, r.NewMembersNull)
	e.Long(r.CurConfigID)
}

func (r *ReconfigRequest) Decode(d *Decoder) {
	r.JoiningServers, r.JoiningServersNull = d.NullableString()
	r.LeavingServers, r.LeavingServersNull = d.NullableString()
	r.NewMembers, r.NewMembersNull = d.NullableString()
	r.CurConfigID = d.Long()
}

// SetDataResponse carries the Stat after a setData (also exists, check).
type SetDataResponse struct{ Stat Stat }

func (r *SetDataResponse) Encode(e *Encoder) { r.Stat.Encode(e) }
func (r *SetDataResponse) Decode(d *Decoder) { r.Stat.Decode(d) }

// GetSASLRequest carries a SASL token (opcode 102).
type GetSASLRequest struct{ Token []byte }

func (r *GetSASLRequest) Encode(e *Encoder) { e.Buffer(r.Token) }
func (r *GetSASLRequest) Decode(d *Decoder) { r.Token = d.Buffer() }

// SetSASLRequest is part of the schema but unused.
type SetSASLRequest struct{ Token []byte }

func (r *SetSASLRequest) Encode(e *Encoder) { e.Buffer(r.Token) }
func (r *SetSASLRequest) Decode(d *Decoder) { r.Token = d.Buffer() }

// SetSASLResponse answers a GetSASLRequest.
type SetSASLResponse struct{ Token []byte }

func (r *SetSASLResponse) Encode(e *Encoder) { e.Buffer(r.Token) }
func (r *SetSASLResponse) Decode(d *Decoder) { r.Token = d.Buffer() }

// CreateRequest creates a node (opcodes 1, 15, 19).
type CreateRequest struct {
	Path  string
	Data  []byte
	ACL   []ACL
	Flags int32
}

func (r *CreateRequest) Encode(e *Encoder) {
	e.String(r.Path)
	e.Buffer(r.Data)
	EncodeACLs(e, r.ACL)
	e.Int(r.Flags)
}

func (r *CreateRequest) Decode(d *Decoder) {
	r.Path = d.String()
	r.Data = d.Buffer()
	r.ACL = DecodeACLs(d)
	r.Flags = d.Int()
}

// CreateTTLRequest creates a node with a time to live (opcode 21).
type CreateTTLRequest struct {
	Path  string
	Data  []byte
	ACL   []ACL
	Flags int32
	TTL   int64
}

func (r *CreateTTLRequest) Encode(e *Encoder) {
	e.String(r.Path)
	e.Buffer(r.Data)
	EncodeACLs(e, r.ACL)
	e.Int(r.Flags)
	e.Long(r.TTL)
}

func (r *CreateTTLRequest) Decode(d *Decoder) {
	r.Path = d.String()
	r.Data = d.Buffer()
	r.ACL = DecodeACLs(d)
	r.Flags = d.Int()
	r.TTL = d.Long()
}

// DeleteRequest deletes a node (opcode 2).
type DeleteRequest struct {
	Path    string
	Version int32
}

func (r *DeleteRequest) Encode(e *Encoder) { e.String(r.Path); e.Int(r.Version) }
func (r *DeleteRequest) Decode(d *Decoder) { r.Path = d.String(); r.Version = d.Int() }

// GetChildrenRequest lists children (opcode 8).
type GetChildrenRequest struct {
	Path  string
	Watch bool
}

func (r *GetChildrenRequest) Encode(e *Encoder) { e.String(r.Path); e.Bool(r.Watch) }
func (r *GetChildrenRequest) Decode(d *Decoder) { r.Path = d.String(); r.Watch = d.Bool() }

// GetAllChildrenNumberRequest counts descendants (opcode 104).
type GetAllChildrenNumberRequest struct{ Path string }

func (r *GetAllChildrenNumberRequest) Encode(e *Encoder) { e.String(r.Path) }
func (r *GetAllChildrenNumberRequest) Decode(d *Decoder) { r.Path = d.String() }

// GetChildren2Request lists children with the parent's Stat (opcode 12).
type GetChildren2Request struct {
	Path  string
	Watch bool
}

func (r *GetChildren2Request) Encode(e *Encoder) { e.String(r.Path); e.Bool(r.Watch) }
func (r *GetChildren2Request) Decode(d *Decoder) { r.Path = d.String(); r.Watch = d.Bool() }

// CheckVersionRequest asserts a node's version (opcode 13).
type CheckVersionRequest struct {
	Path    string
	Version int32
}

func (r *CheckVersionRequest) Encode(e *Encoder) { e.String(r.Path); e.Int(r.Version) }
func (r *CheckVersionRequest) Decode(d *Decoder) { r.Path = d.String(); r.Version = d.Int() }

// GetMaxChildrenRequest is legacy and unused.
type GetMaxChildrenRequest struct{ Path string }

func (r *GetMaxChildrenRequest) Encode(e *Encoder) { e.String(r.Path) }
func (r *GetMaxChildrenRequest) Decode(d *Decoder) { r.Path = d.String() }

// GetMaxChildrenResponse is legacy and unused.
type GetMaxChildrenResponse struct{ Max int32 }

func (r *GetMaxChildrenResponse) Encode(e *Encoder) { e.Int(r.Max) }
func (r *GetMaxChildrenResponse) Decode(d *Decoder) { r.Max = d.Int() }

// SetMaxChildrenRequest is legacy and unused.
type SetMaxChildrenRequest struct {
	Path string
	Max  int32
}

func (r *SetMaxChildrenRequest) Encode(e *Encoder) { e.String(r.Path); e.Int(r.Max) }
func (r *SetMaxChildrenRequest) Decode(d *Decoder) { r.Path = d.String(); r.Max = d.Int() }

// SyncRequest asks the server to catch up with the leader (opcode 9).
type SyncRequest struct{ Path string }

func (r *SyncRequest) Encode(e *Encoder) { e.String(r.Path) }
func (r *SyncRequest) Decode(d *Decoder) { r.Path = d.String() }

// SyncResponse echoes the path of a sync.
type SyncResponse struct{ Path string }

func (r *SyncResponse) Encode(e *Encoder) { e.String(r.Path) }
func (r *SyncResponse) Decode(d *Decoder) { r.Path = d.String() }

// GetACLRequest reads a node's ACL (opcode 6).
type GetACLRequest struct{ Path string }

func (r *GetACLRequest) Encode(e *Encoder) { e.String(r.Path) }
func (r *GetACLRequest) Decode(d *Decoder) { r.Path = d.String() }

// SetACLRequest replaces a node's ACL (opcode 7).
type SetACLRequest struct {
	Path    string
	ACL     []ACL
	Version int32
}

func (r *SetACLRequest) Encode(e *Encoder) { e.String(r.Path); EncodeACLs(e, r.ACL); e.Int(r.Version) }
func (r *SetACLRequest) Decode(d *Decoder) {
	r.Path = d.String()
	r.ACL = DecodeACLs(d)
	r.Version = d.Int()
}

// SetACLResponse carries the Stat after a setACL.
type SetACLResponse struct{ Stat Stat }

func (r *SetACLResponse) Encode(e *Encoder) { r.Stat.Encode(e) }
func (r *SetACLResponse) Decode(d *Decoder) { r.Stat.Decode(d) }

// AddWatchRequest adds a persistent watch (opcode 106).
type AddWatchRequest struct {
	Path string
	Mode int32
}

func (r *AddWatchRequest) Encode(e *Encoder) { e.String(r.Path); e.Int(r.Mode) }
func (r *AddWatchRequest) Decode(d *Decoder) { r.Path = d.String(); r.Mode = d.Int() }

// WatcherEvent is the body of a notification (xid -1).
type WatcherEvent struct {
	Type  int32
	State int32
	Path  string
}

func (r *WatcherEvent) Encode(e *Encoder) { e.Int(r.Type); e.Int(r.State); e.String(r.Path) }
func (r *WatcherEvent) Decode(d *Decoder) { r.Type = d.Int(); r.State = d.Int(); r.Path = d.String() }

// ErrorResponse carries an error code (multi results, addWatch).
type ErrorResponse struct{ Err int32 }

func (r *ErrorResponse) Encode(e *Encoder) { e.Int(r.Err) }
func (r *ErrorResponse) Decode(d *Decoder) { r.Err = d.Int() }

// CreateResponse answers create (opcode 1).
type CreateResponse struct{ Path string }

func (r *CreateResponse) Encode(e *Encoder) { e.String(r.Path) }
func (r *CreateResponse) Decode(d *Decoder) { r.Path = d.String() }

// Create2Response answers create2, createContainer and createTTL.
type Create2Response struct {
	Path string
	Stat Stat
}

func (r *Create2Response) Encode(e *Encoder) { e.String(r.Path); r.Stat.Encode(e) }
func (r *Create2Response) Decode(d *Decoder) { r.Path = d.String(); r.Stat.Decode(d) }

// ExistsRequest checks a node (opcode 3).
type ExistsRequest struct {
	Path  string
	Watch bool
}

func (r *ExistsRequest) Encode(e *Encoder) { e.String(r.Path); e.Bool(r.Watch) }
func (r *ExistsRequest) Decode(d *Decoder) { r.Path = d.String(); r.Watch = d.Bool() }

// ExistsResponse carries the Stat of an existing node.
type ExistsResponse struct{ Stat Stat }

func (r *ExistsResponse) Encode(e *Encoder) { r.Stat.Encode(e) }
func (r *ExistsResponse) Decode(d *Decoder) { r.Stat.Decode(d) }

// GetDataResponse answers getData (and reconfig).
type GetDataResponse struct {
	Data []byte
	Stat Stat
}

func (r *GetDataResponse) Encode(e *Encoder) { e.Buffer(r.Data); r.Stat.Encode(e) }
func (r *GetDataResponse) Decode(d *Decoder) { r.Data = d.Buffer(); r.Stat.Decode(d) }

// GetChildrenResponse answers getChildren.
type GetChildrenResponse struct{ Children []string }

func (r *GetChildrenResponse) Encode(e *Encoder) { e.Strings(r.Children) }
func (r *GetChildrenResponse) Decode(d *Decoder) { r.Children = d.Strings() }

// GetAllChildrenNumberResponse answers getAllChildrenNumber.
type GetAllChildrenNumberResponse struct{ TotalNumber int32 }

func (r *GetAllChildrenNumberResponse) Encode(e *Encoder) { e.Int(r.TotalNumber) }
func (r *GetAllChildrenNumberResponse) Decode(d *Decoder) { r.TotalNumber = d.Int() }

// GetChildren2Response answers getChildren2.
type GetChildren2Response struct {
	Children []string
	Stat     Stat
}

func (r *GetChildren2Response) Encode(e *Encoder) { e.Strings(r.Children); r.Stat.Encode(e) }
func (r *GetChildren2Response) Decode(d *Decoder) { r.Children = d.Strings(); r.Stat.Decode(d) }

// GetACLResponse answers getACL.
type GetACLResponse struct {
	ACL  []ACL
	Stat Stat
}

func (r *GetACLResponse) Encode(e *Encoder) { EncodeACLs(e, r.ACL); r.Stat.Encode(e) }
func (r *GetACLResponse) Decode(d *Decoder) { r.ACL = DecodeACLs(d); r.Stat.Decode(d) }

// CheckWatchesRequest asks whether a watch exists (opcode 17).
type CheckWatchesRequest struct {
	Path string
	Type int32
}

func (r *CheckWatchesRequest) Encode(e *Encoder) { e.String(r.Path); e.Int(r.Type) }
func (r *CheckWatchesRequest) Decode(d *Decoder) { r.Path = d.String(); r.Type = d.Int() }

// RemoveWatchesRequest removes watches (opcode 18).
type RemoveWatchesRequest struct {
	Path string
	Type int32
}

func (r *RemoveWatchesRequest) Encode(e *Encoder) { e.String(r.Path); e.Int(r.Type) }
func (r *RemoveWatchesRequest) Decode(d *Decoder) { r.Path = d.String(); r.Type = d.Int() }

// GetEphemeralsRequest lists the session's ephemerals (opcode 103).
type GetEphemeralsRequest struct{ PrefixPath string }

func (r *GetEphemeralsRequest) Encode(e *Encoder) { e.String(r.PrefixPath) }
func (r *GetEphemeralsRequest) Decode(d *Decoder) { r.PrefixPath = d.String() }

// GetEphemeralsResponse answers getEphemerals.
type GetEphemeralsResponse struct{ Ephemerals []string }

func (r *GetEphemeralsResponse) Encode(e *Encoder) { e.Strings(r.Ephemerals) }
func (r *GetEphemeralsResponse) Decode(d *Decoder) { r.Ephemerals = d.Strings() }

// WhoAmIResponse answers whoAmI (opcode 107).
type WhoAmIResponse struct{ ClientInfo []ClientInfo }

func (r *WhoAmIResponse) Encode(e *Encoder) {
	e.VectorLen(len(r.ClientInfo), r.ClientInfo == nil)
	for i := range r.ClientInfo {
		r.ClientInfo[i].Encode(e)
	}
}

func (r *WhoAmIResponse) Decode(d *Decoder) {
	n := d.VectorLen(8)
	if n < 0 {
		r.ClientInfo = nil
		return
	}
	r.ClientInfo = make([]ClientInfo, n)
	for i := range r.ClientInfo {
		r.ClientInfo[i].Decode(d)
	}
}

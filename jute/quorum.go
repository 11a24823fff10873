package jute

// Records of module org.apache.zookeeper.server.quorum.

// LearnerInfo introduces a follower or observer to the leader.
type LearnerInfo struct {
	ServerID        int64
	ProtocolVersion int32
	ConfigVersion   int64
}

func (r *LearnerInfo) Encode(e *Encoder) {
	e.Long(r.ServerID)
	e.Int(r.ProtocolVersion)
	e.Long(r.ConfigVersion)
}

func (r *LearnerInfo) Decode(d *Decoder) {
	r.ServerID = d.Long()
	r.ProtocolVersion = d.Int()
	r.ConfigVersion = d.Long()
}

// QuorumPacket is the unit of the Zab peer protocol.
type QuorumPacket struct {
	Type     int32
	Zxid     int64
	Data     []byte
	AuthInfo []Id
}

func (r *QuorumPacket) Encode(e *Encoder) {
	e.Int(r.Type)
	e.Long(r.Zxid)
	e.Buffer(r.Data)
	EncodeIds(e, r.AuthInfo)
}

func (r *QuorumPacket) Decode(d *Decoder) {
	r.Type = d.Int()
	r.Zxid = d.Long()
	r.Data = d.Buffer()
	r.AuthInfo = DecodeIds(d)
}

// QuorumAuthPacket carries quorum SASL tokens.
type QuorumAuthPacket struct {
	Magic  int64
	Status int32
	Token  []byte
}

func (r *QuorumAuthPacket) Encode(e *Encoder) { e.Long(r.Magic); e.Int(r.Status); e.Buffer(r.Token) }
func (r *QuorumAuthPacket) Decode(d *Decoder) {
	r.Magic = d.Long()
	r.Status = d.Int()
	r.Token = d.Buffer()
}

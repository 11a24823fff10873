package quorum

import (
	"encoding/binary"
	"fmt"

	"zkd/jute"
)

// QuorumPacket types (Leader.java).
const (
	PacketRequest           int32 = 1
	PacketProposal          int32 = 2
	PacketAck               int32 = 3
	PacketCommit            int32 = 4
	PacketPing              int32 = 5
	PacketRevalidate        int32 = 6
	PacketSync              int32 = 7
	PacketInform            int32 = 8
	PacketCommitAndActivate int32 = 9
	PacketNewLeader         int32 = 10
	PacketFollowerInfo      int32 = 11
	PacketUpToDate          int32 = 12
	PacketDiff              int32 = 13
	PacketTrunc             int32 = 14
	PacketSnap              int32 = 15
	PacketObserverInfo      int32 = 16
	PacketLeaderInfo        int32 = 17
	PacketAckEpoch          int32 = 18
	PacketInformAndActivate int32 = 19
)

// ProtocolVersion is Zab 1.0 as LEADERINFO and LearnerInfo state it.
const ProtocolVersion = 0x10000

// PacketName names a packet type for logs.
func PacketName(t int32) string {
	names := map[int32]string{
		PacketRequest: "REQUEST", PacketProposal: "PROPOSAL", PacketAck: "ACK", PacketCommit: "COMMIT",
		PacketPing: "PING", PacketRevalidate: "REVALIDATE", PacketSync: "SYNC", PacketInform: "INFORM",
		PacketCommitAndActivate: "COMMITANDACTIVATE", PacketNewLeader: "NEWLEADER",
		PacketFollowerInfo: "FOLLOWERINFO", PacketUpToDate: "UPTODATE", PacketDiff: "DIFF",
		PacketTrunc: "TRUNC", PacketSnap: "SNAP", PacketObserverInfo: "OBSERVERINFO",
		PacketLeaderInfo: "LEADERINFO", PacketAckEpoch: "ACKEPOCH", PacketInformAndActivate: "INFORMANDACTIVATE",
	}
	if n, ok := names[t]; ok {
		return n
	}
	return fmt.Sprintf("UNKNOWN(%d)", t)
}

// Zxid helpers: epoch in the high 32 bits, counter in the low.
func MakeZxid(epoch, counter int64) int64 { return epoch<<32 | counter&0xffffffff }
func EpochOf(zxid int64) int64            { return int64(uint64(zxid) >> 32) }
func CounterOf(zxid int64) int64          { return zxid & 0xffffffff }

// RequestData is the payload of a REQUEST a learner forwards: the
// client's session, xid and opcode, then the raw request record.
type RequestData struct {
	SessionID int64
	Cxid      int32
	Type      int32
	Body      []byte
}

// Marshal encodes a REQUEST payload.
func (r *RequestData) Marshal() []byte {
	b := make([]byte, 16, 16+len(r.Body))
	binary.BigEndian.PutUint64(b, uint64(r.SessionID))
	binary.BigEndian.PutUint32(b[8:], uint32(r.Cxid))
	binary.BigEndian.PutUint32(b[12:], uint32(r.Type))
	return append(b, r.Body...)
}

// ParseRequestData decodes a REQUEST payload.
func ParseRequestData(b []byte) (RequestData, error) {
	if len(b) < 16 {
		return RequestData{}, fmt.Errorf("REQUEST payload of %d bytes", len(b))
	}
	return RequestData{
		SessionID: int64(binary.BigEndian.Uint64(b)),
		Cxid:      int32(binary.BigEndian.Uint32(b[8:])),
		Type:      int32(binary.BigEndian.Uint32(b[12:])),
		Body:      b[16:],
	}, nil
}

// Touch is a session a learner saw traffic for since its last PING.
type Touch struct {
	SessionID int64
	Timeout   int32
}

// MarshalTouches encodes a learner's PING reply payload.
func MarshalTouches(ts []Touch) []byte {
	b := make([]byte, 0, 12*len(ts))
	for _, t := range ts {
		b = binary.BigEndian.AppendUint64(b, uint64(t.SessionID))
		b = binary.BigEndian.AppendUint32(b, uint32(t.Timeout))
	}
	return b
}

// ParseTouches decodes a PING payload from a learner.
func ParseTouches(b []byte) []Touch {
	var out []Touch
	for len(b) >= 12 {
		out = append(out, Touch{SessionID: int64(binary.BigEndian.Uint64(b)), Timeout: int32(binary.BigEndian.Uint32(b[8:]))})
		b = b[12:]
	}
	return out
}

// LearnerInfoFromPacket reads FOLLOWERINFO/OBSERVERINFO data, accepting
// the 8-, 12- and 20-byte layouts.
func LearnerInfoFromPacket(b []byte) (info jute.LearnerInfo, ok bool) {
	if len(b) < 8 {
		return info, false
	}
	info.ServerID = int64(binary.BigEndian.Uint64(b))
	if len(b) >= 12 {
		info.ProtocolVersion = int32(binary.BigEndian.Uint32(b[8:]))
	}
	if len(b) >= 20 {
		info.ConfigVersion = int64(binary.BigEndian.Uint64(b[12:]))
	} else {
		info.ConfigVersion = -1
	}
	return info, true
}

func int32Bytes(v int32) []byte {
	return binary.BigEndian.AppendUint32(nil, uint32(v))
}

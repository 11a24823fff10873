package quorum

import (
	"encoding/binary"
	"fmt"
)

// ServerState is QuorumPeer.ServerState; its ordinal is on the wire.
type ServerState int32

const (
	Looking   ServerState = 0
	Following ServerState = 1
	Leading   ServerState = 2
	Observing ServerState = 3
)

func (s ServerState) String() string {
	switch s {
	case Looking:
		return "LOOKING"
	case Following:
		return "FOLLOWING"
	case Leading:
		return "LEADING"
	case Observing:
		return "OBSERVING"
	}
	return fmt.Sprintf("STATE(%d)", int32(s))
}

// NotificationVersion is the FLE message format zkd sends.
const NotificationVersion = 2

// Notification is a FastLeaderElection message. The sender's sid is not in
// the payload; the connection tells it.
type Notification struct {
	State         ServerState
	Leader        int64
	Zxid          int64
	ElectionEpoch int64
	PeerEpoch     int64
	Version       int32
	Config        []byte
}

// Marshal encodes version 2: 44 bytes plus the config text.
func (n *Notification) Marshal() []byte {
	b := make([]byte, 44+len(n.Config))
	binary.BigEndian.PutUint32(b[0:], uint32(n.State))
	binary.BigEndian.PutUint64(b[4:], uint64(n.Leader))
	binary.BigEndian.PutUint64(b[12:], uint64(n.Zxid))
	binary.BigEndian.PutUint64(b[20:], uint64(n.ElectionEpoch))
	binary.BigEndian.PutUint64(b[28:], uint64(n.PeerEpoch))
	binary.BigEndian.PutUint32(b[36:], NotificationVersion)
	binary.BigEndian.PutUint32(b[40:], uint32(len(n.Config)))
	copy(b[44:], n.Config)
	return b
}

// ParseNotification decodes every layout ZooKeeper accepts: 28 bytes (no
// peer epoch: derived from the zxid), 40 bytes (no version), and version
// 2 with a config text.
func ParseNotification(b []byte) (Notification, error) {
	var n Notification
	if len(b) < 28 {
		return n, fmt.Errorf("notification of %d bytes is too short", len(b))
	}
	n.State = ServerState(int32(binary.BigEndian.Uint32(b[0:])))
	n.Leader = int64(binary.BigEndian.Uint64(b[4:]))
	n.Zxid = int64(binary.BigEndian.Uint64(b[12:]))
	n.ElectionEpoch = int64(binary.BigEndian.Uint64(b[20:]))
	switch {
	case len(b) == 28:
		n.PeerEpoch = n.Zxid >> 32
		return n, nil
	case len(b) < 40:
		return n, fmt.Errorf("notification of %d bytes is malformed", len(b))
	}
	n.PeerEpoch = int64(binary.BigEndian.Uint64(b[28:]))
	if len(b) == 40 {
		return n, nil
	}
	n.Version = int32(binary.BigEndian.Uint32(b[36:]))
	if n.Version > 1 {
		if len(b) < 44 {
			return n, fmt.Errorf("notification of %d bytes lacks its config length", len(b))
		}
		l := int32(binary.BigEndian.Uint32(b[40:]))
		if l < 0 || int(l) > len(b)-44 {
			return n, fmt.Errorf("notification config length %d exceeds the message", l)
		}
		n.Config = append([]byte(nil), b[44:44+int(l)]...)
	}
	if n.State < Looking || n.State > Observing {
		return n, fmt.Errorf("notification with unknown state %d", n.State)
	}
	return n, nil
}

package quorum

import (
	"encoding/binary"
	"fmt"
	"time"

	"zkd/jute"
)

// LearnerConfig sets a follower or observer up.
type LearnerConfig struct {
	ID       int64
	Observer bool
	// ConfigVersion is the version of this server's ensemble config.
	ConfigVersion int64
	TickTime      time.Duration
	// InitLimit and SyncLimit are in ticks.
	InitLimit, SyncLimit int
}

type learnerState int

const (
	lsLeaderInfo learnerState = iota // info sent, waiting for LEADERINFO
	lsSyncMode                       // ACKEPOCH sent, waiting for DIFF/TRUNC/SNAP
	lsSyncing                        // receiving txns until NEWLEADER and UPTODATE
	lsBroadcast                      // serving
)

type pendingTxn struct {
	zxid      int64
	data      []byte
	logged    bool
	committed bool
}

// Learner is Zab's follower or observer side (Learner, Follower,
// Observer) as a deterministic state machine.
type Learner struct {
	cfg LearnerConfig

	state      learnerState
	acceptedEp int64
	currentEp  int64
	lastLogged int64
	newEpoch   int64
	snapNeeded bool
	gotSnap    bool
	toLog      bool // writeToTxnLog: keep txns for the log instead of applying them
	pending    []pendingTxn
	proposals  map[int64][]byte // logged or logging, not committed (broadcast)
	lastQueued int64
	lastPacket time.Time
	failed     bool
	out        []Action
}

// NewLearner connects as a learner: the caller has a connection to the
// leader and these are the server's persisted epochs and last logged zxid.
func NewLearner(cfg LearnerConfig, now time.Time, acceptedEpoch, currentEpoch, lastLoggedZxid int64) *Learner {
	l := &Learner{cfg: cfg, acceptedEp: acceptedEpoch, currentEp: currentEpoch, lastLogged: lastLoggedZxid,
		lastPacket: now, proposals: map[int64][]byte{}}
	typ := PacketFollowerInfo
	if cfg.Observer {
		typ = PacketObserverInfo
	}
	info := jute.LearnerInfo{ServerID: cfg.ID, ProtocolVersion: ProtocolVersion, ConfigVersion: cfg.ConfigVersion}
	l.send(typ, MakeZxid(acceptedEpoch, 0), jute.Marshal(&info))
	return l
}

// Ready returns the actions to perform and clears them.
func (l *Learner) Ready() []Action {
	out := l.out
	l.out = nil
	return out
}

// Serving reports whether the learner finished syncing.
func (l *Learner) Serving() bool { return l.state == lsBroadcast }

// Epoch is the leader's epoch, once known.
func (l *Learner) Epoch() int64 { return l.newEpoch }

func (l *Learner) send(typ int32, zxid int64, data []byte) {
	l.out = append(l.out, SendPacket{P: jute.QuorumPacket{Type: typ, Zxid: zxid, Data: data}})
}

func (l *Learner) fail(reason string) {
	if !l.failed {
		l.failed = true
		l.out = append(l.out, Failed{Reason: reason})
	}
}

// Packet handles a packet from the leader. For SNAP the driver has read
// the database stream that follows the packet before calling Packet.
func (l *Learner) Packet(now time.Time, p *jute.QuorumPacket) {
	if l.failed {
		return
	}
	l.lastPacket = now
	switch l.state {
	case lsLeaderInfo:
		l.leaderInfo(p)
	case lsSyncMode:
		l.syncMode(p)
	case lsSyncing:
		l.syncing(p)
	case lsBroadcast:
		l.broadcast(p)
	}
}

func (l *Learner) leaderInfo(p *jute.QuorumPacket) {
	if p.Type != PacketLeaderInfo {
		l.fail("first packet from the leader is " + PacketName(p.Type) + ", not LEADERINFO (pre-Zab 1.0 leaders are not supported)")
		return
	}
	l.newEpoch = EpochOf(p.Zxid)
	var ep int32
	switch {
	case l.newEpoch > l.acceptedEp:
		ep = int32(l.currentEp)
		l.acceptedEp = l.newEpoch
		l.out = append(l.out, PersistAcceptedEpoch{Epoch: l.newEpoch})
	case l.newEpoch == l.acceptedEp:
		// Already acked this epoch: send our zxid, not a second ack.
		ep = -1
	default:
		l.fail(fmt.Sprintf("leader's epoch %d is less than our accepted epoch %d", l.newEpoch, l.acceptedEp))
		return
	}
	l.send(PacketAckEpoch, l.lastLogged, int32Bytes(ep))
	l.state = lsSyncMode
}

func (l *Learner) syncMode(p *jute.QuorumPacket) {
	switch p.Type {
	case PacketDiff:
		l.snapNeeded = false
	case PacketSnap:
		l.snapNeeded = true
		l.gotSnap = true
		l.out = append(l.out, InstallSnapshot{Zxid: p.Zxid})
	case PacketTrunc:
		l.snapNeeded = true
		l.out = append(l.out, Truncate{Zxid: p.Zxid})
	default:
		l.fail("unexpected " + PacketName(p.Type) + " from the leader while syncing")
		return
	}
	l.toLog = !l.snapNeeded
	l.state = lsSyncing
}

func txnZxid(data []byte) (int64, bool) {
	// TxnHeader: clientId(8) cxid(4) zxid(8)
	if len(data) < 20 {
		return 0, false
	}
	return int64(binary.BigEndian.Uint64(data[12:])), true
}

func (l *Learner) syncing(p *jute.QuorumPacket) {
	switch p.Type {
	case PacketProposal:
		z, ok := txnZxid(p.Data)
		if !ok {
			l.fail("malformed PROPOSAL from the leader")
			return
		}
		l.lastQueued = z
		l.pending = append(l.pending, pendingTxn{zxid: z, data: p.Data})
	case PacketCommit, PacketCommitAndActivate:
		if l.toLog {
			for i := range l.pending {
				if l.pending[i].zxid == p.Zxid {
					l.pending[i].committed = true
				}
			}
			return
		}
		if len(l.pending) > 0 && l.pending[0].zxid == p.Zxid {
			l.out = append(l.out, ApplyTxn{Zxid: p.Zxid, Data: l.pending[0].data})
			l.pending = l.pending[1:]
		}
	case PacketInform, PacketInformAndActivate:
		data := p.Data
		if p.Type == PacketInformAndActivate && len(data) >= 8 {
			data = data[8:]
		}
		if !l.toLog {
			l.out = append(l.out, ApplyTxn{Zxid: p.Zxid, Data: data})
			return
		}
		l.pending = append(l.pending, pendingTxn{zxid: p.Zxid, data: data, committed: true})
	case PacketNewLeader:
		// Make what the sync brought durable before acking NEWLEADER: the
		// committed txns into the log, the rest by a snapshot.
		for i := range l.pending {
			if e := &l.pending[i]; e.committed && !e.logged {
				l.out = append(l.out, LogTxn{Zxid: e.zxid, Data: e.data})
				e.logged = true
			}
		}
		l.out = append(l.out, FlushLog{})
		if l.snapNeeded {
			l.out = append(l.out, TakeSnapshot{Replace: l.gotSnap})
		}
		l.currentEp = l.newEpoch
		l.out = append(l.out, PersistCurrentEpoch{Epoch: l.newEpoch})
		l.toLog = true
		l.send(PacketAck, p.Zxid, nil)
	case PacketUpToDate:
		l.state = lsBroadcast
		l.out = append(l.out, Serve{Epoch: l.newEpoch})
		l.send(PacketAck, MakeZxid(l.newEpoch, 0), nil)
		for _, e := range l.pending {
			if !e.logged {
				l.out = append(l.out, LogTxn{Zxid: e.zxid, Data: e.data})
				if !e.committed {
					l.proposals[e.zxid] = e.data
				}
			}
			if e.committed {
				l.out = append(l.out, Commit{Zxid: e.zxid, Data: e.data})
			}
		}
		l.pending = nil
	case PacketPing:
		l.out = append(l.out, ReplyPing{Zxid: p.Zxid})
	default:
		l.fail("unexpected " + PacketName(p.Type) + " from the leader while syncing")
	}
}

func (l *Learner) broadcast(p *jute.QuorumPacket) {
	switch p.Type {
	case PacketPing:
		l.out = append(l.out, ReplyPing{Zxid: p.Zxid})
	case PacketProposal:
		z, ok := txnZxid(p.Data)
		if !ok {
			l.fail("malformed PROPOSAL from the leader")
			return
		}
		l.lastQueued = z
		l.proposals[z] = p.Data
		l.out = append(l.out, LogTxn{Zxid: z, Data: p.Data})
	case PacketCommit, PacketCommitAndActivate:
		data, ok := l.proposals[p.Zxid]
		if !ok {
			l.fail(fmt.Sprintf("COMMIT 0x%x for a proposal never received", p.Zxid))
			return
		}
		delete(l.proposals, p.Zxid)
		l.out = append(l.out, Commit{Zxid: p.Zxid, Data: data})
	case PacketInform, PacketInformAndActivate:
		data := p.Data
		if p.Type == PacketInformAndActivate && len(data) >= 8 {
			data = data[8:]
		}
		l.out = append(l.out, LogTxn{Zxid: p.Zxid, Data: data}, Commit{Zxid: p.Zxid, Data: data})
	case PacketRevalidate:
		if len(p.Data) < 9 {
			return
		}
		l.out = append(l.out, RevalidateResult{SessionID: int64(binary.BigEndian.Uint64(p.Data)), Valid: p.Data[8] != 0})
	case PacketSync:
		l.out = append(l.out, SyncDone{})
	case PacketUpToDate:
		// ZooKeeper logs and ignores a late UPTODATE.
	}
}

// Logged reports a proposal durable in the local log: followers ack it.
func (l *Learner) Logged(zxid int64) {
	if l.state == lsBroadcast && !l.cfg.Observer && !l.failed {
		l.send(PacketAck, zxid, nil)
	}
}

// Request forwards a client write (or sync, or session change) to the
// leader.
func (l *Learner) Request(r RequestData, auth []jute.Id) {
	l.out = append(l.out, SendPacket{P: jute.QuorumPacket{Type: PacketRequest, Zxid: -1, Data: r.Marshal(), AuthInfo: auth}})
}

// Revalidate asks the leader about a session a client brings to this
// server.
func (l *Learner) Revalidate(session int64, timeout int32) {
	b := make([]byte, 12)
	binary.BigEndian.PutUint64(b, uint64(session))
	binary.BigEndian.PutUint32(b[8:], uint32(timeout))
	l.send(PacketRevalidate, -1, b)
}

// Tick checks the leader is alive: nothing from it for initLimit ticks
// while syncing, or syncLimit ticks once serving, ends the role.
func (l *Learner) Tick(now time.Time) {
	if l.failed {
		return
	}
	if limit := l.readTimeout(); now.Sub(l.lastPacket) > limit {
		l.fail("read timeout: nothing from the leader for " + limit.String())
	}
}

func (l *Learner) readTimeout() time.Duration {
	if l.state != lsBroadcast {
		return time.Duration(l.cfg.InitLimit) * l.cfg.TickTime
	}
	return time.Duration(l.cfg.SyncLimit) * l.cfg.TickTime
}

// NextDeadline is when Tick would find the leader silent for too long:
// ZooKeeper's learners notice by a socket read timeout, all at about the
// same time after the leader's last ping, and so start the next election
// together.
func (l *Learner) NextDeadline() time.Time {
	return l.lastPacket.Add(l.readTimeout() + time.Millisecond)
}

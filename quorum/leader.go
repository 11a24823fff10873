package quorum

import (
	"encoding/binary"
	"fmt"
	"sort"
	"time"

	"zkd/jute"
)

// History answers what the leader's txn log holds, for syncing learners
// that fell behind the in-memory committed log.
type History interface {
	// LogHas reports whether the txn log holds zxid (or, for a zxid that
	// opens an epoch, the txns right after it).
	LogHas(zxid int64) bool
}

// LeaderConfig sets a leader up.
type LeaderConfig struct {
	ID       int64
	Verifier *Verifier
	TickTime time.Duration
	// InitLimit and SyncLimit are in ticks.
	InitLimit, SyncLimit int
	// CommitLogCount bounds the in-memory committed log (default 500).
	CommitLogCount int
	// ForceSnapSync always syncs learners with a snapshot.
	ForceSnapSync bool
	History       History
}

// LogEntry is a committed txn kept for syncing learners.
type LogEntry struct {
	Zxid int64
	Data []byte
}

type learnerPhase int

const (
	lpInfo         learnerPhase = iota // waiting for FOLLOWERINFO/OBSERVERINFO
	lpEpoch                            // waiting for the epoch quorum
	lpAckEpoch                         // LEADERINFO sent, waiting for ACKEPOCH
	lpEpochAcked                       // waiting for a quorum of ACKEPOCH
	lpNewLeaderAck                     // synced, NEWLEADER sent, waiting for its ACK
	lpStartup                          // NEWLEADER acked, waiting for the leader to establish
	lpBroadcast                        // UPTODATE sent
)

type learner struct {
	id          LearnerID
	sid         int64
	observer    bool
	phase       learnerPhase
	acceptedEp  int64
	peerEpoch   int64
	peerZxid    int64
	forwarding  bool
	ackDeadline int64 // tick by which the next packet must come
	// unacked are the proposals sent to this learner and not acked yet,
	// in zxid order, with when each was sent (the syncLimit check looks
	// at the oldest).
	unacked     []sentProposal
	connectedAt time.Time
}

type sentProposal struct {
	zxid int64
	at   time.Time
}

// acked forgets the proposals up to zxid: acks are cumulative in effect.
func (f *learner) acked(zxid int64) {
	i := 0
	for i < len(f.unacked) && f.unacked[i].zxid <= zxid {
		i++
	}
	f.unacked = f.unacked[i:]
	if len(f.unacked) == 0 {
		f.unacked = nil // let the array go
	}
}

type proposal struct {
	zxid int64
	data []byte
	acks map[int64]bool
}

// Leader is Zab's leader (Leader + LearnerHandler) as a deterministic
// state machine: learner packets, proposals from the local pipeline, local
// log completions and time go in; actions come out.
type Leader struct {
	cfg LeaderConfig

	started    time.Time
	now        time.Time
	tick       int64
	nextPing   time.Time
	pingSkip   bool
	lastZxid   int64 // lastProcessedZxid when leading began
	curEpoch   int64
	acceptedEp int64

	epoch            int64
	waitingNewEpoch  bool
	connecting       map[int64]bool
	electing         map[int64]bool
	electionFinished bool
	newLeaderAcks    map[int64]bool
	established      bool
	failed           bool

	learners    map[LearnerID]*learner
	sorted      []*learner // learners by id; nil when it must be remade
	outstanding map[int64]*proposal
	lastProp    int64
	lastCommit  int64
	committed   []LogEntry // in zxid order, the last CommitLogCount
	syncs       map[int64][]LearnerID

	out []Action
}

// NewLeader starts leading: lastZxid is the last processed zxid and the
// epochs are this server's persisted ones.
func NewLeader(cfg LeaderConfig, now time.Time, lastZxid, acceptedEpoch, currentEpoch int64, history []LogEntry) *Leader {
	if cfg.CommitLogCount <= 0 {
		cfg.CommitLogCount = 500
	}
	l := &Leader{
		cfg: cfg, started: now, now: now, lastZxid: lastZxid, curEpoch: currentEpoch, acceptedEp: acceptedEpoch,
		epoch: -1, waitingNewEpoch: true,
		connecting: map[int64]bool{}, electing: map[int64]bool{}, newLeaderAcks: map[int64]bool{},
		learners: map[LearnerID]*learner{}, outstanding: map[int64]*proposal{}, syncs: map[int64][]LearnerID{},
		lastCommit: lastZxid,
	}
	if n := len(history); n > cfg.CommitLogCount {
		history = history[n-cfg.CommitLogCount:]
	}
	l.committed = append(l.committed, history...)
	l.proposeEpoch(cfg.ID, acceptedEpoch)
	l.ackEpoch(cfg.ID, currentEpoch, lastZxid)
	return l
}

// Epoch is the new epoch, -1 until decided.
func (l *Leader) Epoch() int64 { return l.epoch }

// IsEstablished reports whether the leader serves.
func (l *Leader) IsEstablished() bool { return l.established }

// LastProposed is the zxid of the newest proposal.
func (l *Leader) LastProposed() int64 { return l.lastProp }

// LastCommitted is the zxid of the newest commit.
func (l *Leader) LastCommitted() int64 { return l.lastCommit }

// Ready returns the actions to perform and clears them.
func (l *Leader) Ready() []Action {
	out := l.out
	l.out = nil
	return out
}

func (l *Leader) send(to LearnerID, typ int32, zxid int64, data []byte) {
	l.out = append(l.out, SendPacket{To: to, P: jute.QuorumPacket{Type: typ, Zxid: zxid, Data: data}})
}

func (l *Leader) fail(reason string) {
	if !l.failed {
		l.failed = true
		l.out = append(l.out, Failed{Reason: reason})
	}
}

func (l *Leader) isParticipant(sid int64) bool { return l.cfg.Verifier.IsVoter(sid) }

// proposeEpoch is getEpochToPropose: the new epoch exceeds every accepted
// epoch of a quorum including the leader.
func (l *Leader) proposeEpoch(sid, lastAccepted int64) {
	if !l.waitingNewEpoch {
		return
	}
	if lastAccepted >= l.epoch {
		l.epoch = lastAccepted + 1
	}
	if l.isParticipant(sid) {
		l.connecting[sid] = true
	}
	if l.connecting[l.cfg.ID] && l.cfg.Verifier.ContainsQuorum(l.connecting) {
		l.waitingNewEpoch = false
		l.acceptedEp = l.epoch
		l.out = append(l.out, PersistAcceptedEpoch{Epoch: l.epoch})
		l.lastProp = MakeZxid(l.epoch, 0)
		for _, f := range l.sortedLearners() {
			if f.phase == lpEpoch {
				l.sendLeaderInfo(f)
			}
		}
	}
}

func (l *Leader) sendLeaderInfo(f *learner) {
	f.phase = lpAckEpoch
	l.send(f.id, PacketLeaderInfo, MakeZxid(l.epoch, 0), int32Bytes(ProtocolVersion))
}

// ackEpoch is waitForEpochAck: a learner ahead of the leader is refused,
// and a quorum of acks lets syncing begin.
func (l *Leader) ackEpoch(sid, epoch, zxid int64) error {
	if l.electionFinished {
		return nil
	}
	if epoch != -1 {
		if epoch > l.curEpoch || (epoch == l.curEpoch && zxid > l.lastZxid) {
			return fmt.Errorf("follower is ahead of the leader: epoch %d zxid 0x%x, leader epoch %d zxid 0x%x", epoch, zxid, l.curEpoch, l.lastZxid)
		}
		if zxid != -1 && l.isParticipant(sid) {
			l.electing[sid] = true
		}
	}
	if l.electing[l.cfg.ID] && l.cfg.Verifier.ContainsQuorum(l.electing) {
		l.electionFinished = true
		l.curEpoch = l.epoch
		l.out = append(l.out, PersistCurrentEpoch{Epoch: l.epoch})
		l.ackNewLeader(l.cfg.ID, MakeZxid(l.epoch, 0))
		for _, f := range l.sortedLearners() {
			if f.phase == lpEpochAcked {
				l.syncLearner(f)
			}
		}
	}
	return nil
}

// ackNewLeader is waitForNewLeaderAck: once a quorum synced, the leader
// is established and learners get UPTODATE.
func (l *Leader) ackNewLeader(sid, zxid int64) {
	if l.established || zxid != MakeZxid(l.epoch, 0) {
		return
	}
	if l.isParticipant(sid) {
		l.newLeaderAcks[sid] = true
	}
	if l.newLeaderAcks[l.cfg.ID] && l.cfg.Verifier.ContainsQuorum(l.newLeaderAcks) {
		l.established = true
		l.lastCommit = MakeZxid(l.epoch, 0)
		l.out = append(l.out, Established{Zxid: MakeZxid(l.epoch, 0)})
		for _, f := range l.sortedLearners() {
			if f.phase == lpStartup {
				l.upToDate(f)
			}
		}
	}
}

func (l *Leader) upToDate(f *learner) {
	f.phase = lpBroadcast
	l.send(f.id, PacketUpToDate, -1, nil)
}

// sortedLearners returns the learners by id. It is remade after a
// learner comes or goes, never changed in place, so a caller may range
// over it while dropping learners.
func (l *Leader) sortedLearners() []*learner {
	if l.sorted != nil || len(l.learners) == 0 {
		return l.sorted
	}
	out := make([]*learner, 0, len(l.learners))
	for _, f := range l.learners {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	l.sorted = out
	return out
}

// Connected registers a new learner connection.
func (l *Leader) Connected(now time.Time, id LearnerID) {
	l.now = now
	l.learners[id] = &learner{id: id, connectedAt: now}
	l.sorted = nil
}

// Closed forgets a learner connection.
func (l *Leader) Closed(id LearnerID) {
	delete(l.learners, id)
	l.sorted = nil
}

func (l *Leader) drop(f *learner, reason string) {
	delete(l.learners, f.id)
	l.sorted = nil
	l.out = append(l.out, CloseLearner{ID: f.id, Reason: reason})
}

// Packet handles a packet from a learner.
func (l *Leader) Packet(now time.Time, id LearnerID, p *jute.QuorumPacket) {
	l.now = now
	f := l.learners[id]
	if f == nil || l.failed {
		return
	}
	f.ackDeadline = l.tick + int64(l.cfg.SyncLimit)
	switch f.phase {
	case lpInfo:
		if p.Type != PacketFollowerInfo && p.Type != PacketObserverInfo {
			l.drop(f, "first packet is "+PacketName(p.Type)+", not FOLLOWERINFO or OBSERVERINFO")
			return
		}
		info, ok := LearnerInfoFromPacket(p.Data)
		if !ok {
			l.drop(f, "learner info without a server id")
			return
		}
		if info.ProtocolVersion < ProtocolVersion {
			l.drop(f, fmt.Sprintf("learner protocol 0x%x predates Zab 1.0", info.ProtocolVersion))
			return
		}
		if info.ConfigVersion > l.cfg.Verifier.Version {
			l.drop(f, "follower is ahead of the leader (has a later activated configuration)")
			return
		}
		f.sid = info.ServerID
		f.observer = p.Type == PacketObserverInfo
		f.acceptedEp = EpochOf(p.Zxid)
		f.phase = lpEpoch
		if l.waitingNewEpoch {
			l.proposeEpoch(f.sid, f.acceptedEp)
			if l.waitingNewEpoch {
				return
			}
		}
		if f.phase == lpEpoch {
			l.sendLeaderInfo(f)
		}
	case lpAckEpoch:
		if p.Type != PacketAckEpoch || len(p.Data) < 4 {
			l.drop(f, PacketName(p.Type)+" is not ACKEPOCH")
			return
		}
		f.peerEpoch = int64(int32(binary.BigEndian.Uint32(p.Data)))
		f.peerZxid = p.Zxid
		f.phase = lpEpochAcked
		if err := l.ackEpoch(f.sid, f.peerEpoch, f.peerZxid); err != nil {
			l.drop(f, err.Error())
			return
		}
		if l.electionFinished && f.phase == lpEpochAcked {
			l.syncLearner(f)
		}
	case lpNewLeaderAck:
		if p.Type != PacketAck {
			l.drop(f, "next packet was supposed to be an ACK, got "+PacketName(p.Type))
			return
		}
		f.phase = lpStartup
		f.ackDeadline = l.tick + int64(l.cfg.SyncLimit)
		l.ackNewLeader(f.sid, p.Zxid)
		if l.established && f.phase == lpStartup {
			l.upToDate(f)
		}
	case lpStartup, lpBroadcast:
		l.broadcastPacket(f, p)
	default:
		l.drop(f, "unexpected "+PacketName(p.Type)+" while the leader is not ready")
	}
}

func (l *Leader) broadcastPacket(f *learner, p *jute.QuorumPacket) {
	switch p.Type {
	case PacketAck:
		f.acked(p.Zxid)
		if f.observer {
			return
		}
		l.processAck(f.sid, p.Zxid)
	case PacketPing:
		if ts := ParseTouches(p.Data); len(ts) > 0 {
			l.out = append(l.out, TouchSessions{Touches: ts})
		}
	case PacketRevalidate:
		if len(p.Data) < 12 {
			return
		}
		sess := int64(binary.BigEndian.Uint64(p.Data))
		to := int32(binary.BigEndian.Uint32(p.Data[8:]))
		l.out = append(l.out, Revalidate{From: f.id, SessionID: sess, Timeout: to})
	case PacketRequest:
		rd, err := ParseRequestData(p.Data)
		if err != nil {
			return
		}
		rd.Body = append([]byte(nil), rd.Body...)
		l.out = append(l.out, ForwardedRequest{From: f.id, Data: rd, Auth: p.AuthInfo})
	}
}

// Revalidated answers a Revalidate.
func (l *Leader) Revalidated(id LearnerID, session int64, valid bool) {
	if l.learners[id] == nil {
		return
	}
	b := make([]byte, 9)
	binary.BigEndian.PutUint64(b, uint64(session))
	if valid {
		b[8] = 1
	}
	l.send(id, PacketRevalidate, -1, b)
}

// Sync answers a sync a learner forwarded, once everything proposed
// before it is committed (Leader.processSync).
func (l *Leader) Sync(id LearnerID) {
	if l.learners[id] == nil {
		return
	}
	if len(l.outstanding) == 0 {
		l.send(id, PacketSync, 0, nil)
		return
	}
	l.syncs[l.lastProp] = append(l.syncs[l.lastProp], id)
}

// Propose broadcasts a txn the local pipeline prepped. The caller logs it
// locally and calls Logged when it is durable.
func (l *Leader) Propose(zxid int64, data []byte) error {
	if !l.established || l.failed {
		return fmt.Errorf("not leading")
	}
	if CounterOf(zxid) == 0xffffffff {
		l.fail("zxid lower 32 bits have rolled over, forcing re-election, and therefore new epoch start")
		return fmt.Errorf("zxid rollover")
	}
	l.lastProp = zxid
	l.outstanding[zxid] = &proposal{zxid: zxid, data: data, acks: map[int64]bool{}}
	for _, f := range l.sortedLearners() {
		if f.forwarding && !f.observer {
			l.send(f.id, PacketProposal, zxid, data)
			f.unacked = append(f.unacked, sentProposal{zxid, l.now})
		}
	}
	return nil
}

// Logged is the leader's own ACK: the proposal is durable locally.
func (l *Leader) Logged(zxid int64) { l.processAck(l.cfg.ID, zxid) }

func (l *Leader) processAck(sid, zxid int64) {
	if CounterOf(zxid) == 0 || len(l.outstanding) == 0 || l.lastCommit >= zxid {
		return
	}
	p := l.outstanding[zxid]
	if p == nil {
		return
	}
	if l.isParticipant(sid) {
		p.acks[sid] = true
	}
	for {
		p := l.outstanding[l.lastCommit+1]
		if p == nil || !l.cfg.Verifier.ContainsQuorum(p.acks) {
			return
		}
		l.commit(p)
	}
}

func (l *Leader) commit(p *proposal) {
	delete(l.outstanding, p.zxid)
	l.lastCommit = p.zxid
	// Trimmed from the front: append copies the entries only when the
	// array is full, not at every commit.
	l.committed = append(l.committed, LogEntry{Zxid: p.zxid, Data: p.data})
	if n := len(l.committed); n > l.cfg.CommitLogCount {
		clear(l.committed[:n-l.cfg.CommitLogCount]) // the txns may go
		l.committed = l.committed[n-l.cfg.CommitLogCount:]
	}
	for _, f := range l.sortedLearners() {
		if !f.forwarding {
			continue
		}
		if f.observer {
			l.send(f.id, PacketInform, p.zxid, p.data)
		} else {
			l.send(f.id, PacketCommit, p.zxid, nil)
		}
	}
	l.out = append(l.out, Commit{Zxid: p.zxid, Data: p.data})
	if ids := l.syncs[p.zxid]; ids != nil {
		delete(l.syncs, p.zxid)
		for _, id := range ids {
			if l.learners[id] != nil {
				l.send(id, PacketSync, 0, nil)
			}
		}
	}
}

// syncLearner is LearnerHandler.syncFollower and startForwarding: DIFF,
// TRUNC or SNAP, the txns the learner lacks, then NEWLEADER.
func (l *Leader) syncLearner(f *learner) {
	peer := f.peerZxid
	newEpochZxid := CounterOf(peer) == 0
	last := l.lastCommit
	minC, maxC := last, last
	if n := len(l.committed); n > 0 {
		minC, maxC = l.committed[0].Zxid, l.committed[n-1].Zxid
	}
	current := peer
	needSnap := true
	switch {
	case l.cfg.ForceSnapSync:
	case last == peer:
		l.send(f.id, PacketDiff, peer, nil)
		needSnap = false
	case peer > maxC && !newEpochZxid:
		l.send(f.id, PacketTrunc, maxC, nil)
		current = maxC
		needSnap = false
	case minC <= peer && peer <= maxC:
		var ok bool
		current, ok = l.queueCommitted(f, peer, maxC)
		needSnap = !ok
	case peer < minC && l.cfg.History != nil && l.cfg.History.LogHas(peer):
		// The txn log has what the learner lacks before the committed log.
		l.send(f.id, PacketDiff, maxC, nil)
		l.out = append(l.out, SendHistory{To: f.id, After: peer, Through: minC - 1})
		current = minC - 1
		var ok bool
		if current, ok = l.queueFrom(f, current); ok {
			needSnap = false
		}
	}
	if needSnap {
		current = last
		l.out = append(l.out, SendSnapshot{To: f.id, Zxid: last})
	}
	l.startForwarding(f, current)
	f.phase = lpNewLeaderAck
	f.ackDeadline = l.tick + int64(l.cfg.InitLimit+l.cfg.SyncLimit)
	l.send(f.id, PacketNewLeader, MakeZxid(l.epoch, 0), []byte(l.cfg.Verifier.String()))
}

// queueCommitted is queueCommittedProposals over the in-memory log: DIFF
// when the learner's zxid is in the history, TRUNC to the proposal before
// it when the learner has txns the leader never committed (same epoch
// only), then PROPOSAL/COMMIT pairs. It reports false when only a
// snapshot can sync the learner.
func (l *Leader) queueCommitted(f *learner, peer, maxZxid int64) (int64, bool) {
	newEpochZxid := CounterOf(peer) == 0
	queued := peer
	prev := int64(-1)
	needOp := true
	for _, e := range l.committed {
		if e.Zxid > maxZxid {
			break
		}
		if e.Zxid < peer {
			prev = e.Zxid
			continue
		}
		if needOp {
			if e.Zxid == peer {
				l.send(f.id, PacketDiff, l.lastCommit, nil)
				needOp = false
				continue
			}
			if newEpochZxid {
				l.send(f.id, PacketDiff, l.lastCommit, nil)
				needOp = false
			} else if e.Zxid > peer {
				if EpochOf(e.Zxid) != EpochOf(peer) {
					return queued, false // no TRUNC across epochs
				}
				l.send(f.id, PacketTrunc, prev, nil)
				needOp = false
			}
		}
		if e.Zxid <= queued {
			continue
		}
		l.send(f.id, PacketProposal, e.Zxid, e.Data)
		l.send(f.id, PacketCommit, e.Zxid, nil)
		queued = e.Zxid
	}
	if needOp && newEpochZxid {
		l.send(f.id, PacketDiff, l.lastCommit, nil)
		needOp = false
	}
	return queued, !needOp
}

// queueFrom queues the committed log after zxid.
func (l *Leader) queueFrom(f *learner, zxid int64) (int64, bool) {
	for _, e := range l.committed {
		if e.Zxid <= zxid {
			continue
		}
		l.send(f.id, PacketProposal, e.Zxid, e.Data)
		l.send(f.id, PacketCommit, e.Zxid, nil)
		zxid = e.Zxid
	}
	return zxid, true
}

// startForwarding queues what was proposed after the learner's sync point
// and adds it to the broadcast.
func (l *Leader) startForwarding(f *learner, lastSeen int64) {
	if l.lastProp > lastSeen && !f.observer {
		zs := make([]int64, 0, len(l.outstanding))
		for z := range l.outstanding {
			if z > lastSeen {
				zs = append(zs, z)
			}
		}
		sort.Slice(zs, func(i, j int) bool { return zs[i] < zs[j] })
		for _, z := range zs {
			l.send(f.id, PacketProposal, z, l.outstanding[z].data)
			f.unacked = append(f.unacked, sentProposal{z, l.now})
		}
	}
	f.forwarding = true
}

// Tick advances time: pings learners every half tick, drops learners that
// stopped acking, and gives up leading without a synced quorum or when the
// epoch handshake takes longer than initLimit.
func (l *Leader) Tick(now time.Time) {
	l.now = now
	if l.failed {
		return
	}
	initDeadline := l.started.Add(time.Duration(l.cfg.InitLimit) * l.cfg.TickTime)
	switch {
	case l.waitingNewEpoch:
		if !now.Before(initDeadline) {
			l.fail("timeout while waiting for epoch from quorum")
		}
		return
	case !l.electionFinished:
		if !now.Before(initDeadline) {
			l.fail("timeout while waiting for epoch to be acked by quorum")
		}
		return
	case !l.established:
		if !now.Before(initDeadline.Add(time.Duration(l.cfg.InitLimit) * l.cfg.TickTime)) {
			l.fail("timeout while waiting for NEWLEADER to be acked by quorum")
		}
		return
	}
	if l.nextPing.IsZero() {
		l.nextPing = now.Add(l.cfg.TickTime / 2)
		l.pingSkip = true
		return
	}
	if now.Before(l.nextPing) {
		return
	}
	l.nextPing = now.Add(l.cfg.TickTime / 2)
	if !l.pingSkip {
		l.tick++
	}
	synced := map[int64]bool{l.cfg.ID: true}
	for _, f := range l.learners {
		if f.phase >= lpNewLeaderAck && l.tick <= f.ackDeadline {
			synced[f.sid] = true
		}
	}
	if !l.pingSkip && !l.cfg.Verifier.ContainsQuorum(synced) {
		l.fail("not sufficient followers synced")
		return
	}
	l.pingSkip = !l.pingSkip
	syncTimeout := time.Duration(l.cfg.SyncLimit) * l.cfg.TickTime
	for _, f := range l.sortedLearners() {
		if f.phase < lpBroadcast {
			continue
		}
		if len(f.unacked) > 0 && now.Sub(f.unacked[0].at) > syncTimeout {
			l.drop(f, "closing connection to peer due to transaction timeout")
			continue
		}
		l.send(f.id, PacketPing, l.lastProp, nil)
	}
}

// NextDeadline is when Tick next has work.
func (l *Leader) NextDeadline() time.Time {
	if l.nextPing.IsZero() {
		return l.now.Add(l.cfg.TickTime / 2)
	}
	return l.nextPing
}

// LearnerCounts are the leader's learner gauges (mntr's zk_learners,
// zk_synced_followers, zk_synced_observers).
type LearnerCounts struct {
	Learners, SyncedFollowers, SyncedObservers int
}

// Learners counts connected learners and those in broadcast.
func (l *Leader) Learners() LearnerCounts {
	var c LearnerCounts
	for _, f := range l.learners {
		if f.sid == 0 {
			continue // no FOLLOWERINFO/OBSERVERINFO yet
		}
		c.Learners++
		if f.phase == lpBroadcast {
			if f.observer {
				c.SyncedObservers++
			} else {
				c.SyncedFollowers++
			}
		}
	}
	return c
}

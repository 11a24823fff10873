package quorum

import (
	"maps"
	"math"
	"slices"
	"time"
)

// Vote is a server's proposal, or the leader it settled on (QuorumPeer's
// Vote).
type Vote struct {
	Version       int32
	Leader        int64
	Zxid          int64
	ElectionEpoch int64
	PeerEpoch     int64
	State         ServerState
}

// matches is Vote.equals: votes of servers out of the election compare
// only leader and peer epoch (leader only across notification versions 0
// and >0), as a running ensemble's members may report different zxids.
func (v Vote) matches(o Vote) bool {
	if v.State == Looking || o.State == Looking {
		return v.Leader == o.Leader && v.Zxid == o.Zxid && v.ElectionEpoch == o.ElectionEpoch && v.PeerEpoch == o.PeerEpoch
	}
	if (v.Version > 0) != (o.Version > 0) {
		return v.Leader == o.Leader
	}
	return v.Leader == o.Leader && v.PeerEpoch == o.PeerEpoch
}

// Envelope is a notification to send to a peer.
type Envelope struct {
	To int64
	N  Notification
}

// ElectionConfig holds FastLeaderElection's parameters.
type ElectionConfig struct {
	ID       int64
	Verifier *Verifier
	// FinalizeWait is how long a server waits for a better vote once a
	// quorum agrees (200 ms in ZooKeeper).
	FinalizeWait time.Duration
	// Min/MaxNotificationInterval bound the exponential back-off between
	// rounds of notifications (zookeeper.fastleader.*NotificationInterval).
	MinNotificationInterval time.Duration
	MaxNotificationInterval time.Duration
}

// Election is FastLeaderElection as a deterministic state machine: it is
// fed received notifications and the passage of time, and it returns the
// notifications to send and, once a round ends, the decided vote. It also
// answers other servers' notifications while this server follows or leads,
// as ZooKeeper's WorkerReceiver does.
type Election struct {
	cfg ElectionConfig

	state   ServerState // the server's state (QuorumPeer.getPeerState)
	current Vote        // QuorumPeer.getCurrentVote

	clock                  int64 // logicalclock: the round
	propLeader, propZxid   int64
	propEpoch              int64
	lastZxid, curEpoch     int64 // this server's history, for its initial vote
	recvset, outOfElection map[int64]Vote

	queue            []received // notifications waiting for the main loop
	notTimeout       time.Duration
	pollDeadline     time.Time
	finalizing       bool
	finalizeDeadline time.Time
	finalVoteSet     map[int64]bool

	out     []Envelope
	decided *Vote

	// early holds the latest LOOKING notification from each voter that
	// came while this server still followed or led: when its leader dies
	// the others often notice a moment before it does, and their first
	// vote would otherwise be lost, leaving both sides to wait out a
	// notification timeout or two. Look feeds the recent ones to the new
	// round, as if they had arrived a moment later.
	early map[int64]received
}

type received struct {
	from int64
	n    Notification
	at   time.Time
}

// NewElection returns an election for a server that is not looking yet;
// call Look to start a round.
func NewElection(cfg ElectionConfig) *Election {
	if cfg.FinalizeWait == 0 {
		cfg.FinalizeWait = 200 * time.Millisecond
	}
	if cfg.MinNotificationInterval == 0 {
		cfg.MinNotificationInterval = cfg.FinalizeWait
	}
	if cfg.MaxNotificationInterval == 0 {
		cfg.MaxNotificationInterval = 60 * time.Second
	}
	return &Election{cfg: cfg, state: Looking}
}

// State is the server's state.
func (e *Election) State() ServerState { return e.state }

// Current is the server's current vote.
func (e *Election) Current() Vote { return e.current }

// Round is the logical clock.
func (e *Election) Round() int64 { return e.clock }

// SetVerifier replaces the ensemble view.
func (e *Election) SetVerifier(v *Verifier) { e.cfg.Verifier = v }

// SetCurrent sets the server's current vote outside an election (at
// startup ZooKeeper votes for itself with its history).
func (e *Election) SetCurrent(v Vote) { e.current = v }

// UpdateEpoch records the epoch a leader or follower settled on in the
// current vote (QuorumPeer.updateElectionVote), so late servers learn it.
func (e *Election) UpdateEpoch(epoch int64) {
	e.current.PeerEpoch = epoch
}

// Stop leaves the election with the server in a non-looking state (used
// when a role ends without a new round, e.g. at shutdown).
func (e *Election) Stop(s ServerState) {
	e.state = s
	e.finalizing = false
	e.queue = nil
}

func (e *Election) isVoter(sid int64) bool { return e.cfg.Verifier.IsVoter(sid) }

func (e *Election) isParticipant() bool { return e.isVoter(e.cfg.ID) }

func (e *Election) initID() int64 {
	if e.isParticipant() {
		return e.cfg.ID
	}
	return math.MinInt64
}

func (e *Election) initZxid() int64 {
	if e.isParticipant() {
		return e.lastZxid
	}
	return math.MinInt64
}

func (e *Election) initEpoch() int64 {
	if e.isParticipant() {
		return e.curEpoch
	}
	return math.MinInt64
}

func (e *Election) learningState() ServerState {
	if e.isParticipant() {
		return Following
	}
	return Observing
}

// better is totalOrderPredicate: epoch, then zxid, then server id; a
// server without voting weight never wins.
func (e *Election) better(newID, newZxid, newEpoch, curID, curZxid, curEpoch int64) bool {
	if e.cfg.Verifier.Weight(newID) == 0 {
		return false
	}
	return newEpoch > curEpoch ||
		(newEpoch == curEpoch && (newZxid > curZxid || (newZxid == curZxid && newID > curID)))
}

// Look starts a new round (lookForLeader) with this server's last logged
// zxid and current epoch.
func (e *Election) Look(now time.Time, lastZxid, currentEpoch int64) {
	e.state = Looking
	e.lastZxid, e.curEpoch = lastZxid, currentEpoch
	e.recvset = make(map[int64]Vote)
	e.outOfElection = make(map[int64]Vote)
	e.queue = nil
	e.decided = nil
	e.finalizing = false
	e.notTimeout = e.cfg.MinNotificationInterval
	e.clock++
	e.propLeader, e.propZxid, e.propEpoch = e.initID(), e.initZxid(), e.initEpoch()
	e.sendNotifications()
	for _, sid := range slices.Sorted(maps.Keys(e.early)) {
		// Only a vote from just before this round: an older one may be
		// from a round long over, whose epoch the clock has met again.
		if r := e.early[sid]; now.Sub(r.at) <= e.cfg.FinalizeWait {
			e.queue = append(e.queue, r)
		}
	}
	clear(e.early)
	e.pollDeadline = now.Add(e.notTimeout)
	e.drain(now)
}

func (e *Election) config() []byte { return []byte(e.cfg.Verifier.String()) }

// sendNotifications tells every voter (this server included, through its
// own queue) about the current proposal.
func (e *Election) sendNotifications() {
	n := Notification{
		State: Looking, Leader: e.propLeader, Zxid: e.propZxid,
		ElectionEpoch: e.clock, PeerEpoch: e.propEpoch, Version: NotificationVersion, Config: e.config(),
	}
	for _, sid := range e.cfg.Verifier.Voters() {
		if sid == e.cfg.ID {
			e.queue = append(e.queue, received{from: sid, n: n})
			continue
		}
		e.out = append(e.out, Envelope{To: sid, N: n})
	}
}

// Step handles a notification received from sid.
func (e *Election) Step(now time.Time, from int64, n Notification) {
	e.receive(now, from, n)
	e.drain(now)
}

// receive is WorkerReceiver: answer non-voters and lagging or looking
// peers right away, queue the rest for the round when looking.
func (e *Election) receive(now time.Time, from int64, n Notification) {
	if !e.isVoter(from) {
		e.out = append(e.out, Envelope{To: from, N: Notification{
			State: e.state, Leader: e.current.Leader, Zxid: e.current.Zxid,
			ElectionEpoch: e.clock, PeerEpoch: e.current.PeerEpoch, Version: NotificationVersion, Config: e.config(),
		}})
		return
	}
	if e.state == Looking {
		e.queue = append(e.queue, received{from: from, n: n})
		if n.State == Looking && n.ElectionEpoch < e.clock {
			e.out = append(e.out, Envelope{To: from, N: Notification{
				State: e.state, Leader: e.propLeader, Zxid: e.propZxid,
				ElectionEpoch: e.clock, PeerEpoch: e.propEpoch, Version: NotificationVersion, Config: e.config(),
			}})
		}
		return
	}
	if n.State == Looking {
		e.out = append(e.out, Envelope{To: from, N: Notification{
			State: e.state, Leader: e.current.Leader, Zxid: e.current.Zxid,
			ElectionEpoch: e.current.ElectionEpoch, PeerEpoch: e.current.PeerEpoch,
			Version: NotificationVersion, Config: e.config(),
		}})
		if e.early == nil {
			e.early = make(map[int64]received)
		}
		e.early[from] = received{from: from, n: n, at: now}
	}
}

// drain runs the main loop over queued notifications.
func (e *Election) drain(now time.Time) {
	for len(e.queue) > 0 && e.state == Looking {
		r := e.queue[0]
		e.queue = e.queue[1:]
		e.pollDeadline = now.Add(e.notTimeout)
		e.lookStep(now, r.from, r.n)
	}
}

// Tick advances time: resends notifications when a round is quiet, and
// ends the finalize wait.
func (e *Election) Tick(now time.Time) {
	if e.state != Looking {
		return
	}
	if e.finalizing {
		if !now.Before(e.finalizeDeadline) {
			e.decide(e.propLeader, e.propZxid, e.clock, e.propEpoch)
		}
		return
	}
	if !now.Before(e.pollDeadline) {
		e.sendNotifications()
		e.notTimeout = min(2*e.notTimeout, e.cfg.MaxNotificationInterval)
		e.pollDeadline = now.Add(e.notTimeout)
		e.drain(now)
	}
}

// NextDeadline is when Tick next has work to do.
func (e *Election) NextDeadline() time.Time {
	if e.finalizing {
		return e.finalizeDeadline
	}
	return e.pollDeadline
}

// lookStep is one iteration of lookForLeader's loop.
func (e *Election) lookStep(now time.Time, from int64, n Notification) {
	if !e.isVoter(from) || !e.isVoter(n.Leader) {
		return
	}
	if e.finalizing {
		// During the finalize wait only a better vote matters; others are
		// dropped and the wait starts over.
		if !e.better(n.Leader, n.Zxid, n.PeerEpoch, e.propLeader, e.propZxid, e.propEpoch) {
			e.finalizeDeadline = now.Add(e.cfg.FinalizeWait)
			return
		}
		e.finalizing = false
	}
	switch n.State {
	case Looking:
		if e.initZxid() == -1 || n.Zxid == -1 {
			return
		}
		switch {
		case n.ElectionEpoch > e.clock:
			e.clock = n.ElectionEpoch
			clear(e.recvset)
			if e.better(n.Leader, n.Zxid, n.PeerEpoch, e.initID(), e.initZxid(), e.initEpoch()) {
				e.propLeader, e.propZxid, e.propEpoch = n.Leader, n.Zxid, n.PeerEpoch
			} else {
				e.propLeader, e.propZxid, e.propEpoch = e.initID(), e.initZxid(), e.initEpoch()
			}
			e.sendNotifications()
		case n.ElectionEpoch < e.clock:
			return
		case e.better(n.Leader, n.Zxid, n.PeerEpoch, e.propLeader, e.propZxid, e.propEpoch):
			e.propLeader, e.propZxid, e.propEpoch = n.Leader, n.Zxid, n.PeerEpoch
			e.sendNotifications()
		}
		e.recvset[from] = Vote{Leader: n.Leader, Zxid: n.Zxid, ElectionEpoch: n.ElectionEpoch, PeerEpoch: n.PeerEpoch, State: Looking}
		set := e.voteSet(e.recvset, Vote{Leader: e.propLeader, Zxid: e.propZxid, ElectionEpoch: e.clock, PeerEpoch: e.propEpoch, State: Looking})
		if e.cfg.Verifier.ContainsQuorum(set) {
			e.finalizing = true
			e.finalizeDeadline = now.Add(e.cfg.FinalizeWait)
			e.finalVoteSet = set
		}
	case Observing:
	case Following, Leading:
		v := Vote{Version: n.Version, Leader: n.Leader, Zxid: n.Zxid, ElectionEpoch: n.ElectionEpoch, PeerEpoch: n.PeerEpoch, State: n.State}
		if n.ElectionEpoch == e.clock {
			e.recvset[from] = Vote{Leader: n.Leader, Zxid: n.Zxid, ElectionEpoch: n.ElectionEpoch, PeerEpoch: n.PeerEpoch, State: n.State}
			if e.cfg.Verifier.ContainsQuorum(e.voteSet(e.recvset, v)) && e.checkLeader(e.recvset, n.Leader, n.ElectionEpoch) {
				e.decide(n.Leader, n.Zxid, n.ElectionEpoch, n.PeerEpoch)
				return
			}
		}
		e.outOfElection[from] = v
		if e.cfg.Verifier.ContainsQuorum(e.voteSet(e.outOfElection, v)) && e.checkLeader(e.outOfElection, n.Leader, n.ElectionEpoch) {
			e.clock = n.ElectionEpoch
			e.decide(n.Leader, n.Zxid, n.ElectionEpoch, n.PeerEpoch)
		}
	}
}

// voteSet lists the servers whose vote matches v.
func (e *Election) voteSet(votes map[int64]Vote, v Vote) map[int64]bool {
	set := make(map[int64]bool)
	for sid, w := range votes {
		if v.matches(w) {
			set[sid] = true
		}
	}
	return set
}

// checkLeader makes sure a leader others name has said it leads, so a
// crashed leader is not elected over and over.
func (e *Election) checkLeader(votes map[int64]Vote, leader, electionEpoch int64) bool {
	if leader != e.cfg.ID {
		v, ok := votes[leader]
		return ok && v.State == Leading
	}
	return e.clock == electionEpoch
}

func (e *Election) decide(leader, zxid, electionEpoch, peerEpoch int64) {
	if leader == e.cfg.ID {
		e.state = Leading
	} else {
		e.state = e.learningState()
	}
	v := Vote{Version: NotificationVersion, Leader: leader, Zxid: zxid, ElectionEpoch: electionEpoch, PeerEpoch: peerEpoch, State: e.state}
	e.current = v
	e.decided = &v
	e.finalizing = false
	e.queue = nil
}

// Ready returns the notifications to send and the decided vote, if the
// round ended, and clears them.
func (e *Election) Ready() ([]Envelope, *Vote) {
	out, d := e.out, e.decided
	e.out, e.decided = nil, nil
	return out, d
}

package quorum

import (
	"time"

	"zkd/jute"
)

// Storage is what a peer needs to know of its server's durable state.
// The driver keeps it current as it performs storage actions.
type Storage interface {
	// LastZxid is the zxid of the last txn in the database (logged or
	// applied), the history this server brings to an election.
	LastZxid() int64
	// Epochs are the persisted acceptedEpoch and currentEpoch.
	Epochs() (accepted, current int64)
	// CommittedLog is the tail of committed txns kept in memory for
	// syncing learners (ZKDatabase.committedLog).
	CommittedLog() []LogEntry
	History
}

// PeerConfig sets a quorum peer up.
type PeerConfig struct {
	ID       int64
	Verifier *Verifier
	TickTime time.Duration
	// InitLimit and SyncLimit are in ticks.
	InitLimit, SyncLimit int
	Election             ElectionConfig
	CommitLogCount       int
	ForceSnapSync        bool
}

// Peer-level actions.

// ElectionSend sends an election notification.
type ElectionSend struct {
	To   int64
	Data []byte
}

// Lead: this server leads; accept learner connections on the quorum port.
type Lead struct{ Epoch int64 }

// Follow: connect to the leader's quorum port (as an observer when
// Observer), then report LeaderConnected or LeaderLost.
type Follow struct {
	Leader   int64
	Observer bool
}

// StopRole ends the current role: close role connections and stop
// serving clients.
type StopRole struct{ Reason string }

func (ElectionSend) zabAction() {}
func (Lead) zabAction()         {}
func (Follow) zabAction()       {}
func (StopRole) zabAction()     {}

// Peer is QuorumPeer's state machine: leader election, then leading or
// learning, and back to election when the role fails.
type Peer struct {
	cfg     PeerConfig
	store   Storage
	elect   *Election
	leader  *Leader
	learner *Learner
	state   ServerState
	out     []Action
	// lookAt is set when a role ended: the next round of the election
	// starts on the next Ready, once the driver has performed StopRole
	// (which may bring logged txns into the database, changing the
	// history this server votes with).
	lookAt time.Time
}

// NewPeer builds a peer; call Start to begin.
func NewPeer(cfg PeerConfig, store Storage) *Peer {
	ec := cfg.Election
	ec.ID, ec.Verifier = cfg.ID, cfg.Verifier
	return &Peer{cfg: cfg, store: store, elect: NewElection(ec), state: Looking}
}

// State is the server's state.
func (p *Peer) State() ServerState { return p.state }

// Leader is the leader state machine while leading.
func (p *Peer) Leader() *Leader { return p.leader }

// Learner is the learner state machine while following or observing.
func (p *Peer) Learner() *Learner { return p.learner }

// Vote is the current vote.
func (p *Peer) Vote() Vote { return p.elect.Current() }

// Start votes for itself and looks for a leader.
func (p *Peer) Start(now time.Time) {
	_, cur := p.store.Epochs()
	p.elect.SetCurrent(Vote{Version: NotificationVersion, Leader: p.cfg.ID, Zxid: p.store.LastZxid(), PeerEpoch: cur})
	p.look(now)
}

func (p *Peer) look(now time.Time) {
	p.state = Looking
	p.leader, p.learner = nil, nil
	_, cur := p.store.Epochs()
	p.elect.Look(now, p.store.LastZxid(), cur)
	p.pumpElection(now)
}

// Ready returns the actions to perform, in order, and clears them.
func (p *Peer) Ready() []Action {
	if len(p.out) == 0 && !p.lookAt.IsZero() {
		now := p.lookAt
		p.lookAt = time.Time{}
		p.look(now)
	}
	out := p.out
	p.out = nil
	return out
}

// stopRole ends the role; the election restarts on the next Ready.
func (p *Peer) stopRole(now time.Time, reason string) {
	p.out = append(p.out, StopRole{Reason: reason})
	p.state = Looking
	p.leader, p.learner = nil, nil
	p.lookAt = now
}

func (p *Peer) pumpElection(now time.Time) {
	out, decided := p.elect.Ready()
	for _, e := range out {
		p.out = append(p.out, ElectionSend{To: e.To, Data: e.N.Marshal()})
	}
	if decided == nil {
		return
	}
	p.state = p.elect.State()
	acc, cur := p.store.Epochs()
	switch p.state {
	case Leading:
		p.leader = NewLeader(LeaderConfig{
			ID: p.cfg.ID, Verifier: p.cfg.Verifier, TickTime: p.cfg.TickTime,
			InitLimit: p.cfg.InitLimit, SyncLimit: p.cfg.SyncLimit, CommitLogCount: p.cfg.CommitLogCount,
			ForceSnapSync: p.cfg.ForceSnapSync, History: p.store,
		}, now, p.store.LastZxid(), acc, cur, p.store.CommittedLog())
		p.out = append(p.out, Lead{})
		p.pumpRole(now)
	case Following, Observing:
		p.out = append(p.out, Follow{Leader: decided.Leader, Observer: p.state == Observing})
	}
}

// pumpRole moves the role's actions out, watching for the ones the peer
// itself acts on.
func (p *Peer) pumpRole(now time.Time) {
	var acts []Action
	switch {
	case p.leader != nil:
		acts = p.leader.Ready()
	case p.learner != nil:
		acts = p.learner.Ready()
	}
	for _, a := range acts {
		switch a := a.(type) {
		case Established:
			p.elect.UpdateEpoch(EpochOf(a.Zxid))
		case Serve:
			p.elect.UpdateEpoch(a.Epoch)
		case Failed:
			p.out = append(p.out, a)
			p.stopRole(now, a.Reason)
			return
		}
		p.out = append(p.out, a)
	}
}

// ElectionMessage handles an election message from sid.
func (p *Peer) ElectionMessage(now time.Time, from int64, data []byte) {
	n, err := ParseNotification(data)
	if err != nil {
		return
	}
	p.elect.Step(now, from, n)
	p.pumpElection(now)
}

// LeaderConnected: the learner's connection to the leader is up.
func (p *Peer) LeaderConnected(now time.Time) {
	if p.state != Following && p.state != Observing {
		return
	}
	acc, cur := p.store.Epochs()
	p.learner = NewLearner(LearnerConfig{
		ID: p.cfg.ID, Observer: p.state == Observing, ConfigVersion: p.cfg.Verifier.Version,
		TickTime: p.cfg.TickTime, InitLimit: p.cfg.InitLimit, SyncLimit: p.cfg.SyncLimit,
	}, now, acc, cur, p.store.LastZxid())
	p.pumpRole(now)
}

// LeaderLost: connecting to the leader failed or the connection broke.
func (p *Peer) LeaderLost(now time.Time, reason string) {
	if p.state != Following && p.state != Observing {
		return
	}
	p.stopRole(now, reason)
}

// LeaderPacket handles a packet from the leader.
func (p *Peer) LeaderPacket(now time.Time, pk *jute.QuorumPacket) {
	if p.learner == nil {
		return
	}
	p.learner.Packet(now, pk)
	p.pumpRole(now)
}

// LearnerConnected registers a learner connection on the leader.
func (p *Peer) LearnerConnected(now time.Time, id LearnerID) {
	if p.leader != nil {
		p.leader.Connected(now, id)
	}
}

// LearnerClosed forgets a learner connection.
func (p *Peer) LearnerClosed(id LearnerID) {
	if p.leader != nil {
		p.leader.Closed(id)
	}
}

// LearnerPacket handles a packet from a learner.
func (p *Peer) LearnerPacket(now time.Time, id LearnerID, pk *jute.QuorumPacket) {
	if p.leader == nil {
		return
	}
	p.leader.Packet(now, id, pk)
	p.pumpRole(now)
}

// Propose broadcasts a locally prepped txn (leader only).
func (p *Peer) Propose(now time.Time, zxid int64, data []byte) error {
	if p.leader == nil {
		return errNotLeading
	}
	err := p.leader.Propose(zxid, data)
	p.pumpRole(now)
	return err
}

// Logged reports a txn durable in the local log.
func (p *Peer) Logged(now time.Time, zxid int64) {
	switch {
	case p.leader != nil:
		p.leader.Logged(zxid)
	case p.learner != nil:
		p.learner.Logged(zxid)
	}
	p.pumpRole(now)
}

// Sync answers a learner's forwarded sync once its turn comes (leader).
func (p *Peer) Sync(now time.Time, id LearnerID) {
	if p.leader != nil {
		p.leader.Sync(id)
		p.pumpRole(now)
	}
}

// Revalidated answers a learner's session revalidation (leader).
func (p *Peer) Revalidated(now time.Time, id LearnerID, session int64, valid bool) {
	if p.leader != nil {
		p.leader.Revalidated(id, session, valid)
		p.pumpRole(now)
	}
}

// Request forwards a client request to the leader (learner).
func (p *Peer) Request(now time.Time, r RequestData, auth []jute.Id) {
	if p.learner != nil {
		p.learner.Request(r, auth)
		p.pumpRole(now)
	}
}

// Revalidate asks the leader about a session (learner).
func (p *Peer) Revalidate(now time.Time, session int64, timeout int32) {
	if p.learner != nil {
		p.learner.Revalidate(session, timeout)
		p.pumpRole(now)
	}
}

// Tick advances time for the election and the role.
func (p *Peer) Tick(now time.Time) {
	switch {
	case p.state == Looking:
		p.elect.Tick(now)
		p.pumpElection(now)
	case p.leader != nil:
		p.leader.Tick(now)
		p.pumpRole(now)
	case p.learner != nil:
		p.learner.Tick(now)
		p.pumpRole(now)
	}
}

// NextDeadline is when Tick next has work.
func (p *Peer) NextDeadline(now time.Time) time.Time {
	switch {
	case p.state == Looking:
		return p.elect.NextDeadline()
	case p.leader != nil:
		return p.leader.NextDeadline()
	case p.learner != nil:
		return p.learner.NextDeadline()
	}
	return now.Add(p.cfg.TickTime / 2)
}

type peerError string

func (e peerError) Error() string { return string(e) }

const errNotLeading = peerError("not leading")

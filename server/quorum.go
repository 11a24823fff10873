package server

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"zkd/jute"
	"zkd/quorum"
	"zkd/server/tree"
	"zkd/wire"
)

// quorumDriver runs a server in an ensemble: it feeds the quorum state
// machines (quorum.Peer) from the network, the log and the clock, and
// performs their actions. All of it runs on the processor goroutine, the
// one that owns the tree's mutations, so role changes and applies never
// race.
type quorumDriver struct {
	s      *Server
	p      *processor
	log    zerolog.Logger
	id     int64
	v      *quorum.Verifier
	peer   *quorum.Peer
	cnx    *quorum.CnxManager
	events *eventQueue
	lw     *logWriter
	epochs *epochs
	tick   time.Duration
	initL  int
	// retryDelay is the pause between tries to connect to the leader
	// (zookeeper.leaderConnectDelayDuringRetryMs).
	retryDelay time.Duration

	gen        uint64 // bumped at each role change; stale events are dropped
	committed  []quorum.LogEntry
	maxLog     int
	snapFactor float64 // zookeeper.snapshotSizeFactor: how much txn log a sync may read

	// leader role
	ln       net.Listener
	learners map[quorum.LearnerID]*peerConn
	nextLID  quorum.LearnerID
	inflight []*Request // prepped, in zxid order, waiting for their commit
	byZxid   map[int64]*Request

	// learner role
	leader      *peerConn
	pendingSnap *tree.DataTree
	forwarded   map[fwdKey]*Request
	syncs       []*Request
	revalidate  map[int64][]*Conn

	serving atomic.Bool

	// read-only mode (readonlymode.enabled): after roDelay without a
	// leader, clients that allow it are served read-only.
	roEnabled    bool
	roDelay      time.Duration
	lookingSince time.Time

	// gauges for mntr, published from the processor goroutine
	gauges      atomic.Pointer[quorumGauges]
	leaderSince time.Time
	propLast    atomic.Int64
	propMin     atomic.Int64
	propMax     atomic.Int64
}

// quorumGauges is what mntr reports about the quorum role.
type quorumGauges struct {
	peerState   string // zk_peer_state
	leaderID    int64  // the elected leader, -1 while looking (AdminServer's leader)
	leading     bool
	leaderSince time.Time
	learners    quorum.LearnerCounts
}

type fwdKey struct {
	session int64
	xid     int32
}

func membersOf(cfg *Config) []quorum.Member {
	out := make([]quorum.Member, 0, len(cfg.Servers))
	for _, s := range cfg.Servers {
		out = append(out, quorum.Member{
			ID: s.ID, Host: s.Host, QuorumPort: s.QuorumPort, ElectionPort: s.ElectionPort,
			Observer: s.Observer, ClientHost: s.ClientHost, ClientPort: s.ClientPort,
		})
	}
	return out
}

func newQuorumDriver(s *Server, p *processor, committed []quorum.LogEntry) (*quorumDriver, error) {
	cfg := s.cfg
	v := quorum.NewVerifier(membersOf(cfg), 0)
	me, ok := v.Members[cfg.ServerID]
	if !ok {
		return nil, fmt.Errorf("myid %d is not in the server list", cfg.ServerID)
	}
	if cfg.InitLimit <= 0 || cfg.SyncLimit <= 0 {
		return nil, errors.New("initLimit and syncLimit must be set for an ensemble")
	}
	ep, err := loadEpochs(s.store.SnapDir(), s.tree.LastProcessedZxid)
	if err != nil {
		return nil, err
	}
	q := &quorumDriver{
		s: s, p: p, log: s.log, id: cfg.ServerID, v: v, events: newEventQueue(), epochs: ep,
		tick: time.Duration(cfg.TickTime) * time.Millisecond, initL: cfg.InitLimit,
		learners: map[quorum.LearnerID]*peerConn{}, byZxid: map[int64]*Request{},
		forwarded: map[fwdKey]*Request{}, revalidate: map[int64][]*Conn{},
		committed: committed, maxLog: cfg.CommitLogCount(), snapFactor: cfg.SnapshotSizeFactor(),
		roEnabled:  cfg.PropBool("readonlymode.enabled", false),
		roDelay:    max(2*time.Second, time.Duration(cfg.TickTime)*time.Millisecond),
		retryDelay: time.Duration(cfg.PropInt("zookeeper.leaderConnectDelayDuringRetryMs", 100)) * time.Millisecond,
	}
	q.propLast.Store(-1)
	q.propMin.Store(-1)
	q.propMax.Store(-1)
	listen := me.ElectionAddr()
	if cfg.QuorumListenOnAllIPs {
		listen = net.JoinHostPort("0.0.0.0", strconv.Itoa(me.ElectionPort))
	}
	addrOf := func(sid int64) (string, bool) {
		m, ok := v.Members[sid]
		return m.ElectionAddr(), ok
	}
	q.cnx = quorum.NewCnxManager(cfg.ServerID, me.ElectionAddr(), listen, addrOf,
		time.Duration(cfg.CnxTimeout)*time.Millisecond, s.log.With().Str("component", "election").Logger())
	q.lw = newLogWriter(s.store.Log(), s.snaps, q.events)
	q.peer = quorum.NewPeer(quorum.PeerConfig{
		ID: cfg.ServerID, Verifier: v, TickTime: q.tick, InitLimit: cfg.InitLimit, SyncLimit: cfg.SyncLimit,
		CommitLogCount: q.maxLog, ForceSnapSync: cfg.PropBool("zookeeper.forceSnapshotSync", false),
		Election: quorum.ElectionConfig{
			MinNotificationInterval: time.Duration(cfg.PropInt("zookeeper.fastleader.minNotificationInterval", 200)) * time.Millisecond,
			MaxNotificationInterval: time.Duration(cfg.PropInt("zookeeper.fastleader.maxNotificationInterval", 60000)) * time.Millisecond,
		},
	}, q)
	return q, nil
}

// Storage for the quorum state machines.

func (q *quorumDriver) LastZxid() int64                 { return q.s.tree.LastProcessedZxid }
func (q *quorumDriver) Epochs() (int64, int64)          { return q.epochs.accepted, q.epochs.current }
func (q *quorumDriver) CommittedLog() []quorum.LogEntry { return q.committed }

// LogHas reports whether the txn log holds zxid (or, for an epoch's first
// zxid, the txn after it), so a learner can be synced from the log.
func (q *quorumDriver) LogHas(zxid int64) bool {
	// LearnerHandler syncs from the log only when snapshotSizeFactor
	// allows it and the logs to read are smaller than factor × snapshot.
	limit := q.s.store.TxnLogSyncLimit(q.snapFactor)
	if limit < 0 || limit > 0 && q.s.store.LogSizeFrom(zxid) > limit {
		return false
	}
	it, err := q.s.store.TxnsFrom(zxid)
	if err != nil {
		return false
	}
	defer it.Close()
	if !it.Next() {
		return false
	}
	first := it.Txn().Header.Zxid
	if quorum.CounterOf(zxid) == 0 {
		return quorum.EpochOf(first) == quorum.EpochOf(zxid) || first == zxid+1
	}
	return first == zxid
}

func (q *quorumDriver) remember(zxid int64, data []byte) {
	q.committed = append(q.committed, quorum.LogEntry{Zxid: zxid, Data: data})
	if n := len(q.committed); n > 2*q.maxLog {
		q.committed = append(q.committed[:0:0], q.committed[n-q.maxLog:]...)
	}
}

// start binds the election port and looks for a leader.
func (q *quorumDriver) start() error {
	retries := int(q.s.cfg.PropInt("zookeeper.electionPortBindRetry", int64(q.s.cfg.ElectionPortBindRetry)))
	ctx, cancel := contextWithTimeout(time.Minute)
	defer cancel()
	if err := q.cnx.Listen(ctx, retries); err != nil {
		return err
	}
	q.lookingSince = time.Now()
	q.peer.Start(q.lookingSince)
	q.perform()
	return nil
}

func (q *quorumDriver) stop() {
	q.stopRole("shutting down")
	q.cnx.Close()
	q.lw.close()
}

// state is the server state for srvr/mntr.
func (q *quorumDriver) state() string {
	switch q.peer.State() {
	case quorum.Leading:
		return "leader"
	case quorum.Following:
		return "follower"
	case quorum.Observing:
		return "observer"
	}
	return "looking"
}

func (q *quorumDriver) leading() bool {
	l := q.peer.Leader()
	return l != nil && l.IsEstablished()
}

// handleElection feeds election messages to the peer.
func (q *quorumDriver) handleElection() {
	now := time.Now()
	debug := q.log.Debug().Enabled()
	for _, m := range q.cnx.Receive() {
		if debug {
			// As ZooKeeper logs every notification; what a slow election
			// is made of.
			if n, err := quorum.ParseNotification(m.Data); err == nil {
				q.log.Debug().Int64("from", m.From).Stringer("state", n.State).Int64("leader", n.Leader).
					Str("zxid", hexID(n.Zxid)).Str("electionEpoch", hexID(n.ElectionEpoch)).Str("peerEpoch", hexID(n.PeerEpoch)).
					Stringer("myState", q.peer.State()).Msg("notification")
			}
		}
		q.peer.ElectionMessage(now, m.From, m.Data)
	}
	q.perform()
}

// wakeAt is when the processor next calls onTick: the peer's next
// deadline (an election's finalize wait, a ping), at least every quarter
// tick for the periodic work, and never in the past.
func (q *quorumDriver) wakeAt(now time.Time) time.Time {
	at := now.Add(q.tick / 4)
	if d := q.peer.NextDeadline(now); !d.IsZero() && d.Before(at) {
		at = d
	}
	if soonest := now.Add(time.Millisecond); at.Before(soonest) {
		at = soonest
	}
	return at
}

func (q *quorumDriver) onTick() {
	now := time.Now()
	q.peer.Tick(now)
	q.perform()
	q.checkReadOnly(now)
	q.publishGauges()
}

// publishGauges snapshots the role's state for mntr, which runs on other
// goroutines.
func (q *quorumDriver) publishGauges() {
	g := &quorumGauges{peerState: "looking", leaderID: -1}
	if q.peer.State() != quorum.Looking {
		g.leaderID = q.peer.Vote().Leader
	}
	switch q.peer.State() {
	case quorum.Leading:
		g.peerState = "leading - " + q.zabPhase()
		if l := q.peer.Leader(); l != nil && l.IsEstablished() {
			g.leading, g.leaderSince, g.learners = true, q.leaderSince, l.Learners()
		}
	case quorum.Following:
		g.peerState = "following - " + q.zabPhase()
	case quorum.Observing:
		g.peerState = "observing - " + q.zabPhase()
	}
	q.gauges.Store(g)
}

// zabPhase is QuorumPeer's ZabState as mntr prints it.
func (q *quorumDriver) zabPhase() string {
	if q.serving.Load() {
		return "broadcast"
	}
	return "synchronization"
}

// recordProposal tracks proposal sizes (zk_*_proposal_size).
func (q *quorumDriver) recordProposal(n int) {
	v := int64(n)
	q.propLast.Store(v)
	if m := q.propMin.Load(); m < 0 || v < m {
		q.propMin.Store(v)
	}
	if v > q.propMax.Load() {
		q.propMax.Store(v)
	}
}

// checkReadOnly starts read-only mode once this server has looked for a
// leader longer than roDelay, as QuorumPeer does (it waits max(2 s,
// tickTime) before deciding it is partitioned).
func (q *quorumDriver) checkReadOnly(now time.Time) {
	s := q.s
	if !q.roEnabled || s.role.Load() != roleLooking || s.ro.Load() || now.Sub(q.lookingSince) < q.roDelay {
		return
	}
	s.ro.Store(true)
	q.log.Info().Msg("no quorum: serving read-only clients until a leader is found")
}

// leaveReadOnly ends read-only mode when a leader is found: its clients
// and sessions go, and clients reconnect to a read-write server.
func (q *quorumDriver) leaveReadOnly() {
	s := q.s
	if !s.ro.Swap(false) {
		return
	}
	s.closeAllConnections("leaving read-only mode")
	n := s.sessions.RemoveLocal()
	q.log.Info().Int("sessions", n).Msg("read-only mode over")
}

// handleEvents feeds network and log events to the peer.
func (q *quorumDriver) handleEvents() {
	now := time.Now()
	for _, ev := range q.events.drain() {
		switch ev.kind {
		case evLogged:
			for _, z := range ev.zxids {
				q.peer.Logged(now, z)
			}
		case evLogFailed:
			q.log.Error().Err(ev.err).Msg("cannot write the txn log; stopping")
			q.s.fail(ev.err)
		case evLearnerUp:
			if ev.gen != q.gen || q.ln == nil {
				ev.conn.Close()
				continue
			}
			q.nextLID++
			pc := newPeerConn(ev.conn, q.nextLID, q.gen)
			q.learners[pc.id] = pc
			go pc.writeLoop(q.s, q.tick*time.Duration(q.s.cfg.SyncLimit))
			go pc.readLoop(q.s, q.events, false)
			q.peer.LearnerConnected(now, pc.id)
		case evLearnerPacket:
			if ev.gen == q.gen && q.learners[ev.lid] != nil {
				q.peer.LearnerPacket(now, ev.lid, ev.packet)
			}
		case evLearnerDown:
			if pc := q.learners[ev.lid]; pc != nil && ev.gen == q.gen {
				delete(q.learners, ev.lid)
				pc.close()
				q.peer.LearnerClosed(ev.lid)
			}
		case evLeaderUp:
			if ev.gen != q.gen {
				ev.conn.Close()
				continue
			}
			q.leader = newPeerConn(ev.conn, 0, q.gen)
			go q.leader.writeLoop(q.s, q.tick*time.Duration(q.s.cfg.SyncLimit))
			go q.leader.readLoop(q.s, q.events, true)
			q.peer.LeaderConnected(now)
		case evLeaderPacket:
			if ev.gen == q.gen && q.leader != nil {
				q.pendingSnap = ev.snap
				q.peer.LeaderPacket(now, ev.packet)
			}
		case evLeaderDown:
			if ev.gen == q.gen {
				reason := "connection to the leader lost"
				if ev.err != nil {
					reason += ": " + ev.err.Error()
				}
				q.peer.LeaderLost(now, reason)
			}
		}
		q.perform()
	}
}

// perform runs the peer's actions until it has none.
func (q *quorumDriver) perform() {
	for {
		acts := q.peer.Ready()
		if len(acts) == 0 {
			return
		}
		for _, a := range acts {
			q.act(a)
		}
	}
}

func (q *quorumDriver) act(a quorum.Action) {
	s := q.s
	switch a := a.(type) {
	case quorum.ElectionSend:
		q.cnx.Send(a.To, a.Data)
	case quorum.Lead:
		q.leaveReadOnly()
		q.gen++
		s.role.Store(roleLeader)
		q.log.Info().Msg("LEADING")
		if err := q.listen(); err != nil {
			q.log.Error().Err(err).Msg("cannot listen on the quorum port")
		}
	case quorum.Follow:
		q.leaveReadOnly()
		q.gen++
		state := "FOLLOWING"
		if a.Observer {
			state = "OBSERVING"
		}
		q.log.Info().Int64("leader", a.Leader).Msg(state)
		s.role.Store(roleLearner)
		s.sessions.recordTouches.Store(true)
		go q.dialLeader(a.Leader, q.gen)
	case quorum.StopRole:
		q.log.Info().Str("reason", a.Reason).Msg("leaving the role; looking for a leader")
		q.stopRole(a.Reason)
	case quorum.Failed:
		q.log.Warn().Str("reason", a.Reason).Msg("quorum role failed")
	case quorum.SendPacket:
		q.send(a.To, sendItem{p: &a.P})
	case quorum.SendSnapshot:
		// Pinned here, on the tree's writer, so it holds every commit up
		// to a.Zxid; the stream itself is written by the connection.
		q.send(a.To, sendItem{snap: s.tree.BeginSnapshot(), snapZxid: a.Zxid})
	case quorum.SendHistory:
		q.send(a.To, sendItem{hist: true, after: a.After, through: a.Through})
	case quorum.CloseLearner:
		q.log.Warn().Uint64("learner", uint64(a.ID)).Str("reason", a.Reason).Msg("closing learner connection")
		if pc := q.learners[a.ID]; pc != nil {
			pc.close()
			delete(q.learners, a.ID)
		}
	case quorum.PersistAcceptedEpoch:
		if err := q.epochs.setAccepted(a.Epoch); err != nil {
			s.fail(err)
		}
	case quorum.PersistCurrentEpoch:
		if err := q.epochs.setCurrent(a.Epoch); err != nil {
			s.fail(err)
		}
	case quorum.Established:
		q.establish(a.Zxid)
	case quorum.Commit:
		q.commit(a.Zxid, a.Data)
	case quorum.ForwardedRequest:
		q.learnerRequest(a)
	case quorum.TouchSessions:
		for _, t := range a.Touches {
			if sess := s.sessions.Get(t.SessionID); sess != nil {
				s.sessions.Touch(sess)
			}
		}
	case quorum.Revalidate:
		sess := s.sessions.Get(a.SessionID)
		valid := false
		if sess != nil {
			sess.timeout.Store(a.Timeout)
			valid = s.sessions.Touch(sess)
		}
		q.peer.Revalidated(time.Now(), a.From, a.SessionID, valid)
	case quorum.Truncate:
		q.truncate(a.Zxid)
	case quorum.InstallSnapshot:
		q.installSnapshot(a.Zxid)
	case quorum.ApplyTxn:
		if t, err := wire.DecodeTxn(a.Data); err == nil {
			q.p.apply([]*Request{{op: t.Type(), sessionID: t.Header.ClientID, txn: &t}})
			q.remember(a.Zxid, a.Data)
		}
	case quorum.LogTxn:
		if t, err := wire.DecodeTxn(a.Data); err == nil {
			q.lw.append(&t)
		} else {
			q.log.Error().Err(err).Str("zxid", hexID(a.Zxid)).Msg("undecodable proposal from the leader")
		}
	case quorum.FlushLog:
		if err := q.lw.flush(); err != nil {
			s.fail(err)
		}
	case quorum.TakeSnapshot:
		q.syncSnapshot(a.Replace)
	case quorum.Serve:
		q.log.Info().Int64("epoch", a.Epoch).Msg("synced with the leader; serving clients")
		q.serving.Store(true)
	case quorum.ReplyPing:
		q.send(0, sendItem{p: &jute.QuorumPacket{Type: quorum.PacketPing, Zxid: a.Zxid, Data: quorum.MarshalTouches(s.sessions.DrainTouches())}})
	case quorum.SyncDone:
		if len(q.syncs) > 0 {
			r := q.syncs[0]
			q.syncs = q.syncs[1:]
			q.p.apply([]*Request{r})
		}
	case quorum.RevalidateResult:
		q.finishRevalidation(a.SessionID, a.Valid)
	}
}

func (q *quorumDriver) send(to quorum.LearnerID, it sendItem) {
	if to == 0 && q.peer.Learner() != nil {
		if q.leader != nil {
			q.leader.send(it)
		}
		return
	}
	if pc := q.learners[to]; pc != nil {
		pc.send(it)
	} else if it.snap != nil {
		q.s.endSnapshot(it.snap)
	}
}

// listen accepts learners on the quorum port while leading.
func (q *quorumDriver) listen() error {
	if q.ln != nil {
		return nil
	}
	me := q.v.Members[q.id]
	addr := me.QuorumAddr()
	if q.s.cfg.QuorumListenOnAllIPs {
		addr = net.JoinHostPort("0.0.0.0", strconv.Itoa(me.QuorumPort))
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	q.ln = ln
	gen := q.gen
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if tc, ok := c.(*net.TCPConn); ok {
				_ = tc.SetNoDelay(true)
			}
			q.events.push(quorumEvent{kind: evLearnerUp, gen: gen, conn: c})
		}
	}()
	return nil
}

// dialLeader connects to the leader's quorum port, retrying as
// Learner.connectToLeader does: five tries within initLimit, retryDelay
// apart (a new leader may not listen yet when its followers learn of it).
func (q *quorumDriver) dialLeader(sid int64, gen uint64) {
	m, ok := q.v.Members[sid]
	if !ok {
		q.events.push(quorumEvent{kind: evLeaderDown, gen: gen, err: fmt.Errorf("unknown leader %d", sid)})
		return
	}
	deadline := time.Now().Add(q.tick * time.Duration(q.initL))
	var err error
	for try := 0; try < 5 && time.Now().Before(deadline); try++ {
		var c net.Conn
		c, err = net.DialTimeout("tcp", m.QuorumAddr(), q.tick*time.Duration(q.s.cfg.SyncLimit))
		if err == nil {
			if tc, ok := c.(*net.TCPConn); ok {
				_ = tc.SetNoDelay(true)
			}
			q.events.push(quorumEvent{kind: evLeaderUp, gen: gen, conn: c})
			return
		}
		time.Sleep(q.retryDelay)
	}
	q.events.push(quorumEvent{kind: evLeaderDown, gen: gen, err: err})
}

// stopRole closes what the role had open, stops serving clients and
// brings into the tree the txns logged but not applied, so the next vote
// counts them (ZooKeeperServer.shutdown's fastForwardDataBase).
func (q *quorumDriver) stopRole(reason string) {
	q.gen++
	q.serving.Store(false)
	q.s.role.Store(roleLooking)
	q.lookingSince = time.Now()
	q.s.sessions.recordTouches.Store(false)
	if q.ln != nil {
		q.ln.Close()
		q.ln = nil
	}
	for id, pc := range q.learners {
		pc.close()
		delete(q.learners, id)
	}
	if q.leader != nil {
		q.leader.close()
		q.leader = nil
	}
	q.pendingSnap = nil
	q.inflight = nil
	clear(q.byZxid)
	clear(q.forwarded)
	q.syncs = nil
	for sess, conns := range q.revalidate {
		for _, c := range conns {
			c.closeAsync()
		}
		delete(q.revalidate, sess)
	}
	q.s.closeAllConnections(reason)
	if err := q.lw.flush(); err != nil {
		return
	}
	q.fastForward()
	q.p.lastZxid = q.s.tree.LastProcessedZxid
	q.p.prep = prepState{byPath: make(map[string]*changeRecord)}
}

func (q *quorumDriver) fastForward() {
	s := q.s
	it, err := s.store.TxnsFrom(s.tree.LastProcessedZxid + 1)
	if err != nil {
		q.log.Error().Err(err).Msg("cannot read the txn log to fast-forward the database")
		return
	}
	defer it.Close()
	n := 0
	s.treeMu.Lock()
	for it.Next() {
		t := it.Txn()
		if t.Header.Zxid <= s.tree.LastProcessedZxid {
			continue
		}
		s.tree.ProcessTxn(t)
		// As fastForwardDataBase does: what the tree now holds is in the
		// committed log too, so a leader's DIFFs carry it to learners.
		q.remember(t.Header.Zxid, jute.Marshal(t))
		n++
	}
	s.lastZxid.Store(s.tree.LastProcessedZxid)
	s.treeMu.Unlock()
	if n > 0 {
		q.log.Info().Int("txns", n).Str("zxid", hexID(s.tree.LastProcessedZxid)).Msg("fast-forwarded the database over the txn log")
	}
}

// establish: the leader serves; its zxid counter starts the new epoch.
func (q *quorumDriver) establish(zxid int64) {
	s := q.s
	q.p.lastZxid = zxid
	s.treeMu.Lock()
	s.tree.LastProcessedZxid = zxid
	s.lastZxid.Store(zxid)
	s.treeMu.Unlock()
	for _, sess := range s.sessions.All() {
		s.sessions.Touch(sess) // a new leader gives every session a full timeout
	}
	q.serving.Store(true)
	q.leaderSince = time.Now()
	q.publishGauges()
	q.log.Info().Str("zxid", hexID(zxid)).Msg("leader established: serving clients")
}

// submit takes requests from clients (and, on the leader, from its own
// session expiry and container manager): the leader preps and proposes
// them, a learner forwards writes to the leader.
func (q *quorumDriver) submit(batch []*Request) {
	switch {
	case q.leading():
		now := time.Now()
		for _, r := range batch {
			q.p.prepRequest(r)
			q.inflight = append(q.inflight, r)
			if r.txn == nil {
				continue
			}
			q.byZxid[r.txn.Header.Zxid] = r
			data := jute.Marshal(r.txn)
			r.txnData = data
			q.recordProposal(len(data))
			q.lw.append(r.txn)
			if err := q.peer.Propose(now, r.txn.Header.Zxid, data); err != nil {
				q.log.Warn().Err(err).Msg("cannot propose")
			}
		}
		q.drainInflight()
		q.perform()
	case q.peer.Learner() != nil && q.serving.Load():
		now := time.Now()
		for _, r := range batch {
			if r.conn == nil {
				continue // only the leader expires sessions and reaps containers
			}
			var body []byte
			if r.body != nil {
				body = jute.Marshal(r.body)
			}
			if r.op == wire.OpSync {
				q.syncs = append(q.syncs, r)
			} else {
				q.forwarded[fwdKey{r.sessionID, r.xid}] = r
			}
			q.peer.Request(now, quorum.RequestData{SessionID: r.sessionID, Cxid: r.xid, Type: int32(r.op), Body: body}, r.auth)
		}
		q.perform()
	default:
		// Not serving: the connections these came from are being closed.
	}
}

// learnerRequest preps a request a learner forwarded (leader).
func (q *quorumDriver) learnerRequest(a quorum.ForwardedRequest) {
	op := wire.OpCode(a.Data.Type)
	if op == wire.OpSync {
		// Everything the learner sent before is prepped: answer once it
		// is committed.
		q.peer.Sync(time.Now(), a.From)
		return
	}
	r := &Request{sessionID: a.Data.SessionID, xid: a.Data.Cxid, op: op, auth: a.Auth, inFlight: true, received: time.Now()}
	rec, ok := wire.RequestRecord(op)
	if op == wire.OpCreateSession {
		rec, ok = &jute.CreateSessionTxn{}, true
	}
	if !ok || (rec != nil && jute.Unmarshal(a.Data.Body, rec) != nil) {
		r.body = nil
		r.err = wire.ErrMarshallingError
	} else {
		r.body = rec
	}
	if op == wire.OpCreateSession {
		if c, ok := rec.(*jute.CreateSessionTxn); ok {
			q.s.sessions.Add(r.sessionID, c.TimeOut) // tracked from the start, as trackSession
		}
		r.connect = &jute.ConnectResponse{} // marks the handshake's own createSession
	}
	q.submit([]*Request{r})
}

// commit applies a committed proposal: on the leader the prepped request,
// on a learner the txn, answering a local client whose request it is.
func (q *quorumDriver) commit(zxid int64, data []byte) {
	if q.peer.Leader() != nil {
		if r := q.byZxid[zxid]; r != nil {
			delete(q.byZxid, zxid)
			r.committed = true
			q.remember(zxid, r.txnData)
			q.drainInflight()
			return
		}
	}
	t, err := wire.DecodeTxn(data)
	if err != nil {
		q.log.Error().Err(err).Str("zxid", hexID(zxid)).Msg("undecodable committed txn")
		return
	}
	q.remember(zxid, data)
	r := q.forwarded[fwdKey{t.Header.ClientID, t.Header.Cxid}]
	if r != nil {
		delete(q.forwarded, fwdKey{t.Header.ClientID, t.Header.Cxid})
	} else {
		r = &Request{op: t.Type(), sessionID: t.Header.ClientID}
	}
	r.txn = &t
	q.p.apply([]*Request{r})
}

// drainInflight applies, in order, the prepped requests whose turn came.
func (q *quorumDriver) drainInflight() {
	i := 0
	for ; i < len(q.inflight); i++ {
		r := q.inflight[i]
		if r.txn != nil && !r.committed {
			break
		}
	}
	if i == 0 {
		return
	}
	// Trimmed from the front, so the rest is not copied at each commit.
	ready := q.inflight[:i:i]
	q.inflight = q.inflight[i:]
	q.p.apply(ready)
	clear(ready)
}

// truncate cuts the log after zxid and reloads the database from disk.
func (q *quorumDriver) truncate(zxid int64) {
	s := q.s
	if err := q.lw.flush(); err != nil {
		s.fail(err)
		return
	}
	if err := s.store.Truncate(zxid); err != nil {
		q.log.Error().Err(err).Str("zxid", hexID(zxid)).Msg("cannot truncate the txn log")
		s.fail(err)
		return
	}
	t, err := s.store.Restore()
	if err != nil {
		s.fail(err)
		return
	}
	if t.LastProcessedZxid != zxid {
		// Serving from here would diverge from the leader.
		s.fail(fmt.Errorf("truncated to 0x%x but the database restores to 0x%x", zxid, t.LastProcessedZxid))
		return
	}
	s.stats.digestMismatches.Add(int64(s.store.LastRestore().DigestErrors))
	q.replaceTree(t)
	q.committed = nil
	q.log.Warn().Str("zxid", hexID(zxid)).Msg("truncated the txn log to the leader's history")
}

func (q *quorumDriver) installSnapshot(zxid int64) {
	t := q.pendingSnap
	q.pendingSnap = nil
	if t == nil {
		q.s.fail(errors.New("SNAP without a snapshot"))
		return
	}
	t.ExtendedTypes = q.s.tree.ExtendedTypes
	t.Emulate353TTL = q.s.tree.Emulate353TTL
	t.Finish()
	t.LastProcessedZxid = zxid
	q.replaceTree(t)
	q.committed = nil
	q.log.Info().Str("zxid", hexID(zxid)).Int("nodes", t.NodeCount()).Msg("loaded the leader's snapshot")
}

func (q *quorumDriver) replaceTree(t *tree.DataTree) {
	s := q.s
	s.treeMu.Lock()
	t.ExtendedTypes = s.tree.ExtendedTypes
	t.Emulate353TTL = s.tree.Emulate353TTL
	t.Watches = s.watches
	s.tree = t
	s.lastZxid.Store(t.LastProcessedZxid)
	s.treeMu.Unlock()
	s.sessions.Reset(t.Sessions)
	q.p.lastZxid = t.LastProcessedZxid
	q.p.prep = prepState{byPath: make(map[string]*changeRecord)}
}

// syncSnapshot makes the synced database durable before NEWLEADER is
// acked; after a SNAP the old log goes too.
func (q *quorumDriver) syncSnapshot(replace bool) {
	s := q.s
	if err := q.lw.flush(); err != nil {
		s.fail(err)
		return
	}
	if _, err := s.store.Snapshot(s.tree, s.treeMu.RLocker()); err != nil {
		s.fail(err)
		return
	}
	if replace {
		if err := s.store.DropLogsThrough(s.tree.LastProcessedZxid); err != nil {
			q.log.Error().Err(err).Msg("cannot drop the txn logs a snapshot replaced")
		}
	}
}

// revalidation: a client brings an existing session to a learner.
func (q *quorumDriver) startRevalidation(c *Conn, session int64, timeout int32) {
	q.revalidate[session] = append(q.revalidate[session], c)
	q.peer.Revalidate(time.Now(), session, timeout)
	q.perform()
}

func (q *quorumDriver) finishRevalidation(session int64, valid bool) {
	conns := q.revalidate[session]
	delete(q.revalidate, session)
	for _, c := range conns {
		c.finishReopen(session, valid)
	}
}

// loadCommittedLog keeps the tail of the restored txns for DIFF syncs.
func committedLogHook(max int) (func(*wire.Txn), func() []quorum.LogEntry) {
	var log []quorum.LogEntry
	add := func(t *wire.Txn) {
		log = append(log, quorum.LogEntry{Zxid: t.Header.Zxid, Data: jute.Marshal(t)})
		if len(log) > 2*max {
			log = append(log[:0:0], log[len(log)-max:]...)
		}
	}
	return add, func() []quorum.LogEntry {
		if len(log) > max {
			return log[len(log)-max:]
		}
		return log
	}
}

package server

import (
	"context"
	"time"

	"zkd/jute"
	"zkd/server/tree"
	"zkd/wire"
)

// Replicator is the seam between prep and apply: it makes prepped txns
// durable (standalone: the txn log, group-committed) or committed (a Zab
// quorum) and hands the requests back in the order it got them. Requests
// without a txn (sync) pass through in place.
type Replicator interface {
	Propose(batch []*Request)
	Committed() <-chan []*Request
	Close() error
}

// processor is the one goroutine that preps writes and applies committed
// txns, so the outstanding changes and the tree's mutations need no locks
// of their own; event-loop readers take the tree's read lock.
type processor struct {
	srv        *Server
	in         *requestQueue
	prep       prepState
	lastZxid   int64 // last zxid handed out
	clock      func() int64
	containers containerManager
	flushes    []*Conn // connections with replies to write (complete, writeOut)
}

func newProcessor(s *Server, lastZxid int64) *processor {
	return &processor{
		srv:        s,
		in:         newRequestQueue(),
		prep:       prepState{byPath: make(map[string]*changeRecord)},
		lastZxid:   lastZxid,
		clock:      func() int64 { return time.Now().UnixMilli() },
		containers: newContainerManager(s.cfg),
	}
}

func (p *processor) nextZxid() int64 { p.lastZxid++; return p.lastZxid }
func (p *processor) now() int64      { return p.clock() }

// submit queues a request from any goroutine.
func (p *processor) submit(r *Request) { p.in.push(r) }

func (p *processor) run(ctx context.Context) {
	s := p.srv
	expiry := time.NewTimer(s.sessions.NextExpiry())
	defer expiry.Stop()
	containers := time.NewTicker(p.containers.checkInterval)
	defer containers.Stop()
	var committed <-chan []*Request
	var qevents, election <-chan struct{}
	// An ensemble member ticks its peer when the peer next has work (see
	// wakeAt): a fixed quarter-tick ticker let a 200 ms finalize wait of
	// an election run on for up to tickTime/4 more.
	var ticks <-chan time.Time
	var wake *time.Timer
	var wakeAt time.Time
	if s.rep != nil {
		committed = s.rep.Committed()
	}
	if qd := s.qd; qd != nil {
		qevents, election = qd.events.signal, qd.cnx.Signal()
		wakeAt = qd.wakeAt(time.Now())
		wake = time.NewTimer(time.Until(wakeAt))
		defer wake.Stop()
		ticks = wake.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.in.signal:
			p.dispatch(p.in.drain(nil))
		case <-containers.C:
			if p.owner() {
				p.checkContainers()
			}
		case batch := <-committed:
			p.apply(batch)
		case <-expiry.C:
			if p.expires() {
				p.expireSessions()
			}
			expiry.Reset(s.sessions.NextExpiry())
		case <-qevents:
			s.qd.handleEvents()
		case <-election:
			s.qd.handleElection()
		case <-ticks:
			s.qd.onTick()
			wakeAt = time.Time{}
		}
		if wake != nil {
			if at := s.qd.wakeAt(time.Now()); wakeAt.IsZero() || at.Before(wakeAt) {
				wake.Reset(time.Until(at))
				wakeAt = at
			}
		}
	}
}

// owner reports whether this server expires sessions and reaps
// containers: a standalone server or an established leader.
func (p *processor) owner() bool {
	return p.srv.qd == nil || p.srv.qd.leading()
}

// expires reports whether this server expires sessions: the owner, or a
// read-only server (its own sessions only).
func (p *processor) expires() bool { return p.owner() || p.srv.readOnly() }

// dispatch sends requests on their way: a standalone server preps them
// and hands them to its log; in an ensemble the quorum driver takes them.
func (p *processor) dispatch(batch []*Request) {
	if len(batch) == 0 {
		return
	}
	s := p.srv
	if s.qd == nil {
		for _, r := range batch {
			p.prepRequest(r)
		}
		s.rep.Propose(batch)
		return
	}
	if s.readOnly() {
		p.readOnlyRequests(batch)
		return
	}
	rest := batch[:0]
	for _, r := range batch {
		if r.op == opRevalidate {
			s.qd.startRevalidation(r.conn, r.sessionID, r.conn.timeout.Load())
			continue
		}
		rest = append(rest, r)
	}
	s.qd.submit(rest)
}

// readOnlyRequests answers requests on a read-only server
// (ReadOnlyRequestProcessor): its sessions open and close here, without a
// txn, and every change is refused with NOTREADONLY. Reads never come
// here; those queued behind these run as each is answered.
func (p *processor) readOnlyRequests(batch []*Request) {
	s := p.srv
	defer p.writeOut() // after the unlock
	s.treeMu.Lock()
	defer s.treeMu.Unlock()
	var res tree.Result
	for _, r := range batch {
		switch {
		case r.connect != nil:
		case r.op == wire.OpCloseSession:
			// An ensemble session resumed here lives on at the leader:
			// only this server's own sessions end here.
			if sess := s.sessions.Get(r.sessionID); sess != nil && sess.local.Load() {
				s.sessions.Remove(r.sessionID)
				if r.conn == nil {
					if c := sess.conn.Load(); c != nil {
						c.closeAsync()
					}
				}
			}
		case r.op == opRevalidate:
			continue // only a learner revalidates; its connection is being closed
		default:
			r.err = wire.ErrNotReadOnly
		}
		p.complete(r, &res)
	}
}

// expireSessions closes sessions whose timeout passed without a touch.
func (p *processor) expireSessions() {
	s := p.srv
	var batch []*Request
	for _, sess := range s.sessions.Expired(!p.owner()) {
		s.log.Info().Str("session", hexID(sess.ID)).Int32("timeout", sess.Timeout()).
			Msg("expiring session, timeout exceeded")
		batch = append(batch, &Request{sessionID: sess.ID, op: wire.OpCloseSession, inFlight: true, received: time.Now()})
	}
	p.dispatch(batch)
}

// apply applies a committed batch in zxid order and answers each request.
func (p *processor) apply(batch []*Request) {
	s := p.srv
	s.treeMu.Lock()
	for _, r := range batch {
		var res tree.Result
		if r.txn != nil {
			res = s.tree.ProcessTxn(r.txn)
			if r.txn.Digest != nil && s.digestEnabled && r.txn.Digest.TreeDigest != s.tree.Digest() {
				s.log.Error().Str("zxid", hexID(r.txn.Header.Zxid)).Int64("expected", r.txn.Digest.TreeDigest).
					Int64("actual", s.tree.Digest()).Msg("digest mismatch after applying txn")
				s.stats.digestMismatches.Add(1)
			}
			s.lastZxid.Store(s.tree.LastProcessedZxid)
			p.applied(r.txn.Header.Zxid)
			p.sessionEffects(r)
		}
		p.complete(r, &res)
	}
	s.treeMu.Unlock()
	p.writeOut()
}

// sessionEffects updates the session tracker for session txns.
func (p *processor) sessionEffects(r *Request) {
	s := p.srv
	switch wire.OpCode(r.txn.Header.Type) {
	case wire.OpCreateSession:
		if s.sessions.Get(r.sessionID) == nil {
			if c, ok := r.txn.Record.(*jute.CreateSessionTxn); ok {
				s.sessions.Add(r.sessionID, c.TimeOut)
			}
		}
	case wire.OpCloseSession:
		sess := s.sessions.Get(r.sessionID)
		s.sessions.Remove(r.sessionID)
		if sess != nil && r.conn == nil {
			if c := sess.conn.Load(); c != nil {
				c.closeAsync()
			}
		}
	}
}

// complete answers an in-flight request and then any reads queued behind
// it. The tree lock is held.
func (p *processor) complete(r *Request, res *tree.Result) {
	c := r.conn
	if c == nil {
		return
	}
	s := p.srv
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	if len(c.queue) == 0 || c.queue[0] != r {
		s.log.Error().Str("session", hexID(r.sessionID)).Stringer("op", r.op).Msg("reply out of order; dropped")
		return
	}
	c.dequeue()
	zxid := s.tree.LastProcessedZxid
	switch {
	case r.connect != nil:
		c.writeConnectResponse(r.connect)
		c.connecting.Store(false)
	case r.op == wire.OpCloseSession:
		c.reply(r.xid, zxid, wire.ErrOK, nil)
		c.closeSoon = true
	default:
		p.writeReply(c, r, res, zxid)
	}
	now := time.Now()
	c.recordLatency(r.op, r.xid, zxid, r.received, now)
	for len(c.queue) > 0 && !c.queue[0].inFlight {
		q := c.queue[0]
		c.dequeue()
		if q.err != wire.ErrOK {
			c.reply(q.xid, zxid, q.err, nil)
			continue
		}
		s.execRead(c, q.xid, q.op, q.raw, q.auth, q.received, now)
	}
	if c.paused && len(c.queue) < maxQueued/2 {
		c.paused = false
		c.scheduleFlush() // the wake makes the event loop parse again
		return
	}
	if !c.queued && !c.wake {
		c.queued = true
		p.flushes = append(p.flushes, c)
	}
}

// writeOut sends out the replies complete queued, once the batch is
// applied. On a standalone server a batch for a few connections (a
// lightly loaded server, where latency is all that matters) is written
// from here; a larger one is left to the event loops, which write in
// parallel while this goroutine goes on to the next batch. An ensemble
// member's connections have no descriptor to write through (dupSocket):
// there this goroutine also runs the quorum protocol and is what limits
// write throughput.
func (p *processor) writeOut() {
	direct := len(p.flushes) <= maxDirectWrites
	for i, c := range p.flushes {
		c.writeOut(direct)
		p.flushes[i] = nil
	}
	p.flushes = p.flushes[:0]
}

// maxDirectWrites is the most connections writeOut writes to itself.
const maxDirectWrites = 2

// writeReply encodes the answer to a write (FinalRequestProcessor).
func (p *processor) writeReply(c *Conn, r *Request, res *tree.Result, zxid int64) {
	err := r.err
	if r.op == wire.OpMulti && r.txn != nil && r.txn.Header.Type == int32(wire.OpMulti) {
		c.reply(r.xid, zxid, wire.ErrOK, multiResponse(res))
		return
	}
	if err == wire.ErrOK {
		err = res.Err
	}
	var rec jute.Record
	switch r.op {
	case wire.OpCreate:
		rec = &jute.CreateResponse{Path: res.Path}
	case wire.OpCreate2, wire.OpCreateTTL, wire.OpCreateContainer:
		rec = &jute.Create2Response{Path: res.Path, Stat: res.Stat}
	case wire.OpSetData, wire.OpCheck:
		rec = &jute.SetDataResponse{Stat: res.Stat}
	case wire.OpSetACL:
		rec = &jute.SetACLResponse{Stat: res.Stat}
	case wire.OpSync:
		if sr, ok := r.body.(*jute.SyncRequest); ok {
			rec = &jute.SyncResponse{Path: sr.Path}
		}
	}
	c.reply(r.xid, zxid, err, rec)
}

// multiResponse maps applied sub-results to MultiResponse entries.
func multiResponse(res *tree.Result) *wire.MultiResponse {
	out := &wire.MultiResponse{Results: make([]wire.MultiResult, 0, len(res.Multi))}
	for i := range res.Multi {
		sr := &res.Multi[i]
		var mr wire.MultiResult
		switch sr.Type {
		case wire.OpCheck:
			mr = wire.MultiResult{Type: wire.OpCheck}
		case wire.OpCreate:
			mr = wire.MultiResult{Type: wire.OpCreate, Record: &jute.CreateResponse{Path: sr.Path}}
		case wire.OpCreate2, wire.OpCreateTTL, wire.OpCreateContainer:
			mr = wire.MultiResult{Type: wire.OpCreate2, Record: &jute.Create2Response{Path: sr.Path, Stat: sr.Stat}}
		case wire.OpDelete, wire.OpDeleteContainer:
			mr = wire.MultiResult{Type: wire.OpDelete}
		case wire.OpSetData:
			mr = wire.MultiResult{Type: wire.OpSetData, Record: &jute.SetDataResponse{Stat: sr.Stat}}
		default:
			mr = wire.MultiResult{Type: wire.OpError, Err: sr.Err}
		}
		if sr.Err != wire.ErrOK && sr.Type != wire.OpError {
			mr = wire.MultiResult{Type: wire.OpError, Err: sr.Err}
		}
		out.Results = append(out.Results, mr)
	}
	return out
}

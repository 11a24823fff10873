package server

import (
	"context"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"
	"github.com/rs/zerolog"

	"zkd/jute"
	"zkd/wire"
)

// frontend is the gnet event handler for the client port. Event loops
// never block: reads run in place under the tree's read lock, writes are
// queued to the processor.
type frontend struct {
	srv     *Server
	eng     gnet.Engine
	nextID  atomic.Uint64
	ipMu    sync.Mutex
	perIP   map[string]int
	conns   sync.Map // *Conn → struct{}
	started chan struct{}
}

func (f *frontend) OnBoot(eng gnet.Engine) gnet.Action {
	f.eng = eng
	close(f.started)
	return gnet.None
}

func (f *frontend) OnShutdown(gnet.Engine) {}

func (f *frontend) OnTick() (time.Duration, gnet.Action) { return time.Hour, gnet.None }

func (f *frontend) OnOpen(gc gnet.Conn) ([]byte, gnet.Action) {
	s := f.srv
	c := &Conn{srv: s, gc: gc, id: f.nextID.Add(1), opened: time.Now()}
	if a := gc.RemoteAddr(); a != nil {
		c.remote = a.String()
		if ta, ok := a.(*net.TCPAddr); ok {
			c.remoteIP = ta.IP.String()
		} else if h, _, err := net.SplitHostPort(c.remote); err == nil {
			c.remoteIP = h
		}
	}
	c.auth = []jute.Id{{Scheme: "ip", ID: c.remoteIP}}
	if max := s.cfg.MaxClientCnxns; max > 0 {
		f.ipMu.Lock()
		n := f.perIP[c.remoteIP]
		if n >= max {
			f.ipMu.Unlock()
			s.log.Warn().Str("client", c.remote).Int("max", max).Msg("too many connections from this address; closing")
			return nil, gnet.Close
		}
		f.perIP[c.remoteIP] = n + 1
		f.ipMu.Unlock()
	}
	gc.SetContext(c)
	f.conns.Store(c, struct{}{})
	s.stats.connections.Add(1)
	return nil, gnet.None
}

func (f *frontend) OnClose(gc gnet.Conn, err error) gnet.Action {
	c, ok := gc.Context().(*Conn)
	if !ok {
		return gnet.None
	}
	s := f.srv
	if s.cfg.MaxClientCnxns > 0 {
		f.ipMu.Lock()
		if f.perIP[c.remoteIP]--; f.perIP[c.remoteIP] <= 0 {
			delete(f.perIP, c.remoteIP)
		}
		f.ipMu.Unlock()
	}
	f.conns.Delete(c)
	s.stats.connections.Add(-1)
	c.mu.Lock()
	c.closed = true
	c.closeDup()
	sess := c.session
	c.queue = nil
	c.mu.Unlock()
	s.watches.RemoveConn(c)
	if sess != nil {
		sess.conn.CompareAndSwap(c, nil)
	}
	ev := s.log.Debug()
	if err != nil {
		ev = s.log.Info().Err(err)
	}
	ev.Str("client", c.remote).Str("session", hexID(c.SessionID())).Msg("connection closed")
	return gnet.None
}

func (f *frontend) OnTraffic(gc gnet.Conn) gnet.Action {
	c := gc.Context().(*Conn)
	c.now = time.Now()
	buf, _ := gc.Peek(0)
	consumed := 0
	action := gnet.None
	for consumed < len(buf) && action == gnet.None && c.state != stateClosing && !c.connecting.Load() && !c.closing.Load() && !c.full() {
		rest := buf[consumed:]
		if c.state == stateNew {
			if w, ok := wire.FourLetterWord(rest); ok {
				consumed = len(buf) // whatever follows is ignored
				c.stats.received.Add(1)
				f.srv.stats.shard(c.id).received.Add(1)
				c.state = stateClosing
				c.runFourLetterWord(w)
				break
			}
		}
		payload, n, err := wire.NextFrame(rest, f.srv.maxBuffer)
		if err != nil {
			f.srv.log.Warn().Str("client", c.remote).Str("session", hexID(c.SessionID())).Err(err).
				Msg("closing connection: bad frame length")
			action = gnet.Close
			break
		}
		if n == 0 {
			break
		}
		consumed += n
		c.stats.received.Add(1)
		f.srv.stats.shard(c.id).received.Add(1)
		if c.state == stateNew {
			action = c.handleConnect(payload)
		} else {
			action = c.handleRequest(payload)
		}
	}
	if consumed > 0 {
		_, _ = gc.Discard(consumed)
	}
	if c.flush() || c.state == stateClosing {
		return gnet.Close
	}
	if c.submitted {
		c.submitted = false
		runtime.Gosched()
	}
	return action
}

// handleConnect processes the ConnectRequest (ZooKeeperServer.
// processConnectRequest).
func (c *Conn) handleConnect(payload []byte) gnet.Action {
	s := c.srv
	var req jute.ConnectRequest
	if err := jute.Unmarshal(payload, &req); err != nil {
		s.log.Warn().Str("client", c.remote).Err(err).Msg("closing connection: malformed ConnectRequest")
		return gnet.Close
	}
	c.oldClient = req.OmitReadOnly
	if !s.acceptingClients() {
		s.log.Info().Str("client", c.remote).Msg("closing client connection: this server is not serving (no quorum leader yet)")
		return gnet.Close
	}
	last := s.lastProcessedZxid()
	if req.LastZxidSeen > last {
		s.log.Info().Str("client", c.remote).Str("clientZxid", hexID(req.LastZxidSeen)).
			Str("ourZxid", hexID(last)).Msg("refusing session request: client has seen a later zxid; client must try another server")
		return gnet.Close
	}
	if !req.ReadOnly && s.readOnly() {
		s.log.Info().Str("client", c.remote).Msg("refusing session request for not-read-only client")
		return gnet.Close
	}
	to := req.TimeOut
	if min := int32(s.cfg.MinTimeout()); to < min {
		to = min
	}
	if max := int32(s.cfg.MaxTimeout()); to > max {
		to = max
	}
	c.timeout.Store(to)
	c.state = stateEstablished
	if req.SessionID == 0 {
		sess := s.sessions.Create(to)
		ro := s.readOnly()
		sess.local.Store(ro)
		c.bindSession(sess)
		s.log.Debug().Str("client", c.remote).Str("session", hexID(sess.ID)).Int32("timeout", to).Msg("creating session")
		r := &Request{
			conn: c, sessionID: sess.ID, op: wire.OpCreateSession,
			body: &jute.CreateSessionTxn{TimeOut: to}, inFlight: true, received: c.now,
			auth: c.auth,
			connect: &jute.ConnectResponse{
				TimeOut: to, SessionID: sess.ID, Passwd: Password(sess.ID),
				OmitReadOnly: c.oldClient, ReadOnly: ro,
			},
		}
		// Like ZooKeeper, read nothing more until the session exists.
		c.connecting.Store(true)
		c.mu.Lock()
		c.enqueue(r)
		c.mu.Unlock()
		s.proc.submit(r)
		return gnet.None
	}
	return c.reopenSession(req.SessionID, req.Passwd, to)
}

// reopenSession resumes a session on this connection, or answers with a
// zero timeout (session expired) and closes. A learner first asks the
// leader whether the session is still valid (REVALIDATE).
func (c *Conn) reopenSession(id int64, passwd []byte, to int32) gnet.Action {
	s := c.srv
	sess := s.sessions.Get(id)
	if sess != nil {
		// ZooKeeper closes the session's current connection before it
		// checks the password.
		if old := sess.conn.Load(); old != nil && old != c {
			old.closeAsync()
		}
	}
	if !bytesEqual(passwd, Password(id)) {
		s.log.Warn().Str("client", c.remote).Str("session", hexID(id)).Msg("incorrect password for session")
		c.finishReopen(id, false)
		return gnet.Close
	}
	c.timeout.Store(to)
	if s.role.Load() == roleLearner {
		c.connecting.Store(true) // read nothing more until the leader answers
		s.proc.submit(&Request{conn: c, sessionID: id, op: opRevalidate, received: c.now})
		return gnet.None
	}
	valid := sess != nil && s.sessions.Touch(sess)
	c.finishReopen(id, valid)
	if !valid {
		c.state = stateClosing
		return gnet.Close
	}
	return gnet.None
}

// finishReopen answers a reconnect: the session resumes here, or the
// client learns it expired (timeout 0) and the connection closes.
func (c *Conn) finishReopen(id int64, valid bool) {
	s := c.srv
	resp := jute.ConnectResponse{OmitReadOnly: c.oldClient, Passwd: make([]byte, 16), ReadOnly: s.readOnly()}
	if valid {
		sess := s.sessions.Get(id)
		if sess == nil {
			sess = s.sessions.Add(id, c.timeout.Load())
		}
		sess.timeout.Store(c.timeout.Load())
		s.sessions.Touch(sess)
		c.bindSession(sess)
		resp.TimeOut = c.timeout.Load()
		resp.SessionID = id
		resp.Passwd = Password(id)
		s.log.Info().Str("client", c.remote).Str("session", hexID(id)).Int32("timeout", resp.TimeOut).Msg("session reestablished")
	} else {
		s.log.Info().Str("client", c.remote).Str("session", hexID(id)).Msg("invalid session, probably expired")
	}
	c.mu.Lock()
	c.writeConnectResponse(&resp)
	if !valid {
		c.closeSoon = true
	}
	c.scheduleFlush()
	c.mu.Unlock()
	c.connecting.Store(false)
}

func (c *Conn) bindSession(sess *Session) {
	c.mu.Lock()
	c.session = sess
	c.mu.Unlock()
	c.sessionID.Store(sess.ID)
	if old := sess.conn.Swap(c); old != nil && old != c {
		c.srv.log.Info().Str("session", hexID(sess.ID)).Str("old", old.remote).Msg("closing stale connection of a reconnected session")
		old.closeAsync()
	}
}

// writeConnectResponse appends the handshake answer; mu must be held.
func (c *Conn) writeConnectResponse(r *jute.ConnectResponse) {
	var off int
	c.out, off = wire.AppendFrameStart(c.out)
	c.enc.SetBytes(c.out)
	r.Encode(&c.enc)
	c.out = c.enc.Bytes()
	wire.FinishFrame(c.out, off)
}

func bytesEqual(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// handleRequest dispatches one request frame of an established session.
func (c *Conn) handleRequest(payload []byte) gnet.Action {
	s := c.srv
	if len(payload) < 8 {
		s.log.Warn().Str("client", c.remote).Str("session", hexID(c.SessionID())).Msg("closing connection: request shorter than its header")
		return gnet.Close
	}
	xid := int32(be32(payload))
	op := wire.OpCode(int32(be32(payload[4:])))
	body := payload[8:]
	if sess := c.currentSession(); sess != nil {
		s.sessions.TouchAt(sess, c.now)
	}
	switch op {
	case wire.OpAuth:
		return c.handleAuth(xid, body)
	case wire.OpSASL:
		return c.handleSASL(xid, body)
	}
	if !opSupported(op) {
		s.log.Warn().Str("session", hexID(c.SessionID())).Int32("op", int32(op)).Int32("xid", xid).
			Msg("unknown or unimplemented request type; closing connection")
		c.mu.Lock()
		c.reply(xid, -1, wire.ErrUnimplemented, nil)
		c.mu.Unlock()
		c.state = stateClosing
		return gnet.Close
	}
	if isRead(op) {
		c.handleRead(xid, op, body)
		return gnet.None
	}
	rec, _ := wire.RequestRecord(op)
	if rec != nil {
		if err := jute.Unmarshal(body, rec); err != nil {
			s.log.Warn().Str("session", hexID(c.SessionID())).Stringer("op", op).Err(err).Msg("malformed request")
			c.queueError(xid, op, wire.ErrMarshallingError)
			return gnet.None
		}
	}
	r := &Request{
		conn: c, sessionID: c.SessionID(), xid: xid, op: op, body: rec,
		auth: c.AuthIDs(), inFlight: true, received: c.now,
	}
	c.mu.Lock()
	c.enqueue(r)
	c.dupSocket()
	c.mu.Unlock()
	s.proc.submit(r)
	c.submitted = true
	return gnet.None
}

func (c *Conn) currentSession() *Session {
	c.mu.Lock()
	s := c.session
	c.mu.Unlock()
	return s
}

// queueError answers with an error in request order.
func (c *Conn) queueError(xid int32, op wire.OpCode, err wire.Error) {
	c.mu.Lock()
	if len(c.queue) == 0 {
		c.reply(xid, c.srv.lastProcessedZxid(), err, nil)
	} else {
		c.enqueue(&Request{conn: c, xid: xid, op: op, err: err, received: time.Now()})
	}
	c.mu.Unlock()
}

// handleRead runs a read now when nothing of the session is pending, else
// queues it behind the pending writes.
func (c *Conn) handleRead(xid int32, op wire.OpCode, body []byte) {
	s := c.srv
	s.treeMu.RLock()
	c.mu.Lock()
	if len(c.queue) == 0 {
		s.execRead(c, xid, op, body, c.auth, c.now, c.now)
	} else {
		raw := make([]byte, len(body))
		copy(raw, body)
		c.enqueue(&Request{conn: c, sessionID: c.SessionID(), xid: xid, op: op, raw: raw, auth: c.auth, received: c.now})
	}
	c.mu.Unlock()
	s.treeMu.RUnlock()
}

// handleAuth processes an auth packet at once, as ZooKeeper does; a
// failure is answered with AUTHFAILED and the connection closes.
func (c *Conn) handleAuth(xid int32, body []byte) gnet.Action {
	s := c.srv
	var p jute.AuthPacket
	if err := jute.Unmarshal(body, &p); err != nil {
		s.log.Warn().Str("session", hexID(c.SessionID())).Err(err).Msg("closing connection: malformed auth packet")
		return gnet.Close
	}
	ids, err := s.auth.Authenticate(p.Scheme, p.Auth, c.remoteIP)
	if err != nil {
		s.log.Warn().Str("session", hexID(c.SessionID())).Str("scheme", p.Scheme).Msg("authentication failed")
		c.mu.Lock()
		c.reply(xid, 0, wire.ErrAuthFailed, nil)
		c.mu.Unlock()
		c.state = stateClosing
		return gnet.Close
	}
	c.addAuth(ids)
	s.log.Info().Str("session", hexID(c.SessionID())).Str("scheme", p.Scheme).Str("client", c.remote).Msg("auth success")
	c.mu.Lock()
	c.reply(xid, 0, wire.ErrOK, nil)
	c.mu.Unlock()
	return gnet.None
}

// handleSASL answers a SASL token as ZooKeeper does when no SASL server
// is configured: no token, no error.
func (c *Conn) handleSASL(xid int32, body []byte) gnet.Action {
	s := c.srv
	var r jute.GetSASLRequest
	if err := jute.Unmarshal(body, &r); err != nil {
		s.log.Warn().Str("session", hexID(c.SessionID())).Err(err).Msg("closing connection: malformed SASL request")
		return gnet.Close
	}
	s.log.Error().Str("session", hexID(c.SessionID())).Msg("SASL request but no SASL server is configured")
	c.mu.Lock()
	c.reply(xid, 0, wire.ErrOK, &jute.SetSASLResponse{})
	c.mu.Unlock()
	return gnet.None
}

func be32(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// opSupported lists the client opcodes zkd serves (Request.isValid minus
// the server-internal ones).
func opSupported(op wire.OpCode) bool {
	switch op {
	case wire.OpCreate, wire.OpCreate2, wire.OpCreateContainer, wire.OpCreateTTL,
		wire.OpDelete, wire.OpExists, wire.OpGetData, wire.OpSetData, wire.OpGetACL,
		wire.OpSetACL, wire.OpGetChildren, wire.OpGetChildren2, wire.OpSync, wire.OpPing,
		wire.OpCheck, wire.OpMulti, wire.OpMultiRead, wire.OpReconfig, wire.OpCheckWatches,
		wire.OpRemoveWatches, wire.OpSetWatches, wire.OpSetWatches2, wire.OpGetEphemerals,
		wire.OpGetAllChildrenNumber, wire.OpAddWatch, wire.OpWhoAmI, wire.OpCloseSession,
		wire.OpDeleteContainer, wire.OpCreateSession:
		// deleteContainer and createSession are server-internal; ZooKeeper
		// still takes them from clients and fails them (see prepRequest).
		return true
	}
	return false
}

// isRead tells which ops are answered from the tree without a txn.
func isRead(op wire.OpCode) bool {
	switch op {
	case wire.OpExists, wire.OpGetData, wire.OpGetACL, wire.OpGetChildren,
		wire.OpGetChildren2, wire.OpPing, wire.OpCheckWatches, wire.OpRemoveWatches,
		wire.OpSetWatches, wire.OpSetWatches2, wire.OpGetEphemerals,
		wire.OpGetAllChildrenNumber, wire.OpAddWatch, wire.OpWhoAmI, wire.OpMultiRead:
		return true
	}
	return false
}

// gnetLogger routes gnet's own log lines to zerolog.
type gnetLogger struct{ l zerolog.Logger }

func (g gnetLogger) Debugf(f string, a ...any) { g.l.Debug().Msgf(f, a...) }
func (g gnetLogger) Infof(f string, a ...any)  { g.l.Debug().Msgf(f, a...) }
func (g gnetLogger) Warnf(f string, a ...any)  { g.l.Warn().Msgf(f, a...) }
func (g gnetLogger) Errorf(f string, a ...any) { g.l.Error().Msgf(f, a...) }
func (g gnetLogger) Fatalf(f string, a ...any) { g.l.Error().Msgf(f, a...) }

func (f *frontend) stop(ctx context.Context) error {
	select {
	case <-f.started:
		return f.eng.Stop(ctx)
	default:
		return nil
	}
}

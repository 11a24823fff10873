package compat

import (
	"encoding/binary"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"zkd/jute"
	"zkd/wire"
)

// Bounded waits of the raw client.
const (
	dialTimeout  = 3 * time.Second
	replyTimeout = 5 * time.Second // for a reply that is expected
	closeTimeout = 3 * time.Second // for a close that is expected
	sessTimeout  = 30000           // requested session timeout, ms
	// scenarioLimit bounds a scenario against a stuck server: after it
	// no more requests are sent.
	scenarioLimit = 30 * time.Second
)

// Predefined ACLs (ZooDefs.Ids).
var (
	openACL    = []jute.ACL{{Perms: wire.PermAll, ID: jute.Id{Scheme: "world", ID: "anyone"}}}
	readACL    = []jute.ACL{{Perms: wire.PermRead, ID: jute.Id{Scheme: "world", ID: "anyone"}}}
	creatorACL = []jute.ACL{{Perms: wire.PermAll, ID: jute.Id{Scheme: "auth", ID: ""}}}
)

// run is one execution of a scenario against one server. It records a
// transcript: requests ("A> ...") and everything received ("A< ...").
type run struct {
	srv      *server
	deadline time.Time
	prefix   string // /s-<scenario>
	n        *normalizer
	lines    []string
	sessions []*sess
}

func newRun(srv *server, scenario string) *run {
	return &run{srv: srv, prefix: "/s-" + scenario, n: newNormalizer(), deadline: time.Now().Add(scenarioLimit)}
}

// p returns a path under the scenario's prefix.
func (r *run) p(rel string) string { return r.prefix + rel }

func (r *run) logf(format string, args ...any) {
	r.lines = append(r.lines, printable(fmt.Sprintf(format, args...)))
}

// printable escapes control characters and invalid UTF-8, so transcripts
// of odd paths stay text.
func printable(s string) string {
	ok := true
	for _, c := range s {
		if c == utf8.RuneError || !unicode.IsPrint(c) {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	var b strings.Builder
	for i, w := 0, 0; i < len(s); i += w {
		c, n := utf8.DecodeRuneInString(s[i:])
		w = n
		if (c == utf8.RuneError && n == 1) || !unicode.IsPrint(c) {
			q := strconv.QuoteRune(c)
			if c == utf8.RuneError {
				q = fmt.Sprintf("'\\x%02x'", s[i])
			}
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

// note adds a comment line to the transcript.
func (r *run) note(s string) { r.logf("# %s", s) }

// sess is one client session (alias "A", "B", ...) and its current TCP
// connection.
type sess struct {
	r        *run
	alias    string
	c        *rawConn
	id       int64
	passwd   []byte
	xid      int32
	lastZxid int64
	closed   bool // closeSession was sent, or the session was refused
	timeouts int  // replies missing in a row; at 2 the connection is dropped
}

// connectOpts varies the ConnectRequest.
type connectOpts struct {
	omitReadOnly bool   // old client: no trailing readOnly byte
	lastZxid     int64  // lastZxidSeen
	lastZxidDesc string // how to print lastZxid instead of normalizing it
	sessionID    int64
	passwd       []byte
	passwdDesc   string // how to print passwd
	keepOld      bool   // on reconnect, leave the old connection open and watch it close
}

// connect opens a new session.
func (r *run) connect(alias string) *sess {
	return r.connectWith(alias, connectOpts{})
}

// connectWith opens a connection for a new session object with explicit
// ConnectRequest fields.
func (r *run) connectWith(alias string, o connectOpts) *sess {
	s := &sess{r: r, alias: alias}
	r.sessions = append(r.sessions, s)
	s.handshake(o)
	return s
}

// start connects session A and creates the scenario's prefix node.
func (r *run) start() *sess {
	a := r.connect("A")
	a.create(r.prefix, "", openACL, 0)
	return a
}

func (s *sess) logf(format string, args ...any) {
	s.r.logf(s.alias+format, args...)
}

// handshake dials and exchanges ConnectRequest/ConnectResponse.
func (s *sess) handshake(o connectOpts) {
	c, err := dialRaw(s.r.srv.addr, dialTimeout)
	if err != nil {
		s.logf("! dial: %v", err)
		return
	}
	passwd := o.passwd
	if passwd == nil {
		passwd = make([]byte, 16)
	}
	req := jute.ConnectRequest{
		LastZxidSeen: o.lastZxid, TimeOut: sessTimeout, SessionID: o.sessionID,
		Passwd: passwd, OmitReadOnly: o.omitReadOnly,
	}
	lz := o.lastZxidDesc
	if lz == "" {
		lz = s.r.n.zxid(o.lastZxid)
	}
	pw := o.passwdDesc
	if pw == "" {
		pw = "zero16"
		if !allZero(passwd) {
			pw = fmt.Sprintf("%dB", len(passwd))
		}
	}
	ro := "readOnly=false"
	if o.omitReadOnly {
		ro = "readOnly=<omitted>"
	}
	s.logf("> connect lastZxid=%s timeout=%d session=%s passwd=%s %s",
		lz, sessTimeout, s.r.n.session(o.sessionID), pw, ro)
	if err := c.writeFrame(jute.Marshal(&req), replyTimeout); err != nil {
		s.logf("< %s", connErrString(err))
		c.close()
		return
	}
	s.c = c
	b, err := c.readFrame(replyTimeout)
	if err != nil {
		s.logf("< %s", connErrString(err))
		s.dropConn()
		return
	}
	var resp jute.ConnectResponse
	d := jute.NewDecoder(b)
	resp.Decode(d)
	if d.Err() != nil {
		s.logf("< connect response <decode: %v> 0x%x", d.Err(), b)
		s.dropConn()
		return
	}
	rpw := "zero16"
	if !allZero(resp.Passwd) || len(resp.Passwd) != 16 {
		rpw = fmt.Sprintf("%dB", len(resp.Passwd))
	}
	rro := fmt.Sprintf("readOnly=%v", resp.ReadOnly)
	if resp.OmitReadOnly {
		rro = "readOnly=<absent>"
	}
	extra := ""
	if d.Remaining() > 0 {
		extra = fmt.Sprintf(" +%d trailing bytes", d.Remaining())
	}
	s.logf("< connected len=%d proto=%d timeout=%d session=%s passwd=%s %s%s",
		len(b), resp.ProtocolVersion, resp.TimeOut, s.r.n.session(resp.SessionID), rpw, rro, extra)
	if resp.TimeOut <= 0 || resp.SessionID == 0 {
		// Refused (expired or wrong password): the server closes.
		s.closed = s.closed || s.id == 0
		s.expectClosed()
		return
	}
	s.id, s.passwd = resp.SessionID, resp.Passwd
	s.closed = false
}

// reconnect closes the TCP connection without closeSession and resumes
// the session on a new one, with lastZxidSeen = the last zxid seen.
func (s *sess) reconnect(o connectOpts) {
	old := s.c
	if !o.keepOld && old != nil {
		old.close()
		s.logf("> (disconnect)")
	}
	s.c = nil
	o.sessionID, o.lastZxid = s.id, s.lastZxid
	if o.passwd == nil {
		o.passwd = s.passwd
	}
	s.handshake(o)
	if o.keepOld && old != nil {
		s.logf("> (old connection)")
		s.r.expectClosedOn(s.alias+"(old)", old, closeTimeout)
		old.close()
	}
}

// disconnect closes the TCP connection without closeSession; the session
// lives on in the server.
func (s *sess) disconnect() {
	s.logf("> (disconnect)")
	s.dropConn()
}

func (s *sess) dropConn() {
	if s.c != nil {
		s.c.close()
		s.c = nil
	}
}

// send writes RequestHeader + record. It returns false (and records why)
// when there is no connection.
func (s *sess) send(xid int32, op wire.OpCode, rec jute.Record) bool {
	if s.c == nil {
		s.logf("< <not connected>")
		return false
	}
	if time.Now().After(s.r.deadline) {
		s.logf("< <scenario time limit (%v) passed: not sent>", scenarioLimit)
		return false
	}
	if err := s.c.writeFrame(encodeRequest(xid, op, rec), replyTimeout); err != nil {
		s.logf("< %s", connErrString(err))
		s.dropConn()
		return false
	}
	return true
}

// call sends a request and records every frame up to its reply.
func (s *sess) call(op wire.OpCode, rec jute.Record, desc string) (jute.ReplyHeader, []byte, bool) {
	s.xid++
	return s.callXid(s.xid, op, rec, desc)
}

func (s *sess) callXid(xid int32, op wire.OpCode, rec jute.Record, desc string) (jute.ReplyHeader, []byte, bool) {
	return s.callWait(xid, op, rec, desc, replyTimeout)
}

// callWait is callXid with a chosen wait for the reply, for requests a
// server may leave unanswered.
func (s *sess) callWait(xid int32, op wire.OpCode, rec jute.Record, desc string, wait time.Duration) (jute.ReplyHeader, []byte, bool) {
	s.logf("> %s", desc)
	if !s.send(xid, op, rec) {
		return jute.ReplyHeader{}, nil, false
	}
	return s.await(xid, op, true, wait)
}

// await reads frames until the reply with xid, recording notifications
// and anything unexpected on the way. record=false leaves the reply
// itself out of the transcript. When no reply comes within wait, the
// connection stays open: a late reply shows up as unexpected later.
func (s *sess) await(xid int32, op wire.OpCode, record bool, wait time.Duration) (jute.ReplyHeader, []byte, bool) {
	deadline := time.Now().Add(wait)
	for {
		b, err := s.c.readFrame(time.Until(deadline))
		if err != nil {
			if e := connErrString(err); e == "<timeout>" {
				s.logf("< <no reply within %v>", wait)
				if s.timeouts++; s.timeouts >= 2 {
					s.logf("< <second missing reply: connection dropped>")
					s.dropConn()
				}
			} else {
				s.logf("< %s", e)
				s.dropConn()
			}
			return jute.ReplyHeader{}, nil, false
		}
		var h jute.ReplyHeader
		d := jute.NewDecoder(b)
		h.Decode(d)
		if d.Err() != nil {
			s.logf("< <short frame 0x%x>", b)
			continue
		}
		body := d.Rest()
		if h.Xid == wire.XidNotification {
			s.logf("< %s", s.r.n.event(h.Zxid, body))
			continue
		}
		if h.Xid != xid {
			s.logf("< <unexpected reply xid=%d zxid=%s err=%s %dB>", h.Xid, s.r.n.zxid(h.Zxid), errName(h.Err), len(body))
			continue
		}
		s.timeouts = 0
		if h.Zxid > s.lastZxid {
			s.lastZxid = h.Zxid
		}
		if record {
			s.logf("< xid=%d zxid=%s %s%s", h.Xid, s.r.n.zxid(h.Zxid), errName(h.Err), s.r.n.reply(op, h.Err, body))
		}
		return h, body, true
	}
}

// expectClosed waits for the server to close the connection, recording
// anything received first.
func (s *sess) expectClosed() {
	if s.c == nil {
		return
	}
	s.r.expectClosedOn(s.alias, s.c, closeTimeout)
	s.dropConn()
}

// expectClosedOn records the frames on c until it closes or timeout passes.
func (r *run) expectClosedOn(who string, c *rawConn, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			r.logf("%s< <still open after %v>", who, timeout)
			return
		}
		b, err := c.readFrame(left)
		if err != nil {
			s := connErrString(err)
			if s == "<timeout>" {
				s = fmt.Sprintf("<still open after %v>", timeout)
			}
			r.logf("%s< %s", who, s)
			return
		}
		var h jute.ReplyHeader
		d := jute.NewDecoder(b)
		h.Decode(d)
		if h.Xid == wire.XidNotification {
			r.logf("%s< %s", who, r.n.event(h.Zxid, d.Rest()))
			continue
		}
		r.logf("%s< <frame before close: xid=%d zxid=%s err=%s %dB>", who, h.Xid, r.n.zxid(h.Zxid), errName(h.Err), len(d.Rest()))
	}
}

// drain pings and records the notifications queued before the ping's
// reply. sortEvents sorts them, for event sets whose order is a Java
// HashSet's iteration order.
func (s *sess) drain(sortEvents bool) {
	if s.c == nil {
		return
	}
	start := len(s.r.lines)
	s.logf("> ping (drain)")
	if !s.send(wire.XidPing, wire.OpPing, nil) {
		return
	}
	if _, _, ok := s.await(wire.XidPing, wire.OpPing, false, replyTimeout); !ok {
		return
	}
	if sortEvents {
		sort.Strings(s.r.lines[start+1:])
	}
}

// waitEvents waits up to timeout for n notifications (with no request
// outstanding), recording them, sorted when sortEvents is set; fewer are
// recorded as such. For events fired by the server on its own (container
// and TTL reaping).
func (s *sess) waitEvents(n int, timeout time.Duration, sortEvents bool) {
	if s.c == nil {
		return
	}
	s.logf("> (wait for %d event(s), at most %v)", n, timeout)
	start := len(s.r.lines)
	deadline := time.Now().Add(timeout)
	got := 0
	for got < n {
		b, err := s.c.readFrame(time.Until(deadline))
		if err != nil {
			if e := connErrString(err); e != "<timeout>" {
				s.logf("< %s", e)
				s.dropConn()
				return
			}
			break
		}
		var h jute.ReplyHeader
		d := jute.NewDecoder(b)
		h.Decode(d)
		if h.Xid != wire.XidNotification {
			s.logf("< <unexpected reply xid=%d err=%s>", h.Xid, errName(h.Err))
			continue
		}
		s.logf("< %s", s.r.n.event(h.Zxid, d.Rest()))
		got++
	}
	if sortEvents {
		sort.Strings(s.r.lines[start:])
	}
	if got < n {
		s.logf("< <%d of %d event(s) within %v>", got, n, timeout)
	}
}

// events drains, keeping the server's order.
func (s *sess) events() { s.drain(false) }

// eventsUnordered drains and sorts the notifications.
func (s *sess) eventsUnordered() { s.drain(true) }

// finish drains every live session and closes all sessions, reconnecting
// those whose connection was lost so no session is left to expire during
// a later scenario. The cleanup is not part of the transcript.
func (r *run) finish() {
	for _, s := range r.sessions {
		if s.c != nil && !s.closed {
			s.events()
		}
	}
	for _, s := range r.sessions {
		if s.closed || s.id == 0 {
			s.dropConn()
			continue
		}
		if s.c == nil {
			c, err := dialRaw(r.srv.addr, dialTimeout)
			if err != nil {
				continue
			}
			req := jute.ConnectRequest{LastZxidSeen: s.lastZxid, TimeOut: sessTimeout, SessionID: s.id, Passwd: s.passwd}
			if c.writeFrame(jute.Marshal(&req), replyTimeout) != nil {
				c.close()
				continue
			}
			if _, err := c.readFrame(replyTimeout); err != nil {
				c.close()
				continue
			}
			s.c = c
		}
		s.xid++
		if s.c.writeFrame(encodeRequest(s.xid, wire.OpCloseSession, nil), replyTimeout) == nil {
			// Wait for the reply (or the close), skipping notifications.
			for {
				b, err := s.c.readFrame(replyTimeout)
				if err != nil || len(b) < 4 || int32(binary.BigEndian.Uint32(b)) == s.xid {
					break
				}
			}
		}
		s.dropConn()
	}
}

// ---- operations ----

func (s *sess) create(path, data string, acl []jute.ACL, flags int32) {
	s.createOp(wire.OpCreate, path, bytesOrNil(data), acl, flags)
}

func (s *sess) create2(path, data string, acl []jute.ACL, flags int32) {
	s.createOp(wire.OpCreate2, path, bytesOrNil(data), acl, flags)
}

// createOp sends a CreateRequest with any opcode (create, create2,
// createContainer).
func (s *sess) createOp(op wire.OpCode, path string, data []byte, acl []jute.ACL, flags int32) {
	req := jute.CreateRequest{Path: path, Data: data, ACL: acl, Flags: flags}
	s.call(op, &req, fmt.Sprintf("%s %s data=%s acl=%s flags=%d", op, path, dataStr(data), aclStr(acl), flags))
}

func (s *sess) createTTL(path, data string, acl []jute.ACL, flags int32, ttl int64) {
	req := jute.CreateTTLRequest{Path: path, Data: bytesOrNil(data), ACL: acl, Flags: flags, TTL: ttl}
	s.call(wire.OpCreateTTL, &req, fmt.Sprintf("createTTL %s data=%s acl=%s flags=%d ttl=%d", path, dataStr(req.Data), aclStr(acl), flags, ttl))
}

func (s *sess) delete(path string, version int32) {
	s.call(wire.OpDelete, &jute.DeleteRequest{Path: path, Version: version}, fmt.Sprintf("delete %s version=%d", path, version))
}

func (s *sess) exists(path string, watch bool) {
	s.call(wire.OpExists, &jute.ExistsRequest{Path: path, Watch: watch}, fmt.Sprintf("exists %s watch=%v", path, watch))
}

func (s *sess) getData(path string, watch bool) {
	s.call(wire.OpGetData, &jute.GetDataRequest{Path: path, Watch: watch}, fmt.Sprintf("getData %s watch=%v", path, watch))
}

func (s *sess) setData(path, data string, version int32) {
	req := jute.SetDataRequest{Path: path, Data: bytesOrNil(data), Version: version}
	s.call(wire.OpSetData, &req, fmt.Sprintf("setData %s data=%s version=%d", path, dataStr(req.Data), version))
}

func (s *sess) setDataBytes(path string, data []byte, version int32) {
	req := jute.SetDataRequest{Path: path, Data: data, Version: version}
	s.call(wire.OpSetData, &req, fmt.Sprintf("setData %s data=%s version=%d", path, dataStr(data), version))
}

func (s *sess) getChildren(path string, watch bool) {
	s.call(wire.OpGetChildren, &jute.GetChildrenRequest{Path: path, Watch: watch}, fmt.Sprintf("getChildren %s watch=%v", path, watch))
}

func (s *sess) getChildren2(path string, watch bool) {
	s.call(wire.OpGetChildren2, &jute.GetChildren2Request{Path: path, Watch: watch}, fmt.Sprintf("getChildren2 %s watch=%v", path, watch))
}

func (s *sess) check(path string, version int32) {
	s.call(wire.OpCheck, &jute.CheckVersionRequest{Path: path, Version: version}, fmt.Sprintf("check %s version=%d", path, version))
}

func (s *sess) sync(path string) {
	s.call(wire.OpSync, &jute.SyncRequest{Path: path}, "sync "+path)
}

func (s *sess) getACL(path string) {
	s.call(wire.OpGetACL, &jute.GetACLRequest{Path: path}, "getACL "+path)
}

func (s *sess) setACL(path string, acl []jute.ACL, version int32) {
	s.call(wire.OpSetACL, &jute.SetACLRequest{Path: path, ACL: acl, Version: version}, fmt.Sprintf("setACL %s acl=%s version=%d", path, aclStr(acl), version))
}

func (s *sess) auth(scheme, auth string) {
	req := jute.AuthPacket{Type: 0, Scheme: scheme, Auth: []byte(auth)}
	s.callXid(wire.XidAuth, wire.OpAuth, &req, fmt.Sprintf("auth %s %q", scheme, auth))
}

func (s *sess) whoAmI() { s.call(wire.OpWhoAmI, nil, "whoAmI") }

func (s *sess) getEphemerals(prefix string) {
	s.call(wire.OpGetEphemerals, &jute.GetEphemeralsRequest{PrefixPath: prefix}, fmt.Sprintf("getEphemerals %q", prefix))
}

func (s *sess) getAllChildrenNumber(path string) {
	s.call(wire.OpGetAllChildrenNumber, &jute.GetAllChildrenNumberRequest{Path: path}, "getAllChildrenNumber "+path)
}

func (s *sess) addWatch(path string, mode int32) {
	s.call(wire.OpAddWatch, &jute.AddWatchRequest{Path: path, Mode: mode}, fmt.Sprintf("addWatch %s mode=%s", path, watchModeName(mode)))
}

func (s *sess) checkWatches(path string, typ wire.WatcherType) {
	s.call(wire.OpCheckWatches, &jute.CheckWatchesRequest{Path: path, Type: int32(typ)}, fmt.Sprintf("checkWatches %s type=%s", path, watcherTypeName(typ)))
}

func (s *sess) removeWatches(path string, typ wire.WatcherType) {
	s.call(wire.OpRemoveWatches, &jute.RemoveWatchesRequest{Path: path, Type: int32(typ)}, fmt.Sprintf("removeWatches %s type=%s", path, watcherTypeName(typ)))
}

// setWatches sends SetWatches with xid -8, as the Java client does on
// reconnect, relative to the session's last seen zxid.
func (s *sess) setWatches(data, exist, child []string) {
	req := jute.SetWatches{RelativeZxid: s.lastZxid, DataWatches: data, ExistWatches: exist, ChildWatches: child}
	s.callXid(wire.XidSetWatches, wire.OpSetWatches, &req, fmt.Sprintf("setWatches relZxid=%s data=%s exist=%s child=%s",
		s.r.n.zxid(req.RelativeZxid), strsStr(data, false), strsStr(exist, false), strsStr(child, false)))
}

// setWatches2 sends SetWatches2 (opcode 105) with persistent watches.
func (s *sess) setWatches2(data, exist, child, persistent, recursive []string) {
	req := jute.SetWatches2{RelativeZxid: s.lastZxid, DataWatches: data, ExistWatches: exist, ChildWatches: child,
		PersistentWatches: persistent, PersistentRecursiveWatches: recursive}
	s.callXid(wire.XidSetWatches, wire.OpSetWatches2, &req, fmt.Sprintf("setWatches2 relZxid=%s data=%s exist=%s child=%s persistent=%s recursive=%s",
		s.r.n.zxid(req.RelativeZxid), strsStr(data, false), strsStr(exist, false), strsStr(child, false),
		strsStr(persistent, false), strsStr(recursive, false)))
}

func (s *sess) ping() {
	s.callXid(wire.XidPing, wire.OpPing, nil, "ping")
}

// closeSession sends closeSession and expects the server to close the
// connection after the reply.
func (s *sess) closeSession() {
	s.call(wire.OpCloseSession, nil, "closeSession")
	s.closed = true
	s.expectClosed()
}

// raw sends an arbitrary opcode with a raw body.
func (s *sess) raw(op int32, body []byte, desc string) {
	var rec jute.Record
	if body != nil {
		rec = rawRecord(body)
	}
	s.call(wire.OpCode(op), rec, desc)
}

// pipeOp is one request of a pipeline.
type pipeOp struct {
	op   wire.OpCode
	rec  jute.Record
	desc string
}

// pipeline sends every request before reading any reply, as a client with
// several requests in flight does, then records the replies in order.
func (s *sess) pipeline(ops ...pipeOp) {
	first := s.xid + 1
	for _, o := range ops {
		s.xid++
		s.logf("> [xid %d] %s", s.xid, o.desc)
		if !s.send(s.xid, o.op, o.rec) {
			return
		}
	}
	for i, o := range ops {
		if _, _, ok := s.await(first+int32(i), o.op, true, replyTimeout); !ok {
			return
		}
	}
}

// multiOp is one op of a multi, with its description.
type multiOp struct {
	op   wire.MultiOp
	desc string
}

func mCreate(path, data string, acl []jute.ACL, flags int32) multiOp {
	return mCreateOp(wire.OpCreate, path, data, acl, flags)
}

func mCreateOp(op wire.OpCode, path, data string, acl []jute.ACL, flags int32) multiOp {
	return multiOp{wire.MultiOp{Type: op, Record: &jute.CreateRequest{Path: path, Data: bytesOrNil(data), ACL: acl, Flags: flags}},
		fmt.Sprintf("%s %s %s flags=%d", op, path, dataStr(bytesOrNil(data)), flags)}
}

func mCreateTTL(path, data string, flags int32, ttl int64) multiOp {
	return multiOp{wire.MultiOp{Type: wire.OpCreateTTL, Record: &jute.CreateTTLRequest{Path: path, Data: bytesOrNil(data), ACL: openACL, Flags: flags, TTL: ttl}},
		fmt.Sprintf("createTTL %s flags=%d ttl=%d", path, flags, ttl)}
}

func mDelete(path string, version int32) multiOp {
	return multiOp{wire.MultiOp{Type: wire.OpDelete, Record: &jute.DeleteRequest{Path: path, Version: version}},
		fmt.Sprintf("delete %s v=%d", path, version)}
}

func mSetData(path, data string, version int32) multiOp {
	return multiOp{wire.MultiOp{Type: wire.OpSetData, Record: &jute.SetDataRequest{Path: path, Data: bytesOrNil(data), Version: version}},
		fmt.Sprintf("setData %s %q v=%d", path, data, version)}
}

func mCheck(path string, version int32) multiOp {
	return multiOp{wire.MultiOp{Type: wire.OpCheck, Record: &jute.CheckVersionRequest{Path: path, Version: version}},
		fmt.Sprintf("check %s v=%d", path, version)}
}

func mGetData(path string) multiOp {
	return multiOp{wire.MultiOp{Type: wire.OpGetData, Record: &jute.GetDataRequest{Path: path}}, "getData " + path}
}

func mGetChildren(path string) multiOp {
	return multiOp{wire.MultiOp{Type: wire.OpGetChildren, Record: &jute.GetChildrenRequest{Path: path}}, "getChildren " + path}
}

func (s *sess) multi(ops ...multiOp) { s.multiAs(wire.OpMulti, ops...) }

func (s *sess) multiRead(ops ...multiOp) { s.multiAs(wire.OpMultiRead, ops...) }

func (s *sess) multiAs(op wire.OpCode, ops ...multiOp) {
	req := wire.MultiRequest{}
	descs := make([]string, len(ops))
	for i, o := range ops {
		req.Ops = append(req.Ops, o.op)
		descs[i] = o.desc
	}
	s.call(op, &req, fmt.Sprintf("%s [%s]", op, strings.Join(descs, " ; ")))
}

// ---- four-letter words ----

// fourLetter sends a four-letter word on a fresh connection. exact
// records the reply text; otherwise only the sorted set of line keys.
func (r *run) fourLetter(word string, exact bool) {
	reply, err := fourLetterWord(r.srv.addr, word, replyTimeout)
	if err != nil {
		r.logf("4lw> %s", word)
		r.logf("4lw< <error: %v> %q", err, reply)
		return
	}
	if exact {
		r.logf("4lw> %s", word)
		r.logf("4lw< %q", reply)
		return
	}
	r.logf("4lw> %s (line keys)", word)
	for _, k := range lineKeys(reply) {
		r.logf("4lw<   %s", k)
	}
}

// lineKeys returns the sorted, de-duplicated keys of a four-letter word's
// reply: the text of each line before its first ':', '=' or tab.
func lineKeys(reply string) []string {
	set := map[string]bool{}
	for _, l := range strings.Split(reply, "\n") {
		if strings.TrimSpace(l) == "" {
			continue
		}
		if strings.HasPrefix(l, " /") {
			set["<client line>"] = true
			continue
		}
		k := l
		if i := strings.IndexAny(l, ":=\t"); i >= 0 {
			k = l[:i]
		}
		k = strings.TrimSpace(k)
		// mntr's per-namespace metrics are named after the top-level
		// znodes that saw traffic: zk_avg_<ns>_read_per_namespace.
		if m := perNamespace.FindStringSubmatch(k); m != nil {
			k = m[1] + "<ns>" + m[2]
		}
		set[k] = true
	}
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// ---- helpers ----

var perNamespace = regexp.MustCompile(`^(zk_[a-z]+_).+(_(?:read|write)_per_namespace)$`)

func bytesOrNil(s string) []byte {
	if s == "\x00null" {
		return nil
	}
	return []byte(s)
}

// nullData passed as data sends a null buffer.
const nullData = "\x00null"

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func watchModeName(m int32) string {
	switch m {
	case wire.AddWatchPersistent:
		return "PERSISTENT"
	case wire.AddWatchPersistentRecursive:
		return "PERSISTENT_RECURSIVE"
	}
	return fmt.Sprintf("%d", m)
}

func watcherTypeName(t wire.WatcherType) string {
	switch t {
	case wire.WatcherChildren:
		return "Children"
	case wire.WatcherData:
		return "Data"
	case wire.WatcherAny:
		return "Any"
	case wire.WatcherPersistent:
		return "Persistent"
	case wire.WatcherPersistentRecursive:
		return "PersistentRecursive"
	}
	return fmt.Sprintf("%d", t)
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

package server

import (
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/panjf2000/gnet/v2"

	"zkd/jute"
	"zkd/wire"
)

type connState uint8

const (
	stateNew         connState = iota // waiting for ConnectRequest or a four-letter word
	stateEstablished                  // session requested or resumed: frames are requests
	stateClosing                      // closing after the output drains
)

// Conn is one client connection (ServerCnxn).
//
// Output from every goroutine goes through out under mu, so a watch
// notification queued by the apply stage is written before any reply
// queued after it; the event loop writes out to the socket.
type Conn struct {
	srv      *Server
	gc       gnet.Conn
	id       uint64
	remote   string // ip:port
	remoteIP string
	opened   time.Time

	// Owned by the event loop.
	state     connState
	oldClient bool // ConnectRequest without readOnly: answer in kind
	// now is when the event loop took up this connection's input: one
	// clock read serves every request of the batch (clocks are not free
	// on every machine, and a read costs little more than one).
	now time.Time
	// submitted is set when OnTraffic handed the processor a request.
	submitted bool

	mu     sync.Mutex
	out    []byte
	enc    jute.Encoder
	queue  []*Request // requests answered in order, head first
	wake   bool       // a Wake is pending
	queued bool       // on the processor's list of connections to write out
	// backlog is set while gnet holds output it could not write yet; only
	// the event loop may write then, behind it.
	backlog bool
	// wfd is a duplicate of the socket's descriptor (0: none yet) through
	// which the processor writes replies itself (writeOut). The event
	// loop makes it, since only there is the socket's own descriptor sure
	// to be open; OnClose closes it.
	wfd       int
	closed    bool
	closeSoon bool // close once out is written
	paused    bool // input left unparsed until the queue drains
	session   *Session
	auth      []jute.Id // copy on write

	sessionID atomic.Int64
	timeout   atomic.Int32
	// connecting is set while the session's createSession is in flight:
	// the event loop reads no further frames until it is answered.
	connecting atomic.Bool
	// closing is set by closeAsync: the event loop reads no further
	// frames, as ZooKeeper reads none from a connection it has closed.
	closing atomic.Bool
	stats   connStats
}

// connStats are ServerCnxn's counters. received is counted by the event
// loop; the rest change under the connection's mutex (replies are written
// under it), so they need no atomics of their own.
type connStats struct {
	received    atomic.Int64
	sent        int64
	outstanding int64
	lastZxid    int64
	lastCxid    int32
	lastOp      wire.OpCode // 0 before any reply
	lastLat     int64
	minLat      int64
	maxLat      int64
	totLat      int64
	countLat    int64
	lastResp    int64 // unix ms
}

// SessionID is the session bound to the connection, 0 before the handshake.
func (c *Conn) SessionID() int64 { return c.sessionID.Load() }

// AuthIDs returns the connection's auth ids.
func (c *Conn) AuthIDs() []jute.Id {
	c.mu.Lock()
	a := c.auth
	c.mu.Unlock()
	return a
}

func (c *Conn) addAuth(ids []jute.Id) {
	c.mu.Lock()
	n := make([]jute.Id, 0, len(c.auth)+len(ids))
	n = append(n, c.auth...)
	for _, id := range ids {
		dup := false
		for _, e := range n {
			if e == id {
				dup = true
			}
		}
		if !dup {
			n = append(n, id)
		}
	}
	c.auth = n
	c.mu.Unlock()
}

// beginReply starts a reply frame in out; mu must be held.
func (c *Conn) beginReply(xid int32, zxid int64, err wire.Error) int {
	var off int
	c.out, off = wire.AppendFrameStart(c.out)
	c.enc.SetBytes(c.out)
	c.enc.Int(xid)
	c.enc.Long(zxid)
	c.enc.Int(int32(err))
	return off
}

// endReply finishes a frame begun by beginReply; mu must be held.
func (c *Conn) endReply(off int) {
	c.out = c.enc.Bytes()
	wire.FinishFrame(c.out, off)
	c.stats.sent++
	c.srv.stats.shard(c.id).sent.Add(1)
}

// reply appends a whole reply; rec is only written when err is OK.
func (c *Conn) reply(xid int32, zxid int64, err wire.Error, rec jute.Record) {
	off := c.beginReply(xid, zxid, err)
	if err == wire.ErrOK && rec != nil {
		rec.Encode(&c.enc)
	}
	c.endReply(off)
}

// notify queues a watch notification (xid -1). ZooKeeper 3.8 sends zxid -1
// in the header.
func (c *Conn) notify(typ wire.EventType, path string) {
	c.mu.Lock()
	if !c.closed {
		off := c.beginReply(wire.XidNotification, -1, wire.ErrOK)
		c.enc.Int(int32(typ))
		c.enc.Int(int32(wire.StateSyncConnected))
		c.enc.String(path)
		c.endReply(off)
		c.scheduleFlush()
	}
	c.mu.Unlock()
}

// scheduleFlush asks the event loop to write out; mu must be held. Called
// from the event loop itself it is a no-op, since OnTraffic flushes on
// return.
func (c *Conn) scheduleFlush() {
	if c.wake || c.closed {
		return
	}
	c.wake = true
	_ = c.gc.Wake(nil)
}

// closeAsync closes the connection from any goroutine once pending output
// is written.
func (c *Conn) closeAsync() {
	c.closing.Store(true)
	c.mu.Lock()
	c.closeSoon = true
	if !c.closed {
		c.wake = false
		c.scheduleFlush()
	}
	c.mu.Unlock()
}

// Flow control: a connection with maxQueued requests waiting is not read
// further until half of them are answered, and one whose client leaves
// more than maxOutbound bytes of replies unread is closed.
const (
	maxQueued   = 1000
	maxOutbound = 64 << 20
)

// flush writes pending output; it runs on the event loop and reports
// whether the connection should now close.
func (c *Conn) flush() bool {
	c.mu.Lock()
	c.wake = false
	out := c.out
	closeSoon := c.closeSoon
	if len(out) > 0 {
		_, _ = c.gc.Write(out)
		c.written()
	}
	n := c.gc.OutboundBuffered()
	c.backlog = n > 0
	c.mu.Unlock()
	if n > maxOutbound {
		c.srv.log.Warn().Str("session", hexID(c.SessionID())).Str("client", c.remote).Int("bytes", n).
			Msg("closing connection: client does not read its replies")
		return true
	}
	return closeSoon
}

// written empties out once it is all written; mu must be held.
func (c *Conn) written() {
	// Keep small buffers, drop large ones so an idle connection does not
	// pin a burst's worth of memory.
	if cap(c.out) > 64<<10 {
		c.out = nil
	} else {
		c.out = c.out[:0]
	}
}

// dupSocket makes wfd for the processor's writes; the event loop calls
// it before it hands the processor a request whose reply it will write.
// mu must be held. Without a duplicate (an ensemble member, whose
// processor never writes, a socket numbered past maxDupFD, or out of
// descriptors) replies go through the event loop.
func (c *Conn) dupSocket() {
	if c.wfd != 0 || c.closed {
		return
	}
	if c.srv.qd != nil || c.gc.Fd() >= c.srv.maxDupFD {
		c.wfd = -1
		return
	}
	fd, _, errno := syscall.Syscall(syscall.SYS_FCNTL, uintptr(c.gc.Fd()), syscall.F_DUPFD_CLOEXEC, 3)
	if errno != 0 {
		c.wfd = -1
		return
	}
	c.wfd = int(fd)
}

// closeDup closes wfd; mu must be held.
func (c *Conn) closeDup() {
	if c.wfd > 0 {
		_ = syscall.Close(c.wfd)
	}
	c.wfd = -1
}

// writeOut writes pending output to the socket from the calling goroutine
// (the processor, after an apply): the event loop is then not woken for
// the replies to writes, which on an idle machine costs tens of
// microseconds per request. What the socket does not take at once, and
// any output while gnet holds some, goes through the event loop.
func (c *Conn) writeOut(direct bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.queued = false
	if c.closed || c.wake || len(c.out) == 0 {
		return
	}
	if !direct || c.backlog || c.closeSoon || c.wfd <= 0 {
		c.scheduleFlush()
		return
	}
	n, err := syscall.Write(c.wfd, c.out)
	if err == syscall.EINTR {
		n, err = syscall.Write(c.wfd, c.out)
	}
	if err == nil && n == len(c.out) {
		c.written()
		return
	}
	// The rest, or the error, is the event loop's to deal with.
	n = max(n, 0)
	c.out = c.out[:copy(c.out, c.out[n:])]
	c.scheduleFlush()
}

// full reports whether the connection has too many requests waiting; the
// event loop then stops parsing its input until complete() resumes it.
func (c *Conn) full() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.queue) >= maxQueued {
		c.paused = true
	}
	return c.paused
}

// enqueue appends a request that must be answered after those before it.
// mu must be held.
func (c *Conn) enqueue(r *Request) {
	c.queue = append(c.queue, r)
	c.stats.outstanding++
}

// dequeue pops the head of the queue; mu must be held.
func (c *Conn) dequeue() {
	c.queue[0] = nil
	c.queue = c.queue[1:]
	if len(c.queue) == 0 {
		c.queue = c.queue[:0:0]
	}
	c.stats.outstanding--
}

// recordLatency updates the stats after a reply; latencies are in ms, as
// ZooKeeper counts them. mu must be held.
func (c *Conn) recordLatency(op wire.OpCode, xid int32, zxid int64, since, now time.Time) {
	lat := now.Sub(since).Milliseconds()
	st := &c.stats
	st.lastLat = lat
	st.lastOp = op
	st.lastCxid = xid
	st.lastZxid = zxid
	st.lastResp = now.UnixMilli()
	st.totLat += lat
	st.countLat++
	if st.minLat == 0 || lat < st.minLat {
		st.minLat = lat
	}
	st.maxLat = max(st.maxLat, lat)
	c.srv.stats.record(c.id, lat, op.IsWrite())
}

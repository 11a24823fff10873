// Package load is the load generator behind cmd/zkbench and the bench
// suite: a minimal ZooKeeper client built on zkd's own codec (jute, wire)
// that keeps many requests in flight per session, checks every reply
// (error code, xid order, body) and measures latency from send to reply.
package load

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"zkd/jute"
	"zkd/wire"
)

// base is the origin of the monotonic clock every timestamp in this package
// is measured on; it is set once and never changed.
var base = time.Now()

// mono is nanoseconds since base, monotonic: cheap to store in a pending
// entry and safe to subtract across goroutines.
func mono() int64 { return int64(time.Since(base)) }

// maxFrame bounds a reply frame; anything larger is a protocol error.
const maxFrame = 64 << 20

// OpenACL is world:anyone with every permission (ZooDefs.Ids.OPEN_ACL_UNSAFE).
var OpenACL = []jute.ACL{{Perms: wire.PermAll, ID: jute.Id{Scheme: "world", ID: "anyone"}}}

// ErrSessionRefused is returned when the server answers a ConnectRequest
// with a non-positive timeout (it refused or expired the session).
var ErrSessionRefused = errors.New("session refused by the server")

// Options configure a Session.
type Options struct {
	// Timeout is the session timeout asked for; the server may negotiate it.
	Timeout time.Duration
	// HandshakeTimeout bounds connect + ConnectRequest + ConnectResponse
	// (default 15 s). A starting ZooKeeper accepts connections before it
	// serves and may leave one unanswered: pollers keep this short.
	HandshakeTimeout time.Duration
	// MaxInFlight bounds the requests in flight (pipeline depth plus
	// synchronous calls); it sizes the pending queue.
	MaxInFlight int
	// ReadBuffer is the size of the reply reader's buffer. Small for idle
	// sessions (10,000 of them must stay cheap), large for busy ones so one
	// read returns many replies.
	ReadBuffer int
	// NoPing disables heartbeats; otherwise a ping is sent when nothing was
	// sent for a third of the negotiated timeout, as the Java client does.
	NoPing bool
	// Linger0 closes the socket with a reset: session churn would otherwise
	// fill the ephemeral port range with TIME_WAIT sockets.
	Linger0 bool
	// OnNotify is called on the reader goroutine for each watch event.
	OnNotify func(ev *jute.WatcherEvent, at int64)
}

func (o *Options) defaults() {
	if o.Timeout == 0 {
		o.Timeout = 30 * time.Second
	}
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = 1024
	}
	if o.ReadBuffer <= 0 {
		o.ReadBuffer = 64 << 10
	}
	if o.HandshakeTimeout <= 0 {
		o.HandshakeTimeout = 15 * time.Second
	}
}

// Session is one ZooKeeper session on its own TCP connection. Requests are
// answered in the order they were sent, so replies are matched against a
// FIFO of pending requests: any reply whose xid is not the oldest pending
// one is a protocol error that ends the session.
type Session struct {
	opts       Options
	conn       *net.TCPConn
	br         *bufio.Reader
	ID         int64
	Negotiated time.Duration

	wmu      sync.Mutex // orders xid assignment, the pending queue and writes
	wbuf     []byte
	xid      int32
	lastSend atomic.Int64

	pending chan pending
	pipe    atomic.Pointer[pipeline]

	closing   atomic.Bool
	done      chan struct{} // closed when the reader stops
	errMu     sync.Mutex
	err       error
	pingTimer *time.Timer

	PingsSent atomic.Int64
	PingsRecv atomic.Int64
	lastZxid  int64 // reader only
}

type pending struct {
	xid  int32
	op   wire.OpCode
	tag  uint32
	sent int64
	call *Call
}

// Call is a request whose reply is handed back whole, for setup and for the
// workloads that are not closed loops (watch fan-out, churn).
type Call struct {
	done chan struct{}
	Hdr  jute.ReplyHeader
	Body []byte // reply body after the header (a copy)
	Sent int64
	At   int64 // when the reply was read
	s    *Session
}

// Wait waits for the reply; it fails if the session ends first.
func (c *Call) Wait() error {
	select {
	case <-c.done:
		return nil
	case <-c.s.done:
		select {
		case <-c.done:
			return nil
		default:
		}
		return c.s.Err()
	}
}

// Err returns the code of the reply as an error (nil for OK).
func (c *Call) Err() error {
	if c.Hdr.Err != 0 {
		return wire.Error(c.Hdr.Err)
	}
	return nil
}

// Dial opens a session: TCP connect, ConnectRequest, ConnectResponse.
func Dial(addr string, o Options) (*Session, error) {
	o.defaults()
	c, err := net.DialTimeout("tcp", addr, o.HandshakeTimeout)
	if err != nil {
		return nil, err
	}
	tc := c.(*net.TCPConn)
	if o.Linger0 {
		_ = tc.SetLinger(0)
	}
	s := &Session{
		opts: o, conn: tc, br: bufio.NewReaderSize(tc, o.ReadBuffer),
		pending: make(chan pending, o.MaxInFlight), done: make(chan struct{}),
	}
	if err := s.handshake(); err != nil {
		tc.Close()
		return nil, err
	}
	go s.readLoop()
	if !o.NoPing {
		s.pingTimer = time.AfterFunc(s.pingInterval(), s.pingTick)
	}
	return s, nil
}

func (s *Session) handshake() error {
	_ = s.conn.SetDeadline(time.Now().Add(s.opts.HandshakeTimeout))
	defer s.conn.SetDeadline(time.Time{})
	req := jute.ConnectRequest{TimeOut: int32(s.opts.Timeout / time.Millisecond), Passwd: make([]byte, 16)}
	buf, off := wire.AppendFrameStart(nil)
	e := jute.NewEncoder(buf)
	req.Encode(e)
	buf = e.Bytes()
	wire.FinishFrame(buf, off)
	if _, err := s.conn.Write(buf); err != nil {
		return err
	}
	body, err := readFrame(s.br, nil)
	if err != nil {
		return fmt.Errorf("connect response: %w", err)
	}
	var resp jute.ConnectResponse
	if err := jute.Unmarshal(body, &resp); err != nil {
		return fmt.Errorf("connect response: %w", err)
	}
	if resp.TimeOut <= 0 {
		return ErrSessionRefused
	}
	s.ID = resp.SessionID
	s.Negotiated = time.Duration(resp.TimeOut) * time.Millisecond
	s.lastSend.Store(mono())
	return nil
}

func readFrame(br *bufio.Reader, buf []byte) ([]byte, error) {
	var lb [4]byte
	if _, err := io.ReadFull(br, lb[:]); err != nil {
		return nil, err
	}
	n := int(int32(binary.BigEndian.Uint32(lb[:])))
	if n < 0 || n > maxFrame {
		return nil, fmt.Errorf("reply frame length %d", n)
	}
	if cap(buf) < n {
		buf = make([]byte, n, max(n, 2*cap(buf)))
	}
	buf = buf[:n]
	_, err := io.ReadFull(br, buf)
	return buf, err
}

// pingInterval is a third of the session timeout, the Java client's
// heartbeat spacing (readTimeout/2 with readTimeout = 2/3 of the timeout).
func (s *Session) pingInterval() time.Duration {
	t := s.Negotiated / 3
	if t < 100*time.Millisecond {
		t = 100 * time.Millisecond
	}
	return t
}

func (s *Session) pingTick() {
	if s.closing.Load() || s.Err() != nil {
		return
	}
	iv := s.pingInterval()
	if idle := time.Duration(mono() - s.lastSend.Load()); idle >= iv*9/10 {
		s.wmu.Lock()
		buf, off := wire.AppendFrameStart(s.wbuf[:0])
		e := jute.NewEncoder(buf)
		h := jute.RequestHeader{Xid: wire.XidPing, Type: int32(wire.OpPing)}
		h.Encode(e)
		buf = e.Bytes()
		wire.FinishFrame(buf, off)
		s.wbuf = buf
		_, err := s.conn.Write(buf)
		s.lastSend.Store(mono())
		s.wmu.Unlock()
		if err != nil {
			s.fail(err)
			return
		}
		s.PingsSent.Add(1)
	}
	s.pingTimer.Reset(iv)
}

// Err is why the session ended, or nil while it runs (and after a clean
// Close).
func (s *Session) Err() error {
	s.errMu.Lock()
	defer s.errMu.Unlock()
	return s.err
}

// Done is closed when the session's reader stops.
func (s *Session) Done() <-chan struct{} { return s.done }

func (s *Session) fail(err error) {
	s.errMu.Lock()
	if s.err == nil && !(s.closing.Load() && isClosedErr(err)) {
		s.err = err
	}
	s.errMu.Unlock()
	_ = s.conn.Close()
}

func isClosedErr(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || errors.Is(err, io.ErrUnexpectedEOF)
}

// ProtocolError is a reply that breaks the protocol (unexpected xid,
// undecodable frame): the session cannot be trusted after it.
type ProtocolError struct{ Msg string }

func (e *ProtocolError) Error() string { return "protocol error: " + e.Msg }

func (s *Session) readLoop() {
	defer close(s.done)
	var buf []byte
	d := jute.NewDecoder(nil)
	var h jute.ReplyHeader
	var ev jute.WatcherEvent
	for {
		var err error
		buf, err = readFrame(s.br, buf)
		if err != nil {
			s.fail(err)
			return
		}
		now := mono()
		d.Reset(buf)
		h.Decode(d)
		if d.Err() != nil {
			s.fail(&ProtocolError{fmt.Sprintf("reply header: %v", d.Err())})
			return
		}
		switch h.Xid {
		case wire.XidNotification:
			ev.Decode(d)
			if d.Err() != nil {
				s.fail(&ProtocolError{fmt.Sprintf("watch event: %v", d.Err())})
				return
			}
			if s.opts.OnNotify != nil {
				s.opts.OnNotify(&ev, now)
			}
			continue
		case wire.XidPing:
			if h.Err != 0 {
				s.fail(&ProtocolError{fmt.Sprintf("ping answered with %v", wire.Error(h.Err))})
				return
			}
			s.PingsRecv.Add(1)
			continue
		}
		var p pending
		select {
		case p = <-s.pending:
		default:
			s.fail(&ProtocolError{fmt.Sprintf("reply xid %d with no request pending", h.Xid)})
			return
		}
		if p.xid != h.Xid {
			s.fail(&ProtocolError{fmt.Sprintf("reply xid %d, expected %d (%v)", h.Xid, p.xid, p.op)})
			return
		}
		// A session never sees the server's state go back in time.
		if h.Err == 0 && h.Zxid < s.lastZxid && p.op != wire.OpCloseSession {
			s.fail(&ProtocolError{fmt.Sprintf("reply zxid %#x after %#x", h.Zxid, s.lastZxid)})
			return
		}
		if h.Zxid > s.lastZxid {
			s.lastZxid = h.Zxid
		}
		if p.call != nil {
			c := p.call
			c.Hdr, c.At = h, now
			c.Body = append([]byte(nil), d.Rest()...)
			close(c.done)
			continue
		}
		pl := s.pipe.Load()
		if pl == nil {
			s.fail(&ProtocolError{fmt.Sprintf("pipelined reply xid %d with no pipeline", h.Xid)})
			return
		}
		pl.reply(&p, &h, d, now)
	}
}

// Go sends a request (req may be nil for bodiless ops) and returns at once;
// Call.Wait waits for its reply.
func (s *Session) Go(op wire.OpCode, req jute.Record) (*Call, error) {
	c := &Call{done: make(chan struct{}), s: s}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if err := s.Err(); err != nil {
		return nil, err
	}
	s.xid++
	buf, off := wire.AppendFrameStart(s.wbuf[:0])
	e := jute.NewEncoder(buf)
	h := jute.RequestHeader{Xid: s.xid, Type: int32(op)}
	h.Encode(e)
	if req != nil {
		req.Encode(e)
	}
	buf = e.Bytes()
	wire.FinishFrame(buf, off)
	s.wbuf = buf
	c.Sent = mono()
	s.pending <- pending{xid: s.xid, op: op, sent: c.Sent, call: c}
	_, err := s.conn.Write(buf)
	s.lastSend.Store(mono())
	if err != nil {
		s.fail(err)
		return nil, err
	}
	return c, nil
}

// Call sends a request and waits for its reply. The returned error is a
// transport or protocol failure; the reply's own code is in Call.Hdr.Err.
func (s *Session) Call(op wire.OpCode, req jute.Record) (*Call, error) {
	c, err := s.Go(op, req)
	if err != nil {
		return nil, err
	}
	return c, c.Wait()
}

// Do sends a request, waits, checks that the reply is OK and decodes its
// body into resp (if not nil).
func (s *Session) Do(op wire.OpCode, req, resp jute.Record) error {
	c, err := s.Call(op, req)
	if err != nil {
		return err
	}
	if err := c.Err(); err != nil {
		return fmt.Errorf("%v: %w", op, err)
	}
	if resp != nil {
		if err := jute.Unmarshal(c.Body, resp); err != nil {
			return fmt.Errorf("%v reply: %w", op, err)
		}
	}
	return nil
}

// Close ends the session with closeSession and closes the connection.
func (s *Session) Close() error {
	if s.pingTimer != nil {
		s.pingTimer.Stop()
	}
	s.closing.Store(true)
	c, err := s.Go(wire.OpCloseSession, nil)
	if err == nil {
		err = c.Wait()
		if err == nil {
			err = c.Err()
		}
	}
	_ = s.conn.Close()
	<-s.done
	if err != nil {
		return fmt.Errorf("closeSession: %w", err)
	}
	return s.Err()
}

// Abort drops the connection without closing the session.
func (s *Session) Abort() {
	if s.pingTimer != nil {
		s.pingTimer.Stop()
	}
	s.closing.Store(true)
	_ = s.conn.Close()
	<-s.done
}

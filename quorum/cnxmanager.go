package quorum

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// Election transport constants (QuorumCnxManager).
const (
	protocolVersionV1 int64 = -65536
	protocolVersionV2 int64 = -65535
	maxInitialAddr          = 2048
	packetMaxSize           = 512 << 10
	recvCapacity            = 100
)

// Message is an election message received from a peer.
type Message struct {
	From int64
	Data []byte
}

// CnxManager is QuorumCnxManager: one TCP connection per pair of servers
// on the election port, kept only when initiated by the larger sid, with
// length-prefixed messages. Each peer has a send queue of one message
// (newer messages replace older ones) and the last message sent is
// re-sent on a new connection.
type CnxManager struct {
	self       int64
	selfAddr   string
	listenAddr string
	addrOf     func(sid int64) (string, bool)
	timeout    time.Duration
	log        zerolog.Logger

	mu       sync.Mutex
	peers    map[int64]*peerConn
	queued   map[int64][]byte // the one message waiting per peer
	lastSent map[int64][]byte
	dialing  map[int64]bool
	ln       net.Listener
	closed   bool

	recvMu sync.Mutex
	recv   []Message
	signal chan struct{}
	wg     sync.WaitGroup
}

type peerConn struct {
	sid  int64
	c    net.Conn
	wake chan struct{}
	done chan struct{}
	once sync.Once
}

func (p *peerConn) close() {
	p.once.Do(func() {
		close(p.done)
		p.c.Close()
	})
}

// NewCnxManager builds a manager for server self announcing selfAddr,
// listening on listenAddr, finding peers with addrOf.
func NewCnxManager(self int64, selfAddr, listenAddr string, addrOf func(int64) (string, bool), timeout time.Duration, log zerolog.Logger) *CnxManager {
	return &CnxManager{
		self: self, selfAddr: selfAddr, listenAddr: listenAddr, addrOf: addrOf, timeout: timeout, log: log,
		peers: map[int64]*peerConn{}, queued: map[int64][]byte{}, lastSent: map[int64][]byte{},
		dialing: map[int64]bool{}, signal: make(chan struct{}, 1),
	}
}

// Listen binds the election port, retrying as electionPortBindRetry asks
// (0: forever).
func (m *CnxManager) Listen(ctx context.Context, retries int) error {
	var err error
	for i := 0; retries == 0 || i < retries; i++ {
		var ln net.Listener
		if ln, err = (&net.ListenConfig{}).Listen(ctx, "tcp", m.listenAddr); err == nil {
			m.mu.Lock()
			m.ln = ln
			m.mu.Unlock()
			m.wg.Add(1)
			go m.accept(ln)
			return nil
		}
		m.log.Error().Err(err).Str("addr", m.listenAddr).Msg("cannot bind the election port; retrying")
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
	return fmt.Errorf("election port %s: %w", m.listenAddr, err)
}

// Signal is readable when messages are waiting.
func (m *CnxManager) Signal() <-chan struct{} { return m.signal }

// Receive takes every waiting message.
func (m *CnxManager) Receive() []Message {
	m.recvMu.Lock()
	out := m.recv
	m.recv = nil
	m.recvMu.Unlock()
	return out
}

func (m *CnxManager) deliver(msg Message) {
	m.recvMu.Lock()
	if len(m.recv) >= recvCapacity {
		m.recv = m.recv[1:] // newest wins, as ZooKeeper's circular queue
	}
	m.recv = append(m.recv, msg)
	m.recvMu.Unlock()
	select {
	case m.signal <- struct{}{}:
	default:
	}
}

// Send queues data for sid, replacing anything still queued, and connects
// if needed. A message to self loops back.
func (m *CnxManager) Send(sid int64, data []byte) {
	if sid == m.self {
		m.deliver(Message{From: sid, Data: data})
		return
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return
	}
	m.queued[sid] = data
	p := m.peers[sid]
	m.mu.Unlock()
	if p != nil {
		select {
		case p.wake <- struct{}{}:
		default:
		}
		return
	}
	m.connect(sid)
}

// Connected reports whether a connection to sid is up.
func (m *CnxManager) Connected(sid int64) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.peers[sid] != nil
}

// connect dials sid in the background unless a dial is under way.
func (m *CnxManager) connect(sid int64) {
	addr, ok := m.addrOf(sid)
	if !ok {
		m.log.Warn().Int64("sid", sid).Msg("invalid server id")
		return
	}
	m.mu.Lock()
	if m.dialing[sid] || m.peers[sid] != nil || m.closed {
		m.mu.Unlock()
		return
	}
	m.dialing[sid] = true
	m.wg.Add(1)
	m.mu.Unlock()
	go func() {
		defer m.wg.Done()
		kept := false
		defer func() {
			if !kept {
				m.mu.Lock()
				delete(m.dialing, sid)
				m.mu.Unlock()
			}
		}()
		c, err := net.DialTimeout("tcp", addr, m.timeout)
		if err != nil {
			m.log.Debug().Int64("sid", sid).Str("addr", addr).Err(err).Msg("cannot open channel to election peer")
			return
		}
		setNoDelay(c)
		if err := m.writeInitial(c); err != nil {
			c.Close()
			return
		}
		if sid > m.self {
			// The larger id keeps the connection it initiates; ours goes.
			c.Close()
			return
		}
		kept = true
		m.start(sid, c, bufio.NewReader(c), true)
	}()
}

func setNoDelay(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
	}
}

// writeInitial sends protocol version, sid and election address.
func (m *CnxManager) writeInitial(c net.Conn) error {
	var b []byte
	v := protocolVersionV1
	b = binary.BigEndian.AppendUint64(b, uint64(v))
	b = binary.BigEndian.AppendUint64(b, uint64(m.self))
	b = binary.BigEndian.AppendUint32(b, uint32(len(m.selfAddr)))
	b = append(b, m.selfAddr...)
	_ = c.SetWriteDeadline(time.Now().Add(m.timeout))
	_, err := c.Write(b)
	_ = c.SetWriteDeadline(time.Time{})
	return err
}

func (m *CnxManager) accept(ln net.Listener) {
	defer m.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			m.log.Warn().Err(err).Msg("election accept")
			time.Sleep(100 * time.Millisecond)
			continue
		}
		setNoDelay(c)
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			m.handleIncoming(c)
		}()
	}
}

// handleIncoming reads the initial message and keeps the connection when
// the peer's sid is larger; otherwise it dials back.
func (m *CnxManager) handleIncoming(c net.Conn) {
	r := bufio.NewReader(c)
	_ = c.SetReadDeadline(time.Now().Add(m.timeout))
	sid, _, err := readInitial(r)
	_ = c.SetReadDeadline(time.Time{})
	if err != nil {
		m.log.Warn().Err(err).Str("remote", c.RemoteAddr().String()).Msg("bad initial message on the election port; closing")
		c.Close()
		return
	}
	switch {
	case sid < m.self:
		c.Close()
		// We may still think an older connection to sid is up: drop it so
		// the dial below replaces it.
		m.mu.Lock()
		if p := m.peers[sid]; p != nil {
			p.close()
			delete(m.peers, sid)
		}
		m.mu.Unlock()
		m.connect(sid)
	case sid == m.self:
		m.log.Warn().Msg("election connection from a server with our own id: configuration error")
		c.Close()
	default:
		m.start(sid, c, r, false)
	}
}

// readInitial parses the initial message; a non-negative first long is a
// bare sid from a pre-3.5 server.
func readInitial(r io.Reader) (sid int64, addr string, err error) {
	var b [8]byte
	if _, err = io.ReadFull(r, b[:]); err != nil {
		return 0, "", err
	}
	v := int64(binary.BigEndian.Uint64(b[:]))
	if v >= 0 {
		return v, "", nil
	}
	if v != protocolVersionV1 && v != protocolVersionV2 {
		return 0, "", fmt.Errorf("unknown protocol version %d", v)
	}
	if _, err = io.ReadFull(r, b[:]); err != nil {
		return 0, "", err
	}
	sid = int64(binary.BigEndian.Uint64(b[:]))
	if _, err = io.ReadFull(r, b[:4]); err != nil {
		return 0, "", err
	}
	n := int32(binary.BigEndian.Uint32(b[:4]))
	if n <= 0 || n > maxInitialAddr {
		return 0, "", fmt.Errorf("unreasonable address length %d", n)
	}
	ab := make([]byte, n)
	if _, err = io.ReadFull(r, ab); err != nil {
		return 0, "", err
	}
	addr = string(ab)
	for _, a := range strings.Split(addr, "|") {
		i := strings.LastIndex(a, ":")
		if i < 0 {
			return 0, "", fmt.Errorf("badly formed address %q", a)
		}
		if _, err := strconv.Atoi(a[i+1:]); err != nil {
			return 0, "", fmt.Errorf("bad port in %q", a)
		}
	}
	return sid, addr, nil
}

// start runs the send and receive workers of a kept connection,
// replacing any previous one to the same peer. A dial's end is recorded
// under the same lock, so a concurrent close-and-redial never misses it.
func (m *CnxManager) start(sid int64, c net.Conn, r *bufio.Reader, dialed bool) {
	p := &peerConn{sid: sid, c: c, wake: make(chan struct{}, 1), done: make(chan struct{})}
	m.mu.Lock()
	if dialed {
		delete(m.dialing, sid)
	}
	if m.closed {
		m.mu.Unlock()
		c.Close()
		return
	}
	if old := m.peers[sid]; old != nil {
		old.close()
	}
	m.peers[sid] = p
	m.wg.Add(2)
	m.mu.Unlock()
	m.log.Debug().Int64("sid", sid).Str("remote", c.RemoteAddr().String()).Msg("election connection up")
	go m.sendLoop(p)
	go m.recvLoop(p, r)
}

func (m *CnxManager) drop(p *peerConn) {
	p.close()
	m.mu.Lock()
	current := m.peers[p.sid] == p
	if current {
		delete(m.peers, p.sid)
	}
	pending := m.queued[p.sid] != nil && !m.closed
	m.mu.Unlock()
	if current && pending {
		m.connect(p.sid) // what is queued still has to go
	}
}

func (m *CnxManager) sendLoop(p *peerConn) {
	defer m.wg.Done()
	defer m.drop(p)
	m.mu.Lock()
	first := m.queued[p.sid] == nil
	last := m.lastSent[p.sid]
	m.mu.Unlock()
	if first && last != nil {
		// The peer may have missed our last message when the previous
		// connection died; duplicates are harmless.
		if err := writeFrame(p.c, last, m.timeout); err != nil {
			return
		}
	}
	for {
		m.mu.Lock()
		if m.peers[p.sid] != p {
			// Replaced by a newer connection, which sends what is queued.
			m.mu.Unlock()
			return
		}
		data := m.queued[p.sid]
		delete(m.queued, p.sid)
		if data != nil {
			m.lastSent[p.sid] = data
		}
		m.mu.Unlock()
		if data != nil {
			if err := writeFrame(p.c, data, m.timeout); err != nil {
				m.log.Debug().Int64("sid", p.sid).Err(err).Msg("election send failed")
				return
			}
			continue
		}
		select {
		case <-p.wake:
		case <-p.done:
			return
		}
	}
}

func writeFrame(c net.Conn, data []byte, timeout time.Duration) error {
	b := make([]byte, 4+len(data))
	binary.BigEndian.PutUint32(b, uint32(len(data)))
	copy(b[4:], data)
	_ = c.SetWriteDeadline(time.Now().Add(timeout))
	_, err := c.Write(b)
	return err
}

func (m *CnxManager) recvLoop(p *peerConn, r *bufio.Reader) {
	defer m.wg.Done()
	defer m.drop(p)
	var l [4]byte
	for {
		if _, err := io.ReadFull(r, l[:]); err != nil {
			return
		}
		n := int32(binary.BigEndian.Uint32(l[:]))
		if n <= 0 || n > packetMaxSize {
			m.log.Warn().Int64("sid", p.sid).Int32("len", n).Msg("election message with an invalid length; closing")
			return
		}
		b := make([]byte, n)
		if _, err := io.ReadFull(r, b); err != nil {
			return
		}
		m.deliver(Message{From: p.sid, Data: b})
	}
}

// Close stops listening and drops every connection.
func (m *CnxManager) Close() {
	m.mu.Lock()
	m.closed = true
	if m.ln != nil {
		m.ln.Close()
	}
	for _, p := range m.peers {
		p.close()
	}
	m.mu.Unlock()
	m.wg.Wait()
}

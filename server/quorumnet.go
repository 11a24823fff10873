package server

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"zkd/jute"
	"zkd/quorum"
	"zkd/server/tree"
)

// quorumEvent carries network and log news to the processor goroutine,
// which drives the quorum state machines.
type quorumEvent struct {
	kind   quorumEventKind
	gen    uint64 // role generation the event belongs to
	lid    quorum.LearnerID
	packet *jute.QuorumPacket
	snap   *tree.DataTree
	zxid   int64
	zxids  []int64
	err    error
	conn   net.Conn
}

type quorumEventKind int

const (
	evLearnerUp quorumEventKind = iota
	evLearnerPacket
	evLearnerDown
	evLeaderUp
	evLeaderPacket
	evLeaderDown
	evLogged
	evLogFailed
)

// eventQueue is an unbounded queue of quorum events.
type eventQueue struct {
	mu     sync.Mutex
	items  []quorumEvent
	signal chan struct{}
}

func newEventQueue() *eventQueue { return &eventQueue{signal: make(chan struct{}, 1)} }

func (q *eventQueue) push(e quorumEvent) {
	q.mu.Lock()
	q.items = append(q.items, e)
	q.mu.Unlock()
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

func (q *eventQueue) drain() []quorumEvent {
	q.mu.Lock()
	out := q.items
	q.items = nil
	q.mu.Unlock()
	return out
}

// sendItem is one thing to write on a quorum connection, in order.
type sendItem struct {
	p        *jute.QuorumPacket
	snap     *tree.Snapshot // SNAP: the packet, the tree stream, the signature
	snapZxid int64
	hist     bool // PROPOSAL/COMMIT pairs from the txn log
	after    int64
	through  int64
}

// peerConn is one quorum-port connection: a reader goroutine that decodes
// packets into events and a writer goroutine that drains an ordered queue.
type peerConn struct {
	id     quorum.LearnerID
	gen    uint64
	c      net.Conn
	mu     sync.Mutex
	queue  []sendItem
	wake   chan struct{}
	done   chan struct{}
	closed sync.Once
}

func newPeerConn(c net.Conn, id quorum.LearnerID, gen uint64) *peerConn {
	return &peerConn{id: id, gen: gen, c: c, wake: make(chan struct{}, 1), done: make(chan struct{})}
}

func (p *peerConn) send(it sendItem) {
	p.mu.Lock()
	p.queue = append(p.queue, it)
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

func (p *peerConn) close() {
	p.closed.Do(func() {
		close(p.done)
		p.c.Close()
	})
}

// writeLoop writes queued items until the connection closes.
func (p *peerConn) writeLoop(s *Server, timeout time.Duration) {
	bw := bufio.NewWriterSize(p.c, 64<<10)
	var e jute.Encoder
	for {
		p.mu.Lock()
		items := p.queue
		p.queue = nil
		p.mu.Unlock()
		if len(items) == 0 {
			if bw.Buffered() > 0 {
				_ = p.c.SetWriteDeadline(time.Now().Add(timeout))
				if err := bw.Flush(); err != nil {
					p.close()
					return
				}
			}
			select {
			case <-p.wake:
				continue
			case <-p.done:
				return
			}
		}
		for i, it := range items {
			var err error
			deadline := timeout
			if it.snap != nil || it.hist {
				deadline = 30 * time.Minute // a whole database may go out
			}
			_ = p.c.SetWriteDeadline(time.Now().Add(deadline))
			switch {
			case it.snap != nil:
				err = s.writeSnapshot(bw, &e, it.snap, it.snapZxid)
			case it.hist:
				err = s.writeHistory(bw, &e, it.after, it.through)
			default:
				e.Reset()
				it.p.Encode(&e)
				_, err = bw.Write(e.Bytes())
			}
			if err != nil {
				s.log.Warn().Err(err).Msg("quorum connection write failed")
				for _, rest := range items[i+1:] {
					if rest.snap != nil {
						s.endSnapshot(rest.snap)
					}
				}
				p.close()
				return
			}
		}
	}
}

// writeSnapshot sends SNAP, the database stream and the signature, as
// LearnerHandler does for a learner too far behind.
func (s *Server) writeSnapshot(w io.Writer, e *jute.Encoder, snap *tree.Snapshot, zxid int64) error {
	defer s.endSnapshot(snap)
	e.Reset()
	(&jute.QuorumPacket{Type: quorum.PacketSnap, Zxid: zxid}).Encode(e)
	if _, err := w.Write(e.Bytes()); err != nil {
		return err
	}
	if _, err := snap.WriteTo(w, s.treeMu.RLocker()); err != nil {
		return err
	}
	e.Reset()
	e.String("BenWasHere")
	_, err := w.Write(e.Bytes())
	return err
}

func (s *Server) endSnapshot(snap *tree.Snapshot) {
	s.treeMu.Lock()
	snap.End()
	s.treeMu.Unlock()
}

// writeHistory sends a PROPOSAL and COMMIT for each logged txn in
// (after, through].
func (s *Server) writeHistory(w io.Writer, e *jute.Encoder, after, through int64) error {
	if s.store == nil {
		return errors.New("no txn log to sync from")
	}
	it, err := s.store.TxnsFrom(after + 1)
	if err != nil {
		return err
	}
	defer it.Close()
	for it.Next() {
		z := it.Txn().Header.Zxid
		if z <= after {
			continue
		}
		if z > through {
			break
		}
		e.Reset()
		(&jute.QuorumPacket{Type: quorum.PacketProposal, Zxid: z, Data: it.Entry()}).Encode(e)
		(&jute.QuorumPacket{Type: quorum.PacketCommit, Zxid: z}).Encode(e)
		if _, err := w.Write(e.Bytes()); err != nil {
			return err
		}
	}
	return it.Err()
}

// readLoop decodes packets until the connection fails. After a SNAP it
// reads the database stream that follows.
func (p *peerConn) readLoop(s *Server, events *eventQueue, fromLeader bool) {
	defer p.close()
	st := jute.NewStream(bufio.NewReaderSize(p.c, 64<<10), 2*s.maxBuffer+(1<<20))
	kindPacket, kindDown := evLearnerPacket, evLearnerDown
	if fromLeader {
		kindPacket, kindDown = evLeaderPacket, evLeaderDown
	}
	for {
		var qp jute.QuorumPacket
		if err := st.Decode(func(d *jute.Decoder) { qp.Decode(d) }); err != nil {
			events.push(quorumEvent{kind: kindDown, gen: p.gen, lid: p.id, err: err})
			return
		}
		ev := quorumEvent{kind: kindPacket, gen: p.gen, lid: p.id, packet: &qp}
		if fromLeader && qp.Type == quorum.PacketSnap {
			t, err := tree.ReadSnapshot(st)
			var sig string
			if err == nil {
				err = st.Decode(func(d *jute.Decoder) { sig = d.String() })
			}
			if err == nil && sig != "BenWasHere" {
				err = fmt.Errorf("missing snapshot signature, got %q", sig)
			}
			if err != nil {
				events.push(quorumEvent{kind: kindDown, gen: p.gen, err: fmt.Errorf("reading the leader's snapshot: %w", err)})
				return
			}
			ev.snap = t
		}
		events.push(ev)
	}
}

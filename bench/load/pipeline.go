package load

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"zkd/jute"
	"zkd/wire"
)

// Gen produces one session's requests and validates their replies. Next
// runs on the sending goroutine and Check on the session's reader, at the
// same time: an implementation keeps what each touches apart.
type Gen interface {
	// Next appends the body of the next request to e and returns its
	// opcode and a tag handed back to Check; ok false means nothing more
	// is to be sent.
	Next(e *jute.Encoder) (op wire.OpCode, tag uint32, ok bool)
	// Check validates a reply: its code and its body.
	Check(op wire.OpCode, tag uint32, code wire.Error, d *jute.Decoder) error
}

// Window is the measurement period on the package's monotonic clock,
// shared by the sessions of one run. Replies to requests sent before Start
// (warm-up) are validated but not counted.
type Window struct {
	Start int64
	// End stops sending at this instant; 0 means no time limit.
	End int64
	// Budget, when not nil, is the number of requests still to be sent in
	// the window (fixed-count runs); sending stops when it runs out.
	Budget *atomic.Int64
}

// pipeline is the state of one session's closed loop: at most depth
// requests in flight, a new one sent as soon as a reply frees a slot.
type pipeline struct {
	gen      Gen
	depth    int32
	win      Window
	inflight atomic.Int32
	wake     chan struct{}

	// Written by the reader goroutine only; read after the loop drained.
	hist      Histogram
	ops       uint64
	errs      uint64
	firstErr  error
	lastReply int64
	received  uint64 // good replies read inside the window, whenever sent
}

func (p *pipeline) reply(pe *pending, h *jute.ReplyHeader, d *jute.Decoder, now int64) {
	err := p.gen.Check(pe.op, pe.tag, wire.Error(h.Err), d)
	if err == nil && d.Err() != nil {
		err = fmt.Errorf("%v reply: %w", pe.op, d.Err())
	}
	if pe.sent >= p.win.Start && (p.win.End == 0 || pe.sent < p.win.End) {
		if err != nil {
			p.errs++
		} else {
			p.ops++
			p.hist.Record(time.Duration(now - pe.sent))
		}
		p.lastReply = now
	} else if err != nil {
		p.errs++ // a warm-up failure is still a failure
	}
	if err == nil && now >= p.win.Start && (p.win.End == 0 || now < p.win.End) {
		p.received++
	}
	if err != nil && p.firstErr == nil {
		p.firstErr = err
	}
	p.inflight.Add(-1)
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// PipeStats is what one session's loop measured.
type PipeStats struct {
	Hist      Histogram
	Ops       uint64
	Errors    uint64
	FirstErr  error
	LastReply int64
	// Received counts the good replies read inside the window, to requests
	// sent at any time: the completion rate.
	Received uint64
}

// Pipeline runs gen on the session with depth requests in flight until the
// window ends, the budget runs out, gen has nothing more or ctx is done,
// then waits for every outstanding reply. It returns an error only when the
// session itself failed; failed replies are counted in the stats.
func (s *Session) Pipeline(ctx context.Context, gen Gen, depth int, win Window) (*PipeStats, error) {
	if depth < 1 {
		depth = 1
	}
	if depth > s.opts.MaxInFlight-1 {
		return nil, fmt.Errorf("depth %d exceeds the session's MaxInFlight %d - 1", depth, s.opts.MaxInFlight)
	}
	p := &pipeline{gen: gen, depth: int32(depth), win: win, wake: make(chan struct{}, 1)}
	if !s.pipe.CompareAndSwap(nil, p) {
		return nil, fmt.Errorf("session already runs a pipeline")
	}
	defer s.pipe.Store(nil)

	type sent struct {
		xid int32
		op  wire.OpCode
		tag uint32
	}
	batch := make([]sent, 0, depth)
	minBatch := max(1, p.depth/4)
	exhausted := false
	var sendErr error
loop:
	for !exhausted {
		if ctx.Err() != nil {
			break
		}
		now := mono()
		if win.End != 0 && now >= win.End {
			break
		}
		// Refill in batches of a quarter of the depth rather than one
		// request per reply: one write then carries several requests,
		// which halves the client's syscalls (the client shares the two
		// cores with the server) while keeping at least 3/4 of the depth
		// in flight. Both servers see the same pattern.
		inflight := p.inflight.Load()
		free := p.depth - inflight
		if free <= 0 || (free < minBatch && inflight > 0) {
			select {
			case <-p.wake:
			case <-s.done:
				break loop
			case <-ctx.Done():
				break loop
			}
			continue
		}
		s.wmu.Lock()
		buf := s.wbuf[:0]
		batch = batch[:0]
		e := jute.NewEncoder(nil)
		for i := int32(0); i < free; i++ {
			if win.Budget != nil && now >= win.Start && win.Budget.Add(-1) < 0 {
				exhausted = true
				break
			}
			start := len(buf)
			var off int
			buf, off = wire.AppendFrameStart(buf)
			xid := s.xid + 1
			e.SetBytes(buf)
			e.Int(xid)
			e.Int(0) // opcode, patched below once Next has chosen it
			op, tag, ok := gen.Next(e)
			if !ok {
				buf = buf[:start]
				exhausted = true
				break
			}
			buf = e.Bytes()
			e.PutInt(off+8, int32(op))
			wire.FinishFrame(buf, off)
			s.xid = xid
			batch = append(batch, sent{xid, op, tag})
		}
		if len(batch) > 0 {
			t := mono()
			for _, b := range batch {
				s.pending <- pending{xid: b.xid, op: b.op, tag: b.tag, sent: t}
			}
			p.inflight.Add(int32(len(batch)))
			_, sendErr = s.conn.Write(buf)
			s.lastSend.Store(t)
		}
		s.wbuf = buf
		s.wmu.Unlock()
		if sendErr != nil {
			s.fail(sendErr)
			break
		}
	}
	// Drain: every request sent is answered before the stats are read, so
	// nothing in flight is left unvalidated.
	deadline := time.After(30 * time.Second)
	for p.inflight.Load() > 0 {
		select {
		case <-p.wake:
		case <-s.done:
			if p.inflight.Load() > 0 {
				err := s.Err()
				if err == nil {
					err = fmt.Errorf("session closed with %d replies outstanding", p.inflight.Load())
				}
				return nil, err
			}
		case <-deadline:
			return nil, fmt.Errorf("%d replies still outstanding after 30s", p.inflight.Load())
		}
	}
	if err := s.Err(); err != nil {
		return nil, err
	}
	st := &PipeStats{Ops: p.ops, Errors: p.errs, FirstErr: p.firstErr, LastReply: p.lastReply, Received: p.received}
	st.Hist = p.hist
	return st, nil
}

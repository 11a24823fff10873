package load

import (
	"context"
	"fmt"
	"sync"
	"time"

	"zkd/jute"
	"zkd/wire"
)

// Open-loop (fixed-rate) load: requests are sent on a schedule, whatever
// the server's latency, and each request's latency runs from the instant it
// was due, not from when it was actually written. A server that stalls
// therefore cannot slow the client down and have the requests it would
// have delayed go unmeasured (coordinated omission): a request that could
// not be sent on time because earlier ones were still in flight is charged
// the wait.

// Schedule is one session's share of an open-loop run: request k is due at
// First + k × Interval, in nanoseconds on the package's monotonic clock.
type Schedule struct {
	First    int64
	Interval float64
}

func (sc Schedule) at(k int64) int64 { return sc.First + int64(float64(k)*sc.Interval) }

// count is how many requests of the schedule are due in [from, to).
func (sc Schedule) count(from, to int64) uint64 {
	if sc.Interval <= 0 || to <= from {
		return 0
	}
	// The first k due at or after t: ceil((t - First) / Interval).
	first := func(t int64) int64 {
		if t <= sc.First {
			return 0
		}
		k := int64(float64(t-sc.First) / sc.Interval)
		for sc.at(k) < t {
			k++
		}
		for k > 0 && sc.at(k-1) >= t {
			k--
		}
		return k
	}
	return uint64(first(to) - first(from))
}

// OpenStats is what one session's open loop measured. The embedded
// PipeStats count the requests due inside the window (Ops, Hist: latency
// from the due time) and the good replies read inside it (Received).
type OpenStats struct {
	PipeStats
	// Scheduled is the number of requests due inside the window.
	Scheduled uint64
	// Unsent is how many of those were never sent: the sender fell more
	// than the grace period behind the schedule and gave up.
	Unsent uint64
	// MaxLag is the longest a request due inside the window waited
	// between its due time and its write, in ns: a server that keeps up
	// leaves it at the client's timer slack.
	MaxLag int64
	// Lag is the distribution of that wait over the requests due inside
	// the window: the client's own share of their latency (timer wake-ups,
	// CPU) plus any wait for a free in-flight slot.
	Lag Histogram
}

// maxPacedWait bounds a wait on the pacer, which cannot be interrupted;
// longer waits (a slow schedule, the start) use a Go timer, whose
// millisecond resolution does not matter there.
const maxPacedWait = 20 * time.Millisecond

// OpenLoop sends gen's requests on sched until the window ends, at most
// maxInFlight in flight (a request due while that many are outstanding
// waits, and is charged the wait), then waits for every outstanding reply.
// When it is still behind the schedule at giveUp it stops sending and
// counts what was left as Unsent. It returns an error only when the
// session itself failed; failed replies are counted in the stats.
func (s *Session) OpenLoop(ctx context.Context, gen Gen, sched Schedule, maxInFlight int, win Window, giveUp int64) (*OpenStats, error) {
	if win.End == 0 || sched.Interval <= 0 {
		return nil, fmt.Errorf("an open loop needs a window end and a positive interval")
	}
	if maxInFlight < 1 {
		maxInFlight = 1
	}
	if maxInFlight > s.opts.MaxInFlight-1 {
		return nil, fmt.Errorf("maxInFlight %d exceeds the session's MaxInFlight %d - 1", maxInFlight, s.opts.MaxInFlight)
	}
	p := &pipeline{gen: gen, depth: int32(maxInFlight), win: win, wake: make(chan struct{}, 1)}
	if !s.pipe.CompareAndSwap(nil, p) {
		return nil, fmt.Errorf("session already runs a pipeline")
	}
	defer s.pipe.Store(nil)

	type sent struct {
		xid int32
		op  wire.OpCode
		tag uint32
		due int64
	}
	st := &OpenStats{Scheduled: sched.count(win.Start, win.End)}
	batch := make([]sent, 0, 64)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	pace := newPacer()
	defer pace.close()
	var k int64
	var sendErr error
loop:
	for ctx.Err() == nil {
		due := sched.at(k)
		if due >= win.End {
			break
		}
		now := mono()
		if now >= giveUp {
			break
		}
		if due > now {
			if d := time.Duration(due - now); d <= maxPacedWait && pace.wait(d) {
				continue
			}
			timer.Reset(time.Duration(due - now))
			select {
			case <-timer.C:
			case <-s.done:
				break loop
			case <-ctx.Done():
				break loop
			}
			continue
		}
		free := p.depth - p.inflight.Load()
		if free <= 0 {
			select {
			case <-p.wake:
			case <-s.done:
				break loop
			case <-ctx.Done():
				break loop
			}
			continue
		}
		// Every request due by now goes in one write.
		s.wmu.Lock()
		buf := s.wbuf[:0]
		batch = batch[:0]
		e := jute.NewEncoder(nil)
		exhausted := false
		for int32(len(batch)) < free {
			d := sched.at(k)
			if d > now || d >= win.End {
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
			batch = append(batch, sent{xid, op, tag, d})
			k++
		}
		if len(batch) > 0 {
			t := mono()
			for _, b := range batch {
				// The due time, not the write's: the latency includes any
				// wait the schedule imposed.
				s.pending <- pending{xid: b.xid, op: b.op, tag: b.tag, sent: b.due}
				if b.due >= win.Start {
					st.MaxLag = max(st.MaxLag, t-b.due)
					st.Lag.Record(time.Duration(t - b.due))
				}
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
		if exhausted {
			break
		}
	}
	st.Unsent = sched.count(max(win.Start, sched.at(k)), win.End)
	// Drain: every request sent is answered before the stats are read.
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
	st.PipeStats = PipeStats{Ops: p.ops, Errors: p.errs, FirstErr: p.firstErr, LastReply: p.lastReply, Received: p.received}
	st.Hist = p.hist
	return st, nil
}

// openLoop is a fixed-rate workload: rate requests per second in all,
// spread evenly over the sessions and staggered so that the requests of
// all sessions together are evenly spaced.
type openLoop struct {
	sessions    int
	rate        float64
	maxInFlight int
	warmup      time.Duration
	duration    time.Duration
	gen         func(i int) Gen
	opts        Options
}

// keepUp is the share of the offered rate a server must complete inside
// the window for an open-loop measurement to stand.
const keepUp = 0.95

func runOpenLoop(ctx context.Context, env *Env, name string, ol openLoop) (*Result, error) {
	if ol.rate <= 0 {
		return nil, fmt.Errorf("%s: no rate (Params.Rate, -rate): an open-loop workload needs the offered load", name)
	}
	if ol.maxInFlight <= 0 {
		ol.maxInFlight = 512
	}
	o := ol.opts
	o.MaxInFlight = ol.maxInFlight + 8
	ss, _, err := dialSpread(ctx, env.addrs(), ol.sessions, 32, func(int) Options { return o })
	if err != nil {
		return nil, err
	}
	res := &Result{Workload: name, OpUnit: "request"}
	// Start a little in the future so that every sender is ready for its
	// first due time.
	t0 := mono() + int64(50*time.Millisecond)
	win := Window{Start: t0 + int64(ol.warmup)}
	win.End = win.Start + int64(ol.duration)
	grace := min(5*time.Second, ol.duration/2)
	giveUp := win.End + int64(grace)
	gap := 1e9 / ol.rate // ns between two requests of all sessions together
	stats := make([]*OpenStats, len(ss))
	errs := make([]error, len(ss))
	var wg sync.WaitGroup
	for i, s := range ss {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sc := Schedule{First: t0 + int64(float64(i)*gap), Interval: gap * float64(len(ss))}
			stats[i], errs[i] = s.OpenLoop(ctx, ol.gen(i), sc, ol.maxInFlight, win, giveUp)
		}()
	}
	sleepUntil(ctx, win.Start)
	meter := StartCPUs(env.pids()...)
	sleepUntil(ctx, win.End)
	srvCPU, cliCPU, rss := meter.Stop()
	wg.Wait()
	var h, lag Histogram
	var received, scheduled, unsent uint64
	var maxLag int64
	for i := range ss {
		if errs[i] != nil {
			res.Errors++
			if res.FirstError == "" {
				res.FirstError = fmt.Sprintf("session %d: %v", i, errs[i])
			}
			continue
		}
		st := stats[i]
		h.Merge(&st.Hist)
		res.Ops += st.Ops
		res.Errors += st.Errors
		if st.FirstErr != nil && res.FirstError == "" {
			res.FirstError = st.FirstErr.Error()
		}
		received += st.Received
		scheduled += st.Scheduled
		unsent += st.Unsent
		maxLag = max(maxLag, st.MaxLag)
		lag.Merge(&st.Lag)
	}
	if err := CloseAll(ss, 32); err != nil && res.FirstError == "" {
		res.FirstError = "close: " + err.Error()
	}
	res.Seconds = round3(ol.duration.Seconds())
	achieved := float64(received) / ol.duration.Seconds()
	res.OpsPerSec = round3(achieved)
	res.Latency = h.Summary()
	res.ServerCPU, res.ClientCPU, res.ServerRSSMiB = round3(srvCPU), round3(cliCPU), mib(rss)
	res.OtherCPU, res.OtherWriteMiBps = round3(meter.Other()), round3(meter.OtherWriteMiBps())
	res.extra("offered_per_sec", ol.rate)
	res.extra("achieved_per_sec", achieved)
	res.extra("scheduled", float64(scheduled))
	res.extra("unsent", float64(unsent))
	res.extra("max_send_lag_ms", float64(maxLag)/1e6)
	ls := lag.Summary()
	res.extra("send_lag_p50_us", ls.P50Us)
	res.extra("send_lag_p99_us", ls.P99Us)
	res.Notes = append(res.Notes, fmt.Sprintf("open loop: %.0f requests/s offered over %d sessions (one every %.0f µs per session), latency from each request's due time; %d due in the window, %.0f replies/s completed",
		ol.rate, len(ss), gap*float64(len(ss))/1e3, scheduled, achieved))
	switch {
	case unsent > 0:
		res.Invalid = fmt.Sprintf("could not keep up with the schedule: %d of %d requests due in the window were never sent (more than %v behind); %.0f of %.0f requests/s completed",
			unsent, scheduled, grace, achieved, ol.rate)
	case achieved < keepUp*ol.rate:
		res.Invalid = fmt.Sprintf("could not keep up with the schedule: %.0f of %.0f requests/s completed in the window (below %.0f%%); sends lagged up to %.0f ms",
			achieved, ol.rate, 100*keepUp, float64(maxLag)/1e6)
	}
	if ctx.Err() != nil {
		return res, ctx.Err()
	}
	return res, nil
}

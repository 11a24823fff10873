package load

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"zkd/jute"
	"zkd/wire"
)

// fanoutRound is one setData and the notifications it causes.
type fanoutRound struct {
	remaining atomic.Int64
	done      chan struct{}
}

// runWatchFanout: Watchers sessions each hold a data watch on one node; a
// separate session changes the node; the round's latency is the time from
// sending that setData until the last watcher has its notification. The
// watchers re-arm between rounds, outside the measurement.
func runWatchFanout(ctx context.Context, env *Env, p Params) (*Result, error) {
	node := p.Root + "/watch"
	if err := ensurePaths(env.Addr, p.Root, node); err != nil {
		return nil, err
	}
	n := p.Watchers
	arrivals := make([]atomic.Int64, n)
	var cur atomic.Pointer[fanoutRound]
	var badEvents atomic.Int64
	var badMu sync.Mutex
	var badFirst string
	onNotify := func(i int) func(*jute.WatcherEvent, int64) {
		return func(ev *jute.WatcherEvent, at int64) {
			if ev.Type != int32(wire.EventNodeDataChanged) || ev.Path != node || ev.State != int32(wire.StateSyncConnected) {
				badEvents.Add(1)
				badMu.Lock()
				if badFirst == "" {
					badFirst = fmt.Sprintf("watcher %d: unexpected event type %d state %d path %q", i, ev.Type, ev.State, ev.Path)
				}
				badMu.Unlock()
				return
			}
			arrivals[i].Store(at)
			if r := cur.Load(); r != nil && r.remaining.Add(-1) == 0 {
				close(r.done)
			}
		}
	}
	env.logf("watch-fanout: connecting %d watchers", n)
	ws, _, err := DialMany(ctx, env.Addr, n, 32, func(i int) Options {
		return Options{Timeout: p.Timeout, MaxInFlight: 4, ReadBuffer: 4096, OnNotify: onNotify(i)}
	})
	if err != nil {
		return nil, err
	}
	defer CloseAll(ws, 32)
	writer, err := Dial(env.Addr, Options{Timeout: p.Timeout})
	if err != nil {
		return nil, err
	}
	defer writer.Close()

	res := &Result{OpUnit: "notification"}
	fail := func(format string, args ...any) (*Result, error) {
		res.Errors++
		res.FirstError = fmt.Sprintf(format, args...)
		return res, nil
	}
	warm := max(2, p.Rounds/10)
	var roundH, notifyH Histogram
	var busy time.Duration
	val := value(p.ValueSize)
	calls := make([]*Call, n)
	meter := StartCPU(env.PID)
	for r := 0; r < warm+p.Rounds; r++ {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if r == warm {
			meter = StartCPU(env.PID)
		}
		// Arm: every watcher sets a data watch, all in flight at once.
		for i, w := range ws {
			if calls[i], err = w.Go(wire.OpGetData, &jute.GetDataRequest{Path: node, Watch: true}); err != nil {
				return nil, fmt.Errorf("watcher %d: %w", i, err)
			}
		}
		for i, c := range calls {
			if err := c.Wait(); err != nil {
				return nil, fmt.Errorf("watcher %d: %w", i, err)
			}
			if err := c.Err(); err != nil {
				return fail("watcher %d getData: %v", i, err)
			}
		}
		round := &fanoutRound{done: make(chan struct{})}
		round.remaining.Store(int64(n))
		cur.Store(round)
		t0 := mono()
		c, err := writer.Go(wire.OpSetData, &jute.SetDataRequest{Path: node, Data: val, Version: -1})
		if err != nil {
			return nil, err
		}
		select {
		case <-round.done:
		case <-time.After(30 * time.Second):
			return fail("round %d: %d of %d watchers not notified after 30s", r, round.remaining.Load(), n)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		cur.Store(nil)
		if err := c.Wait(); err != nil {
			return nil, err
		}
		if err := c.Err(); err != nil {
			return fail("setData: %v", err)
		}
		if r < warm {
			continue
		}
		var last int64
		for i := range arrivals {
			a := arrivals[i].Load()
			notifyH.Record(time.Duration(a - t0))
			last = max(last, a)
		}
		roundH.Record(time.Duration(last - t0))
		busy += time.Duration(last - t0)
		res.Ops += uint64(n)
	}
	res.ServerCPU, res.ClientCPU, _ = meter.Stop()
	res.ServerCPU, res.ClientCPU = round3(res.ServerCPU), round3(res.ClientCPU)
	res.OtherCPU, res.OtherWriteMiBps = round3(meter.Other()), round3(meter.OtherWriteMiBps())
	if b := badEvents.Load(); b > 0 {
		res.Errors += uint64(b)
		res.FirstError = badFirst
	}
	res.Seconds = round3(busy.Seconds())
	if busy > 0 {
		res.OpsPerSec = round3(float64(res.Ops) / busy.Seconds())
	}
	res.Latency = roundH.Summary()
	ns := notifyH.Summary()
	res.extra("notify_p50_us", ns.P50Us)
	res.extra("notify_p99_us", ns.P99Us)
	res.Notes = append(res.Notes, fmt.Sprintf(
		"latency = time from sending the setData until the last of %d watchers has its notification, over %d rounds; ops/s = notifications delivered per second of fan-out", n, p.Rounds))
	if env.PID > 0 {
		if s, err := SampleProc(env.PID); err == nil {
			res.ServerRSSMiB = mib(s.RSS)
		}
	}
	return res, nil
}

package load

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// runChurn: Sessions workers each open a connection, create a session,
// close it with closeSession and drop the connection, as fast as they can.
// Both the session's creation and its close are txns, so this measures
// the write path too.
func runChurn(ctx context.Context, env *Env, p Params) (*Result, error) {
	start := mono() + int64(p.Warmup)
	end := start + int64(p.Duration)
	type worker struct {
		h        Histogram
		ops      uint64
		errs     uint64
		firstErr error
	}
	ws := make([]worker, p.Sessions)
	o := Options{Timeout: p.Timeout, NoPing: true, Linger0: true, MaxInFlight: 2, ReadBuffer: 512}
	var wg sync.WaitGroup
	for i := range ws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := &ws[i]
			for ctx.Err() == nil {
				t0 := mono()
				if t0 >= end {
					return
				}
				s, err := Dial(env.Addr, o)
				if err == nil {
					err = s.Close()
				}
				t1 := mono()
				if err != nil {
					w.errs++
					if w.firstErr == nil {
						w.firstErr = err
					}
					// A refused connection would otherwise spin.
					time.Sleep(10 * time.Millisecond)
					continue
				}
				if t0 >= start {
					w.ops++
					w.h.Record(time.Duration(t1 - t0))
				}
			}
		}()
	}
	sleepUntil(ctx, start)
	meter := StartCPU(env.PID)
	sleepUntil(ctx, end)
	srv, cli, rss := meter.Stop()
	wg.Wait()
	res := &Result{OpUnit: "session (connect + closeSession)"}
	var h Histogram
	for i := range ws {
		h.Merge(&ws[i].h)
		res.Ops += ws[i].ops
		res.Errors += ws[i].errs
		if ws[i].firstErr != nil && res.FirstError == "" {
			res.FirstError = fmt.Sprintf("worker %d: %v", i, ws[i].firstErr)
		}
	}
	res.Seconds = round3(p.Duration.Seconds())
	res.OpsPerSec = round3(float64(res.Ops) / p.Duration.Seconds())
	res.Latency = h.Summary()
	res.ServerCPU, res.ClientCPU, res.ServerRSSMiB = round3(srv), round3(cli), mib(rss)
	res.OtherCPU, res.OtherWriteMiBps = round3(meter.Other()), round3(meter.OtherWriteMiBps())
	return res, ctx.Err()
}

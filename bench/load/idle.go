package load

import (
	"context"
	"fmt"
	"time"

	"zkd/jute"
	"zkd/wire"
)

// runIdle opens Idle sessions that only send heartbeats (a ping every
// third of the session timeout, as the Java client does), holds them for
// IdleFor and samples the server's CPU time and RSS from /proc meanwhile.
// Afterwards every session must still be alive: each answers an exists.
func runIdle(ctx context.Context, env *Env, p Params) (*Result, error) {
	res := &Result{OpUnit: "session connected"}
	var base ProcSample
	if env.PID > 0 {
		var err error
		if base, err = SampleProc(env.PID); err != nil {
			return nil, err
		}
	}
	env.logf("idle-sessions: connecting %d sessions", p.Idle)
	t0 := time.Now()
	ss, took, err := DialMany(ctx, env.Addr, p.Idle, 64, func(int) Options {
		return Options{Timeout: p.Timeout, MaxInFlight: 4, ReadBuffer: 1024}
	})
	if err != nil {
		return nil, err
	}
	connectTime := time.Since(t0)
	var h Histogram
	for _, d := range took {
		h.Record(d)
	}
	res.Ops = uint64(len(ss))
	res.Seconds = round3(connectTime.Seconds())
	res.OpsPerSec = round3(float64(len(ss)) / connectTime.Seconds())
	res.Latency = h.Summary()

	// Let the connect burst's garbage and queues settle before sampling.
	sleepUntil(ctx, mono()+int64(time.Second))
	var pings0 int64
	for _, s := range ss {
		pings0 += s.PingsRecv.Load()
	}
	env.logf("idle-sessions: idle for %v", p.IdleFor)
	meter := StartCPU(env.PID)
	var peak int64
	deadline := time.Now().Add(p.IdleFor)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		sleepUntil(ctx, mono()+int64(min(time.Second, time.Until(deadline))))
		if env.PID > 0 {
			if s, err := SampleProc(env.PID); err == nil {
				peak = max(peak, s.RSS)
			}
		}
	}
	srv, cli, rss := meter.Stop()
	var pings int64
	for _, s := range ss {
		pings += s.PingsRecv.Load()
	}
	pings -= pings0

	// Every session must have survived the idle period.
	calls := make([]*Call, len(ss))
	for i, s := range ss {
		if err := s.Err(); err != nil {
			res.Errors++
			if res.FirstError == "" {
				res.FirstError = fmt.Sprintf("session %d died while idle: %v", i, err)
			}
			continue
		}
		if calls[i], err = s.Go(wire.OpExists, &jute.ExistsRequest{Path: "/"}); err != nil {
			res.Errors++
			if res.FirstError == "" {
				res.FirstError = fmt.Sprintf("session %d after idle: %v", i, err)
			}
		}
	}
	for i, c := range calls {
		if c == nil {
			continue
		}
		if err := c.Wait(); err != nil || c.Err() != nil {
			res.Errors++
			if res.FirstError == "" {
				res.FirstError = fmt.Sprintf("session %d after idle: %v %v", i, err, c.Err())
			}
		}
	}
	if err := CloseAll(ss, 64); err != nil && res.FirstError == "" {
		res.Errors++
		res.FirstError = "close: " + err.Error()
	}
	res.ServerCPU, res.ClientCPU, res.ServerRSSMiB = round3(srv), round3(cli), mib(rss)
	res.OtherCPU, res.OtherWriteMiBps = round3(meter.Other()), round3(meter.OtherWriteMiBps())
	res.extra("idle_server_cpu_pct", 100*srv)
	res.extra("pings_per_sec", float64(pings)/p.IdleFor.Seconds())
	if env.PID > 0 {
		res.extra("server_rss_before_mib", mib(base.RSS))
		res.extra("server_rss_peak_mib", mib(peak))
		// A JVM's RSS follows its heap sizing, not its sessions: a drop
		// (after a GC) says nothing per session, so it is left out.
		if rss > base.RSS {
			res.extra("rss_per_session_kib", float64(rss-base.RSS)/1024/float64(len(ss)))
		}
	}
	res.Notes = append(res.Notes, fmt.Sprintf(
		"ops/s and latency are the connect phase (%d sessions, 64 connecting at a time); the idle numbers are in the extra rows", len(ss)))
	return res, ctx.Err()
}

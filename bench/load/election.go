package load

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"zkd/jute"
	"zkd/wire"
)

// FourLetter sends a four-letter word to addr and returns the answer.
func FourLetter(addr, cmd string, timeout time.Duration) (string, error) {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(timeout))
	if _, err := c.Write([]byte(cmd)); err != nil {
		return "", err
	}
	b, err := io.ReadAll(c)
	return string(b), err
}

// Mode is the Mode line of srvr at addr (leader, follower, standalone, …),
// or an error while the server does not serve.
func Mode(addr string, timeout time.Duration) (string, error) {
	out, err := FourLetter(addr, "srvr", timeout)
	if err != nil {
		return "", err
	}
	for _, l := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(l, "Mode: "); ok {
			return strings.TrimSpace(v), nil
		}
	}
	return "", fmt.Errorf("no Mode in srvr: %q", strings.TrimSpace(out))
}

// electionTimeout bounds one kill: from the kill to a write through a
// survivor and a leader in srvr.
const electionTimeout = time.Minute

// runElection kills the ensemble's leader p.Kills times. Each time it
// waits until every member serves and takes a write, SIGKILLs the leader,
// then measures from the kill until a write (a new session and a setData
// on it, checked) through a surviving member succeeds and until srvr on a
// surviving member says leader, and restarts the killed member.
func runElection(ctx context.Context, env *Env, p Params) (*Result, error) {
	if env.Cluster == nil || len(env.Addrs) < 3 {
		return nil, errors.New("ensemble-election needs an ensemble of three or more members whose processes the suite controls")
	}
	res := &Result{Workload: "ensemble-election", OpUnit: "leader killed"}
	path := p.Root + "/election"
	if err := ensurePaths(env.Addr, p.Root, path); err != nil {
		return nil, fmt.Errorf("setup: %w", err)
	}
	val := value(p.ValueSize)
	var writes, leaders []float64 // ms
	var wh Histogram
	fail := func(err error) (*Result, error) {
		res.Errors++
		if res.FirstError == "" {
			res.FirstError = err.Error()
		}
		return res, nil
	}
	for round := 1; round <= p.Kills && ctx.Err() == nil; round++ {
		leader, err := waitEnsemble(ctx, env.Addrs, path, val, 2*time.Minute, res)
		if err != nil {
			return fail(fmt.Errorf("kill %d: before: %w", round, err))
		}
		var survivors []string
		for i, a := range env.Addrs {
			if i != leader {
				survivors = append(survivors, a)
			}
		}
		t0 := mono()
		if err := env.Cluster.Kill(leader); err != nil {
			return fail(fmt.Errorf("kill %d: %w", round, err))
		}
		killed := time.Duration(mono() - t0)
		rctx, cancel := context.WithTimeout(ctx, electionTimeout)
		var wg sync.WaitGroup
		var leaderAt int64
		var newLeader string
		wg.Add(1)
		go func() {
			defer wg.Done()
			leaderAt, newLeader = pollLeader(rctx, survivors)
		}()
		writeAt, via, werr := probeWrite(rctx, survivors, path, val, p.Timeout, res)
		wg.Wait()
		cancel()
		if werr != nil {
			return fail(fmt.Errorf("kill %d (leader %s): no write through %v within %v: %w", round, env.Addrs[leader], survivors, electionTimeout, werr))
		}
		if leaderAt == 0 {
			return fail(fmt.Errorf("kill %d (leader %s): no survivor's srvr showed a leader within %v", round, env.Addrs[leader], electionTimeout))
		}
		w := float64(writeAt-t0) / 1e6
		l := float64(leaderAt-t0) / 1e6
		writes, leaders = append(writes, w), append(leaders, l)
		wh.Record(time.Duration(writeAt - t0))
		res.Ops++
		res.Notes = append(res.Notes, fmt.Sprintf("kill %d: leader %s killed (%.1f ms until it was gone); a write through %s succeeded after %.0f ms; %s showed leader after %.0f ms",
			round, env.Addrs[leader], float64(killed)/1e6, via, w, newLeader, l))
		env.logf("ensemble-election: kill %d: write after %.0f ms, leader in srvr after %.0f ms", round, w, l)
		if err := env.Cluster.Restart(ctx, leader); err != nil {
			return fail(fmt.Errorf("kill %d: restart %s: %w", round, env.Addrs[leader], err))
		}
	}
	if len(writes) > 0 {
		res.extra("kills", float64(len(writes)))
		res.extra("write_after_kill_median_ms", median(writes))
		res.extra("write_after_kill_max_ms", slices.Max(writes))
		res.extra("leader_after_kill_median_ms", median(leaders))
		res.extra("leader_after_kill_max_ms", slices.Max(leaders))
	}
	res.Latency = wh.Summary()
	if ctx.Err() != nil {
		return res, ctx.Err()
	}
	return res, nil
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// waitEnsemble waits until every member serves, exactly one is the leader
// and a write through each member succeeds, and returns the leader's
// index.
func waitEnsemble(ctx context.Context, addrs []string, path string, val []byte, limit time.Duration, res *Result) (int, error) {
	deadline := time.Now().Add(limit)
	var last string
	for {
		leader, ok := -1, true
		var states []string
		for i, a := range addrs {
			m, err := Mode(a, time.Second)
			if err != nil {
				m = "down"
			}
			states = append(states, m)
			switch m {
			case "leader":
				if leader >= 0 {
					ok = false
				}
				leader = i
			case "follower":
			default:
				ok = false
			}
		}
		last = strings.Join(states, " ")
		if ok && leader >= 0 {
			written := true
			for _, a := range addrs {
				wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				_, _, err := probeWrite(wctx, []string{a}, path, val, 15*time.Second, res)
				cancel()
				if err != nil {
					written = false
					last = fmt.Sprintf("%s; write through %s: %v", last, a, err)
					break
				}
			}
			if written {
				return leader, nil
			}
		}
		if ctx.Err() != nil {
			return -1, ctx.Err()
		}
		if time.Now().After(deadline) {
			return -1, fmt.Errorf("ensemble not serving with one leader within %v: %s", limit, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// pollLeader asks every address for srvr every 5 ms until one says leader,
// and returns when (0 if ctx ended first) and which.
func pollLeader(ctx context.Context, addrs []string) (int64, string) {
	for ctx.Err() == nil {
		for _, a := range addrs {
			if m, err := Mode(a, 500*time.Millisecond); err == nil && m == "leader" {
				return mono(), a
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(5 * time.Millisecond):
		}
	}
	return 0, ""
}

// probeWrite starts an attempt every 10 ms, round robin over addrs (at
// most 16 at a time): open a session, setData path, check the reply. It
// returns when the first attempt succeeds: the instant its reply was read
// and the address it went through. A reply with an error code counts in
// res.Errors (a member that answers must answer right); a connection
// refused, closed or unanswered is the election still running.
func probeWrite(ctx context.Context, addrs []string, path string, val []byte, timeout time.Duration, res *Result) (int64, string, error) {
	type win struct {
		at  int64
		via string
	}
	won := make(chan win, 1)
	var inflight atomic.Int32
	var mu sync.Mutex
	var lastErr error
	var wg sync.WaitGroup
	actx, cancel := context.WithCancel(ctx)
	defer func() { cancel(); wg.Wait() }()
	note := func(err error) {
		mu.Lock()
		lastErr = err
		mu.Unlock()
	}
	attempt := func(addr string) {
		defer wg.Done()
		defer inflight.Add(-1)
		s, err := Dial(addr, Options{Timeout: timeout, HandshakeTimeout: 2 * time.Second, NoPing: true, ReadBuffer: 4096, MaxInFlight: 4})
		if err != nil {
			note(err)
			return
		}
		c, err := s.Go(wire.OpSetData, &jute.SetDataRequest{Path: path, Data: val, Version: -1})
		if err != nil {
			note(err)
			s.Abort()
			return
		}
		done := make(chan error, 1)
		go func() { done <- c.Wait() }()
		select {
		case err = <-done:
		case <-time.After(5 * time.Second):
			err = errors.New("setData unanswered for 5 s")
		case <-actx.Done():
			err = actx.Err()
		}
		if err != nil {
			note(err)
			s.Abort()
			return
		}
		if err := c.Err(); err != nil {
			mu.Lock()
			res.Errors++
			if res.FirstError == "" {
				res.FirstError = fmt.Sprintf("setData through %s after a leader kill: %v", addr, err)
			}
			mu.Unlock()
			note(err)
			s.Abort()
			return
		}
		var st jute.Stat
		if err := jute.Unmarshal(c.Body, &st); err != nil || int(st.DataLength) != len(val) {
			mu.Lock()
			res.Errors++
			if res.FirstError == "" {
				res.FirstError = fmt.Sprintf("setData through %s: stat %+v, %v", addr, st, err)
			}
			mu.Unlock()
			s.Abort()
			return
		}
		select {
		case won <- win{c.At, addr}:
		default:
		}
		_ = s.Close()
	}
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	next := 0
	launch := func() {
		if inflight.Load() >= 16 {
			return
		}
		inflight.Add(1)
		wg.Add(1)
		go attempt(addrs[next%len(addrs)])
		next++
	}
	launch()
	for {
		select {
		case w := <-won:
			return w.at, w.via, nil
		case <-ctx.Done():
			// One may have won while the context ended.
			select {
			case w := <-won:
				return w.at, w.via, nil
			default:
			}
			mu.Lock()
			defer mu.Unlock()
			if lastErr == nil {
				lastErr = ctx.Err()
			}
			return 0, "", lastErr
		case <-tick.C:
			launch()
		}
	}
}

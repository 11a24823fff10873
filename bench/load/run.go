package load

import (
	"context"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// Env is where a workload runs.
type Env struct {
	Addr string
	// PID is the server's process id, for CPU and memory samples from
	// /proc; 0 when unknown (the numbers are then left out).
	PID int
	// DataDir is a directory on the server's disk, for the fdatasync floor;
	// empty skips that measurement.
	DataDir string
	// Logf reports progress; nil is silent.
	Logf func(format string, args ...any)

	// Addrs, when it holds more than one address, are an ensemble's
	// members: session i of a workload connects to Addrs[i % len(Addrs)]
	// (Addr, the first, still takes the setup). PIDs are then the
	// members' processes, whose CPU and RSS are summed.
	Addrs []string
	PIDs  []int
	// Cluster controls the ensemble's processes, for ensemble-election;
	// nil elsewhere.
	Cluster Cluster
}

// Cluster is what ensemble-election needs of the ensemble it runs on:
// members by their index in Env.Addrs.
type Cluster interface {
	// Kill ends member i with SIGKILL and returns once it is gone.
	Kill(i int) error
	// Restart starts member i again on its data dir and returns once it
	// serves (as follower or leader) again.
	Restart(ctx context.Context, i int) error
}

// addrs are the addresses sessions spread over: Addrs, or just Addr.
func (e *Env) addrs() []string {
	if len(e.Addrs) > 0 {
		return e.Addrs
	}
	return []string{e.Addr}
}

// pids are the server processes to meter: PIDs, or PID, or none.
func (e *Env) pids() []int {
	if len(e.PIDs) > 0 {
		return e.PIDs
	}
	if e.PID > 0 {
		return []int{e.PID}
	}
	return nil
}

func (e *Env) logf(format string, args ...any) {
	if e.Logf != nil {
		e.Logf(format, args...)
	}
}

// Result is what one workload measured against one server.
type Result struct {
	Workload   string  `json:"workload"`
	Params     Params  `json:"params"`
	Ops        uint64  `json:"ops"`
	Errors     uint64  `json:"errors"`
	FirstError string  `json:"first_error,omitempty"`
	Seconds    float64 `json:"seconds"`
	OpsPerSec  float64 `json:"ops_per_sec"`
	// OpUnit says what one op is when it is not one request (e.g. a
	// session created and closed).
	OpUnit  string  `json:"op_unit"`
	Latency Latency `json:"latency"`
	// ServerCPU and ClientCPU are the cores used during the window (1.0 =
	// one core fully busy); the machine has 2, shared by both.
	ServerCPU float64 `json:"server_cpu_cores"`
	ClientCPU float64 `json:"client_cpu_cores"`
	// OtherCPU is what the rest of the machine used meanwhile: noise.
	OtherCPU float64 `json:"other_cpu_cores"`
	// OtherWriteMiBps is what other processes wrote to disk meanwhile: a
	// neighbour's writes slow every fsync.
	OtherWriteMiBps float64 `json:"other_write_mib_per_sec"`
	ServerRSSMiB    float64 `json:"server_rss_mib"`
	// Extra holds workload-specific numbers, named with their unit.
	Extra map[string]float64 `json:"extra,omitempty"`
	Notes []string           `json:"notes,omitempty"`
	// Invalid says why the measurement does not stand although every
	// reply was as expected (an open-loop run whose server could not keep
	// up with the schedule).
	Invalid string `json:"invalid,omitempty"`
}

// Valid reports whether every reply was as expected and the measurement
// stands.
func (r *Result) Valid() bool { return r.Errors == 0 && r.FirstError == "" && r.Invalid == "" }

// Failed reports whether a reply or a session failed (as opposed to a
// measurement that does not stand).
func (r *Result) Failed() bool { return r.Errors != 0 || r.FirstError != "" }

func (r *Result) extra(name string, v float64) {
	if r.Extra == nil {
		r.Extra = map[string]float64{}
	}
	r.Extra[name] = round3(v)
}

func round3(v float64) float64 {
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return v
	}
	// Three significant digits are as many as a run on a shared 2-core
	// machine can back.
	mag := math.Pow(10, 2-math.Floor(math.Log10(math.Abs(v))))
	return math.Round(v*mag) / mag
}

func mib(b int64) float64 { return round3(float64(b) / (1 << 20)) }

// DialMany opens n sessions, conc at a time, with the options opts(i)
// returns for session i, and returns how long each took to open. On
// failure it closes those already open.
func DialMany(ctx context.Context, addr string, n, conc int, opts func(i int) Options) ([]*Session, []time.Duration, error) {
	return dialSpread(ctx, []string{addr}, n, conc, opts)
}

// dialSpread is DialMany with session i on addrs[i % len(addrs)].
func dialSpread(ctx context.Context, addrs []string, n, conc int, opts func(i int) Options) ([]*Session, []time.Duration, error) {
	out := make([]*Session, n)
	took := make([]time.Duration, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for w := 0; w < min(conc, n); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				t0 := time.Now()
				s, err := Dial(addrs[i%len(addrs)], opts(i))
				if err != nil {
					mu.Lock()
					if first == nil {
						first = fmt.Errorf("session %d: %w", i, err)
					}
					mu.Unlock()
					return
				}
				out[i], took[i] = s, time.Since(t0)
			}
		}()
	}
	wg.Wait()
	if first == nil && ctx.Err() != nil {
		first = ctx.Err()
	}
	if first != nil {
		CloseAll(out, conc)
		return nil, nil, first
	}
	return out, took, nil
}

// CloseAll closes sessions with closeSession, conc at a time, and returns
// the first failure.
func CloseAll(ss []*Session, conc int) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for w := 0; w < max(1, min(conc, len(ss))); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(ss) {
					return
				}
				if ss[i] == nil {
					continue
				}
				if err := ss[i].Close(); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	return first
}

// Closed loop is the shape of most workloads: sessions × depth requests in
// flight, generated by one Gen per session.
type closedLoop struct {
	sessions int
	depth    int
	warmup   time.Duration
	duration time.Duration
	ops      int64 // > 0: measure this many requests instead of a duration
	gen      func(i int) Gen
	opts     Options
}

func runClosedLoop(ctx context.Context, env *Env, name string, cl closedLoop) (*Result, error) {
	o := cl.opts
	o.MaxInFlight = cl.depth + 8
	ss, _, err := dialSpread(ctx, env.addrs(), cl.sessions, 32, func(int) Options { return o })
	if err != nil {
		return nil, err
	}
	res := &Result{Workload: name, OpUnit: "request"}
	win := Window{Start: mono() + int64(cl.warmup)}
	if cl.ops > 0 {
		win.Budget = new(atomic.Int64)
		win.Budget.Store(cl.ops)
	} else {
		win.End = win.Start + int64(cl.duration)
	}
	stats := make([]*PipeStats, len(ss))
	errs := make([]error, len(ss))
	var wg sync.WaitGroup
	for i, s := range ss {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stats[i], errs[i] = s.Pipeline(ctx, cl.gen(i), cl.depth, win)
		}()
	}
	sleepUntil(ctx, win.Start)
	meter := StartCPUs(env.pids()...)
	var srvCPU, cliCPU float64
	var rss int64
	if win.End != 0 {
		sleepUntil(ctx, win.End)
		srvCPU, cliCPU, rss = meter.Stop()
		wg.Wait()
	} else {
		wg.Wait()
		srvCPU, cliCPU, rss = meter.Stop()
	}
	var h Histogram
	var last int64
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
		last = max(last, st.LastReply)
	}
	if err := CloseAll(ss, 32); err != nil && res.FirstError == "" {
		res.FirstError = "close: " + err.Error()
	}
	if win.End != 0 {
		res.Seconds = time.Duration(win.End - win.Start).Seconds()
	} else {
		res.Seconds = time.Duration(last - win.Start).Seconds()
	}
	if res.Seconds > 0 {
		res.OpsPerSec = round3(float64(res.Ops) / res.Seconds)
	}
	res.Seconds = round3(res.Seconds)
	res.Latency = h.Summary()
	res.ServerCPU, res.ClientCPU, res.ServerRSSMiB = round3(srvCPU), round3(cliCPU), mib(rss)
	res.OtherCPU, res.OtherWriteMiBps = round3(meter.Other()), round3(meter.OtherWriteMiBps())
	if ctx.Err() != nil {
		return res, ctx.Err()
	}
	return res, nil
}

func sleepUntil(ctx context.Context, t int64) {
	d := time.Duration(t - mono())
	if d <= 0 {
		return
	}
	select {
	case <-time.After(d):
	case <-ctx.Done():
	}
}

// errorf builds a validation error; replies that fail it count as errors.
func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }

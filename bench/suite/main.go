// Command suite runs the zkd benchmark suite: every workload of
// zkd/bench/load against zkd and against Apache ZooKeeper 3.8 (the Debian
// package), one server at a time with the same zoo.cfg (the ensemble
// workloads against three of each, through internal/zkproc), then the
// memory and restart benchmark, and writes <out>/<date>.{json,md} and one
// SVG chart per workload. The open-loop workloads (read-rate, …) offer
// both servers the same load: -rate-fraction of ZooKeeper's closed-loop
// throughput of their base workload in the same run. bench/run.sh builds
// zkd and calls it; `make bench` calls bench/run.sh.
//
// BENCH_QUICK=1 (or -quick) runs the smoke-test sizes in about 5 minutes
// and writes under <out>/quick instead.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"zkd/bench/load"
	"zkd/bench/report"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

type suite struct {
	kinds     []kind
	params    load.Params
	quick     bool
	workloads []load.Workload
	nodes     int
	work      string
	run       *report.Run
	logw      io.Writer
	t0        time.Time

	// The open-loop workloads' offered load: rateFraction of the reference
	// server's closed-loop throughput of the workload named by RateOf, in
	// this run, unless -rates fixed it. Set once per workload, so every
	// server gets the same.
	rateFraction float64
	rates        map[string]float64
	rateNotes    map[string]string
}

// rateRef is the server whose closed-loop throughput sets the open-loop
// workloads' offered load: ZooKeeper when it runs, else the first server.
func (s *suite) rateRef() kind {
	for _, k := range s.kinds {
		if k.Name == "zookeeper" {
			return k
		}
	}
	return s.kinds[0]
}

// paramsFor is the suite's parameters, with the offered load of an
// open-loop workload.
func (s *suite) paramsFor(w load.Workload) (load.Params, error) {
	p := s.params
	if w.RateOf == "" {
		return p, nil
	}
	if r, ok := s.rates[w.Name]; ok {
		p.Rate = r
		return p, nil
	}
	ref := s.rateRef()
	res := s.run.Result(ref.Name, w.RateOf)
	if res == nil || res.OpsPerSec <= 0 || res.Failed() {
		return p, fmt.Errorf("no offered load: %s's %s throughput was not measured in this run (give one with -rates %s=N)", ref.Label, w.RateOf, w.Name)
	}
	p.Rate = round(s.rateFraction * res.OpsPerSec)
	s.rates[w.Name] = p.Rate
	s.rateNotes[w.Name] = fmt.Sprintf("offered load %s requests/s: %.0f%% of %s's closed-loop %s throughput in this run (%.0f requests/s), the same for every server",
		strconv.FormatFloat(p.Rate, 'f', -1, 64), 100*s.rateFraction, ref.Label, w.RateOf, res.OpsPerSec)
	return p, nil
}

func (s *suite) logf(format string, args ...any) {
	fmt.Fprintf(s.logw, "[%6.1fs] %s\n", time.Since(s.t0).Seconds(), fmt.Sprintf(format, args...))
}

func run(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("suite", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		zkdBin    = fs.String("zkd", "build/zkd", "zkd binary")
		out       = fs.String("out", "bench/results", "directory for the results")
		workDir   = fs.String("workdir", "", "directory for the servers' data (default: a new temp dir, removed afterwards)")
		quick     = fs.Bool("quick", os.Getenv("BENCH_QUICK") == "1", "smoke-test sizes (also BENCH_QUICK=1)")
		servers   = fs.String("servers", "zkd,zookeeper", "servers to run, in order")
		workloads = fs.String("workloads", "all", "comma-separated workloads, \"memory\" for the memory benchmark, or all")
		nodes     = fs.Int("nodes", 0, "leaves of the memory benchmark's tree (default 1,000,000; quick 100,000)")
		heap      = fs.String("heap", "3g", "ZooKeeper's -Xmx")
		date      = fs.String("date", time.Now().Format("2006-01-02"), "date in the result file names")
		render    = fs.String("render", "", "only render the report of an existing <date>.json into -out")
		fraction  = fs.Float64("rate-fraction", 0.5, "offered load of an open-loop workload (read-rate, …) as a share of ZooKeeper's closed-loop throughput of its base workload (read, …) in the same run")
		rates     = fs.String("rates", "", "fixed offered loads instead, e.g. read-rate=18000,write-rate=9000 (requests/s)")
		kills     = fs.Int("kills", 0, "leader kills of ensemble-election (default 5; quick 2)")
	)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *render != "" {
		r, err := report.ReadJSON(*render)
		if err != nil {
			fmt.Fprintf(stderr, "suite: %v\n", err)
			return 1
		}
		if err := report.Write(r, *out); err != nil {
			fmt.Fprintf(stderr, "suite: %v\n", err)
			return 1
		}
		return 0
	}
	s := &suite{quick: *quick, logw: stderr, t0: time.Now(), rateFraction: *fraction,
		rates: map[string]float64{}, rateNotes: map[string]string{}}
	if *rates != "" {
		for _, kv := range strings.Split(*rates, ",") {
			name, v, ok := strings.Cut(kv, "=")
			r, err := strconv.ParseFloat(v, 64)
			if wl, known := load.Lookup(name); !ok || err != nil || r <= 0 || !known || wl.RateOf == "" {
				fmt.Fprintf(stderr, "suite: -rates: bad %q (want <open-loop workload>=<requests/s>)\n", kv)
				return 2
			}
			s.rates[name] = r
			s.rateNotes[name] = fmt.Sprintf("offered load %s requests/s, fixed with -rates", v)
		}
	}
	if *fraction <= 0 {
		fmt.Fprintf(stderr, "suite: -rate-fraction must be positive\n")
		return 2
	}
	if s.quick {
		s.params = load.Quick()
		s.nodes = 100000
		*out = filepath.Join(*out, "quick")
	} else {
		s.params = load.Defaults()
		s.nodes = 1000000
	}
	if *nodes > 0 {
		s.nodes = *nodes
	}
	if *kills > 0 {
		s.params.Kills = *kills
	}
	memory := false
	for _, w := range strings.Split(*workloads, ",") {
		switch w {
		case "all":
			s.workloads = load.Workloads()
			memory = true
		case "memory":
			memory = true
		default:
			wl, ok := load.Lookup(w)
			if !ok {
				fmt.Fprintf(stderr, "suite: unknown workload %q\n", w)
				return 2
			}
			s.workloads = append(s.workloads, wl)
		}
	}
	// An open-loop workload takes its offered load from its base
	// workload's throughput in the same run: run the base first when it was
	// not asked for (and no fixed rate was given).
	var withBases []load.Workload
	has := func(name string) bool {
		return slices.ContainsFunc(withBases, func(w load.Workload) bool { return w.Name == name })
	}
	for _, w := range s.workloads {
		if _, fixed := s.rates[w.Name]; w.RateOf != "" && !fixed && !has(w.RateOf) &&
			!slices.ContainsFunc(s.workloads, func(x load.Workload) bool { return x.Name == w.RateOf }) {
			base, _ := load.Lookup(w.RateOf)
			withBases = append(withBases, base)
		}
		if !has(w.Name) {
			withBases = append(withBases, w)
		}
	}
	s.workloads = withBases
	for _, name := range strings.Split(*servers, ",") {
		switch name {
		case "zkd":
			bin, err := filepath.Abs(*zkdBin)
			if err == nil {
				_, err = os.Stat(bin)
			}
			if err != nil {
				fmt.Fprintf(stderr, "suite: zkd binary: %v (run make build)\n", err)
				return 1
			}
			s.kinds = append(s.kinds, zkdKind(bin))
		case "zookeeper":
			if _, err := exec.LookPath("java"); err != nil {
				fmt.Fprintf(stderr, "suite: java not found (run make deps)\n")
				return 1
			}
			if _, err := os.Stat(zooKeeperJar); err != nil {
				fmt.Fprintf(stderr, "suite: %s not found (run make deps)\n", zooKeeperJar)
				return 1
			}
			s.kinds = append(s.kinds, zooKeeperKind(*heap))
		default:
			fmt.Fprintf(stderr, "suite: unknown server %q\n", name)
			return 2
		}
	}
	s.work = *workDir
	if s.work == "" {
		d, err := os.MkdirTemp("", "zkbench-")
		if err != nil {
			fmt.Fprintf(stderr, "suite: %v\n", err)
			return 1
		}
		s.work = d
		defer os.RemoveAll(d)
	}
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer cancel()

	s.run = &report.Run{
		Date: *date, Quick: s.quick, Started: time.Now(),
		Machine: machine(s.work),
		Settings: report.Settings{
			ZooCfg: sharedCfgLines(), ZKHeap: "-Xmx" + *heap, Params: s.params,
			TreeNodes: load.TreeFor("/", s.nodes, s.params.ValueSize).Leaves(), WorkDir: s.work,
		},
		Results: map[string][]*load.Result{},
	}
	for _, w := range s.workloads {
		s.run.Workloads = append(s.run.Workloads, report.WorkloadInfo{Name: w.Name, Desc: w.Desc})
		if w.Ensemble {
			s.run.Settings.Ensemble = ensembleNote(*heap)
		}
		if w.RateOf != "" {
			s.run.Settings.RateFraction = s.rateFraction
		}
	}
	if memory {
		t := load.TreeFor("/", s.nodes, s.params.ValueSize)
		s.run.Workloads = append(s.run.Workloads, report.WorkloadInfo{Name: "memory", Desc: fmt.Sprintf(
			"load %d znodes of %d bytes (a %d × %d × %d tree) through the client, then RSS, snapshot size, and time from process start to serving after a restart",
			t.Nodes(), t.ValueSize, t.Fanout[0], t.Fanout[1], t.Fanout[2])})
	}
	for _, k := range s.kinds {
		s.run.Servers = append(s.run.Servers, report.Server{Key: k.Name, Label: k.Label, Version: version(k, *zkdBin), Command: commandLine(k)})
	}
	s.logf("results to %s, data under %s (quick=%v)", *out, s.work, s.quick)
	// Workload by workload, each server in turn on a fresh data dir, the
	// order alternating (zkd first, then ZooKeeper first, ...): the machine
	// is shared, and a neighbour's burst then hits both servers' numbers
	// of a workload alike instead of one server's whole run.
	order := func(i int) []kind {
		if i%2 == 0 {
			return s.kinds
		}
		r := slices.Clone(s.kinds)
		slices.Reverse(r)
		return r
	}
	for i, w := range s.workloads {
		for _, k := range order(i) {
			res, err := s.runOne(ctx, k, w)
			if err != nil {
				fmt.Fprintf(stderr, "suite: %s: %s: %v\n", k.Name, w.Name, err)
				return 1
			}
			s.run.Results[k.Name] = append(s.run.Results[k.Name], res)
			if ctx.Err() != nil {
				fmt.Fprintf(stderr, "suite: interrupted\n")
				return 1
			}
		}
	}
	if memory {
		for _, k := range order(len(s.workloads)) {
			s.run.Results[k.Name] = append(s.run.Results[k.Name], s.memory(ctx, k))
			if ctx.Err() != nil {
				fmt.Fprintf(stderr, "suite: interrupted\n")
				return 1
			}
		}
	}
	s.persistenceNotes()
	s.run.Finished = time.Now()
	jsonPath := filepath.Join(*out, *date+".json")
	if err := s.run.WriteJSON(jsonPath); err != nil {
		fmt.Fprintf(stderr, "suite: %v\n", err)
		return 1
	}
	if err := report.Write(s.run, *out); err != nil {
		fmt.Fprintf(stderr, "suite: %v\n", err)
		return 1
	}
	s.logf("wrote %s and %s", jsonPath, filepath.Join(*out, *date+".md"))
	status := 0
	for _, k := range s.kinds {
		for _, r := range s.run.Results[k.Name] {
			switch {
			case r.Failed():
				s.logf("FAILED %s/%s: %d errors, first: %s", k.Name, r.Workload, r.Errors, r.FirstError)
				status = 1
			case !r.Valid():
				// Every reply was right, but the measurement does not
				// stand (the report says INVALID): a finding, not a
				// failure of the run.
				s.logf("INVALID %s/%s: %s", k.Name, r.Workload, r.Invalid)
			}
		}
	}
	return status
}

// target is what a workload runs against: one server or an ensemble.
type target struct {
	env *load.Env
	// exited says which server processes ended during the workload ("" if
	// none did).
	exited func() string
	stop   func()
}

func (s *suite) startTarget(k kind, w load.Workload) (*target, error) {
	dir := filepath.Join(s.work, k.Name+"-"+w.Name)
	if w.Ensemble {
		en, err := s.startEnsemble(k, dir)
		if err != nil {
			return nil, err
		}
		return &target{env: en.env(s.logf), exited: en.exited, stop: en.stop}, nil
	}
	p, err := s.start(k, dir)
	if err != nil {
		return nil, err
	}
	return &target{
		env: &load.Env{Addr: p.Addr, PID: p.PID(), DataDir: p.DataDir, Logf: s.logf},
		exited: func() string {
			if p.Exited() {
				return "the server (log: " + p.log.Name() + ")"
			}
			return ""
		},
		stop: p.stop,
	}, nil
}

// runOne starts a fresh server (or ensemble), warms it up, runs one
// workload against it (twice if the first window was noisy, or an
// open-loop run could not keep up) and stops it.
func (s *suite) runOne(ctx context.Context, k kind, w load.Workload) (*load.Result, error) {
	params, err := s.paramsFor(w)
	if err != nil {
		s.logf("%s: %s: %v", k.Name, w.Name, err)
		return &load.Result{Workload: w.Name, Params: s.params, Errors: 1, FirstError: err.Error()}, nil
	}
	t, err := s.startTarget(k, w)
	if err != nil {
		return nil, err
	}
	defer t.stop()
	env := t.env

	// JIT compilation (ZooKeeper) and the first allocations of any server
	// would otherwise land in the workload's numbers. ZooKeeper needed
	// about 10 s of load before its read throughput stopped climbing on
	// the 2-core machine the suite was written on.
	warm := s.params
	warm.Warmup, warm.Duration = 0, 10*time.Second
	if s.quick {
		warm.Duration = time.Second
	}
	if r, err := load.Run(ctx, env, "mixed", warm); err != nil || !r.Valid() {
		s.logf("%s: warm-up failed: %v %v", k.Name, err, r)
	}

	res := s.runWorkload(ctx, k, env, w, params)
	// A neighbour that took cores or hammered the disk during the window
	// made the numbers its numbers, and an open-loop run whose server fell
	// behind its schedule does not stand: wait for quiet and measure again
	// (once), keeping the valid, then the quieter, of the two.
	if !s.quick && ctx.Err() == nil && t.exited() == "" && !res.Failed() {
		var why string
		switch {
		case noise(res) > 0.6:
			why = fmt.Sprintf("was noisy (other processes: %.2f cores, %.1f MiB/s written)", res.OtherCPU, res.OtherWriteMiBps)
		case res.Invalid != "":
			why = "is invalid (" + res.Invalid + ")"
		}
		if why != "" {
			s.logf("%s: %s %s; measuring again", k.Name, w.Name, why)
			again := s.runWorkload(ctx, k, env, w, params)
			first := res
			if again.Valid() != first.Valid() {
				if again.Valid() {
					res = again
				}
			} else if noise(again) < noise(first) {
				res = again
			}
			which := "the quieter"
			if first.Valid() != again.Valid() {
				which = "the valid"
			}
			res.Notes = append(res.Notes, fmt.Sprintf("measured twice: the first run %s; other processes used %.2f then %.2f cores and wrote %.1f then %.1f MiB/s; %s run is shown",
				why, first.OtherCPU, again.OtherCPU, first.OtherWriteMiBps, again.OtherWriteMiBps, which))
		}
	}
	if ex := t.exited(); ex != "" {
		res.Errors++
		res.Notes = append(res.Notes, "a server process exited during this workload: "+ex)
		if res.FirstError == "" {
			res.FirstError = "a server process exited: " + ex
		}
	}
	return res, nil
}

// runWorkload waits for a quiet machine, then runs one workload.
func (s *suite) runWorkload(ctx context.Context, k kind, env *load.Env, w load.Workload, params load.Params) *load.Result {
	pids := env.PIDs
	if len(pids) == 0 {
		pids = []int{env.PID}
	}
	other, waited := waitQuiet(ctx, pids, s.quietLimit())
	s.logf("%s: %s (%s)", k.Name, w.Name, w.Desc)
	res, err := load.Run(ctx, env, w.Name, params)
	if res == nil {
		res = &load.Result{Workload: w.Name, Params: params}
	}
	if err != nil {
		res.Errors++
		if res.FirstError == "" {
			res.FirstError = err.Error()
		}
	}
	if w.RateOf != "" {
		res.Notes = append(res.Notes, s.rateNotes[w.Name])
	}
	if other >= 0.25 {
		res.Notes = append(res.Notes, fmt.Sprintf("the machine was busy before this workload: other processes used %.2f cores (waited %.0f s for them to go quiet)", other, waited.Seconds()))
	}
	s.logf("%s: %s: %s", k.Name, w.Name, summary(res))
	return res
}

// noise scores how much other processes competed during a window: cores
// taken, plus disk writes (20 MiB/s counting as much as a core, since
// every fsync of the server queues behind them).
func noise(r *load.Result) float64 { return r.OtherCPU + r.OtherWriteMiBps/20 }

func (s *suite) quietLimit() time.Duration {
	if s.quick {
		return 0 // a smoke run only samples: it must stay short
	}
	return 10 * time.Second
}

func (s *suite) start(k kind, dir string) (*proc, error) {
	p, err := startServer(k, dir)
	if err != nil {
		return nil, err
	}
	took, err := p.waitNode("", 2*time.Minute)
	if err != nil {
		p.stop()
		return nil, err
	}
	s.logf("%s serving on %s (pid %d) %.2fs after start", k.Name, p.Addr, p.PID(), took.Seconds())
	return p, nil
}

// waitQuiet waits, up to limit, until the processes other than the server
// and this one use less than a quarter of a core: the machine is shared and
// a busy neighbour would be measured as the server's slowness. It returns
// the CPU the others used in the last second it sampled and how long it
// waited beyond the first sample.
func waitQuiet(ctx context.Context, pids []int, limit time.Duration) (float64, time.Duration) {
	if limit <= 0 {
		return 0, 0
	}
	t0 := time.Now()
	other := 0.0
	for ctx.Err() == nil {
		m := load.StartCPUs(pids...)
		select {
		case <-time.After(time.Second):
		case <-ctx.Done():
		}
		m.Stop()
		other = m.Other()
		if (other < 0.25 && m.OtherWriteMiBps() < 5) || time.Since(t0) >= limit {
			break
		}
	}
	return other, max(0, time.Since(t0)-time.Second)
}

func summary(r *load.Result) string {
	s := fmt.Sprintf("%.0f ops/s, p50 %.0f µs, p99 %.0f µs, p99.9 %.0f µs, server %.2f cores, client %.2f, others %.2f cores and %.1f MiB/s written",
		r.OpsPerSec, r.Latency.P50Us, r.Latency.P99Us, r.Latency.P999Us, r.ServerCPU, r.ClientCPU, r.OtherCPU, r.OtherWriteMiBps)
	if v, ok := r.Extra["offered_per_sec"]; ok {
		s += fmt.Sprintf(" (offered %.0f/s, send lag p99 %.0f µs)", v, r.Extra["send_lag_p99_us"])
	}
	if v, ok := r.Extra["write_after_kill_median_ms"]; ok {
		s = fmt.Sprintf("after a leader kill: write in %.0f ms (median, max %.0f), leader in srvr in %.0f ms (median, max %.0f)",
			v, r.Extra["write_after_kill_max_ms"], r.Extra["leader_after_kill_median_ms"], r.Extra["leader_after_kill_max_ms"])
	}
	if r.Failed() {
		s += fmt.Sprintf(" — %d ERRORS, first: %s", r.Errors, r.FirstError)
	}
	if r.Invalid != "" {
		s += " — INVALID: " + r.Invalid
	}
	return s
}

// memory loads the tree into a fresh server, samples its RSS, restarts it
// on the same data dir and times how long it takes to serve the tree's
// last leaf again.
func (s *suite) memory(ctx context.Context, k kind) *load.Result {
	t := load.TreeFor("/tree", s.nodes, s.params.ValueSize)
	res := &load.Result{Workload: "memory", Params: s.params, OpUnit: "znode created"}
	fail := func(err error) *load.Result {
		res.Errors++
		res.FirstError = err.Error()
		s.logf("%s: memory: %v", k.Name, err)
		return res
	}
	dir := filepath.Join(s.work, k.Name+"-memory")
	p, err := s.start(k, dir)
	if err != nil {
		return fail(err)
	}
	defer func() { p.stop() }()
	base, _ := load.SampleProc(p.PID())
	res.Extra = map[string]float64{"startup_empty_s": round(time.Since(p.Started).Seconds())}
	if took, err := p.waitNode("", time.Minute); err == nil {
		res.Extra["startup_empty_s"] = round(took.Seconds())
	}
	res.Extra["rss_empty_mib"] = round(float64(base.RSS) / (1 << 20))

	waitQuiet(ctx, []int{p.PID()}, s.quietLimit())
	s.logf("%s: memory: loading %d znodes (%d × %d × %d)", k.Name, t.Nodes(), t.Fanout[0], t.Fanout[1], t.Fanout[2])
	meter := load.StartCPU(p.PID())
	lr, err := load.LoadTree(ctx, p.Addr, t, 8, 64, s.logf)
	if err != nil {
		return fail(fmt.Errorf("load: %w", err))
	}
	res.ServerCPU, res.ClientCPU, _ = meter.Stop()
	res.OtherCPU, res.OtherWriteMiBps = meter.Other(), meter.OtherWriteMiBps()
	res.Ops = uint64(lr.Nodes)
	res.Seconds = round(lr.Duration.Seconds())
	res.OpsPerSec = round(float64(lr.Nodes) / lr.Duration.Seconds())
	res.Latency = lr.Latency
	s.logf("%s: memory: loaded in %.1fs (%.0f creates/s)", k.Name, lr.Duration.Seconds(), res.OpsPerSec)

	// Let the server settle (background snapshots, GC) before sampling.
	settle := 5 * time.Second
	if s.quick {
		settle = 2 * time.Second
	}
	time.Sleep(settle)
	if sm, err := load.SampleProc(p.PID()); err == nil {
		res.ServerRSSMiB = round(float64(sm.RSS) / (1 << 20))
		res.Extra["rss_after_load_mib"] = res.ServerRSSMiB
		res.Extra["rss_peak_mib"] = round(float64(sm.HWM) / (1 << 20))
	}
	p.stop()

	p2, err := s.start0(k, dir)
	if err != nil {
		return fail(fmt.Errorf("restart: %w", err))
	}
	p = p2
	took, err := p.waitNode(t.LastLeaf(), 5*time.Minute)
	switch {
	case errors.Is(err, errNoNode):
		res.Notes = append(res.Notes, fmt.Sprintf(
			"restart to serving: n/a — after the restart %s served (%.2fs after start) without the loaded data (no persistence)", k.Label, took.Seconds()))
	case err != nil:
		return fail(fmt.Errorf("restart: %w", err))
	default:
		res.Extra["restart_to_serving_s"] = round(took.Seconds())
		s.logf("%s: memory: serving %s %.2fs after restart", k.Name, t.LastLeaf(), took.Seconds())
		time.Sleep(settle)
		if sm, err := load.SampleProc(p.PID()); err == nil {
			res.Extra["rss_after_restart_mib"] = round(float64(sm.RSS) / (1 << 20))
		}
	}
	// The newest snapshot after the restart: ZooKeeper writes a complete
	// one while starting, so this is the whole tree.
	if name, size, ok, err := load.NewestFile(filepath.Join(p.DataDir, "version-2"), "snapshot."); err == nil && ok {
		res.Extra["snapshot_mib"] = round(float64(size) / (1 << 20))
		res.Notes = append(res.Notes, "snapshot: "+filepath.Base(name))
	} else {
		res.Notes = append(res.Notes, fmt.Sprintf("snapshot size: n/a — %s wrote no version-2/snapshot.* file", k.Label))
	}
	if sz, err := dirSize(p.DataDir); err == nil && sz > 0 {
		res.Extra["data_dir_mib"] = round(float64(sz) / (1 << 20))
	}
	return res
}

// persistenceNotes says, for each server, whether it wrote a txn log and
// whether the memory benchmark's data survived a restart: a server that
// does neither acknowledged its writes without fsync, which the reader of
// any write-path number must know.
func (s *suite) persistenceNotes() {
	for _, k := range s.kinds {
		var logs []string
		dirs, _ := filepath.Glob(filepath.Join(s.work, k.Name+"-*", "data", "version-2"))
		for _, d := range dirs {
			if _, _, ok, _ := load.NewestFile(d, "log."); ok {
				logs = append(logs, d)
			}
		}
		restored := false
		if r := s.run.Result(k.Name, "memory"); r != nil {
			_, restored = r.Extra["restart_to_serving_s"]
		}
		label := k.Label
		switch {
		case len(logs) == 0 && !restored:
			s.run.Notes = append(s.run.Notes, fmt.Sprintf(
				"**%s wrote no txn log (no version-2/log.* file) and lost its data on restart: it has no persistence yet, so it acknowledged every write without an fsync**, while a server with forceSync=yes fsyncs each batch before answering. Compare write-path numbers (write, mixed, create-delete, multi, latency-write, session-churn, memory load rate) with that in mind; the fdatasync floor in latency-write shows what one fsync costs on this disk.", label))
		case len(logs) == 0:
			s.run.Notes = append(s.run.Notes, fmt.Sprintf("%s wrote no version-2/log.* file during the run.", label))
		case !restored && s.run.Result(k.Name, "memory") != nil:
			s.run.Notes = append(s.run.Notes, fmt.Sprintf("%s wrote a txn log but did not serve the loaded tree after a restart.", label))
		}
	}
}

// start0 is start without the log line's wait for "/": the restart is
// timed by the caller.
func (s *suite) start0(k kind, dir string) (*proc, error) {
	return startServer(k, dir)
}

func round(v float64) float64 {
	if v == 0 {
		return 0
	}
	f, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 4, 64), 64)
	return f
}

func dirSize(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n, err
}

func machine(workDir string) report.Machine {
	m := report.Machine{CPUs: runtime.NumCPU(), GoVersion: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "MemTotal:") {
				f := strings.Fields(l)
				if len(f) >= 2 {
					kb, _ := strconv.ParseFloat(f[1], 64)
					m.MemGiB = round(kb / (1 << 20))
				}
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if out, err := exec.Command("df", "--output=source,fstype", workDir).Output(); err == nil {
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		m.Disk = strings.Join(strings.Fields(lines[len(lines)-1]), " ")
	}
	return m
}

func version(k kind, zkdBin string) string {
	switch k.Name {
	case "zookeeper":
		out, err := exec.Command("dpkg-query", "-W", "-f", "${Version}", "zookeeper").Output()
		if err != nil {
			return "3.8 (Debian)"
		}
		return "Debian " + strings.TrimSpace(string(out))
	default:
		out, err := exec.Command("git", "describe", "--always", "--dirty").Output()
		if err != nil {
			return "unknown"
		}
		return "git " + strings.TrimSpace(string(out))
	}
}

func commandLine(k kind) string {
	c := k.cmd("zoo.cfg", "<dir>")
	args := append([]string{filepath.Base(c.Path)}, c.Args[1:]...)
	return strings.Join(args, " ")
}

// Command zkbench is a load generator for ZooKeeper-compatible servers,
// built on zkd's own codec. It runs one or more workloads against a server
// that is already running and prints the results as JSON.
//
//	zkbench [flags] -addr 127.0.0.1:2181 -workload read,write
//	zkbench -addr 127.0.0.1:2181 -workload tree -nodes 100000
//	zkbench -addr 127.0.0.1:2181 -workload read-rate,write-rate -rate 10000
//	zkbench -addr 127.0.0.1:2181,127.0.0.1:2182,127.0.0.1:2183 -workload ensemble-write
//
// Every reply is checked (error code, xid order, body); a workload that saw
// a failed reply reports it in "errors" and zkbench exits with status 1.
// With -pid, the server's CPU time and RSS are sampled from /proc.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"

	"zkd/bench/load"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("zkbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	d := load.Defaults()
	var (
		addr      = fs.String("addr", "127.0.0.1:2181", "server address; a comma-separated list spreads the sessions over an ensemble's members")
		workloads = fs.String("workload", "read", "comma-separated workloads, \"all\", or \"tree\" (bulk-load a 3-level tree); -list shows them")
		list      = fs.Bool("list", false, "list the workloads and exit")
		quick     = fs.Bool("quick", false, "start from the quick (smoke-test) settings instead of the full ones")
		pid       = fs.Int("pid", 0, "server process id, for CPU and RSS samples from /proc")
		dataDir   = fs.String("data-dir", "", "a directory on the server's disk, for the fdatasync floor (latency-write)")
		nodes     = fs.Int("nodes", 1000000, "leaves of the tree for -workload tree")
		verbose   = fs.Bool("v", false, "log progress to stderr")
		cpuProf   = fs.String("cpuprofile", "", "write the load generator's CPU profile here (is the client cheap enough?)")
		p         load.Params
	)
	fs.IntVar(&p.Sessions, "sessions", 0, fmt.Sprintf("sessions (connections) (default %d)", d.Sessions))
	fs.IntVar(&p.Depth, "depth", 0, fmt.Sprintf("requests in flight per session (default %d)", d.Depth))
	fs.IntVar(&p.ValueSize, "value", 0, fmt.Sprintf("value size in bytes (default %d)", d.ValueSize))
	fs.IntVar(&p.Keys, "keys", 0, fmt.Sprintf("key space of read/write/mixed/multi (default %d)", d.Keys))
	fs.DurationVar(&p.Warmup, "warmup", 0, fmt.Sprintf("warm-up, not measured (default %v)", d.Warmup))
	fs.DurationVar(&p.Duration, "duration", 0, fmt.Sprintf("measured time (default %v)", d.Duration))
	fs.Int64Var(&p.Ops, "ops", 0, "measure this many requests instead of -duration")
	fs.Float64Var(&p.ReadRatio, "read-ratio", 0, fmt.Sprintf("share of reads in mixed (default %v)", d.ReadRatio))
	fs.IntVar(&p.Children, "children", 0, fmt.Sprintf("children of the wide node (default %d)", d.Children))
	fs.IntVar(&p.MultiOps, "multi-ops", 0, fmt.Sprintf("setData ops per multi (default %d)", d.MultiOps))
	fs.IntVar(&p.Watchers, "watchers", 0, fmt.Sprintf("watching sessions in watch-fanout (default %d)", d.Watchers))
	fs.IntVar(&p.Rounds, "rounds", 0, fmt.Sprintf("rounds of watch-fanout (default %d)", d.Rounds))
	fs.IntVar(&p.Idle, "idle", 0, fmt.Sprintf("sessions of idle-sessions (default %d)", d.Idle))
	fs.DurationVar(&p.IdleFor, "idle-for", 0, fmt.Sprintf("idle period (default %v)", d.IdleFor))
	fs.DurationVar(&p.Timeout, "timeout", 0, fmt.Sprintf("session timeout asked for (default %v)", d.Timeout))
	fs.IntVar(&p.FloorSamples, "floor-samples", 0, fmt.Sprintf("fdatasyncs of the latency floor (default %d)", d.FloorSamples))
	fs.StringVar(&p.Root, "root", "", fmt.Sprintf("znode under which data is created (default %s)", d.Root))
	fs.Float64Var(&p.Rate, "rate", 0, "offered load of the open-loop workloads (read-rate, write-rate, mixed-rate), requests/s over all sessions")
	fs.IntVar(&p.Kills, "kills", 0, fmt.Sprintf("leader kills of ensemble-election (default %d; needs the suite)", d.Kills))
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *list {
		for _, w := range load.Workloads() {
			fmt.Fprintf(stdout, "%-18s %s\n", w.Name, w.Desc)
		}
		fmt.Fprintf(stdout, "%-18s %s\n", "tree", "bulk-load a 3-level tree of -nodes leaves (the memory benchmark's load)")
		return 0
	}
	if *quick {
		p = merge(p, load.Quick())
	}
	if *cpuProf != "" {
		f, err := os.Create(*cpuProf)
		if err != nil {
			fmt.Fprintf(stderr, "zkbench: %v\n", err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(stderr, "zkbench: %v\n", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer cancel()
	// A comma-separated -addr is an ensemble: sessions spread over it.
	addrs := strings.Split(*addr, ",")
	env := &load.Env{Addr: addrs[0], PID: *pid, DataDir: *dataDir}
	if len(addrs) > 1 {
		env.Addrs = addrs
	}
	if *verbose {
		env.Logf = func(f string, a ...any) { fmt.Fprintf(stderr, "zkbench: "+f+"\n", a...) }
	}
	names := strings.Split(*workloads, ",")
	if *workloads == "all" {
		names = names[:0]
		for _, w := range load.Workloads() {
			// "all" leaves out what cannot run here: open-loop workloads
			// without -rate, ensemble workloads without an ensemble, and
			// ensemble-election, whose kills need the suite.
			if (w.RateOf != "" && p.Rate <= 0) || (w.Ensemble && len(addrs) < 2) || w.Name == "ensemble-election" {
				continue
			}
			names = append(names, w.Name)
		}
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	status := 0
	for _, name := range names {
		if name == "tree" {
			vs := p.ValueSize
			if vs == 0 {
				vs = d.ValueSize
			}
			t := load.TreeFor("/zkbench-tree", *nodes, vs)
			r, err := load.LoadTree(ctx, env.Addr, t, 8, 64, env.Logf)
			if err != nil {
				fmt.Fprintf(stderr, "zkbench: tree: %v\n", err)
				return 1
			}
			_ = enc.Encode(map[string]any{
				"workload": "tree", "nodes": r.Nodes, "seconds": r.Duration.Seconds(),
				"creates_per_sec": float64(r.Nodes) / r.Duration.Seconds(), "leaf_latency": r.Latency,
			})
			continue
		}
		r, err := load.Run(ctx, env, name, p)
		if err != nil {
			fmt.Fprintf(stderr, "zkbench: %s: %v\n", name, err)
			return 1
		}
		if err := enc.Encode(r); err != nil {
			fmt.Fprintf(stderr, "zkbench: %v\n", err)
			return 1
		}
		if !r.Valid() {
			fmt.Fprintf(stderr, "zkbench: %s: %d failed replies, first: %s\n", name, r.Errors, r.FirstError)
			status = 1
		}
	}
	return status
}

// merge fills p's zero fields from q (flags win over the quick settings).
func merge(p, q load.Params) load.Params {
	b, _ := json.Marshal(p)
	out := q
	_ = json.Unmarshal(b, &out)
	return out
}

package load

import "time"

// Params are a workload's knobs. Each workload reads the ones it needs;
// zero values are replaced by Defaults.
type Params struct {
	Sessions  int           `json:"sessions,omitempty"`
	Depth     int           `json:"depth,omitempty"`
	ValueSize int           `json:"value_size,omitempty"`
	Keys      int           `json:"keys,omitempty"`
	Warmup    time.Duration `json:"warmup_ns,omitempty"`
	Duration  time.Duration `json:"duration_ns,omitempty"`
	// Ops, when > 0, measures this many requests instead of Duration.
	Ops int64 `json:"ops,omitempty"`
	// ReadRatio is the share of getData in the mixed workload.
	ReadRatio float64 `json:"read_ratio,omitempty"`
	// Children is the width of the wide node (exists, getchildren).
	Children int `json:"children,omitempty"`
	// MultiOps is the number of setData ops in one multi.
	MultiOps int `json:"multi_ops,omitempty"`
	// Watchers and Rounds shape the watch fan-out.
	Watchers int `json:"watchers,omitempty"`
	Rounds   int `json:"rounds,omitempty"`
	// Idle is the number of idle sessions, held for IdleFor.
	Idle    int           `json:"idle,omitempty"`
	IdleFor time.Duration `json:"idle_for_ns,omitempty"`
	// Timeout is the session timeout asked for.
	Timeout time.Duration `json:"timeout_ns,omitempty"`
	// FloorSamples is how many fdatasyncs and loopback round trips the
	// latency floor takes.
	FloorSamples int `json:"floor_samples,omitempty"`
	// Root is the znode under which the workloads create their data.
	Root string `json:"root,omitempty"`
	// Rate is the offered load of an open-loop workload (read-rate, …) in
	// requests per second, all sessions together. It has no default: the
	// suite derives it from the reference server's closed-loop throughput.
	Rate float64 `json:"rate,omitempty"`
	// Kills is how many times ensemble-election kills the leader.
	Kills int `json:"kills,omitempty"`
}

// Defaults are the full run's settings, sized for a 2-core machine: enough
// requests in flight to saturate a server (16 sessions × 16), well below
// ZooKeeper's globalOutstandingLimit (1000) and zkd's per-connection flow
// control (1000).
func Defaults() Params {
	return Params{
		Sessions: 16, Depth: 16, ValueSize: 100, Keys: 10000,
		Warmup: 2 * time.Second, Duration: 10 * time.Second,
		ReadRatio: 0.9, Children: 1000, MultiOps: 4,
		Watchers: 1000, Rounds: 100, Idle: 10000, IdleFor: 20 * time.Second,
		Timeout: 15 * time.Second, FloorSamples: 2000, Root: "/zkbench",
		Kills: 5,
	}
}

// Quick are the smoke-test settings (BENCH_QUICK=1).
func Quick() Params {
	p := Defaults()
	p.Warmup, p.Duration = 300*time.Millisecond, 1500*time.Millisecond
	p.Keys = 2000
	p.Watchers, p.Rounds = 100, 10
	p.Idle, p.IdleFor = 1000, 3*time.Second
	p.FloorSamples = 300
	p.Kills = 2
	return p
}

// fill replaces zero fields of p with d's.
func (p Params) fill(d Params) Params {
	if p.Sessions == 0 {
		p.Sessions = d.Sessions
	}
	if p.Depth == 0 {
		p.Depth = d.Depth
	}
	if p.ValueSize == 0 {
		p.ValueSize = d.ValueSize
	}
	if p.Keys == 0 {
		p.Keys = d.Keys
	}
	if p.Warmup == 0 {
		p.Warmup = d.Warmup
	}
	if p.Duration == 0 {
		p.Duration = d.Duration
	}
	if p.ReadRatio == 0 {
		p.ReadRatio = d.ReadRatio
	}
	if p.Children == 0 {
		p.Children = d.Children
	}
	if p.MultiOps == 0 {
		p.MultiOps = d.MultiOps
	}
	if p.Watchers == 0 {
		p.Watchers = d.Watchers
	}
	if p.Rounds == 0 {
		p.Rounds = d.Rounds
	}
	if p.Idle == 0 {
		p.Idle = d.Idle
	}
	if p.IdleFor == 0 {
		p.IdleFor = d.IdleFor
	}
	if p.Timeout == 0 {
		p.Timeout = d.Timeout
	}
	if p.FloorSamples == 0 {
		p.FloorSamples = d.FloorSamples
	}
	if p.Root == "" {
		p.Root = d.Root
	}
	if p.Kills == 0 {
		p.Kills = d.Kills
	}
	return p
}

package report

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"zkd/bench/load"
)

func sampleRun() *Run {
	res := func(ops, p99 float64, extra map[string]float64) *load.Result {
		return &load.Result{Workload: "read", OpsPerSec: ops, ServerCPU: 1, Latency: load.Latency{P50Us: p99 / 4, P99Us: p99, P999Us: p99 * 2}, Extra: extra}
	}
	zkdRead, zkRead := res(200000, 500, nil), res(100000, 1000, nil)
	zkdMem := &load.Result{Workload: "memory", Extra: map[string]float64{"rss_after_load_mib": 400}}
	zkMem := &load.Result{Workload: "memory", Extra: map[string]float64{"rss_after_load_mib": 800, "snapshot_mib": 120, "restart_to_serving_s": 4}}
	bad := res(1, 1, nil)
	bad.Workload, bad.Errors, bad.FirstError = "write", 3, "setData: zookeeper: NONODE"
	return &Run{
		Date: "2000-01-02", Started: time.Unix(0, 0), Finished: time.Unix(600, 0),
		Servers:   []Server{{Key: "zkd", Label: "zkd"}, {Key: "zookeeper", Label: "ZooKeeper"}},
		Workloads: []WorkloadInfo{{"read", "reads"}, {"write", "writes"}, {"memory", "memory"}},
		Results: map[string][]*load.Result{
			"zkd":       {zkdRead, bad, zkdMem},
			"zookeeper": {zkRead, res(1, 1, nil), zkMem},
		},
	}
}

func TestMarkdownRatiosAndDirections(t *testing.T) {
	r := sampleRun()
	r.Results["zookeeper"][1].Workload = "write"
	md := Markdown(r)
	for _, want := range []string{
		"| [read](#read) | throughput (requests/s, higher is better) | 200,000 | 100,000 | 2.00× | zkd |",
		"| [read](#read) | latency p99 (µs, lower is better) | 500 | 1,000 | 0.50× | zkd |",
		"| [memory](#memory) | snapshot size (MiB, lower is better) | n/a | 120 | n/a |  |",
		"| [memory](#memory) | RSS after loading (MiB, lower is better) | 400 | 800 | 0.50× | zkd |",
		"[write](#write) ⚠ INVALID",
		"**INVALID for zkd**: 3 failed replies or errors; first: `setData: zookeeper: NONODE`",
		"![read](2000-01-02-read.svg)",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q", want)
		}
	}
}

func TestWriteCharts(t *testing.T) {
	dir := t.TempDir()
	r := sampleRun()
	if err := Write(r, dir); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"2000-01-02.md", "2000-01-02-read.svg", "2000-01-02-memory.svg"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || len(b) == 0 {
			t.Errorf("%s: %v", name, err)
		}
	}
	if err := writeChart(r, r.Workloads[0], filepath.Join(dir, "read.png")); err != nil {
		t.Errorf("png: %v", err)
	}
}

func TestNum(t *testing.T) {
	for v, want := range map[float64]string{1234567: "1,234,567", 123.4: "123", 12.34: "12.3", 1.234: "1.23", 0.01234: "0.012", 0: "0"} {
		if got := num(v); got != want {
			t.Errorf("num(%v) = %q, want %q", v, got, want)
		}
	}
}

func TestTargetsAndOpenLoopInvalid(t *testing.T) {
	r := sampleRun()
	rate := func(p99 float64, invalid string) *load.Result {
		return &load.Result{Workload: "read-rate", OpsPerSec: 1000, Latency: load.Latency{P50Us: 10, P99Us: p99, P999Us: 2 * p99},
			Extra: map[string]float64{"offered_per_sec": 1000, "achieved_per_sec": 1000}, Invalid: invalid}
	}
	ens := func(ops float64) *load.Result { return &load.Result{Workload: "ensemble-write", OpsPerSec: ops} }
	elect := func(med, mx float64) *load.Result {
		return &load.Result{Workload: "ensemble-election", Extra: map[string]float64{"write_after_kill_median_ms": med, "write_after_kill_max_ms": mx}}
	}
	r.Workloads = append(r.Workloads, WorkloadInfo{"read-rate", "fixed rate"}, WorkloadInfo{"ensemble-write", "ensemble"}, WorkloadInfo{"ensemble-election", "election"})
	r.Results["zkd"] = append(r.Results["zkd"], rate(400, ""), ens(3000), elect(500, 2000))
	r.Results["zookeeper"] = append(r.Results["zookeeper"], rate(1000, "could not keep up with the schedule: 10 of 1000"), ens(1000), elect(900, 1000))
	md := Markdown(r)
	for _, want := range []string{
		"| p99 latency at the same offered load ≤ ½ of ZooKeeper's | [read-rate](#read-rate) | latency p99 (µs) | 400 | 1,000 | 0.40× | ≤ 0.5× | yes (INVALID run) |",
		"| ensemble write throughput ≥ 1.5× ZooKeeper's | [ensemble-write](#ensemble-write) | throughput (requests/s) | 3,000 | 1,000 | 3.00× | ≥ 1.5× | yes |",
		"| leader election no slower than ZooKeeper's (median) | [ensemble-election](#ensemble-election) | kill to a write through a survivor, median (ms) | 500 | 900 | 0.56× | ≤ 1× | yes |",
		"| leader election no slower than ZooKeeper's (worst kill) | [ensemble-election](#ensemble-election) | kill to a write through a survivor, max (ms) | 2,000 | 1,000 | 2.00× | ≤ 1× | **no** |",
		"**INVALID for ZooKeeper**: could not keep up with the schedule: 10 of 1000",
		"[read-rate](#read-rate) ⚠ INVALID",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if err := Write(r, t.TempDir()); err != nil {
		t.Fatal(err)
	}
}

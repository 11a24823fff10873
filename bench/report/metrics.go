package report

import (
	"math"

	"zkd/bench/load"
)

// Direction says which way a metric is better.
type Direction int

const (
	Info   Direction = 0  // context, not a score (CPU used, floors)
	Higher Direction = 1  // throughput
	Lower  Direction = -1 // latency, memory, time
)

func (d Direction) String() string {
	switch d {
	case Higher:
		return "higher is better"
	case Lower:
		return "lower is better"
	}
	return "context"
}

// metric is one row of a workload's table and, when Panel is set, one bar
// group of its chart.
type metric struct {
	Name  string
	Unit  string
	Dir   Direction
	Panel string // chart panel; "" keeps it out of the chart
	Cat   string // category label within the panel
	get   func(*load.Result) (float64, bool)
}

func field(f func(*load.Result) float64) func(*load.Result) (float64, bool) {
	return func(r *load.Result) (float64, bool) {
		v := f(r)
		return v, !math.IsNaN(v)
	}
}

func extra(name string) func(*load.Result) (float64, bool) {
	return func(r *load.Result) (float64, bool) {
		v, ok := r.Extra[name]
		return v, ok
	}
}

func positive(f func(*load.Result) float64) func(*load.Result) (float64, bool) {
	return func(r *load.Result) (float64, bool) {
		v := f(r)
		return v, v > 0
	}
}

const (
	panelRate       = "offered and achieved rate, requests/s"
	panelThroughput = "throughput (higher is better)"
	panelLatency    = "latency, µs, log scale (lower is better)"
)

func latencyMetrics(what string) []metric {
	return []metric{
		{Name: what + " p50", Unit: "µs", Dir: Lower, Panel: panelLatency, Cat: "p50", get: positive(func(r *load.Result) float64 { return r.Latency.P50Us })},
		{Name: what + " p99", Unit: "µs", Dir: Lower, Panel: panelLatency, Cat: "p99", get: positive(func(r *load.Result) float64 { return r.Latency.P99Us })},
		{Name: what + " p99.9", Unit: "µs", Dir: Lower, Panel: panelLatency, Cat: "p99.9", get: positive(func(r *load.Result) float64 { return r.Latency.P999Us })},
	}
}

func cpuMetrics() []metric {
	return []metric{
		{Name: "server CPU per op", Unit: "µs", Dir: Lower, get: func(r *load.Result) (float64, bool) {
			if r.OpsPerSec <= 0 || r.ServerCPU <= 0 {
				return 0, false
			}
			return r.ServerCPU * 1e6 / r.OpsPerSec, true
		}},
		{Name: "server CPU", Unit: "cores", Dir: Info, get: field(func(r *load.Result) float64 { return r.ServerCPU })},
		{Name: "client CPU", Unit: "cores", Dir: Info, get: field(func(r *load.Result) float64 { return r.ClientCPU })},
		{Name: "other processes' CPU", Unit: "cores", Dir: Info, get: field(func(r *load.Result) float64 { return r.OtherCPU })},
		otherWrites,
	}
}

var otherWrites = metric{Name: "other processes' disk writes", Unit: "MiB/s", Dir: Info, get: field(func(r *load.Result) float64 { return r.OtherWriteMiBps })}

// metricsFor lists the rows of a workload's table, the headline first.
func metricsFor(workload string) []metric {
	throughput := func(unit string) metric {
		return metric{Name: "throughput", Unit: unit, Dir: Higher, Panel: panelThroughput, Cat: unit,
			get: positive(func(r *load.Result) float64 { return r.OpsPerSec })}
	}
	var ms []metric
	switch workload {
	case "watch-fanout":
		ms = append(ms, throughput("notifications/s"))
		ms = append(ms, latencyMetrics("all notified")...)
		ms = append(ms,
			metric{Name: "one notification p50", Unit: "µs", Dir: Lower, get: extra("notify_p50_us")},
			metric{Name: "one notification p99", Unit: "µs", Dir: Lower, get: extra("notify_p99_us")})
		ms = append(ms, cpuMetrics()[1:]...)
	case "session-churn":
		ms = append(ms, throughput("sessions/s"))
		ms = append(ms, latencyMetrics("connect+close")...)
		ms = append(ms, cpuMetrics()...)
	case "idle-sessions":
		ms = append(ms,
			metric{Name: "server CPU while idle", Unit: "% of a core", Dir: Lower, Panel: "server CPU while idle, % of a core (lower is better)", Cat: "CPU", get: extra("idle_server_cpu_pct")},
			metric{Name: "server RSS with the sessions open", Unit: "MiB", Dir: Lower, Panel: "server RSS, MiB (lower is better)", Cat: "with sessions", get: positive(func(r *load.Result) float64 { return r.ServerRSSMiB })},
			metric{Name: "server RSS before connecting", Unit: "MiB", Dir: Lower, Panel: "server RSS, MiB (lower is better)", Cat: "before", get: extra("server_rss_before_mib")},
			metric{Name: "RSS per session", Unit: "KiB", Dir: Lower, get: extra("rss_per_session_kib")},
			metric{Name: "connect rate", Unit: "sessions/s", Dir: Higher, Panel: "connect rate, sessions/s (higher is better)", Cat: "connect", get: positive(func(r *load.Result) float64 { return r.OpsPerSec })},
			metric{Name: "connect p50", Unit: "µs", Dir: Lower, get: positive(func(r *load.Result) float64 { return r.Latency.P50Us })},
			metric{Name: "connect p99", Unit: "µs", Dir: Lower, get: positive(func(r *load.Result) float64 { return r.Latency.P99Us })},
			metric{Name: "pings answered", Unit: "/s", Dir: Info, get: extra("pings_per_sec")},
			metric{Name: "client CPU while idle", Unit: "cores", Dir: Info, get: field(func(r *load.Result) float64 { return r.ClientCPU })},
			metric{Name: "other processes' CPU", Unit: "cores", Dir: Info, get: field(func(r *load.Result) float64 { return r.OtherCPU })},
			otherWrites,
		)
	case "memory":
		ms = append(ms,
			metric{Name: "RSS after loading", Unit: "MiB", Dir: Lower, Panel: "RSS, MiB (lower is better)", Cat: "after load", get: extra("rss_after_load_mib")},
			metric{Name: "RSS after restart", Unit: "MiB", Dir: Lower, Panel: "RSS, MiB (lower is better)", Cat: "after restart", get: extra("rss_after_restart_mib")},
			metric{Name: "peak RSS (VmHWM)", Unit: "MiB", Dir: Lower, get: extra("rss_peak_mib")},
			metric{Name: "RSS empty", Unit: "MiB", Dir: Lower, get: extra("rss_empty_mib")},
			metric{Name: "snapshot size", Unit: "MiB", Dir: Lower, Panel: "on disk, MiB (lower is better)", Cat: "snapshot", get: extra("snapshot_mib")},
			metric{Name: "data dir size", Unit: "MiB", Dir: Info, Panel: "on disk, MiB (lower is better)", Cat: "data dir", get: extra("data_dir_mib")},
			metric{Name: "restart to serving", Unit: "s", Dir: Lower, Panel: "time from process start to serving, s (lower is better)", Cat: "restart, full tree", get: extra("restart_to_serving_s")},
			metric{Name: "start to serving, empty", Unit: "s", Dir: Lower, Panel: "time from process start to serving, s (lower is better)", Cat: "empty", get: extra("startup_empty_s")},
			metric{Name: "load rate", Unit: "creates/s", Dir: Higher, Panel: "load rate, creates/s (higher is better)", Cat: "create", get: positive(func(r *load.Result) float64 { return r.OpsPerSec })},
			metric{Name: "create p50 during load", Unit: "µs", Dir: Lower, get: positive(func(r *load.Result) float64 { return r.Latency.P50Us })},
			metric{Name: "create p99 during load", Unit: "µs", Dir: Lower, get: positive(func(r *load.Result) float64 { return r.Latency.P99Us })},
			metric{Name: "server CPU during load", Unit: "cores", Dir: Info, get: field(func(r *load.Result) float64 { return r.ServerCPU })},
			metric{Name: "other processes' CPU during load", Unit: "cores", Dir: Info, get: field(func(r *load.Result) float64 { return r.OtherCPU })},
			otherWrites,
		)
	case "read-rate", "write-rate", "mixed-rate":
		ms = append(ms, latencyMetrics("latency")...)
		ms = append(ms,
			metric{Name: "offered rate", Unit: "requests/s", Dir: Info, Panel: panelRate, Cat: "offered", get: extra("offered_per_sec")},
			metric{Name: "achieved rate", Unit: "requests/s", Dir: Info, Panel: panelRate, Cat: "achieved", get: extra("achieved_per_sec")},
			metric{Name: "requests never sent", Unit: "requests", Dir: Lower, get: extra("unsent")},
			metric{Name: "client send lag p50", Unit: "µs", Dir: Info, get: extra("send_lag_p50_us")},
			metric{Name: "client send lag p99", Unit: "µs", Dir: Info, get: extra("send_lag_p99_us")},
			metric{Name: "client send lag max", Unit: "ms", Dir: Info, get: extra("max_send_lag_ms")},
		)
		ms = append(ms, cpuMetrics()...)
	case "ensemble-election":
		const pn = "ms after the leader's SIGKILL (lower is better)"
		ms = append(ms,
			metric{Name: "kill to a write through a survivor, median", Unit: "ms", Dir: Lower, Panel: pn, Cat: "write, median", get: extra("write_after_kill_median_ms")},
			metric{Name: "kill to a write through a survivor, max", Unit: "ms", Dir: Lower, Panel: pn, Cat: "write, max", get: extra("write_after_kill_max_ms")},
			metric{Name: "kill to a leader in srvr, median", Unit: "ms", Dir: Lower, Panel: pn, Cat: "srvr, median", get: extra("leader_after_kill_median_ms")},
			metric{Name: "kill to a leader in srvr, max", Unit: "ms", Dir: Lower, Panel: pn, Cat: "srvr, max", get: extra("leader_after_kill_max_ms")},
			metric{Name: "leader kills", Unit: "", Dir: Info, get: extra("kills")},
		)
	case "multi":
		ms = append(ms, throughput("multis/s"))
		ms = append(ms, latencyMetrics("latency")...)
		ms = append(ms, cpuMetrics()...)
	default:
		ms = append(ms, throughput("requests/s"))
		ms = append(ms, latencyMetrics("latency")...)
		if workload == "latency-write" {
			ms = append(ms,
				metric{Name: "floor: fdatasync p50 (same disk)", Unit: "µs", Dir: Info, get: extra("fdatasync_p50_us")},
				metric{Name: "floor: fdatasync p99", Unit: "µs", Dir: Info, get: extra("fdatasync_p99_us")},
				metric{Name: "floor: loopback round trip p50", Unit: "µs", Dir: Info, get: extra("loopback_rtt_p50_us")},
				metric{Name: "floor: loopback round trip p99", Unit: "µs", Dir: Info, get: extra("loopback_rtt_p99_us")},
				metric{Name: "floor: a round trip then an fdatasync, in sequence, p50", Unit: "µs", Dir: Info, get: extra("rtt_then_fdatasync_p50_us")},
				metric{Name: "floor: a round trip then an fdatasync, in sequence, p99", Unit: "µs", Dir: Info, get: extra("rtt_then_fdatasync_p99_us")})
		}
		ms = append(ms, cpuMetrics()...)
	}
	return ms
}

// headline picks the summary-table rows of a workload.
func headline(workload string) []string {
	switch workload {
	case "idle-sessions":
		return []string{"server CPU while idle", "server RSS with the sessions open"}
	case "memory":
		return []string{"RSS after loading", "snapshot size", "restart to serving"}
	case "watch-fanout":
		return []string{"all notified p50", "all notified p99"}
	case "latency-write", "latency-read":
		return []string{"latency p50", "latency p99"}
	case "session-churn":
		return []string{"throughput", "connect+close p99"}
	case "read-rate", "write-rate", "mixed-rate":
		return []string{"latency p99", "latency p99.9"}
	case "ensemble-election":
		return []string{"kill to a write through a survivor, median", "kill to a write through a survivor, max"}
	}
	return []string{"throughput", "latency p99"}
}

// target is one of the project's performance targets, checked against a
// metric's zkd / ZooKeeper ratio.
type target struct {
	Text     string
	Workload string
	Metric   string
	// Met reports whether the ratio zkd / ZooKeeper meets the target.
	Met  func(ratio float64) bool
	Goal string // the ratio wanted, for the table
}

// targets are the rows of the report's Targets table (those whose
// workload ran).
var targets = []target{
	{"p99 latency at the same offered load ≤ ½ of ZooKeeper's", "read-rate", "latency p99", func(q float64) bool { return q <= 0.5 }, "≤ 0.5×"},
	{"p99 latency at the same offered load ≤ ½ of ZooKeeper's", "write-rate", "latency p99", func(q float64) bool { return q <= 0.5 }, "≤ 0.5×"},
	{"p99 latency at the same offered load ≤ ½ of ZooKeeper's", "mixed-rate", "latency p99", func(q float64) bool { return q <= 0.5 }, "≤ 0.5×"},
	{"ensemble write throughput ≥ 1.5× ZooKeeper's", "ensemble-write", "throughput", func(q float64) bool { return q >= 1.5 }, "≥ 1.5×"},
	{"leader election no slower than ZooKeeper's (median)", "ensemble-election", "kill to a write through a survivor, median", func(q float64) bool { return q <= 1 }, "≤ 1×"},
	{"leader election no slower than ZooKeeper's (worst kill)", "ensemble-election", "kill to a write through a survivor, max", func(q float64) bool { return q <= 1 }, "≤ 1×"},
}

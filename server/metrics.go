package server

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// The metricsProvider.className values zkd knows. The default provider
// only feeds mntr, which zkd always answers.
const (
	defaultMetricsProvider    = "org.apache.zookeeper.metrics.impl.DefaultMetricsProvider"
	prometheusMetricsProvider = "org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider"

	// summaryRotation moves latency summaries to their next age bucket:
	// Prometheus' default 10-minute window in 5 buckets.
	summaryRotation = 2 * time.Minute
)

// Prometheus metric types.
const (
	promGauge   = "gauge"
	promCounter = "counter"
)

// promTypes are the mntr values ZooKeeper's Prometheus provider exports,
// by type: the gauges ZooKeeperServer, QuorumZooKeeperServer and
// LeaderZooKeeperServer register, and ServerMetrics' counters. The names
// are mntr's without "zk_".
var promTypes = map[string]string{
	"avg_latency": promGauge, "max_latency": promGauge, "min_latency": promGauge,
	"packets_received": promGauge, "packets_sent": promGauge,
	"num_alive_connections": promGauge, "outstanding_requests": promGauge, "uptime": promGauge,
	"znode_count": promGauge, "watch_count": promGauge, "ephemerals_count": promGauge,
	"approximate_data_size": promGauge, "global_sessions": promGauge, "local_sessions": promGauge,
	"open_file_descriptor_count": promGauge, "max_file_descriptor_count": promGauge,
	"quorum_size": promGauge, "learners": promGauge, "synced_followers": promGauge,
	"synced_non_voting_followers": promGauge, "synced_observers": promGauge,
	"pending_syncs": promGauge, "leader_uptime": promGauge, "last_proposal_size": promGauge,
	"max_proposal_size": promGauge, "min_proposal_size": promGauge,
	"digest_mismatches_count": promCounter,
}

// notExported are mntr values with no Prometheus metric: strings, and
// values ZooKeeper 3.8's provider does not have.
var notExported = map[string]bool{
	"version": true, "server_state": true, "peer_state": true,
	"data_dir_size": true, "log_dir_size": true,
}

// latencyQuantiles are ZooKeeper's for its ADVANCED summaries
// (readlatency, updatelatency).
var latencyQuantiles = []float64{0.5, 0.9, 0.99}

// metricsConfig is the Prometheus provider's part of zoo.cfg.
type metricsConfig struct {
	addr          string // httpHost:httpPort
	exportJvmInfo bool   // process_* and go_* metrics, as the JVM's are
}

// prometheusConfig reads metricsProvider.* as PrometheusMetricsProvider
// does; ok is false when another provider is configured.
func prometheusConfig(cfg *Config) (mc metricsConfig, ok bool, err error) {
	if cfg.MetricsProviderClassName != prometheusMetricsProvider {
		return mc, false, nil
	}
	p := cfg.MetricsProviderProps
	get := func(k, def string) string {
		if v, ok := p[k]; ok {
			return v
		}
		return def
	}
	port, err := strconv.Atoi(get("httpPort", "7000"))
	if err != nil {
		return mc, true, fmt.Errorf("metricsProvider.httpPort: %q is not a number", p["httpPort"])
	}
	mc.addr = net.JoinHostPort(get("httpHost", "0.0.0.0"), strconv.Itoa(port))
	// Boolean.parseBoolean: only "true", in any case, is true.
	mc.exportJvmInfo = strings.EqualFold(get("exportJvmInfo", "true"), "true")
	return mc, true, nil
}

// metricsServer serves /metrics in Prometheus' text format.
type metricsServer struct {
	http *http.Server
	done chan struct{}
	once sync.Once
}

// newSummaries makes the latency summaries when Prometheus is configured,
// so that requests are observed from the first one on.
func (s *Server) newSummaries() {
	if _, ok, _ := prometheusConfig(s.cfg); ok {
		s.stats.readLat = newLatencySummary(latencyQuantiles...)
		s.stats.updateLat = newLatencySummary(latencyQuantiles...)
	}
}

// startMetrics starts the configured metrics provider. As in ZooKeeper, a
// Prometheus endpoint that cannot listen stops the server: metrics were
// asked for explicitly. nil, nil means no endpoint to serve.
func (s *Server) startMetrics() (*metricsServer, error) {
	switch s.cfg.MetricsProviderClassName {
	case defaultMetricsProvider, "":
		return nil, nil
	case prometheusMetricsProvider:
	default:
		s.log.Warn().Str("className", s.cfg.MetricsProviderClassName).
			Msg("metrics provider not supported; metrics are available through mntr only")
		return nil, nil
	}
	mc, _, err := prometheusConfig(s.cfg)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", mc.addr)
	if err != nil {
		return nil, fmt.Errorf("cannot start the /metrics endpoint: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		bw := bufio.NewWriter(w)
		s.writeMetrics(bw, mc.exportJvmInfo)
		_ = bw.Flush()
	})
	m := &metricsServer{
		http: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second},
		done: make(chan struct{}),
	}
	go func() {
		if err := m.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error().Err(err).Str("addr", mc.addr).Msg("/metrics endpoint stopped")
		}
	}()
	go func() {
		t := time.NewTicker(summaryRotation)
		defer t.Stop()
		for {
			select {
			case <-m.done:
				return
			case <-t.C:
				s.stats.readLat.rotate()
				s.stats.updateLat.rotate()
			}
		}
	}()
	s.log.Info().Str("addr", ln.Addr().String()).Bool("exportJvmInfo", mc.exportJvmInfo).
		Msg("serving Prometheus metrics at /metrics")
	return m, nil
}

func (m *metricsServer) stop(ctx context.Context) {
	if m == nil {
		return
	}
	m.once.Do(func() {
		close(m.done)
		_ = m.http.Shutdown(ctx)
	})
}

// promFamily is one metric family of the exposition.
type promFamily struct {
	name, typ string
	samples   []promSample
}

type promSample struct {
	suffix, labels string
	v              float64
}

// writeMetrics writes the exposition: mntr's numeric values under
// ZooKeeper's names, the latency summaries and, with exportJvmInfo, the
// process metrics the Prometheus clients export.
func (s *Server) writeMetrics(w io.Writer, process bool) {
	var fams []promFamily
	for _, m := range s.monitorValues() {
		typ, ok := promTypes[m.k]
		if !ok {
			continue
		}
		var v float64
		switch x := m.v.(type) {
		case int64:
			v = float64(x)
		case float64:
			v = x
		default:
			continue
		}
		fams = append(fams, promFamily{m.k, typ, []promSample{{v: v}}})
	}
	for _, l := range []struct {
		name string
		sum  *latencySummary
	}{{"readlatency", s.stats.readLat}, {"updatelatency", s.stats.updateLat}} {
		if l.sum != nil {
			fams = append(fams, l.sum.family(l.name))
		}
	}
	if process {
		fams = append(fams, processFamilies()...)
	}
	sort.Slice(fams, func(i, j int) bool { return fams[i].name < fams[j].name })
	for _, f := range fams {
		writeFamily(w, f)
	}
}

func (l *latencySummary) family(name string) promFamily {
	f := promFamily{name: name, typ: "summary"}
	for _, q := range l.quantiles {
		f.samples = append(f.samples, promSample{labels: `quantile="` + formatFloat(q) + `"`, v: l.quantile(q)})
	}
	f.samples = append(f.samples,
		promSample{suffix: "_sum", v: float64(l.sum.Load())},
		promSample{suffix: "_count", v: float64(l.count.Load())})
	return f
}

// writeFamily writes one family in the text format (version 0.0.4);
// ZooKeeper's help text is the metric's name.
func writeFamily(w io.Writer, f promFamily) {
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n", f.name, f.name, f.name, f.typ)
	for _, s := range f.samples {
		if s.labels != "" {
			fmt.Fprintf(w, "%s%s{%s} %s\n", f.name, s.suffix, s.labels, formatFloat(s.v))
		} else {
			fmt.Fprintf(w, "%s%s %s\n", f.name, s.suffix, formatFloat(s.v))
		}
	}
}

// formatFloat writes a sample value as the Go Prometheus client does.
func formatFloat(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// processStart stands in for the process start time.
var processStart = time.Now()

// processFamilies are the process and runtime metrics a Prometheus client
// exports by default (ZooKeeper's exportJvmInfo adds the JVM's): the
// process_* names are the same in every client, go_* replace jvm_*.
func processFamilies() []promFamily {
	gauge := func(name string, v float64) promFamily {
		return promFamily{name, promGauge, []promSample{{v: v}}}
	}
	fams := []promFamily{
		gauge("process_open_fds", float64(openFDs())),
		gauge("process_max_fds", float64(maxFDs())),
		gauge("process_start_time_seconds", float64(processStart.UnixNano())/1e9),
		gauge("go_goroutines", float64(runtime.NumGoroutine())),
	}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
		fams = append(fams, promFamily{"process_cpu_seconds_total", promCounter, []promSample{{v: cpu}}})
	}
	if vsz, rss, ok := memoryUsage(); ok {
		fams = append(fams, gauge("process_virtual_memory_bytes", vsz), gauge("process_resident_memory_bytes", rss))
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fams = append(fams, gauge("go_memstats_alloc_bytes", float64(ms.Alloc)), gauge("go_memstats_sys_bytes", float64(ms.Sys)))
	return fams
}

// memoryUsage reads the virtual and resident sizes from /proc/self/statm.
func memoryUsage() (vsz, rss float64, ok bool) {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, 0, false
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0, 0, false
	}
	size, err1 := strconv.ParseUint(f[0], 10, 64)
	res, err2 := strconv.ParseUint(f[1], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, false
	}
	page := float64(os.Getpagesize())
	return float64(size) * page, float64(res) * page, true
}

package server

import (
	"io"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

func TestPrometheusConfig(t *testing.T) {
	tests := []struct {
		name    string
		cfg     string
		ok      bool
		want    metricsConfig
		wantErr bool
	}{
		{"no provider", "", false, metricsConfig{}, false},
		{"the default provider", "metricsProvider.className=org.apache.zookeeper.metrics.impl.DefaultMetricsProvider\n",
			false, metricsConfig{}, false},
		{"ZooKeeper's defaults", "metricsProvider.className=" + prometheusMetricsProvider + "\n",
			true, metricsConfig{"0.0.0.0:7000", true}, false},
		{"host, port, no JVM info", "metricsProvider.className=" + prometheusMetricsProvider +
			"\nmetricsProvider.httpHost=127.0.0.1\nmetricsProvider.httpPort=7001\nmetricsProvider.exportJvmInfo=FALSE\n",
			true, metricsConfig{"127.0.0.1:7001", false}, false},
		{"a bad port", "metricsProvider.className=" + prometheusMetricsProvider + "\nmetricsProvider.httpPort=x\n",
			true, metricsConfig{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseConfig(strings.NewReader("dataDir=/tmp/x\n"+tt.cfg), nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range c.Warnings {
				if strings.Contains(w, "metricsProvider") {
					t.Fatalf("metricsProvider key warned about: %s", w)
				}
			}
			got, ok, err := prometheusConfig(c)
			if ok != tt.ok || (err != nil) != tt.wantErr || (err == nil && got != tt.want) {
				t.Fatalf("got %+v %v %v, want %+v %v err=%v", got, ok, err, tt.want, tt.ok, tt.wantErr)
			}
		})
	}
}

func TestLatencySummary(t *testing.T) {
	tests := []struct {
		name string
		obs  []int64
		q    map[float64]float64
	}{
		{"empty", nil, map[float64]float64{0.5: math.NaN(), 0.99: math.NaN()}},
		{"one value", []int64{7}, map[float64]float64{0.5: 7, 0.9: 7, 0.99: 7}},
		{"1..100", seq(1, 100), map[float64]float64{0.5: 50, 0.9: 90, 0.99: 99, 1: 100}},
		{"negative clamps to 0", []int64{-5}, map[float64]float64{0.5: 0}},
		{"slow requests in power-of-two buckets", []int64{1, 1500, 5000}, map[float64]float64{0.3: 1, 0.5: 2047, 0.99: 8191}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLatencySummary(0.5)
			var sum int64
			for _, v := range tt.obs {
				l.observe(v)
				sum += max(v, 0)
			}
			for q, want := range tt.q {
				got := l.quantile(q)
				if !(got == want || math.IsNaN(got) && math.IsNaN(want)) {
					t.Errorf("quantile(%v) = %v, want %v", q, got, want)
				}
			}
			if l.count.Load() != int64(len(tt.obs)) || l.sum.Load() != sum {
				t.Errorf("count %d sum %d", l.count.Load(), l.sum.Load())
			}
		})
	}
	var none *latencySummary
	none.observe(1) // no provider: a no-op
}

func seq(a, b int64) []int64 {
	var out []int64
	for i := a; i <= b; i++ {
		out = append(out, i)
	}
	return out
}

// Quantiles forget what is older than the window; count and sum do not.
func TestLatencySummaryRotation(t *testing.T) {
	l := newLatencySummary(0.5)
	l.observe(100)
	for i := 0; i < ageBuckets-1; i++ {
		l.rotate()
		if l.quantile(0.5) != 100 {
			t.Fatalf("forgot after %d rotations", i+1)
		}
	}
	l.observe(3)
	l.rotate()
	if got := l.quantile(0.5); got != 3 {
		t.Fatalf("after the window: median %v, want 3", got)
	}
	if l.count.Load() != 2 || l.sum.Load() != 103 {
		t.Fatalf("count %d sum %d", l.count.Load(), l.sum.Load())
	}
}

// Every mntr value is either exported under its own name or known not to
// be a ZooKeeper Prometheus metric, so a new mntr value is a decision.
func TestEveryMonitorValueClassified(t *testing.T) {
	s := newTestServer(t, true)
	for _, m := range s.monitorValues() {
		_, exported := promTypes[m.k]
		if exported == notExported[m.k] {
			t.Errorf("%s: exported=%v notExported=%v", m.k, exported, notExported[m.k])
		}
		if _, isString := m.v.(string); isString && exported {
			t.Errorf("%s is a string", m.k)
		}
	}
	for _, k := range []string{"learners", "synced_followers", "synced_non_voting_followers", "synced_observers",
		"pending_syncs", "leader_uptime", "last_proposal_size", "max_proposal_size", "min_proposal_size", "quorum_size"} {
		if promTypes[k] != promGauge {
			t.Errorf("quorum gauge %s not exported", k)
		}
	}
}

func parseMetrics(t *testing.T, r io.Reader) map[string]*dto.MetricFamily {
	t.Helper()
	var p expfmt.TextParser
	fams, err := p.TextToMetricFamilies(r)
	if err != nil {
		t.Fatalf("exposition does not parse: %v", err)
	}
	return fams
}

func TestWriteMetrics(t *testing.T) {
	s := newTestServer(t, true)
	s.stats.readLat, s.stats.updateLat = newLatencySummary(latencyQuantiles...), newLatencySummary(latencyQuantiles...)
	s.stats.record(1, 2, false)
	s.stats.record(1, 4, false)
	s.stats.record(1, 9, true)
	for _, process := range []bool{true, false} {
		var b strings.Builder
		s.writeMetrics(&b, process)
		fams := parseMetrics(t, strings.NewReader(b.String()))
		types := map[string]dto.MetricType{
			"znode_count": dto.MetricType_GAUGE, "avg_latency": dto.MetricType_GAUGE,
			"packets_received": dto.MetricType_GAUGE, "num_alive_connections": dto.MetricType_GAUGE,
			"digest_mismatches_count": dto.MetricType_COUNTER,
			"readlatency":             dto.MetricType_SUMMARY, "updatelatency": dto.MetricType_SUMMARY,
		}
		for name, typ := range types {
			f := fams[name]
			if f == nil || f.GetType() != typ {
				t.Fatalf("%s: %v, want type %v\n%s", name, f, typ, b.String())
			}
		}
		if v := fams["znode_count"].Metric[0].GetGauge().GetValue(); v != float64(s.nodeCount()) {
			t.Errorf("znode_count %v, want %d", v, s.nodeCount())
		}
		if v := fams["avg_latency"].Metric[0].GetGauge().GetValue(); v != 5 {
			t.Errorf("avg_latency %v, want 5", v)
		}
		rl := fams["readlatency"].Metric[0].GetSummary()
		if rl.GetSampleCount() != 2 || rl.GetSampleSum() != 6 || len(rl.Quantile) != 3 || rl.Quantile[0].GetValue() != 2 {
			t.Errorf("readlatency %v", rl)
		}
		if _, ok := fams["data_dir_size"]; ok {
			t.Error("data_dir_size is not a ZooKeeper metric")
		}
		if _, ok := fams["process_resident_memory_bytes"]; ok != process {
			t.Errorf("process metrics present=%v with exportJvmInfo=%v", ok, process)
		}
	}
}

func TestMetricsEndpoint(t *testing.T) {
	s := newTestServer(t, true)
	s.cfg.MetricsProviderClassName = prometheusMetricsProvider
	s.cfg.MetricsProviderProps = map[string]string{"httpHost": "127.0.0.1", "httpPort": "0"}
	s.newSummaries()
	m, err := s.startMetrics()
	if err != nil || m == nil {
		t.Fatalf("start: %v", err)
	}
	defer m.stop(t.Context())
	// httpPort=0 picked a port; find it through the server's listener.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port

	// A taken port fails the start, as in ZooKeeper.
	s.cfg.MetricsProviderProps["httpPort"] = strconv.Itoa(port)
	if m2, err := s.startMetrics(); err == nil {
		m2.stop(t.Context())
		t.Fatal("started on a taken port")
	}
	ln.Close()
	m2, err := s.startMetrics()
	if err != nil {
		t.Fatal(err)
	}
	defer m2.stop(t.Context())
	resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(port) + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Fatalf("content type %q", ct)
	}
	if fams := parseMetrics(t, resp.Body); fams["readlatency"] == nil || fams["uptime"] == nil {
		t.Fatalf("families %v", fams)
	}
	for _, c := range []struct{ method, path string }{{"POST", "/metrics"}, {"GET", "/"}, {"TRACE", "/metrics"}} {
		req, _ := http.NewRequest(c.method, "http://127.0.0.1:"+strconv.Itoa(port)+c.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode < 400 {
			t.Errorf("%s %s: %d", c.method, c.path, resp.StatusCode)
		}
	}

	// Another provider class: mntr only, nothing to serve.
	s.cfg.MetricsProviderClassName = "com.example.Metrics"
	if m3, err := s.startMetrics(); m3 != nil || err != nil {
		t.Fatalf("unknown provider: %v %v", m3, err)
	}
}

func TestFormatFloat(t *testing.T) {
	tests := []struct {
		v    float64
		want string
	}{
		{5, "5"}, {0.5, "0.5"}, {1.2e6, "1.2e+06"}, {math.NaN(), "NaN"}, {math.Inf(1), "+Inf"}, {math.Inf(-1), "-Inf"},
	}
	for _, tt := range tests {
		if got := formatFloat(tt.v); got != tt.want {
			t.Errorf("formatFloat(%v) = %q, want %q", tt.v, got, tt.want)
		}
	}
}

package integration

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"zkd/internal/zkproc"
)

// ZooKeeper's AdminServer needs the servlet API, which the Debian
// package's classpath lacks (libservlet-api-java comes with its Jetty).
const servletAPIJar = "/usr/share/java/servlet-api.jar"

// adminCommands are the AdminServer commands zkd answers, by a name each
// (aliases included, to check they resolve as ZooKeeper's do).
var adminCommands = []string{
	"ruok", "srvr", "server_stats", "stat", "stats", "mntr", "monitor", "conf", "configuration",
	"cons", "connections", "envi", "environment", "dirs", "isro", "is_read_only", "wchs",
	"watch_summary", "wchc", "watches", "wchp", "watches_by_path", "dump", "hash", "lead",
	"leader", "voting_view", "icfg", "gtmk", "crst", "srst", "no_such_command",
}

// monitorExtras are mntr values zkd reports that ZooKeeper 3.8 does not
// (it has ~480 others zkd has no data for).
var monitorExtras = map[string]bool{"data_dir_size": true, "log_dir_size": true}

// monitorCore are the values monitoring tools read, which zkd must have.
var monitorCore = []string{
	"version", "server_state", "znode_count", "watch_count", "ephemerals_count",
	"approximate_data_size", "num_alive_connections", "outstanding_requests", "global_sessions",
	"avg_latency", "min_latency", "max_latency", "packets_received", "packets_sent", "uptime",
	"open_file_descriptor_count", "max_file_descriptor_count", "digest_mismatches_count",
}

// adminLines turn the AdminServer on at port: zoo.cfg lines for
// ZooKeeper (the last of a repeated key wins there) and -D flags for zkd
// (which lets them win over the harness's admin.enableServer=false).
func adminLines(port int) ([]string, []string) {
	return []string{"admin.enableServer=true", "admin.serverAddress=127.0.0.1", fmt.Sprintf("admin.serverPort=%d", port)},
		[]string{"-Dzookeeper.admin.enableServer=true", "-Dzookeeper.admin.serverAddress=127.0.0.1",
			fmt.Sprintf("-Dzookeeper.admin.serverPort=%d", port)}
}

// TestAdminServerMatchesZooKeeper runs the same sessions, watches,
// ephemerals and writes against ZooKeeper 3.8 and zkd, then compares the
// JSON keys (not the values) of every AdminServer command, and checks
// zkd's Prometheus endpoint.
func TestAdminServerMatchesZooKeeper(t *testing.T) {
	zkproc.Require(t, zkproc.HaveZooKeeper(), "java and "+zkproc.ZooKeeperJar)
	zkAdmin, zkdAdmin, zkdMetrics := zkproc.FreePort(t), zkproc.FreePort(t), zkproc.FreePort(t)
	lines, props := adminLines(zkAdmin)
	zoo := zkproc.StartZooKeeper(t, zkproc.Config{Lines: lines, Props: props, ClassPath: []string{servletAPIJar}})
	lines, props = adminLines(zkdAdmin)
	lines = append(lines,
		"metricsProvider.className=org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider",
		"metricsProvider.httpHost=127.0.0.1", fmt.Sprintf("metricsProvider.httpPort=%d", zkdMetrics))
	zkd := zkproc.StartZkd(t, zkdBin, zkproc.Config{Lines: lines, Props: props})

	const writes = 140 // ZooKeeper logs a digest every 128 zxids: hash has one
	for _, p := range []*zkproc.Proc{zoo, zkd} {
		for i := 0; i < 2; i++ {
			c := connectZk(t, p.Addr, 10*time.Second)
			defer c.Close()
			path := fmt.Sprintf("/admin-e%d", i)
			_, err := c.Create(path, []byte("x"), zk.FlagEphemeral, zk.WorldACL(zk.PermAll))
			must(t, err)
			_, err = c.Create(path+"p", []byte("x"), 0, zk.WorldACL(zk.PermAll))
			must(t, err)
			_, _, _, err = c.GetW(path)
			must(t, err)
			_, _, _, err = c.ExistsW("/admin-none")
			must(t, err)
			if i == 0 {
				for j := 0; j < writes; j++ {
					_, err = c.Create(fmt.Sprintf("/admin-n%d", j), nil, 0, zk.WorldACL(zk.PermAll))
					must(t, err)
				}
				_, _, err = c.Get("/admin-n0")
				must(t, err)
			}
		}
	}
	// Before crst and srst below reset the counters.
	t.Run("metrics", func(t *testing.T) { checkMetrics(t, zkd, zkdMetrics, writes) })

	zkURL := fmt.Sprintf("http://127.0.0.1:%d/commands", zkAdmin)
	zkdURL := fmt.Sprintf("http://127.0.0.1:%d/commands", zkdAdmin)

	// The listing: every command zkd lists, ZooKeeper lists too.
	zkList, zkdList := httpGet(t, zkURL), httpGet(t, zkdURL)
	for _, name := range regexp.MustCompile(`>([a-z_]+)</a>`).FindAllStringSubmatch(zkdList, -1) {
		if !strings.Contains(zkList, ">"+name[1]+"</a>") {
			t.Errorf("zkd lists %s, ZooKeeper does not", name[1])
		}
	}

	for _, cmd := range adminCommands {
		t.Run(cmd, func(t *testing.T) {
			want, wantDoc := jsonKeyPaths(t, httpGet(t, zkURL+"/"+cmd))
			got, gotDoc := jsonKeyPaths(t, httpGet(t, zkdURL+"/"+cmd))
			if gotDoc["command"] != wantDoc["command"] || (gotDoc["error"] == nil) != (wantDoc["error"] == nil) {
				t.Fatalf("command/error: zkd %v/%v, ZooKeeper %v/%v", gotDoc["command"], gotDoc["error"], wantDoc["command"], wantDoc["error"])
			}
			if cmd == "no_such_command" && gotDoc["error"] != wantDoc["error"] {
				t.Fatalf("error: zkd %q, ZooKeeper %q", gotDoc["error"], wantDoc["error"])
			}
			if cmd == "mntr" || cmd == "monitor" {
				for _, k := range got {
					if !contains(want, k) && !monitorExtras[k] {
						t.Errorf("zkd reports %s, ZooKeeper does not", k)
					}
				}
				for _, k := range monitorCore {
					if !contains(got, k) {
						t.Errorf("zkd lacks %s", k)
					}
				}
				return
			}
			if strings.Join(got, " ") != strings.Join(want, " ") {
				t.Fatalf("keys differ\n  zkd: %v\n   zk: %v", got, want)
			}
		})
	}
}

// TestAdminServerEnsembleMatchesZooKeeper compares the quorum commands
// (leader, voting_view, srvr, mntr) of a zkd member with ZooKeeper's in
// one mixed ensemble: first both following a ZooKeeper leader, then zkd
// leading against what the ZooKeeper leader answered.
func TestAdminServerEnsembleMatchesZooKeeper(t *testing.T) {
	zkproc.Require(t, zkproc.HaveZooKeeper(), "java and "+zkproc.ZooKeeperJar)
	cp := "/etc/zookeeper/conf:" + zkproc.ZooKeeperJar + ":" + zkproc.SLF4JSimple + ":" + servletAPIJar
	ports := map[int64]int{1: zkproc.FreePort(t), 2: zkproc.FreePort(t), 3: zkproc.FreePort(t)}
	member := func(id int64, kind zkproc.Kind) zkproc.MemberSpec {
		_, props := adminLines(ports[id])
		return zkproc.MemberSpec{ID: id, Kind: kind, Props: props}
	}
	e := zkproc.NewEnsemble(t, zkproc.EnsembleConfig{
		ZkdBin:  zkdBin,
		Members: []zkproc.MemberSpec{member(1, zkproc.KindZooKeeper), member(2, zkproc.KindZkd), member(3, zkproc.KindZooKeeper)},
		Lines:   []string{"admin.enableServer=true"},
		// A second -cp wins: the members' classpath plus the servlet API.
		JVMArgs: []string{"-cp", cp, "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"},
	})
	// The two ZooKeeper servers first, so that 3 (the higher id) leads;
	// then zkd joins as a follower.
	e.Member(1).Start()
	e.Member(3).Start()
	e.MustServe(60*time.Second, e.Member(1), e.Member(3))
	e.Member(2).Start()
	e.MustServe(60 * time.Second)
	if l := e.Leader(); l == nil || l.ID != 3 {
		t.Fatalf("server 3 should lead (%s)", e.Modes())
	}
	url := func(id int64, cmd string) string {
		return fmt.Sprintf("http://127.0.0.1:%d/commands/%s", ports[id], cmd)
	}
	compare := func(t *testing.T, cmds []string, zkID, zkdID int64, zkAnswers map[string]string) {
		for _, cmd := range cmds {
			t.Run(cmd, func(t *testing.T) {
				zkText := zkAnswers[cmd]
				if zkText == "" {
					zkText = httpGet(t, url(zkID, cmd))
				}
				want, wantDoc := jsonKeyPaths(t, zkText)
				got, gotDoc := jsonKeyPaths(t, httpGet(t, url(zkdID, cmd)))
				if gotDoc["error"] != nil || wantDoc["error"] != nil {
					t.Fatalf("errors: zkd %v, ZooKeeper %v", gotDoc["error"], wantDoc["error"])
				}
				if cmd == "monitor" {
					for _, k := range got {
						if !contains(want, k) && !monitorExtras[k] {
							t.Errorf("zkd reports %s, ZooKeeper does not", k)
						}
					}
					for _, k := range []string{"quorum_size", "peer_state"} {
						if !contains(got, k) {
							t.Errorf("zkd lacks %s", k)
						}
					}
					return
				}
				if strings.Join(got, " ") != strings.Join(want, " ") {
					t.Fatalf("keys differ\n  zkd: %v\n   zk: %v", got, want)
				}
			})
		}
	}
	cmds := []string{"leader", "voting_view", "server_stats", "monitor"}
	t.Run("followers", func(t *testing.T) { compare(t, cmds, 1, 2, nil) })

	var lead struct {
		IsLeader bool   `json:"is_leader"`
		LeaderID int64  `json:"leader_id"`
		LeaderIP string `json:"leader_ip"`
	}
	if err := json.Unmarshal([]byte(httpGet(t, url(2, "leader"))), &lead); err != nil {
		t.Fatal(err)
	}
	if lead.IsLeader || lead.LeaderID != 3 || lead.LeaderIP != "127.0.0.1" {
		t.Fatalf("zkd follower's leader: %+v", lead)
	}

	zkLeader := map[string]string{}
	for _, cmd := range cmds {
		zkLeader[cmd] = httpGet(t, url(3, cmd))
	}
	e.Member(3).Stop()
	if l, err := e.WaitLeader(60*time.Second, e.Member(3)); err != nil || l.ID != 2 {
		t.Fatalf("zkd did not take over: %v (%s)", err, e.Modes())
	}
	e.MustServe(60*time.Second, e.Member(1), e.Member(2))
	// Leader gauges appear once a quorum has synced.
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(httpGet(t, url(2, "monitor")), "synced_followers") && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	t.Run("leader", func(t *testing.T) { compare(t, cmds, 3, 2, zkLeader) })
}

// checkMetrics parses zkd's /metrics with Prometheus' own parser and
// checks names, types and values against what the test did.
func checkMetrics(t *testing.T, p *zkproc.Proc, port, writes int) {
	text := httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/metrics", port))
	var parser expfmt.TextParser
	fams, err := parser.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("/metrics does not parse: %v\n%s", err, text)
	}
	value := func(name string, typ dto.MetricType) float64 {
		t.Helper()
		f := fams[name]
		if f == nil || f.GetType() != typ || len(f.Metric) != 1 {
			t.Fatalf("%s: %v, want one %v", name, f, typ)
		}
		switch typ {
		case dto.MetricType_COUNTER:
			return f.Metric[0].GetCounter().GetValue()
		case dto.MetricType_SUMMARY:
			return float64(f.Metric[0].GetSummary().GetSampleCount())
		}
		return f.Metric[0].GetGauge().GetValue()
	}
	mntr, err := zkproc.FourLetter(p.Addr, "mntr")
	if err != nil {
		t.Fatal(err)
	}
	nodes := regexp.MustCompile(`zk_znode_count\t(\d+)`).FindStringSubmatch(mntr)
	tests := []struct {
		name   string
		typ    dto.MetricType
		ok     func(float64) bool
		expect string
	}{
		{"znode_count", dto.MetricType_GAUGE, func(v float64) bool { return fmt.Sprint(v) == nodes[1] }, "mntr's " + nodes[1]},
		{"global_sessions", dto.MetricType_GAUGE, func(v float64) bool { return v == 2 }, "2"},
		{"ephemerals_count", dto.MetricType_GAUGE, func(v float64) bool { return v == 2 }, "2"},
		{"num_alive_connections", dto.MetricType_GAUGE, func(v float64) bool { return v >= 2 }, ">= 2"},
		{"watch_count", dto.MetricType_GAUGE, func(v float64) bool { return v >= 3 }, ">= 3"},
		{"packets_received", dto.MetricType_GAUGE, func(v float64) bool { return v > float64(writes) }, "> writes"},
		{"packets_sent", dto.MetricType_GAUGE, func(v float64) bool { return v > float64(writes) }, "> writes"},
		{"approximate_data_size", dto.MetricType_GAUGE, func(v float64) bool { return v > 0 }, "> 0"},
		{"uptime", dto.MetricType_GAUGE, func(v float64) bool { return v > 0 }, "> 0"},
		{"outstanding_requests", dto.MetricType_GAUGE, func(v float64) bool { return v >= 0 }, ">= 0"},
		{"max_latency", dto.MetricType_GAUGE, func(v float64) bool { return v >= 0 }, ">= 0"},
		{"avg_latency", dto.MetricType_GAUGE, func(v float64) bool { return v >= 0 }, ">= 0"},
		{"open_file_descriptor_count", dto.MetricType_GAUGE, func(v float64) bool { return v > 0 }, "> 0"},
		{"digest_mismatches_count", dto.MetricType_COUNTER, func(v float64) bool { return v == 0 }, "0"},
		{"updatelatency", dto.MetricType_SUMMARY, func(v float64) bool { return v >= float64(writes) }, ">= writes"},
		{"readlatency", dto.MetricType_SUMMARY, func(v float64) bool { return v >= 0 }, "a summary"},
		{"process_resident_memory_bytes", dto.MetricType_GAUGE, func(v float64) bool { return v > 1<<20 }, "> 1 MiB"},
		{"process_cpu_seconds_total", dto.MetricType_COUNTER, func(v float64) bool { return v > 0 }, "> 0"},
	}
	for _, tt := range tests {
		if v := value(tt.name, tt.typ); !tt.ok(v) {
			t.Errorf("%s = %v, want %s", tt.name, v, tt.expect)
		}
	}
	q := fams["updatelatency"].Metric[0].GetSummary().GetQuantile()
	if len(q) != 3 || q[0].GetQuantile() != 0.5 || q[2].GetQuantile() != 0.99 || q[0].GetValue() > q[2].GetValue() {
		t.Errorf("updatelatency quantiles %v", q)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	c := http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	return string(b)
}

// mapLike are objects keyed by data (session ids, paths, expiry times,
// server ids), whose keys are compared as "*".
var mapLike = map[string]bool{
	"expiry_time_to_session_ids": true, "session_id_to_ephemeral_paths": true,
	"session_id_to_watched_paths": true, "path_to_session_ids": true, "current_config": true,
}

// jsonKeyPaths lists the key paths of a JSON answer, sorted: "a", "a.b",
// "a[].c" for objects in arrays, "a.*" under data-keyed objects.
func jsonKeyPaths(t *testing.T, text string) ([]string, map[string]any) {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal([]byte(text), &doc); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, text)
	}
	set := map[string]bool{}
	var walk func(prefix string, v any, keyed bool)
	walk = func(prefix string, v any, keyed bool) {
		switch x := v.(type) {
		case map[string]any:
			for k, c := range x {
				name := k
				if keyed {
					name = "*"
				}
				p := name
				if prefix != "" {
					p = prefix + "." + name
				}
				set[p] = true
				walk(p, c, mapLike[k])
			}
		case []any:
			for _, c := range x {
				walk(prefix+"[]", c, false)
			}
		}
	}
	walk("", doc, false)
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out, doc
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

package server

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"zkd/wire"
)

func TestReadAdminConfig(t *testing.T) {
	tests := []struct {
		name  string
		props map[string]string
		want  adminConfig
	}{
		{"ZooKeeper's defaults", nil, adminConfig{true, "0.0.0.0:8080", "/commands", 30 * time.Second}},
		{"only the exact string false disables", map[string]string{"zookeeper.admin.enableServer": "FALSE"},
			adminConfig{true, "0.0.0.0:8080", "/commands", 30 * time.Second}},
		{"disabled", map[string]string{"zookeeper.admin.enableServer": "false"},
			adminConfig{false, "0.0.0.0:8080", "/commands", 30 * time.Second}},
		{"address, port, URL, idle timeout", map[string]string{
			"zookeeper.admin.serverAddress": "127.0.0.1", "zookeeper.admin.serverPort": "9090",
			"zookeeper.admin.commandURL": "/zk/", "zookeeper.admin.idleTimeout": "1000"},
			adminConfig{true, "127.0.0.1:9090", "/zk", time.Second}},
		{"Integer.getInteger: hex, and junk means the default", map[string]string{
			"zookeeper.admin.serverPort": "0x1F90", "zookeeper.admin.idleTimeout": "soon"},
			adminConfig{true, "0.0.0.0:8080", "/commands", 30 * time.Second}},
		{"a URL without its slash", map[string]string{"zookeeper.admin.commandURL": "cmds"},
			adminConfig{true, "0.0.0.0:8080", "/cmds", 30 * time.Second}},
		{"IPv6 address", map[string]string{"zookeeper.admin.serverAddress": "::1", "zookeeper.admin.serverPort": "0"},
			adminConfig{true, "[::1]:0", "/commands", 30 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newConfig()
			for k, v := range tt.props {
				c.Props[k] = v
			}
			if got := readAdminConfig(c); got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestAdminKeysFromZooCfg(t *testing.T) {
	c, err := ParseConfig(strings.NewReader("dataDir=/tmp/x\nadmin.serverPort=9999\nadmin.enableServer=false\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	ac := readAdminConfig(c)
	if ac.enabled || ac.addr != "0.0.0.0:9999" {
		t.Fatalf("zoo.cfg admin.* keys not read as zookeeper.admin.* properties: %+v", ac)
	}
	for _, w := range c.Warnings {
		if strings.Contains(w, "admin.") {
			t.Fatalf("admin key warned about: %s", w)
		}
	}
	if readAdminConfig(DefaultConfig()).addr != "127.0.0.1:8080" {
		t.Fatal("the embedded default config should keep the AdminServer on loopback")
	}
}

func TestRoundedAvg(t *testing.T) {
	tests := []struct {
		tot, n int64
		want   float64
		java   string
	}{
		{0, 0, 0, "0.0"},
		{6, 6, 1, "1.0"},
		{25, 6, 4.1667, "4.1667"},
		{27, 10, 2.7, "2.7"},
		{1, 32, 0.0313, "0.0313"}, // 0.03125: BigDecimal HALF_UP, not half-even
		{2, 3, 0.6667, "0.6667"},
	}
	for _, tt := range tests {
		got := roundedAvg(tt.tot, tt.n)
		if got != tt.want || javaDouble(got) != tt.java {
			t.Errorf("roundedAvg(%d, %d) = %v (%s), want %v (%s)", tt.tot, tt.n, got, javaDouble(got), tt.want, tt.java)
		}
	}
}

// newTestServer is a standalone server that has not started, with its
// client port marked as serving when serving is set.
func newTestServer(t *testing.T, serving bool) *Server {
	t.Helper()
	cfg := DefaultConfig()
	cfg.DataDir, cfg.DataLogDir = t.TempDir(), t.TempDir()
	s, err := New(cfg, zerolog.Nop(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.serving.Store(serving)
	return s
}

// jsonKeys decodes an AdminServer answer and lists its keys.
func jsonKeys(t *testing.T, text string) (map[string]any, []string) {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(text), &m); err != nil {
		t.Fatalf("%v:\n%s", err, text)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return m, keys
}

// The keys ZooKeeper 3.8's standalone server answers with (curl against
// the Debian package's server).
func TestAdminCommandKeys(t *testing.T) {
	tests := []struct {
		cmd  string
		keys string
	}{
		{"ruok", "command error"},
		{"conf", "client_port client_port_listen_backlog command data_dir data_log_dir error max_client_cnxns max_session_timeout min_session_timeout server_id tick_time"},
		{"configuration", "client_port client_port_listen_backlog command data_dir data_log_dir error max_client_cnxns max_session_timeout min_session_timeout server_id tick_time"},
		{"cons", "command connections error secure_connections"},
		{"crst", "command error"},
		{"dirs", "command datadir_size error logdir_size"},
		{"dump", "command error expiry_time_to_session_ids session_id_to_ephemeral_paths"},
		{"envi", "command error host.name java.class.path java.compiler java.home java.io.tmpdir java.library.path java.vendor java.version os.arch os.memory.free os.memory.max os.memory.total os.name os.version user.dir user.home user.name zookeeper.version"},
		{"gtmk", "command error tracemask"},
		{"hash", "command digests error"},
		{"icfg", "command error initial_configuration"},
		{"isro", "command error read_only"},
		{"lead", "command error"},
		{"srvr", "client_response command error node_count read_only server_stats version"},
		{"srst", "command error"},
		{"stat", "client_response command connections error node_count read_only secure_connections server_stats version"},
		{"voting_view", "command current_config error"},
		{"wchs", "command error num_connections num_paths num_total_watches"},
		{"wchc", "command error session_id_to_watched_paths"},
		{"wchp", "command error path_to_session_ids"},
		{"bogus", "command error"},
	}
	s := newTestServer(t, true)
	for _, tt := range tests {
		t.Run(tt.cmd, func(t *testing.T) {
			_, keys := jsonKeys(t, encodeJSON(s.runAdminCommand(tt.cmd)))
			if got := strings.Join(keys, " "); got != tt.keys {
				t.Fatalf("keys\n got %s\nwant %s", got, tt.keys)
			}
		})
	}
}

func TestAdminServerStatsShape(t *testing.T) {
	s := newTestServer(t, true)
	s.stats.record(1, 3, true)
	s.stats.record(1, 1, false)
	m, _ := jsonKeys(t, encodeJSON(s.runAdminCommand("server_stats")))
	st := m["server_stats"].(map[string]any)
	var keys []string
	for k := range st {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	want := "auth_failed_count avg_latency client_response_stats data_dir_size fsync_threshold_exceed_count last_processed_zxid log_dir_size max_latency min_latency non_mtlslocal_conn_count non_mtlsremote_conn_count num_alive_client_connections outstanding_requests packets_received packets_sent provider_null server_state uptime"
	if got := strings.Join(keys, " "); got != want {
		t.Fatalf("server_stats keys\n got %s\nwant %s", got, want)
	}
	if st["avg_latency"] != 2.0 || st["max_latency"] != 3.0 || st["min_latency"] != 1.0 || st["server_state"] != "standalone" {
		t.Fatalf("server_stats values: %v", st)
	}
	if m["node_count"] != float64(s.nodeCount()) {
		t.Fatalf("node_count %v, want %d", m["node_count"], s.nodeCount())
	}
}

func TestAdminErrors(t *testing.T) {
	tests := []struct {
		name    string
		serving bool
		cmd     string
		want    string
	}{
		{"unknown", true, "monitor/x",
			"{\n  \"command\" : \"monitor/x\",\n  \"error\" : \"Unknown command: monitor/x\"\n}"},
		// The name asked for, not the primary one, as Commands.runCommand answers.
		{"not serving", false, "srvr",
			"{\n  \"command\" : \"srvr\",\n  \"error\" : \"This ZooKeeper instance is not currently serving requests\"\n}"},
		// A command's own error comes first, as CommandResponse.toMap keeps it.
		{"leader of a standalone server", true, "lead",
			"{\n  \"error\" : \"server is not initialized\",\n  \"command\" : \"leader\"\n}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestServer(t, tt.serving)
			if got := encodeJSON(s.runAdminCommand(tt.cmd)); got != tt.want {
				t.Fatalf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
	// Not needing a serving server: environment, monitor, get_trace_mask.
	s := newTestServer(t, false)
	for _, cmd := range []string{"envi", "mntr", "gtmk"} {
		if m, _ := jsonKeys(t, encodeJSON(s.runAdminCommand(cmd))); m["error"] != nil {
			t.Errorf("%s while not serving: %v", cmd, m["error"])
		}
	}
}

// The monitor command and mntr are the same values under the same names.
func TestAdminMonitorIsMntr(t *testing.T) {
	s := newTestServer(t, true)
	var b strings.Builder
	s.fourLetterWord(&b, "mntr")
	m, _ := jsonKeys(t, encodeJSON(s.runAdminCommand("monitor")))
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != len(m)-2 {
		t.Fatalf("mntr has %d values, monitor %d", len(lines), len(m)-2)
	}
	for _, l := range lines {
		k, _, _ := strings.Cut(l, "\t")
		if _, ok := m[strings.TrimPrefix(k, "zk_")]; !ok {
			t.Errorf("monitor lacks %s", k)
		}
	}
	if m["avg_latency"] != 0.0 || m["server_state"] != "standalone" {
		t.Fatalf("monitor values: %v", m)
	}
}

func TestAdminHTTP(t *testing.T) {
	s := newTestServer(t, true)
	a := &adminServer{s: s, url: "/commands"}
	srv := httptest.NewServer(a)
	defer srv.Close()
	tests := []struct {
		method, path string
		code         int
		ctype, body  string // body: a substring
	}{
		{"GET", "/commands", 200, "text/html", `<a href="/commands/monitor">monitor</a>` + "\n<br/>\n"},
		{"GET", "/commands/", 200, "text/html", `<a href="/commands/ruok">ruok</a>`},
		{"GET", "/commands/ruok", 200, "application/json", "\"command\" : \"ruok\""},
		{"GET", "/commands/mntr?x=1", 200, "application/json", "\"command\" : \"monitor\""},
		{"GET", "/commands/nope", 200, "application/json", "Unknown command: nope"},
		{"HEAD", "/commands/ruok", 200, "application/json", ""},
		{"POST", "/commands/ruok", 405, "", ""},
		{"GET", "/other", 404, "", ""},
		{"GET", "/commandsx", 404, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, srv.URL+tt.path, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.code {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.code)
			}
			if !strings.HasPrefix(resp.Header.Get("Content-Type"), tt.ctype) {
				t.Fatalf("content type %q, want %q", resp.Header.Get("Content-Type"), tt.ctype)
			}
			if !strings.Contains(string(body), tt.body) {
				t.Fatalf("body lacks %q:\n%s", tt.body, body)
			}
		})
	}
}

// Every command answers on its primary name and its aliases, and the
// listing shows the primary names only.
func TestAdminNames(t *testing.T) {
	s := newTestServer(t, true)
	for _, c := range adminCommands {
		for _, n := range c.names {
			m, _ := jsonKeys(t, encodeJSON(s.runAdminCommand(n)))
			if m["command"] != c.names[0] {
				t.Errorf("%s answers as %v, want %s", n, m["command"], c.names[0])
			}
		}
	}
	names := adminPrimaryNames()
	if !sort.StringsAreSorted(names) || len(names) != len(adminCommands) {
		t.Fatalf("listing %v", names)
	}
}

func TestAdminServerStartStop(t *testing.T) {
	s := newTestServer(t, true)
	s.cfg.Props["zookeeper.admin.serverPort"] = "0"
	a := s.startAdmin()
	if a == nil {
		t.Fatal("AdminServer did not start")
	}
	a.stop(t.Context())

	// A taken port is logged, not fatal.
	ln := httptest.NewServer(http.NotFoundHandler())
	defer ln.Close()
	s.cfg.Props["zookeeper.admin.serverPort"] = ln.Listener.Addr().String()[strings.LastIndex(ln.Listener.Addr().String(), ":")+1:]
	if a := s.startAdmin(); a != nil {
		a.stop(t.Context())
		t.Fatal("started on a taken port")
	}
	s.cfg.Props["zookeeper.admin.enableServer"] = "false"
	if s.startAdmin() != nil {
		t.Fatal("started while disabled")
	}
}

func TestConnInfoFeedsConsAndJSON(t *testing.T) {
	c := &Conn{remote: "127.0.0.1:4242", opened: time.UnixMilli(1700000000000)}
	c.stats.lastCxid = -1
	c.stats.received.Store(3)
	var b strings.Builder
	c.dumpInfo(&b, false)
	if got := b.String(); got != " /127.0.0.1:4242[1](queued=0,recved=3,sent=0)" {
		t.Fatalf("cons line %q", got)
	}
	c.sessionID.Store(0x100)
	c.stats.lastCxid = 5
	c.stats.lastOp = wire.OpGetData
	c.stats.totLat = 7
	c.stats.countLat = 2
	b.Reset()
	c.dumpInfo(&b, false)
	want := " /127.0.0.1:4242[1](queued=0,recved=3,sent=0,sid=0x100,lop=GETD,est=1700000000000,to=0,lcxid=0x5,lzxid=0x0,lresp=0,llat=0,minlat=0,avglat=3,maxlat=0)"
	if got := b.String(); got != want {
		t.Fatalf("cons line\n got %q\nwant %q", got, want)
	}
	if i := c.info(); i.avgLat != 3 || i.lastOp != "GETD" || i.sessionID != 0x100 {
		t.Fatalf("info %+v", i)
	}
}

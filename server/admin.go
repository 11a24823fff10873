package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"zkd/quorum"
)

// adminConfig is the AdminServer's configuration, read as JettyAdminServer
// reads it: system properties zookeeper.admin.*, which zoo.cfg's admin.*
// keys become.
type adminConfig struct {
	enabled bool
	addr    string // serverAddress:serverPort
	url     string // commandURL
	idle    time.Duration
}

func readAdminConfig(cfg *Config) adminConfig {
	prop := func(k, def string) string {
		if v, ok := cfg.Prop("zookeeper.admin." + k); ok {
			return v
		}
		return def
	}
	// Integer.getInteger: decimal, 0x or octal; anything else is the default.
	num := func(k string, def int64) int64 {
		n, err := strconv.ParseInt(prop(k, ""), 0, 32)
		if err != nil {
			return def
		}
		return n
	}
	url := prop("commandURL", "/commands")
	if !strings.HasPrefix(url, "/") {
		url = "/" + url
	}
	return adminConfig{
		// AdminServerFactory: only the exact string "false" turns it off.
		enabled: prop("enableServer", "true") != "false",
		addr:    net.JoinHostPort(prop("serverAddress", "0.0.0.0"), strconv.FormatInt(num("serverPort", 8080), 10)),
		url:     strings.TrimSuffix(url, "/"),
		idle:    time.Duration(num("idleTimeout", 30000)) * time.Millisecond,
	}
}

// adminServer is ZooKeeper's AdminServer: GET <commandURL> lists the
// commands, GET <commandURL>/<name> runs one and answers JSON.
type adminServer struct {
	s    *Server
	url  string
	http *http.Server
}

// startAdmin starts the AdminServer unless it is disabled. A port that
// cannot be bound is logged and the server runs without it (ZooKeeper's
// quorum peers do the same; its standalone server exits): the client
// port matters more, and several servers on one host must not fight over
// the default 8080.
func (s *Server) startAdmin() *adminServer {
	ac := readAdminConfig(s.cfg)
	if !ac.enabled {
		return nil
	}
	ln, err := net.Listen("tcp", ac.addr)
	if err != nil {
		s.log.Warn().Err(err).Str("addr", ac.addr).Str("commandURL", ac.url).
			Msg("cannot start the AdminServer; running without it (admin.enableServer=false turns it off)")
		return nil
	}
	a := &adminServer{s: s, url: ac.url}
	a.http = &http.Server{
		Handler:           a,
		ReadHeaderTimeout: ac.idle,
		IdleTimeout:       ac.idle,
	}
	go func() {
		if err := a.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error().Err(err).Str("addr", ac.addr).Msg("AdminServer stopped")
		}
	}()
	s.log.Info().Str("addr", ln.Addr().String()).Str("commandURL", ac.url).Msg("AdminServer started")
	return a
}

func (a *adminServer) stop(ctx context.Context) {
	if a == nil {
		return
	}
	_ = a.http.Shutdown(ctx)
}

func (a *adminServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	var name string
	switch {
	case p == a.url || p == a.url+"/":
	case strings.HasPrefix(p, a.url+"/"):
		name = p[len(a.url)+1:]
	default:
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "HTTP method "+r.Method+" is not supported by this URL", http.StatusMethodNotAllowed)
		return
	}
	if name == "" {
		// The servlet's plain list of links to every command.
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		for _, c := range adminPrimaryNames() {
			fmt.Fprintf(w, "<a href=\"%s\">%s</a>\n<br/>\n", a.url+"/"+c, c)
		}
		return
	}
	a.s.log.Debug().Str("command", name).Str("client", r.RemoteAddr).Msg("AdminServer command")
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(encodeJSON(a.s.runAdminCommand(name))))
}

// adminCommand is one AdminServer command: its primary name (what the
// response's "command" says), its aliases, whether it needs a serving
// server, and what it puts in the response.
type adminCommand struct {
	names          []string
	serverRequired bool
	run            func(s *Server) jsonObject
}

// adminCommands are ZooKeeper 3.8's commands that zkd has the data for.
var adminCommands = []adminCommand{
	{[]string{"configuration", "conf", "config"}, true, (*Server).adminConf},
	{[]string{"connection_stat_reset", "crst"}, true, func(s *Server) jsonObject {
		for _, c := range s.connections() {
			c.resetStats()
		}
		return nil
	}},
	{[]string{"connections", "cons"}, true, func(s *Server) jsonObject {
		return jsonObject{{"connections", s.adminConnections(false)}, {"secure_connections", []any{}}}
	}},
	{[]string{"dirs"}, true, func(s *Server) jsonObject {
		return jsonObject{{"datadir_size", dirSize(s.cfg.DataDir)}, {"logdir_size", dirSize(s.cfg.DataLogDir)}}
	}},
	{[]string{"dump"}, true, (*Server).adminDump},
	{[]string{"environment", "env", "envi"}, false, func(*Server) jsonObject {
		var o jsonObject
		for _, e := range envValues() {
			o.put(e[0], e[1])
		}
		return o
	}},
	{[]string{"get_trace_mask", "gtmk"}, false, func(*Server) jsonObject {
		return jsonObject{{"tracemask", int64(306)}} // as gtmk: ZooTrace's default mask
	}},
	{[]string{"hash"}, true, func(s *Server) jsonObject {
		digests := []any{}
		if zxid, d, ok := s.digest(); ok {
			digests = append(digests, jsonObject{{"zxid", zxid}, {"digest", d}, {"digest_version", 2}})
		}
		return jsonObject{{"digests", digests}}
	}},
	{[]string{"initial_configuration", "icfg"}, true, func(s *Server) jsonObject {
		text := ""
		if s.cfg.Path != "" {
			if b, err := os.ReadFile(s.cfg.Path); err == nil {
				text = string(b)
			}
		}
		return jsonObject{{"initial_configuration", text}}
	}},
	{[]string{"is_read_only", "isro"}, true, func(s *Server) jsonObject {
		return jsonObject{{"read_only", s.readOnly()}}
	}},
	{[]string{"leader", "lead"}, true, (*Server).adminLeader},
	{[]string{"monitor", "mntr"}, false, func(s *Server) jsonObject {
		var o jsonObject
		for _, m := range s.monitorValues() {
			o.put(m.k, m.v)
		}
		return o
	}},
	{[]string{"ruok"}, true, func(*Server) jsonObject { return nil }},
	{[]string{"server_stats", "srvr"}, true, func(s *Server) jsonObject { return s.adminServerStats() }},
	{[]string{"stat_reset", "srst"}, true, func(s *Server) jsonObject {
		s.stats.reset()
		return nil
	}},
	{[]string{"stats", "stat"}, true, func(s *Server) jsonObject {
		o := s.adminServerStats()
		o.put("connections", s.adminConnections(true))
		o.put("secure_connections", []any{})
		return o
	}},
	{[]string{"voting_view"}, true, (*Server).adminVotingView},
	{[]string{"watch_summary", "wchs"}, true, func(s *Server) jsonObject {
		conns, paths, total := s.watchSummary()
		return jsonObject{{"num_connections", conns}, {"num_paths", paths}, {"num_total_watches", total}}
	}},
	{[]string{"watches", "wchc"}, true, func(s *Server) jsonObject {
		byConn := map[int64][]string{}
		for c, paths := range s.watches.Data.ByConn() {
			byConn[c.SessionID()] = append(byConn[c.SessionID()], paths...)
		}
		var o jsonObject
		for _, id := range sortedIDs(byConn) {
			sort.Strings(byConn[id])
			o.put(strconv.FormatInt(id, 10), byConn[id])
		}
		return jsonObject{{"session_id_to_watched_paths", o}}
	}},
	{[]string{"watches_by_path", "wchp"}, true, func(s *Server) jsonObject {
		byPath := s.watches.Data.ByPath()
		var o jsonObject
		for _, p := range sortedKeys(byPath) {
			ids := append([]int64(nil), byPath[p]...)
			sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
			o.put(p, ids)
		}
		return jsonObject{{"path_to_session_ids", o}}
	}},
}

var adminByName = func() map[string]*adminCommand {
	m := map[string]*adminCommand{}
	for i := range adminCommands {
		for _, n := range adminCommands[i].names {
			m[n] = &adminCommands[i]
		}
	}
	return m
}()

func adminPrimaryNames() []string {
	out := make([]string, 0, len(adminCommands))
	for _, c := range adminCommands {
		out = append(out, c.names[0])
	}
	sort.Strings(out)
	return out
}

// runAdminCommand is Commands.runCommand: the response's fields, then
// "command" and "error" (an error a command puts first stays first, as
// CommandResponse.toMap leaves it).
func (s *Server) runAdminCommand(name string) jsonObject {
	c := adminByName[name]
	switch {
	case c == nil:
		return jsonObject{{"command", name}, {"error", "Unknown command: " + name}}
	case c.serverRequired && (!s.serving.Load() || !s.acceptingClients()):
		return jsonObject{{"command", name}, {"error", "This ZooKeeper instance is not currently serving requests"}}
	}
	out := c.run(s)
	for _, f := range out {
		if f.k == "error" {
			return append(out, jsonField{"command", c.names[0]})
		}
	}
	return append(out, jsonField{"command", c.names[0]}, jsonField{"error", nil})
}

// adminConf is ZooKeeperServerConf.toMap.
func (s *Server) adminConf() jsonObject {
	port := int64(s.cfg.ClientPort)
	if _, p, err := net.SplitHostPort(s.cfg.ClientAddr()); err == nil {
		port, _ = strconv.ParseInt(p, 10, 64)
	}
	return jsonObject{
		{"client_port", port},
		{"data_dir", versionDir(s.cfg.DataDir)},
		{"data_log_dir", versionDir(s.cfg.DataLogDir)},
		{"tick_time", s.cfg.TickTime},
		{"max_client_cnxns", s.cfg.MaxClientCnxns},
		{"min_session_timeout", s.cfg.MinTimeout()},
		{"max_session_timeout", s.cfg.MaxTimeout()},
		{"server_id", s.cfg.ServerID},
		{"client_port_listen_backlog", -1},
	}
}

// adminConnections is ServerCnxn.getConnectionInfo for each connection.
func (s *Server) adminConnections(brief bool) []any {
	out := []any{}
	for _, c := range s.connections() {
		i := c.info()
		o := jsonObject{
			{"remote_socket_address", i.remote},
			{"interest_ops", 1}, // always reading: gnet has no write interest to report
			{"outstanding_requests", i.outstanding},
			{"packets_received", i.received},
			{"packets_sent", i.sent},
		}
		if !brief {
			o = append(o, jsonObject{
				{"session_id", i.sessionID},
				{"last_operation", i.lastOp},
				{"established", i.established},
				{"session_timeout", i.timeout},
				{"last_cxid", i.lastCxid},
				{"last_zxid", i.lastZxid},
				{"last_response_time", i.lastResp},
				{"last_latency", i.lastLat},
				{"min_latency", i.minLat},
				{"avg_latency", i.avgLat},
				{"max_latency", i.maxLat},
			}...)
		}
		out = append(out, o)
	}
	return out
}

// adminServerStats is the srvr command: ServerStats as Jackson writes it.
// zkd measures no response sizes, so those stay at ZooKeeper's "none
// yet" -1.
func (s *Server) adminServerStats() jsonObject {
	v := s.statsView()
	noSizes := func() jsonObject {
		return jsonObject{{"last_buffer_size", -1}, {"min_buffer_size", -1}, {"max_buffer_size", -1}}
	}
	var slowSyncs int64
	if s.store != nil {
		slowSyncs = s.store.Log().Stats().FsyncThresholdExceeded
	}
	o := jsonObject{
		{"version", Version + ", built on " + BuildDate},
		{"read_only", s.readOnly()},
		{"server_stats", jsonObject{
			{"packets_sent", v.sent},
			{"packets_received", v.received},
			{"fsync_threshold_exceed_count", slowSyncs},
			{"client_response_stats", noSizes()},
			{"data_dir_size", dirSize(s.cfg.DataDir)},
			{"log_dir_size", dirSize(s.cfg.DataLogDir)},
			{"provider_null", false},
			{"server_state", v.mode},
			{"last_processed_zxid", v.zxid},
			{"outstanding_requests", v.outstanding},
			{"avg_latency", v.avgLat},
			{"max_latency", v.maxLat},
			{"min_latency", v.minLat},
			{"num_alive_client_connections", v.connections},
			{"uptime", s.uptime()},
			{"auth_failed_count", 0},
			{"non_mtlsremote_conn_count", 0},
			{"non_mtlslocal_conn_count", 0},
		}},
		{"client_response", noSizes()},
	}
	if q := s.qd; q != nil {
		if g := q.gauges.Load(); g != nil && g.leading {
			o.put("proposal_stats", jsonObject{
				{"last_buffer_size", q.propLast.Load()},
				{"min_buffer_size", q.propMin.Load()},
				{"max_buffer_size", q.propMax.Load()},
			})
		}
	}
	o.put("node_count", s.nodeCount())
	return o
}

// adminDump is the dump command: session ids by expiry time (unix ms)
// and each session's ephemerals, keyed by decimal session id.
func (s *Server) adminDump() jsonObject {
	v := s.sessionsView()
	var exp, eph jsonObject
	for _, b := range v.buckets {
		exp.put(strconv.FormatInt(b.at.UnixMilli(), 10), b.ids)
	}
	for _, e := range v.ephemerals {
		eph.put(strconv.FormatInt(e.id, 10), e.paths)
	}
	return jsonObject{{"expiry_time_to_session_ids", exp}, {"session_id_to_ephemeral_paths", eph}}
}

// adminLeader is the leader command; a standalone server has no quorum
// peer and answers ZooKeeper's error.
func (s *Server) adminLeader() jsonObject {
	q := s.qd
	if q == nil {
		return jsonObject{{"error", "server is not initialized"}}
	}
	id := int64(-1)
	if g := q.gauges.Load(); g != nil {
		id = g.leaderID
	}
	ip := ""
	if m, ok := q.v.Members[id]; ok {
		ip = m.Host
	}
	return jsonObject{{"is_leader", s.role.Load() == roleLeader}, {"leader_id", id}, {"leader_ip", ip}}
}

// adminVotingView is the voting members of the configuration; a server
// knows its own client address, the others' only from ";clientPort".
func (s *Server) adminVotingView() jsonObject {
	view := jsonObject{}
	if q := s.qd; q != nil {
		ids := make([]int64, 0, len(q.v.Members))
		for id, m := range q.v.Members {
			if !m.Observer {
				ids = append(ids, id)
			}
		}
		sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
		for _, id := range ids {
			view.put(strconv.FormatInt(id, 10), s.serverView(q.v.Members[id]))
		}
	}
	return jsonObject{{"current_config", view}}
}

func (s *Server) serverView(m quorum.Member) jsonObject {
	client := ""
	switch {
	case m.ID == s.cfg.ServerID:
		client = s.cfg.ClientAddr()
	case m.ClientPort != 0:
		h := m.ClientHost
		if h == "" {
			h = "0.0.0.0"
		}
		client = net.JoinHostPort(h, strconv.Itoa(m.ClientPort))
	}
	typ := "participant"
	if m.Observer {
		typ = "observer"
	}
	return jsonObject{
		{"server_addresses", []string{m.QuorumAddr()}},
		{"election_addresses", []string{m.ElectionAddr()}},
		{"client_address", client},
		{"learner_type", typ},
	}
}

func sortedIDs[V any](m map[int64]V) []int64 {
	out := make([]int64, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

package server

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"zkd/wire"
)

// parseWhitelist reads 4lw.commands.whitelist: by default only srvr (and
// isro in read-only mode); "*" allows all.
func parseWhitelist(cfg *Config) map[string]bool {
	w := map[string]bool{}
	v, ok := cfg.Prop("zookeeper.4lw.commands.whitelist")
	if !ok {
		w["srvr"] = true
		if cfg.PropBool("readonlymode.enabled", false) {
			w["isro"] = true
		}
		return w
	}
	for _, c := range strings.Split(v, ",") {
		c = strings.TrimSpace(c)
		if c == "*" {
			for _, k := range wire.FourLetterWords() {
				w[k] = true
			}
			continue
		}
		if c != "" {
			w[c] = true
		}
	}
	return w
}

// runFourLetterWord answers a four-letter word and leaves the connection
// to close once the answer is written.
func (c *Conn) runFourLetterWord(cmd string) {
	s := c.srv
	s.log.Info().Str("client", c.remote).Str("command", cmd).Msg("processing four-letter word")
	var b strings.Builder
	if !s.whitelist[cmd] {
		fmt.Fprintf(&b, "%s is not executed because it is not in the whitelist.\n", cmd)
	} else {
		s.fourLetterWord(&b, cmd)
	}
	c.mu.Lock()
	c.out = append(c.out, b.String()...)
	c.closeSoon = true
	c.mu.Unlock()
}

// opName is the short name ZooKeeper keeps as a connection's last op.
func opName(op wire.OpCode) string {
	switch op {
	case wire.OpPing:
		return "PING"
	case wire.OpCreateSession:
		return "SESS"
	case wire.OpMulti:
		return "MULT"
	case wire.OpMultiRead:
		return "MLTR"
	case wire.OpCreate, wire.OpCreate2, wire.OpCreateTTL, wire.OpCreateContainer:
		return "CREA"
	case wire.OpDelete, wire.OpDeleteContainer:
		return "DELE"
	case wire.OpSetData:
		return "SETD"
	case wire.OpReconfig:
		return "RECO"
	case wire.OpSetACL:
		return "SETA"
	case wire.OpCloseSession:
		return "CLOS"
	case wire.OpSync:
		return "SYNC"
	case wire.OpCheck:
		return "CHEC"
	case wire.OpExists:
		return "EXIS"
	case wire.OpGetData:
		return "GETD"
	case wire.OpSetWatches, wire.OpSetWatches2:
		return "SETW"
	case wire.OpGetACL:
		return "GETA"
	case wire.OpGetChildren, wire.OpGetChildren2:
		return "GETC"
	case wire.OpGetAllChildrenNumber:
		return "GETACN"
	case wire.OpCheckWatches:
		return "CHKW"
	case wire.OpRemoveWatches:
		return "REMW"
	case wire.OpGetEphemerals:
		return "GETE"
	case wire.OpAddWatch:
		return "ADDW"
	case wire.OpWhoAmI:
		return "HOMI"
	}
	return "NA"
}

func (s *Server) mode() string {
	switch s.role.Load() {
	case roleLeader:
		return "leader"
	case roleLearner:
		if s.cfg.PeerType == "observer" || s.isObserver() {
			return "observer"
		}
		return "follower"
	case roleLooking:
		if s.readOnly() {
			return "read-only"
		}
		return "looking"
	}
	return "standalone"
}

func (s *Server) isObserver() bool {
	for _, m := range s.cfg.Servers {
		if m.ID == s.cfg.ServerID {
			return m.Observer
		}
	}
	return false
}

func (s *Server) fourLetterWord(b *strings.Builder, cmd string) {
	switch cmd {
	case "ruok", "isro", "envi", "gtmk", "stmk", "crst", "srst":
	default:
		if !s.serving.Load() || !s.acceptingClients() {
			b.WriteString("This ZooKeeper instance is not currently serving requests\n")
			return
		}
	}
	switch cmd {
	case "ruok":
		b.WriteString("imok")
	case "isro":
		switch {
		case !s.serving.Load() || !s.acceptingClients():
			b.WriteString("null")
		case s.readOnly():
			b.WriteString("ro")
		default:
			b.WriteString("rw")
		}
	case "srvr", "stat":
		fmt.Fprintf(b, "Zookeeper version: %s, built on %s\n", Version, BuildDate)
		if cmd == "stat" {
			b.WriteString("Clients:\n")
			for _, c := range s.connections() {
				c.dumpInfo(b, true)
				b.WriteString("\n")
			}
			b.WriteString("\n")
		}
		s.writeServerStats(b)
		fmt.Fprintf(b, "Node count: %d\n", s.nodeCount())
	case "cons":
		for _, c := range s.connections() {
			c.dumpInfo(b, false)
			b.WriteString("\n")
		}
		b.WriteString("\n")
	case "crst":
		for _, c := range s.connections() {
			c.resetStats()
		}
		b.WriteString("Connection stats reset.\n")
	case "srst":
		s.stats.reset()
		b.WriteString("Server stats reset.\n")
	case "conf":
		s.dumpConf(b)
	case "envi":
		s.dumpEnv(b)
	case "mntr":
		s.dumpMonitor(b)
	case "dirs":
		fmt.Fprintf(b, "datadir_size: %d\n", dirSize(s.cfg.DataDir))
		fmt.Fprintf(b, "logdir_size: %d\n", dirSize(s.cfg.DataLogDir))
	case "wchs":
		conns, paths, total := s.watchSummary()
		fmt.Fprintf(b, "%d connections watching %d paths\nTotal watches:%d\n", conns, paths, total)
	case "wchp":
		byPath := s.watches.Data.ByPath()
		for _, p := range sortedKeys(byPath) {
			b.WriteString(p + "\n")
			for _, id := range byPath[p] {
				b.WriteString("\t" + hexID(id) + "\n")
			}
		}
		b.WriteString("\n")
	case "wchc":
		for c, paths := range s.watches.Data.ByConn() {
			b.WriteString(hexID(c.SessionID()) + "\n")
			sort.Strings(paths)
			for _, p := range paths {
				b.WriteString("\t" + p + "\n")
			}
		}
		b.WriteString("\n")
	case "dump":
		s.dumpSessions(b)
	case "gtmk":
		b.WriteString("306")
	case "stmk":
		b.WriteString("306")
	case "hash":
		s.dumpDigests(b)
	}
}

// nodeCount is ZooKeeper's node count, which counts the root twice (it
// is in the node map as both "" and "/").
func (s *Server) nodeCount() int {
	s.treeMu.RLock()
	defer s.treeMu.RUnlock()
	return s.tree.NodeCount() + 1
}

// statsView is ServerStats: what srvr and stat print and the
// AdminServer's server_stats returns, read once from the same counters.
type statsView struct {
	minLat, maxLat              int64
	avgLat                      float64
	received, sent, connections int64
	outstanding                 int64
	zxid                        int64
	mode                        string
}

func (s *Server) statsView() statsView {
	return statsView{
		minLat: s.stats.minLatency(), maxLat: s.stats.maxLatency(), avgLat: s.stats.avgLatency(),
		received: s.stats.received(), sent: s.stats.sent(),
		connections: s.stats.connections.Load(), outstanding: s.outstanding(),
		zxid: s.lastProcessedZxid(), mode: s.mode(),
	}
}

func (s *Server) writeServerStats(b *strings.Builder) {
	v := s.statsView()
	fmt.Fprintf(b, "Latency min/avg/max: %d/%s/%d\n", v.minLat, javaDouble(v.avgLat), v.maxLat)
	fmt.Fprintf(b, "Received: %d\n", v.received)
	fmt.Fprintf(b, "Sent: %d\n", v.sent)
	fmt.Fprintf(b, "Connections: %d\n", v.connections)
	fmt.Fprintf(b, "Outstanding: %d\n", v.outstanding)
	fmt.Fprintf(b, "Zxid: 0x%x\n", uint64(v.zxid))
	fmt.Fprintf(b, "Mode: %s\n", v.mode)
}

// outstanding counts requests received and not yet answered.
func (s *Server) outstanding() int64 {
	var n int64
	for _, c := range s.connections() {
		c.mu.Lock()
		n += c.stats.outstanding
		c.mu.Unlock()
	}
	return n
}

func (s *Server) connections() []*Conn {
	var out []*Conn
	if s.front == nil {
		return nil
	}
	s.front.conns.Range(func(k, _ any) bool {
		out = append(out, k.(*Conn))
		return true
	})
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

// connInfo is ServerCnxn's connection info: what cons and stat print
// and the AdminServer's connections returns.
type connInfo struct {
	remote                      string
	outstanding, received, sent int64
	sessionID                   int64 // 0 before the handshake
	lastOp                      string
	established                 int64 // unix ms
	timeout                     int64
	lastCxid                    int32 // -1: none yet
	lastZxid                    int64
	lastResp                    int64 // unix ms
	lastLat, minLat, maxLat     int64
	avgLat                      int64 // integer division, as ServerCnxn's
}

func (c *Conn) info() connInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := &c.stats
	i := connInfo{
		remote: c.remote, outstanding: st.outstanding, received: st.received.Load(), sent: st.sent,
		sessionID: c.SessionID(), lastOp: "NA", established: c.opened.UnixMilli(), timeout: int64(c.timeout.Load()),
		lastCxid: st.lastCxid, lastZxid: st.lastZxid, lastResp: st.lastResp,
		lastLat: st.lastLat, minLat: st.minLat, maxLat: st.maxLat,
	}
	if st.lastOp != 0 {
		i.lastOp = opName(st.lastOp)
	}
	if st.countLat > 0 {
		i.avgLat = st.totLat / st.countLat
	}
	return i
}

// dumpInfo is ServerCnxn.dumpConnectionInfo.
func (c *Conn) dumpInfo(b *strings.Builder, brief bool) {
	i := c.info()
	fmt.Fprintf(b, " /%s[1](queued=%d,recved=%d,sent=%d", i.remote, i.outstanding, i.received, i.sent)
	if !brief && i.sessionID != 0 {
		fmt.Fprintf(b, ",sid=%s,lop=%s,est=%d,to=%d", hexID(i.sessionID), i.lastOp, i.established, i.timeout)
		if i.lastCxid >= 0 {
			fmt.Fprintf(b, ",lcxid=0x%x", uint32(i.lastCxid))
		}
		fmt.Fprintf(b, ",lzxid=0x%x,lresp=%d,llat=%d,minlat=%d,avglat=%d,maxlat=%d",
			uint64(i.lastZxid), i.lastResp, i.lastLat, i.minLat, i.avgLat, i.maxLat)
	}
	b.WriteString(")")
}

func (c *Conn) resetStats() {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := &c.stats
	st.received.Store(0)
	st.sent, st.lastLat, st.minLat, st.maxLat, st.totLat, st.countLat = 0, 0, 0, 0, 0, 0
	st.lastZxid, st.lastCxid, st.lastResp = -1, -1, 0
}

// versionDir is the absolute version-2 directory conf reports.
func versionDir(p string) string {
	a, err := filepath.Abs(filepath.Join(p, "version-2"))
	if err != nil {
		return p
	}
	return a
}

func (s *Server) dumpConf(b *strings.Builder) {
	abs := versionDir
	fmt.Fprintf(b, "clientPort=%d\n", s.cfg.ClientPort)
	fmt.Fprintf(b, "secureClientPort=-1\n")
	fmt.Fprintf(b, "dataDir=%s\n", abs(s.cfg.DataDir))
	fmt.Fprintf(b, "dataDirSize=%d\n", dirSize(s.cfg.DataDir))
	fmt.Fprintf(b, "dataLogDir=%s\n", abs(s.cfg.DataLogDir))
	fmt.Fprintf(b, "dataLogSize=%d\n", dirSize(s.cfg.DataLogDir))
	fmt.Fprintf(b, "tickTime=%d\n", s.cfg.TickTime)
	fmt.Fprintf(b, "maxClientCnxns=%d\n", s.cfg.MaxClientCnxns)
	fmt.Fprintf(b, "minSessionTimeout=%d\n", s.cfg.MinTimeout())
	fmt.Fprintf(b, "maxSessionTimeout=%d\n", s.cfg.MaxTimeout())
	fmt.Fprintf(b, "clientPortListenBacklog=-1\n")
	fmt.Fprintf(b, "serverId=%d\n", s.cfg.ServerID)
}

func (s *Server) dumpEnv(b *strings.Builder) {
	b.WriteString("Environment:\n")
	for _, e := range envValues() {
		b.WriteString(e[0] + "=" + e[1] + "\n")
	}
}

// envValues is ZooKeeper's Environment.list with Go's equivalents of the
// JVM's entries, for envi and the AdminServer's environment.
func envValues() [][2]string {
	host, _ := os.Hostname()
	wd, _ := os.Getwd()
	home, _ := os.UserHomeDir()
	user := os.Getenv("USER")
	exe, _ := os.Executable()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return [][2]string{
		{"zookeeper.version", Version + ", built on " + BuildDate},
		{"host.name", host},
		{"java.version", runtime.Version()},
		{"java.vendor", "zkd (Go)"},
		{"java.home", runtime.GOROOT()},
		{"java.class.path", exe},
		{"java.library.path", ""},
		{"java.io.tmpdir", os.TempDir()},
		{"java.compiler", "<NA>"},
		{"os.name", strings.ToUpper(runtime.GOOS[:1]) + runtime.GOOS[1:]},
		{"os.arch", runtime.GOARCH},
		{"os.version", osVersion()},
		{"user.name", user},
		{"user.home", home},
		{"user.dir", wd},
		{"os.memory.free", fmt.Sprintf("%dMB", (ms.HeapSys-ms.HeapInuse)>>20)},
		{"os.memory.max", fmt.Sprintf("%dMB", ms.Sys>>20)},
		{"os.memory.total", fmt.Sprintf("%dMB", ms.HeapSys>>20)},
	}
}

func osVersion() string {
	v, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(v))
}

// metric is one mntr value: k is ZooKeeper's name without the 4lw's
// "zk_" prefix (the name the AdminServer's monitor and the Prometheus
// metrics use); v is a string, an int64 or a float64.
type metric struct {
	k string
	v any
}

func (s *Server) dumpMonitor(b *strings.Builder) {
	for _, e := range s.monitorValues() {
		v := e.v
		if f, ok := v.(float64); ok {
			v = javaDouble(f)
		}
		fmt.Fprintf(b, "zk_%s\t%v\n", e.k, v)
	}
}

// monitorValues are the values mntr reports, the one source of the
// AdminServer's monitor and of the Prometheus gauges.
func (s *Server) monitorValues() []metric {
	nodes := s.nodeCount()
	s.treeMu.RLock()
	eph := s.tree.EphemeralCount()
	size := s.tree.ApproximateDataSize()
	s.treeMu.RUnlock()
	_, watches := s.watches.Data.Stats()
	_, cw := s.watches.Child.Stats()
	v := s.statsView()
	kv := []metric{
		{"version", Version + ", built on " + BuildDate},
		{"server_state", v.mode},
		{"ephemerals_count", int64(eph)},
		{"approximate_data_size", size},
		{"global_sessions", int64(s.sessions.Count())},
		{"local_sessions", int64(0)},
		{"znode_count", int64(nodes)},
		{"watch_count", int64(watches + cw)},
		{"outstanding_requests", v.outstanding},
		{"open_file_descriptor_count", int64(openFDs())},
		{"max_file_descriptor_count", maxFDs()},
		{"avg_latency", v.avgLat},
		{"max_latency", v.maxLat},
		{"min_latency", v.minLat},
		{"packets_received", v.received},
		{"packets_sent", v.sent},
		{"num_alive_connections", v.connections},
		{"uptime", s.uptime()},
		{"data_dir_size", dirSize(s.cfg.DataDir)},
		{"log_dir_size", dirSize(s.cfg.DataLogDir)},
		{"digest_mismatches_count", s.stats.digestMismatches.Load()},
	}
	if q := s.qd; q != nil {
		kv = append(kv, metric{"quorum_size", int64(len(q.v.Voters()))})
		if g := q.gauges.Load(); g != nil {
			kv = append(kv, metric{"peer_state", g.peerState})
			// Only a leader has these, as LeaderZooKeeperServer registers them.
			if g.leading {
				kv = append(kv,
					metric{"learners", int64(g.learners.Learners)},
					metric{"synced_followers", int64(g.learners.SyncedFollowers)},
					metric{"synced_non_voting_followers", int64(0)},
					metric{"synced_observers", int64(g.learners.SyncedObservers)},
					metric{"pending_syncs", int64(0)},
					metric{"leader_uptime", time.Since(g.leaderSince).Milliseconds()},
					metric{"last_proposal_size", q.propLast.Load()},
					metric{"max_proposal_size", q.propMax.Load()},
					metric{"min_proposal_size", q.propMin.Load()})
			}
		}
	}
	return kv
}

// uptime is ServerStats.getUptime in ms; 0 before the server runs.
func (s *Server) uptime() int64 {
	if s.started.IsZero() {
		return 0
	}
	return time.Since(s.started).Milliseconds()
}

func openFDs() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(ents)
}

func (s *Server) watchSummary() (conns, paths, total int) {
	m := s.watches.Data
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, ps := range m.byConn {
		total += len(ps)
	}
	return len(m.byConn), len(m.table), total
}

// sessionsView is what dump reports: sessions by expiry bucket and the
// ephemerals of each owning session.
type sessionsView struct {
	total      int
	buckets    []expiryBucket // by expiry time
	ephemerals []sessionPaths // by session id
}

type expiryBucket struct {
	at  time.Time
	ids []int64
}

type sessionPaths struct {
	id    int64
	paths []string
}

func (s *Server) sessionsView() sessionsView {
	sessions := s.sessions.All()
	sort.Slice(sessions, func(i, j int) bool { return sessions[i].ID < sessions[j].ID })
	buckets := map[int64][]int64{}
	for _, x := range sessions {
		buckets[x.expireAt.Load()] = append(buckets[x.expireAt.Load()], x.ID)
	}
	times := make([]int64, 0, len(buckets))
	for t := range buckets {
		times = append(times, t)
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	v := sessionsView{total: len(sessions)}
	for _, t := range times {
		v.buckets = append(v.buckets, expiryBucket{s.sessions.epoch.Add(time.Duration(t) * time.Millisecond), buckets[t]})
	}
	s.treeMu.RLock()
	owners := s.tree.EphemeralSessions()
	sort.Slice(owners, func(i, j int) bool { return owners[i] < owners[j] })
	for _, o := range owners {
		paths := s.tree.Ephemerals(o)
		sort.Strings(paths)
		v.ephemerals = append(v.ephemerals, sessionPaths{o, paths})
	}
	s.treeMu.RUnlock()
	return v
}

func (s *Server) dumpSessions(b *strings.Builder) {
	v := s.sessionsView()
	fmt.Fprintf(b, "SessionTracker dump:\nSession Sets (%d)/(%d):\n", len(v.buckets), v.total)
	for _, bk := range v.buckets {
		fmt.Fprintf(b, "%d expire at %s:\n", len(bk.ids), bk.at.Format("Mon Jan 02 15:04:05 MST 2006"))
		for _, id := range bk.ids {
			fmt.Fprintf(b, "\t%s\n", hexID(id))
		}
	}
	fmt.Fprintf(b, "ephemeral nodes dump:\nSessions with Ephemerals (%d):\n", len(v.ephemerals))
	for _, e := range v.ephemerals {
		fmt.Fprintf(b, "%s:\n", hexID(e.id))
		for _, p := range e.paths {
			fmt.Fprintf(b, "\t%s\n", p)
		}
	}
	b.WriteString("Connections dump:\n")
}

func (s *Server) dumpDigests(b *strings.Builder) {
	zxid, digest, ok := s.digest()
	if !ok {
		b.WriteString("Digest is not enabled\n")
		return
	}
	fmt.Fprintf(b, "%x: %d\n", uint64(zxid), digest)
}

// digest is the tree's digest at its last zxid, for hash; ok is false
// when digests are disabled.
func (s *Server) digest() (zxid, digest int64, ok bool) {
	if !s.digestEnabled {
		return 0, 0, false
	}
	s.treeMu.RLock()
	defer s.treeMu.RUnlock()
	return s.tree.LastProcessedZxid, s.tree.Digest(), true
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// dirSize sums the sizes of the files in dir/version-2.
func dirSize(dir string) int64 {
	var n int64
	ents, err := os.ReadDir(filepath.Join(dir, "version-2"))
	if err != nil {
		return 0
	}
	for _, e := range ents {
		if info, err := e.Info(); err == nil && !info.IsDir() {
			n += info.Size()
		}
	}
	return n
}

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

func (s *Server) writeServerStats(b *strings.Builder) {
	fmt.Fprintf(b, "Latency min/avg/max: %d/%s/%d\n", s.stats.minLatency(), s.stats.avgLatency(), s.stats.maxLat.Load())
	fmt.Fprintf(b, "Received: %d\n", s.stats.received.Load())
	fmt.Fprintf(b, "Sent: %d\n", s.stats.sent.Load())
	fmt.Fprintf(b, "Connections: %d\n", s.stats.connections.Load())
	fmt.Fprintf(b, "Outstanding: %d\n", s.outstanding())
	fmt.Fprintf(b, "Zxid: 0x%x\n", uint64(s.lastProcessedZxid()))
	fmt.Fprintf(b, "Mode: %s\n", s.mode())
}

// outstanding counts requests received and not yet answered.
func (s *Server) outstanding() int64 {
	var n int64
	for _, c := range s.connections() {
		n += c.stats.outstanding.Load()
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

// dumpInfo is ServerCnxn.dumpConnectionInfo.
func (c *Conn) dumpInfo(b *strings.Builder, brief bool) {
	st := &c.stats
	fmt.Fprintf(b, " /%s[1](queued=%d,recved=%d,sent=%d", c.remote, st.outstanding.Load(), st.received.Load(), st.sent.Load())
	if !brief {
		if id := c.SessionID(); id != 0 {
			lop, _ := st.lastOp.Load().(wire.OpCode)
			lopName := "NA"
			if st.lastOp.Load() != nil {
				lopName = opName(lop)
			}
			avg := int64(0)
			if n := st.countLat.Load(); n > 0 {
				avg = st.totLat.Load() / n
			}
			fmt.Fprintf(b, ",sid=%s,lop=%s,est=%d,to=%d", hexID(id), lopName, c.opened.UnixMilli(), c.timeout.Load())
			if cx := st.lastCxid.Load(); cx >= 0 {
				fmt.Fprintf(b, ",lcxid=0x%x", uint32(cx))
			}
			fmt.Fprintf(b, ",lzxid=0x%x,lresp=%d,llat=%d,minlat=%d,avglat=%d,maxlat=%d",
				uint64(st.lastZxid.Load()), st.lastResp.Load(), st.lastLat.Load(), st.minLat.Load(), avg, st.maxLat.Load())
		}
	}
	b.WriteString(")")
}

func (c *Conn) resetStats() {
	st := &c.stats
	st.received.Store(0)
	st.sent.Store(0)
	st.lastLat.Store(0)
	st.minLat.Store(0)
	st.maxLat.Store(0)
	st.totLat.Store(0)
	st.countLat.Store(0)
	st.lastZxid.Store(-1)
	st.lastCxid.Store(-1)
	st.lastResp.Store(0)
}

func (s *Server) dumpConf(b *strings.Builder) {
	abs := func(p string) string {
		a, err := filepath.Abs(filepath.Join(p, "version-2"))
		if err != nil {
			return p
		}
		return a
	}
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
	host, _ := os.Hostname()
	wd, _ := os.Getwd()
	home, _ := os.UserHomeDir()
	user := os.Getenv("USER")
	exe, _ := os.Executable()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.WriteString("Environment:\n")
	kv := [][2]string{
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
	for _, e := range kv {
		b.WriteString(e[0] + "=" + e[1] + "\n")
	}
}

func osVersion() string {
	v, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(v))
}

// metric is one mntr line.
type metric struct {
	k string
	v any
}

func (s *Server) dumpMonitor(b *strings.Builder) {
	nodes := s.nodeCount()
	s.treeMu.RLock()
	eph := s.tree.EphemeralCount()
	size := s.tree.ApproximateDataSize()
	s.treeMu.RUnlock()
	_, watches := s.watches.Data.Stats()
	_, cw := s.watches.Child.Stats()
	kv := []metric{
		{"zk_version", Version + ", built on " + BuildDate},
		{"zk_server_state", s.mode()},
		{"zk_ephemerals_count", eph},
		{"zk_approximate_data_size", size},
		{"zk_global_sessions", s.sessions.Count()},
		{"zk_local_sessions", 0},
		{"zk_znode_count", nodes},
		{"zk_watch_count", watches + cw},
		{"zk_outstanding_requests", s.outstanding()},
		{"zk_open_file_descriptor_count", openFDs()},
		{"zk_max_file_descriptor_count", maxFDs()},
		{"zk_avg_latency", s.stats.avgLatency()},
		{"zk_max_latency", s.stats.maxLat.Load()},
		{"zk_min_latency", s.stats.minLatency()},
		{"zk_packets_received", s.stats.received.Load()},
		{"zk_packets_sent", s.stats.sent.Load()},
		{"zk_num_alive_connections", s.stats.connections.Load()},
		{"zk_uptime", time.Since(s.started).Milliseconds()},
		{"zk_data_dir_size", dirSize(s.cfg.DataDir)},
		{"zk_log_dir_size", dirSize(s.cfg.DataLogDir)},
		{"zk_digest_mismatches_count", s.stats.digestMismatches.Load()},
	}
	last, lo, hi := int64(-1), int64(-1), int64(-1)
	if q := s.qd; q != nil {
		last, lo, hi = q.propLast.Load(), q.propMin.Load(), q.propMax.Load()
		kv = append(kv, metric{"zk_quorum_size", len(q.v.Voters())})
		if g := q.gauges.Load(); g != nil {
			kv = append(kv, metric{"zk_peer_state", g.peerState})
			if g.leading {
				kv = append(kv,
					metric{"zk_learners", g.learners.Learners},
					metric{"zk_synced_followers", g.learners.SyncedFollowers},
					metric{"zk_synced_non_voting_followers", 0},
					metric{"zk_synced_observers", g.learners.SyncedObservers},
					metric{"zk_pending_syncs", 0},
					metric{"zk_leader_uptime", time.Since(g.leaderSince).Milliseconds()})
			}
		}
	}
	kv = append(kv, metric{"zk_last_proposal_size", last}, metric{"zk_max_proposal_size", hi},
		metric{"zk_min_proposal_size", lo})
	for _, e := range kv {
		fmt.Fprintf(b, "%s\t%v\n", e.k, e.v)
	}
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

func (s *Server) dumpSessions(b *strings.Builder) {
	sessions := s.sessions.All()
	sort.Slice(sessions, func(i, j int) bool { return sessions[i].ID < sessions[j].ID })
	buckets := map[int64][]*Session{}
	for _, x := range sessions {
		buckets[x.expireAt.Load()] = append(buckets[x.expireAt.Load()], x)
	}
	times := make([]int64, 0, len(buckets))
	for t := range buckets {
		times = append(times, t)
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	fmt.Fprintf(b, "SessionTracker dump:\nSession Sets (%d)/(%d):\n", len(buckets), len(sessions))
	for _, t := range times {
		at := s.sessions.epoch.Add(time.Duration(t) * time.Millisecond)
		fmt.Fprintf(b, "%d expire at %s:\n", len(buckets[t]), at.Format("Mon Jan 02 15:04:05 MST 2006"))
		for _, x := range buckets[t] {
			fmt.Fprintf(b, "\t%s\n", hexID(x.ID))
		}
	}
	s.treeMu.RLock()
	owners := s.tree.EphemeralSessions()
	sort.Slice(owners, func(i, j int) bool { return owners[i] < owners[j] })
	fmt.Fprintf(b, "ephemeral nodes dump:\nSessions with Ephemerals (%d):\n", len(owners))
	for _, o := range owners {
		fmt.Fprintf(b, "%s:\n", hexID(o))
		paths := s.tree.Ephemerals(o)
		sort.Strings(paths)
		for _, p := range paths {
			fmt.Fprintf(b, "\t%s\n", p)
		}
	}
	s.treeMu.RUnlock()
	b.WriteString("Connections dump:\n")
}

func (s *Server) dumpDigests(b *strings.Builder) {
	if !s.digestEnabled {
		b.WriteString("Digest is not enabled\n")
		return
	}
	s.treeMu.RLock()
	fmt.Fprintf(b, "%x: %d\n", uint64(s.tree.LastProcessedZxid), s.tree.Digest())
	s.treeMu.RUnlock()
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
